"""The tenant guard's view of tenancy: tenants that may not act, and shares, as a TenantGate."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from strongroom.tenancy.share_book import ShareBook
from strongroom.tenancy.sharing_ports import TenantStatusSource
from strongroom.tenancy.tenants import BLOCKED_STATUSES

# How long a loaded set of statuses serves before it is read again; status changes made
# in this process drop it at once (``changed``), so this bounds only how long another
# server's change can go unseen.
CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Snapshot:
    blocked: Mapping[str, str]
    generation: int
    expires: float


class BlockedTenants:
    """The tenants whose principals may do nothing (suspended, offboarding, shredded), all
    read at once and kept ``cache_seconds``: the hot path is a clock read and one dict
    lookup, whatever the number of tenants. Thread-safe; a read that overlaps a change in
    this process answers the asking call only and is not kept."""

    def __init__(self, source: TenantStatusSource, *, cache_seconds: float = CACHE_SECONDS):
        self._source = source
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._generation = 0
        self._snapshot = _Snapshot({}, -1, 0.0)

    def status_of(self, tenant: str) -> str | None:
        """The tenant's status if it blocks the tenant, else None (active, or no tenant)."""
        return self._current().blocked.get(tenant)

    def changed(self, tenant_id: str | None = None) -> None:
        """A tenant's status changed in this process: the next question reads them again.
        (Takes the tenant id so it can be a tenant service's ``on_change`` callback.)"""
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
            blocked = {t: s for t, s in self._source.statuses() if s in BLOCKED_STATUSES}
            loaded = _Snapshot(blocked, generation, time.monotonic() + self._cache_seconds)
            if self._generation == generation:
                self._snapshot = loaded
            return loaded


class TenancyGate:
    """The ``authorization.TenantGate`` the PolicyAuthorizer consults for tenant-bound
    callers: a blocked tenant may do nothing; a share opens shared secrets."""

    def __init__(self, blocked: BlockedTenants, shares: ShareBook) -> None:
        self._blocked = blocked
        self._shares = shares

    def inactive_status(self, tenant: str) -> str | None:
        return self._blocked.status_of(tenant)

    def opens(self, tenant: str, shared_name: str, action: str) -> bool:
        return self._shares.opens(tenant, shared_name, action)
