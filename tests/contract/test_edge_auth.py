"""The HTTP edge rejects bad auth, tampering and malformed requests, and none changes state."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.raw_http import (
    AMZ_JSON_1_1,
    Headers,
    RawConnection,
    RawResponse,
    assert_aws_error,
    drop_header,
    header_value,
    host_of,
    post,
    replace_header,
    sign,
    sign_and_post,
)
from tests.support.server import ROOT_SECRET_ACCESS_KEY, RunningServer

pytestmark = pytest.mark.contract

MIB = 1024 * 1024
SIGNATURE_MISMATCH_PREFIX = "The request signature we calculated does not match"
CREATE = "secretsmanager.CreateSecret"


# -- helpers ----------------------------------------------------------------------------------


def secret_value(name: str) -> str:
    """A value distinctive enough that finding it in a response means it was echoed."""
    return f"value-of-{name}-must-never-be-echoed"


def create_body(name: str) -> bytes:
    return json.dumps({"Name": name, "SecretString": secret_value(name)}).encode()


def signed_create(server: RunningServer, name: str, **sign_options: Any) -> tuple[Headers, bytes]:
    """A CreateSecret for ``name``, signed (by default correctly) with the root credentials."""
    body = create_body(name)
    return sign(server.endpoint, body, target=CREATE, **sign_options), body


def assert_rejected(
    response: RawResponse, status: int, code: str, name: str | None = None
) -> dict[str, Any]:
    """An SDK-readable AWS error that does not echo the secret value of ``name``."""
    body = assert_aws_error(response, status, code)
    if name is not None:
        assert secret_value(name).encode() not in response.body
    return body


def assert_no_secret(sm: Any, name: str) -> None:
    """Nothing under ``name``: not listed (even as planned for deletion), not describable."""
    listed = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True
    )["SecretList"]
    assert [s["Name"] for s in listed if s["Name"] == name] == []
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=name)


def utc_now() -> datetime:
    """Naive UTC, the form botocore's signer uses."""
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def name(unique: str) -> str:
    return f"/customer/cust-{unique}/edge-db-password"


# -- the positive control: the helpers sign exactly as botocore does --------------------------


