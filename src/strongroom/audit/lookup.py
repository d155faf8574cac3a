"""CloudTrail LookupEvents: the audit trail queried through AWS's API, one region at a time."""

from __future__ import annotations

import dataclasses
from typing import Any

from strongroom.audit import lookup_shapes as shapes
from strongroom.audit.lookup_query import AuditLookupStore, EventQuery, FoundEvent
from strongroom.audit.lookup_tokens import PageTokens
from strongroom.authorization import AccessRequest, Authorizer
from strongroom.context import CallContext
from strongroom.errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidTimeRangeException,
)

DEFAULT_MAX_RESULTS = 50
MAX_ATTRIBUTE_VALUE_LENGTH = 2000
# LookupAttributeKey → the EventQuery field it filters.
ATTRIBUTE_FIELDS = {
    "EventId": "event_id",
    "EventName": "event_name",
    "ReadOnly": "read_only",
    "Username": "username",
    "ResourceType": "resource_type",
    "ResourceName": "resource_name",
    "EventSource": "event_source",
    "AccessKeyId": "access_key_id",
}
INSIGHT_CATEGORY = "insight"
# The only keys CloudTrail accepts when looking up Insights events.
_INSIGHT_KEYS = frozenset({"EventId", "EventName", "EventSource"})
_READ_ONLY_VALUES = {"true": True, "false": False}
_DOUBLE_WEIGHT = ("_", " ", ",", "\n")


class LookupEvents:
    """``cloudtrail:LookupEvents``: the caller's region's events, newest first, 50 a page.

    Beyond AWS: a caller bound to a tenant sees only the events of its tenant.
    """

    def __init__(self, store: AuditLookupStore, authorizer: Authorizer, tokens: PageTokens) -> None:
        self._store = store
        self._authorizer = authorizer
        self._tokens = tokens

    def lookup_events(
        self, ctx: CallContext, request: shapes.LookupEventsRequest
    ) -> shapes.LookupEventsResult:
        self._authorizer.authorize(ctx, AccessRequest("cloudtrail:LookupEvents", "*"))
        limit = _max_results(request.max_results)
        query = _query(ctx, request)
        after = None if request.next_token is None else self._tokens.open(request.next_token, query)
        if request.event_category is not None:
            # No Insights events are recorded here: an Insights lookup finds none.
            return shapes.LookupEventsResult(events=())
        found = self._store.find(query, after, limit + 1)
        page = [_event(found_event) for found_event in found[:limit]]
        token = None
        if len(found) > limit:
            token = self._tokens.issue(found[limit - 1].cursor, query)
        return shapes.LookupEventsResult(events=tuple(page), next_token=token)


def _max_results(value: int | None) -> int:
    if value is None:
        return DEFAULT_MAX_RESULTS
    if not 1 <= value <= DEFAULT_MAX_RESULTS:
        raise InvalidMaxResultsException(
            f"MaxResults must be from 1 to {DEFAULT_MAX_RESULTS}; {value} is not."
        )
    return value


def _query(ctx: CallContext, request: shapes.LookupEventsRequest) -> EventQuery:
    """The request's filters as an EventQuery, checked as CloudTrail checks them."""
    category = request.event_category
    if category is not None and category != INSIGHT_CATEGORY:
        raise InvalidEventCategoryException(
            f"EventCategory must be '{INSIGHT_CATEGORY}'; {category[:64]!r} is not a category."
        )
    if (
        request.start_time is not None
        and request.end_time is not None
        and request.start_time > request.end_time
    ):
        raise InvalidTimeRangeException("The start time must not be after the end time.")
    attributes = request.lookup_attributes or ()
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can specify at most one lookup attribute.")
    filters: dict[str, Any] = {}
    for attribute in attributes:
        key, value = attribute.attribute_key, attribute.attribute_value
        field = ATTRIBUTE_FIELDS.get(key)
        if field is None:
            raise InvalidLookupAttributesException(
                f"AttributeKey must be one of {', '.join(ATTRIBUTE_FIELDS)}."
            )
        if category == INSIGHT_CATEGORY and key not in _INSIGHT_KEYS:
            raise InvalidLookupAttributesException(
                f"Insights events can be looked up by {', '.join(sorted(_INSIGHT_KEYS))} only."
            )
        if not value or _weighted_length(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
            raise InvalidLookupAttributesException(
                f"AttributeValue must be 1 to {MAX_ATTRIBUTE_VALUE_LENGTH} characters long "
                "(each '_', ' ', ',' and newline counting as two)."
            )
        if key == "ReadOnly":
            flag = _READ_ONLY_VALUES.get(value.lower())
            if flag is None:
                raise InvalidLookupAttributesException(
                    "The ReadOnly attribute value must be true or false."
                )
            filters[field] = flag
        else:
            filters[field] = value
    query = EventQuery(
        region=ctx.region,
        tenant=ctx.principal.tenant,
        start=request.start_time,
        end=request.end_time,
    )
    return dataclasses.replace(query, **filters)


def _weighted_length(value: str) -> int:
    """The length CloudTrail's 2000-character limit counts: '_', ' ', ',' and '\\n' count
    twice (the model's documentation of AttributeValue says so)."""
    return len(value) + sum(value.count(c) for c in _DOUBLE_WEIGHT)


def _event(found: FoundEvent) -> shapes.Event:
    return shapes.Event(
        event_id=found.event_id,
        event_name=found.event_name,
        read_only="true" if found.read_only else "false",
        event_time=found.event_time,
        event_source=found.event_source,
        resources=tuple(
            shapes.Resource(resource_type=kind, resource_name=name)
            for kind, name in found.resources
        ),
        cloud_trail_event=found.record.decode("utf-8"),
        access_key_id=found.access_key_id,
        username=found.username,
    )
