"""Lookups over the audit tables: one indexed statement per page, keyset-paginated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    FromClause,
    Select,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
)

from strongroom.audit.lookup_query import EventCursor, EventQuery, FoundEvent, TailBatch
from strongroom.storage import engines
from strongroom.storage.schema import (
    UtcTimestamp,
    audit_chain_heads,
    audit_event_resources,
    audit_events,
    audit_lookup_events,
    audit_lookup_heads,
    audit_lookup_resources,
)

_E = audit_events
_R = audit_event_resources
_EVENT_COLUMNS = (
    _E.c.region,
    _E.c.seq,
    _E.c.event_id,
    _E.c.event_time,
    _E.c.event_name,
    _E.c.event_source,
    _E.c.read_only,
    _E.c.username,
    _E.c.access_key_id,
    _E.c.tenant,
    _E.c.record,
)
# Equality filters in the order they are preferred to drive the query: the first one
# present is compared plainly, so its (column, event_time) index is read newest first; the
# others are compared through a no-op expression (``x || ''``, ``x + 0``), which no index
# serves, so the planner never trades the selective index for a broad one (without
# statistics SQLite cannot tell ``region`` from ``event_name``). Each column has an index
# on the lookup tables; event_id has the trail's unique index, and is looked up there.
_DRIVERS = (
    "event_id",
    "resource_name",
    "access_key_id",
    "principal_arn",
    "username",
    "tenant",
    "event_name",
    "resource_type",
    "event_source",
    "read_only",
    "region",
)
_RESOURCE_FILTERS = frozenset({"resource_name", "resource_type"})


@dataclass(frozen=True, slots=True)
class _Tables:
    """Where a statement compares the filters: the lookup tables (indexed, filled up to
    the region's lookup head) or the trail's own (the events after it, by primary key)."""

    events: Table
    resources: Table


_LOOKUP = _Tables(audit_lookup_events, audit_lookup_resources)
_TRAIL = _Tables(_E, _R)


def _column(tables: _Tables, name: str) -> ColumnElement[Any]:
    return tables.resources.c[name] if name in _RESOURCE_FILTERS else tables.events.c[name]


def _equals(tables: _Tables, name: str, value: object, *, driving: bool) -> ColumnElement[bool]:
    if name == "read_only":
        flag = int(bool(value))
        read_only = tables.events.c.read_only
        return read_only == flag if driving else (read_only + 0) == flag
    column = _column(tables, name)
    return column == value if driving else column.concat("") == value


def page_statement(
    query: EventQuery, after: EventCursor | None, limit: int, *, through_seq: int | None = None
) -> Select[Any]:
    """The statement for one page of the lookup tables: the events matching ``query``
    strictly after ``after`` (newest first, ties broken by region and seq) and, when
    given, at or before ``through_seq``, each joined with all its resources.

    The driving filter's (column, event_time) index is read newest first, every other
    filter is checked on the rows it yields, and reading stops after ``limit`` events. A
    query by event id reads the trail's unique index instead.
    """
    if query.event_id is not None:
        return _statement(query, after, limit, _TRAIL, driver="event_id")
    driver = next(name for name in _DRIVERS if getattr(query, name) is not None)
    return _statement(query, after, limit, _LOOKUP, driver=driver, through_seq=through_seq)


def tail_statement(
    query: EventQuery, after: EventCursor | None, limit: int, *, after_seq: int
) -> Select[Any]:
    """``page_statement`` over the trail's events after ``after_seq`` (those the lookup
    tables do not hold yet): read by primary key, every filter checked on the rows."""
    return _statement(query, after, limit, _TRAIL, driver="region", after_seq=after_seq)


def _statement(
    query: EventQuery,
    after: EventCursor | None,
    limit: int,
    tables: _Tables,
    *,
    driver: str,
    through_seq: int | None = None,
    after_seq: int | None = None,
) -> Select[Any]:
    given = [(name, getattr(query, name)) for name in _DRIVERS if getattr(query, name) is not None]
    by_resource = any(name in _RESOURCE_FILTERS for name, _ in given)
    events, resources = tables.events, tables.resources
    time: ColumnElement[Any]
    if driver in _RESOURCE_FILTERS:
        time, region, seq = resources.c.event_time, resources.c.region, resources.c.seq
    else:
        time, region, seq = events.c.event_time, events.c.region, events.c.seq
    if after_seq is not None:
        # The tail is read by primary key from the lookup head on: with its time bounds
        # and order on a no-op expression, the trail's (region, event_time) index is no
        # use, and SQLite never reads back through the copied events on it.
        time = time.op("+", return_type=UtcTimestamp())(literal_column("0"))
    source: FromClause = events
    if by_resource:
        source = resources.join(
            events, and_(events.c.region == resources.c.region, events.c.seq == resources.c.seq)
        )
    if events is not _E:
        # The lookup row found the event; the trail's row (by primary key) has its record.
        # Compared through no-op expressions: SQLite would carry the lookup row's bounds
        # over to a plain ``column = column`` and read the trail's key range instead.
        source = source.join(
            _E,
            and_(_E.c.region == events.c.region.concat(""), _E.c.seq == events.c.seq + 0),
        )
    conditions = [_equals(tables, name, value, driving=name == driver) for name, value in given]
    if through_seq is not None:
        conditions.append(events.c.seq <= through_seq)
    if after_seq is not None:
        conditions.append(events.c.seq > after_seq)
    if query.resource_type is not None and query.resource_name is None:
        # An event can list several names of one type (an ARN and the name the caller
        # used): keep one row per event, its first name of that type, found by primary key.
        first = resources.alias("first_name")
        conditions.append(
            resources.c.resource_name
            == select(func.min(first.c.resource_name))
            .where(
                first.c.region == resources.c.region,
                first.c.seq == resources.c.seq,
                first.c.resource_type == resources.c.resource_type,
            )
            .scalar_subquery()
        )
    if query.start is not None:
        conditions.append(time >= query.start)
    if query.end is not None:
        conditions.append(time <= query.end)
    if after is not None:
        # The redundant ``time <= t`` lets the index range stop at the cursor; the rest is
        # the strict "after" in (time, region, seq) order.
        conditions.append(time <= after.event_time)
        conditions.append(
            or_(
                time < after.event_time,
                and_(
                    time == after.event_time,
                    or_(region < after.region, and_(region == after.region, seq < after.seq)),
                ),
            )
        )
    page = (
        select(*_EVENT_COLUMNS)
        .select_from(source)
        .where(*conditions)
        .order_by(time.desc(), region.desc(), seq.desc())
        .limit(limit)
        .subquery("page")
    )
    return (
        select(page, _R.c.resource_type, _R.c.resource_name)
        .select_from(page.outerjoin(_R, and_(_R.c.region == page.c.region, _R.c.seq == page.c.seq)))
        .order_by(
            page.c.event_time.desc(), page.c.region.desc(), page.c.seq.desc(), _R.c.resource_name
        )
    )


def _found(rows: Sequence[Any]) -> list[FoundEvent]:
    """Rows of (event columns..., resource_type, resource_name), one per resource, grouped
    back into events in the order they came."""
    events: list[FoundEvent] = []
    current: Any = None
    resources: list[tuple[str, str]] = []

    def flush() -> None:
        if current is not None:
            events.append(
                FoundEvent(
                    region=current.region,
                    seq=current.seq,
                    event_id=current.event_id,
                    event_time=current.event_time,
                    event_name=current.event_name,
                    event_source=current.event_source,
                    read_only=bool(current.read_only),
                    username=current.username,
                    access_key_id=current.access_key_id,
                    tenant=current.tenant,
                    record=bytes(current.record),
                    resources=tuple(resources),
                )
            )

    for row in rows:
        if current is None or (row.region, row.seq) != (current.region, current.seq):
            flush()
            current, resources = row, []
        if row.resource_name is not None:
            resources.append((row.resource_type, row.resource_name))
    flush()
    return events


class SqlAuditLookup:
    """The AuditLookupStore on the data database (read transactions only)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engines.lookup_engine(engine)

    def find(self, query: EventQuery, after: EventCursor | None, limit: int) -> list[FoundEvent]:
        """The lookup tables up to the region's lookup head and the trail after it, read
        in one transaction, merged. An event moving into the lookup tables is seen once:
        on PostgreSQL the transaction is one snapshot; on SQLite each file's snapshot is
        taken when the transaction first reads it, and a copy only ever holds events the
        trail had committed, so whichever file is read first, the lookup rows up to the
        head (joined with the trail's rows) and the trail after it neither overlap nor
        leave a gap."""
        with engines.transaction(self._engine, write=False) as connection:
            if query.event_id is not None:
                return _found(connection.execute(page_statement(query, after, limit)).all())
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            indexed = connection.execute(
                select(audit_lookup_heads.c.seq).where(audit_lookup_heads.c.region == query.region)
            ).scalar()
            through = 0 if indexed is None else int(indexed)
            found = _found(
                connection.execute(page_statement(query, after, limit, through_seq=through)).all()
            )
            tail = _found(
                connection.execute(tail_statement(query, after, limit, after_seq=through)).all()
            )
        if not tail:
            return found
        found.extend(tail)
        found.sort(key=lambda event: (event.event_time, event.region, event.seq), reverse=True)
        return found[:limit]

    def heads(self) -> dict[str, int]:
        with engines.transaction(self._engine, write=False) as connection:
            rows = connection.execute(select(audit_chain_heads.c.region, audit_chain_heads.c.seq))
            return {row.region: int(row.seq) for row in rows}

    def follow(self, positions: Mapping[str, int], tenant: str | None, window: int) -> TailBatch:
        """Events appended after ``positions`` (region → last seq read), at most ``window``
        seqs further per region, in append order; and how far each chain was read. One read
        transaction, so every seq up to a head it sees is committed and is read."""
        events: list[FoundEvent] = []
        reached: dict[str, int] = dict(positions)
        with engines.transaction(self._engine, write=False) as connection:
            heads = connection.execute(
                select(audit_chain_heads.c.region, audit_chain_heads.c.seq)
            ).all()
            for head in sorted(heads, key=lambda h: h.region):
                start = reached.get(head.region, 0)
                stop = min(int(head.seq), start + window)
                if stop <= start:
                    continue
                rows = connection.execute(_follow_statement(head.region, start, stop, tenant))
                events.extend(_found(rows.all()))
                reached[head.region] = stop
        return TailBatch(events=tuple(events), positions=reached)


def _follow_statement(region: str, after_seq: int, up_to: int, tenant: str | None) -> Select[Any]:
    conditions = [_E.c.region == region, _E.c.seq > after_seq, _E.c.seq <= up_to]
    if tenant is not None:
        conditions.append(_E.c.tenant == tenant)
    page = select(*_EVENT_COLUMNS).where(*conditions).subquery("page")
    return (
        select(page, _R.c.resource_type, _R.c.resource_name)
        .select_from(page.outerjoin(_R, and_(_R.c.region == page.c.region, _R.c.seq == page.c.seq)))
        .order_by(page.c.seq, _R.c.resource_name)
    )
