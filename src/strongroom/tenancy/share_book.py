"""Every share in memory, as the tenant guard asks about them: which share opens a secret."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from strongroom.tenancy.share_patterns import SharePattern, opened_by
from strongroom.tenancy.sharing_ports import ShareRecord, ShareStore

# How long a loaded set of shares serves before it is read again; share changes made in
# this process drop it at once (``changed``), so this bounds only how long another
# server's change can go unseen.
CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _OpenShare:
    pattern: SharePattern
    opened: frozenset[str]


class ShareIndex:
    """A fixed set of shares, indexed by tenant (pure: ``policy check-isolation`` uses it
    on shares read through the API)."""

    def __init__(self, records: Iterable[ShareRecord]) -> None:
        grouped: dict[str, list[_OpenShare]] = {}
        for record in records:
            grouped.setdefault(record.tenant_id, []).append(
                _OpenShare(SharePattern(record.secret_pattern), opened_by(record.actions))
            )
        self._by_tenant: Mapping[str, tuple[_OpenShare, ...]] = {
            tenant: tuple(shares) for tenant, shares in grouped.items()
        }

    def opening_share(self, tenant: str, shared_name: str, action: str) -> str | None:
        """The pattern of a share that names ``tenant`` and covers the secret and the
        (``secretsmanager:…``) action, or None."""
        for share in self._by_tenant.get(tenant, ()):
            if action in share.opened and share.pattern.covers(shared_name):
                return share.pattern.text
        return None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    index: ShareIndex
    generation: int
    expires: float


class ShareBook:
    """All shares, loaded in one read and kept for ``cache_seconds``; thread-safe.

    A load that overlaps a change in this process is used for the asking call only, never
    kept, so an unshare is never hidden by shares read just before it.
    """

    def __init__(self, store: ShareStore, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._generation = 0
        self._snapshot = _Snapshot(ShareIndex(()), -1, 0.0)

    def opening_share(self, tenant: str, shared_name: str, action: str) -> str | None:
        """The pattern of a share that names ``tenant`` and covers the secret and the
        (``secretsmanager:…``) action, or None."""
        return self._current().index.opening_share(tenant, shared_name, action)

    def opens(self, tenant: str, shared_name: str, action: str) -> bool:
        return self.opening_share(tenant, shared_name, action) is not None

    def changed(self) -> None:
        """Shares changed in this process: the next question reads them again."""
        with self._lock:
            self._generation += 1

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot.generation == self._generation and snapshot.expires > time.monotonic():
            return snapshot
        # One reader at a time: the others wait and take what it read.
        with self._loading:
            snapshot = self._snapshot
            generation = self._generation
            if snapshot.generation == generation and snapshot.expires > time.monotonic():
                return snapshot
            loaded = _Snapshot(
                ShareIndex(self._store.all_shares()),
                generation,
                time.monotonic() + self._cache_seconds,
            )
            # The generation was taken before the read: if shares changed meanwhile, what
            # was read answers this call only and the next one reads again.
            if self._generation == generation:
                self._snapshot = loaded
            return loaded
