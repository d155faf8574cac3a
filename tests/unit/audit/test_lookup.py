"""LookupEvents: the query builder (plans and results on SQLite), page tokens, the service's
checks, tenant scoping, and following the trail."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import typing
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from sqlalchemy import Engine

from strongroom.audit import lookup_shapes as shapes
from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.lookup import LookupEvents
from strongroom.audit.lookup_query import EventCursor, EventQuery, FoundEvent
from strongroom.audit.lookup_tokens import MAX_TOKEN_LENGTH, PageTokens
from strongroom.authorization import AccessDecision, AccessRequest
from strongroom.context import ASSUMED_ROLE, IAM_USER, CallContext, Principal
from strongroom.crypto import key_wrapping
from strongroom.crypto.aead import random_key
from strongroom.errors import (
    AccessDeniedException,
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
    ServiceError,
)
from strongroom.ids import AccountId, Partition, Region
from strongroom.server import aws_json
from strongroom.server.dispatch import CLOUDTRAIL_OPERATIONS, cloudtrail_model
from strongroom.storage import engines
from strongroom.storage.audit_lookup_index import BATCH_EVENTS, AuditLookupIndexer
from strongroom.storage.audit_lookup_repository import (
    SqlAuditLookup,
    page_statement,
    tail_statement,
)
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.migrated import sqlite_at_head

ACCOUNT = "111122223333"
REGION = "us-east-1"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET_TYPE = "AWS::SecretsManager::Secret"
KEY_TYPE = "AWS::KMS::Key"


def _secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


ROOT_IDENTITY = UserIdentity(
    type="Root", arn=f"arn:aws:iam::{ACCOUNT}:root", account_id=ACCOUNT, access_key_id="AKIAROOT"
)
ALICE_IDENTITY = UserIdentity(
    type="IAMUser",
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    account_id=ACCOUNT,
    access_key_id="AKIAALICE",
    user_name="alice",
)
SESSION_IDENTITY = UserIdentity(
    type="AssumedRole",
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/app/job-7",
    account_id=ACCOUNT,
    access_key_id="ASIAJOB7",
    session_issuer_arn=f"arn:aws:iam::{ACCOUNT}:role/app",
    session_issuer_name="app",
    session_created=T0,
)


def event(
    seconds: float,
    name: str = "GetSecretValue",
    *,
    region: str = REGION,
    identity: UserIdentity = ROOT_IDENTITY,
    resources: tuple[AuditResource, ...] = (),
    tenant: str | None = None,
    read_only: bool = True,
    source: str = "secretsmanager.amazonaws.com",
) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=T0 + timedelta(seconds=seconds),
        event_source=source,
        event_name=name,
        aws_region=region,
        source_ip="127.0.0.1",
        user_agent="test",
        request_id=str(uuid.uuid4()),
        read_only=read_only,
        user_identity=identity,
        resources=resources,
        tenant=tenant,
        recipient_account_id=ACCOUNT,
    )


def secret(name: str, tenant: str | None = None) -> AuditResource:
    return AuditResource(arn=_secret_arn(name), type=SECRET_TYPE, tenant=tenant, name=name)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    created = engines.create(sqlite_at_head(tmp_path / "data.db", "data"))
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlAuditStore:
    return SqlAuditStore(engine)


class CopyingFirst(SqlAuditLookup):
    """A lookup that first copies up to ``batch`` more events of each region into the
    lookup tables (None: all of them): every page of a pagination then finds some events
    moved from the trail's tail to the lookup tables since the page before."""

    def __init__(self, engine: Engine, batch: int | None) -> None:
        super().__init__(engine)
        self._indexer = AuditLookupIndexer(engine, batch=batch or BATCH_EVENTS)
        self._all = batch is None

    def find(self, query: EventQuery, after: EventCursor | None, limit: int) -> list[FoundEvent]:
        if self._all:
            self._indexer.catch_up()
        else:
            self._indexer.copy_once()
        return super().find(query, after, limit)


@pytest.fixture(params=["trail", "copied", "moving"])
def lookup(engine: Engine, request: pytest.FixtureRequest) -> SqlAuditLookup:
    """Events found in the trail's tail (not copied yet), in the lookup tables, or some in
    each with two more copied before every page."""
    if request.param == "trail":
        return SqlAuditLookup(engine)
    return CopyingFirst(engine, None if request.param == "copied" else 2)


