"""The per-tenant KMS article's AWS CLI (v1) lines run against the dev server."""

# The article (/work/shared/reference/article-per-tenant-kms-keys.txt, step 6) has two `aws kms`
# commands, `enable-key-rotation` and a `re-encrypt` pipeline; both run here exactly as
# published, through bash, with $TENANT_CMK_ARN set and the venv's `aws` first on PATH. The
# other commands are the ones a reader needs around them (create the key and alias, make and
# unwrap a data key, rotate, delete), run as `aws kms ...` child processes.
# Not run: the article's `aws cloudtrail lookup-events ... | jq` audit line; Strongroom serves
# KMS, Secrets Manager and STS, not CloudTrail.
#
# The aws_env fixture sets AWS_ENDPOINT_URL, which the CLI v1 in the venv honours, so no
# --endpoint-url is passed anywhere; test_the_cli_talks_to_the_test_server proves it.

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.contract

AWS_CLI = Path(sys.executable).parent / "aws"
CLI_V1_ERROR_EXIT = 255  # CLI v1: a service (or client) error exits 255; v2 uses 254
ACME = {"tenant_id": "acme"}

# Step 6 of the article, verbatim.
ENABLE_KEY_ROTATION = """\
# Outer rotation: roll CMK backing material yearly, key id unchanged
aws kms enable-key-rotation --key-id "$TENANT_CMK_ARN"
"""
RE_ENCRYPT = """\
# Inner rotation: re-wrap a tenant's DEKs under the current CMK version
aws kms re-encrypt \\
--ciphertext-blob fileb://wrapped_dek.bin \\
--source-encryption-context tenant_id=acme \\
--destination-key-id "$TENANT_CMK_ARN" \\
--destination-encryption-context tenant_id=acme \\
--query CiphertextBlob --output text | base64 -d > wrapped_dek.new
"""


def aws(
    aws_env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``aws kms <args>`` as a child process; never raises on failure."""
    return subprocess.run(
        [str(AWS_CLI), "kms", *args],
        env=aws_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def aws_json(aws_env: dict[str, str], *args: str, cwd: Path | None = None) -> Any:
    """Run the CLI, require success, parse its JSON output."""
    result = aws(aws_env, *args, "--output", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def shell(
    aws_env: dict[str, str], script: str, cwd: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run an article snippet with bash (errexit, pipefail), the venv's `aws` first on PATH."""
    env = {**aws_env, **variables, "PATH": f"{AWS_CLI.parent}{os.pathsep}{aws_env['PATH']}"}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_cli_error(result: subprocess.CompletedProcess[str], code: str, operation: str) -> None:
    assert result.returncode == CLI_V1_ERROR_EXIT, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert f"An error occurred ({code}) when calling the {operation} operation" in result.stderr


def create_key(kms: Any) -> dict[str, Any]:
    """Setup the CLI is not under test for goes through boto3: each CLI run costs ~0.7 s."""
    metadata: dict[str, Any] = kms.create_key(Description="tenant CMK (CLI test)")["KeyMetadata"]
    return metadata


def write_data_key(kms: Any, key_id: str, directory: Path) -> bytes:
    """A data key for tenant acme; the wrapped key goes to wrapped_dek.bin."""
    generated = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=ACME)
    (directory / "wrapped_dek.bin").write_bytes(generated["CiphertextBlob"])
    return bytes(generated["Plaintext"])


def test_the_cli_talks_to_the_test_server(
    aws_env: dict[str, str], kms: Any, tmp_path: Path
) -> None:
    key = aws_json(aws_env, "create-key", "--description", "made by the CLI")["KeyMetadata"]
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Arn"] == key["Arn"]
    found = shell(aws_env, "command -v aws", tmp_path)
    assert found.stdout.strip() == str(AWS_CLI)


