"""The KeyRing: wrap/unwrap through the hierarchy, usage budgets, and failure modes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from strongroom.clock import FrozenClock
from strongroom.crypto import key_wrapping
from strongroom.crypto.aead import random_key
from strongroom.kms.keyring import CiphertextUnusable, KeyMaterialMissing, KeyRing
from strongroom.kms.ports import VersionExists, WrappedDomainKey, WrappedKeyVersion


class MemoryKeyMaterialStore:
    """An in-memory KeyMaterialStore with the same contract as the SQL one."""

    def __init__(self) -> None:
        self.domain: list[WrappedDomainKey] = []
        self.versions: dict[tuple[str, int], WrappedKeyVersion] = {}

    def domain_keys(self) -> list[WrappedDomainKey]:
        return list(self.domain)

    def insert_domain_key(self, key: WrappedDomainKey) -> None:
        self.domain.append(key)

    def key_versions(self, key_id: str) -> list[WrappedKeyVersion]:
        return sorted(
            (v for (k, _), v in self.versions.items() if k == key_id), key=lambda v: v.version
        )

    def insert_key_version(self, version: WrappedKeyVersion) -> None:
        slot = (version.key_id, version.version)
        if slot in self.versions:
            raise VersionExists(version.key_id)
        self.versions[slot] = version

    def reserve_encryptions(self, key_id: str, version: int, count: int, budget: int) -> bool:
        current = self.versions[(key_id, version)]
        if current.encryptions_reserved + count > budget:
            return False
        self.versions[(key_id, version)] = WrappedKeyVersion(
            key_id=current.key_id,
            version=current.version,
            domain_key_id=current.domain_key_id,
            created_at=current.created_at,
            encryptions_reserved=current.encryptions_reserved + count,
            wrapped=current.wrapped,
        )
        return True

    def reset(self) -> None:
        self.versions.clear()


CLOCK = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
CONTEXT = {"tenant_id": "acme"}


def new_ring(store: MemoryKeyMaterialStore | None = None, **kwargs: int) -> KeyRing:
    ring = KeyRing(random_key(), store or MemoryKeyMaterialStore(), CLOCK, **kwargs)
    ring.open()
    return ring


def test_round_trip_and_context_binding() -> None:
    ring = new_ring()
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    blob = ring.encrypt(key_id, b"plaintext", CONTEXT)
    assert ring.decrypt(blob, CONTEXT) == (key_id, b"plaintext")
    assert ring.key_id_of(blob) == key_id
    for wrong in ({}, {"tenant_id": "globex"}, {"tenant_id": "acme", "x": "y"}):
        with pytest.raises(CiphertextUnusable):
            ring.decrypt(blob, wrong)


def test_material_survives_a_restart_under_the_same_root_key() -> None:
    store = MemoryKeyMaterialStore()
    root = random_key()
    first = KeyRing(root, store, CLOCK)
    first.open()
    key_id = str(uuid.uuid4())
    first.create_key_material(key_id)
    blob = first.encrypt(key_id, b"x", CONTEXT)
    second = KeyRing(root, store, CLOCK)
    second.open()
    assert second.decrypt(blob, CONTEXT) == (key_id, b"x")
    other = KeyRing(random_key(), store, CLOCK)
    with pytest.raises(RuntimeError, match="root key does not unwrap"):
        other.open()


def test_exhausted_budget_rolls_to_a_new_version_and_old_blobs_still_decrypt() -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store, usage_budget=4, reservation_block=2)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    blobs = [ring.encrypt(key_id, bytes([i]), CONTEXT) for i in range(9)]
    versions = [v.version for v in store.key_versions(key_id)]
    assert versions == [1, 2, 3]
    assert all(v.encryptions_reserved <= 4 for v in store.key_versions(key_id))
    for i, blob in enumerate(blobs):
        assert ring.decrypt(blob, CONTEXT)[1] == bytes([i])


def test_destroyed_material_makes_blobs_unusable() -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    blob = ring.encrypt(key_id, b"x", CONTEXT)
    store.reset()
    ring.forget(key_id)
    with pytest.raises(CiphertextUnusable):
        ring.decrypt(blob, CONTEXT)
    with pytest.raises(KeyMaterialMissing):
        ring.encrypt(key_id, b"x", CONTEXT)


def test_garbage_is_unusable_not_a_crash() -> None:
    ring = new_ring()
    for garbage in (b"", b"\x01", b"\x01" * 200, bytes(82)):
        with pytest.raises(CiphertextUnusable):
            ring.decrypt(garbage, CONTEXT)


def test_server_held_secrets_are_bound_to_their_identity() -> None:
    ring = new_ring()
    wrapped = ring.wrap_secret(b"s3cret", b"label", b"AKIA1")
    assert ring.unwrap_secret(wrapped, b"label", b"AKIA1") == b"s3cret"
    with pytest.raises(key_wrapping.UnwrapFailed):
        ring.unwrap_secret(wrapped, b"label", b"AKIA2")
