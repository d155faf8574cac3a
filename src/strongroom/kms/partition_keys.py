"""Tenant partition keys of KMS key versions: made on first use, wrapped, unwrapped once, cached.

spec: docs/spec/key-hierarchy.md#tenant-partitions
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from strongroom.clock import Clock
from strongroom.crypto import aead, ciphertext_blob, key_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.ports import DestroyedPartition, KeyMaterialStore, WrappedPartition

KEY_PARTITION_LABEL = b"strongroom/key-partition/v1"
DEFAULT_MAX_PARTITIONS_PER_KEY = 1_000_000
# Unwrapped partitions one process keeps; the least recently used beyond this are wiped.
DEFAULT_PARTITION_CACHE_LIMIT = 100_000
# A cached partition is looked up again after this long, so that one destroyed by another
# server process stops working here within about a second (as a disabled key does).
RECHECK_SECONDS = 1.0
# Partition values are stored (and indexed) in the keystore: a tenant id, not a document.
MAX_PARTITION_VALUE_CHARS = 256


class PartitionMissing(Exception):
    """No partition of that key has that id (destroyed, or never made). No detail."""


def is_valid_partition_value(value: str) -> bool:
    """1 to MAX_PARTITION_VALUE_CHARS characters, none of them a control character."""
    return 1 <= len(value) <= MAX_PARTITION_VALUE_CHARS and not any(
        ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value
    )


def partition_identity(key_id: str, version: int, partition_id: bytes, value: str) -> bytes:
    """What a wrapped partition is bound to: key id (16) || version (u32) || partition id
    (16) || value (UTF-8), so wrapped bytes moved to another row do not unwrap."""
    return (
        uuid.UUID(key_id).bytes + version.to_bytes(4, "big") + partition_id + value.encode("utf-8")
    )


@dataclass(slots=True)
class Partition:
    """An unwrapped partition key and the slot it belongs to."""

    key_id: str
    version: int
    value: str
    partition_id: bytes
    material: KeyMaterial = field(repr=False)
    checked_at: float


class PartitionKeys:
    """The partitions of every key version, unwrapped on first use and kept, bounded.

    A partition is a random 256-bit key per (key, version, value of the key's partition
    context key), wrapped under the version's material; the caller passes that material
    (the key-encryption key) in, so this class never unwraps key versions itself.
    """

    def __init__(
        self,
        store: KeyMaterialStore,
        clock: Clock,
        *,
        max_values_per_key: int = DEFAULT_MAX_PARTITIONS_PER_KEY,
        cache_limit: int = DEFAULT_PARTITION_CACHE_LIMIT,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        if max_values_per_key < 1 or cache_limit < 1:
            raise ValueError("partition limits must be at least 1")
        self._store = store
        self._clock = clock
        self._max_values = max_values_per_key
        self._cache_limit = cache_limit
        self._recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        # Least recently used first.
        self._by_id: OrderedDict[bytes, Partition] = OrderedDict()
        self._by_value: dict[tuple[str, int, str], bytes] = {}

    def for_encryption(self, key_id: str, version: int, value: str, kek: KeyMaterial) -> Partition:
        """The partition of (key, version, value), made now if it has none.

        Raises :class:`~strongroom.kms.ports.PartitionLimitReached` for a value new to a
        key that has as many values as it may."""
        with self._lock:
            partition_id = self._by_value.get((key_id, version, value))
        if partition_id is not None:
            cached = self._cached(key_id, partition_id)
            if cached is not None:
                return cached
        stored = self._store.partition(key_id, version, value)
        if stored is None:
            stored = self._create(key_id, version, value, kek)
        return self._remember(stored, kek)

    def for_decryption(
        self, key_id: str, version: int, partition_id: bytes, kek: KeyMaterial
    ) -> Partition:
        """The partition a blob names; :class:`PartitionMissing` if there is none."""
        cached = self._cached(key_id, partition_id)
        if cached is None:
            stored = self._store.partition_by_id(key_id, partition_id)
            if stored is None or stored.version != version:
                raise PartitionMissing
            cached = self._remember(stored, kek)
        if cached.version != version:
            raise PartitionMissing
        return cached

    def destroyed(self, key_id: str, partition_id: bytes) -> DestroyedPartition | None:
        return self._store.destroyed_partition(key_id, partition_id)

    def _create(self, key_id: str, version: int, value: str, kek: KeyMaterial) -> WrappedPartition:
        partition_id = os.urandom(ciphertext_blob.PARTITION_ID_BYTES)
        secret = aead.random_key()
        try:
            wrapped = key_wrapping.wrap_key(
                kek,
                secret,
                KEY_PARTITION_LABEL,
                partition_identity(key_id, version, partition_id, value),
            )
        finally:
            # The stored row is unwrapped like any other: another process may have won.
            secret.wipe()
        return self._store.insert_partition(
            WrappedPartition(
                key_id=key_id,
                version=version,
                value=value,
                partition_id=partition_id,
                created_at=self._clock.now(),
                wrapped=wrapped,
            ),
            self._max_values,
        )

    def _cached(self, key_id: str, partition_id: bytes) -> Partition | None:
        with self._lock:
            hit = self._by_id.get(partition_id)
            if hit is None or hit.key_id != key_id:
                return None
            self._by_id.move_to_end(partition_id)
            if time.monotonic() - hit.checked_at < self._recheck_seconds:
                return hit
        if self._store.partition_by_id(key_id, partition_id) is None:
            self._drop(lambda p: p.partition_id == partition_id)
            return None
        hit.checked_at = time.monotonic()
        return hit

    def _remember(self, stored: WrappedPartition, kek: KeyMaterial) -> Partition:
        """Unwrap a stored partition (raises key_wrapping.UnwrapFailed) and cache it."""
        material = key_wrapping.unwrap_key(
            kek,
            stored.wrapped,
            KEY_PARTITION_LABEL,
            partition_identity(stored.key_id, stored.version, stored.partition_id, stored.value),
        )
        partition = Partition(
            key_id=stored.key_id,
            version=stored.version,
            value=stored.value,
            partition_id=stored.partition_id,
            material=material,
            checked_at=time.monotonic(),
        )
        evicted: list[Partition] = []
        with self._lock:
            existing = self._by_id.get(stored.partition_id)
            if existing is not None:
                material.wipe()
                return existing
            self._by_id[stored.partition_id] = partition
            self._by_value[(stored.key_id, stored.version, stored.value)] = stored.partition_id
            while len(self._by_id) > self._cache_limit:
                _, oldest = self._by_id.popitem(last=False)
                self._by_value.pop((oldest.key_id, oldest.version, oldest.value), None)
                evicted.append(oldest)
        for old in evicted:
            old.material.wipe()
        return partition

    def _drop(self, doomed: Callable[[Partition], bool]) -> None:
        with self._lock:
            dropped = [p for p in self._by_id.values() if doomed(p)]
            for partition in dropped:
                del self._by_id[partition.partition_id]
                self._by_value.pop((partition.key_id, partition.version, partition.value), None)
        for partition in dropped:
            partition.material.wipe()

    def forget_value(self, key_id: str, value: str) -> None:
        """Drop and wipe every cached partition of (key, value) (after its destruction)."""
        self._drop(lambda p: p.key_id == key_id and p.value == value)

    def forget_key(self, key_id: str) -> None:
        """Drop and wipe every cached partition of a key."""
        self._drop(lambda p: p.key_id == key_id)

    def forget_all(self) -> None:
        self._drop(lambda p: True)
