"""Canaries: secret values, passwords, plaintexts, data keys, secret access keys and session
tokens handed to or out of the server never appear in the audit trail, the server log,
the metrics or any error message (nor do their base64 or hex forms)."""

from __future__ import annotations

import base64
import secrets
import sqlite3
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import principals
from tests.support.audit_records import data_db, records
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

ROUNDS = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("audit-canaries") / "data")
    try:
        yield running
    finally:
        running.stop()


class Canaries:
    """Every secret thing a test saw, and the errors it was answered with."""

    def __init__(self) -> None:
        self.texts: set[str] = set()
        self.blobs: set[bytes] = set()
        self.errors: list[str] = []

    def text(self, value: str) -> str:
        self.texts.add(value)
        return value

    def blob(self, value: bytes) -> bytes:
        self.blobs.add(value)
        return value

    def error(self, call: Any, *args: Any, **kwargs: Any) -> str:
        with pytest.raises(ClientError) as caught:
            call(*args, **kwargs)
        message = str(caught.value.response["Error"].get("Message", ""))
        self.errors.append(message)
        return str(caught.value.response["Error"]["Code"])

    def needles(self) -> list[bytes]:
        found: list[bytes] = []
        for text in self.texts:
            raw = text.encode()
            found += [raw, base64.b64encode(raw)]
        for blob in self.blobs:
            found += [blob, base64.b64encode(blob), blob.hex().encode()]
        return found


def text_canary(kind: str) -> str:
    return f"CANARY-{kind}-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def planted(server: RunningServer) -> Canaries:
    canaries = Canaries()
    sm = server.client("secretsmanager")
    kms = server.client("kms")
    iam = server.client("iam")
    key_id = kms.create_key(Description="canary key")["KeyMetadata"]["KeyId"]
    arns: list[str] = []
    for index in range(ROUNDS):
        # Secret values, string and binary, written three ways and read back two.
        string_arn = sm.create_secret(
            Name=f"canary/string-{index}", SecretString=canaries.text(text_canary("string"))
        )["ARN"]
        binary_arn = sm.create_secret(
            Name=f"canary/binary-{index}",
            SecretBinary=canaries.blob(secrets.token_bytes(24)),
            KmsKeyId=key_id,
        )["ARN"]
        sm.put_secret_value(SecretId=string_arn, SecretString=canaries.text(text_canary("put")))
        sm.update_secret(SecretId=binary_arn, SecretBinary=canaries.blob(secrets.token_bytes(32)))
        assert sm.get_secret_value(SecretId=string_arn)["SecretString"] in canaries.texts
        assert sm.get_secret_value(SecretId=binary_arn)["SecretBinary"] in canaries.blobs
        arns += [string_arn, binary_arn]
        # Passwords the server makes.
        canaries.text(sm.get_random_password(PasswordLength=40)["RandomPassword"])
        # KMS plaintexts in and out, data keys, random bytes.
        plaintext = canaries.blob(text_canary("plaintext").encode())
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
        data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        canaries.blob(data_key["Plaintext"])
        canaries.blob(kms.generate_random(NumberOfBytes=32)["Plaintext"])
        canaries.blob(kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"])
        reencrypted = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id)
        assert kms.decrypt(CiphertextBlob=reencrypted["CiphertextBlob"])["Plaintext"] == plaintext
    values = sm.batch_get_secret_value(SecretIdList=arns[:20])["SecretValues"]
    assert len(values) == 20

    # IAM secret access keys and STS session tokens (and the session's secret key).
    for index in range(3):
        user = principals.user(
            server, f"canary-user-{index}", policies={"all": principals.allow(["*"])}
        )
        canaries.text(user.secret_access_key)
        extra = iam.create_access_key(UserName=f"canary-user-{index}")["AccessKey"]
        canaries.text(extra["SecretAccessKey"])
        role_arn = principals.role(
            server, f"canary-role-{index}", policies={"all": principals.allow(["*"])}
        )
        session = principals.assume(user, role_arn, f"canary-session-{index}")
        canaries.text(session.secret_access_key)
        assert session.session_token is not None
        canaries.text(session.session_token)
        # The session is used, so its key and token cross the edge in every request.
        session.client("secretsmanager").get_secret_value(SecretId=arns[0])
        token = user.client("sts").get_session_token()["Credentials"]
        canaries.text(token["SecretAccessKey"])
        canaries.text(token["SessionToken"])

    # Errors around secret material: none may quote it back.
    too_long = canaries.text(text_canary("too-long") * 6000)
    assert canaries.error(sm.create_secret, Name="canary/too-long", SecretString=too_long) in (
        "ValidationException",
        "InvalidParameterException",
    )
    token = "canary-idempotency-token-0000000000000001"
    sm.put_secret_value(
        SecretId=arns[0], SecretString=canaries.text(text_canary("first")), ClientRequestToken=token
    )
    canaries.error(
        sm.put_secret_value,
        SecretId=arns[0],
        SecretString=canaries.text(text_canary("conflict")),
        ClientRequestToken=token,
    )
    canaries.error(kms.encrypt, KeyId=key_id, Plaintext=canaries.blob(secrets.token_bytes(4097)))
    canaries.error(kms.decrypt, CiphertextBlob=canaries.blob(text_canary("not-a-blob").encode()))
    canaries.error(
        sm.create_secret,
        Name="canary/both",
        SecretString=canaries.text(text_canary("both")),
        SecretBinary=canaries.blob(secrets.token_bytes(16)),
    )
    nobody = principals.user(server, "canary-nobody")
    canaries.error(nobody.client("secretsmanager").get_secret_value, SecretId=arns[0])
    canaries.error(
        nobody.client("kms").encrypt, KeyId=key_id, Plaintext=canaries.blob(b"CANARY-denied")
    )
    return canaries


