"""The audit trail in SQL: hash-chained events per region, their resources, checkpoints, pruning."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Executable

from strongroom.audit import chain, checkpoints, index_fields
from strongroom.audit.checkpoints import CheckpointSigner
from strongroom.audit.events import AuditEvent, canonical_json
from strongroom.audit.index_fields import IndexedResource, IndexFields, LookupCopy
from strongroom.audit.ports import AuditStoreUnavailable, Checkpoint, StoredEvent
from strongroom.clock import Clock, SystemClock
from strongroom.storage import engines
from strongroom.storage.schema import (
    UtcTimestamp,
    audit_chain_heads,
    audit_checkpoints,
    audit_event_resources,
    audit_events,
    audit_lookup_events,
    audit_lookup_heads,
    audit_lookup_resources,
    audit_pruned,
)

_SCAN_PAGE = 1000
# SQLite's bound-parameter limit before 3.32 (the lowest any build has).
_SQLITE_MAX_VARIABLES = 999
_TIMESTAMP = UtcTimestamp()


@dataclass(frozen=True, slots=True)
class PrunedAnchor:
    """Where a region's chain now starts: the last pruned event's seq and hash."""

    region: str
    seq: int
    hash: bytes
    pruned_at: datetime


class _Compiled:
    """A Core statement compiled once for a dialect, run on a DBAPI cursor (SQLAlchemy's
    per-execution work would dominate). ``run_many`` inserts a whole batch: on SQLite as
    multi-row INSERTs, because the sqlite3 module gives up the GIL for every row of an
    ``executemany`` and the writer then waits to get it back from the request thread, row
    after row; on PostgreSQL as one ``executemany``."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self._sql: str = compiled.string
        self._positional: bool = dialect.positional
        self._order: tuple[str, ...] = tuple(compiled.positiontup or ())
        head, values, row_text = self._sql.rpartition(" VALUES ")
        self._multi_row: tuple[str, str] | None = (
            (head + values, row_text)
            if dialect.name == "sqlite" and values and self._sql.startswith("INSERT")
            else None
        )
        self._rows_per_insert = max(1, _SQLITE_MAX_VARIABLES // max(1, len(self._order)))
        self._multi_row_sql: dict[int, str] = {}

    def _params(self, params: Mapping[str, object]) -> Any:
        if self._positional:
            return tuple(params[name] for name in self._order)
        return dict(params)

    def run(self, cursor: Any, params: Mapping[str, object]) -> list[tuple[Any, ...]]:
        cursor.execute(self._sql, self._params(params))
        return list(cursor.fetchall()) if cursor.description is not None else []

    def run_many(self, cursor: Any, rows: Sequence[Mapping[str, object]]) -> None:
        if not rows:
            return
        if self._multi_row is None:
            cursor.executemany(self._sql, [self._params(row) for row in rows])
            return
        order = self._order
        for start in range(0, len(rows), self._rows_per_insert):
            chunk = rows[start : start + self._rows_per_insert]
            params = [row[name] for row in chunk for name in order]
            cursor.execute(self._insert_of(len(chunk)), params)

    def _insert_of(self, count: int) -> str:
        """The INSERT of ``count`` rows (at most ``_rows_per_insert`` sizes are ever kept)."""
        sql = self._multi_row_sql.get(count)
        if sql is None:
            assert self._multi_row is not None  # noqa: S101 - only called on SQLite
            head, row_text = self._multi_row
            sql = self._multi_row_sql.setdefault(count, head + ", ".join([row_text] * count))
        return sql


def _values(table: Any, prefix: str = "") -> dict[str, Any]:
    return {column.name: bindparam(prefix + column.name) for column in table.c}


class _Statements:
    """The append path's statements for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        heads = audit_chain_heads
        self.lock_head = _Compiled(
            # FOR UPDATE on PostgreSQL; SQLite omits it (BEGIN IMMEDIATE serialises writers).
            select(heads.c.seq, heads.c.hash)
            .where(heads.c.region == bindparam("region"))
            .with_for_update(),
            dialect,
        )
        dialect_insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        self.create_head = _Compiled(
            dialect_insert(heads).values(_values(heads)).on_conflict_do_nothing(),
            dialect,
        )
        self.move_head = _Compiled(
            sql_update(heads)
            .where(heads.c.region == bindparam("h_region"))
            .values(seq=bindparam("h_seq"), hash=bindparam("h_hash")),
            dialect,
        )
        self.insert_event = _Compiled(insert(audit_events).values(_values(audit_events)), dialect)
        self.insert_resource = _Compiled(
            insert(audit_event_resources).values(_values(audit_event_resources)), dialect
        )
        self.insert_checkpoint = _Compiled(
            insert(audit_checkpoints).values(_values(audit_checkpoints)), dialect
        )


_STATEMENTS: dict[tuple[str, str], _Statements] = {}
_STATEMENTS_LOCK = threading.Lock()


def _statements_for(dialect: Dialect) -> _Statements:
    key = (dialect.name, str(dialect.paramstyle))
    statements = _STATEMENTS.get(key)
    if statements is None:
        with _STATEMENTS_LOCK:
            statements = _STATEMENTS.setdefault(key, _Statements(dialect))
    return statements


def _micros(moment: datetime) -> int:
    value = _TIMESTAMP.process_bind_param(moment, None)  # type: ignore[arg-type]
    assert value is not None  # noqa: S101 - moment is never None here
    return value


def _when(raw: Any) -> datetime:
    value = _TIMESTAMP.process_result_value(raw, None)  # type: ignore[arg-type]
    assert value is not None  # noqa: S101 - the columns read are NOT NULL
    return value


@dataclass(slots=True)
class _Prepared:
    """An event's rows, built before the chain head is locked; seq and hashes come later."""

    index: int
    event: AuditEvent
    event_time: datetime  # as stored: the record's, whole seconds
    record: bytes
    row: dict[str, object]
    resources: list[dict[str, object]]


def _prepare(index: int, event: AuditEvent) -> _Prepared:
    cloudtrail = event.to_cloudtrail()
    record = canonical_json(cloudtrail)  # what event.canonical_bytes() is
    # The lookup columns and resource rows come from the record, by the function verify
    # uses to check them: the chain covers them too.
    fields = index_fields.of_record(cloudtrail)
    when = _micros(fields.event_time)
    row: dict[str, object] = {
        "region": fields.region,
        "event_id": fields.event_id,
        "event_time": when,
        "event_name": fields.event_name,
        "event_source": fields.event_source,
        "read_only": fields.read_only,
        "username": fields.username,
        "access_key_id": fields.access_key_id,
        "principal_arn": fields.principal_arn,
        "tenant": fields.tenant,
        "error_code": fields.error_code,
        "event_type": fields.event_type,
        "record": record,
    }
    resources: list[dict[str, object]] = [
        {
            "region": fields.region,
            "resource_name": resource.name,
            "resource_type": resource.type,
            "event_time": when,
        }
        for resource in fields.resources
    ]
    return _Prepared(index, event, fields.event_time, record, row, resources)


def append_in_transaction(
    connection: Connection,
    events: Sequence[AuditEvent],
    *,
    signer: CheckpointSigner | None = None,
    clock: Clock | None = None,
) -> list[StoredEvent]:
    """Chain and insert ``events`` on an open write transaction (committed by the caller).

    Each region's chain head is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers) only after every row is built, and is
    held until the caller commits, so keep the rest of the transaction short. With a
    ``signer``, a checkpoint is written whenever a region's seq passes a multiple of
    ``checkpoints.CHECKPOINT_INTERVAL``. Database errors become ``AuditStoreUnavailable``.
    """
    if not events:
        return []
    return _append_prepared(connection, _prepare_all(events), len(events), signer, clock)


def _prepare_all(events: Sequence[AuditEvent]) -> dict[str, list[_Prepared]]:
    by_region: dict[str, list[_Prepared]] = {}
    for index, event in enumerate(events):
        by_region.setdefault(event.aws_region, []).append(_prepare(index, event))
    return by_region


def _append_prepared(
    connection: Connection,
    by_region: dict[str, list[_Prepared]],
    count: int,
    signer: CheckpointSigner | None,
    clock: Clock | None,
) -> list[StoredEvent]:
    cursor = connection.connection.cursor()
    try:
        return _append_on_cursor(cursor, connection.dialect, by_region, count, signer, clock)
    finally:
        cursor.close()


def _append_on_cursor(
    cursor: Any,
    dialect: Dialect,
    by_region: dict[str, list[_Prepared]],
    count: int,
    signer: CheckpointSigner | None,
    clock: Clock | None,
) -> list[StoredEvent]:
    statements = _statements_for(dialect)
    database_error: type[Exception] = dialect.loaded_dbapi.Error
    stored: list[StoredEvent | None] = [None] * count
    try:
        # Regions in a fixed order: two appenders never wait on each other's heads.
        for region in sorted(by_region):
            for item in _chain_region(cursor, statements, region, by_region[region], signer, clock):
                stored[item[0]] = item[1]
    except database_error as exc:
        raise AuditStoreUnavailable(f"audit events not written ({type(exc).__name__})") from exc
    return [event for event in stored if event is not None]


def _chain_region(
    cursor: Any,
    statements: _Statements,
    region: str,
    batch: list[_Prepared],
    signer: CheckpointSigner | None,
    clock: Clock | None,
) -> list[tuple[int, StoredEvent]]:
    head = statements.lock_head.run(cursor, {"region": region})
    if not head:
        statements.create_head.run(cursor, {"region": region, "seq": 0, "hash": chain.GENESIS_HASH})
        head = statements.lock_head.run(cursor, {"region": region})
    first_seq = int(head[0][0])
    previous = bytes(head[0][1])
    seq = first_seq
    event_rows: list[dict[str, object]] = []
    resource_rows: list[dict[str, object]] = []
    out: list[tuple[int, StoredEvent]] = []
    for item in batch:
        seq += 1
        digest = chain.link(previous, item.record)
        item.row["seq"] = seq
        item.row["previous_hash"] = previous
        item.row["hash"] = digest
        event_rows.append(item.row)
        for resource in item.resources:
            resource["seq"] = seq
            resource_rows.append(resource)
        out.append(
            (
                item.index,
                StoredEvent(
                    region,
                    seq,
                    item.event.event_id,
                    item.event_time,
                    item.record,
                    previous,
                    digest,
                ),
            )
        )
        previous = digest
    statements.insert_event.run_many(cursor, event_rows)
    statements.insert_resource.run_many(cursor, resource_rows)
    statements.move_head.run(cursor, {"h_region": region, "h_seq": seq, "h_hash": previous})
    if signer is not None:
        now = (clock or SystemClock()).now()
        due = checkpoints.due(first_seq, seq)
        statements.insert_checkpoint.run_many(
            cursor,
            [
                _checkpoint_row(
                    checkpoints.make(signer, region, at, out[at - first_seq - 1][1].hash, now),
                    raw=True,
                )
                for at in due
            ],
        )
    return out


def _checkpoint_row(checkpoint: Checkpoint, *, raw: bool = False) -> dict[str, object]:
    """The checkpoint's row; ``raw``: for a DBAPI cursor (no type processing)."""
    return {
        "region": checkpoint.region,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "created_at": _micros(checkpoint.created_at) if raw else checkpoint.created_at,
        "signature": checkpoint.signature,
    }


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        region=row.region,
        seq=int(row.seq),
        event_id=row.event_id,
        event_time=row.event_time,
        record=bytes(row.record),
        previous_hash=bytes(row.previous_hash),
        hash=bytes(row.hash),
    )


