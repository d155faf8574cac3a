"""Tenant rows (SQLAlchemy Core) and the unit of work tenancy services run in."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.storage import engines
from strongroom.storage.schema import (
    iam_roles,
    iam_sessions,
    secret_versions,
    secrets,
    tenant_destruction_certificates,
    tenant_usage_daily,
    tenant_usage_stored,
    tenant_usage_watermarks,
    tenants,
)
from strongroom.tenancy.ports import TenantExists
from strongroom.tenancy.tenants import ACTIVE, OFFBOARDING, TenantRecord


def _record(row: Any) -> TenantRecord:
    return TenantRecord(
        tenant_id=row.tenant_id,
        display_name=row.display_name,
        status=row.status,
        key_mode=row.key_mode,
        key_id=row.key_id,
        isolation_policy=row.isolation_policy,
        role_name=row.role_name,
        tier=row.tier,
        quotas=row.quotas,
        tags=tuple((k, v) for k, v in json.loads(row.tags)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        offboarded_at=row.offboarded_at,
        destruction_date=row.destruction_date,
        destroyed_at=row.destroyed_at,
        audit_export=row.audit_export,
        row_version=row.row_version,
    )


def _values(record: TenantRecord) -> dict[str, Any]:
    return {
        "tenant_id": record.tenant_id,
        "display_name": record.display_name,
        "status": record.status,
        "key_mode": record.key_mode,
        "key_id": record.key_id,
        "isolation_policy": record.isolation_policy,
        "role_name": record.role_name,
        "tier": record.tier,
        "quotas": record.quotas,
        "tags": json.dumps([list(pair) for pair in record.tags]),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "offboarded_at": record.offboarded_at,
        "destruction_date": record.destruction_date,
        "destroyed_at": record.destroyed_at,
        "audit_export": record.audit_export,
        "row_version": record.row_version,
    }


# Read for every call of a tenant whose quotas are not cached, built once.
_TENANT = select(tenants).where(tenants.c.tenant_id == bindparam("tenant_id"))


class SqlTenantStore:
    """Tenants in the data database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def unit_of_work(self) -> AbstractContextManager[None]:
        return engines.unit_of_work(self._engine)

    def get(self, tenant_id: str) -> TenantRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(_TENANT, {"tenant_id": tenant_id}).first()
            return None if row is None else _record(row)

    def insert(self, record: TenantRecord) -> None:
        with engines.transaction(self._engine, write=True) as c:
            if c.execute(
                select(tenants.c.tenant_id).where(tenants.c.tenant_id == record.tenant_id)
            ).first():
                raise TenantExists(record.tenant_id)
            try:
                c.execute(insert(tenants).values(**_values(record)))
            except IntegrityError as exc:  # a concurrent create won the race
                raise TenantExists(record.tenant_id) from exc

    def update(self, record: TenantRecord, expected_version: int) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                update(tenants)
                .where(
                    tenants.c.tenant_id == record.tenant_id,
                    tenants.c.row_version == expected_version,
                )
                .values(**_values(record))
            )
            return bool(result.rowcount == 1)

    def page(self, status: str | None, after: str | None, limit: int) -> Sequence[TenantRecord]:
        query = select(tenants).order_by(tenants.c.tenant_id).limit(limit)
        if status is not None:
            query = query.where(tenants.c.status == status)
        if after is not None:
            query = query.where(tenants.c.tenant_id > after)
        with engines.transaction(self._engine, write=False) as c:
            return [_record(row) for row in c.execute(query)]

    def due_for_destruction(self, now: datetime, limit: int) -> Sequence[TenantRecord]:
        query = (
            select(tenants)
            .where(tenants.c.status == OFFBOARDING, tenants.c.destruction_date <= now)
            .order_by(tenants.c.destruction_date)
            .limit(limit)
        )
        with engines.transaction(self._engine, write=False) as c:
            return [_record(row) for row in c.execute(query)]

    def statuses(self) -> Iterator[tuple[str, str]]:
        query = select(tenants.c.tenant_id, tenants.c.status).where(tenants.c.status != ACTIVE)
        with engines.transaction(self._engine, write=False) as c:
            rows = [(row.tenant_id, row.status) for row in c.execute(query)]
        return iter(rows)

    def reset(self) -> None:
        """Dev reset: every tenant, certificate and usage figure goes."""
        with engines.transaction(self._engine, write=True) as c:
            for table in (
                tenants,
                tenant_destruction_certificates,
                tenant_usage_daily,
                tenant_usage_stored,
                tenant_usage_watermarks,
            ):
                c.execute(delete(table))

    def count_secret_versions(self, tenant_id: str) -> int:
        query = (
            select(func.count())
            .select_from(secret_versions.join(secrets, secret_versions.c.secret_id == secrets.c.id))
            .where(secrets.c.tenant == tenant_id)
        )
        with engines.transaction(self._engine, write=False) as c:
            return int(c.execute(query).scalar_one())


class SqlTenantSessions:
    """Revokes the STS sessions bound to a tenant: its role's, and any other role's
    session carrying the tenant tag as a session tag (the shared-service pattern)."""

    def __init__(self, engine: Engine, tenant_tag_key: str, on_change: Callable[[], None]) -> None:
        self._engine = engine
        self._tag_key = tenant_tag_key.lower()
        self._on_change = on_change

    def revoke_sessions(self, tenant_id: str, role_name: str) -> int:
        with engines.transaction(self._engine, write=True) as c:
            role_id = c.execute(
                select(iam_roles.c.id).where(iam_roles.c.name_key == role_name.lower())
            ).scalar()
            doomed = []
            # Offboarding is rare and sessions are few (they expire within 12 hours), so
            # reading them all beats an index on a JSON field.
            for row in c.execute(
                select(
                    iam_sessions.c.access_key_id,
                    iam_sessions.c.entity_kind,
                    iam_sessions.c.entity_id,
                    iam_sessions.c.detail,
                )
            ):
                tags = json.loads(row.detail).get("tags", [])
                bound = any(k.lower() == self._tag_key and v == tenant_id for k, v in tags)
                if bound or (row.entity_kind == "role" and row.entity_id == role_id):
                    doomed.append(row.access_key_id)
            for access_key_id in doomed:
                c.execute(delete(iam_sessions).where(iam_sessions.c.access_key_id == access_key_id))
        self._on_change()
        return len(doomed)
