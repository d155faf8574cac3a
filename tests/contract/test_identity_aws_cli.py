"""The real AWS CLI (v1) speaks IAM and STS (the query protocol) to the dev server."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.contract

CLI_V1_ERROR_EXIT = 255


def aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(env: dict[str, str], *args: str) -> Any:
    result = aws(env, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_users_keys_roles_and_sessions_through_the_cli(aws_env: dict[str, str]) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    identity = ok(aws_env, "sts", "get-caller-identity")
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"

    user = ok(
        aws_env, "iam", "create-user", "--user-name", name, "--tags", "Key=customer,Value=cust-9"
    )
    assert user["User"]["Arn"] == f"arn:aws:iam::123456789012:user/{name}"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
    )
    ok(
        aws_env,
        "iam",
        "put-user-policy",
        "--user-name",
        name,
        "--policy-name",
        "assume",
        "--policy-document",
        policy,
    )
    key = ok(aws_env, "iam", "create-access-key", "--user-name", name)["AccessKey"]
    as_user = {
        **aws_env,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    assert ok(as_user, "sts", "get-caller-identity")["Arn"] == user["User"]["Arn"]

    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    ok(aws_env, "iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust)
    session = ok(
        as_user,
        "sts",
        "assume-role",
        "--role-arn",
        f"arn:aws:iam::123456789012:role/{name}",
        "--role-session-name",
        "cli",
    )
    assert session["Credentials"]["AccessKeyId"].startswith("ASIA")
    as_session = {
        **aws_env,
        "AWS_ACCESS_KEY_ID": session["Credentials"]["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": session["Credentials"]["SecretAccessKey"],
        "AWS_SESSION_TOKEN": session["Credentials"]["SessionToken"],
    }
    caller = ok(as_session, "sts", "get-caller-identity")
    assert caller["Arn"] == f"arn:aws:sts::123456789012:assumed-role/{name}/cli"

    # The role has no policies: its session may do nothing else.
    denied = aws(as_session, "secretsmanager", "list-secrets")
    assert denied.returncode == CLI_V1_ERROR_EXIT
    assert "AccessDeniedException" in denied.stderr
    denied = aws(as_session, "iam", "list-users")
    assert denied.returncode == CLI_V1_ERROR_EXIT
    assert "(AccessDenied)" in denied.stderr