_STORED_COLUMNS = (
    audit_events.c.region,
    audit_events.c.seq,
    audit_events.c.event_id,
    audit_events.c.event_time,
    audit_events.c.record,
    audit_events.c.previous_hash,
    audit_events.c.hash,
)
# The rest of the lookup columns (see index_fields.COLUMNS), in _indexed_event's order.
_LOOKUP_COLUMNS = (
    audit_events.c.event_name,
    audit_events.c.event_source,
    audit_events.c.read_only,
    audit_events.c.username,
    audit_events.c.access_key_id,
    audit_events.c.principal_arn,
    audit_events.c.tenant,
    audit_events.c.error_code,
    audit_events.c.event_type,
)


def _resource_rows(
    connection: Connection, resources: Table, region: str, first: int, last: int
) -> list[Any]:
    """(seq, resource_name, resource_type, event_time) of the region's seqs first..last."""
    return list(
        connection.execute(
            select(
                resources.c.seq,
                resources.c.resource_name,
                resources.c.resource_type,
                resources.c.event_time,
            ).where(
                and_(
                    resources.c.region == region, resources.c.seq >= first, resources.c.seq <= last
                )
            )
        ).all()
    )


def _by_seq(resource_rows: Sequence[Any]) -> dict[int, list[IndexedResource]]:
    by_seq: dict[int, list[IndexedResource]] = {}
    for seq, name, kind, when in resource_rows:
        by_seq.setdefault(int(seq), []).append(IndexedResource(name, kind, when))
    return by_seq


