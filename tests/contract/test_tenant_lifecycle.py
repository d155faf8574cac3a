"""Tenants through boto3 only: onboard, encrypt, offboard, shred, and the certificate.

The issue's proof, for both key modes: two tenants' data encrypted with ``tenant_id``
contexts; one is offboarded and its window run out on the dev server's clock; its
ciphertexts and secrets stop decrypting, the other's all still work, the destruction
certificate verifies, and no byte of the destroyed material is left in any database file.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from strongroom.tenancy import certificates
from tests.support.server import (
    RunningServer,
    start_server,
)

DAY = 86_400


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own: these tests move its clock by days."""
    running = start_server(tmp_path_factory.mktemp("tenant-lifecycle"))
    try:
        yield running
    finally:
        running.stop()


def _client(server: RunningServer, service: str, **credentials: str) -> Any:
    return server.client(service, credentials=credentials or None)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _tenant_session(server: RunningServer, role_arn: str) -> dict[str, str]:
    sts = _client(server, "sts")
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="app")["Credentials"]
    return {
        "key": creds["AccessKeyId"],
        "secret": creds["SecretAccessKey"],
        "token": creds["SessionToken"],
    }


def _wrapped_material(data_dir: Path, key_id: str, partition_value: str | None) -> list[bytes]:
    """The wrapped key material a tenant's shredding must remove, read before it happens."""
    with sqlite3.connect(f"file:{data_dir / 'keystore.db'}?mode=ro", uri=True) as db:
        if partition_value is None:
            rows = db.execute("SELECT wrapped FROM key_versions WHERE key_id = ?", (key_id,))
        else:
            rows = db.execute(
                "SELECT wrapped FROM key_partitions WHERE key_id = ? AND value = ?",
                (key_id, partition_value),
            )
        found = [bytes(row[0]) for row in rows]
    assert found, "the tenant's wrapped material should exist before shredding"
    return found


def _database_bytes(data_dir: Path) -> bytes:
    return b"".join(
        path.read_bytes()
        for path in sorted(data_dir.iterdir())
        if path.name.startswith(("data.db", "keystore.db"))
    )