class KeySealer:
    """The Sealer port with a fresh key, as the KeyRing's domain key does it."""

    def __init__(self) -> None:
        self._key = random_key()

    def wrap_secret(self, secret: bytes, label: bytes, identity: bytes) -> bytes:
        return key_wrapping.wrap(self._key, secret, label, identity)

    def unwrap_secret(self, wrapped: bytes, label: bytes, identity: bytes) -> bytes:
        return key_wrapping.unwrap(self._key, wrapped, label, identity)


@dataclass
class Authorizer:
    allow: bool = True
    requests: list[AccessRequest] = field(default_factory=list)

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        self.requests.append(request)
        return AccessDecision(self.allow, "" if self.allow else "no policy allows it")

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        if not self.decide(ctx, request).allowed:
            raise AccessDeniedException(f"not authorized to perform: {request.action}")


def context(*, tenant: str | None = None, region: str = REGION, kind: str = "Root") -> CallContext:
    arn = f"arn:aws:iam::{ACCOUNT}:root" if kind == "Root" else f"arn:aws:iam::{ACCOUNT}:user/u"
    return CallContext(
        principal=Principal(
            arn=arn,
            principal_id="P",
            access_key_id="AKIACALLER",
            kind=kind,
            tenant=tenant,
        ),
        account_id=AccountId(ACCOUNT),
        region=Region(region),
        partition=Partition("aws"),
        request_id="req",
        source_ip="127.0.0.1",
        user_agent="test",
    )


@pytest.fixture
def authorizer() -> Authorizer:
    return Authorizer()


@pytest.fixture
def service(lookup: SqlAuditLookup, authorizer: Authorizer) -> LookupEvents:
    return LookupEvents(lookup, authorizer, PageTokens(KeySealer()))


def by(key: str, value: str, **more: Any) -> shapes.LookupEventsRequest:
    return shapes.LookupEventsRequest(
        lookup_attributes=(shapes.LookupAttribute(key, value),), **more
    )


def names(events: Sequence[FoundEvent] | Sequence[shapes.Event]) -> list[str]:
    return [e.event_name for e in events]


def plan(
    engine: Engine,
    query: EventQuery,
    after: EventCursor | None = None,
    *,
    tail_after: int | None = None,
) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN lines for the page statement (of the lookup tables, or
    of the trail's tail after seq ``tail_after``)."""
    statement = (
        page_statement(query, after, 51, through_seq=100)
        if tail_after is None
        else tail_statement(query, after, 51, after_seq=tail_after)
    )
    compiled = statement.compile(dialect=engine.dialect)
    params = compiled.construct_params()
    with engines.lookup_engine(engine).connect() as connection:
        rows = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + compiled.string,
            tuple(params[name] for name in compiled.positiontup or ()),
        ).all()
    return [str(row[-1]) for row in rows]


# -- the query builder: plans ------------------------------------------------------------