class _Copies:
    """A page's rows in the lookup tables, and how far the lookup head had reached."""

    def __init__(self, head: int, rows: Sequence[Any], resource_rows: Sequence[Any]) -> None:
        self.head = head
        self.rows = {int(row.seq): row for row in rows}
        self.resources = _by_seq(resource_rows)

    def of(self, seq: int) -> LookupCopy | None:
        row = self.rows.get(seq)
        if row is None:
            return LookupCopy(missing=True) if seq <= self.head else None
        return LookupCopy(
            event_time=row.event_time,
            event_name=row.event_name,
            event_source=row.event_source,
            read_only=row.read_only,
            username=row.username,
            access_key_id=row.access_key_id,
            principal_arn=row.principal_arn,
            tenant=row.tenant,
            resources=frozenset(self.resources.get(seq, ())),
            beyond_head=seq > self.head,
        )


def _lookup_copies(connection: Connection, region: str, first: int, last: int) -> _Copies:
    lookup = audit_lookup_events
    head = connection.execute(
        select(audit_lookup_heads.c.seq).where(audit_lookup_heads.c.region == region)
    ).scalar()
    rows = connection.execute(
        select(lookup).where(
            and_(lookup.c.region == region, lookup.c.seq >= first, lookup.c.seq <= last)
        )
    ).all()
    resource_rows = _resource_rows(connection, audit_lookup_resources, region, first, last)
    return _Copies(0 if head is None else int(head), rows, resource_rows)


