"""Shares (tenant_shares) in the data database: the ShareStore of the sharing service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from strongroom.storage import engines
from strongroom.storage.schema import tenant_shares
from strongroom.tenancy.sharing_ports import ShareNotFound, ShareRecord

_ACTIONS_SEPARATOR = ","
_ORDER = (tenant_shares.c.tenant_id, tenant_shares.c.secret_pattern)


def _record(row: Any) -> ShareRecord:
    return ShareRecord(
        tenant_id=row.tenant_id,
        secret_pattern=row.secret_pattern,
        actions=tuple(a for a in row.actions.split(_ACTIONS_SEPARATOR) if a),
        created_at=row.created_at,
        created_by=row.created_by,
    )


class SqlShareStore:
    """ShareStore: each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def all_shares(self) -> list[ShareRecord]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(select(tenant_shares).order_by(*_ORDER)).all()
        return [_record(row) for row in rows]

    def shares_page(
        self, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ShareRecord]:
        query = select(tenant_shares)
        if tenant_id is not None:
            query = query.where(tenant_shares.c.tenant_id == tenant_id)
        if after is not None:
            last_tenant, last_pattern = after
            query = query.where(
                or_(
                    tenant_shares.c.tenant_id > last_tenant,
                    and_(
                        tenant_shares.c.tenant_id == last_tenant,
                        tenant_shares.c.secret_pattern > last_pattern,
                    ),
                )
            )
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(query.order_by(*_ORDER).limit(limit)).all()
        return [_record(row) for row in rows]

    def put_share(self, share: ShareRecord) -> ShareRecord:
        key = and_(
            tenant_shares.c.tenant_id == share.tenant_id,
            tenant_shares.c.secret_pattern == share.secret_pattern,
        )
        actions = _ACTIONS_SEPARATOR.join(share.actions)
        with engines.transaction(self._engine, write=True) as c:
            insert = (
                postgresql.insert(tenant_shares)
                if c.dialect.name == "postgresql"
                else sqlite.insert(tenant_shares)
            )
            # Concurrent shares of one pattern: one inserts, the others update its actions.
            c.execute(
                insert.values(
                    tenant_id=share.tenant_id,
                    secret_pattern=share.secret_pattern,
                    actions=actions,
                    created_at=share.created_at,
                    created_by=share.created_by,
                ).on_conflict_do_update(
                    index_elements=list(_ORDER), set_={"actions": insert.excluded.actions}
                )
            )
            row = c.execute(select(tenant_shares).where(key)).one()
        return _record(row)

    def delete_share(self, tenant_id: str, secret_pattern: str) -> None:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                delete(tenant_shares).where(
                    and_(
                        tenant_shares.c.tenant_id == tenant_id,
                        tenant_shares.c.secret_pattern == secret_pattern,
                    )
                )
            )
            if not result.rowcount:
                # Raised inside the transaction, so it rolls back and no success is recorded.
                raise ShareNotFound(tenant_id, secret_pattern)

    def delete_tenant_shares(self, tenant_id: str) -> int:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(delete(tenant_shares).where(tenant_shares.c.tenant_id == tenant_id))
        return int(result.rowcount or 0)

    def reset(self) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(tenant_shares))
