"""The edge's audit: the journal reaches the worker thread, and nothing is answered unless the
call's event is durable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from strongroom.audit import journal
from strongroom.audit.event_builder import EventBuilder
from strongroom.audit.events import AuditEvent, AuditResource
from strongroom.audit.ports import AuditStoreUnavailable, StoredEvent
from strongroom.audit.recorder import AuditRecorder
from strongroom.clock import FrozenClock
from strongroom.context import CallContext, Principal
from strongroom.ids import AccountId
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.call_audit import CallAudit
from strongroom.server.dispatch import Dispatcher, Operation, ServiceTarget
from strongroom.server.sigv4 import SigV4Verifier

AKID, SECRET = "AKIAUNITTEST0000001", "unit-test-secret-access-key-000000"
# The app's clock: "now" when the test runs (requests are signed with the real time and
# must fall within the verifier's 5 minutes of it), frozen so the event time is known.
CLOCK = FrozenClock(datetime.now(UTC))
VALUE = b'{"SecretString":"CANARY-edge-value"}'
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"


class Lookup:
    def secret_access_key(self, access_key_id: str) -> str | None:
        return SECRET if access_key_id == AKID else None


class Store:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.broken = False

    def append(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        if self.broken:
            raise AuditStoreUnavailable("audit events not written (OperationalError)")
        self.events.extend(events)
        return [
            StoredEvent(e.aws_region, 1, e.event_id, e.event_time, b"", b"", b"") for e in events
        ]

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        return iter(())

    def regions(self) -> list[str]:
        return []


def read_in_worker(ctx: CallContext, body: bytes) -> bytes:
    """A handler run in the worker pool that, like the authorizer, writes to the journal."""
    current = journal.current()
    assert current is not None, "the journal did not reach the worker thread"
    current.note_resource(AuditResource(ARN, "AWS::SecretsManager::Secret", "acme"))
    current.request = json.loads(body)
    return VALUE


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def recorder(store: Store) -> Iterator[AuditRecorder]:
    running = AuditRecorder(store)
    running.start()
    yield running
    running.stop()


def build_app(recorder: AuditRecorder) -> StrongroomApp:
    CLOCK.advance(datetime.now(UTC) - CLOCK.now())
    dispatcher = Dispatcher()
    dispatcher.register_service(
        ServiceTarget("secretsmanager", "secretsmanager", "InternalServiceError", frozenset())
    )
    dispatcher.register(
        "secretsmanager",
        Operation("secretsmanager", "DescribeSecret", "InternalServiceError", read_in_worker),
    )
    audit = CallAudit(
        EventBuilder("123456789012"),
        recorder,
        CLOCK,
        default_region="us-east-1",
        region_allowed=lambda region: region == "us-east-1",
    )
    return StrongroomApp(
        dispatcher=dispatcher,
        verifier=SigV4Verifier(Lookup(), required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=lambda akid, token, partition: Principal(
            "arn:aws:iam::123456789012:root", "123456789012", akid
        ),
        clock=CLOCK,
        settings=EdgeSettings(account_id=AccountId("123456789012"), region_allowed=bool),
        audit=audit,
    )


def send(
    app: StrongroomApp, body: bytes, *, method: str = "POST", path: str = "/", secret: str = SECRET
) -> tuple[int, dict[str, str], bytes]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8900/",
        data=body,
        headers={
            "X-Amz-Target": "secretsmanager.DescribeSecret",
            "Content-Type": "application/x-amz-json-1.1",
            "User-Agent": "unit-test-agent",
        },
    )
    SigV4Auth(Credentials(AKID, secret), "secretsmanager", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers += [(b"host", b"127.0.0.1:8900"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("10.1.2.3", 5555),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def reply(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, reply))
    response_headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], response_headers, sent[1]["body"]


def test_the_event_is_durable_before_the_answer_and_describes_the_call(
    store: Store, recorder: AuditRecorder
) -> None:
    status, headers, body = send(build_app(recorder), b'{"SecretId": "db"}')
    assert (status, body) == (200, VALUE)
    [event] = store.events
    assert event.request_id == headers["x-amzn-requestid"]
    assert event.event_name == "DescribeSecret"
    assert event.read_only is True
    assert event.source_ip == "10.1.2.3"
    assert event.user_agent == "unit-test-agent"
    assert event.event_time == CLOCK.now()
    assert event.user_identity.access_key_id == AKID
    assert event.request_parameters == {"secretId": "db"}
    # What the handler noted in the worker thread reached the event.
    assert [r.arn for r in event.resources] == [ARN]
    assert event.tenant == "acme"


def test_an_unwritable_trail_turns_the_answer_into_a_bare_5xx(
    store: Store, recorder: AuditRecorder
) -> None:
    store.broken = True
    status, headers, body = send(build_app(recorder), b'{"SecretId": "db"}')
    assert status == 500
    assert headers["x-amzn-errortype"] == "InternalServiceError"
    assert json.loads(body) == {
        "__type": "InternalServiceError",
        "message": "The audit trail is unavailable.",
    }
    assert b"CANARY" not in body


def test_refused_signatures_are_recorded_as_unknown_callers(
    store: Store, recorder: AuditRecorder
) -> None:
    status, headers, _ = send(build_app(recorder), b"{}", secret="not-the-secret-key-00000000")
    assert status == 400
    [event] = store.events
    assert event.error_code == "InvalidSignatureException"
    assert event.user_identity.type == "Unknown"
    assert event.user_identity.access_key_id == AKID
    assert event.request_id == headers["x-amzn-requestid"]


def test_health_probes_are_not_recorded(store: Store, recorder: AuditRecorder) -> None:
    status, _, _ = send(build_app(recorder), b"", method="GET", path="/healthz")
    assert status == 200
    assert store.events == []
