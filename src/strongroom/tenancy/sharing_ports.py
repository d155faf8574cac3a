"""What sharing needs from storage: the share store, and the tenant store's answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from strongroom.tenancy.tenants import TenantRecord


@dataclass(frozen=True, slots=True)
class ShareRecord:
    """One share as stored: ``tenant_id`` may reach the shared secrets ``secret_pattern``
    matches, for ``actions`` (sorted share actions: "DESCRIBE", "READ")."""

    tenant_id: str
    secret_pattern: str
    actions: tuple[str, ...]
    created_at: datetime
    created_by: str


class ShareNotFound(LookupError):
    """The tenant has no share with that pattern."""


class ShareStore(Protocol):
    """Shares in the data database; each method is one transaction (writes carry the call's
    audit event, as every mutation does)."""

    def all_shares(self) -> list[ShareRecord]:
        """Every share (the ShareBook keeps them all in memory)."""
        ...

    def shares_page(
        self, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ShareRecord]:
        """Up to ``limit`` shares (of one tenant, or all) ordered by (tenant, pattern),
        starting after the (tenant, pattern) key ``after``."""
        ...

    def put_share(self, share: ShareRecord) -> ShareRecord:
        """Insert the share, or if the tenant has one for the pattern already, set its
        actions (keeping who made it and when); returns the share as stored."""
        ...

    def delete_share(self, tenant_id: str, secret_pattern: str) -> None:
        """Remove one share; :class:`ShareNotFound` (and nothing written) if there is none."""
        ...

    def delete_tenant_shares(self, tenant_id: str) -> int:
        """Remove every share of a tenant (offboarding); how many there were."""
        ...

    def reset(self) -> None:
        """Forget every share (the dev server's ResetDevState)."""
        ...


class TenantLookup(Protocol):
    """The tenant store, as the sharing service sees it: does the tenant exist, in what
    status."""

    def get(self, tenant_id: str) -> TenantRecord | None: ...


class TenantStatusSource(Protocol):
    """The tenant store, as the tenant guard sees it."""

    def statuses(self) -> Iterable[tuple[str, str]]:
        """(tenant id, status) of every tenant that is not ACTIVE."""
        ...