CURSOR = EventCursor(T0, REGION, 10)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (EventQuery(REGION), "ix_audit_lookup_events_region_event_time"),
        (EventQuery(REGION, event_name="Decrypt"), "ix_audit_lookup_events_event_name_event_time"),
        (EventQuery(REGION, username="alice"), "ix_audit_lookup_events_username_event_time"),
        (
            EventQuery(REGION, access_key_id="AKIA1"),
            "ix_audit_lookup_events_access_key_id_event_time",
        ),
        (EventQuery(REGION, event_source="kms"), "ix_audit_lookup_events_event_source_event_time"),
        (EventQuery(REGION, read_only=True), "ix_audit_lookup_events_read_only_event_time"),
        (EventQuery(REGION, tenant="t1"), "ix_audit_lookup_events_tenant_event_time"),
        (
            EventQuery(REGION, principal_arn="arn:x"),
            "ix_audit_lookup_events_principal_arn_event_time",
        ),
        (EventQuery(REGION, event_id="e"), "sqlite_autoindex_audit_events_2"),
        (
            EventQuery(REGION, resource_name="s1"),
            "ix_audit_lookup_resources_resource_name_event_time",
        ),
        (
            EventQuery(REGION, resource_type=SECRET_TYPE),
            "ix_audit_lookup_resources_resource_type_event_time",
        ),
        # A tenant-bound caller's lookups keep the attribute's index...
        (
            EventQuery(REGION, resource_name="s1", tenant="t1"),
            "ix_audit_lookup_resources_resource_name_event_time",
        ),
        (
            EventQuery(REGION, event_id="e", tenant="t1"),
            "sqlite_autoindex_audit_events_2",
        ),
        # ...except the broad ones, where the tenant's own index is the narrower read.
        (
            EventQuery(REGION, event_name="Decrypt", tenant="t1"),
            "ix_audit_lookup_events_tenant_event_time",
        ),
        (
            EventQuery(REGION, read_only=False, tenant="t1"),
            "ix_audit_lookup_events_tenant_event_time",
        ),
    ],
)
@pytest.mark.parametrize("after", [None, CURSOR])
def test_each_lookup_reads_its_index_newest_first_never_a_scan(
    engine: Engine, query: EventQuery, index: str, after: EventCursor | None
) -> None:
    lines = plan(engine, replace(query, start=T0 - timedelta(days=1)), after)
    driving = next(line for line in lines if "audit_" in line and "USING" in line)
    assert f"USING INDEX {index} " in driving
    # The time bound (and the cursor) narrow the range of the driving index itself.
    if index.startswith("ix_"):
        assert "event_time" in driving
    assert not any(line.startswith("SCAN audit_") for line in lines), lines
    if query.event_id is None:
        # The lookup row finds the event; its record is read from the trail by primary key.
        assert any("audit_events USING INDEX sqlite_autoindex_audit_events_1" in x for x in lines)


@pytest.mark.parametrize(
    "query",
    [
        EventQuery(REGION),
        EventQuery(REGION, username="alice", tenant="t1"),
        EventQuery(REGION, resource_name="s1"),
        EventQuery(REGION, resource_type=SECRET_TYPE),
        EventQuery(REGION, read_only=False, event_name="Decrypt"),
    ],
)
@pytest.mark.parametrize("after", [None, CURSOR])
def test_the_uncopied_tail_is_read_by_primary_key_from_the_lookup_head(
    engine: Engine, query: EventQuery, after: EventCursor | None
) -> None:
    """The events not copied yet are read from the trail's primary key, from the lookup
    head on: never a trail index whose range would run back over the copied events."""
    lines = plan(engine, replace(query, start=T0 - timedelta(days=1)), after, tail_after=100)
    driving = next(line for line in lines if "audit_" in line and "USING" in line)
    primary_key = r"(audit_events|audit_event_resources) USING (COVERING )?INDEX "
    primary_key += r"sqlite_autoindex_\1_1 \(region=\? AND seq>\?\)"
    assert re.search(primary_key, driving), lines
    assert not any(line.startswith("SCAN audit_") for line in lines), lines
    assert not any("audit_lookup" in line for line in lines), lines


# -- the query builder: results ----------------------------------------------------------


def test_each_filter_matches_exactly_its_events(
    store: SqlAuditStore, lookup: SqlAuditLookup
) -> None:
    store.append(
        [
            event(1, "GetSecretValue", identity=ALICE_IDENTITY, resources=(secret("db"),)),
            event(2, "Decrypt", source="kms.amazonaws.com", identity=SESSION_IDENTITY),
            event(3, "PutSecretValue", read_only=False, tenant="t1", resources=(secret("api"),)),
            event(4, "ListSecrets", region="eu-west-1"),
        ]
    )

    def found(**filters: Any) -> list[str]:
        return names(lookup.find(EventQuery(REGION, **filters), None, 50))

    assert found() == ["PutSecretValue", "Decrypt", "GetSecretValue"]
    assert found(event_name="Decrypt") == ["Decrypt"]
    assert found(username="alice") == ["GetSecretValue"]
    assert found(username="job-7") == ["Decrypt"]  # an assumed role: its session name
    assert found(username="root") == ["PutSecretValue"]
    assert found(access_key_id="ASIAJOB7") == ["Decrypt"]
    assert found(event_source="kms.amazonaws.com") == ["Decrypt"]
    assert found(read_only=False) == ["PutSecretValue"]
    assert found(read_only=True) == ["Decrypt", "GetSecretValue"]
    assert found(principal_arn=SESSION_IDENTITY.arn) == ["Decrypt"]
    assert found(tenant="t1") == ["PutSecretValue"]
    assert found(resource_name="db") == ["GetSecretValue"]  # the name the caller used
    assert found(resource_name=_secret_arn("api")) == ["PutSecretValue"]  # or the ARN
    assert found(resource_name="nope") == []
    assert found(resource_type=SECRET_TYPE) == ["PutSecretValue", "GetSecretValue"]
    # Bounds are inclusive at both ends.
    assert found(start=T0 + timedelta(seconds=2), end=T0 + timedelta(seconds=3)) == [
        "PutSecretValue",
        "Decrypt",
    ]
    assert found(end=T0 + timedelta(seconds=1)) == ["GetSecretValue"]
    assert names(lookup.find(EventQuery("eu-west-1"), None, 50)) == ["ListSecrets"]
    first = lookup.find(EventQuery(REGION), None, 50)[-1]
    assert found(event_id=first.event_id) == ["GetSecretValue"]


