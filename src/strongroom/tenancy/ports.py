"""What the tenancy services need from storage, declared here and implemented in storage/."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from strongroom.tenancy.tenants import TenantRecord


class TenantStore(Protocol):
    """Tenant rows, and the unit of work onboarding and offboarding run in."""

    def unit_of_work(self) -> AbstractContextManager[None]:
        """One data-database transaction that every repository's transaction in this
        thread joins until the block ends (all of it commits, or none)."""
        ...

    def get(self, tenant_id: str) -> TenantRecord | None: ...

    def insert(self, record: TenantRecord) -> None:
        """Raises ``TenantExists`` if the id is taken."""
        ...

    def update(self, record: TenantRecord, expected_version: int) -> bool:
        """Write ``record`` if the stored row is still at ``expected_version``."""
        ...

    def page(self, status: str | None, after: str | None, limit: int) -> Sequence[TenantRecord]: ...

    def due_for_destruction(self, now: datetime, limit: int) -> Sequence[TenantRecord]: ...

    def statuses(self) -> Iterator[tuple[str, str]]:
        """(tenant id, status) of every tenant not ACTIVE."""
        ...

    def count_secret_versions(self, tenant_id: str) -> int:
        """Secret versions stored under the tenant's secrets."""
        ...


class TenantExists(Exception):
    """A tenant with that id is already stored."""
