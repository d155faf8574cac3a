"""GET /metrics on a real server: Prometheus text format without authentication, request
counts by operation, outcome and (bounded) tenant after real boto3 calls, audit batches,
and never a secret value, password, data key or secret access key."""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.principals import allow, user
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of this module's own: the tenant label admits the first 50 tenants seen,
    and on the session's server other test files may already have used them up."""
    running = start_server(tmp_path_factory.mktemp("metrics-server"))
    try:
        yield running
    finally:
        running.stop()


def scrape(server: RunningServer) -> tuple[str, bytes]:
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as response:  # noqa: S310
        assert response.status == 200
        return response.headers["Content-Type"], response.read()


def samples(server: RunningServer) -> Samples:
    _, body = scrape(server)
    parsed: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def requests(got: Samples, operation: str, outcome: str, tenant: str, service: str) -> float:
    labels = {"service": service, "operation": operation, "outcome": outcome, "tenant": tenant}
    return got.get(("strongroom_requests_total", tuple(sorted(labels.items()))), 0.0)


def latency_count(got: Samples, service: str, operation: str) -> float:
    labels = (("operation", operation), ("service", service))
    return got.get(("strongroom_request_duration_seconds_count", labels), 0.0)


def test_metrics_are_served_without_authentication_in_the_text_format(
    server: RunningServer,
) -> None:
    content_type, body = scrape(server)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert b"_created" not in body
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {
        "strongroom_requests",
        "strongroom_request_duration_seconds",
        "strongroom_audit_batch_size",
        "strongroom_audit_commit_duration_seconds",
        "strongroom_alarms",
        "strongroom_alarm_webhook_deliveries",
        "strongroom_alarm_webhook_failures",
        "strongroom_alarm_webhook_drops",
    } <= names


def test_requests_are_counted_by_operation_outcome_and_tenant(
    server: RunningServer, sm: Any, unique: str
) -> None:
    tenant = f"cust-{unique}"
    name = f"/customer/{tenant}/db"
    sm.create_secret(Name=name, SecretString="value")
    before = samples(server)
    for _ in range(7):
        sm.get_secret_value(SecretId=name)
    for _ in range(2):
        with pytest.raises(ClientError):
            sm.get_secret_value(SecretId=f"/customer/{tenant}/missing")
    nobody = user(server, f"nobody-{unique}", policies={"none": allow(["sts:GetCallerIdentity"])})
    with pytest.raises(ClientError):
        nobody.client("secretsmanager").get_secret_value(SecretId=name)
    stranger = boto3.client(
        "secretsmanager",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIANOSUCHKEY0000001",
        aws_secret_access_key="not-a-real-secret-access-key-00000000",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError):
        stranger.get_secret_value(SecretId=name)
    after = samples(server)

    def delta(outcome: str, on: str) -> float:
        sm_ = "secretsmanager"
        return requests(after, "GetSecretValue", outcome, on, sm_) - requests(
            before, "GetSecretValue", outcome, on, sm_
        )

    assert delta("success", tenant) == 7
    # A secret that does not exist has no tenant to record.
    assert delta("client_error", "") >= 2
    # Refused by policy (the secret's tenant) and by authentication (none known).
    assert delta("denied", tenant) + delta("denied", "") >= 2
    assert (
        latency_count(after, "secretsmanager", "GetSecretValue")
        - latency_count(before, "secretsmanager", "GetSecretValue")
        >= 11
    )
    assert after[("strongroom_audit_batch_size_count", ())] > before.get(
        ("strongroom_audit_batch_size_count", ()), 0
    )
    assert after[("strongroom_audit_commit_duration_seconds_count", ())] > 0


def test_kms_calls_are_counted(server: RunningServer, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    before = samples(server)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob)
    after = samples(server)
    for operation in ("Encrypt", "Decrypt"):
        assert (
            requests(after, operation, "success", "", "kms")
            - requests(before, operation, "success", "", "kms")
            == 1
        )


@pytest.fixture(scope="module")
def few_tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("metrics"), "--metrics-max-tenants", "2")
    try:
        yield running
    finally:
        running.stop()


def test_the_tenant_label_is_bounded(few_tenants: RunningServer) -> None:
    sm = few_tenants.client("secretsmanager")
    for i in range(6):
        name = f"/customer/tenant-{i}/db"
        sm.create_secret(Name=name, SecretString="v")
        sm.get_secret_value(SecretId=name)
    got = samples(few_tenants)
    tenants = {
        dict(labels)["tenant"] for (name, labels) in got if name == "strongroom_requests_total"
    }
    assert tenants <= {"tenant-0", "tenant-1", "other", ""}
    assert "other" in tenants
    assert requests(got, "GetSecretValue", "success", "other", "secretsmanager") == 4


def test_no_secret_material_ever_reaches_the_metrics(
    server: RunningServer, sm: Any, kms: Any, unique: str, tmp_path: Path
) -> None:
    canaries: list[bytes] = []
    for i in range(20):
        value = f"CANARY-metrics-{unique}-{i}"
        canaries.append(value.encode())
        tenant = f"cust-{unique}-{i % 3}"
        name = f"/customer/{tenant}/{value}-name"
        sm.create_secret(Name=name, SecretString=value)
        sm.put_secret_value(SecretId=name, SecretString=value + "-v2")
        canaries.append((value + "-v2").encode())
        sm.get_secret_value(SecretId=name)
    binary = f"CANARY-binary-{unique}".encode()
    sm.create_secret(Name=f"/customer/cust-{unique}-0/binary", SecretBinary=binary)
    canaries.append(binary)
    for _ in range(5):
        password = sm.get_random_password(PasswordLength=40)["RandomPassword"]
        canaries.append(password.encode())
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(5):
        data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"]
        canaries += [data_key, base64.b64encode(data_key)]
        plaintext = f"CANARY-plaintext-{unique}".encode()
        blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
        canaries.append(kms.decrypt(CiphertextBlob=blob)["Plaintext"])
    iam = server.client("iam")
    iam.create_user(UserName=f"canary-{unique}")
    access = iam.create_access_key(UserName=f"canary-{unique}")["AccessKey"]
    canaries.append(access["SecretAccessKey"].encode())
    _, body = scrape(server)
    for canary in canaries:
        assert canary not in body
