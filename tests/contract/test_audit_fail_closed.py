"""Fail closed: while the audit trail cannot be written, nothing secret is answered and nothing
changes; once it can, everything works again and the chain still verifies."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import principals
from tests.support.audit_records import data_db, records, verify_chain
from tests.support.raw_http import sign_and_post
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

SECRET = "CANARY-fail-closed-secret-value-3b1f"
NEW_SECRET = "CANARY-fail-closed-new-value-77aa"
PLAINTEXT = b"CANARY-fail-closed-plaintext-91c2"
UNAVAILABLE = "The audit trail is unavailable."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("audit-fail-closed") / "data")
    try:
        yield running
    finally:
        running.stop()


def block(server: RunningServer) -> None:
    with closing(sqlite3.connect(data_db(server), timeout=30)) as connection:
        connection.execute(
            "CREATE TRIGGER audit_blocked BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit blocked'); END"
        )
        connection.commit()


def unblock(server: RunningServer) -> None:
    with closing(sqlite3.connect(data_db(server), timeout=30)) as connection:
        connection.execute("DROP TRIGGER audit_blocked")
        connection.commit()


def stages(sm: Any, arn: str) -> dict[str, list[str]]:
    versions = sm.list_secret_version_ids(SecretId=arn)["Versions"]
    return {v["VersionId"]: v["VersionStages"] for v in versions}


def assert_internal_error(error: ClientError, code: str, status: int = 500) -> None:
    assert error.response["Error"]["Code"] == code
    assert error.response["Error"]["Message"] == UNAVAILABLE
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_nothing_secret_is_answered_and_nothing_changes_while_the_trail_is_down(
    server: RunningServer,
) -> None:
    sm = server.client("secretsmanager")
    kms = server.client("kms")
    arn = sm.create_secret(Name="fail-closed/db", SecretString=SECRET)["ARN"]
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)["CiphertextBlob"]
    versions_before = stages(sm, arn)
    events_before = len(records(server))

    block(server)
    try:
        # Reads of secret material: a 5xx, and not one byte of the secret.
        with pytest.raises(ClientError) as read:
            sm.get_secret_value(SecretId=arn)
        assert_internal_error(read.value, "InternalServiceError")
        raw = sign_and_post(server.endpoint, "GetSecretValue", {"SecretId": arn})
        assert raw.status == 500
        assert SECRET.encode() not in raw.body
        assert raw.json() == {"__type": "InternalServiceError", "message": UNAVAILABLE}

        with pytest.raises(ClientError) as decrypt:
            kms.decrypt(CiphertextBlob=blob)
        assert_internal_error(decrypt.value, "KMSInternalException")
        raw = sign_and_post(
            server.endpoint,
            "Decrypt",
            {"CiphertextBlob": base64.b64encode(blob).decode()},
            target_prefix="TrentService",
            service="kms",
        )
        assert raw.status == 500
        assert PLAINTEXT not in raw.body
        assert base64.b64encode(PLAINTEXT) not in raw.body
        with pytest.raises(ClientError) as data_key:
            kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        assert_internal_error(data_key.value, "KMSInternalException")
        with pytest.raises(ClientError) as password:
            sm.get_random_password()
        assert_internal_error(password.value, "InternalServiceError")

        # Mutations fail, and their change is rolled back with their event.
        with pytest.raises(ClientError) as put:
            sm.put_secret_value(SecretId=arn, SecretString=NEW_SECRET)
        assert_internal_error(put.value, "InternalServiceError")
        with pytest.raises(ClientError) as create:
            sm.create_secret(Name="fail-closed/never", SecretString=NEW_SECRET)
        assert_internal_error(create.value, "InternalServiceError")
        with pytest.raises(ClientError) as create_key:
            kms.create_key(Description="never")
        assert_internal_error(create_key.value, "KMSInternalException")
        with pytest.raises(ClientError) as create_user:
            server.client("iam").create_user(UserName="fail-closed-never")
        assert_internal_error(create_user.value, "ServiceFailure")
        # Refusals and failures are not answered either: their events cannot be written.
        with pytest.raises(ClientError) as missing:
            sm.describe_secret(SecretId="fail-closed/no-such-secret")
        assert_internal_error(missing.value, "InternalServiceError")
    finally:
        unblock(server)

    assert len(records(server)) == events_before  # nothing got through
    # The secret is as it was: same value, same versions.
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == SECRET
    assert stages(sm, arn) == versions_before
    with pytest.raises(ClientError) as never:
        sm.describe_secret(SecretId="fail-closed/never")
    assert never.value.response["Error"]["Code"] == "ResourceNotFoundException"
    keys = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert not any(
        kms.describe_key(KeyId=k)["KeyMetadata"].get("Description") == "never" for k in keys
    )
    with pytest.raises(ClientError) as no_user:
        server.client("iam").get_user(UserName="fail-closed-never")
    assert no_user.value.response["Error"]["Code"] == "NoSuchEntity"


def test_everything_works_again_once_the_trail_recovers(server: RunningServer) -> None:
    sm = server.client("secretsmanager")
    kms = server.client("kms")
    block(server)
    unblock(server)
    arn = sm.describe_secret(SecretId="fail-closed/db")["ARN"]
    sm.put_secret_value(SecretId=arn, SecretString=NEW_SECRET)
    read = sm.get_secret_value(SecretId=arn)
    assert read["SecretString"] == NEW_SECRET
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT
    user = principals.user(server, "fail-closed-after")
    assert user.arn.endswith(":user/fail-closed-after")
    request_id = read["ResponseMetadata"]["RequestId"]
    assert [r["eventName"] for r in records(server) if r["requestID"] == request_id] == [
        "GetSecretValue"
    ]
    result = verify_chain(server)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_outage_is_in_the_log_without_secrets(server: RunningServer) -> None:
    log = server.log()
    assert "audit" in log.lower()
    for canary in (SECRET, NEW_SECRET, PLAINTEXT.decode()):
        assert canary not in log
