"""Partition keys in the keyring: wrapped bound to their slot, cached, bounded, counted exactly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from strongroom.clock import FrozenClock
from strongroom.crypto import aead, ciphertext_blob, key_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.keyring import CiphertextUnusable, KeyRing, PartitionDestroyed
from strongroom.kms.partition_keys import (
    KEY_PARTITION_LABEL,
    PartitionKeys,
    PartitionMissing,
    is_valid_partition_value,
    partition_identity,
)
from strongroom.kms.ports import PartitionLimitReached
from strongroom.storage import engines
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from strongroom.storage.schema import key_partitions, key_versions
from tests.support.migrated import sqlite_at_head

CLOCK = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
NAME = "tenant_id"


def context(value: str) -> dict[str, str]:
    return {NAME: value, "purpose": "unit"}


@pytest.fixture
def keystore(tmp_path: Path) -> Iterator[Engine]:
    engine = engines.create(sqlite_at_head(tmp_path / "keystore.db", "keystore"))
    try:
        yield engine
    finally:
        engine.dispose()


def ring(engine: Engine, root: KeyMaterial | None = None, **kwargs: int) -> KeyRing:
    keyring = KeyRing(root or aead.random_key(), SqlKeyMaterialStore(engine), CLOCK, **kwargs)
    keyring.open()
    return keyring


def new_key(keyring: KeyRing) -> str:
    key_id = str(uuid.uuid4())
    keyring.create_key_material(key_id)
    return key_id


def test_identity_is_key_version_partition_and_value() -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    identity = partition_identity(key_id, 7, bytes(range(16)), "globex")
    assert identity == (
        uuid.UUID(key_id).bytes + b"\x00\x00\x00\x07" + bytes(range(16)) + b"globex"
    )


def test_a_wrapped_partition_unwraps_only_in_its_own_slot() -> None:
    kek = aead.random_key()
    key_id = str(uuid.uuid4())
    partition_id = bytes(16)
    identity = partition_identity(key_id, 1, partition_id, "a")
    wrapped = key_wrapping.wrap(kek, bytes(32), KEY_PARTITION_LABEL, identity)
    assert key_wrapping.unwrap(kek, wrapped, KEY_PARTITION_LABEL, identity) == bytes(32)
    for other in (
        partition_identity(key_id, 1, partition_id, "b"),
        partition_identity(key_id, 2, partition_id, "a"),
        partition_identity(key_id, 1, b"\x01" * 16, "a"),
        partition_identity(str(uuid.uuid4()), 1, partition_id, "a"),
    ):
        with pytest.raises(key_wrapping.UnwrapFailed):
            key_wrapping.unwrap(kek, wrapped, KEY_PARTITION_LABEL, other)
    with pytest.raises(key_wrapping.UnwrapFailed):
        key_wrapping.unwrap(kek, wrapped, b"strongroom/key-version/v1", identity)


def test_a_wrapped_partition_moved_to_another_row_does_not_unwrap(keystore: Engine) -> None:
    root = aead.random_key()
    keyring = ring(keystore, root)
    key_id = new_key(keyring)
    a = keyring.encrypt_versioned(key_id, b"a", context("a"), NAME)[1]
    b = keyring.encrypt_versioned(key_id, b"b", context("b"), NAME)[1]
    with keystore.begin() as c:
        wrapped_a = c.execute(
            select(key_partitions.c.wrapped).where(key_partitions.c.value == "a")
        ).scalar_one()
        c.execute(
            update(key_partitions).where(key_partitions.c.value == "b").values(wrapped=wrapped_a)
        )
    restarted = ring(keystore, root)  # nothing cached: reads the rows as they are now
    with pytest.raises(CiphertextUnusable):
        restarted.decrypt_versioned(b, context("b"), NAME)
    with pytest.raises(key_wrapping.UnwrapFailed):
        restarted.encrypt_versioned(key_id, b"b", context("b"), NAME)
    assert restarted.decrypt_versioned(a, context("a"), NAME)[2] == b"a"


def test_partitions_survive_a_restart(keystore: Engine) -> None:
    root = aead.random_key()
    first = ring(keystore, root)
    key_id = new_key(first)
    blob = first.encrypt_versioned(key_id, b"x", context("a"), NAME)[1]
    second = ring(keystore, root)
    assert second.decrypt_versioned(blob, context("a"), NAME) == (key_id, 1, b"x")
    # The second process encrypts under the same partition, not a new one.
    again = second.encrypt_versioned(key_id, b"y", context("a"), NAME)[1]
    assert ciphertext_blob.parse_header(again)[0].partition_id == (
        ciphertext_blob.parse_header(blob)[0].partition_id
    )


def test_a_header_pointing_at_another_version_is_unusable(keystore: Engine) -> None:
    keyring = ring(keystore)
    key_id = new_key(keyring)
    blob = keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)[1]
    keyring.rotate(key_id)
    header = ciphertext_blob.parse_header(blob)[0]
    moved = replace(header, key_version=2).to_bytes() + blob[len(header.to_bytes()) :]
    with pytest.raises(CiphertextUnusable):
        keyring.decrypt_versioned(moved, context("a"), NAME)


def test_a_partitioned_blob_needs_the_partition_name(keystore: Engine) -> None:
    keyring = ring(keystore)
    key_id = new_key(keyring)
    blob = keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)[1]
    with pytest.raises(CiphertextUnusable):
        keyring.decrypt_versioned(blob, context("a"))
    with pytest.raises(CiphertextUnusable):
        keyring.decrypt_versioned(blob, context("a"), "customer")


def test_the_cache_is_bounded_and_wipes_what_it_evicts(keystore: Engine) -> None:
    store = SqlKeyMaterialStore(keystore)
    keyring = ring(keystore)
    key_id = new_key(keyring)
    kek = keyring.material(key_id, 1)
    partitions = PartitionKeys(store, CLOCK, cache_limit=2)
    first = partitions.for_encryption(key_id, 1, "a", kek)
    partitions.for_encryption(key_id, 1, "b", kek)
    partitions.for_encryption(key_id, 1, "c", kek)
    assert first.material.wiped
    reloaded = partitions.for_encryption(key_id, 1, "a", kek)
    assert reloaded.partition_id == first.partition_id
    assert not reloaded.material.wiped


def test_an_evicted_partition_in_use_is_looked_up_again(keystore: Engine) -> None:
    keyring = ring(keystore, partition_cache_limit=1)
    key_id = new_key(keyring)
    a = keyring.encrypt_versioned(key_id, b"a", context("a"), NAME)[1]
    b = keyring.encrypt_versioned(key_id, b"b", context("b"), NAME)[1]
    for _ in range(3):  # every call evicts the other value's partition
        assert keyring.decrypt_versioned(a, context("a"), NAME)[2] == b"a"
        assert keyring.decrypt_versioned(b, context("b"), NAME)[2] == b"b"


def test_a_partition_destroyed_by_another_process_stops_working_here(keystore: Engine) -> None:
    store = SqlKeyMaterialStore(keystore)
    keyring = ring(keystore)
    key_id = new_key(keyring)
    kek = keyring.material(key_id, 1)
    here = PartitionKeys(store, CLOCK, recheck_seconds=0.0)
    elsewhere = PartitionKeys(store, CLOCK)
    made = here.for_encryption(key_id, 1, "a", kek)
    assert here.for_decryption(key_id, 1, made.partition_id, kek) is made
    store.destroy_partitions(key_id, "a", CLOCK.now())
    with pytest.raises(PartitionMissing):
        here.for_decryption(key_id, 1, made.partition_id, kek)
    assert made.material.wiped
    remade = elsewhere.for_encryption(key_id, 1, "a", kek)
    assert remade.partition_id != made.partition_id


def test_distinct_values_per_key_are_bounded(keystore: Engine) -> None:
    keyring = ring(keystore, max_partitions_per_key=2)
    key_id = new_key(keyring)
    other = new_key(keyring)
    keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)
    keyring.encrypt_versioned(key_id, b"x", context("b"), NAME)
    with pytest.raises(PartitionLimitReached):
        keyring.encrypt_versioned(key_id, b"x", context("c"), NAME)
    # Known values still encrypt, in a new version too; other keys have their own bound.
    keyring.rotate(key_id)
    assert keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)[0] == 2
    keyring.encrypt_versioned(other, b"x", context("c"), NAME)
    # Destroying a value makes room for another.
    keyring.destroy_partition(key_id, "b")
    keyring.encrypt_versioned(key_id, b"x", context("c"), NAME)


def test_encryptions_are_counted_exactly(keystore: Engine) -> None:
    keyring = ring(keystore)
    key_id = new_key(keyring)
    for _ in range(5):
        keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)
    for _ in range(3):
        keyring.encrypt_versioned(key_id, b"x", {"purpose": "unit"}, NAME)
    keyring.encrypt_versioned(key_id, b"x", context("b"), NAME)
    keyring.flush_encryption_counts()
    store = SqlKeyMaterialStore(keystore)
    assert [v.encryptions for v in store.key_versions(key_id)] == [3]
    a = store.partition(key_id, 1, "a")
    assert a is not None
    assert a.encryptions == 5
    # Counted after the flush: destruction still reports them (settled, then taken).
    keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)
    destroyed = keyring.destroy_partition(key_id, "a")
    assert [d.encryptions for d in destroyed] == [6]
    keyring.encrypt_versioned(key_id, b"x", {"purpose": "unit"}, NAME)
    material = keyring.destroy_key_material(key_id)
    assert material.versions == (1,)
    assert material.version_encryptions == 4
    assert [p.encryptions for p in material.partitions] == [1]


def test_destroy_partition_leaves_a_record_and_the_key_versions(keystore: Engine) -> None:
    keyring = ring(keystore)
    key_id = new_key(keyring)
    blob = keyring.encrypt_versioned(key_id, b"x", context("a"), NAME)[1]
    keep = keyring.encrypt_versioned(key_id, b"y", context("b"), NAME)[1]
    (destroyed,) = keyring.destroy_partition(key_id, "a")
    assert (destroyed.value, destroyed.version, destroyed.encryptions) == ("a", 1, 1)
    assert destroyed.partition_id == ciphertext_blob.parse_header(blob)[0].partition_id
    with pytest.raises(PartitionDestroyed):
        keyring.decrypt_versioned(blob, context("a"), NAME)
    with pytest.raises(CiphertextUnusable):
        keyring.decrypt_versioned(blob, context("b"), NAME)
    assert keyring.decrypt_versioned(keep, context("b"), NAME)[2] == b"y"
    assert keyring.destroy_partition(key_id, "a") == []
    with keystore.begin() as c:
        assert c.execute(select(key_versions.c.key_id)).all() != []


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("cust-1", True),
        ("é☃", True),
        ("x" * 256, True),
        ("", False),
        ("x" * 257, False),
        ("a\nb", False),
        ("\x7f", False),
        ("\x85", False),
    ],
)
def test_partition_values(value: str, valid: bool) -> None:
    assert is_valid_partition_value(value) is valid