def test_a_correctly_signed_hand_built_create_succeeds(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(server, name)
    response = post(server.endpoint, headers, body)
    assert response.status == 200, response.body
    assert response.headers["content-type"] == AMZ_JSON_1_1
    assert response.json()["Name"] == name
    assert sm.get_secret_value(SecretId=name)["SecretString"] == secret_value(name)


def test_a_signature_four_minutes_old_is_still_accepted(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(server, name, at=utc_now() - timedelta(minutes=4))
    assert post(server.endpoint, headers, body).status == 200
    assert sm.describe_secret(SecretId=name)["Name"] == name


# -- authentication ---------------------------------------------------------------------------


def test_no_authorization_header_is_403_missing_authentication_token(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(server, name)
    response = post(server.endpoint, drop_header(headers, "Authorization"), body)
    assert_rejected(response, 403, "MissingAuthenticationTokenException", name)
    assert_no_secret(sm, name)


def test_unknown_access_key_id_is_400_unrecognized_client(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(
        server,
        name,
        access_key_id="AKIAUNKNOWNKEY000001",
        secret_access_key=ROOT_SECRET_ACCESS_KEY,
    )
    response = post(server.endpoint, headers, body)
    assert_rejected(response, 400, "UnrecognizedClientException", name)
    assert_no_secret(sm, name)


def test_wrong_secret_access_key_is_invalid_signature(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(server, name, secret_access_key="not-the-root-secret-0000000000")
    response = post(server.endpoint, headers, body)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert error["message"].startswith(SIGNATURE_MISMATCH_PREFIX)
    assert_no_secret(sm, name)


@pytest.mark.parametrize(
    ("offset", "message_start"),
    [
        (timedelta(minutes=-6), "Signature expired"),
        (timedelta(minutes=6), "Signature not yet current"),
    ],
    ids=["six-minutes-old", "six-minutes-ahead"],
)
def test_x_amz_date_outside_five_minutes_is_invalid_signature(
    server: RunningServer, sm: Any, name: str, offset: timedelta, message_start: str
) -> None:
    headers, body = signed_create(server, name, at=utc_now() + offset)
    response = post(server.endpoint, headers, body)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert error["message"].startswith(message_start), error
    assert_no_secret(sm, name)


def test_signing_time_in_date_instead_of_x_amz_date_is_rejected(
    server: RunningServer, sm: Any, name: str
) -> None:
    """Strongroom takes the signing time from X-Amz-Date only (documented in sigv4.py)."""
    headers, body = signed_create(
        server, name, extra_headers={"Date": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert not any(k.lower() == "x-amz-date" for k, _ in headers)
    response = post(server.endpoint, headers, body)
    assert_rejected(response, 400, "IncompleteSignatureException", name)
    assert_no_secret(sm, name)


def test_an_unsigned_payload_is_rejected(server: RunningServer, sm: Any, name: str) -> None:
    """UNSIGNED-PAYLOAD would let anyone who sees one request replay its headers with any body."""
    headers, body = signed_create(
        server, name, extra_headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    assert "x-amz-content-sha256" in header_value(headers, "Authorization")
    response = post(server.endpoint, headers, body)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert "UNSIGNED-PAYLOAD" not in body.decode()
    assert "payload" in error["message"].lower()
    assert_no_secret(sm, name)


def test_credential_scoped_to_kms_on_a_secretsmanager_target_is_rejected(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, body = signed_create(server, name, service="kms")
    response = post(server.endpoint, headers, body)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert "Credential should be scoped to correct service: 'secretsmanager'" in error["message"]
    assert_no_secret(sm, name)


# -- tampering after signing ------------------------------------------------------------------


def test_body_changed_after_signing_is_invalid_signature(
    server: RunningServer, sm: Any, name: str
) -> None:
    headers, _ = signed_create(server, name)
    tampered = json.dumps({"Name": name, "SecretString": "attacker-chosen-value"}).encode()
    response = post(server.endpoint, headers, tampered)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert error["message"].startswith(SIGNATURE_MISMATCH_PREFIX)
    assert_no_secret(sm, name)


def test_operation_substitution_after_signing_is_rejected(
    server: RunningServer, sm: Any, name: str
) -> None:
    """A signed DescribeSecret whose target is swapped to DeleteSecret must not delete."""
    sm.create_secret(Name=name, SecretString="keep-me")
    # DescribeSecret ignores the extra member, so this one body is valid for both operations.
    body = json.dumps({"SecretId": name, "ForceDeleteWithoutRecovery": True}).encode()
    headers = sign(server.endpoint, body, target="secretsmanager.DescribeSecret")

    control = post(server.endpoint, headers, body)
    assert control.status == 200, control.body  # the signed request itself is fine

    swapped = replace_header(headers, "X-Amz-Target", "secretsmanager.DeleteSecret")
    error = assert_rejected(post(server.endpoint, swapped, body), 400, "InvalidSignatureException")
    assert error["message"].startswith(SIGNATURE_MISMATCH_PREFIX)
    described = sm.describe_secret(SecretId=name)
    assert "DeletedDate" not in described
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "keep-me"


def test_target_header_not_among_signed_headers_is_rejected(
    server: RunningServer, sm: Any, name: str
) -> None:
    body = create_body(name)
    headers = sign(server.endpoint, body, target=None)
    assert "x-amz-target" not in header_value(headers, "Authorization")
    response = post(server.endpoint, [*headers, ("X-Amz-Target", CREATE)], body)
    error = assert_rejected(response, 400, "InvalidSignatureException", name)
    assert "'X-Amz-Target' must be a 'SignedHeader'" in error["message"]
    assert_no_secret(sm, name)


def test_a_second_target_header_added_after_signing_is_rejected(
    server: RunningServer, sm: Any, name: str
) -> None:
    """Header smuggling: the signed target is DescribeSecret, a second one says DeleteSecret."""
    sm.create_secret(Name=name, SecretString="keep-me")
    body = json.dumps({"SecretId": name, "ForceDeleteWithoutRecovery": True}).encode()
    headers = sign(server.endpoint, body, target="secretsmanager.DescribeSecret")
    for smuggled in (
        [*headers, ("X-Amz-Target", "secretsmanager.DeleteSecret")],
        [("X-Amz-Target", "secretsmanager.DeleteSecret"), *headers],
    ):
        response = post(server.endpoint, smuggled, body)
        assert_rejected(response, 400, "InvalidSignatureException")
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)


# -- body size --------------------------------------------------------------------------------


def _raw_socket(server: RunningServer) -> socket.socket:
    host, _, port = host_of(server.endpoint).rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_first_response(sock: socket.socket) -> RawResponse:
    """The first response on ``sock``, read by hand: an interim ``100 Continue`` is not skipped
    (http.client would skip it), so a test sees exactly what the server said first."""
    reader = sock.makefile("rb")
    status = int(reader.readline().split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := reader.readline().rstrip(b"\r\n")) != b"":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return RawResponse(status, headers, body)


def _request_head(headers: Headers, framing: str) -> bytes:
    lines = ["POST / HTTP/1.1", *(f"{k}: {v}" for k, v in headers), framing]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_declared_body_over_1_mib_is_413_before_the_body_is_sent(
    server: RunningServer, sm: Any, name: str
) -> None:
    """Content-Length 1 MiB + 1: the answer comes while only one body byte was ever sent.

    If the server waited for the body it would never answer and the read would time out.
    """
    headers, _ = signed_create(server, name)
    with _raw_socket(server) as sock:
        sock.sendall(_request_head(headers, f"Content-Length: {MIB + 1}") + b"{")
        raw = _read_first_response(sock)
    body = assert_rejected(raw, 413, "RequestEntityTooLargeException")
    assert str(MIB) in body["message"]
    assert_no_secret(sm, name)


def test_expect_100_continue_with_an_oversized_body_gets_413_not_100(
    server: RunningServer, sm: Any, name: str
) -> None:
    """A client that waits for 100 Continue is told 413 and never invited to send 1 MiB."""
    headers, _ = signed_create(server, name)
    with _raw_socket(server) as sock:
        framing = f"Content-Length: {MIB + 1}\r\nExpect: 100-continue"
        sock.sendall(_request_head(headers, framing))
        raw = _read_first_response(sock)
    assert_rejected(raw, 413, "RequestEntityTooLargeException")
    assert_no_secret(sm, name)


def test_chunked_body_over_1_mib_is_413_without_waiting_for_its_end(
    server: RunningServer, sm: Any, name: str
) -> None:
    """No Content-Length to check up front: the server counts and stops at the limit."""
    headers, _ = signed_create(server, name)
    chunk = b" " * 65536
    with _raw_socket(server) as sock:
        sock.sendall(_request_head(headers, "Transfer-Encoding: chunked"))
        sent = 0
        while sent <= MIB:  # 1 MiB + 64 KiB, and never the terminating zero-length chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        raw = _read_first_response(sock)
    assert_rejected(raw, 413, "RequestEntityTooLargeException")
    assert_no_secret(sm, name)


def test_a_properly_signed_body_of_1_mib_plus_1_byte_is_413(
    server: RunningServer, sm: Any, name: str
) -> None:
    """Size is checked before the signature: even a valid signature does not buy a bigger body."""
    document = create_body(name)
    body = document[:-1] + b" " * (MIB + 1 - len(document)) + b"}"
    assert len(body) == MIB + 1
    headers = sign(server.endpoint, body, target=CREATE)
    assert_rejected(post(server.endpoint, headers, body), 413, "RequestEntityTooLargeException")
    assert_no_secret(sm, name)


def test_a_body_of_exactly_1_mib_is_accepted(server: RunningServer) -> None:
    body = b"{" + b" " * (MIB - 2) + b"}"
    assert len(body) == MIB
    headers = sign(server.endpoint, body, target="secretsmanager.GetRandomPassword")
    response = post(server.endpoint, headers, body)
    assert response.status == 200, response.body
    assert len(response.json()["RandomPassword"]) == 32


# -- method, path, target ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/foo", "//", "/%2F", "/secretsmanager", "/./"])
def test_a_path_other_than_root_is_unknown_operation(
    server: RunningServer, sm: Any, name: str, path: str
) -> None:
    headers, body = signed_create(server, name, path=path)
    response = post(server.endpoint, headers, body, path=path)
    assert_rejected(response, 400, "UnknownOperationException", name)
    assert_no_secret(sm, name)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_method_other_than_post_is_unknown_operation(
    server: RunningServer, sm: Any, name: str, method: str
) -> None:
    body = b"" if method == "GET" else create_body(name)
    headers = sign(server.endpoint, body, target=CREATE, method=method)
    with RawConnection(server.endpoint) as conn:
        response = conn.send(method, "/", headers, body)
    assert_rejected(response, 400, "UnknownOperationException", name)
    assert_no_secret(sm, name)


def test_get_root_without_signature_is_an_error(server: RunningServer) -> None:
    with RawConnection(server.endpoint) as conn:
        response = conn.send("GET", "/", [("Host", host_of(server.endpoint))], b"")
    assert 400 <= response.status < 500
    assert_aws_error(response, response.status)


def test_a_kms_grant_operation_of_the_identity_issue_is_served(
    server: RunningServer,
) -> None:
    response = sign_and_post(
        server.endpoint,
        "ListRetirableGrants",
        {"RetiringPrincipal": "arn:aws:iam::123456789012:root"},
        target_prefix="TrentService",
        service="kms",
    )
    assert response.status == 200, response.body
    assert isinstance(response.json()["Grants"], list)


def test_a_kms_target_signed_for_kms_is_served(server: RunningServer) -> None:
    response = sign_and_post(
        server.endpoint,
        "GenerateRandom",
        {"NumberOfBytes": 8},
        target_prefix="TrentService",
        service="kms",
    )
    assert response.status == 200, response.body


@pytest.mark.parametrize(
    ("operation", "document"),
    [
        ("RotateSecret", {"RotationRules": {"AutomaticallyAfterDays": 1}}),
        ("CancelRotateSecret", {}),
        ("ReplicateSecretToRegions", {"AddReplicaRegions": [{"Region": "eu-west-1"}]}),
    ],
)
def test_an_unbuilt_secrets_manager_operation_is_unknown_operation_and_changes_nothing(
    server: RunningServer, sm: Any, name: str, operation: str, document: dict[str, Any]
) -> None:
    sm.create_secret(Name=name, SecretString="unchanged")
    before = sm.describe_secret(SecretId=name)
    response = sign_and_post(server.endpoint, operation, {"SecretId": name, **document})
    error = assert_rejected(response, 400, "UnknownOperationException")
    assert operation in error["message"]
    after = sm.describe_secret(SecretId=name)
    for key in ("RotationEnabled", "ReplicationStatus", "LastChangedDate", "VersionIdsToStages"):
        assert after.get(key) == before.get(key), key


@pytest.mark.parametrize(
    "target",
    [
        "secretsmanager.createSecret",  # operation names are case-sensitive
        "SecretsManager.CreateSecret",
        "secretsmanager.CreateSecretX",
        "secretsmanager.",
        "CreateSecret",
        "secretsmanager.CreateSecret.CreateSecret",
    ],
)
def test_an_unknown_target_is_unknown_operation(
    server: RunningServer, sm: Any, name: str, target: str
) -> None:
    body = create_body(name)
    headers = sign(server.endpoint, body, target=target)
    assert_rejected(post(server.endpoint, headers, body), 400, "UnknownOperationException", name)
    assert_no_secret(sm, name)


# -- body syntax ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_body",
    [
        lambda name: b"{not json",
        lambda name: b"[]",
        lambda name: b'"CreateSecret"',
        lambda name: b"\xff\xfe{}",
        lambda name: create_body(name)[:-1],  # truncated
        lambda name: create_body(name) + b"{}",  # trailing garbage
        lambda name: create_body(name).replace(b'"SecretString"', b"'SecretString'"),
        # Duplicate member names: a parser that kept the first and one that kept the last
        # would create different secrets, so neither is acceptable.
        lambda name: f'{{"Name": "{name}", "Name": "{name}-2", "SecretString": "x"}}'.encode(),
        lambda name: f'{{"Name": "{name}", "SecretString": "x", "Pad": NaN}}'.encode(),
    ],
    ids=[
        "not-json",
        "array",
        "string",
        "not-utf8",
        "truncated",
        "trailing-data",
        "single-quotes",
        "duplicate-name",
        "nan",
    ],
)
def test_an_invalid_json_body_is_serialization_exception(
    server: RunningServer, sm: Any, name: str, make_body: Any
) -> None:
    body = make_body(name)
    headers = sign(server.endpoint, body, target=CREATE)
    error = assert_rejected(post(server.endpoint, headers, body), 400, "SerializationException")
    assert name not in error["message"]  # the body is never quoted back
    assert_no_secret(sm, name)
    assert_no_secret(sm, f"{name}-2")


def test_every_error_response_has_its_own_request_id(server: RunningServer) -> None:
    ids = set()
    for _ in range(3):
        response = sign_and_post(server.endpoint, "GetSecretValue", {"SecretId": "fuzz-absent"})
        assert_aws_error(response, 400, "ResourceNotFoundException")
        ids.add(response.headers["x-amzn-requestid"])
    assert len(ids) == 3