def absent(haystack: bytes, canaries: Canaries, where: str) -> None:
    leaked = [needle for needle in canaries.needles() if needle in haystack]
    assert not leaked, f"{len(leaked)} canaries in {where}, e.g. {leaked[0][:40]!r}"


def test_the_calls_were_recorded(server: RunningServer, planted: Canaries) -> None:
    names = {r["eventName"] for r in records(server)}
    assert {
        "CreateSecret",
        "PutSecretValue",
        "UpdateSecret",
        "GetSecretValue",
        "BatchGetSecretValue",
        "GetRandomPassword",
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateRandom",
        "CreateAccessKey",
        "AssumeRole",
        "GetSessionToken",
    } <= names
    assert len(planted.texts) + len(planted.blobs) > 100


def test_no_canary_in_the_audit_trail(server: RunningServer, planted: Canaries) -> None:
    with closing(sqlite3.connect(data_db(server), timeout=30)) as connection:
        rows = connection.execute(
            "SELECT record, coalesce(username, ''), coalesce(access_key_id, ''), "
            "coalesce(principal_arn, ''), coalesce(error_code, '') FROM audit_events"
        ).fetchall()
        resources = connection.execute("SELECT resource_name FROM audit_event_resources").fetchall()
    assert len(rows) > 150
    trail = b"\n".join(
        bytes(row[0]) + b"|" + "|".join(row[1:]).encode() for row in rows
    ) + b"\n".join(str(r[0]).encode() for r in resources)
    # The haystack is the real one: it names the callers and the secrets.
    assert b"arn:aws:iam::123456789012:user/canary-user-0" in trail
    assert b"canary/string-0" in trail
    absent(trail, planted, "the audit trail")


def test_no_canary_in_the_log(server: RunningServer, planted: Canaries) -> None:
    absent(server.log().encode(), planted, "the server log")


def test_no_canary_in_the_metrics(server: RunningServer, planted: Canaries) -> None:
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as response:  # noqa: S310
        body = response.read()
    assert b"strongroom_requests" in body
    absent(body, planted, "/metrics")


def test_no_canary_in_an_error_message(planted: Canaries) -> None:
    assert len(planted.errors) >= 7
    absent("\n".join(planted.errors).encode(), planted, "error messages")
