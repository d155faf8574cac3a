"""A generation counter IAM writes bump, so identity caches in this process drop at once."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

CACHE_SECONDS = 1.0
# Entries a cache holds before it starts over. Above the working set of 10,000 tenants
# (a session, a role and a user or two each): a cache smaller than the principals calling
# is emptied before most of them call again, and every call then reads the database.
CACHE_LIMIT = 100_000


class IdentityChanges:
    """Every IAM write calls ``changed()``; caches remember the generation they were filled at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def changed(self) -> None:
        with self._lock:
            self._generation += 1


class BriefCache(Generic[K, V]):
    """Values kept at most ``CACHE_SECONDS`` and only while no IAM write happened since."""

    def __init__(self, changes: IdentityChanges, seconds: float = CACHE_SECONDS) -> None:
        self._changes = changes
        self._seconds = seconds
        self._entries: dict[K, tuple[float, int, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, generation, value = entry
        if generation != self._changes.generation or time.monotonic() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, generation: int) -> None:
        """Store ``value`` read at ``generation`` (taken before the read began)."""
        if len(self._entries) >= CACHE_LIMIT:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._seconds, generation, value)

    def clear(self) -> None:
        self._entries.clear()