def _with_index(
    rows: Sequence[Any], resource_rows: Sequence[Any], copies: _Copies
) -> list[StoredEvent]:
    """A page's events with their index: its event rows and the resource rows of its
    seqs, and their copies in the lookup tables."""
    by_seq = _by_seq(resource_rows)
    return [
        _indexed_event(row, by_seq.get(int(row[1]), []), copies.of(int(row[1]))) for row in rows
    ]


def _indexed_event(
    row: Any, resources: list[IndexedResource], lookup_copy: LookupCopy | None
) -> StoredEvent:
    # By position (_STORED_COLUMNS, then _LOOKUP_COLUMNS): a Row's attribute lookups would
    # cost more than the rest of verification.
    (
        region,
        seq,
        event_id,
        event_time,
        record,
        previous_hash,
        digest,
        event_name,
        event_source,
        read_only,
        username,
        access_key_id,
        principal_arn,
        tenant,
        error_code,
        event_type,
    ) = row
    fields = IndexFields(
        region=region,
        event_id=event_id,
        event_time=event_time,
        event_name=event_name,
        event_source=event_source,
        # As stored (not bool()): a 2 would hide the event from ReadOnly lookups.
        read_only=read_only,
        username=username,
        access_key_id=access_key_id,
        principal_arn=principal_arn,
        tenant=tenant,
        error_code=error_code,
        event_type=event_type,
        resources=frozenset(resources),
    )
    return StoredEvent(
        region,
        int(seq),
        event_id,
        event_time,
        bytes(record),
        bytes(previous_hash),
        bytes(digest),
        fields,
        lookup_copy,
    )


