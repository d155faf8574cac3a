"""Lookups over the audit tables: one indexed statement per page, keyset-paginated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    FromClause,
    Select,
    and_,
    func,
    or_,
    select,
)

from strongroom.audit.lookup_query import EventCursor, EventQuery, FoundEvent, TailBatch
from strongroom.storage import engines
from strongroom.storage.schema import audit_chain_heads, audit_event_resources, audit_events

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
# statistics SQLite cannot tell ``region`` from ``event_name``). Each column has an index.
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


def _column(name: str) -> ColumnElement[Any]:
    return _R.c[name] if name in _RESOURCE_FILTERS else _E.c[name]


def _equals(name: str, value: object, *, driving: bool) -> ColumnElement[bool]:
    if name == "read_only":
        flag = int(bool(value))
        return _E.c.read_only == flag if driving else (_E.c.read_only + 0) == flag
    column = _column(name)
    return column == value if driving else column.concat("") == value


def page_statement(query: EventQuery, after: EventCursor | None, limit: int) -> Select[Any]:
    """The statement for one page: the events matching ``query`` strictly after ``after``
    (newest first, ties broken by region and seq), each joined with all its resources.

    The driving filter's (column, event_time) index is read newest first, every other
    filter is checked on the rows it yields, and reading stops after ``limit`` events.
    """
    given = [(name, getattr(query, name)) for name in _DRIVERS if getattr(query, name) is not None]
    driver = given[0][0]  # region is always given
    by_resource = any(name in _RESOURCE_FILTERS for name, _ in given)
    source: FromClause
    if driver in _RESOURCE_FILTERS:
        time, region, seq = _R.c.event_time, _R.c.region, _R.c.seq
    else:
        time, region, seq = _E.c.event_time, _E.c.region, _E.c.seq
    if by_resource:
        source = _R.join(_E, and_(_E.c.region == _R.c.region, _E.c.seq == _R.c.seq))
    else:
        source = _E
    conditions = [_equals(name, value, driving=name == driver) for name, value in given]
    if query.resource_type is not None and query.resource_name is None:
        # An event can list several names of one type (an ARN and the name the caller
        # used): keep one row per event, its first name of that type, found by primary key.
        first = _R.alias("first_name")
        conditions.append(
            _R.c.resource_name
            == select(func.min(first.c.resource_name))
            .where(
                first.c.region == _R.c.region,
                first.c.seq == _R.c.seq,
                first.c.resource_type == _R.c.resource_type,
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
        self._engine = engine

    def find(self, query: EventQuery, after: EventCursor | None, limit: int) -> list[FoundEvent]:
        with engines.transaction(self._engine, write=False) as connection:
            rows = connection.execute(page_statement(query, after, limit)).all()
        return _found(rows)

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
