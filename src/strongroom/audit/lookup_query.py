"""What a lookup asks of storage: equality filters, a time range, a keyset cursor, a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Events of one region matching every given filter (None: not filtered), newest first.

    Lookups are regional, as CloudTrail's are. ``resource_name`` and ``resource_type``
    match one resource of the event (by ARN, or by the name the caller used); the others
    are columns of the event itself.
    """

    region: str
    event_id: str | None = None
    event_name: str | None = None
    read_only: bool | None = None
    username: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    event_source: str | None = None
    access_key_id: str | None = None
    principal_arn: str | None = None
    tenant: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # inclusive


@dataclass(frozen=True, slots=True)
class EventCursor:
    """The last event of a page: the next page starts strictly after it in the order
    (event_time, region, seq) descending."""

    event_time: datetime
    region: str
    seq: int


@dataclass(frozen=True, slots=True)
class FoundEvent:
    """One stored event as a lookup returns it: its lookup columns and its record bytes."""

    region: str
    seq: int
    event_id: str
    event_time: datetime
    event_name: str
    event_source: str
    read_only: bool
    username: str | None
    access_key_id: str | None
    tenant: str | None
    record: bytes
    resources: tuple[tuple[str, str], ...]  # (resource type, resource name)

    @property
    def cursor(self) -> EventCursor:
        return EventCursor(self.event_time, self.region, self.seq)


@dataclass(frozen=True, slots=True)
class TailBatch:
    events: tuple[FoundEvent, ...]
    positions: Mapping[str, int]  # region → the last seq read (matching or not)


class AuditLookupStore(Protocol):
    def find(
        self, query: EventQuery, after: EventCursor | None, limit: int
    ) -> Sequence[FoundEvent]:
        """At most ``limit`` events matching ``query``, newest first, strictly after
        ``after``; one indexed statement."""
        ...

    def heads(self) -> Mapping[str, int]:
        """The newest seq of each region's chain (regions with no event yet are absent)."""
        ...

    def follow(self, positions: Mapping[str, int], tenant: str | None, window: int) -> TailBatch:
        """Events appended after ``positions`` (region → last seq read; absent: from the
        start), at most ``window`` seqs further per region, in append order, with how far
        each region's chain was read."""
        ...
