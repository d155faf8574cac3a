"""Secrets, versions, labels and tags in SQL: the SecretStore the Secrets Manager service uses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from strongroom.secretsmanager.ports import (
    DuplicateName,
    NewVersion,
    SecretHead,
    SecretRecord,
    StaleRecord,
    ValueKind,
    VersionRecord,
)
from strongroom.storage import engines
from strongroom.storage.compiled_query import CompiledQuery
from strongroom.storage.schema import (
    UtcTimestamp,
    secret_stages,
    secret_tags,
    secret_versions,
    secrets,
)
from strongroom.storage.secret_read_cache import SecretReadCache

_SECRET_COLUMNS = (
    secrets.c.id,
    secrets.c.arn,
    secrets.c.name,
    secrets.c.region,
    secrets.c.created_at,
    secrets.c.last_changed_at,
    secrets.c.row_version,
    secrets.c.description,
    secrets.c.kms_key_id,
    secrets.c.last_accessed_at,
    secrets.c.deleted_at,
    secrets.c.deletion_date,
    secrets.c.tenant,
    secrets.c.resource_policy,
)
_SELECT_SECRET = select(*_SECRET_COLUMNS)
_UPDATABLE = frozenset(
    {
        "description",
        "kms_key_id",
        "deleted_at",
        "deletion_date",
        "last_accessed_at",
        "resource_policy",
    }
)


def _secret(row: Any, tags: tuple[tuple[str, str], ...]) -> SecretRecord:
    return SecretRecord(
        id=row.id,
        arn=row.arn,
        name=row.name,
        region=row.region,
        created_at=row.created_at,
        last_changed_at=row.last_changed_at,
        row_version=row.row_version,
        description=row.description,
        kms_key_id=row.kms_key_id,
        last_accessed_at=row.last_accessed_at,
        deleted_at=row.deleted_at,
        deletion_date=row.deletion_date,
        tenant=row.tenant,
        tags=tags,
        resource_policy=row.resource_policy,
    )


def _version(row: Any) -> VersionRecord:
    return VersionRecord(
        secret_id=row.secret_id,
        version_id=row.version_id,
        created_at=row.created_at,
        kms_key_arn=row.kms_key_arn,
        value_kind=cast(ValueKind, row.value_kind),
        encrypted_data_key=row.encrypted_data_key,
        encrypted_value=row.encrypted_value,
        last_accessed_at=row.last_accessed_at,
    )


class SqlSecretsTransaction:
    """SecretsTransaction on one open SQL connection."""

    def __init__(self, connection: Connection, *, write: bool) -> None:
        self._c = connection
        self._write = write

    def _tags(self, secret_id: int) -> tuple[tuple[str, str], ...]:
        rows = self._c.execute(
            select(secret_tags.c.key, secret_tags.c.value)
            .where(secret_tags.c.secret_id == secret_id)
            .order_by(secret_tags.c.position)
        )
        return tuple((r.key, r.value) for r in rows)

    def _one(self, condition: Any) -> SecretRecord | None:
        query = _SELECT_SECRET.where(condition)
        if self._write:
            # Writers queue on the secret's row (PostgreSQL) instead of racing to the
            # row_version compare-and-set and retrying; SQLite's BEGIN IMMEDIATE already
            # serialises writers, and SQLAlchemy omits FOR UPDATE there.
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return None if row is None else _secret(row, self._tags(row.id))

    def secret_by_name(self, region: str, name: str) -> SecretRecord | None:
        return self._one(and_(secrets.c.region == region, secrets.c.name == name))

    def secret_by_arn(self, arn: str) -> SecretRecord | None:
        return self._one(secrets.c.arn == arn)

    def secrets_in_region(self, region: str) -> Iterator[SecretRecord]:
        tags: dict[int, list[tuple[str, str]]] = {}
        tag_rows = self._c.execute(
            select(secret_tags.c.secret_id, secret_tags.c.key, secret_tags.c.value)
            .join(secrets, secrets.c.id == secret_tags.c.secret_id)
            .where(secrets.c.region == region)
            .order_by(secret_tags.c.secret_id, secret_tags.c.position)
        )
        for r in tag_rows:
            tags.setdefault(r.secret_id, []).append((r.key, r.value))
        for row in self._c.execute(_SELECT_SECRET.where(secrets.c.region == region)):
            yield _secret(row, tuple(tags.get(row.id, ())))

    def insert_secret(
        self,
        *,
        arn: str,
        name: str,
        region: str,
        created_at: datetime,
        description: str | None,
        kms_key_id: str | None,
        tenant: str | None,
        tags: Sequence[tuple[str, str]],
    ) -> SecretRecord:
        try:
            with self._c.begin_nested():
                secret_id = self._c.execute(
                    insert(secrets)
                    .values(
                        arn=arn,
                        name=name,
                        region=region,
                        created_at=created_at,
                        last_changed_at=created_at,
                        description=description,
                        kms_key_id=kms_key_id,
                        tenant=tenant,
                        row_version=1,
                    )
                    .returning(secrets.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise DuplicateName(name) from exc
        self.replace_tags(secret_id, tags)
        found = self._one(secrets.c.id == secret_id)
        assert found is not None  # noqa: S101 - inserted above in this transaction
        return found

    def bump(self, secret: SecretRecord, *, changed_at: datetime | None, **fields: object) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        values: dict[str, object] = dict(fields)
        values["row_version"] = secret.row_version + 1
        if changed_at is not None:
            values["last_changed_at"] = changed_at
        result = self._c.execute(
            update(secrets)
            .where(and_(secrets.c.id == secret.id, secrets.c.row_version == secret.row_version))
            .values(**values)
        )
        if result.rowcount != 1:
            raise StaleRecord(secret.arn)

    def replace_tags(self, secret_id: int, tags: Sequence[tuple[str, str]]) -> None:
        self._c.execute(delete(secret_tags).where(secret_tags.c.secret_id == secret_id))
        if tags:
            self._c.execute(
                insert(secret_tags),
                [
                    {"secret_id": secret_id, "key": k, "value": v, "position": i}
                    for i, (k, v) in enumerate(tags)
                ],
            )

    def delete_secret(self, secret_id: int) -> None:
        # Children first: SQLite enforces cascades only with foreign_keys=ON, and being
        # explicit keeps the behaviour identical on every engine.
        self._c.execute(delete(secret_stages).where(secret_stages.c.secret_id == secret_id))
        self._c.execute(delete(secret_versions).where(secret_versions.c.secret_id == secret_id))
        self._c.execute(delete(secret_tags).where(secret_tags.c.secret_id == secret_id))
        self._c.execute(delete(secrets).where(secrets.c.id == secret_id))

    def versions(self, secret_id: int) -> list[VersionRecord]:
        rows = self._c.execute(
            select(secret_versions).where(secret_versions.c.secret_id == secret_id)
        )
        return [_version(r) for r in rows]

    def version(self, secret_id: int, version_id: str) -> VersionRecord | None:
        row = self._c.execute(
            select(secret_versions).where(
                and_(
                    secret_versions.c.secret_id == secret_id,
                    secret_versions.c.version_id == version_id,
                )
            )
        ).first()
        return None if row is None else _version(row)

    def insert_version(self, secret_id: int, version: NewVersion) -> None:
        self._c.execute(
            insert(secret_versions).values(
                secret_id=secret_id,
                version_id=version.version_id,
                created_at=version.created_at,
                kms_key_arn=version.kms_key_arn,
                value_kind=version.value_kind,
                encrypted_data_key=version.encrypted_data_key,
                encrypted_value=version.encrypted_value,
            )
        )

    def delete_versions(self, secret_id: int, version_ids: Sequence[str]) -> None:
        if version_ids:
            self._c.execute(
                delete(secret_versions).where(
                    and_(
                        secret_versions.c.secret_id == secret_id,
                        secret_versions.c.version_id.in_(list(version_ids)),
                    )
                )
            )

    def replace_data_key(
        self, secret_id: int, version_id: str, encrypted_data_key: bytes, kms_key_arn: str
    ) -> None:
        self._c.execute(
            update(secret_versions)
            .where(
                and_(
                    secret_versions.c.secret_id == secret_id,
                    secret_versions.c.version_id == version_id,
                )
            )
            .values(encrypted_data_key=encrypted_data_key, kms_key_arn=kms_key_arn)
        )

    def stages(self, secret_id: int) -> dict[str, str]:
        rows = self._c.execute(
            select(secret_stages.c.stage, secret_stages.c.version_id).where(
                secret_stages.c.secret_id == secret_id
            )
        )
        return {r.stage: r.version_id for r in rows}

    def stages_of_secrets(self, secret_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        if not secret_ids:
            return out
        rows = self._c.execute(
            select(secret_stages).where(secret_stages.c.secret_id.in_(list(secret_ids)))
        )
        for r in rows:
            out.setdefault(r.secret_id, {})[r.stage] = r.version_id
        return out

    def set_stage(self, secret_id: int, stage: str, version_id: str | None) -> None:
        where = and_(secret_stages.c.secret_id == secret_id, secret_stages.c.stage == stage)
        if version_id is None:
            self._c.execute(delete(secret_stages).where(where))
            return
        moved = self._c.execute(update(secret_stages).where(where).values(version_id=version_id))
        if moved.rowcount == 0:
            self._c.execute(
                insert(secret_stages).values(
                    secret_id=secret_id, stage=stage, version_id=version_id
                )
            )

    def record_access(self, secret_id: int, version_id: str, day: datetime) -> None:
        self._c.execute(
            update(secrets).where(secrets.c.id == secret_id).values(last_accessed_at=day)
        )
        self._c.execute(
            update(secret_versions)
            .where(
                and_(
                    secret_versions.c.secret_id == secret_id,
                    secret_versions.c.version_id == version_id,
                )
            )
            .values(last_accessed_at=day)
        )

    def secrets_due_for_deletion(self, now: datetime) -> list[SecretRecord]:
        rows = self._c.execute(
            _SELECT_SECRET.where(
                and_(secrets.c.deletion_date.is_not(None), secrets.c.deletion_date <= now)
            )
        )
        return [_secret(r, ()) for r in rows]

    def tenant_secret_count(self, tenant: str) -> int:
        # Secrets pending deletion still exist, so they count (the tenant index answers).
        return int(
            self._c.execute(
                select(func.count()).select_from(secrets).where(secrets.c.tenant == tenant)
            ).scalar_one()
        )

    def version_count(self, secret_id: int) -> int:
        return int(
            self._c.execute(
                select(func.count())
                .select_from(secret_versions)
                .where(secret_versions.c.secret_id == secret_id)
            ).scalar_one()
        )

    def reset(self) -> None:
        for table in (secret_stages, secret_versions, secret_tags, secrets):
            self._c.execute(delete(table))


_HEAD_SECRET_COLUMNS = (
    secrets.c.id,
    secrets.c.arn,
    secrets.c.name,
    secrets.c.deleted_at,
    secrets.c.last_accessed_at,
    secrets.c.resource_policy,
)
_LABEL, _TAG = "l", "t"


def _head_statement(where: Any) -> Any:
    """The secret with its labels and its tags, one row each, in one statement (so one
    consistent snapshot): the secret is found twice by the same index, never scanned."""
    labels = (
        select(
            *_HEAD_SECRET_COLUMNS,
            literal_column(f"'{_LABEL}'").label("kind"),
            secret_stages.c.stage.label("k"),
            secret_stages.c.version_id.label("v"),
        )
        .select_from(secrets.outerjoin(secret_stages, secret_stages.c.secret_id == secrets.c.id))
        .where(where)
    )
    tags = (
        select(
            *_HEAD_SECRET_COLUMNS,
            literal_column(f"'{_TAG}'").label("kind"),
            secret_tags.c.key.label("k"),
            secret_tags.c.value.label("v"),
        )
        .select_from(secrets.join(secret_tags, secret_tags.c.secret_id == secrets.c.id))
        .where(where)
    )
    return union_all(labels, tags)


_TIMESTAMP = UtcTimestamp()


def _when(raw: Any) -> datetime | None:
    return _TIMESTAMP.process_result_value(raw, None)  # type: ignore[arg-type]


class SqlSecretStore:
    """SecretStore over an engine; one SQL transaction per service transaction."""

    def __init__(self, engine: Engine, *, cache_entries: int = 0) -> None:
        """``cache_entries``: keep up to that many heads and versions in memory; only for
        a server that is its database's only writer (embedded SQLite)."""
        self._engine = engine
        self.cache = SecretReadCache(engine, cache_entries) if cache_entries else None
        self.head_by_name = CompiledQuery(
            _head_statement(
                and_(secrets.c.region == bindparam("region"), secrets.c.name == bindparam("name"))
            ),
            engine,
        )
        self.head_by_arn = CompiledQuery(_head_statement(secrets.c.arn == bindparam("arn")), engine)
        self.version = CompiledQuery(
            select(
                secret_versions.c.secret_id,
                secret_versions.c.version_id,
                secret_versions.c.created_at,
                secret_versions.c.kms_key_arn,
                secret_versions.c.value_kind,
                secret_versions.c.encrypted_data_key,
                secret_versions.c.encrypted_value,
                secret_versions.c.last_accessed_at,
            ).where(
                and_(
                    secret_versions.c.secret_id == bindparam("secret_id"),
                    secret_versions.c.version_id == bindparam("version_id"),
                )
            ),
            engine,
        )

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SqlSecretsTransaction]:
        with engines.transaction(self._engine, write=write) as connection:
            if write and self.cache is not None:
                self.cache.writing(connection)
            yield SqlSecretsTransaction(connection, write=write)

    @contextmanager
    def reader(self) -> Iterator[SqlSecretReader]:
        reader = SqlSecretReader(self)
        try:
            yield reader
        finally:
            reader.close()


