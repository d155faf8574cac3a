"""An event sent to the appender process is the event: its record, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.audit.event_wire import MalformedWireEvent, from_wire, to_wire
from strongroom.audit.events import ALARM, AuditEvent, AuditResource, UserIdentity

text = st.text(max_size=40)
optional_text = st.none() | text
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
identities = st.builds(
    UserIdentity,
    type=st.sampled_from(["Root", "IAMUser", "AssumedRole", "Unknown"]),
    principal_id=optional_text,
    arn=optional_text,
    account_id=optional_text,
    access_key_id=optional_text,
    user_name=optional_text,
    session_issuer_arn=optional_text,
    session_issuer_name=optional_text,
    session_created=st.none() | moments,
    session_tags=st.dictionaries(text, text, max_size=3).map(MappingProxyType),
    source_identity=optional_text,
)
resources = st.builds(AuditResource, arn=text, type=text, tenant=optional_text, name=optional_text)
events = st.builds(
    AuditEvent,
    event_id=text,
    event_time=moments,
    event_source=text,
    event_name=text,
    aws_region=text,
    source_ip=text,
    user_agent=text,
    request_id=text,
    read_only=st.booleans(),
    user_identity=identities,
    request_parameters=st.none()
    | st.dictionaries(text, json_values, max_size=4)
    | st.dictionaries(text, json_values, max_size=2).map(MappingProxyType),
    response_elements=st.none() | st.dictionaries(text, json_values, max_size=4),
    error_code=optional_text,
    error_message=optional_text,
    resources=st.lists(resources, max_size=3).map(tuple),
    tenant=optional_text,
    recipient_account_id=text,
    event_type=st.sampled_from(["AwsApiCall", ALARM]),
)


def through_the_pipe(event: AuditEvent) -> AuditEvent:
    # As audit_appender_protocol encodes a submission.
    return from_wire(json.loads(json.dumps(to_wire(event), default=str)))


@given(events)
def test_the_record_built_on_the_other_side_is_the_same_bytes(event: AuditEvent) -> None:
    assert through_the_pipe(event).canonical_bytes() == event.canonical_bytes()


def test_parameters_that_are_not_json_are_recorded_as_the_record_would_show_them() -> None:
    when = datetime(2026, 12, 3, 12, 0, 1, 123456, tzinfo=UTC)
    event = AuditEvent(
        event_id="e",
        event_time=when,
        event_source="kms.amazonaws.com",
        event_name="Decrypt",
        aws_region="us-east-1",
        source_ip="127.0.0.1",
        user_agent="test",
        request_id="r",
        read_only=True,
        user_identity=UserIdentity(type="Root", session_created=when - timedelta(hours=1)),
        request_parameters={"at": when, "sizes": (1, 2), "context": MappingProxyType({"a": "b"})},
    )
    assert through_the_pipe(event).canonical_bytes() == event.canonical_bytes()


@pytest.mark.parametrize(
    "wire",
    [
        None,
        [],
        "event",
        ["too", "short"],
        [None] * 18,
        ["e", "not a time", *([None] * 16)],
        ["e", "2026-12-03T12:00:00+00:00", *(["x"] * 7), ["Root"], *([None] * 8)],
    ],
)
def test_what_is_not_an_event_is_refused(wire: object) -> None:
    with pytest.raises(MalformedWireEvent):
        from_wire(wire)
