"""Destruction certificates over the admin API and the CLI: GetDeploymentPublicKey,
GetDestructionCertificate, `strongroom tenant certificate` and `verify-certificate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from strongroom.crypto.signing import Ed25519Signer
from strongroom.tenancy import certificates
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)

DAY = 86_400


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own: a tenant is shredded on it by moving its clock past the window."""
    running = start_server(tmp_path_factory.mktemp("certificates"))
    try:
        yield running
    finally:
        running.stop()


def admin(server: RunningServer, session: dict[str, str] | None = None) -> Any:
    return server.client("strongroom", credentials=session)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def shredded(own_server: RunningServer) -> dict[str, Any]:
    """A dedicated-key tenant, offboarded and shredded; its certificate as the API gives it."""
    tenant_id = f"gone-{uuid.uuid4().hex[:6]}"
    client = admin(own_server)
    tenant = client.create_tenant(TenantId=tenant_id, KeyMode="DEDICATED")["Tenant"]
    boto = boto3.Session(
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
        region_name="us-east-1",
    )
    boto.client("secretsmanager", endpoint_url=own_server.endpoint).create_secret(
        Name=f"/customer/{tenant_id}/db", SecretString="to be shredded"
    )
    client.offboard_tenant(TenantId=tenant_id, PendingWindowInDays=1)
    own_server.advance_clock(2 * DAY)
    text = client.get_destruction_certificate(TenantId=tenant_id)["Certificate"]
    return {"id": tenant_id, "tenant": tenant, "certificate": text}


def test_the_certificate_verifies_under_the_deployment_key(
    own_server: RunningServer, shredded: dict[str, Any]
) -> None:
    public_key = admin(own_server).get_deployment_public_key()["PublicKeyPem"].encode()
    verified = certificates.verify(shredded["certificate"], public_key)
    facts = verified.facts
    assert (facts.tenant_id, facts.key_mode, facts.key_id) == (
        shredded["id"],
        "DEDICATED",
        shredded["tenant"]["KeyId"],
    )
    assert facts.key_versions == (1,)
    assert facts.secret_versions == 1
    assert facts.ciphertexts == 1  # the secret version's data key
    assert facts.offboarded_at < facts.scheduled_for <= facts.destroyed_at <= verified.issued_at
    assert (verified.account_id, verified.region) == ("123456789012", "us-east-1")
    assert verified.chain_position.region == "us-east-1"
    assert verified.chain_position.seq > 0


def test_the_certificate_is_issued_once(
    own_server: RunningServer, shredded: dict[str, Any]
) -> None:
    client = admin(own_server)
    own_server.advance_clock(DAY)  # the shredder runs again; the tenant is not due any more
    assert client.describe_tenant(TenantId=shredded["id"])["Tenant"]["Status"] == "SHREDDED"
    again = client.get_destruction_certificate(TenantId=shredded["id"])["Certificate"]
    assert again == shredded["certificate"]


def test_the_public_key_is_the_one_the_operator_publishes(own_server: RunningServer) -> None:
    pem = admin(own_server).get_deployment_public_key()["PublicKeyPem"]
    printed = strongroom("audit", "public-key", "--dev", "--data-dir", str(own_server.data_dir))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == pem.strip()


def test_certificate_errors(own_server: RunningServer) -> None:
    client = admin(own_server)
    active = f"live-{uuid.uuid4().hex[:6]}"
    client.create_tenant(TenantId=active, KeyMode="SHARED")
    for tenant_id, expected in (
        (active, "ResourceNotFoundException"),
        ("never-heard-of", "ResourceNotFoundException"),
        ("Bad_Id", "ValidationException"),
    ):
        with pytest.raises(ClientError) as refused:
            client.get_destruction_certificate(TenantId=tenant_id)
        assert code(refused) == expected


def test_a_principal_without_permission_gets_neither(own_server: RunningServer) -> None:
    tenant = admin(own_server).create_tenant(TenantId=f"plain-{uuid.uuid4().hex[:6]}")["Tenant"]
    boto = boto3.Session(
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
        region_name="us-east-1",
    )
    creds = boto.client("sts", endpoint_url=own_server.endpoint).assume_role(
        RoleArn=tenant["RoleArn"], RoleSessionName="app"
    )["Credentials"]
    tenant_admin = admin(
        own_server,
        {
            "key": creds["AccessKeyId"],
            "secret": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
        },
    )
    with pytest.raises(ClientError) as no_key:
        tenant_admin.get_deployment_public_key()
    assert code(no_key) == "AccessDeniedException"
    with pytest.raises(ClientError) as no_certificate:
        tenant_admin.get_destruction_certificate(TenantId=tenant["TenantId"])
    assert code(no_certificate) == "AccessDeniedException"


# -- the CLI ----------------------------------------------------------------------------


def strongroom(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(own_server: RunningServer, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    clean.update(
        AWS_ENDPOINT_URL=own_server.endpoint,
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return clean


def test_cli_fetches_the_certificate(
    shredded: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "certs" / "certificate.json"
    written = strongroom("tenant", "certificate", shredded["id"], "-o", str(out), env=env)
    assert written.returncode == 0, written.stderr
    assert out.read_text(encoding="utf-8") == shredded["certificate"]
    printed = strongroom("tenant", "certificate", shredded["id"], env=env)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == shredded["certificate"]
    missing = strongroom("tenant", "certificate", "never-heard-of", env=env)
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr


def test_cli_verifies_with_the_key_from_each_source(
    own_server: RunningServer, shredded: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    certificate = tmp_path / "certificate.json"
    certificate.write_text(shredded["certificate"], encoding="utf-8")
    pem = tmp_path / "deployment.pem"
    pem.write_text(admin(own_server).get_deployment_public_key()["PublicKeyPem"])
    for source in (
        ("--public-key", str(pem)),
        ("--endpoint", own_server.endpoint),
        ("--data-dir", str(own_server.data_dir)),
    ):
        done = strongroom("tenant", "verify-certificate", str(certificate), *source, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("VALID destruction certificate")
        assert f"tenant: {shredded['id']}" in done.stdout
        assert "destroyed key versions: 1" in done.stdout
    # The config file names the deployment as well as --data-dir does.
    config = tmp_path / "strongroom.toml"
    config.write_text(f'data_dir = "{own_server.data_dir}"\n')
    configured = strongroom(
        "tenant", "verify-certificate", str(certificate), "--config", str(config), env=env
    )
    assert configured.returncode == 0, configured.stderr


def test_cli_refuses_an_altered_certificate_or_another_key(
    own_server: RunningServer, shredded: dict[str, Any], tmp_path: Path
) -> None:
    document = json.loads(shredded["certificate"])
    document["ciphertextsProtected"] += 1
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document))
    pem = tmp_path / "deployment.pem"
    pem.write_text(admin(own_server).get_deployment_public_key()["PublicKeyPem"])
    done = strongroom("tenant", "verify-certificate", str(altered), "--public-key", str(pem))
    assert done.returncode == 1
    assert "INVALID" in done.stderr
    assert "signature does not match" in done.stderr

    genuine = tmp_path / "genuine.json"
    genuine.write_text(shredded["certificate"])
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519Signer.generate().public_key_pem())
    wrong_key = strongroom("tenant", "verify-certificate", str(genuine), "--public-key", str(other))
    assert wrong_key.returncode == 1
    assert "not this key" in wrong_key.stderr

    nowhere = strongroom(
        "tenant", "verify-certificate", str(genuine), "--data-dir", str(tmp_path / "empty")
    )
    assert nowhere.returncode == 1
    assert "no deployment keystore" in nowhere.stderr
