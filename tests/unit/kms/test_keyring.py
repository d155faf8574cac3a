"""The KeyRing: wrap/unwrap through the hierarchy, usage budgets, and failure modes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from strongroom.clock import FrozenClock
from strongroom.crypto import asymmetric, ciphertext_blob, key_wrapping
from strongroom.crypto.aead import random_key
from strongroom.kms import keyring as keyring_module
from strongroom.kms.keyring import (
    RESERVATION_LIFETIME_SECONDS,
    CiphertextUnusable,
    KeyMaterialMissing,
    KeyRing,
    key_material_id,
)
from strongroom.kms.ports import VersionExists, WrappedDomainKey, WrappedKeyVersion


class MemoryKeyMaterialStore:
    """An in-memory KeyMaterialStore for key versions, with the same contract as the SQL one
    (partitions are tested on the SQL store: test_partition_keys.py)."""

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

    def destroy_key_versions(self, key_id: str) -> int:
        doomed = [slot for slot in self.versions if slot[0] == key_id]
        for slot in doomed:
            del self.versions[slot]
        return len(doomed)

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


# -- versions, rotation, budgets, destruction --------------------------------------------


class FakeMonotonic:
    """Stands in for the ``time`` module inside the keyring: a monotonic clock we move."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(keyring_module, "time", fake)
    return fake


def version_of(blob: bytes) -> int:
    header, _ = ciphertext_blob.parse_header(blob)
    return header.key_version


def test_rotate_adds_a_version_that_new_encryptions_use() -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    before = ring.encrypt_versioned(key_id, b"before", CONTEXT)
    assert before[0] == 1
    assert ring.rotate(key_id) == 2
    assert ring.versions(key_id) == [1, 2]
    after = ring.encrypt_versioned(key_id, b"after", CONTEXT)
    assert after[0] == 2
    assert version_of(after[1]) == 2
    assert ring.rotate(key_id) == 3
    latest = ring.encrypt_versioned(key_id, b"latest", CONTEXT)
    assert latest[0] == 3
    assert ring.decrypt_versioned(before[1], CONTEXT) == (key_id, 1, b"before")
    assert ring.decrypt_versioned(after[1], CONTEXT) == (key_id, 2, b"after")
    assert ring.decrypt_versioned(latest[1], CONTEXT) == (key_id, 3, b"latest")
    # The versions really are different keys, not one key under three numbers.
    materials = {ring.material(key_id, v).expose_secret_bytes() for v in (1, 2, 3)}
    assert len(materials) == 3


def test_rotated_versions_survive_a_restart() -> None:
    store = MemoryKeyMaterialStore()
    root = random_key()
    first = KeyRing(root, store, CLOCK)
    first.open()
    key_id = str(uuid.uuid4())
    first.create_key_material(key_id)
    old = first.encrypt(key_id, b"old", CONTEXT)
    first.rotate(key_id)
    second = KeyRing(root, store, CLOCK)
    second.open()
    assert second.decrypt_versioned(old, CONTEXT) == (key_id, 1, b"old")
    assert second.encrypt_versioned(key_id, b"new", CONTEXT)[0] == 2


def test_rotating_a_key_without_material_is_key_material_missing() -> None:
    ring = new_ring()
    with pytest.raises(KeyMaterialMissing):
        ring.rotate(str(uuid.uuid4()))


@pytest.mark.usefixtures("monotonic")
def test_budget_forces_new_versions_and_never_overspends_one() -> None:
    store = MemoryKeyMaterialStore()
    # A block of 2 from a budget of 3: the second block is cut to the 1 encryption left,
    # so each version serves exactly 3 encryptions before the next one takes over.
    ring = new_ring(store, usage_budget=3, reservation_block=2)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    blobs: list[bytes] = []
    for n in range(1, 12):
        version, blob = ring.encrypt_versioned(key_id, n.to_bytes(2, "big"), CONTEXT)
        blobs.append(blob)
        assert version == (n + 2) // 3
        assert ring.versions(key_id) == list(range(1, (n + 2) // 3 + 1))
    for stored in store.key_versions(key_id):
        assert stored.encryptions_reserved <= 3
    per_version: dict[int, int] = {}
    for blob in blobs:
        per_version[version_of(blob)] = per_version.get(version_of(blob), 0) + 1
    assert max(per_version.values()) == 3
    assert sum(per_version.values()) == len(blobs)
    for n, blob in enumerate(blobs, start=1):
        assert ring.decrypt(blob, CONTEXT) == (key_id, n.to_bytes(2, "big"))


@pytest.mark.usefixtures("monotonic")
def test_a_block_equal_to_the_budget_uses_every_encryption() -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store, usage_budget=5, reservation_block=1_000)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    versions = [ring.encrypt_versioned(key_id, b"x", CONTEXT)[0] for _ in range(20)]
    assert versions == [v for v in (1, 2, 3, 4) for _ in range(5)]
    assert [v.encryptions_reserved for v in store.key_versions(key_id)] == [5, 5, 5, 5]


def test_a_budget_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KeyRing(random_key(), MemoryKeyMaterialStore(), CLOCK, usage_budget=0)


def test_destroy_removes_every_version_and_old_blobs_become_unusable() -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store)
    key_id = str(uuid.uuid4())
    other_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    ring.create_key_material(other_id)
    blobs = [ring.encrypt(key_id, b"v1", CONTEXT)]
    ring.rotate(key_id)
    blobs.append(ring.encrypt(key_id, b"v2", CONTEXT))
    ring.rotate(key_id)
    blobs.append(ring.encrypt(key_id, b"v3", CONTEXT))
    other_blob = ring.encrypt(other_id, b"other", CONTEXT)
    assert ring.destroy(key_id) == 3
    assert ring.versions(key_id) == []
    assert store.key_versions(key_id) == []
    for blob in blobs:
        with pytest.raises(CiphertextUnusable):
            ring.decrypt(blob, CONTEXT)
    with pytest.raises(KeyMaterialMissing):
        ring.encrypt(key_id, b"x", CONTEXT)
    with pytest.raises(KeyMaterialMissing):
        ring.material(key_id, 1)
    # Nothing is left to destroy a second time.
    assert ring.destroy(key_id) == 0
    # Other keys are untouched.
    assert ring.decrypt(other_blob, CONTEXT) == (other_id, b"other")


