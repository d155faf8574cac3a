"""KMS key metadata, aliases, tags, rotations, usage and destructions in the data database."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import (
    AliasExists,
    AliasRecord,
    GrantLimitExceeded,
    GrantRecord,
    KeyDestructionRecord,
    KeyRotationRecord,
    KeyUsageRecord,
    KmsKeyRecord,
    StaleKeyRecord,
)
from strongroom.storage import engines
from strongroom.storage.schema import (
    kms_aliases,
    kms_grants,
    kms_key_destructions,
    kms_key_rotations,
    kms_key_tags,
    kms_key_usage,
    kms_keys,
)

_KEY_FIELDS = tuple(f.name for f in dataclasses.fields(KmsKeyRecord))
_KEY_COLUMNS = tuple(kms_keys.c[name] for name in _KEY_FIELDS)
_SELECT_KEY = select(*_KEY_COLUMNS)
# What authorizing a call on a key not cached reads, built once (see identity_repository);
# a key by id is also what `key` reads.
_KEY_BY_ID = _SELECT_KEY.where(kms_keys.c.key_id == bindparam("key_id"))
_KEY_TAGS = (
    select(kms_key_tags.c.tag_key, kms_key_tags.c.tag_value)
    .where(kms_key_tags.c.key_id == bindparam("key_id"))
    .order_by(kms_key_tags.c.tag_key)
)
_KEY_ALIAS_NAMES = (
    select(kms_aliases.c.alias_name)
    .where(
        and_(
            kms_aliases.c.key_id == bindparam("key_id"), kms_aliases.c.region == bindparam("region")
        )
    )
    .order_by(kms_aliases.c.alias_name)
    .limit(bindparam("limit"))
)
# The identity, the compare-and-set counter and the partition context key (fixed when the
# key is created: changing it would strand every partitioned blob) are not for callers.
_UPDATABLE = frozenset(_KEY_FIELDS) - {"key_id", "row_version", "partition_key_name"}
_ALIAS_COLUMNS = tuple(kms_aliases.c[f.name] for f in dataclasses.fields(AliasRecord))
# Children of kms_keys, deleted explicitly (not only by cascade) so every engine agrees.
_KEY_CHILDREN = (kms_aliases, kms_key_tags, kms_key_rotations, kms_key_usage, kms_grants)


def _key(row: Any) -> KmsKeyRecord:
    return KmsKeyRecord(**row._mapping)


def _alias(row: Any) -> AliasRecord:
    return AliasRecord(**row._mapping)


def _context_text(context: Mapping[str, str] | None) -> str | None:
    return None if context is None else json.dumps(dict(context), sort_keys=True)


def _context_of(text: str | None) -> dict[str, str] | None:
    return None if text is None else dict(json.loads(text))


def _grant_values(grant: GrantRecord) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "key_id": grant.key_id,
        "name": grant.name,
        "grantee_principal": grant.grantee_principal,
        "retiring_principal": grant.retiring_principal,
        "issuing_account": grant.issuing_account,
        "operations": json.dumps(list(grant.operations)),
        "encryption_context_subset": _context_text(grant.encryption_context_subset),
        "encryption_context_equals": _context_text(grant.encryption_context_equals),
        "created_at": grant.created_at,
    }


def _grant(row: Any) -> GrantRecord:
    return GrantRecord(
        grant_id=row.grant_id,
        key_id=row.key_id,
        grantee_principal=row.grantee_principal,
        issuing_account=row.issuing_account,
        operations=tuple(json.loads(row.operations)),
        created_at=row.created_at,
        name=row.name,
        retiring_principal=row.retiring_principal,
        encryption_context_subset=_context_of(row.encryption_context_subset),
        encryption_context_equals=_context_of(row.encryption_context_equals),
    )


def _same_parameters(a: GrantRecord, b: GrantRecord) -> bool:
    """Equal but for the id and the creation date (CreateGrant's retry rule)."""
    return (
        a.grantee_principal == b.grantee_principal
        and a.retiring_principal == b.retiring_principal
        and sorted(a.operations) == sorted(b.operations)
        and a.encryption_context_subset == b.encryption_context_subset
        and a.encryption_context_equals == b.encryption_context_equals
    )


def _key_values(record: KmsKeyRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _KEY_FIELDS}


def _upsert_statement(c: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """INSERT ... ON CONFLICT for the connection's dialect (the two spell it alike)."""
    if c.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class SqlKeyDirectoryStore:
    """KeyDirectoryStore: each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- keys ----------------------------------------------------------------------

    def key(self, key_id: str) -> KmsKeyRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(_KEY_BY_ID, {"key_id": key_id}).first()
            return None if row is None else _key(row)

    def key_for_authorization(
        self, key_id: str, max_aliases: int
    ) -> tuple[KmsKeyRecord, list[tuple[str, str]], list[str]] | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(_KEY_BY_ID, {"key_id": key_id}).first()
            if row is None:
                return None
            record = _key(row)
            tags = self._key_tags(c, key_id)
            names = c.execute(
                _KEY_ALIAS_NAMES, {"key_id": key_id, "region": record.region, "limit": max_aliases}
            )
            return record, tags, [n.alias_name for n in names]

    def key_by_alias(self, region: str, alias_name: str) -> KmsKeyRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            return self._key_by_alias(c, region, alias_name)

    @staticmethod
    def _key_by_alias(c: Connection, region: str, alias_name: str) -> KmsKeyRecord | None:
        row = c.execute(
            _SELECT_KEY.join(kms_aliases, kms_aliases.c.key_id == kms_keys.c.key_id).where(
                and_(kms_aliases.c.region == region, kms_aliases.c.alias_name == alias_name)
            )
        ).first()
        return None if row is None else _key(row)

    def insert_key(
        self,
        record: KmsKeyRecord,
        tags: Sequence[tuple[str, str]] = (),
        alias_name: str | None = None,
    ) -> KmsKeyRecord:
        try:
            with engines.transaction(self._engine, write=True) as c:
                c.execute(insert(kms_keys).values(**_key_values(record)))
                if tags:
                    c.execute(
                        insert(kms_key_tags),
                        [{"key_id": record.key_id, "tag_key": k, "tag_value": v} for k, v in tags],
                    )
                if alias_name is not None:
                    c.execute(
                        insert(kms_aliases).values(
                            region=record.region,
                            alias_name=alias_name,
                            key_id=record.key_id,
                            created_at=record.created_at,
                            updated_at=record.created_at,
                        )
                    )
        except IntegrityError:
            # Lost the race for the alias (AWS-managed keys): the winner's key is the answer.
            if alias_name is None:
                raise
            winner = self.key_by_alias(record.region, alias_name)
            if winner is None:
                raise
            return winner
        return record

    def update_key(
        self, key_id: str, expected_row_version: int, changes: Mapping[str, Any]
    ) -> KmsKeyRecord:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable KMS key fields: {sorted(unknown)}")
        with engines.transaction(self._engine, write=True) as c:
            row = c.execute(
                update(kms_keys)
                .where(
                    and_(
                        kms_keys.c.key_id == key_id,
                        kms_keys.c.row_version == expected_row_version,
                    )
                )
                .values(**changes, row_version=expected_row_version + 1)
                .returning(*_KEY_COLUMNS)
            ).first()
            if row is None:
                raise StaleKeyRecord(key_id)
            return _key(row)

    def list_keys(self, region: str, after_key_id: str | None, limit: int) -> list[KmsKeyRecord]:
        condition = kms_keys.c.region == region
        if after_key_id is not None:
            condition = and_(condition, kms_keys.c.key_id > after_key_id)
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(_SELECT_KEY.where(condition).order_by(kms_keys.c.key_id).limit(limit))
            return [_key(r) for r in rows]

    def delete_key(self, key_id: str, destruction: KeyDestructionRecord) -> None:
        """A key that is already gone is left alone (a second deleter, or a retry)."""
        with engines.transaction(self._engine, write=True) as c:
            for child in _KEY_CHILDREN:
                c.execute(delete(child).where(child.c.key_id == key_id))
            if c.execute(delete(kms_keys).where(kms_keys.c.key_id == key_id)).rowcount != 1:
                return
            c.execute(
                insert(kms_key_destructions).values(
                    {f.name: getattr(destruction, f.name) for f in dataclasses.fields(destruction)}
                )
            )

    def destruction(self, key_id: str) -> KeyDestructionRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(
                select(kms_key_destructions).where(kms_key_destructions.c.key_id == key_id)
            ).first()
            return None if row is None else KeyDestructionRecord(**row._mapping)

    # -- aliases -------------------------------------------------------------------

    def insert_alias(self, alias: AliasRecord) -> None:
        with engines.transaction(self._engine, write=True) as c:
            try:
                # A savepoint: inside a unit of work (CreateTenant) a failed insert must
                # leave the transaction usable, which PostgreSQL does not otherwise do.
                with c.begin_nested():
                    c.execute(insert(kms_aliases).values(dataclasses.asdict(alias)))
            except IntegrityError as exc:
                # Either the name is taken or the key does not exist; only the first is ours.
                found = c.execute(
                    select(kms_aliases.c.key_id).where(
                        and_(
                            kms_aliases.c.region == alias.region,
                            kms_aliases.c.alias_name == alias.alias_name,
                        )
                    )
                ).first()
                if found is not None:
                    raise AliasExists(alias.alias_name) from exc
                raise

    def retarget_alias(self, region: str, alias_name: str, key_id: str, at: datetime) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                update(kms_aliases)
                .where(and_(kms_aliases.c.region == region, kms_aliases.c.alias_name == alias_name))
                .values(key_id=key_id, updated_at=at)
            )
            return result.rowcount == 1

    def delete_alias(self, region: str, alias_name: str) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                delete(kms_aliases).where(
                    and_(kms_aliases.c.region == region, kms_aliases.c.alias_name == alias_name)
                )
            )
            return result.rowcount == 1

    def list_aliases(
        self, region: str, key_id: str | None, after_alias: str | None, limit: int
    ) -> list[AliasRecord]:
        condition = kms_aliases.c.region == region
        if key_id is not None:
            condition = and_(condition, kms_aliases.c.key_id == key_id)
        if after_alias is not None:
            condition = and_(condition, kms_aliases.c.alias_name > after_alias)
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(*_ALIAS_COLUMNS)
                .where(condition)
                .order_by(kms_aliases.c.alias_name)
                .limit(limit)
            )
            return [_alias(r) for r in rows]

    # -- tags ----------------------------------------------------------------------

    def key_tags(self, key_id: str) -> list[tuple[str, str]]:
        with engines.transaction(self._engine, write=False) as c:
            return self._key_tags(c, key_id)

    @staticmethod
    def _key_tags(c: Connection, key_id: str) -> list[tuple[str, str]]:
        rows = c.execute(_KEY_TAGS, {"key_id": key_id})
        return [(r.tag_key, r.tag_value) for r in rows]

    def put_key_tags(self, key_id: str, tags: Sequence[tuple[str, str]], limit: int) -> bool:
        wanted = dict(tags)  # a key given twice: the last value wins
        with engines.transaction(self._engine, write=True) as c:
            # Tag writers of one key queue on its row (PostgreSQL: FOR NO KEY UPDATE, which
            # leaves FOR KEY SHARE readers alone), so the count below stays true until
            # commit; SQLite's BEGIN IMMEDIATE already serialises writers.
            c.execute(
                select(kms_keys.c.key_id)
                .where(kms_keys.c.key_id == key_id)
                .with_for_update(key_share=True)
            )
            existing = set(
                c.execute(
                    select(kms_key_tags.c.tag_key).where(kms_key_tags.c.key_id == key_id)
                ).scalars()
            )
            if len(existing | wanted.keys()) > limit:
                return False
            if wanted:
                statement = _upsert_statement(c, kms_key_tags)
                c.execute(
                    statement.on_conflict_do_update(
                        index_elements=[kms_key_tags.c.key_id, kms_key_tags.c.tag_key],
                        set_={"tag_value": statement.excluded.tag_value},
                    ),
                    [{"key_id": key_id, "tag_key": k, "tag_value": v} for k, v in wanted.items()],
                )
            return True

    def remove_key_tags(self, key_id: str, tag_keys: Sequence[str]) -> None:
        if not tag_keys:
            return
        with engines.transaction(self._engine, write=True) as c:
            c.execute(
                delete(kms_key_tags).where(
                    and_(kms_key_tags.c.key_id == key_id, kms_key_tags.c.tag_key.in_(tag_keys))
                )
            )

    # -- rotations -----------------------------------------------------------------

    def insert_rotation(self, rotation: KeyRotationRecord) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(insert(kms_key_rotations).values(dataclasses.asdict(rotation)))

    def rotations(self, key_id: str) -> list[KeyRotationRecord]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(kms_key_rotations)
                .where(kms_key_rotations.c.key_id == key_id)
                .order_by(kms_key_rotations.c.version)
            )
            return [KeyRotationRecord(**r._mapping) for r in rows]

    def keys_due_for_rotation(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        # Index (key_state, next_rotation_date): an equality, then a range read in order.
        return self._keys_due(
            and_(
                kms_keys.c.key_state == "Enabled",
                kms_keys.c.next_rotation_date <= now,
                kms_keys.c.rotation_period_days.is_not(None),
            ),
            kms_keys.c.next_rotation_date,
            limit,
        )

    def keys_due_for_deletion(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        # Index (key_state, deletion_date).
        return self._keys_due(
            and_(kms_keys.c.key_state == "PendingDeletion", kms_keys.c.deletion_date <= now),
            kms_keys.c.deletion_date,
            limit,
        )

    def keys_with_expired_material(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        # Index (origin, valid_to).
        return self._keys_due(
            and_(kms_keys.c.origin == "EXTERNAL", kms_keys.c.valid_to <= now),
            kms_keys.c.valid_to,
            limit,
        )

    def _keys_due(self, condition: Any, due: Any, limit: int) -> list[KmsKeyRecord]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(_SELECT_KEY.where(condition).order_by(due).limit(limit))
            return [_key(r) for r in rows]

    # -- grants --------------------------------------------------------------------

    def insert_grant(self, grant: GrantRecord, limit: int) -> GrantRecord:
        with engines.transaction(self._engine, write=True) as c:
            # Grant writers of one key queue on its row (PostgreSQL; SQLite's BEGIN
            # IMMEDIATE serialises writers), so the name check and the count hold.
            c.execute(
                select(kms_keys.c.key_id)
                .where(kms_keys.c.key_id == grant.key_id)
                .with_for_update(key_share=True)
            )
            if grant.name is not None:
                rows = c.execute(
                    select(kms_grants).where(
                        and_(kms_grants.c.key_id == grant.key_id, kms_grants.c.name == grant.name)
                    )
                )
                for existing in (_grant(r) for r in rows):
                    if _same_parameters(existing, grant):
                        return existing
            count = c.execute(
                select(func.count())
                .select_from(kms_grants)
                .where(kms_grants.c.key_id == grant.key_id)
            ).scalar_one()
            if count >= limit:
                raise GrantLimitExceeded(grant.key_id)
            c.execute(insert(kms_grants).values(_grant_values(grant)))
            return grant

    def grant(self, grant_id: str) -> GrantRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(select(kms_grants).where(kms_grants.c.grant_id == grant_id)).first()
            return None if row is None else _grant(row)

    def grants_for(self, key_id: str, grantees: Sequence[str]) -> list[GrantRecord]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(kms_grants).where(
                    and_(
                        kms_grants.c.key_id == key_id,
                        kms_grants.c.grantee_principal.in_(list(grantees)),
                    )
                )
            )
            return [_grant(r) for r in rows]

    def list_grants(
        self,
        key_id: str,
        grant_id: str | None,
        grantee: str | None,
        after_grant_id: str | None,
        limit: int,
    ) -> list[GrantRecord]:
        condition = kms_grants.c.key_id == key_id
        if grant_id is not None:
            condition = and_(condition, kms_grants.c.grant_id == grant_id)
        if grantee is not None:
            condition = and_(condition, kms_grants.c.grantee_principal == grantee)
        if after_grant_id is not None:
            condition = and_(condition, kms_grants.c.grant_id > after_grant_id)
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(kms_grants).where(condition).order_by(kms_grants.c.grant_id).limit(limit)
            )
            return [_grant(r) for r in rows]

    def list_retirable_grants(
        self, region: str, retiring_principal: str, after_grant_id: str | None, limit: int
    ) -> list[GrantRecord]:
        condition = and_(
            kms_grants.c.retiring_principal == retiring_principal, kms_keys.c.region == region
        )
        if after_grant_id is not None:
            condition = and_(condition, kms_grants.c.grant_id > after_grant_id)
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(kms_grants)
                .join(kms_keys, kms_keys.c.key_id == kms_grants.c.key_id)
                .where(condition)
                .order_by(kms_grants.c.grant_id)
                .limit(limit)
            )
            return [_grant(r) for r in rows]

    def delete_grant(self, grant_id: str) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(delete(kms_grants).where(kms_grants.c.grant_id == grant_id))
            return result.rowcount == 1

    # -- usage ---------------------------------------------------------------------

    def record_usage(self, usages: Sequence[KeyUsageRecord]) -> None:
        """Usages of keys deleted meanwhile are dropped (a batch is flushed after the fact)."""
        newest: dict[str, KeyUsageRecord] = {}
        for usage in usages:
            seen = newest.get(usage.key_id)
            if seen is None or usage.used_at > seen.used_at:
                newest[usage.key_id] = usage
        if not newest:
            return
        with engines.transaction(self._engine, write=True) as c:
            # FOR KEY SHARE (PostgreSQL) keeps these keys from being deleted until commit,
            # in key order so two batches cannot deadlock.
            alive = set(
                c.execute(
                    select(kms_keys.c.key_id)
                    .where(kms_keys.c.key_id.in_(sorted(newest)))
                    .order_by(kms_keys.c.key_id)
                    .with_for_update(read=True, key_share=True)
                ).scalars()
            )
            rows = [dataclasses.asdict(newest[k]) for k in sorted(alive)]
            if not rows:
                return
            statement = _upsert_statement(c, kms_key_usage)
            c.execute(
                statement.on_conflict_do_update(
                    index_elements=[kms_key_usage.c.key_id],
                    set_={
                        "used_at": statement.excluded.used_at,
                        "operation": statement.excluded.operation,
                        "request_id": statement.excluded.request_id,
                    },
                    where=kms_key_usage.c.used_at < statement.excluded.used_at,
                ),
                rows,
            )

    def last_usage(self, key_id: str) -> KeyUsageRecord | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(select(kms_key_usage).where(kms_key_usage.c.key_id == key_id)).first()
            return None if row is None else KeyUsageRecord(**row._mapping)

    def reset(self) -> None:
        with engines.transaction(self._engine, write=True) as c:
            for table in (*_KEY_CHILDREN, kms_keys, kms_key_destructions):
                c.execute(delete(table))

    def tenant_key_count(self, tenant_tag_key: str, tenant: str) -> int:
        with engines.transaction(self._engine, write=False) as c:
            return int(
                c.execute(
                    select(func.count(kms_key_tags.c.key_id.distinct())).where(
                        kms_key_tags.c.tag_value == tenant,
                        func.lower(kms_key_tags.c.tag_key) == tenant_tag_key,
                    )
                ).scalar_one()
            )
