"""The `strongroom` command: credentials, dev reset, key commands, production mode, README."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, start_server

pytestmark = pytest.mark.contract

README = Path(__file__).parents[2] / "README.md"


def exports(log: str) -> dict[str, str]:
    return dict(re.findall(r"^export (AWS_[A-Z_]+)=(\S+)$", log, flags=re.MULTILINE))


def child_env(variables: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(variables)
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    return env


def dev_reset(endpoint: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "dev", "reset", "--endpoint", endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dev_server_prints_working_credentials_and_keeps_them(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", fixed_credentials=False)
    try:
        printed = exports(server.log())
        assert set(printed) == {
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }
        assert printed["AWS_ACCESS_KEY_ID"].startswith("AKIA")
        sm = boto3.client(
            "secretsmanager",
            endpoint_url=printed["AWS_ENDPOINT_URL"],
            region_name=printed["AWS_DEFAULT_REGION"],
            aws_access_key_id=printed["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=printed["AWS_SECRET_ACCESS_KEY"],
        )
        sm.create_secret(Name="printed", SecretString="works")
    finally:
        server.stop()
    restarted = start_server(tmp_path / "data", fixed_credentials=False)
    try:
        assert exports(restarted.log())["AWS_ACCESS_KEY_ID"] == printed["AWS_ACCESS_KEY_ID"]
        sm = boto3.client(
            "secretsmanager",
            endpoint_url=restarted.endpoint,
            region_name="us-east-1",
            aws_access_key_id=printed["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=printed["AWS_SECRET_ACCESS_KEY"],
        )
        assert sm.get_secret_value(SecretId="printed")["SecretString"] == "works"
    finally:
        restarted.stop()
    key_file = tmp_path / "data" / "root-key.DEVELOPMENT-ONLY"
    assert "DEVELOPMENT ONLY" in key_file.read_text()
    assert key_file.stat().st_mode & 0o077 == 0


def test_dev_reset_wipes_everything(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        sm = server.client("secretsmanager")
        sm.create_secret(Name="before-reset", SecretString="x")
        env = child_env(
            {
                "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            tmp_path,
        )
        done = dev_reset(server.endpoint, env)
        assert done.returncode == 0, done.stderr
        assert sm.list_secrets(IncludePlannedDeletion=True)["SecretList"] == []
        sm.create_secret(Name="before-reset", SecretString="again")
        assert sm.get_secret_value(SecretId="before-reset")["SecretString"] == "again"
        env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-access-key-000000000"
        refused = dev_reset(server.endpoint, env)
        assert refused.returncode != 0
        assert "InvalidSignatureException" in refused.stderr
        assert sm.get_secret_value(SecretId="before-reset")["SecretString"] == "again"
    finally:
        server.stop()


def test_production_mode_serves_only_its_regions_and_has_no_reset(tmp_path: Path) -> None:
    key_file = tmp_path / "root.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    key_file.chmod(0o600)
    server = start_server(
        tmp_path / "data",
        "--root-key-file",
        str(key_file),
        "--region",
        "eu-west-1",
        "--regions",
        "eu-central-1",
        dev=False,
    )
    try:
        for region in ("eu-west-1", "eu-central-1"):
            sm = server.client("secretsmanager", region=region)
            sm.create_secret(Name="prod", SecretString=region)
            assert sm.get_secret_value(SecretId="prod")["SecretString"] == region
        with pytest.raises(ClientError) as excinfo:
            server.client("secretsmanager", region="us-east-1").list_secrets()
        assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert not (tmp_path / "data" / "root-key.DEVELOPMENT-ONLY").exists()
        env = child_env(
            {
                "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "eu-west-1",
            },
            tmp_path,
        )
        refused = dev_reset(server.endpoint, env)
        assert refused.returncode != 0
        assert "UnknownOperationException" in refused.stderr
    finally:
        server.stop()


def test_production_mode_refuses_to_start_without_a_root_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "server", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "root key" in done.stderr


def _readme_blocks(language: str) -> list[str]:
    return [
        str(b) for b in re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)
    ]


def _readme_block(language: str) -> str:
    blocks = _readme_blocks(language)
    return blocks[0] if language == "python" else blocks[1]


def strongroom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_key_commands_create_list_rotate_and_schedule_deletion(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        env = child_env(
            {
                "AWS_ENDPOINT_URL": server.endpoint,
                "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            tmp_path,
        )
        created = strongroom("key", "create", "--alias", "alias/tenant-data", "--rotate", env=env)
        assert created.returncode == 0, created.stderr
        key_id = json.loads(created.stdout)["KeyId"]
        kms = server.client("kms")
        assert kms.get_key_rotation_status(KeyId="alias/tenant-data")["KeyRotationEnabled"]

        listed = strongroom("key", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if x.startswith(key_id))
        assert line.split("\t")[1:5] == [
            "Enabled",
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
            "alias/tenant-data",
        ]

        blob = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
        rotated = strongroom("key", "rotate", key_id, env=env)
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout)["Latest"]["RotationType"] == "ON_DEMAND"
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before rotation"

        scheduled = strongroom("key", "schedule-deletion", key_id, "--pending-days", "7", env=env)
        assert scheduled.returncode == 0, scheduled.stderr
        assert json.loads(scheduled.stdout)["PendingWindowInDays"] == 7
        again = strongroom("key", "schedule-deletion", key_id, "--pending-days", "7", env=env)
        assert again.returncode != 0
        assert "KMSInvalidStateException" in again.stderr
        cancelled = strongroom("key", "cancel-deletion", key_id, env=env)
        assert cancelled.returncode == 0, cancelled.stderr
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
        too_short = strongroom("key", "schedule-deletion", key_id, "--pending-days", "6", env=env)
        assert too_short.returncode == 2
    finally:
        server.stop()


def test_readme_snippet_and_cli_line_work_against_a_fresh_dev_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", fixed_credentials=False)
    try:
        env = child_env(exports(server.log()), tmp_path)
        snippet = subprocess.run(
            [sys.executable, "-c", _readme_block("python")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert snippet.returncode == 0, snippet.stderr
        assert snippet.stdout.strip() == "hunter2"
        cli_line = _readme_block("sh").replace("\\\n", " ").strip()
        assert cli_line.startswith(".venv/bin/aws ")
        aws = Path(sys.executable).parent / "aws"
        argv: list[Any] = [str(aws), *cli_line.split()[1:]]
        answered = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert answered.returncode == 0, answered.stderr
        assert answered.stdout.strip() == "hunter2"
        envelope = subprocess.run(
            [sys.executable, "-c", "import boto3\n" + _readme_blocks("python")[1]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert envelope.returncode == 0, envelope.stderr
    finally:
        server.stop()
