"""The real AWS CLI (v1) drives Secrets Manager on the dev server end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.contract

# The AWS CLI v1 in the venv (awscli 1.46, botocore 1.44) honours AWS_ENDPOINT_URL, which
# the aws_env fixture sets, so no --endpoint-url is passed anywhere below.
# test_the_cli_talks_to_the_test_server proves the calls land on this server, not on AWS.

CLI_V1_ERROR_EXIT = 255  # CLI v1: a service (or client) error exits 255; v2 uses 254


def aws(aws_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``aws secretsmanager <args>`` as a child process; never raises on failure."""
    return subprocess.run(
        [sys.executable, "-m", "awscli", "secretsmanager", *args],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def aws_json(aws_env: dict[str, str], *args: str) -> Any:
    """Run the CLI, require success, parse its JSON output."""
    result = aws(aws_env, *args, "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def aws_text(aws_env: dict[str, str], *args: str) -> str:
    result = aws(aws_env, *args, "--output", "text")
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_cli_error(result: subprocess.CompletedProcess[str], code: str, operation: str) -> None:
    assert result.returncode == CLI_V1_ERROR_EXIT, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert f"An error occurred ({code}) when calling the {operation} operation" in result.stderr


def test_the_cli_talks_to_the_test_server(aws_env: dict[str, str], sm: Any, unique: str) -> None:
    name = f"/customer/cust-{unique}/db-password"
    created = aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "from-cli")
    # boto3 pointed explicitly at the test server sees what the CLI made.
    assert sm.describe_secret(SecretId=name)["ARN"] == created["ARN"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "from-cli"


def test_create_secret_then_get_secret_value_as_text(aws_env: dict[str, str], unique: str) -> None:
    name = f"/customer/cust-{unique}/db-password"
    value = "p@ss w0rd with spaces & symbols"
    created = aws_json(aws_env, "create-secret", "--name", name, "--secret-string", value)
    assert created["Name"] == name
    arn_prefix = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-"
    assert created["ARN"].startswith(arn_prefix)
    uuid.UUID(created["VersionId"])

    text = aws_text(aws_env, "get-secret-value", "--secret-id", name, "--query", "SecretString")
    assert text == f"{value}\n"
    by_arn = aws_text(
        aws_env, "get-secret-value", "--secret-id", created["ARN"], "--query", "SecretString"
    )
    assert by_arn == f"{value}\n"


def test_put_secret_value_makes_a_new_current_version(aws_env: dict[str, str], unique: str) -> None:
    name = f"/customer/cust-{unique}/api-key-stripe"
    first = aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "v1")
    second = aws_json(aws_env, "put-secret-value", "--secret-id", name, "--secret-string", "v2")
    assert second["VersionId"] != first["VersionId"]
    assert second["VersionStages"] == ["AWSCURRENT"]

    current = aws_text(aws_env, "get-secret-value", "--secret-id", name, "--query", "SecretString")
    previous = aws_text(
        aws_env,
        "get-secret-value",
        "--secret-id",
        name,
        "--version-stage",
        "AWSPREVIOUS",
        "--query",
        "SecretString",
    )
    assert (current, previous) == ("v2\n", "v1\n")

    described = aws_json(aws_env, "describe-secret", "--secret-id", name)
    assert described["Name"] == name
    assert described["ARN"] == first["ARN"]
    assert described["VersionIdsToStages"] == {
        first["VersionId"]: ["AWSPREVIOUS"],
        second["VersionId"]: ["AWSCURRENT"],
    }


def test_list_secrets_with_a_name_filter_returns_only_that_customer(
    aws_env: dict[str, str], unique: str
) -> None:
    mine = [f"/customer/cust-{unique}/db-password", f"/customer/cust-{unique}/api-key"]
    other = f"/customer/cust-{unique}x/db-password"  # a neighbour: cust-<id> is its prefix too
    for name in [*mine, other]:
        aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "x")

    listed = aws_json(
        aws_env, "list-secrets", "--filters", f"Key=name,Values=/customer/cust-{unique}/"
    )
    assert sorted(s["Name"] for s in listed["SecretList"]) == sorted(mine)
    for entry in listed["SecretList"]:
        assert "SecretString" not in entry  # listing never returns values


def test_list_secrets_with_a_tag_filter(aws_env: dict[str, str], unique: str) -> None:
    tagged = f"/customer/cust-{unique}/tagged"
    untagged = f"/customer/cust-{unique}/untagged"
    aws_json(
        aws_env,
        "create-secret",
        "--name",
        tagged,
        "--secret-string",
        "x",
        "--tags",
        f"Key=customer,Value=cust-{unique}",
    )
    aws_json(aws_env, "create-secret", "--name", untagged, "--secret-string", "x")
    listed = aws_json(
        aws_env,
        "list-secrets",
        "--filters",
        f"Key=tag-value,Values=cust-{unique}",
        f"Key=name,Values=/customer/cust-{unique}/",
    )
    assert [s["Name"] for s in listed["SecretList"]] == [tagged]
    assert listed["SecretList"][0]["Tags"] == [{"Key": "customer", "Value": f"cust-{unique}"}]


