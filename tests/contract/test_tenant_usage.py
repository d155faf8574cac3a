"""GetTenantUsage through boto3 and `strongroom tenant usage`: a tenant's calls and storage,
counted from the audit trail on demand, with the cost at the server's unit prices."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import (
    RunningServer,
    start_server,
)

GETS, DECRYPTS = 7, 4
SM, KMS = "secretsmanager.amazonaws.com", "kms.amazonaws.com"


def client(server: RunningServer, service: str, credentials: dict[str, str] | None = None) -> Any:
    return server.client(service, credentials=credentials)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def tenant_session(server: RunningServer, role_arn: str) -> dict[str, str]:
    creds = client(server, "sts").assume_role(RoleArn=role_arn, RoleSessionName="app")
    return {
        "key": creds["Credentials"]["AccessKeyId"],
        "secret": creds["Credentials"]["SecretAccessKey"],
        "token": creds["Credentials"]["SessionToken"],
    }


@pytest.fixture(scope="module")
def busy_tenant(server: RunningServer) -> dict[str, Any]:
    """A dedicated-key tenant with one secret, whose role read it GETS times and decrypted
    DECRYPTS times."""
    tenant_id = f"use-{uuid.uuid4().hex[:8]}"
    tenant = client(server, "strongroom").create_tenant(TenantId=tenant_id, KeyMode="DEDICATED")
    record = tenant["Tenant"]
    name = f"/customer/{tenant_id}/db"
    client(server, "secretsmanager").create_secret(Name=name, SecretString="s3cr3t-value")
    session = tenant_session(server, record["RoleArn"])
    sm, kms = client(server, "secretsmanager", session), client(server, "kms", session)
    for _ in range(GETS):
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "s3cr3t-value"
    blob = kms.encrypt(KeyId=f"alias/tenant/{tenant_id}", Plaintext=b"row")["CiphertextBlob"]
    for _ in range(DECRYPTS):
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"row"
    return {"id": tenant_id, "record": record, "session": session}


def operation_counts(day: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(c["EventSource"], c["EventName"]): c["Count"] for c in day.get("Calls", [])}


def test_usage_shows_the_tenants_calls_and_storage_with_their_cost(
    server: RunningServer, busy_tenant: dict[str, Any]
) -> None:
    answer = client(server, "strongroom").get_tenant_usage(TenantId=busy_tenant["id"])
    [usage] = answer["Usage"]
    assert usage["TenantId"] == busy_tenant["id"]
    days = usage["Days"]
    assert len(days) == 30
    today = days[-1]
    counts = operation_counts(today)
    assert counts[(SM, "GetSecretValue")] == GETS
    assert counts[(KMS, "Decrypt")] == DECRYPTS
    assert counts[(KMS, "Encrypt")] == 1
    assert today["SecretsManagerCalls"] == sum(n for (s, _), n in counts.items() if s == SM)
    assert today["KmsCalls"] == sum(n for (s, _), n in counts.items() if s == KMS)
    # Its one secret, and its dedicated key: stored today, and not before it existed.
    assert (today["SecretsStored"], today["KeysStored"]) == (1, 1)
    assert all(day["SecretsStored"] == 0 and not day.get("Calls") for day in days[:-2])

    prices = answer["Prices"]
    assert prices == {
        "Currency": "USD",
        "SecretPerMonth": 0.40,
        "KeyPerMonth": 1.00,
        "SecretsManagerPer10kRequests": 0.05,
        "KmsPer10kRequests": 0.03,
    }
    secret_days = sum(d["SecretsStored"] for d in days)
    key_days = sum(d["KeysStored"] for d in days)
    sm_calls = sum(d["SecretsManagerCalls"] for d in days)
    kms_calls = sum(d["KmsCalls"] for d in days)
    cost = usage["EstimatedCost"]
    assert cost["Currency"] == "USD"
    assert cost["SecretStorage"] == pytest.approx(secret_days * 0.40 / 30, abs=1e-6)
    assert cost["KeyStorage"] == pytest.approx(key_days * 1.00 / 30, abs=1e-6)
    assert cost["SecretsManagerRequests"] == pytest.approx(sm_calls * 0.05 / 10_000, abs=1e-6)
    assert cost["KmsRequests"] == pytest.approx(kms_calls * 0.03 / 10_000, abs=1e-6)
    assert cost["Total"] == pytest.approx(
        cost["SecretStorage"]
        + cost["KeyStorage"]
        + cost["SecretsManagerRequests"]
        + cost["KmsRequests"],
        abs=1e-5,
    )

    # More calls are counted the moment usage is asked for again (the roll-up runs first).
    sm = client(server, "secretsmanager", busy_tenant["session"])
    sm.get_secret_value(SecretId=f"/customer/{busy_tenant['id']}/db")
    again = client(server, "strongroom").get_tenant_usage(
        TenantId=busy_tenant["id"], StartDate=today["Date"], EndDate=today["Date"]
    )
    [only] = again["Usage"][0]["Days"]
    assert operation_counts(only)[(SM, "GetSecretValue")] == GETS + 1


def test_all_tenants_usage_includes_the_tenant(
    server: RunningServer, busy_tenant: dict[str, Any]
) -> None:
    answer = client(server, "strongroom").get_tenant_usage()
    assert busy_tenant["id"] in {u["TenantId"] for u in answer["Usage"]}


def test_a_tenant_sees_only_its_own_usage_and_only_when_allowed(
    server: RunningServer, busy_tenant: dict[str, Any]
) -> None:
    admin = client(server, "strongroom", busy_tenant["session"])
    with pytest.raises(ClientError) as refused:
        admin.get_tenant_usage(TenantId=busy_tenant["id"])
    assert code(refused) == "AccessDeniedException"

    # Even a policy allowing every tenant's usage does not open another tenant's.
    client(server, "iam").put_role_policy(
        RoleName=busy_tenant["record"]["RoleName"],
        PolicyName="usage-reader",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "strongroom:GetTenantUsage", "Resource": "*"}
                ],
            }
        ),
    )
    other = f"use-{uuid.uuid4().hex[:8]}"
    client(server, "strongroom").create_tenant(TenantId=other, KeyMode="DEDICATED")
    admin = client(server, "strongroom", tenant_session(server, busy_tenant["record"]["RoleArn"]))
    own = admin.get_tenant_usage(TenantId=busy_tenant["id"])["Usage"]
    assert [u["TenantId"] for u in own] == [busy_tenant["id"]]
    # Asking for everything answers with its own tenant only.
    assert [u["TenantId"] for u in admin.get_tenant_usage()["Usage"]] == [busy_tenant["id"]]
    with pytest.raises(ClientError) as guarded:
        admin.get_tenant_usage(TenantId=other)
    assert code(guarded) == "AccessDeniedException"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"TenantId": "no-such-tenant-anywhere"}, "ResourceNotFoundException"),
        ({"TenantId": "Not_A_Tenant"}, "ValidationException"),
        ({"StartDate": "2026-11-02", "EndDate": "2026-11-01"}, "ValidationException"),
        ({"StartDate": "2025-01-01", "EndDate": "2026-01-03"}, "ValidationException"),
        ({"StartDate": "2026-02-30"}, "ValidationException"),
        ({"StartDate": "11/01/2026"}, "ValidationException"),
    ],
)
def test_bad_requests_get_aws_errors(
    server: RunningServer, parameters: dict[str, str], expected: str
) -> None:
    with pytest.raises(ClientError) as refused:
        client(server, "strongroom").get_tenant_usage(**parameters)
    assert code(refused) == expected


def strongroom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_prints_a_table_per_tenant_and_the_cost(
    busy_tenant: dict[str, Any], aws_env: dict[str, str]
) -> None:
    done = strongroom("tenant", "usage", "--tenant", busy_tenant["id"], env=aws_env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Tenant {busy_tenant['id']}" in out
    assert "Secrets Manager calls" in out
    assert "secretsmanager:GetSecretValue" in out
    assert "Estimated cost (USD)" in out
    assert "0.4 per secret-month" in out
    assert "not a bill" in out

    as_json = strongroom("tenant", "usage", "--tenant", busy_tenant["id"], "--json", env=aws_env)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    [usage] = document["Usage"]
    assert operation_counts(usage["Days"][-1])[(SM, "GetSecretValue")] >= GETS
    assert f"total {usage['EstimatedCost']['Total']:.6f}" in out


def test_cli_passes_dates_and_reports_errors(
    busy_tenant: dict[str, Any], aws_env: dict[str, str]
) -> None:
    one_day = strongroom(
        "tenant",
        "usage",
        "--tenant",
        busy_tenant["id"],
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-03",
        "--json",
        env=aws_env,
    )
    assert one_day.returncode == 0, one_day.stderr
    assert [d["Date"] for d in json.loads(one_day.stdout)["Usage"][0]["Days"]] == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
    ]
    backwards = strongroom(
        "tenant", "usage", "--start", "2026-01-02", "--end", "2026-01-01", env=aws_env
    )
    assert backwards.returncode == 1
    assert "ValidationException" in backwards.stderr
    not_a_date = strongroom("tenant", "usage", "--start", "yesterday", env=aws_env)
    assert not_a_date.returncode == 2


def test_unit_prices_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "strongroom.toml"
    config.write_text("[pricing]\nkms_per_10k_requests = 0.5\nsecret_per_month = 1.25\n")
    server = start_server(tmp_path / "data", "--config", str(config))
    try:
        prices = client(server, "strongroom").get_tenant_usage()["Prices"]
    finally:
        server.stop()
    assert prices == {
        "Currency": "USD",
        "SecretPerMonth": 1.25,
        "KeyPerMonth": 1.00,
        "SecretsManagerPer10kRequests": 0.05,
        "KmsPer10kRequests": 0.5,
    }


def test_a_bad_price_stops_the_server_from_starting(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "server", "--dev", "--pricing", '{"kms": 1}'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown price 'kms'" in done.stderr