def test_create_key_create_alias_and_list_aliases(
    aws_env: dict[str, str], kms: Any, unique: str
) -> None:
    key = aws_json(aws_env, "create-key", "--description", "tenant CMK (CLI test)")["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert key["Enabled"] is True
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["Origin"] == "AWS_KMS"
    assert key["Description"] == "tenant CMK (CLI test)"
    assert key["Arn"] == f"arn:aws:kms:us-east-1:123456789012:key/{key['KeyId']}"

    alias = f"alias/tenant-acme-{unique}"
    created = aws(aws_env, "create-alias", "--alias-name", alias, "--target-key-id", key["KeyId"])
    assert (created.returncode, created.stdout) == (0, ""), created.stderr

    listed = aws_json(aws_env, "list-aliases", "--key-id", key["KeyId"])
    [entry] = listed["Aliases"]
    assert entry["AliasName"] == alias
    assert entry["AliasArn"] == f"arn:aws:kms:us-east-1:123456789012:{alias}"
    assert entry["TargetKeyId"] == key["KeyId"]
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]

    again = aws(aws_env, "create-alias", "--alias-name", alias, "--target-key-id", key["KeyId"])
    assert_cli_error(again, "AlreadyExistsException", "CreateAlias")


def test_generate_data_key_then_decrypt_only_under_the_same_tenant(
    aws_env: dict[str, str], kms: Any, unique: str, tmp_path: Path
) -> None:
    key = create_key(kms)
    alias = f"alias/tenant-acme-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])

    generated = aws_json(
        aws_env,
        "generate-data-key",
        "--key-id",
        alias,
        "--key-spec",
        "AES_256",
        "--encryption-context",
        "tenant_id=acme",
    )
    assert generated["KeyId"] == key["Arn"]
    plaintext = base64.b64decode(generated["Plaintext"])
    assert len(plaintext) == 32
    (tmp_path / "wrapped_dek.bin").write_bytes(base64.b64decode(generated["CiphertextBlob"]))

    decrypted = aws_json(
        aws_env,
        "decrypt",
        "--ciphertext-blob",
        "fileb://wrapped_dek.bin",
        "--encryption-context",
        "tenant_id=acme",
        cwd=tmp_path,
    )
    assert base64.b64decode(decrypted["Plaintext"]) == plaintext
    assert decrypted["KeyId"] == key["Arn"]
    assert decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"

    for refused in (
        ["--encryption-context", "tenant_id=globex"],
        ["--encryption-context", "tenant_id=acme,tier=gold"],
        [],
    ):
        result = aws(
            aws_env,
            "decrypt",
            "--ciphertext-blob",
            "fileb://wrapped_dek.bin",
            *refused,
            cwd=tmp_path,
        )
        assert_cli_error(result, "InvalidCiphertextException", "Decrypt")


def test_the_articles_enable_key_rotation_line(
    aws_env: dict[str, str], kms: Any, tmp_path: Path
) -> None:
    key = create_key(kms)
    assert kms.get_key_rotation_status(KeyId=key["Arn"])["KeyRotationEnabled"] is False

    result = shell(aws_env, ENABLE_KEY_ROTATION, tmp_path, TENANT_CMK_ARN=key["Arn"])
    assert (result.returncode, result.stdout) == (0, ""), result.stderr

    status = aws_json(aws_env, "get-key-rotation-status", "--key-id", key["Arn"])
    assert status["KeyRotationEnabled"] is True
    assert status["KeyId"] == key["Arn"]
    assert status["RotationPeriodInDays"] == 365
    assert "NextRotationDate" in status


def test_the_articles_re_encrypt_pipeline_rewraps_under_the_current_material(
    aws_env: dict[str, str], kms: Any, tmp_path: Path
) -> None:
    key = create_key(kms)
    plaintext = write_data_key(kms, key["Arn"], tmp_path)
    kms.rotate_key_on_demand(KeyId=key["Arn"])
    current = kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]
    assert current["CurrentKeyMaterialId"] != key["CurrentKeyMaterialId"]

    result = shell(aws_env, RE_ENCRYPT, tmp_path, TENANT_CMK_ARN=key["Arn"])
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    rewrapped = (tmp_path / "wrapped_dek.new").read_bytes()
    assert rewrapped
    assert rewrapped != (tmp_path / "wrapped_dek.bin").read_bytes()

    opened = aws_json(
        aws_env,
        "decrypt",
        "--ciphertext-blob",
        "fileb://wrapped_dek.new",
        "--encryption-context",
        "tenant_id=acme",
        cwd=tmp_path,
    )
    assert base64.b64decode(opened["Plaintext"]) == plaintext
    assert opened["KeyMaterialId"] == current["CurrentKeyMaterialId"]
    refused = aws(
        aws_env,
        "decrypt",
        "--ciphertext-blob",
        "fileb://wrapped_dek.new",
        "--encryption-context",
        "tenant_id=globex",
        cwd=tmp_path,
    )
    assert_cli_error(refused, "InvalidCiphertextException", "Decrypt")