def test_list_secret_version_ids_and_update_secret_version_stage(
    aws_env: dict[str, str], unique: str
) -> None:
    name = f"/customer/cust-{unique}/db-password"
    v1 = aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "one")["VersionId"]
    v2 = aws_json(aws_env, "put-secret-value", "--secret-id", name, "--secret-string", "two")[
        "VersionId"
    ]
    versions = aws_json(aws_env, "list-secret-version-ids", "--secret-id", name)
    assert versions["Name"] == name
    assert {v["VersionId"]: v["VersionStages"] for v in versions["Versions"]} == {
        v1: ["AWSPREVIOUS"],
        v2: ["AWSCURRENT"],
    }

    # Roll back: move AWSCURRENT to the first version.
    moved = aws_json(
        aws_env,
        "update-secret-version-stage",
        "--secret-id",
        name,
        "--version-stage",
        "AWSCURRENT",
        "--move-to-version-id",
        v1,
        "--remove-from-version-id",
        v2,
    )
    assert moved["Name"] == name
    text = aws_text(aws_env, "get-secret-value", "--secret-id", name, "--query", "SecretString")
    assert text == "one\n"
    versions = aws_json(aws_env, "list-secret-version-ids", "--secret-id", name)
    stages = {v["VersionId"]: v["VersionStages"] for v in versions["Versions"]}
    assert stages[v1] == ["AWSCURRENT"]
    assert stages[v2] == ["AWSPREVIOUS"]


def test_tag_resource_and_untag_resource(aws_env: dict[str, str], unique: str) -> None:
    name = f"/customer/cust-{unique}/oauth-token-salesforce"
    aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "x")
    tagged = aws(
        aws_env,
        "tag-resource",
        "--secret-id",
        name,
        "--tags",
        f"Key=customer,Value=cust-{unique}",
        "Key=tier,Value=gold",
    )
    assert (tagged.returncode, tagged.stdout) == (0, ""), tagged.stderr
    tags = aws_json(aws_env, "describe-secret", "--secret-id", name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [
        ("customer", f"cust-{unique}"),
        ("tier", "gold"),
    ]

    untagged = aws(aws_env, "untag-resource", "--secret-id", name, "--tag-keys", "tier")
    assert (untagged.returncode, untagged.stdout) == (0, ""), untagged.stderr
    tags = aws_json(aws_env, "describe-secret", "--secret-id", name)["Tags"]
    assert tags == [{"Key": "customer", "Value": f"cust-{unique}"}]


def test_get_random_password(aws_env: dict[str, str]) -> None:
    text = aws_text(
        aws_env,
        "get-random-password",
        "--password-length",
        "40",
        "--exclude-punctuation",
        "--require-each-included-type",
        "--query",
        "RandomPassword",
    )
    password = text.rstrip("\n")
    assert len(password) == 40
    assert password.isalnum()
    assert any(c.islower() for c in password)
    assert any(c.isupper() for c in password)
    assert any(c.isdigit() for c in password)


def test_delete_secret_then_restore_secret(aws_env: dict[str, str], unique: str) -> None:
    name = f"/customer/cust-{unique}/encryption-key"
    aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "kept")
    deleted = aws_json(
        aws_env, "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7"
    )
    assert deleted["Name"] == name
    assert "DeletionDate" in deleted

    marked = aws(aws_env, "get-secret-value", "--secret-id", name)
    assert_cli_error(marked, "InvalidRequestException", "GetSecretValue")
    assert "DeletedDate" in aws_json(aws_env, "describe-secret", "--secret-id", name)

    restored = aws_json(aws_env, "restore-secret", "--secret-id", name)
    assert restored["Name"] == name
    text = aws_text(aws_env, "get-secret-value", "--secret-id", name, "--query", "SecretString")
    assert text == "kept\n"


def test_force_delete_without_recovery_removes_the_secret(
    aws_env: dict[str, str], unique: str
) -> None:
    name = f"/customer/cust-{unique}/db-password"
    aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "gone")
    aws_json(aws_env, "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert_cli_error(
        aws(aws_env, "describe-secret", "--secret-id", name),
        "ResourceNotFoundException",
        "DescribeSecret",
    )


def test_batch_get_secret_value_reports_missing_secrets_as_errors(
    aws_env: dict[str, str], unique: str
) -> None:
    names = [f"/customer/cust-{unique}/a", f"/customer/cust-{unique}/b"]
    for name in names:
        aws_json(aws_env, "create-secret", "--name", name, "--secret-string", f"value-{name}")
    missing = f"/customer/cust-{unique}/missing"
    batch = aws_json(aws_env, "batch-get-secret-value", "--secret-id-list", *names, missing)
    assert {v["Name"]: v["SecretString"] for v in batch["SecretValues"]} == {
        name: f"value-{name}" for name in names
    }
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [
        (missing, "ResourceNotFoundException")
    ]


def test_a_missing_secret_exits_255_with_resource_not_found(
    aws_env: dict[str, str], unique: str
) -> None:
    result = aws(aws_env, "get-secret-value", "--secret-id", f"/customer/cust-{unique}/absent")
    assert_cli_error(result, "ResourceNotFoundException", "GetSecretValue")


def test_a_duplicate_create_exits_255_with_resource_exists_and_keeps_the_original(
    aws_env: dict[str, str], unique: str
) -> None:
    name = f"/customer/cust-{unique}/db-password"
    aws_json(aws_env, "create-secret", "--name", name, "--secret-string", "original")
    result = aws(aws_env, "create-secret", "--name", name, "--secret-string", "second-value")
    assert_cli_error(result, "ResourceExistsException", "CreateSecret")
    assert "second-value" not in result.stderr  # the rejected value is not echoed
    text = aws_text(aws_env, "get-secret-value", "--secret-id", name, "--query", "SecretString")
    assert text == "original\n"