@pytest.mark.parametrize("mode", ["SHARED", "DEDICATED"])
def test_offboarded_tenant_is_shredded_and_the_other_is_untouched(
    own_server: RunningServer, mode: str
) -> None:
    server = own_server
    admin = _client(server, "strongroom")
    kms = _client(server, "kms")
    sm = _client(server, "secretsmanager")
    suffix = uuid.uuid4().hex[:6]
    gone, kept = f"gone-{suffix}", f"kept-{suffix}"

    tenants = {
        tenant_id: admin.create_tenant(TenantId=tenant_id, KeyMode=mode)["Tenant"]
        for tenant_id in (gone, kept)
    }
    for tenant in tenants.values():
        assert tenant["Status"] == "ACTIVE"
        assert tenant["KeyMode"] == mode
    if mode == "SHARED":
        assert tenants[gone]["KeyId"] == tenants[kept]["KeyId"]
        assert tenants[gone]["PartitionKeyName"] == "tenant_id"
    else:
        assert tenants[gone]["KeyId"] != tenants[kept]["KeyId"]
        alias = kms.describe_key(KeyId=f"alias/tenant/{gone}")["KeyMetadata"]
        assert alias["KeyId"] == tenants[gone]["KeyId"]

    # Each tenant's data: a data key, a direct ciphertext and a secret (tagged and put
    # under the tenant's key by the server).
    data: dict[str, dict[str, Any]] = {}
    for tenant_id, tenant in tenants.items():
        context = {"tenant_id": tenant_id}
        data_key = kms.generate_data_key(
            KeyId=tenant["KeyId"], KeySpec="AES_256", EncryptionContext=context
        )
        blob = kms.encrypt(
            KeyId=tenant["KeyId"],
            Plaintext=f"card of {tenant_id}".encode(),
            EncryptionContext=context,
        )["CiphertextBlob"]
        plaintext = f"db-password-{tenant_id}-{uuid.uuid4().hex}"
        name = f"/customer/{tenant_id}/db-password"
        sm.create_secret(Name=name, SecretString=plaintext)
        described = sm.describe_secret(SecretId=name)
        assert described["KmsKeyId"].endswith(tenant["KeyId"])
        assert {"Key": "customer", "Value": tenant_id} in described["Tags"]
        data[tenant_id] = {
            "context": context,
            "data_key": data_key,
            "blob": blob,
            "secret": (name, plaintext),
        }
    material = _wrapped_material(
        server.data_dir, tenants[gone]["KeyId"], gone if mode == "SHARED" else None
    )

    # The tenant's own role reads its secret; once offboarded, it is refused at once.
    session = _tenant_session(server, tenants[gone]["RoleArn"])
    tenant_sm = _client(server, "secretsmanager", **session)
    assert tenant_sm.get_secret_value(SecretId=data[gone]["secret"][0])["SecretString"]
    offboarded = admin.offboard_tenant(TenantId=gone, PendingWindowInDays=1)["Tenant"]
    assert offboarded["Status"] == "OFFBOARDING"
    assert Path(offboarded["AuditExportPath"]).is_file()
    with pytest.raises(ClientError) as refused:
        _client(server, "secretsmanager", **session).get_secret_value(
            SecretId=data[gone]["secret"][0]
        )
    assert _code(refused) in {"AccessDeniedException", "UnrecognizedClientException"}

    # Restore cancels within the window; offboarding again starts a new one.
    assert admin.restore_tenant(TenantId=gone)["Tenant"]["Status"] == "ACTIVE"
    admin.offboard_tenant(TenantId=gone, PendingWindowInDays=1)
    server.advance_clock(2 * DAY)

    shredded = admin.describe_tenant(TenantId=gone)["Tenant"]
    assert shredded["Status"] == "SHREDDED"
    with pytest.raises(ClientError) as restored:
        admin.restore_tenant(TenantId=gone)
    assert _code(restored) == "InvalidStateException"

    # The shredded tenant's ciphertexts, data keys and secrets no longer decrypt ...
    for blob in (data[gone]["blob"], data[gone]["data_key"]["CiphertextBlob"]):
        with pytest.raises(ClientError) as failed:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=data[gone]["context"])
        assert _code(failed) in {"KMSInvalidStateException", "InvalidCiphertextException"}
    with pytest.raises(ClientError) as unreadable:
        sm.get_secret_value(SecretId=data[gone]["secret"][0])
    assert _code(unreadable) in {
        "DecryptionFailure",
        "KMSInvalidStateException",
        "InvalidRequestException",
    }
    # ... and the other tenant's all still do.
    kept_data = data[kept]
    assert (
        kms.decrypt(CiphertextBlob=kept_data["blob"], EncryptionContext=kept_data["context"])[
            "Plaintext"
        ]
        == f"card of {kept}".encode()
    )
    assert (
        kms.decrypt(
            CiphertextBlob=kept_data["data_key"]["CiphertextBlob"],
            EncryptionContext=kept_data["context"],
        )["Plaintext"]
        == kept_data["data_key"]["Plaintext"]
    )
    assert (
        sm.get_secret_value(SecretId=kept_data["secret"][0])["SecretString"]
        == (kept_data["secret"][1])
    )

    # Nothing new is put under a shredded tenant, by anyone (its partition or key would
    # come back otherwise).
    with pytest.raises(ClientError) as no_new_data:
        kms.encrypt(
            KeyId=tenants[kept]["KeyId"] if mode == "SHARED" else tenants[gone]["KeyId"],
            Plaintext=b"new",
            EncryptionContext=data[gone]["context"],
        )
    assert _code(no_new_data) in {"AccessDeniedException", "NotFoundException"}
    with pytest.raises(ClientError) as no_new_secret:
        sm.create_secret(Name=f"/customer/{gone}/new", SecretString="new")
    assert _code(no_new_secret) == "AccessDeniedException"
    assert "shredded" in no_new_secret.value.response["Error"]["Message"]

    # The certificate verifies with the deployment's public key, and says what it should.
    text = admin.get_destruction_certificate(TenantId=gone)["Certificate"]
    public_key = admin.get_deployment_public_key()["PublicKeyPem"].encode()
    verified = certificates.verify(text, public_key)
    assert verified.facts.tenant_id == gone
    assert verified.facts.key_mode == mode
    assert verified.facts.key_id == tenants[gone]["KeyId"]
    assert verified.facts.secret_versions == 1
    assert verified.facts.ciphertexts >= 2
    if mode == "SHARED":
        assert verified.facts.partition_ids
        assert not verified.facts.key_versions
    else:
        assert verified.facts.key_versions == (1,)
    with pytest.raises(certificates.InvalidCertificate):
        certificates.verify(text.replace(gone, kept), public_key)
    with pytest.raises(ClientError) as none:
        admin.get_destruction_certificate(TenantId=kept)
    assert _code(none) == "ResourceNotFoundException"

    # No byte of the destroyed wrapped material, nor any secret plaintext, in any file.
    stored = _database_bytes(server.data_dir)
    for wrapped in material:
        assert wrapped not in stored
    for tenant_id in (gone, kept):
        assert data[tenant_id]["secret"][1].encode() not in stored
        assert data[tenant_id]["data_key"]["Plaintext"] not in stored