class SqlSecretReader:
    """SecretReader on one pooled DBAPI cursor, checked out at the first statement (none
    when the store's cache answers)."""

    def __init__(self, store: SqlSecretStore) -> None:
        self._store = store
        self._cache = store.cache
        self._connection: Any = None
        self._cursor: Any = None

    def _open_cursor(self) -> Any:
        if self._cursor is None:
            self._connection = self._store._engine.raw_connection()
            self._cursor = self._connection.cursor()
        return self._cursor

    def close(self) -> None:
        try:
            if self._cursor is not None:
                self._cursor.close()
        finally:
            if self._connection is not None:
                # Back to the pool, which rolls back any implicit transaction.
                self._connection.close()
            self._connection = self._cursor = None

    def secret_head(
        self, region: str, *, name: str | None = None, arn: str | None = None
    ) -> SecretHead | None:
        if self._cache is None:
            return self._read_head(region, name=name, arn=arn)
        key = ("arn", arn) if arn is not None else ("name", region, name)
        return self._cache.get_or_load(key, lambda: self._read_head(region, name=name, arn=arn))

    def _read_head(self, region: str, *, name: str | None, arn: str | None) -> SecretHead | None:
        if arn is not None:
            rows = self._store.head_by_arn.run(self._open_cursor(), {"arn": arn})
        else:
            rows = self._store.head_by_name.run(
                self._open_cursor(), {"region": region, "name": name}
            )
        if not rows:
            return None
        first = rows[0]
        return SecretHead(
            id=first[0],
            arn=first[1],
            name=first[2],
            deleted_at=_when(first[3]),
            last_accessed_at=_when(first[4]),
            stages=MappingProxyType(
                {r[7]: r[8] for r in rows if r[6] == _LABEL and r[7] is not None}
            ),
            tags=tuple((r[7], r[8]) for r in rows if r[6] == _TAG),
            resource_policy=first[5],
        )

    def version_of(self, secret_id: int, version_id: str) -> VersionRecord | None:
        if self._cache is None:
            return self._read_version(secret_id, version_id)
        return self._cache.get_or_load(
            ("version", secret_id, version_id),
            lambda: self._read_version(secret_id, version_id),
        )

    def _read_version(self, secret_id: int, version_id: str) -> VersionRecord | None:
        rows = self._store.version.run(
            self._open_cursor(), {"secret_id": secret_id, "version_id": version_id}
        )
        if not rows:
            return None
        r = rows[0]
        return VersionRecord(
            secret_id=r[0],
            version_id=r[1],
            created_at=_when(r[2]),  # type: ignore[arg-type]
            kms_key_arn=r[3],
            value_kind=cast(ValueKind, r[4]),
            encrypted_data_key=bytes(r[5]),
            encrypted_value=bytes(r[6]),
            last_accessed_at=_when(r[7]),
        )
