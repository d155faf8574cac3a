"""Request and result types of CloudTrail LookupEvents, named after the AWS members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LookupAttribute:
    attribute_key: str
    attribute_value: str


@dataclass(frozen=True, slots=True)
class LookupEventsRequest:
    lookup_attributes: tuple[LookupAttribute, ...] | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    event_category: str | None = None
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    resource_type: str
    resource_name: str


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event_name: str
    read_only: str  # "true" / "false": CloudTrail sends a string
    event_time: datetime
    event_source: str
    resources: tuple[Resource, ...]
    cloud_trail_event: str  # the stored record, as a JSON string
    access_key_id: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class LookupEventsResult:
    events: tuple[Event, ...]
    next_token: str | None = None
