"""The keystore database: wrapped domain keys, key material, partitions, destruction records."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import (
    DestroyedKeyMaterial,
    DestroyedPartition,
    PartitionLimitReached,
    VersionExists,
    WrappedDomainKey,
    WrappedKeyVersion,
    WrappedPartition,
)
from strongroom.storage import engines
from strongroom.storage.schema import (
    domain_keys,
    key_partition_counts,
    key_partition_destructions,
    key_partitions,
    key_version_destructions,
    key_versions,
)

log = logging.getLogger(__name__)

# A truncating checkpoint waits for readers of older snapshots; give it a few short tries
# rather than the connection's 30 s busy timeout.
_CHECKPOINT_ATTEMPTS = 5
_CHECKPOINT_BUSY_TIMEOUT_MS = 500
_CHECKPOINT_PAUSE_SECONDS = 0.05


def _partition(row: Any) -> WrappedPartition:
    return WrappedPartition(
        key_id=row.key_id,
        version=row.version,
        value=row.value,
        partition_id=row.partition_id,
        created_at=row.created_at,
        wrapped=row.wrapped,
        encryptions=row.encryptions,
    )


def _destroyed(row: Any, destroyed_at: datetime) -> DestroyedPartition:
    return DestroyedPartition(
        key_id=row.key_id,
        partition_id=row.partition_id,
        version=row.version,
        value=row.value,
        encryptions=row.encryptions,
        destroyed_at=destroyed_at,
    )


def _partition_records(destroyed: Iterable[DestroyedPartition]) -> list[dict[str, Any]]:
    return [
        {
            "key_id": d.key_id,
            "partition_id": d.partition_id,
            "version": d.version,
            "value": d.value,
            "encryptions": d.encryptions,
            "destroyed_at": d.destroyed_at,
        }
        for d in destroyed
    ]


def _pragma(cursor: Any, statement: str) -> int:
    """The first column of a PRAGMA's one row, as an integer."""
    cursor.execute(statement)
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{statement} returned no row")
    return int(row[0])