def test_destroy_reaches_other_processes_once_their_cache_is_dropped() -> None:
    store = MemoryKeyMaterialStore()
    root = random_key()
    first = KeyRing(root, store, CLOCK)
    first.open()
    key_id = str(uuid.uuid4())
    first.create_key_material(key_id)
    blob = first.encrypt(key_id, b"x", CONTEXT)
    second = KeyRing(root, store, CLOCK)
    second.open()
    first.destroy(key_id)
    with pytest.raises(CiphertextUnusable):
        second.decrypt(blob, CONTEXT)


def test_an_expired_reservation_is_renewed(monotonic: FakeMonotonic) -> None:
    store = MemoryKeyMaterialStore()
    ring = new_ring(store, usage_budget=100, reservation_block=10)
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id)
    ring.encrypt(key_id, b"x", CONTEXT)
    assert [v.encryptions_reserved for v in store.key_versions(key_id)] == [10]
    monotonic.now += RESERVATION_LIFETIME_SECONDS - 0.5
    ring.encrypt(key_id, b"x", CONTEXT)
    assert [v.encryptions_reserved for v in store.key_versions(key_id)] == [10]
    monotonic.now += 1.0
    ring.encrypt(key_id, b"x", CONTEXT)
    assert [v.encryptions_reserved for v in store.key_versions(key_id)] == [20]


def test_a_rotation_by_another_process_is_picked_up_when_the_reservation_expires(
    monotonic: FakeMonotonic,
) -> None:
    store = MemoryKeyMaterialStore()
    root = random_key()
    first = KeyRing(root, store, CLOCK)
    first.open()
    second = KeyRing(root, store, CLOCK)
    second.open()
    key_id = str(uuid.uuid4())
    first.create_key_material(key_id)
    assert first.encrypt_versioned(key_id, b"x", CONTEXT)[0] == 1
    assert second.rotate(key_id) == 2
    # Within its reservation the first process may still use version 1 ...
    assert first.encrypt_versioned(key_id, b"x", CONTEXT)[0] == 1
    monotonic.now += RESERVATION_LIFETIME_SECONDS + 0.1
    # ... but not after the reservation's lifetime.
    version, blob = first.encrypt_versioned(key_id, b"y", CONTEXT)
    assert version == 2
    assert second.decrypt_versioned(blob, CONTEXT) == (key_id, 2, b"y")


def test_key_material_ids_are_64_lowercase_hex_and_unique_per_version() -> None:
    key_id = str(uuid.uuid4())
    ids = [key_material_id(key_id, v) for v in range(1, 6)]
    for material_id in ids:
        assert re.fullmatch(r"[0-9a-f]{64}", material_id)
    assert len(set(ids)) == 5
    assert key_material_id(key_id, 1) == ids[0]  # stable
    assert key_material_id(str(uuid.uuid4()), 1) != ids[0]


def test_asymmetric_key_material_is_one_parseable_version() -> None:
    ring = new_ring()
    key_id = str(uuid.uuid4())
    ring.create_key_material(key_id, "ECC_NIST_P256")
    assert ring.versions(key_id) == [1]
    public = load_der_public_key(
        asymmetric.public_key_der("ECC_NIST_P256", ring.material(key_id, 1))
    )
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    # And it survives a trip through the keystore (wrapped, then unwrapped again).
    ring.forget(key_id)
    again = asymmetric.public_key_der("ECC_NIST_P256", ring.material(key_id, 1))
    assert again == public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
