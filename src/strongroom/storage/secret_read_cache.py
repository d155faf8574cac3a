"""Committed secret heads and versions in memory, for a server that is its database's only writer.

On embedded SQLite every commit (the audit trail commits a batch every few milliseconds)
makes every other connection drop its page cache, so the value-read hot path re-read its
pages from the WAL on almost every call. This cache holds what the reader's two
statements returned (ciphertext only: versions are stored encrypted) and is correct only
while no other process writes the database, which is what embedded SQLite means here.

The invariant: every entry equals what is committed. A secrets write transaction empties
the cache when it starts and again after its connection is back in the pool (after the
commit or rollback, also when it was part of a larger unit of work), and nothing is stored
while one is open or if one started since the read began (the generation moved).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event

_T = TypeVar("_T")


class SecretReadCache:
    """Bounded; thread-safe. ``generation`` before a read, ``put`` with it after."""

    _WRITING = "strongroom.secrets_written"

    def __init__(self, engine: Engine, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._writers = 0
        event.listen(engine, "checkin", self._on_checkin)
        event.listen(engine, "invalidate", self._on_checkin)

    def get(self, key: Hashable) -> Any:
        return self._entries.get(key)

    def get_or_load(self, key: Hashable, load: Callable[[], _T | None]) -> _T | None:
        """The cached value, or ``load()`` (kept when found and no write intervened)."""
        found: _T | None = self._entries.get(key)
        if found is None:
            generation = self.generation()
            found = load()
            if found is not None:
                self.put(key, found, generation)
        return found

    def generation(self) -> int | None:
        """The generation a read now begins at; None while a write is open (do not store)."""
        with self._lock:
            return None if self._writers else self._generation

    def put(self, key: Hashable, value: Any, generation: int | None) -> None:
        """Keep ``value`` if no secrets write has started since ``generation`` was taken."""
        if generation is None:
            return
        with self._lock:
            if self._writers or generation != self._generation:
                return
            if key not in self._entries and len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[key] = value

    def writing(self, connection: Connection) -> None:
        """A secrets write begins on ``connection``: empty the cache and store nothing
        until the connection is checked back in (its transaction has ended by then)."""
        info = connection.connection.info
        with self._lock:
            if info.get(self._WRITING):
                return
            info[self._WRITING] = True
            self._writers += 1
            self._generation += 1
            self._entries.clear()

    def _on_checkin(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        info = getattr(record, "info", None)
        if not info or not info.pop(self._WRITING, False):
            return
        with self._lock:
            self._writers -= 1
            self._generation += 1
            self._entries.clear()