def test_an_event_is_returned_once_with_all_its_resources(
    store: SqlAuditStore, lookup: SqlAuditLookup
) -> None:
    store.append(
        [
            event(
                1,
                "BatchGetSecretValue",
                resources=(secret("a"), secret("b"), AuditResource("arn:key", KEY_TYPE)),
            )
        ]
    )
    for query in (
        EventQuery(REGION, resource_type=SECRET_TYPE),
        EventQuery(REGION, resource_name="a"),
        EventQuery(REGION),
    ):
        (found,) = lookup.find(query, None, 50)
        assert sorted(found.resources) == sorted(
            [
                (SECRET_TYPE, "a"),
                (SECRET_TYPE, _secret_arn("a")),
                (SECRET_TYPE, "b"),
                (SECRET_TYPE, _secret_arn("b")),
                (KEY_TYPE, "arn:key"),
            ]
        )
        assert json.loads(found.record)["eventName"] == "BatchGetSecretValue"


def test_keyset_pages_cover_every_event_once_even_with_equal_times(
    store: SqlAuditStore, lookup: SqlAuditLookup
) -> None:
    # Several events share each instant: the (region, seq) tie-break orders them.
    store.append([event(i // 4, resources=(secret("same"),)) for i in range(37)])
    for query in (EventQuery(REGION), EventQuery(REGION, resource_name="same")):
        seen: list[int] = []
        after = None
        while True:
            page = lookup.find(query, after, 5)
            seen.extend(e.seq for e in page)
            if len(page) < 5:
                break
            after = page[-1].cursor
        assert seen == list(range(37, 0, -1))


def test_follow_reads_new_events_in_append_order_and_moves_past_non_matching(
    store: SqlAuditStore, lookup: SqlAuditLookup
) -> None:
    store.append([event(1), event(2, region="eu-west-1")])
    heads = lookup.heads()
    assert heads == {REGION: 1, "eu-west-1": 1}
    assert lookup.follow(heads, None, 100).events == ()
    store.append([event(3, "A", tenant="t1"), event(4, "B", tenant="t2"), event(5, "C")])
    store.append([event(6, "D", region="eu-west-1", tenant="t1")])
    batch = lookup.follow(heads, None, 100)
    # Region by region (in name order), each in append order.
    assert names(batch.events) == ["D", "A", "B", "C"]
    assert batch.positions == {REGION: 4, "eu-west-1": 2}
    assert names(lookup.follow(heads, "t1", 100).events) == ["D", "A"]
    # The window bounds one read; the positions say where the next one starts.
    first = lookup.follow(heads, "t2", 1)
    assert names(first.events) == []
    assert first.positions == {REGION: 2, "eu-west-1": 2}
    second = lookup.follow(first.positions, "t2", 1)
    assert names(second.events) == ["B"]
    assert lookup.follow({}, None, 100).positions == {REGION: 4, "eu-west-1": 2}


# -- page tokens ---------------------------------------------------------------------------


def test_a_token_round_trips_only_for_its_own_query() -> None:
    tokens = PageTokens(KeySealer())
    query = EventQuery(REGION, event_name="Decrypt", tenant="t1", start=T0)
    cursor = EventCursor(T0 + timedelta(microseconds=123_456), "eu-central-1", 2**40)
    token = tokens.issue(cursor, query)
    assert tokens.open(token, query) == cursor
    assert len(token) < 200
    # Opaque: neither the region nor the position can be read from it.
    assert b"eu-central-1" not in base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for other in (
        replace(query, event_name="Encrypt"),
        replace(query, tenant="t2"),
        replace(query, tenant=None),
        replace(query, region="us-west-2"),
        replace(query, start=None),
        replace(query, end=T0),
    ):
        with pytest.raises(InvalidNextTokenException):
            tokens.open(token, other)
    with pytest.raises(InvalidNextTokenException):
        PageTokens(KeySealer()).open(token, query)  # another server's key


@pytest.mark.parametrize(
    "token",
    ["", "abc", "!!!!", "A" * 300, "x" * (MAX_TOKEN_LENGTH + 1), "\u00e9t\u00e9"],
)
def test_a_foreign_token_is_invalid(token: str) -> None:
    with pytest.raises(InvalidNextTokenException):
        PageTokens(KeySealer()).open(token, EventQuery(REGION))


def test_every_altered_character_of_a_token_is_detected() -> None:
    tokens = PageTokens(KeySealer())
    query = EventQuery(REGION)
    token = tokens.issue(EventCursor(T0, REGION, 7), query)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(len(token)):
        replacement = alphabet[(alphabet.index(token[position]) + 1) % len(alphabet)]
        altered = token[:position] + replacement + token[position + 1 :]
        with pytest.raises(InvalidNextTokenException):
            tokens.open(altered, query)


# -- the service -----------------------------------------------------------------------------


def test_lookup_is_authorized_and_a_denial_returns_nothing(
    store: SqlAuditStore, service: LookupEvents, authorizer: Authorizer
) -> None:
    store.append([event(1)])
    assert len(service.lookup_events(context(), shapes.LookupEventsRequest()).events) == 1
    assert authorizer.requests == [AccessRequest("cloudtrail:LookupEvents", "*")]
    authorizer.allow = False
    with pytest.raises(AccessDeniedException):
        service.lookup_events(context(), shapes.LookupEventsRequest())


def test_results_in_cloudtrail_shape(store: SqlAuditStore, service: LookupEvents) -> None:
    stored = store.append(
        [
            event(1, identity=SESSION_IDENTITY, resources=(secret("db"),), tenant="t1"),
            event(2, "PutSecretValue", read_only=False, identity=ALICE_IDENTITY),
        ]
    )
    result = service.lookup_events(context(), shapes.LookupEventsRequest())
    put, get = result.events
    assert result.next_token is None
    assert (put.read_only, put.username, put.access_key_id) == ("false", "alice", "AKIAALICE")
    assert (get.read_only, get.username, get.access_key_id) == ("true", "job-7", "ASIAJOB7")
    assert get.event_time == T0 + timedelta(seconds=1)
    assert get.event_source == "secretsmanager.amazonaws.com"
    assert get.event_id == stored[0].event_id
    assert set(get.resources) == {
        shapes.Resource(SECRET_TYPE, "db"),
        shapes.Resource(SECRET_TYPE, _secret_arn("db")),
    }
    # CloudTrailEvent is the stored record itself, the bytes the chain covers.
    assert get.cloud_trail_event.encode() == stored[0].record
    assert json.loads(get.cloud_trail_event)["tenant"] == "t1"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("EventName", "Decrypt", ["Decrypt"]),
        ("EventSource", "kms.amazonaws.com", ["Decrypt"]),
        ("ReadOnly", "false", ["PutSecretValue"]),
        ("ReadOnly", "TRUE", ["Decrypt", "GetSecretValue"]),
        ("Username", "alice", ["GetSecretValue"]),
        ("AccessKeyId", "ASIAJOB7", ["Decrypt"]),
        ("ResourceType", KEY_TYPE, ["Decrypt"]),
        ("ResourceName", "db", ["GetSecretValue"]),
        ("ResourceName", "arn:key", ["Decrypt"]),
    ],
)
def test_each_attribute_key(
    store: SqlAuditStore, service: LookupEvents, key: str, value: str, expected: list[str]
) -> None:
    store.append(
        [
            event(1, identity=ALICE_IDENTITY, resources=(secret("db"),)),
            event(
                2,
                "Decrypt",
                source="kms.amazonaws.com",
                identity=SESSION_IDENTITY,
                resources=(AuditResource("arn:key", KEY_TYPE),),
            ),
            event(3, "PutSecretValue", read_only=False),
        ]
    )
    assert names(service.lookup_events(context(), by(key, value)).events) == expected


def test_event_id_attribute(store: SqlAuditStore, service: LookupEvents) -> None:
    stored = store.append([event(1), event(2, "Decrypt")])
    (found,) = service.lookup_events(context(), by("EventId", stored[1].event_id)).events
    assert found.event_name == "Decrypt"


def test_pages_of_at_most_max_results_with_tokens(
    store: SqlAuditStore, service: LookupEvents
) -> None:
    store.append([event(i / 10) for i in range(120)])
    seen: list[str] = []
    sizes = []
    request = shapes.LookupEventsRequest()
    while True:
        result = service.lookup_events(context(), request)
        sizes.append(len(result.events))
        seen.extend(e.event_id for e in result.events)
        if result.next_token is None:
            break
        request = replace(request, next_token=result.next_token)
    assert sizes == [50, 50, 20]
    assert len(set(seen)) == 120
    small = service.lookup_events(context(), shapes.LookupEventsRequest(max_results=7))
    assert len(small.events) == 7
    assert small.next_token is not None
    # Exactly a page's worth left: the last page has no token.
    exact = service.lookup_events(context(), shapes.LookupEventsRequest(max_results=40))
    rest = service.lookup_events(
        context(), shapes.LookupEventsRequest(max_results=40, next_token=exact.next_token)
    )
    last = service.lookup_events(
        context(), shapes.LookupEventsRequest(max_results=40, next_token=rest.next_token)
    )
    assert len(last.events) == 40
    assert last.next_token is None


def test_a_token_is_refused_by_another_query_or_caller(
    store: SqlAuditStore, service: LookupEvents
) -> None:
    store.append([event(i, tenant="t1") for i in range(3)])
    token = service.lookup_events(context(), shapes.LookupEventsRequest(max_results=1)).next_token
    assert token is not None
    for ctx, request in (
        (context(), by("EventName", "GetSecretValue", next_token=token)),
        (context(), shapes.LookupEventsRequest(start_time=T0, next_token=token)),
        (context(tenant="t1"), shapes.LookupEventsRequest(next_token=token)),
        (context(region="eu-west-1"), shapes.LookupEventsRequest(next_token=token)),
    ):
        with pytest.raises(InvalidNextTokenException):
            service.lookup_events(ctx, request)


def test_a_tenant_bound_caller_sees_only_its_tenant(
    store: SqlAuditStore, service: LookupEvents
) -> None:
    store.append(
        [
            event(1, resources=(secret("shared"),), tenant="t1"),
            event(2, resources=(secret("shared"),), tenant="t2"),
            event(3, "Decrypt", tenant="t2"),
            event(4, "Decrypt"),
        ]
    )
    t1 = context(tenant="t1", kind=IAM_USER)
    t2 = context(tenant="t2", kind=ASSUMED_ROLE)
    assert len(service.lookup_events(t1, shapes.LookupEventsRequest()).events) == 1
    assert len(service.lookup_events(t2, shapes.LookupEventsRequest()).events) == 2
    assert len(service.lookup_events(t1, by("ResourceName", "shared")).events) == 1
    assert len(service.lookup_events(t1, by("EventName", "Decrypt")).events) == 0
    assert len(service.lookup_events(context(), shapes.LookupEventsRequest()).events) == 4
    for found in service.lookup_events(t2, shapes.LookupEventsRequest()).events:
        assert json.loads(found.cloud_trail_event)["tenant"] == "t2"


def test_lookups_are_regional(store: SqlAuditStore, service: LookupEvents) -> None:
    store.append([event(1), event(2, "Decrypt", region="eu-west-1")])
    assert names(service.lookup_events(context(), shapes.LookupEventsRequest()).events) == [
        "GetSecretValue"
    ]
    eu = service.lookup_events(context(region="eu-west-1"), shapes.LookupEventsRequest())
    assert names(eu.events) == ["Decrypt"]


def test_time_range_is_inclusive_and_checked(store: SqlAuditStore, service: LookupEvents) -> None:
    store.append([event(i) for i in range(5)])
    at = T0 + timedelta(seconds=2)
    same = service.lookup_events(context(), shapes.LookupEventsRequest(start_time=at, end_time=at))
    assert [e.event_time for e in same.events] == [at]
    later = service.lookup_events(context(), shapes.LookupEventsRequest(start_time=at))
    assert len(later.events) == 3
    with pytest.raises(InvalidTimeRangeException):
        service.lookup_events(
            context(), shapes.LookupEventsRequest(start_time=at, end_time=at - timedelta(1))
        )


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (shapes.LookupEventsRequest(max_results=0), InvalidMaxResultsException),
        (shapes.LookupEventsRequest(max_results=51), InvalidMaxResultsException),
        (shapes.LookupEventsRequest(max_results=-1), InvalidMaxResultsException),
        (
            shapes.LookupEventsRequest(
                lookup_attributes=(
                    shapes.LookupAttribute("EventName", "Decrypt"),
                    shapes.LookupAttribute("Username", "alice"),
                )
            ),
            InvalidLookupAttributesException,
        ),
        (by("EventTime", "x"), InvalidLookupAttributesException),
        (by("eventname", "Decrypt"), InvalidLookupAttributesException),
        (by("EventName", ""), InvalidLookupAttributesException),
        (by("EventName", "x" * 2001), InvalidLookupAttributesException),
        # '_', ' ', ',' and newlines count twice towards the 2000 characters.
        (by("ResourceName", "_" * 1001), InvalidLookupAttributesException),
        (by("ResourceName", "a b," * 500), InvalidLookupAttributesException),
        (by("ReadOnly", "yes"), InvalidLookupAttributesException),
        (shapes.LookupEventsRequest(event_category="management"), InvalidEventCategoryException),
        (shapes.LookupEventsRequest(event_category="Insight"), InvalidEventCategoryException),
        (by("Username", "alice", event_category="insight"), InvalidLookupAttributesException),
        (shapes.LookupEventsRequest(next_token="bogus"), InvalidNextTokenException),
    ],
)
def test_invalid_requests_get_cloudtrail_errors(
    service: LookupEvents, request_: shapes.LookupEventsRequest, error: type[ServiceError]
) -> None:
    with pytest.raises(error) as raised:
        service.lookup_events(context(), request_)
    assert raised.value.message


