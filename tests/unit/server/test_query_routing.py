"""The edge's query-protocol path: routing by credential scope, Action and Version, XML errors."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from strongroom.cli import signed_call
from strongroom.clock import FrozenClock
from strongroom.context import CallContext, Principal
from strongroom.errors import AccessDeniedException, ValidationException
from strongroom.ids import AccountId
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.dispatch import (
    Dispatcher,
    Operation,
    ServiceTarget,
    register_query_service,
)
from strongroom.server.sigv4 import SigV4Verifier

AKID, SECRET = "AKIAUNITTEST0000001", "unit-test-secret-access-key-000000"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
SESSION = botocore.session.get_session()
STS = SESSION.get_service_model("sts")
IAM = SESSION.get_service_model("iam")


class Lookup:
    def secret_access_key(self, access_key_id: str) -> str | None:
        return SECRET if access_key_id == AKID else None


@dataclass(frozen=True, slots=True)
class GetCallerIdentityRequest:
    pass


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    user_id: str
    account: str
    arn: str


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class AssumeRoleRequest:
    role_arn: str
    role_session_name: str
    duration_seconds: int | None = None
    tags: tuple[Tag, ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


@dataclass(frozen=True, slots=True)
class AssumedRoleUser:
    assumed_role_id: str
    arn: str


@dataclass(frozen=True, slots=True)
class AssumeRoleResult:
    credentials: Credential
    assumed_role_user: AssumedRoleUser
    packed_policy_size: int


@dataclass(frozen=True, slots=True)
class DeleteUserRequest:
    user_name: str


class FakeSts:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def get_caller_identity(
        self, ctx: CallContext, request: GetCallerIdentityRequest
    ) -> CallerIdentity:
        return CallerIdentity(ctx.principal.principal_id, ctx.account_id, ctx.principal.arn)

    def assume_role(self, ctx: CallContext, request: AssumeRoleRequest) -> AssumeRoleResult:
        self.seen.append(request)
        if request.role_session_name == "deny":
            raise AccessDeniedException("Not authorized to perform sts:AssumeRole")
        if request.role_session_name == "boom":
            raise RuntimeError("CANARY-not-on-the-wire")
        return AssumeRoleResult(
            Credential("ASIAEXAMPLE", "secret&<>", "token", NOW + timedelta(hours=1)),
            AssumedRoleUser("AROA:s", request.role_arn.replace(":iam:", ":sts:")),
            len(request.tags),
        )


class FakeIam:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_user(self, ctx: CallContext, request: DeleteUserRequest) -> None:
        if request.user_name == "invalid":
            raise ValidationException("The user name is not valid.")
        self.deleted.append(request.user_name)


def json_crash(ctx: CallContext, body: bytes) -> bytes:
    return b'{"json":true}'


@pytest.fixture
def fakes() -> tuple[FakeSts, FakeIam]:
    return FakeSts(), FakeIam()


@pytest.fixture
def app(fakes: tuple[FakeSts, FakeIam]) -> StrongroomApp:
    sts, iam = fakes
    dispatcher = Dispatcher()
    dispatcher.register_service(
        ServiceTarget("secretsmanager", "secretsmanager", "InternalServiceError", frozenset())
    )
    dispatcher.register(
        "secretsmanager",
        Operation("secretsmanager", "GetSecretValue", "InternalServiceError", json_crash),
    )
    register_query_service(
        dispatcher,
        "sts",
        [sts],
        {"GetCallerIdentity": GetCallerIdentityRequest, "AssumeRole": AssumeRoleRequest},
    )
    register_query_service(dispatcher, "iam", [iam], {"DeleteUser": DeleteUserRequest})
    return StrongroomApp(
        dispatcher=dispatcher,
        verifier=SigV4Verifier(Lookup(), required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=lambda akid, token, partition: (
            Principal("arn:aws:iam::123456789012:root", "123456789012", akid)
            if token != "expired"
            else None
        ),
        clock=FrozenClock(NOW),
        settings=EdgeSettings(
            account_id=AccountId("123456789012"),
            region_allowed=lambda region: region == "eu-west-1",
            max_body_bytes=4096,
        ),
    )


def run(
    app: StrongroomApp,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    method: str = "POST",
    path: str = "/",
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5555),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    response_headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], response_headers, sent[1]["body"]


def signed(
    body: bytes | str,
    *,
    service: str = "sts",
    region: str = "eu-west-1",
    extra: Mapping[str, str] | None = None,
    when: datetime = NOW,
    secret: str = SECRET,
    content_type: str = "application/x-www-form-urlencoded; charset=utf-8",
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    data = body.encode() if isinstance(body, str) else body
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8900/",
        data=data,
        headers={"Content-Type": content_type, **(extra or {})},
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        SigV4Auth(Credentials(AKID, secret), service, region).add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers += [(b"host", b"127.0.0.1:8900"), (b"content-length", str(len(data)).encode())]
    return headers, data


def call(app: StrongroomApp, body: bytes | str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    headers, data = signed(body, **kwargs)
    return run(app, headers, data)


def form(**params: Any) -> str:
    return urlencode(params)


def parse_error(status: int, body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": status},
        STS.operation_model("AssumeRole").output_shape,
    )
    return parsed


def assert_error(response: tuple[int, dict[str, str], bytes], status: int, code: str) -> str:
    got_status, headers, body = response
    assert (got_status, headers["content-type"]) == (status, "text/xml"), body
    parsed = parse_error(got_status, body)
    assert parsed["Error"]["Code"] == code
    assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]
    message: str = parsed["Error"]["Message"]
    return message


def test_get_caller_identity_round_trips_through_botocore(app: StrongroomApp) -> None:
    status, headers, body = call(app, form(Action="GetCallerIdentity", Version="2011-06-15"))
    assert (status, headers["content-type"]) == (200, "text/xml"), body
    parsed = create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": 200},
        STS.operation_model("GetCallerIdentity").output_shape,
    )
    assert parsed["Account"] == "123456789012"
    assert parsed["Arn"] == "arn:aws:iam::123456789012:root"
    assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]
    assert body.startswith(f'<GetCallerIdentityResponse xmlns="{STS_NS}">'.encode())


def test_assume_role_decodes_nested_lists_and_encodes_escaped_xml(
    app: StrongroomApp, fakes: tuple[FakeSts, FakeIam]
) -> None:
    body = form(
        Action="AssumeRole",
        Version="2011-06-15",
        RoleArn="arn:aws:iam::123456789012:role/tenant",
        RoleSessionName="svc",
        DurationSeconds="900",
        **{
            "Tags.member.1.Key": "customer",
            "Tags.member.1.Value": "cust-1",
            "Tags.member.2.Key": "team",
            "Tags.member.2.Value": "a b+c",
            "TransitiveTagKeys.member.1": "customer",
        },
    )
    status, _, raw = call(app, body)
    assert status == 200, raw
    assert fakes[0].seen == [
        AssumeRoleRequest(
            "arn:aws:iam::123456789012:role/tenant",
            "svc",
            900,
            (Tag("customer", "cust-1"), Tag("team", "a b+c")),
            ("customer",),
        )
    ]
    parsed = create_parser("query").parse(
        {"body": raw, "headers": {}, "status_code": 200},
        STS.operation_model("AssumeRole").output_shape,
    )
    assert parsed["Credentials"]["SecretAccessKey"] == "secret&<>"
    assert parsed["Credentials"]["Expiration"] == NOW + timedelta(hours=1)
    assert parsed["PackedPolicySize"] == 2


def test_operation_without_output_has_no_result_element(
    app: StrongroomApp, fakes: tuple[FakeSts, FakeIam]
) -> None:
    # boto3 signs IAM for us-east-1 whatever the client's region: any region is accepted.
    status, _, body = call(
        app,
        form(Action="DeleteUser", Version="2010-05-08", UserName="alice"),
        service="iam",
        region="us-east-1",
    )
    assert status == 200
    assert fakes[1].deleted == ["alice"]
    assert body.startswith(f'<DeleteUserResponse xmlns="{IAM_NS}"><ResponseMetadata>'.encode())
    assert b"DeleteUserResult" not in body


def test_iam_scope_with_a_malformed_region_is_refused(app: StrongroomApp) -> None:
    response = call(
        app,
        form(Action="DeleteUser", Version="2010-05-08", UserName="a"),
        service="iam",
        region="Not_A_Region",
    )
    message = assert_error(response, 403, "SignatureDoesNotMatch")
    assert "valid region" in message


def test_sts_is_regional(app: StrongroomApp) -> None:
    response = call(app, form(Action="GetCallerIdentity", Version="2011-06-15"), region="us-east-1")
    assert "valid region" in assert_error(response, 403, "SignatureDoesNotMatch")


def test_json_requests_still_take_the_json_path(app: StrongroomApp) -> None:
    headers, data = signed(
        b"{}",
        service="secretsmanager",
        extra={"X-Amz-Target": "secretsmanager.GetSecretValue"},
        content_type="application/x-amz-json-1.1",
    )
    # Required-signed-headers of the JSON path still apply (x-amz-target is signed here).
    status, response_headers, body = run(app, headers, data)
    assert (status, body) == (200, b'{"json":true}')
    assert response_headers["content-type"] == "application/x-amz-json-1.1"


def test_a_target_wins_over_a_form_content_type(app: StrongroomApp) -> None:
    headers, data = signed(
        b"{}", service="secretsmanager", extra={"X-Amz-Target": "secretsmanager.GetSecretValue"}
    )
    status, _, body = run(app, headers, data)
    assert (status, body) == (200, b'{"json":true}')


@pytest.mark.parametrize(
    ("service", "expected"),
    [("secretsmanager", "'iam'"), ("kms", "'iam'")],
)
def test_scope_naming_no_query_service_is_refused(
    app: StrongroomApp, service: str, expected: str
) -> None:
    response = call(app, form(Action="GetCallerIdentity", Version="2011-06-15"), service=service)
    message = assert_error(response, 403, "SignatureDoesNotMatch")
    assert f"Credential should be scoped to correct service: {expected}" in message


def test_sts_action_under_iam_scope_is_invalid_action(app: StrongroomApp) -> None:
    response = call(
        app,
        form(Action="GetCallerIdentity", Version="2011-06-15"),
        service="iam",
        region="us-east-1",
    )
    assert "GetCallerIdentity" in assert_error(response, 400, "InvalidAction")


def test_missing_action(app: StrongroomApp) -> None:
    assert_error(call(app, form(Version="2011-06-15")), 400, "MissingAction")
    assert_error(call(app, b""), 400, "MissingAction")


def test_wrong_version(app: StrongroomApp) -> None:
    message = assert_error(
        call(app, form(Action="GetCallerIdentity", Version="2010-05-08")), 400, "InvalidAction"
    )
    assert message == "Could not find operation GetCallerIdentity for version 2010-05-08"
    message = assert_error(call(app, form(Action="GetCallerIdentity")), 400, "InvalidAction")
    assert message.endswith("NO_VERSION_SPECIFIED")


def test_unknown_and_unimplemented_actions(app: StrongroomApp) -> None:
    message = assert_error(
        call(app, form(Action="LaunchMissiles", Version="2011-06-15")), 400, "InvalidAction"
    )
    assert "LaunchMissiles" in message
    message = assert_error(
        call(app, form(Action="GetSessionToken", Version="2011-06-15")), 400, "InvalidAction"
    )
    assert "not supported by this server yet" in message
    message = assert_error(
        call(app, form(Action="<script>", Version="2011-06-15")), 400, "InvalidAction"
    )
    assert "<script>" not in message


def test_oversized_body(app: StrongroomApp) -> None:
    big = form(Action="GetCallerIdentity", Version="2011-06-15", Pad="x" * 5000)
    assert_error(call(app, big), 413, "RequestEntityTooLargeException")


@pytest.mark.parametrize(
    "body",
    [
        b"Action=GetCallerIdentity&Version",
        b"Action=%zz&Version=2011-06-15",
        b"Action=\xff",
        b"Action=A&Action=B",
        b"=x&Action=GetCallerIdentity",
        b"Action=%C3%28",
    ],
)
def test_bad_form_encoding(app: StrongroomApp, body: bytes) -> None:
    message = assert_error(call(app, body), 400, "MalformedQueryString")
    assert "Action" not in message or "twice" in message


def test_validation_errors_use_the_query_code_and_aws_text(app: StrongroomApp) -> None:
    body = form(Action="AssumeRole", Version="2011-06-15", RoleArn="short", RoleSessionName="s")
    message = assert_error(call(app, body), 400, "ValidationError")
    assert message == (
        "2 validation errors detected: Value 'short' at 'roleArn' failed to satisfy "
        "constraint: Member must have length greater than or equal to 20; Value 's' at "
        "'roleSessionName' failed to satisfy constraint: Member must have length greater "
        "than or equal to 2"
    )


def test_a_non_integer_is_invalid_parameter_value(app: StrongroomApp) -> None:
    body = form(
        Action="AssumeRole",
        Version="2011-06-15",
        RoleArn="arn:aws:iam::123456789012:role/r",
        RoleSessionName="ss",
        DurationSeconds="ten",
    )
    message = assert_error(call(app, body), 400, "InvalidParameterValue")
    assert "durationSeconds" in message


def test_service_errors_map_to_query_codes(app: StrongroomApp) -> None:
    body = form(
        Action="AssumeRole",
        Version="2011-06-15",
        RoleArn="arn:aws:iam::123456789012:role/r",
        RoleSessionName="deny",
    )
    assert_error(call(app, body), 403, "AccessDenied")
    body = form(Action="DeleteUser", Version="2010-05-08", UserName="invalid")
    assert_error(call(app, body, service="iam"), 400, "ValidationError")


def test_a_crash_is_a_bare_receiver_fault(app: StrongroomApp) -> None:
    body = form(
        Action="AssumeRole",
        Version="2011-06-15",
        RoleArn="arn:aws:iam::123456789012:role/r",
        RoleSessionName="boom",
    )
    status, _, raw = call(app, body)
    assert b"CANARY" not in raw
    assert b"<Type>Receiver</Type>" in raw
    parsed = parse_error(status, raw)
    assert (status, parsed["Error"]["Code"]) == (500, "InternalFailure")


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"secret": "wrong-secret"}, "SignatureDoesNotMatch", 403),
        ({"when": NOW - timedelta(minutes=20)}, "RequestExpired", 400),
        ({"extra": {"X-Amz-Security-Token": "expired"}}, "InvalidClientTokenId", 403),
    ],
)
def test_auth_errors_keep_the_query_codes(
    app: StrongroomApp, kwargs: dict[str, Any], code: str, status: int
) -> None:
    response = call(app, form(Action="GetCallerIdentity", Version="2011-06-15"), **kwargs)
    assert_error(response, status, code)


def test_unknown_access_key_is_invalid_client_token_id(app: StrongroomApp) -> None:
    headers, data = signed(form(Action="GetCallerIdentity", Version="2011-06-15"))
    headers = [
        (k, v.replace(AKID.encode(), b"AKIAUNKNOWN00000000") if k == b"authorization" else v)
        for k, v in headers
    ]
    assert_error(run(app, headers, data), 403, "InvalidClientTokenId")


def test_missing_and_incomplete_authorization(app: StrongroomApp) -> None:
    headers, data = signed(form(Action="GetCallerIdentity", Version="2011-06-15"))
    unsigned = [(k, v) for k, v in headers if k != b"authorization"]
    assert_error(run(app, unsigned, data), 403, "MissingAuthenticationToken")
    broken = [*unsigned, (b"authorization", b"AWS4-HMAC-SHA256 Credential=x")]
    assert_error(run(app, broken, data), 400, "IncompleteSignature")


def test_host_must_be_signed(app: StrongroomApp) -> None:
    headers, data = signed(form(Action="GetCallerIdentity", Version="2011-06-15"))
    headers = [
        (k, v.replace(b"SignedHeaders=content-type;host;", b"SignedHeaders=content-type;"))
        for k, v in headers
    ]
    message = assert_error(run(app, headers, data), 403, "SignatureDoesNotMatch")
    assert "must be a 'SignedHeader'" in message


def test_only_post_slash(app: StrongroomApp) -> None:
    headers, data = signed(form(Action="GetCallerIdentity", Version="2011-06-15"))
    assert_error(run(app, headers, data, path="/other"), 400, "InvalidAction")


def test_the_json_error_path_is_unchanged_without_query_content_type(app: StrongroomApp) -> None:
    headers, data = signed(b"{}", content_type="application/json")
    status, response_headers, body = run(app, headers, data)
    assert (status, response_headers["content-type"]) == (400, "application/x-amz-json-1.1")
    # As before the query protocol: the JSON path requires a signed X-Amz-Target.
    assert json.loads(body)["__type"] == "InvalidSignatureException"


def test_the_cli_helper_sends_a_query_request_the_edge_accepts(app: StrongroomApp) -> None:
    captured: list[tuple[int, dict[str, str], bytes]] = []

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
            status, response_headers, response = run(app, headers, body)
            captured.append((status, response_headers, response))
            self.send_response(status)
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    signing_time = mock.patch(
        "botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)
    )
    try:
        with signing_time:
            status, body = signed_call.post_query(
                f"http://127.0.0.1:{server.server_port}",
                "eu-west-1",
                "sts",
                "GetCallerIdentity",
                {},
                credentials=Credentials(AKID, SECRET),
            )
    finally:
        thread.join(timeout=10)
        server.server_close()
    assert status == 200, body
    assert b"<Account>123456789012</Account>" in body
    assert captured[0][1]["content-type"] == "text/xml"
