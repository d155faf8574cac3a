"""Secrets under customer KMS keys: each reference form, key state changes, re-encryption."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

DAY = 86_400
# The server caches key records for up to a second; a change must show within this long.
KEY_STATE_DEADLINE_SECONDS = 1.5


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def eventually_fails(call: Callable[[], Any], code: str) -> None:
    """Poll ``call`` until it fails, which must be with ``code`` and without a value."""
    deadline = time.monotonic() + KEY_STATE_DEADLINE_SECONDS
    while True:
        try:
            response = call()
        except ClientError as exc:
            failure = exc.response
            break
        assert time.monotonic() < deadline, f"still succeeds, expected {code}: {response!r}"
        time.sleep(0.05)
    assert failure["Error"]["Code"] == code, failure["Error"]
    assert "SecretString" not in failure
    assert "SecretBinary" not in failure


def eventually_succeeds(call: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + KEY_STATE_DEADLINE_SECONDS
    while True:
        try:
            return call()
        except ClientError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def new_key(kms: Any, unique: str, suffix: str = "") -> dict[str, str]:
    """A symmetric customer key with an alias: its id, ARN, alias name and alias ARN."""
    metadata = kms.create_key(Description=f"secrets test {unique}{suffix}")["KeyMetadata"]
    alias = f"alias/secrets-{unique}{suffix}"
    kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
    region_account = metadata["Arn"].rsplit(":", 1)[0]
    return {
        "id": metadata["KeyId"],
        "arn": metadata["Arn"],
        "alias": alias,
        "alias_arn": f"{region_account}:{alias}",
    }


def key_arns_of_versions(sm: Any, secret_id: str) -> dict[str, list[str]]:
    versions = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]
    return {v["VersionId"]: v["KmsKeyIds"] for v in versions}


@pytest.mark.parametrize("form", ["id", "arn", "alias", "alias_arn"])
def test_a_secret_can_name_its_key_in_every_form(sm: Any, kms: Any, unique: str, form: str) -> None:
    key = new_key(kms, unique)
    created = sm.create_secret(
        Name=f"cmk/{unique}/{form}", SecretString="under my key", KmsKeyId=key[form]
    )
    value = sm.get_secret_value(SecretId=created["ARN"])
    assert value["SecretString"] == "under my key"
    described = sm.describe_secret(SecretId=created["ARN"])
    assert described["KmsKeyId"] in (key[form], key["arn"])
    # The value really is under the customer key, not the default one.
    assert key_arns_of_versions(sm, created["ARN"]) == {created["VersionId"]: [key["arn"]]}
    assert kms.get_key_last_usage(KeyId=key["id"])["KeyLastUsage"]["Operation"] == "Decrypt"


def test_the_key_state_decides_whether_the_secret_can_be_used(
    sm: Any, kms: Any, unique: str
) -> None:
    key = new_key(kms, unique)
    arn = sm.create_secret(Name=f"cmk/{unique}/states", SecretString="v1", KmsKeyId=key["id"])[
        "ARN"
    ]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v1"

    kms.disable_key(KeyId=key["id"])
    eventually_fails(lambda: sm.get_secret_value(SecretId=arn), "DecryptionFailure")
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=arn, SecretString="v2")
    assert error_code(excinfo) == "EncryptionFailure"

    kms.enable_key(KeyId=key["id"])
    assert eventually_succeeds(lambda: sm.get_secret_value(SecretId=arn))["SecretString"] == "v1"
    sm.put_secret_value(SecretId=arn, SecretString="v2")
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v2"

    kms.schedule_key_deletion(KeyId=key["id"], PendingWindowInDays=7)
    eventually_fails(lambda: sm.get_secret_value(SecretId=arn), "DecryptionFailure")
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=arn, SecretString="v3")
    assert error_code(excinfo) == "EncryptionFailure"

    kms.cancel_key_deletion(KeyId=key["id"])
    # Cancelled deletion leaves the key Disabled: still unreadable until enabled.
    eventually_fails(lambda: sm.get_secret_value(SecretId=arn), "DecryptionFailure")
    kms.enable_key(KeyId=key["id"])
    assert eventually_succeeds(lambda: sm.get_secret_value(SecretId=arn))["SecretString"] == "v2"
    assert sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == "v1"


def test_changing_the_key_re_encrypts_the_labelled_versions(sm: Any, kms: Any, unique: str) -> None:
    old = new_key(kms, unique, "-old")
    new = new_key(kms, unique, "-new")
    created = sm.create_secret(
        Name=f"cmk/{unique}/rekey", SecretString="first", KmsKeyId=old["arn"]
    )
    arn = created["ARN"]
    unlabelled = created["VersionId"]
    previous = sm.put_secret_value(SecretId=arn, SecretString="second")["VersionId"]
    current = sm.put_secret_value(SecretId=arn, SecretString="third")["VersionId"]
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages == {current: ["AWSCURRENT"], previous: ["AWSPREVIOUS"]}

    sm.update_secret(SecretId=arn, KmsKeyId=new["alias"])
    assert sm.describe_secret(SecretId=arn)["KmsKeyId"] in (new["alias"], new["arn"])
    assert key_arns_of_versions(sm, arn) == {
        current: [new["arn"]],
        previous: [new["arn"]],
        unlabelled: [old["arn"]],
    }

    kms.disable_key(KeyId=old["id"])
    eventually_fails(
        lambda: sm.get_secret_value(SecretId=arn, VersionId=unlabelled), "DecryptionFailure"
    )
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "third"
    assert sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == "second"
    # New values go under the new key too.
    sm.put_secret_value(SecretId=arn, SecretString="fourth")
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "fourth"
    assert sm.get_secret_value(SecretId=arn, VersionId=current)["SecretString"] == "third"

    # The unlabelled version is still there, readable again with the old key.
    kms.enable_key(KeyId=old["id"])
    value = eventually_succeeds(lambda: sm.get_secret_value(SecretId=arn, VersionId=unlabelled))
    assert value["SecretString"] == "first"


def test_a_key_that_cannot_make_data_keys_is_refused(sm: Any, kms: Any, unique: str) -> None:
    asymmetric = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    name = f"cmk/{unique}/asymmetric"
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=name, SecretString="x", KmsKeyId=asymmetric["KeyId"])
    # One of CreateSecret's documented errors (EncryptionFailure would be the other).
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        sm.describe_secret(SecretId=name)
    assert error_code(excinfo) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "reference",
    [str(uuid.uuid4()), "alias/no-such-alias-for-secrets", "arn"],
    ids=["key-id", "alias", "key-arn"],
)
def test_a_key_that_does_not_exist_is_not_found(
    sm: Any, kms: Any, unique: str, reference: str
) -> None:
    if reference == "arn":
        region_account = kms.create_key()["KeyMetadata"]["Arn"].rsplit(":", 1)[0]
        reference = f"{region_account}:key/{uuid.uuid4()}"
    name = f"cmk/{unique}/missing"
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=name, SecretString="x", KmsKeyId=reference)
    assert error_code(excinfo) == "ResourceNotFoundException"
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    with pytest.raises(ClientError) as excinfo:
        sm.update_secret(SecretId=arn, KmsKeyId=reference)
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "x"


# -- destroyed keys (a server of our own: the clock moves) -------------------------------


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("secrets-cmk-data"))
    try:
        yield running
    finally:
        running.stop()


def test_a_secret_under_a_destroyed_key_is_gone_for_good(clock_server: RunningServer) -> None:
    sm = clock_server.client("secretsmanager")
    kms = clock_server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    arn = sm.create_secret(Name="cmk/destroyed", SecretString="last words", KmsKeyId=key_id)["ARN"]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "last words"
    kms.schedule_key_deletion(KeyId=key_id)  # the default 30-day window

    clock_server.advance_clock(31 * DAY)

    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=key_id)
    assert error_code(excinfo) == "NotFoundException"
    for _ in range(3):
        eventually_fails(lambda: sm.get_secret_value(SecretId=arn), "DecryptionFailure")
    # The secret itself is still described; only its value is lost.
    assert sm.describe_secret(SecretId=arn)["ARN"] == arn
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=arn, SecretString="new")
    assert error_code(excinfo) == "EncryptionFailure"
