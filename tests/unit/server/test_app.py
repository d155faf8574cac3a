"""The ASGI app's catch-all: a crash is a bare 500 with the service's code, and leaks nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from strongroom.clock import FrozenClock
from strongroom.context import CallContext, Principal
from strongroom.ids import AccountId
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.dispatch import Dispatcher, Operation, ServiceTarget
from strongroom.server.sigv4 import SigV4Verifier

AKID, SECRET = "AKIAUNITTEST0000001", "unit-test-secret-access-key-000000"
CANARY = "CANARY-5d1f0c7e-in-an-exception-message"


class Lookup:
    def secret_access_key(self, access_key_id: str) -> str | None:
        return SECRET if access_key_id == AKID else None


def crash(ctx: CallContext, body: bytes) -> bytes:
    raise RuntimeError(CANARY)


def build_app(now: datetime) -> StrongroomApp:
    dispatcher = Dispatcher()
    dispatcher.register_service(
        ServiceTarget("secretsmanager", "secretsmanager", "InternalServiceError", frozenset())
    )
    dispatcher.register(
        "secretsmanager",
        Operation("secretsmanager", "GetSecretValue", "InternalServiceError", crash),
    )
    return StrongroomApp(
        dispatcher=dispatcher,
        verifier=SigV4Verifier(Lookup(), required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=lambda akid, token, partition: Principal(
            "arn:aws:iam::123456789012:root", "1", akid
        ),
        clock=FrozenClock(now),
        settings=EdgeSettings(account_id=AccountId("123456789012"), region_allowed=bool),
    )


def call(app: StrongroomApp, body: bytes) -> tuple[int, dict[str, str], bytes]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8900/",
        data=body,
        headers={
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    SigV4Auth(Credentials(AKID, SECRET), "secretsmanager", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers += [(b"host", b"127.0.0.1:8900"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5555),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    response_headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], response_headers, sent[1]["body"]


def test_a_crash_is_a_generic_500_with_the_service_code(caplog: pytest.LogCaptureFixture) -> None:
    app = build_app(datetime.now(UTC))
    with caplog.at_level(logging.DEBUG):
        status, headers, body = call(app, json.dumps({"SecretId": CANARY}).encode())
    assert status == 500
    assert headers["x-amzn-errortype"] == "InternalServiceError"
    assert json.loads(body) == {
        "__type": "InternalServiceError",
        "message": "An internal error occurred.",
    }
    assert "RuntimeError" in caplog.text
    assert headers["x-amzn-requestid"] in caplog.text
    assert CANARY not in caplog.text
    assert CANARY.encode() not in body
