"""Exact encryption counts per key version and per partition, added to the keystore in batches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from strongroom.kms.ports import KeyMaterialStore


class EncryptionCounts:
    """How many blobs each key version (without a partition) and each partition sealed.

    Counting is a dict increment on the crypto path; :meth:`flush` (a periodic job, and
    shutdown) adds the counts to the keystore rows. They feed destruction certificates
    ("the ciphertexts they protected"), so a destruction settles them first: see
    :meth:`settled`. A crash loses the counts of at most one flush interval.
    """

    def __init__(self, store: KeyMaterialStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        # Held while counts are written, and while a destruction reads what they say.
        self._flush_lock = threading.Lock()
        self._versions: dict[tuple[str, int], int] = {}
        self._partitions: dict[tuple[str, bytes], int] = {}

    def count_version(self, key_id: str, version: int) -> None:
        slot = (key_id, version)
        with self._lock:
            self._versions[slot] = self._versions.get(slot, 0) + 1

    def count_partition(self, key_id: str, partition_id: bytes) -> None:
        slot = (key_id, partition_id)
        with self._lock:
            self._partitions[slot] = self._partitions.get(slot, 0) + 1

    def flush(self) -> None:
        with self._flush_lock:
            self._write_pending()

    @contextmanager
    def settled(self) -> Iterator[None]:
        """Write what is pending, then keep other flushes out while the block reads or
        deletes counted rows (so no count is in flight between memory and the rows)."""
        with self._flush_lock:
            self._write_pending()
            yield

    def _write_pending(self) -> None:
        with self._lock:
            versions, self._versions = self._versions, {}
            partitions, self._partitions = self._partitions, {}
        if not versions and not partitions:
            return
        try:
            self._store.add_encryption_counts(versions, partitions)
        except BaseException:
            self._put_back(versions, partitions)  # counted again next time
            raise

    def _put_back(
        self, versions: dict[tuple[str, int], int], partitions: dict[tuple[str, bytes], int]
    ) -> None:
        with self._lock:
            for version_slot, count in versions.items():
                self._versions[version_slot] = self._versions.get(version_slot, 0) + count
            for partition_slot, count in partitions.items():
                self._partitions[partition_slot] = self._partitions.get(partition_slot, 0) + count

    def take_partition(self, key_id: str, partition_id: bytes) -> int:
        """Remove and return what is counted in memory for a partition (one just destroyed)."""
        with self._lock:
            return self._partitions.pop((key_id, partition_id), 0)

    def take_versions(self, key_id: str) -> dict[int, int]:
        """Remove and return what is counted in memory for a key's versions (just
        destroyed), by version."""
        with self._lock:
            slots = [slot for slot in self._versions if slot[0] == key_id]
            return {slot[1]: self._versions.pop(slot) for slot in slots}

    def forget_all(self) -> None:
        with self._lock:
            self._versions.clear()
            self._partitions.clear()