class SqlKeyMaterialStore:
    """KeyMaterialStore on its own engine (a database separate from the data)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def domain_keys(self) -> list[WrappedDomainKey]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(select(domain_keys).order_by(domain_keys.c.created_at))
            return [WrappedDomainKey(r.id, r.created_at, r.wrapped) for r in rows]

    def insert_domain_key(self, key: WrappedDomainKey) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(
                insert(domain_keys).values(
                    id=key.id, created_at=key.created_at, wrapped=key.wrapped
                )
            )

    def key_versions(self, key_id: str) -> list[WrappedKeyVersion]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(key_versions)
                .where(key_versions.c.key_id == key_id)
                .order_by(key_versions.c.version)
            )
            return [
                WrappedKeyVersion(
                    key_id=r.key_id,
                    version=r.version,
                    domain_key_id=r.domain_key_id,
                    created_at=r.created_at,
                    encryptions_reserved=r.encryptions_reserved,
                    wrapped=r.wrapped,
                    encryptions=r.encryptions,
                )
                for r in rows
            ]

    def insert_key_version(self, version: WrappedKeyVersion) -> None:
        try:
            with engines.transaction(self._engine, write=True) as c:
                c.execute(
                    insert(key_versions).values(
                        key_id=version.key_id,
                        version=version.version,
                        domain_key_id=version.domain_key_id,
                        created_at=version.created_at,
                        encryptions_reserved=version.encryptions_reserved,
                        wrapped=version.wrapped,
                        encryptions=version.encryptions,
                    )
                )
        except IntegrityError as exc:
            raise VersionExists(version.key_id) from exc

    def reserve_encryptions(self, key_id: str, version: int, count: int, budget: int) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                update(key_versions)
                .where(
                    and_(
                        key_versions.c.key_id == key_id,
                        key_versions.c.version == version,
                        key_versions.c.encryptions_reserved + count <= budget,
                    )
                )
                .values(encryptions_reserved=key_versions.c.encryptions_reserved + count)
            )
            return result.rowcount == 1

    def destroy_key_versions(self, key_id: str) -> int:
        with engines.transaction(self._engine, write=True) as c:
            # SQLite (secure_delete=ON, see engines) zeroes the freed cells in the page.
            deleted = c.execute(delete(key_versions).where(key_versions.c.key_id == key_id))
            count = deleted.rowcount
        self._after_destruction()
        return count

    def _after_destruction(self) -> None:
        if self._engine.dialect.name == "sqlite":
            # Even when nothing was deleted: a retry after a busy checkpoint finishes the job.
            self._truncate_wal()
        # PostgreSQL: the deleted tuples stay in the heap file until VACUUM reclaims (and
        # later reuse overwrites) them; plain autovacuum does that, VACUUM FULL is not run.

    # -- partitions ----------------------------------------------------------------

    def partition(self, key_id: str, version: int, value: str) -> WrappedPartition | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(
                select(key_partitions).where(
                    and_(
                        key_partitions.c.key_id == key_id,
                        key_partitions.c.value == value,
                        key_partitions.c.version == version,
                    )
                )
            ).first()
            return None if row is None else _partition(row)

    def partition_by_id(self, key_id: str, partition_id: bytes) -> WrappedPartition | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(
                select(key_partitions).where(
                    and_(
                        key_partitions.c.key_id == key_id,
                        key_partitions.c.partition_id == partition_id,
                    )
                )
            ).first()
            return None if row is None else _partition(row)

    def insert_partition(
        self, partition: WrappedPartition, max_values_per_key: int
    ) -> WrappedPartition:
        try:
            with engines.transaction(self._engine, write=True) as c:
                if self._value_is_new(c, partition.key_id, partition.value):
                    self._count_new_value(c, partition.key_id, max_values_per_key)
                c.execute(
                    insert(key_partitions).values(
                        key_id=partition.key_id,
                        partition_id=partition.partition_id,
                        version=partition.version,
                        value=partition.value,
                        created_at=partition.created_at,
                        encryptions=partition.encryptions,
                        wrapped=partition.wrapped,
                    )
                )
        except IntegrityError:
            # Another process made this (key, version, value) partition first: use its.
            winner = self.partition(partition.key_id, partition.version, partition.value)
            if winner is None:
                raise
            return winner
        return partition

    @staticmethod
    def _value_is_new(c: Connection, key_id: str, value: str) -> bool:
        found = c.execute(
            select(key_partitions.c.partition_id)
            .where(and_(key_partitions.c.key_id == key_id, key_partitions.c.value == value))
            .limit(1)
        ).first()
        return found is None

    @staticmethod
    def _count_new_value(c: Connection, key_id: str, limit: int) -> None:
        """One more distinct value for the key, unless it has ``limit`` already. The row
        lock the upsert takes serialises concurrent creators (PostgreSQL); two processes
        adding the same new value in different versions at once can only over-count."""
        statement = (
            postgresql.insert(key_partition_counts)
            if c.dialect.name == "postgresql"
            else sqlite.insert(key_partition_counts)
        )
        counted = c.execute(
            statement.values(key_id=key_id, distinct_values=1)
            .on_conflict_do_update(
                index_elements=[key_partition_counts.c.key_id],
                set_={"distinct_values": key_partition_counts.c.distinct_values + 1},
                where=key_partition_counts.c.distinct_values < limit,
            )
            .returning(key_partition_counts.c.key_id)
        ).first()
        if counted is None:
            raise PartitionLimitReached(key_id)

    def destroyed_partition(self, key_id: str, partition_id: bytes) -> DestroyedPartition | None:
        with engines.transaction(self._engine, write=False) as c:
            row = c.execute(
                select(key_partition_destructions).where(
                    and_(
                        key_partition_destructions.c.key_id == key_id,
                        key_partition_destructions.c.partition_id == partition_id,
                    )
                )
            ).first()
            return None if row is None else _destroyed(row, row.destroyed_at)

    def destroy_partitions(
        self, key_id: str, value: str, destroyed_at: datetime
    ) -> list[DestroyedPartition]:
        of_value = and_(key_partitions.c.key_id == key_id, key_partitions.c.value == value)
        with engines.transaction(self._engine, write=True) as c:
            rows = c.execute(
                select(key_partitions).where(of_value).order_by(key_partitions.c.version)
            ).all()
            destroyed = [_destroyed(row, destroyed_at) for row in rows]
            if destroyed:
                c.execute(insert(key_partition_destructions), _partition_records(destroyed))
                c.execute(delete(key_partitions).where(of_value))
                c.execute(
                    update(key_partition_counts)
                    .where(
                        and_(
                            key_partition_counts.c.key_id == key_id,
                            key_partition_counts.c.distinct_values > 0,
                        )
                    )
                    .values(distinct_values=key_partition_counts.c.distinct_values - 1)
                )
        self._after_destruction()
        return destroyed

    def destroy_key_material(self, key_id: str, destroyed_at: datetime) -> DestroyedKeyMaterial:
        with engines.transaction(self._engine, write=True) as c:
            versions = c.execute(
                select(key_versions.c.version, key_versions.c.encryptions)
                .where(key_versions.c.key_id == key_id)
                .order_by(key_versions.c.version)
            ).all()
            partitions = c.execute(
                select(key_partitions)
                .where(key_partitions.c.key_id == key_id)
                .order_by(key_partitions.c.version, key_partitions.c.value)
            ).all()
            destroyed = DestroyedKeyMaterial(
                versions=tuple(v.version for v in versions),
                version_encryptions=sum(v.encryptions for v in versions),
                partitions=tuple(_destroyed(p, destroyed_at) for p in partitions),
                destroyed_at=destroyed_at if versions or partitions else None,
            )
            # The records commit with the deletion: whatever happens to the caller next,
            # what went is known (a destruction certificate is made from them).
            self._record_versions(c, key_id, versions, destroyed_at)
            if partitions:
                c.execute(
                    insert(key_partition_destructions), _partition_records(destroyed.partitions)
                )
            for table in (key_versions, key_partitions, key_partition_counts):
                c.execute(delete(table).where(table.c.key_id == key_id))
        self._after_destruction()
        return destroyed

    @staticmethod
    def _record_versions(
        c: Connection, key_id: str, versions: Sequence[Any], destroyed_at: datetime
    ) -> None:
        if not versions:
            return
        recorded = set(
            c.execute(
                select(key_version_destructions.c.version).where(
                    key_version_destructions.c.key_id == key_id
                )
            ).scalars()
        )
        fresh = [v for v in versions if v.version not in recorded]
        if fresh:
            c.execute(
                insert(key_version_destructions),
                [
                    {
                        "key_id": key_id,
                        "version": v.version,
                        "encryptions": v.encryptions,
                        "destroyed_at": destroyed_at,
                    }
                    for v in fresh
                ],
            )
        # A version destroyed before can only be back if material was imported again into
        # a key whose destruction was interrupted: one record counts both.
        for v in versions:
            if v.version in recorded:
                c.execute(
                    update(key_version_destructions)
                    .where(
                        and_(
                            key_version_destructions.c.key_id == key_id,
                            key_version_destructions.c.version == v.version,
                        )
                    )
                    .values(
                        encryptions=key_version_destructions.c.encryptions + v.encryptions,
                        destroyed_at=destroyed_at,
                    )
                )

    def destroyed_key_material(self, key_id: str) -> DestroyedKeyMaterial:
        with engines.transaction(self._engine, write=False) as c:
            versions = c.execute(
                select(key_version_destructions)
                .where(key_version_destructions.c.key_id == key_id)
                .order_by(key_version_destructions.c.version)
            ).all()
            partitions = c.execute(
                select(key_partition_destructions)
                .where(key_partition_destructions.c.key_id == key_id)
                .order_by(key_partition_destructions.c.version, key_partition_destructions.c.value)
            ).all()
        times = [r.destroyed_at for r in (*versions, *partitions)]
        return DestroyedKeyMaterial(
            versions=tuple(v.version for v in versions),
            version_encryptions=sum(v.encryptions for v in versions),
            partitions=tuple(_destroyed(p, p.destroyed_at) for p in partitions),
            destroyed_at=max(times) if times else None,
        )

    def destroyed_partitions(self, key_id: str, value: str) -> list[DestroyedPartition]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(key_partition_destructions)
                .where(
                    and_(
                        key_partition_destructions.c.key_id == key_id,
                        key_partition_destructions.c.value == value,
                    )
                )
                .order_by(key_partition_destructions.c.version)
            ).all()
        return [_destroyed(row, row.destroyed_at) for row in rows]

    def add_destroyed_encryption_counts(
        self,
        versions: Mapping[tuple[str, int], int],
        partitions: Mapping[tuple[str, bytes], int],
    ) -> None:
        self._add_counts(
            key_version_destructions,
            key_partition_destructions,
            {slot: n for slot, n in versions.items() if n},
            {slot: n for slot, n in partitions.items() if n},
        )

    def add_encryption_counts(
        self,
        versions: Mapping[tuple[str, int], int],
        partitions: Mapping[tuple[str, bytes], int],
    ) -> None:
        self._add_counts(key_versions, key_partitions, versions, partitions)

    def _add_counts(
        self,
        version_rows: Table,
        partition_rows: Table,
        versions: Mapping[tuple[str, int], int],
        partitions: Mapping[tuple[str, bytes], int],
    ) -> None:
        """Add counts to the ``encryptions`` of rows keyed (key_id, version) and (key_id,
        partition_id): the live ones, or the destruction records."""
        if not versions and not partitions:
            return
        with engines.transaction(self._engine, write=True) as c:
            # Sorted, so two processes flushing at once take the row locks in one order.
            if versions:
                c.execute(
                    update(version_rows)
                    .where(
                        and_(
                            version_rows.c.key_id == bindparam("counted_key"),
                            version_rows.c.version == bindparam("counted_version"),
                        )
                    )
                    .values(encryptions=version_rows.c.encryptions + bindparam("counted")),
                    [
                        {"counted_key": k, "counted_version": v, "counted": n}
                        for (k, v), n in sorted(versions.items())
                    ],
                )
            if partitions:
                c.execute(
                    update(partition_rows)
                    .where(
                        and_(
                            partition_rows.c.key_id == bindparam("counted_key"),
                            partition_rows.c.partition_id == bindparam("counted_partition"),
                        )
                    )
                    .values(encryptions=partition_rows.c.encryptions + bindparam("counted")),
                    [
                        {"counted_key": k, "counted_partition": p, "counted": n}
                        for (k, p), n in sorted(partitions.items())
                    ],
                )

    def _truncate_wal(self) -> None:
        """Copy the zeroed pages into the database file and empty the WAL, which still
        holds page images with the old ciphertexts (SQLite only)."""
        raw = self._engine.raw_connection()
        try:
            # Outside any transaction: the connection is in autocommit (see engines).
            cursor = raw.cursor()
            usual_timeout = _pragma(cursor, "PRAGMA busy_timeout")
            try:
                cursor.execute(f"PRAGMA busy_timeout={_CHECKPOINT_BUSY_TIMEOUT_MS}")
                for attempt in range(_CHECKPOINT_ATTEMPTS):
                    # (busy, frames in the WAL, frames checkpointed)
                    if _pragma(cursor, "PRAGMA wal_checkpoint(TRUNCATE)") == 0:
                        return
                    if attempt + 1 < _CHECKPOINT_ATTEMPTS:
                        time.sleep(_CHECKPOINT_PAUSE_SECONDS)
                log.warning(
                    "keystore WAL checkpoint stayed busy; destroyed key material may remain "
                    "in the WAL file until the next full checkpoint"
                )
            finally:
                cursor.execute(f"PRAGMA busy_timeout={usual_timeout}")
                cursor.close()
        finally:
            raw.close()

    def reset(self) -> None:
        """Destroy all key material except the domain keys (dev mode reset)."""
        with engines.transaction(self._engine, write=True) as c:
            for table in (
                key_versions,
                key_partitions,
                key_partition_counts,
                key_partition_destructions,
                key_version_destructions,
            ):
                c.execute(delete(table))
