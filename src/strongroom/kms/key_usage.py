"""Tracks each key's last cryptographic use in memory and writes it out in batches."""

from __future__ import annotations

import threading

from strongroom.clock import Clock
from strongroom.kms.ports import KeyDirectoryStore, KeyUsageRecord


class KeyUsageTracker:
    """GetKeyLastUsage's data without a write on the crypto hot path.

    Uses are kept in a dict and flushed by a periodic job; a crash loses at most one flush
    interval of *usage tracking* (never anything cryptographic or audited).
    """

    def __init__(self, store: KeyDirectoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, KeyUsageRecord] = {}

    def note(self, key_id: str, operation: str, request_id: str) -> None:
        record = KeyUsageRecord(key_id, self._clock.now(), operation, request_id)
        with self._lock:
            self._pending[key_id] = record

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        if pending:
            self._store.record_usage(pending)

    def last(self, key_id: str) -> KeyUsageRecord | None:
        with self._lock:
            pending = self._pending.get(key_id)
        return pending if pending is not None else self._store.last_usage(key_id)

    def forget_all(self) -> None:
        with self._lock:
            self._pending.clear()
