"""KMS key metadata and aliases in the data database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import KmsKeyRecord
from strongroom.storage import engines
from strongroom.storage.schema import kms_aliases, kms_keys


def _record(row: Any) -> KmsKeyRecord:
    return KmsKeyRecord(
        key_id=row.key_id,
        arn=row.arn,
        region=row.region,
        created_at=row.created_at,
        key_manager=row.key_manager,
        key_state=row.key_state,
        description=row.description,
        key_spec=row.key_spec,
        key_usage=row.key_usage,
        origin=row.origin,
    )


class SqlKeyDirectoryStore:
    """KeyDirectoryStore: each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def key(self, key_id: str) -> KmsKeyRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(select(kms_keys).where(kms_keys.c.key_id == key_id)).first()
            return None if row is None else _record(row)

    def alias_target(self, region: str, alias_name: str) -> str | None:
        with engines.transaction(self._engine, write=False) as c:
            target = c.execute(
                select(kms_aliases.c.key_id).where(
                    and_(kms_aliases.c.region == region, kms_aliases.c.alias_name == alias_name)
                )
            ).scalar_one_or_none()
            return None if target is None else str(target)

    def insert_key_with_alias(self, record: KmsKeyRecord, alias_name: str | None) -> KmsKeyRecord:
        try:
            with engines.transaction(self._engine, write=True) as c:
                c.execute(
                    insert(kms_keys).values(
                        key_id=record.key_id,
                        arn=record.arn,
                        region=record.region,
                        created_at=record.created_at,
                        key_manager=record.key_manager,
                        key_state=record.key_state,
                        description=record.description,
                        key_spec=record.key_spec,
                        key_usage=record.key_usage,
                        origin=record.origin,
                    )
                )
                if alias_name is not None:
                    c.execute(
                        insert(kms_aliases).values(
                            region=record.region,
                            alias_name=alias_name,
                            key_id=record.key_id,
                            created_at=record.created_at,
                        )
                    )
        except IntegrityError:
            if alias_name is None:
                raise
            winner = self.alias_target(record.region, alias_name)
            found = None if winner is None else self.key(winner)
            if found is None:
                raise
            return found
        return record

    def reset(self) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(kms_aliases))
            c.execute(delete(kms_keys))
