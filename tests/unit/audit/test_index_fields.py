"""The lookup columns and resource rows a record determines, and verify catching any that
were edited apart from their record."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, String

from strongroom.audit import chain, index_fields
from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.index_fields import IndexedResource, IndexFields, of_record
from strongroom.audit.ports import StoredEvent
from strongroom.audit.verify import verify_events
from strongroom.storage.schema import audit_event_resources, audit_events

REGION = "eu-west-1"
T0 = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/db-AbCdEf"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ASSUMED = UserIdentity(
    type="AssumedRole",
    principal_id="AROAEXAMPLE:job-7",
    arn="arn:aws:sts::123456789012:assumed-role/app/job-7",
    account_id="123456789012",
    access_key_id="ASIAEXAMPLE0000001",
    session_issuer_arn="arn:aws:iam::123456789012:role/app",
    session_issuer_name="app",
    session_created=T0,
)


def event(n: int = 0, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=n + 1)),
        "event_time": T0 + timedelta(seconds=n),
        "event_source": "secretsmanager.amazonaws.com",
        "event_name": "GetSecretValue",
        "aws_region": REGION,
        "source_ip": "192.0.2.10",
        "user_agent": "test",
        "request_id": str(uuid.uuid4()),
        "read_only": True,
        "user_identity": ASSUMED,
        "resources": (AuditResource(SECRET, "AWS::SecretsManager::Secret", "acme", "acme/db"),),
        "tenant": "acme",
        "recipient_account_id": "123456789012",
    }
    values.update(fields)
    return AuditEvent(**values)


def parsed(audit_event: AuditEvent) -> IndexFields:
    """What verify derives: from the stored bytes, not from the event."""
    return of_record(json.loads(audit_event.canonical_bytes()))


# -- the derivation ----------------------------------------------------------------------


def test_every_column_comes_from_the_record() -> None:
    fields = parsed(event())
    assert fields == IndexFields(
        region=REGION,
        event_id=str(uuid.UUID(int=1)),
        event_time=T0,
        event_name="GetSecretValue",
        event_source="secretsmanager.amazonaws.com",
        read_only=1,
        username="job-7",  # an assumed role: its session name
        access_key_id="ASIAEXAMPLE0000001",
        principal_arn="arn:aws:sts::123456789012:assumed-role/app/job-7",
        tenant="acme",
        error_code=None,
        event_type="AwsApiCall",
        resources=frozenset(
            {
                IndexedResource(SECRET, "AWS::SecretsManager::Secret", T0),
                IndexedResource("acme/db", "AWS::SecretsManager::Secret", T0),
            }
        ),
    )


def test_the_record_carries_the_name_the_caller_used() -> None:
    record = event().to_cloudtrail()
    # The resources stay CloudTrail's; the names the caller used sit beside them.
    assert record["resources"] == [
        {"accountId": "123456789012", "type": "AWS::SecretsManager::Secret", "ARN": SECRET}
    ]
    assert record["resourceNames"] == {SECRET: "acme/db"}
    # Without one there is no such field, and only the ARN finds the event.
    unnamed = event(resources=(AuditResource(KEY, "AWS::KMS::Key"),))
    assert "resourceNames" not in unnamed.to_cloudtrail()
    assert parsed(unnamed).resources == {IndexedResource(KEY, "AWS::KMS::Key", T0)}


@pytest.mark.parametrize(
    ("identity", "username"),
    [
        (UserIdentity(type="IAMUser", arn="arn:aws:iam::1:user/alice", user_name="alice"), "alice"),
        (ASSUMED, "job-7"),
        (UserIdentity(type="Root", arn="arn:aws:iam::123456789012:root"), "root"),
        (UserIdentity(type="Unknown"), None),
        (UserIdentity(type="AssumedRole"), None),  # no ARN to take a session name from
    ],
)
def test_username_is_what_cloudtrails_username_attribute_matches(
    identity: UserIdentity, username: str | None
) -> None:
    fields = parsed(event(user_identity=identity))
    assert fields.username == username
    assert fields.principal_arn == identity.arn
    assert fields.access_key_id == identity.access_key_id


def test_the_time_is_the_records_whole_second() -> None:
    precise = T0 + timedelta(microseconds=987_654)
    fields = parsed(event(event_time=precise))
    assert fields.event_time == T0
    assert {r.event_time for r in fields.resources} == {T0}
    assert index_fields.event_time("2026-03-01T09:30:15Z") == T0


def test_a_failed_write_and_an_alarm() -> None:
    failed = parsed(event(read_only=False, error_code="AccessDeniedException", error_message="no"))
    assert (failed.read_only, failed.error_code) == (0, "AccessDeniedException")
    alarm = parsed(event(event_type="StrongroomAlarm", tenant=None, resources=()))
    assert (alarm.event_type, alarm.tenant) == ("StrongroomAlarm", None)
    assert alarm.resources == frozenset()


def test_long_values_are_clipped_to_the_columns() -> None:
    long_arn = "arn:aws:secretsmanager:eu-west-1:1:secret:" + "x" * 3000
    fields = parsed(
        event(
            event_name="N" * 300,
            tenant="t" * 100,
            error_code="E" * 200,
            user_identity=UserIdentity(type="IAMUser", user_name="u" * 400, access_key_id="A" * 40),
            resources=(AuditResource(long_arn, "AWS::" + "T" * 100, name="n" * 3000),),
        )
    )
    assert fields.event_name == "N" * 128
    assert fields.tenant == "t" * 64
    assert fields.error_code == "E" * 128
    assert fields.username == "u" * 256
    assert fields.access_key_id == "A" * 32
    assert {(len(r.name), len(r.type)) for r in fields.resources} == {(2048, 64)}


def test_resource_names_are_unique_per_event() -> None:
    fields = parsed(
        event(
            resources=(
                AuditResource(SECRET, "AWS::SecretsManager::Secret", name="acme/db"),
                AuditResource(KEY, "AWS::KMS::Key", name="alias/acme"),
                AuditResource(SECRET, "AWS::SecretsManager::Secret", name=SECRET),
            )
        )
    )
    assert sorted(r.name for r in fields.resources) == sorted(
        [SECRET, "acme/db", KEY, "alias/acme"]
    )


@pytest.mark.parametrize(
    "audit_event",
    [
        event(),
        event(1, tenant="tenant-ü", user_identity=UserIdentity(type="IAMUser", user_name="ç😀")),
        event(2, error_code="ValidationException", error_message="bad", read_only=False),
        event(3, resources=()),
        event(4, event_time=T0 + timedelta(microseconds=5)),
    ],
)
def test_the_append_paths_input_and_the_stored_bytes_give_the_same_fields(
    audit_event: AuditEvent,
) -> None:
    # The store derives from the dict it encodes, verify from the bytes it reads back.
    assert of_record(audit_event.to_cloudtrail()) == parsed(audit_event)


def width(column: Column[Any]) -> int | None:
    assert isinstance(column.type, String)
    return column.type.length


def test_the_widths_are_the_schemas() -> None:
    lengths = {
        "event_name": index_fields.EVENT_NAME_LENGTH,
        "event_source": index_fields.EVENT_SOURCE_LENGTH,
        "username": index_fields.USERNAME_LENGTH,
        "access_key_id": index_fields.ACCESS_KEY_ID_LENGTH,
        "principal_arn": index_fields.PRINCIPAL_ARN_LENGTH,
        "tenant": index_fields.TENANT_LENGTH,
        "error_code": index_fields.ERROR_CODE_LENGTH,
        "event_type": index_fields.EVENT_TYPE_LENGTH,
    }
    assert {name: width(audit_events.c[name]) for name in lengths} == lengths
    assert width(audit_event_resources.c.resource_name) == index_fields.RESOURCE_NAME_LENGTH
    assert width(audit_event_resources.c.resource_type) == index_fields.RESOURCE_TYPE_LENGTH
    named = {c.name for c in audit_events.c} - {"seq", "record", "previous_hash", "hash"}
    assert named == set(index_fields.COLUMNS)


def test_differences_name_the_columns() -> None:
    derived = parsed(event())
    assert index_fields.differences(derived, derived) == []
    stored = replace(derived, username="alice", read_only=2)
    assert index_fields.differences(stored, derived) == ["read_only", "username"]
    fewer = replace(derived, resources=frozenset(r for r in derived.resources if r.name != SECRET))
    assert index_fields.differences(fewer, derived) == [index_fields.RESOURCES]
    assert index_fields.resource_differences(fewer, derived) == f"1 missing (first {SECRET!r})"
    moved = frozenset(r._replace(event_time=T0 - timedelta(days=1)) for r in derived.resources)
    more = moved | {IndexedResource("decoy", "AWS::KMS::Key", T0)}
    assert index_fields.resource_differences(replace(derived, resources=more), derived) == (
        "1 not in the record (first 'decoy'); 2 with another type or time (first 'acme/db')"
    )


# -- verify ------------------------------------------------------------------------------


def chain_of(events: list[AuditEvent]) -> list[StoredEvent]:
    """The events as the store would read them back for verify: with their index."""
    stored = []
    previous = chain.GENESIS_HASH
    for seq, audit_event in enumerate(events, start=1):
        body = audit_event.canonical_bytes()
        digest = chain.link(previous, body)
        fields = of_record(json.loads(body))
        stored.append(
            StoredEvent(
                REGION,
                seq,
                fields.event_id,
                fields.event_time,
                body,
                previous,
                digest,
                index=fields,
            )
        )
        previous = digest
    return stored


def with_index(stored: StoredEvent, **changes: Any) -> StoredEvent:
    assert stored.index is not None
    return replace(stored, index=replace(stored.index, **changes))


def head_of(events: list[StoredEvent]) -> tuple[int, bytes]:
    return events[-1].seq, events[-1].hash


def test_an_untouched_indexed_chain_verifies() -> None:
    events = chain_of([event(n) for n in range(10)])
    result = verify_events(REGION, events, head=head_of(events))
    assert result.ok, result.message
    assert result.events_checked == 10


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("region", "us-east-1"),
        ("event_id", "00000000-0000-0000-0000-0000000000ff"),
        ("event_time", T0 + timedelta(days=-3)),
        ("event_time", T0 + timedelta(seconds=4, microseconds=1)),
        ("event_name", "ListSecrets"),
        ("event_source", "kms.amazonaws.com"),
        ("read_only", 0),
        ("read_only", 2),
        ("username", "someone-else"),
        ("username", None),
        ("access_key_id", "AKIAOTHER"),
        ("principal_arn", None),
        ("tenant", "globex"),
        ("tenant", None),
        ("error_code", "AccessDeniedException"),
        ("event_type", "StrongroomAlarm"),
    ],
)
def test_an_edited_lookup_column_is_named(column: str, value: object) -> None:
    events = chain_of([event(n) for n in range(10)])
    events[4] = with_index(events[4], **{column: value})
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 5)
    assert result.event_id == str(uuid.UUID(int=5))  # the record's, whatever the column says
    assert f"{column} not what its record says" in result.message
    assert result.events_checked == 5


def test_removed_added_and_changed_resource_rows_are_named() -> None:
    events = chain_of([event(n) for n in range(10)])
    index = events[6].index
    assert index is not None
    arn_only = frozenset(r for r in index.resources if r.name == SECRET)
    for resources, detail in [
        (arn_only, "1 missing (first 'acme/db')"),
        (frozenset(), "2 missing (first 'acme/db')"),
        (index.resources | {IndexedResource("decoy", "X", index.event_time)}, "not in the record"),
        (
            frozenset(r._replace(type="AWS::KMS::Key") for r in index.resources),
            "2 with another type or time",
        ),
        (
            frozenset(r._replace(event_time=T0) for r in index.resources),
            "2 with another type or time",
        ),
    ]:
        tampered = [*events[:6], with_index(events[6], resources=resources), *events[7:]]
        result = verify_events(REGION, tampered, head=head_of(events))
        assert (result.kind, result.first_bad_seq) == ("edited", 7), result.message
        assert "audit_event_resources not what its record says" in result.message
        assert detail in result.message


def test_an_event_without_its_index_is_checked_as_a_chain_only() -> None:
    events = [replace(e, index=None) for e in chain_of([event(n) for n in range(3)])]
    assert verify_events(REGION, events, head=head_of(events)).ok


def test_an_inserted_event_is_inserted_though_its_columns_are_wrong_too() -> None:
    events = chain_of([event(n) for n in range(10)])
    forged_body = event(99, event_name="DeleteSecret").canonical_bytes()
    forged = StoredEvent(
        REGION,
        6,
        "forged",
        T0,
        forged_body,
        events[4].hash,
        chain.link(events[4].hash, forged_body),
        index=replace(of_record(json.loads(forged_body)), username="nobody"),
    )
    shifted = [replace(e, seq=e.seq + 1) for e in events[5:]]
    result = verify_events(REGION, [*events[:5], forged, *shifted], head=head_of(events))
    assert (result.kind, result.first_bad_seq, result.event_id) == ("inserted", 6, "forged")


def test_an_edited_column_before_a_gap_is_the_first_problem() -> None:
    events = chain_of([event(n) for n in range(10)])
    events[3] = with_index(events[3], tenant="globex")
    del events[4]
    result = verify_events(REGION, events, head=(10, chain.GENESIS_HASH))
    assert (result.kind, result.first_bad_seq) == ("edited", 4)
    last_edited = chain_of([event(n) for n in range(10)])
    last_edited[-1] = with_index(last_edited[-1], event_name="Decrypt")
    result = verify_events(REGION, last_edited, head=head_of(last_edited))
    assert (result.kind, result.first_bad_seq) == ("edited", 10)


def test_a_record_that_is_not_cloudtrail_is_an_edit() -> None:
    events = chain_of([event(n) for n in range(3)])
    body = b'{"eventID":"x"}'
    events[2] = replace(events[2], record=body, hash=chain.link(events[2].previous_hash, body))
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.kind, result.first_bad_seq) == ("edited", 3)
    assert "not a CloudTrail record (KeyError)" in result.message
