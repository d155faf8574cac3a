"""Fills the audit lookup tables behind the trail, thousands of events a transaction.

An append writes only the trail (schema.py says why). This copies the trail's lookup
columns and resource rows into audit_lookup_events and audit_lookup_resources with one
INSERT ... SELECT each, and moves the region's lookup head, in one write transaction: a
lookup reads the lookup tables up to the head and the trail after it, so an event is
found before and after it is copied. Copying is idempotent and resumable: a crash loses
at most an uncommitted copy, which the next one redoes.

Who copies: a thread of the audit appender process, once ``BATCH_EVENTS`` have been
appended since its last copy or when the appender has been idle for a second; and the
server's periodic job, when the lookup heads have not moved since its last run (no
appender, or one that is idle or gone). On SQLite the lookup tables are a file of their
own (``engines.lookup_engine``), so a copy never holds the lock the trail's commits take.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.storage import engines
from strongroom.storage.schema import (
    audit_chain_heads,
    audit_event_resources,
    audit_events,
    audit_lookup_events,
    audit_lookup_heads,
    audit_lookup_resources,
)

log = logging.getLogger(__name__)

# Events copied per region and transaction. Thousands of events from a few hundred
# principals share most of their index pages; a commit of 16 wrote a page per index entry.
BATCH_EVENTS = 4096

_EVENT_COLUMNS = tuple(column.name for column in audit_lookup_events.columns)
_RESOURCE_COLUMNS = tuple(column.name for column in audit_lookup_resources.columns)


class AuditLookupIndexer:
    """Copies the trail into the lookup tables, up to ``batch`` events per region at a time."""

    def __init__(self, engine: Engine, *, batch: int = BATCH_EVENTS) -> None:
        self._engine = engines.lookup_engine(engine)
        self._batch = batch
        self._seen: dict[str, int] | None = None

    def pending(self) -> int:
        """How many events the trail holds that the lookup tables do not yet."""
        with engines.transaction(self._engine, write=False) as connection:
            chains, copied = _heads(connection)
        return sum(max(0, head - copied.get(region, 0)) for region, head in chains.items())

    def copy_once(self) -> int:
        """One transaction: up to ``batch`` uncopied events of each region; how many."""
        try:
            with engines.transaction(self._engine, write=True) as connection:
                return _copy(connection, self._batch)
        except IntegrityError:
            # Another process copied the same events first (PostgreSQL, where two copies
            # can run at once): they are in the lookup tables either way. If it recurs,
            # rows were written there behind Strongroom's back, and verify names them.
            log.warning("audit lookup copy found its rows already there; retried later")
            return 0

    def catch_up(self) -> int:
        """Copy until nothing is left (what had been appended when it was called, at least)."""
        total = 0
        while copied := self.copy_once():
            total += copied
        return total

    def discard_if_stale(self) -> bool:
        """Empty the lookup tables when they index another trail than this one (a data
        file restored from an older backup beside a newer lookup file, say): a region
        copied beyond its chain's head, or whose last copied event is not the trail's
        event of that seq. Lookups would otherwise filter by another event's columns. The
        copies then refill the tables from the trail; True if they were emptied."""
        with engines.transaction(self._engine, write=True) as connection:
            if not _stale(connection):
                return False
            for table in (audit_lookup_resources, audit_lookup_events, audit_lookup_heads):
                connection.execute(delete(table))
        log.warning("audit lookup tables did not match the trail: emptied, refilled by copies")
        return True

    def catch_up_if_stalled(self) -> int:
        """The periodic job: catch up when something is left to copy and the lookup heads
        have not moved since the last call (nobody else is copying); else nothing."""
        with engines.transaction(self._engine, write=False) as connection:
            chains, copied = _heads(connection)
        stalled = self._seen == copied
        self._seen = copied
        if not stalled or all(head <= copied.get(region, 0) for region, head in chains.items()):
            return 0
        return self.catch_up()


def _heads(connection: Connection) -> tuple[dict[str, int], dict[str, int]]:
    chains = {
        row.region: int(row.seq)
        for row in connection.execute(select(audit_chain_heads.c.region, audit_chain_heads.c.seq))
    }
    copied = {
        row.region: int(row.seq)
        for row in connection.execute(select(audit_lookup_heads.c.region, audit_lookup_heads.c.seq))
    }
    return chains, copied


def _stale(connection: Connection) -> bool:
    chains, copied = _heads(connection)
    for region, seq in copied.items():
        if seq > chains.get(region, 0):
            return True
        columns = (audit_events.c.event_time, audit_events.c.event_name)
        trail = connection.execute(
            select(*columns).where(and_(audit_events.c.region == region, audit_events.c.seq == seq))
        ).first()
        lookup = connection.execute(
            select(audit_lookup_events.c.event_time, audit_lookup_events.c.event_name).where(
                and_(audit_lookup_events.c.region == region, audit_lookup_events.c.seq == seq)
            )
        ).first()
        # Either row may be pruned already (retention deletes the trail's first).
        if trail is not None and lookup is not None and tuple(trail) != tuple(lookup):
            return True
    return False


def _copy(connection: Connection, batch: int) -> int:
    chains, copied = _heads(connection)
    total = 0
    for region, head in sorted(chains.items()):
        start = copied.get(region)
        after = 0 if start is None else start
        if head <= after:
            continue
        through = min(head, after + batch)
        _copy_range(connection, region, after, through)
        _move_head(connection, region, through, exists=start is not None)
        total += through - after
    return total


def _copy_range(connection: Connection, region: str, after: int, through: int) -> None:
    """The lookup rows of the region's events in (after, through]: a seq retention has
    deleted is simply not there to copy."""
    events, resources = audit_events, audit_event_resources
    connection.execute(
        insert(audit_lookup_events).from_select(
            _EVENT_COLUMNS,
            select(*(events.c[name] for name in _EVENT_COLUMNS)).where(
                and_(events.c.region == region, events.c.seq > after, events.c.seq <= through)
            ),
        )
    )
    connection.execute(
        insert(audit_lookup_resources).from_select(
            _RESOURCE_COLUMNS,
            select(*(resources.c[name] for name in _RESOURCE_COLUMNS)).where(
                and_(
                    resources.c.region == region,
                    resources.c.seq > after,
                    resources.c.seq <= through,
                )
            ),
        )
    )


def _move_head(connection: Connection, region: str, seq: int, *, exists: bool) -> None:
    heads = audit_lookup_heads
    if exists:
        connection.execute(update(heads).where(heads.c.region == region).values(seq=seq))
    else:
        connection.execute(insert(heads).values(region=region, seq=seq))
