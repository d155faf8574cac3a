"""``strongroom tenant …`` against a real server: the commands are thin over the admin API."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from tests.support.server import RunningServer


def strongroom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "tenant", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tenant_commands_onboard_list_suspend_offboard_and_restore(
    server: RunningServer, aws_env: dict[str, str]
) -> None:
    tenant_id = f"cli-{uuid.uuid4().hex[:8]}"
    created = strongroom(
        "create", tenant_id, "--key-mode", "shared", "--policy", "abac", "--access-key", env=aws_env
    )
    assert created.returncode == 0, created.stderr
    document = json.loads(created.stdout)
    assert document["Tenant"]["Status"] == "ACTIVE"
    assert document["Tenant"]["KeyMode"] == "SHARED"
    assert document["Tenant"]["IsolationPolicy"] == "ABAC"
    assert document["AccessKey"]["SecretAccessKey"]

    listed = strongroom("list", "--status", "active", env=aws_env)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith(tenant_id + "\t"))
    assert line.split("\t")[1:3] == ["active", "shared"]

    assert "suspended" in strongroom("suspend", tenant_id, env=aws_env).stdout
    assert "active" in strongroom("resume", tenant_id, env=aws_env).stdout
    described = strongroom("describe", tenant_id, env=aws_env)
    assert json.loads(described.stdout)["RoleName"] == f"tenant-{tenant_id}"

    offboarded = strongroom("offboard", tenant_id, "--pending-days", "3", env=aws_env)
    assert offboarded.returncode == 0, offboarded.stderr
    assert "offboarding" in offboarded.stdout
    again = strongroom("offboard", tenant_id, env=aws_env)
    assert again.returncode != 0
    assert "InvalidStateException" in again.stderr
    restored = strongroom("restore", tenant_id, env=aws_env)
    assert restored.returncode == 0, restored.stderr
    assert "active" in restored.stdout

    bad = strongroom("create", "Not_A_Tenant", env=aws_env)
    assert bad.returncode != 0
    assert "ValidationException" in bad.stderr
    missing = strongroom("describe", "no-such-tenant-here", env=aws_env)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def test_create_shared_key_makes_a_partitioned_key(
    server: RunningServer, aws_env: dict[str, str]
) -> None:
    alias = f"alias/cli-shared-{uuid.uuid4().hex[:8]}"
    made = strongroom(
        "create-shared-key", "--partition-key", "org_id", "--alias", alias, env=aws_env
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["PartitionKeyName"] == "org_id"
    kms = server.client("kms")
    tags = kms.list_resource_tags(KeyId=json.loads(made.stdout)["KeyId"])["Tags"]
    assert {"TagKey": "strongroom:partition-key", "TagValue": "org_id"} in tags
    blob = kms.encrypt(KeyId=alias, Plaintext=b"x", EncryptionContext={"org_id": "o1"})
    assert (
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"org_id": "o1"})[
            "Plaintext"
        ]
        == b"x"
    )