def test_the_articles_re_encrypt_pipeline_moves_a_data_key_to_another_key(
    aws_env: dict[str, str], kms: Any, tmp_path: Path
) -> None:
    old, new = create_key(kms), create_key(kms)
    plaintext = write_data_key(kms, old["Arn"], tmp_path)

    result = shell(aws_env, RE_ENCRYPT, tmp_path, TENANT_CMK_ARN=new["Arn"])
    assert result.returncode == 0, result.stderr
    opened = aws_json(
        aws_env,
        "decrypt",
        "--ciphertext-blob",
        "fileb://wrapped_dek.new",
        "--encryption-context",
        "tenant_id=acme",
        cwd=tmp_path,
    )
    assert (base64.b64decode(opened["Plaintext"]), opened["KeyId"]) == (plaintext, new["Arn"])
    pinned = aws(
        aws_env,
        "decrypt",
        "--ciphertext-blob",
        "fileb://wrapped_dek.new",
        "--encryption-context",
        "tenant_id=acme",
        "--key-id",
        old["Arn"],
        cwd=tmp_path,
    )
    assert_cli_error(pinned, "IncorrectKeyException", "Decrypt")


def test_the_re_encrypt_pipeline_fails_under_another_tenant(
    aws_env: dict[str, str], kms: Any, tmp_path: Path
) -> None:
    key = create_key(kms)
    write_data_key(kms, key["Arn"], tmp_path)
    script = RE_ENCRYPT.replace("tenant_id=acme", "tenant_id=globex")
    result = shell(aws_env, script, tmp_path, TENANT_CMK_ARN=key["Arn"])
    assert result.returncode != 0
    expected = "An error occurred (InvalidCiphertextException) when calling the ReEncrypt operation"
    assert expected in result.stderr
    assert (tmp_path / "wrapped_dek.new").read_bytes() == b""  # the shell made it; nothing came


def scheduled_date(scheduled: dict[str, Any]) -> datetime:
    """CLI v1 prints a timestamp as it came on the wire: JSON epoch seconds."""
    return datetime.fromtimestamp(scheduled["DeletionDate"], tz=UTC)


def test_schedule_key_deletion_with_a_seven_day_window(aws_env: dict[str, str], kms: Any) -> None:
    key = create_key(kms)
    scheduled = aws_json(
        aws_env, "schedule-key-deletion", "--key-id", key["KeyId"], "--pending-window-in-days", "7"
    )
    assert scheduled["KeyId"] == key["Arn"]
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7
    assert "DeletionDate" in scheduled
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("PendingDeletion", False)
    assert described["DeletionDate"] == scheduled_date(scheduled)

    assert kms.cancel_key_deletion(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "Disabled"  # a cancelled deletion leaves the key disabled
    assert "DeletionDate" not in described


@pytest.mark.parametrize("days", ["6", "31"])
def test_schedule_key_deletion_outside_seven_to_thirty_days_is_refused(
    aws_env: dict[str, str], kms: Any, days: str
) -> None:
    key = create_key(kms)
    result = aws(
        aws_env, "schedule-key-deletion", "--key-id", key["KeyId"], "--pending-window-in-days", days
    )
    assert_cli_error(result, "ValidationException", "ScheduleKeyDeletion")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_unknown_alias_and_garbage_ciphertext(
    aws_env: dict[str, str], unique: str, tmp_path: Path
) -> None:
    missing = aws(aws_env, "describe-key", "--key-id", f"alias/absent-{unique}")
    assert_cli_error(missing, "NotFoundException", "DescribeKey")
    (tmp_path / "garbage.bin").write_bytes(os.urandom(64))
    garbage = aws(aws_env, "decrypt", "--ciphertext-blob", "fileb://garbage.bin", cwd=tmp_path)
    assert_cli_error(garbage, "InvalidCiphertextException", "Decrypt")