def test_create_tenant_is_idempotent_and_checks_its_input(own_server: RunningServer) -> None:
    admin = _client(own_server, "strongroom")
    tenant_id = f"idem-{uuid.uuid4().hex[:6]}"
    first = admin.create_tenant(TenantId=tenant_id, CreateAccessKey=True)
    assert first["AccessKey"]["AccessKeyId"].startswith("AKIA")
    again = admin.create_tenant(TenantId=tenant_id, CreateAccessKey=True)
    assert again["Tenant"]["KeyId"] == first["Tenant"]["KeyId"]
    assert "AccessKey" not in again  # a secret access key is shown once
    with pytest.raises(ClientError) as conflict:
        admin.create_tenant(TenantId=tenant_id, KeyMode="SHARED")
    assert _code(conflict) == "ConflictException"
    for bad in ("Cust-1", "cust--1", "-cust", "cust 1", "x" * 49):
        with pytest.raises(ClientError) as invalid:
            admin.create_tenant(TenantId=bad)
        assert _code(invalid) == "ValidationException"
    listed = admin.list_tenants(MaxResults=1000)["Tenants"]
    assert tenant_id in {item["TenantId"] for item in listed}

    # The tenant's access key is bound to it: its own secrets yes, others' no.
    tenant_sm = _client(
        own_server,
        "secretsmanager",
        key=first["AccessKey"]["AccessKeyId"],
        secret=first["AccessKey"]["SecretAccessKey"],
    )
    root_sm = _client(own_server, "secretsmanager")
    root_sm.create_secret(Name=f"/customer/{tenant_id}/api-key", SecretString="mine")
    assert tenant_sm.get_secret_value(SecretId=f"/customer/{tenant_id}/api-key")[
        "SecretString"
    ] == ("mine")


def test_suspended_tenant_is_refused_everything_until_resumed(own_server: RunningServer) -> None:
    admin = _client(own_server, "strongroom")
    tenant_id = f"susp-{uuid.uuid4().hex[:6]}"
    tenant = admin.create_tenant(TenantId=tenant_id, IsolationPolicy="ABAC")["Tenant"]
    name = f"/customer/{tenant_id}/token"
    _client(own_server, "secretsmanager").create_secret(Name=name, SecretString="t")
    session = _tenant_session(own_server, tenant["RoleArn"])
    assert _client(own_server, "secretsmanager", **session).get_secret_value(SecretId=name)
    assert admin.suspend_tenant(TenantId=tenant_id)["Tenant"]["Status"] == "SUSPENDED"
    with pytest.raises(ClientError) as refused:
        _client(own_server, "secretsmanager", **session).get_secret_value(SecretId=name)
    assert _code(refused) == "AccessDeniedException"
    assert "suspended" in refused.value.response["Error"]["Message"]
    assert admin.resume_tenant(TenantId=tenant_id)["Tenant"]["Status"] == "ACTIVE"
    assert _client(own_server, "secretsmanager", **session).get_secret_value(SecretId=name)


def test_tier_and_quota_overrides_apply_to_the_tenant(own_server: RunningServer) -> None:
    admin = _client(own_server, "strongroom")
    tenant_id = f"quota-{uuid.uuid4().hex[:6]}"
    created = admin.create_tenant(TenantId=tenant_id, Tier="premium")["Tenant"]
    assert created["Tier"] == "premium"
    assert created["EffectiveQuotas"]["MaxSecrets"] == 100_000
    with pytest.raises(ClientError) as unknown_tier:
        admin.update_tenant(TenantId=tenant_id, Tier="platinum")
    assert _code(unknown_tier) == "ValidationException"
    with pytest.raises(ClientError) as zero_rate:
        admin.update_tenant(TenantId=tenant_id, Quotas={"ReadRate": 0})
    assert _code(zero_rate) == "ValidationException"

    updated = admin.update_tenant(TenantId=tenant_id, Quotas={"MaxSecrets": 1, "ReadRate": 5})
    tenant = updated["Tenant"]
    assert tenant["Quotas"] == {"MaxSecrets": 1, "ReadRate": 5.0}
    assert tenant["EffectiveQuotas"]["MaxSecrets"] == 1
    assert tenant["EffectiveQuotas"]["ReadRate"] == 5.0
    assert tenant["EffectiveQuotas"]["WriteRate"] == 500.0  # the premium tier's

    sm = _client(own_server, "secretsmanager")
    sm.create_secret(Name=f"/customer/{tenant_id}/one", SecretString="1")
    with pytest.raises(ClientError) as limited:
        sm.create_secret(Name=f"/customer/{tenant_id}/two", SecretString="2")
    assert _code(limited) == "LimitExceededException"