class SqlAuditStore:
    """The AuditStore on the data database, plus what verify, retention and export read."""

    def __init__(
        self, engine: Engine, *, signer: CheckpointSigner | None = None, clock: Clock | None = None
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._clock: Clock = clock or SystemClock()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def _lookups(self) -> Engine:
        """Where the lookup tables are read and written (engines.lookup_engine)."""
        return engines.lookup_engine(self._engine)

    @property
    def signer(self) -> CheckpointSigner | None:
        """The deployment signing key, when this process holds it."""
        return self._signer

    # -- writing -------------------------------------------------------------------------

    def append(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """Chain and store ``events`` in one transaction; durable when this returns."""
        if not events:
            return []
        # The records are encoded before the transaction: SQLite's write lock is taken at
        # BEGIN IMMEDIATE, and other writers wait for as long as it is held.
        prepared = _prepare_all(events)
        try:
            if self._engine.dialect.name == "sqlite":
                return self._append_on_sqlite(prepared, len(events))
            with engines.transaction(self._engine, write=True) as connection:
                return _append_prepared(
                    connection, prepared, len(events), self._signer, self._clock
                )
        except SQLAlchemyError as exc:
            raise AuditStoreUnavailable(f"audit events not written ({type(exc).__name__})") from exc

    def _append_on_sqlite(
        self, prepared: dict[str, list[_Prepared]], count: int
    ) -> list[StoredEvent]:
        """The batch's transaction driven on a pooled DBAPI connection, without SQLAlchemy's
        Connection: the writer thread's Python per batch is GIL time the request thread
        waits for (docs/performance.md). Nothing else joins this transaction."""
        dbapi = self._engine.raw_connection()
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    stored = _append_on_cursor(
                        cursor, self._engine.dialect, prepared, count, self._signer, self._clock
                    )
                    cursor.execute("COMMIT")
                except BaseException:
                    dbapi.rollback()  # a no-op if the failed COMMIT already ended it
                    raise
                return stored
            finally:
                cursor.close()
        except self._engine.dialect.loaded_dbapi.Error as exc:
            raise AuditStoreUnavailable(f"audit events not written ({type(exc).__name__})") from exc
        finally:
            dbapi.close()  # back to the pool

    def append_in_transaction(
        self, connection: Connection, events: Sequence[AuditEvent]
    ) -> list[StoredEvent]:
        """``append_in_transaction`` with this store's signer and clock (for checkpoints)."""
        return append_in_transaction(connection, events, signer=self._signer, clock=self._clock)

    def checkpoint(self, region: str) -> Checkpoint | None:
        """Sign the region's current head now (an operator's request); None if it is empty
        or already checkpointed at its head."""
        if self._signer is None:
            raise AuditStoreUnavailable("no signing key: checkpoints cannot be made")
        try:
            with engines.transaction(self._engine, write=True) as connection:
                head = connection.execute(
                    select(audit_chain_heads.c.seq, audit_chain_heads.c.hash)
                    .where(audit_chain_heads.c.region == region)
                    .with_for_update()
                ).first()
                if head is None or head.seq == 0:
                    return None
                exists = connection.execute(
                    select(audit_checkpoints.c.seq).where(
                        and_(
                            audit_checkpoints.c.region == region,
                            audit_checkpoints.c.seq == head.seq,
                        )
                    )
                ).first()
                if exists is not None:
                    return None
                made = checkpoints.make(
                    self._signer, region, int(head.seq), bytes(head.hash), self._clock.now()
                )
                connection.execute(insert(audit_checkpoints).values(_checkpoint_row(made)))
                return made
        except SQLAlchemyError as exc:
            raise AuditStoreUnavailable(f"checkpoint not written ({type(exc).__name__})") from exc

    # -- reading -------------------------------------------------------------------------

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        """The region's events from ``start_seq`` to ``end_seq`` (inclusive), in seq order,
        read in pages so a long chain is never held in memory."""
        next_seq = start_seq
        while True:
            condition = and_(audit_events.c.region == region, audit_events.c.seq >= next_seq)
            if end_seq is not None:
                condition = and_(condition, audit_events.c.seq <= end_seq)
            with engines.transaction(self._lookups, write=False) as connection:
                rows = connection.execute(
                    select(*_STORED_COLUMNS)
                    .where(condition)
                    .order_by(audit_events.c.seq)
                    .limit(_SCAN_PAGE)
                ).all()
            for row in rows:
                yield _stored(row)
            if len(rows) < _SCAN_PAGE:
                return
            next_seq = int(rows[-1].seq) + 1

    def scan_indexed(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        """``scan``, each event with its lookup columns and resource rows as stored
        (``StoredEvent.index``), for verification: per page, the events and then the
        resource rows of their seq range, in one snapshot."""
        resources = audit_event_resources
        next_seq = start_seq
        while True:
            condition = and_(audit_events.c.region == region, audit_events.c.seq >= next_seq)
            if end_seq is not None:
                condition = and_(condition, audit_events.c.seq <= end_seq)
            with engines.transaction(self._lookups, write=False) as connection:
                if connection.dialect.name == "postgresql":
                    # One snapshot for both statements: a prune committing between them
                    # would leave events whose resource rows seem deleted. (SQLite's read
                    # transaction is one snapshot already.)
                    connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                rows = connection.execute(
                    select(*_STORED_COLUMNS, *_LOOKUP_COLUMNS)
                    .where(condition)
                    .order_by(audit_events.c.seq)
                    .limit(_SCAN_PAGE)
                ).all()
                if not rows:
                    return
                first, last = int(rows[0].seq), int(rows[-1].seq)
                resource_rows = _resource_rows(connection, resources, region, first, last)
                copies = _lookup_copies(connection, region, first, last)
            yield from _with_index(rows, resource_rows, copies)
            if len(rows) < _SCAN_PAGE:
                return
            next_seq = int(rows[-1].seq) + 1

    def regions(self) -> list[str]:
        with engines.transaction(self._engine, write=False) as connection:
            rows = connection.execute(
                select(audit_chain_heads.c.region).order_by(audit_chain_heads.c.region)
            )
            return [row.region for row in rows]

    def head(self, region: str) -> tuple[int, bytes] | None:
        """The region's (seq, hash) as the chain head row records it."""
        with engines.transaction(self._engine, write=False) as connection:
            row = connection.execute(
                select(audit_chain_heads.c.seq, audit_chain_heads.c.hash).where(
                    audit_chain_heads.c.region == region
                )
            ).first()
        return None if row is None else (int(row.seq), bytes(row.hash))

    def anchor(self, region: str) -> PrunedAnchor | None:
        with engines.transaction(self._engine, write=False) as connection:
            row = connection.execute(
                select(audit_pruned).where(audit_pruned.c.region == region)
            ).first()
        if row is None:
            return None
        return PrunedAnchor(row.region, int(row.seq), bytes(row.hash), row.pruned_at)

    def checkpoints(
        self, region: str, start_seq: int = 0, end_seq: int | None = None
    ) -> list[Checkpoint]:
        condition = and_(audit_checkpoints.c.region == region, audit_checkpoints.c.seq >= start_seq)
        if end_seq is not None:
            condition = and_(condition, audit_checkpoints.c.seq <= end_seq)
        with engines.transaction(self._engine, write=False) as connection:
            rows = connection.execute(
                select(audit_checkpoints).where(condition).order_by(audit_checkpoints.c.seq)
            ).all()
        return [
            Checkpoint(r.region, int(r.seq), bytes(r.hash), r.created_at, bytes(r.signature))
            for r in rows
        ]

    def tenant_events(
        self, tenant: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]:
        """One tenant's events (all regions) in [start, end), by region then seq: found in
        the lookup tables up to each region's lookup head, in the trail after it."""
        lookup = audit_lookup_events
        copied_found = and_(lookup.c.tenant == tenant)
        if start is not None:
            copied_found = and_(copied_found, lookup.c.event_time >= start)
        if end is not None:
            copied_found = and_(copied_found, lookup.c.event_time < end)
        with engines.transaction(self._lookups, write=False) as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            rows = list(
                connection.execute(
                    select(*_STORED_COLUMNS)
                    .select_from(
                        lookup.join(
                            audit_events,
                            and_(
                                audit_events.c.region == lookup.c.region,
                                audit_events.c.seq == lookup.c.seq,
                            ),
                        )
                    )
                    .where(copied_found)
                ).all()
            )
            heads = {
                row.region: int(row.seq)
                for row in connection.execute(
                    select(audit_lookup_heads.c.region, audit_lookup_heads.c.seq)
                )
            }
            for (region,) in connection.execute(select(audit_chain_heads.c.region)).all():
                # The region's uncopied tail, by primary key; the tenant is checked per row.
                tail_found = and_(
                    audit_events.c.region == region,
                    audit_events.c.seq > heads.get(region, 0),
                    audit_events.c.tenant.concat("") == tenant,
                )
                if start is not None:
                    tail_found = and_(tail_found, audit_events.c.event_time >= start)
                if end is not None:
                    tail_found = and_(tail_found, audit_events.c.event_time < end)
                rows.extend(connection.execute(select(*_STORED_COLUMNS).where(tail_found)).all())
        rows.sort(key=lambda row: (row.region, row.seq))
        return [_stored(row) for row in rows]

    # -- retention -----------------------------------------------------------------------

    def first_seq(self, region: str) -> int | None:
        """The oldest seq still stored for the region (None: no events)."""
        with engines.transaction(self._engine, write=False) as connection:
            value = connection.execute(
                select(func.min(audit_events.c.seq)).where(audit_events.c.region == region)
            ).scalar()
        return None if value is None else int(value)

    def last_seq_before(self, region: str, cutoff: datetime) -> int:
        """The end of the region's prefix of events older than ``cutoff`` (0 if none):
        only a prefix is ever pruned, so the chain stays one piece."""
        with engines.transaction(self._engine, write=False) as connection:
            head = connection.execute(
                select(audit_chain_heads.c.seq).where(audit_chain_heads.c.region == region)
            ).scalar()
            if head is None:
                return 0
            first_kept = connection.execute(
                select(func.min(audit_events.c.seq)).where(
                    and_(audit_events.c.region == region, audit_events.c.event_time >= cutoff)
                )
            ).scalar()
        return int(head) if first_kept is None else int(first_kept) - 1

    def prune(self, region: str, through_seq: int, pruned_at: datetime) -> int:
        """Delete the region's events up to ``through_seq`` and leave the anchor (that
        event's seq and hash) in the same transaction; returns the events deleted."""
        try:
            with engines.transaction(self._engine, write=True) as connection:
                last = connection.execute(
                    select(audit_events.c.hash).where(
                        and_(audit_events.c.region == region, audit_events.c.seq == through_seq)
                    )
                ).first()
                if last is None:
                    return 0
                anchor_hash = bytes(last.hash)
                if self._signer is not None:
                    # A signed checkpoint at the anchor, so a forged anchor is detectable.
                    exists = connection.execute(
                        select(audit_checkpoints.c.hash).where(
                            and_(
                                audit_checkpoints.c.region == region,
                                audit_checkpoints.c.seq == through_seq,
                            )
                        )
                    ).first()
                    if exists is None:
                        made = checkpoints.make(
                            self._signer, region, through_seq, anchor_hash, pruned_at
                        )
                        connection.execute(insert(audit_checkpoints).values(_checkpoint_row(made)))
                deleted = connection.execute(
                    delete(audit_events).where(
                        and_(audit_events.c.region == region, audit_events.c.seq <= through_seq)
                    )
                ).rowcount
                connection.execute(
                    delete(audit_event_resources).where(
                        and_(
                            audit_event_resources.c.region == region,
                            audit_event_resources.c.seq <= through_seq,
                        )
                    )
                )
                connection.execute(
                    delete(audit_checkpoints).where(
                        and_(
                            audit_checkpoints.c.region == region,
                            audit_checkpoints.c.seq < through_seq,
                        )
                    )
                )
                connection.execute(delete(audit_pruned).where(audit_pruned.c.region == region))
                connection.execute(
                    insert(audit_pruned).values(
                        region=region, seq=through_seq, hash=anchor_hash, pruned_at=pruned_at
                    )
                )
            # Their lookup copies after the trail's commit (on SQLite another file): a crash
            # in between leaves copies of deleted events, which lookups join to nothing
            # and the next prune deletes.
            with engines.transaction(self._lookups, write=True) as connection:
                for copy in (audit_lookup_events, audit_lookup_resources):
                    connection.execute(
                        delete(copy).where(and_(copy.c.region == region, copy.c.seq <= through_seq))
                    )
            return int(deleted)
        except SQLAlchemyError as exc:
            raise AuditStoreUnavailable(f"audit events not pruned ({type(exc).__name__})") from exc