def test_limits_are_inclusive_and_insights_find_nothing(
    store: SqlAuditStore, service: LookupEvents
) -> None:
    store.append([event(1, "Decrypt", resources=(secret("_" * 1000),))])
    assert len(service.lookup_events(context(), by("ResourceName", "_" * 1000)).events) == 1
    assert len(service.lookup_events(context(), by("EventName", "x" * 2000)).events) == 0
    for size in (1, 50):
        request = shapes.LookupEventsRequest(max_results=size)
        assert len(service.lookup_events(context(), request).events) == 1
    insight = by("EventName", "Decrypt", event_category="insight")
    assert service.lookup_events(context(), insight).events == ()


# -- the wire model ----------------------------------------------------------------------------


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def test_request_types_match_botocore_model() -> None:
    model = botocore.session.get_session().get_service_model("cloudtrail")
    for name, request_type in CLOUDTRAIL_OPERATIONS.items():
        shape = model.operation_model(name).input_shape
        assert {_normal(f.name) for f in dataclasses.fields(request_type)} == {
            _normal(m) for m in shape.members
        }
        attribute = shape.members["LookupAttributes"].member
        fields = dataclasses.fields(shapes.LookupAttribute)
        assert {_normal(f.name) for f in fields} == {_normal(m) for m in attribute.members}
        assert all(f.default is dataclasses.MISSING for f in fields)  # both required
        hints = typing.get_type_hints(request_type)
        assert hints["lookup_attributes"] == tuple[shapes.LookupAttribute, ...] | None
    result = model.operation_model("LookupEvents").output_shape.members["Events"].member
    assert {_normal(f.name) for f in dataclasses.fields(shapes.Event)} == {
        _normal(m) for m in result.members
    }


def test_the_decoder_leaves_cloudtrail_own_checks_to_the_service() -> None:
    decoder = aws_json.compile_service(cloudtrail_model())["LookupEvents"]
    decoded = decoder.decode(
        {
            "MaxResults": 500,
            "EventCategory": "bogus",
            "LookupAttributes": [{"AttributeKey": "Nope", "AttributeValue": ""}],
        }
    )
    assert decoded["MaxResults"] == 500
    # Required members and JSON types are still the model's to check.
    with pytest.raises(ServiceError, match="attributeValue"):
        decoder.decode({"LookupAttributes": [{"AttributeKey": "EventName"}]})
    with pytest.raises(ServiceError):
        decoder.decode({"MaxResults": "ten"})
