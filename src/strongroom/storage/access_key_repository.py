"""Access keys (with their secrets wrapped under the domain key) in the data database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, insert, select

from strongroom.identity.credentials import StoredAccessKey
from strongroom.storage import engines
from strongroom.storage.schema import access_keys


def _key(row: Any) -> StoredAccessKey:
    return StoredAccessKey(
        access_key_id=row.access_key_id,
        principal_arn=row.principal_arn,
        status=row.status,
        created_at=row.created_at,
        wrapped_secret=row.wrapped_secret,
        user_id=row.user_id,
    )


class SqlAccessKeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, access_key_id: str) -> StoredAccessKey | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(
                select(access_keys).where(access_keys.c.access_key_id == access_key_id)
            ).first()
            return None if row is None else _key(row)

    def for_principal(self, principal_arn: str) -> list[StoredAccessKey]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(access_keys)
                .where(access_keys.c.principal_arn == principal_arn)
                .order_by(access_keys.c.created_at)
            )
            return [_key(r) for r in rows]

    def put(self, key: StoredAccessKey) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(access_keys).where(access_keys.c.access_key_id == key.access_key_id))
            c.execute(
                insert(access_keys).values(
                    access_key_id=key.access_key_id,
                    principal_arn=key.principal_arn,
                    status=key.status,
                    created_at=key.created_at,
                    wrapped_secret=key.wrapped_secret,
                    user_id=key.user_id,
                )
            )

    def delete_for_principal(self, principal_arn: str) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(access_keys).where(access_keys.c.principal_arn == principal_arn))
