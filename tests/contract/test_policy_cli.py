"""`strongroom policy simulate` and `strongroom policy check-isolation` against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom import bootstrap
from strongroom.settings import Settings
from tests.support import principals
from tests.support.dev_stack import root_context
from tests.support.principals import ACCOUNT, allow, role, user
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)

pytestmark = pytest.mark.contract

SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[RunningServer]:
    """A fresh server holding two tenants, each with its own correctly scoped role."""
    running = start_server(tmp_path / "data")
    try:
        sm = running.client("secretsmanager")
        kms = running.client("kms")
        for tenant in ("cust-1", "cust-12"):
            sm.create_secret(
                Name=f"/customer/{tenant}/db",
                SecretString="s",
                Tags=principals.tags({"customer": tenant}),
            )
            kms.create_key(Tags=[{"TagKey": "customer", "TagValue": tenant}])
            role(
                running,
                f"{tenant}-service",
                policies={
                    "secrets": allow(
                        ["secretsmanager:GetSecretValue"], f"{SECRETS}/customer/{tenant}/*"
                    )
                },
                role_tags={"customer": tenant},
            )
        user(running, "ops", policies={"admin": allow(["*"])})
        yield running
    finally:
        running.stop()


def _run(server: RunningServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "policy", *args, "--endpoint", server.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_check_isolation_passes_then_names_the_typo(
    isolated: RunningServer, tmp_path: Path
) -> None:
    clean = _run(isolated, tmp_path, "check-isolation")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 tenants" in clean.stdout
    assert f"arn:aws:iam::{ACCOUNT}:user/ops" in clean.stdout  # listed as administrator

    isolated.client("iam").put_role_policy(
        RoleName="cust-1-service",
        PolicyName="typo",
        PolicyDocument=json.dumps(
            allow(["secretsmanager:GetSecretValue"], f"{SECRETS}/customer/cust-1*")
        ),
    )
    found = _run(isolated, tmp_path, "check-isolation", "--json")
    assert found.returncode == 1, found.stdout + found.stderr
    report = json.loads(found.stdout)
    findings = report["findings"]
    assert findings
    assert {f["tenant"] for f in findings} == {"cust-12"}
    assert {f["principal"] for f in findings} == {f"arn:aws:iam::{ACCOUNT}:role/cust-1-service"}
    assert all(f["blockedByTenantGuard"] for f in findings)
    assert any(s["policy"].endswith("/inline/typo") for f in findings for s in f["statements"])


def test_check_isolation_lists_shared_access_as_intended_or_blocked(
    isolated: RunningServer, tmp_path: Path
) -> None:
    """A tenant's access to /shared/ secrets is no finding: through a share it is intended,
    without one the tenant guard refuses it, and the report says which."""
    admin = isolated.client("strongroom")
    for tenant in ("cust-1", "cust-12"):
        admin.create_tenant(TenantId=tenant)
        isolated.client("iam").put_role_policy(
            RoleName=f"{tenant}-service",
            PolicyName="shared",
            PolicyDocument=json.dumps(
                allow(["secretsmanager:GetSecretValue"], f"{SECRETS}/shared/*")
            ),
        )
    stripe = isolated.client("secretsmanager").create_secret(
        Name="/shared/vendor/stripe/api-key", SecretString="sk"
    )["ARN"]
    admin.share_secrets(TenantId="cust-1", SecretPattern="/shared/vendor/*")

    text = _run(isolated, tmp_path, "check-isolation")
    assert text.returncode == 0, text.stdout + text.stderr
    lines = [line for line in text.stdout.splitlines() if line.startswith("SHARED")]
    assert (
        f"SHARED tenant cust-1: arn:aws:iam::{ACCOUNT}:role/cust-1-service may "
        f"secretsmanager:GetSecretValue on {stripe}, allowed by "
        f"arn:aws:iam::{ACCOUNT}:role/cust-1-service/inline/shared statement 0; "
        "shared (intended) by share /shared/vendor/*"
    ) in lines
    assert (
        f"SHARED tenant cust-12: arn:aws:iam::{ACCOUNT}:role/cust-12-service may "
        f"secretsmanager:GetSecretValue on {stripe}, allowed by "
        f"arn:aws:iam::{ACCOUNT}:role/cust-12-service/inline/shared statement 0; "
        "blocked by the tenant guard (no share)"
    ) in lines
    # The tenant roles CreateTenant made allow /shared/* reads too (DescribeSecret is no
    # action the analysis looks at): one line each, the same way.
    assert len(lines) == 4
    assert (
        "shares: 1; access to shared secrets: 2 shared (intended), "
        "2 blocked by the tenant guard (no share)"
    ) in text.stdout
    assert "2 tenants" in text.stdout

    as_json = _run(isolated, tmp_path, "check-isolation", "--json")
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["findings"] == []
    assert report["shares"] == [
        {"tenant": "cust-1", "pattern": "/shared/vendor/*", "actions": ["READ"]}
    ]
    categories = {
        (a["principal"].rsplit("/", 1)[1], a["tenant"], a["share"], a["blockedByTenantGuard"])
        for a in report["shared"]
        if a["intended"] is (a["share"] is not None)
    }
    assert categories == {
        ("cust-1-service", "cust-1", "/shared/vendor/*", False),
        ("tenant-cust-1", "cust-1", "/shared/vendor/*", False),
        ("cust-12-service", "cust-12", None, True),
        ("tenant-cust-12", "cust-12", None, True),
    }


def test_simulate_reports_each_action(isolated: RunningServer, tmp_path: Path) -> None:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/cust-1-service"
    allowed = _run(
        isolated,
        tmp_path,
        "simulate",
        "--principal",
        role_arn,
        "--action",
        "secretsmanager:GetSecretValue",
        "--resource",
        f"{SECRETS}/customer/cust-1/db-AbCdEf",
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stdout.startswith("allowed")
    denied = _run(
        isolated,
        tmp_path,
        "simulate",
        "--principal",
        role_arn,
        "--action",
        "secretsmanager:GetSecretValue",
        "--action",
        "secretsmanager:DeleteSecret",
        "--resource",
        f"{SECRETS}/customer/cust-12/db-AbCdEf",
    )
    assert denied.returncode == 1
    assert denied.stdout.count("implicitDeny") == 2


TENANT_COUNT = 1000


def _provision(data_dir: Path, count: int) -> None:
    """``count`` tenants as onboarding makes them (each its role with the isolation policy,
    in the ARN wildcard or the ABAC form, and its own key), and a secret each: CreateTenant
    and CreateSecret through the dev server's own operation handlers, wire JSON in and out,
    in process before the server starts on the same data directory (HTTP and SigV4 per call
    made this test's setup longer than both checks together)."""
    app = bootstrap.build(Settings(dev=True, data_dir=data_dir, reaper_interval_seconds=3600))
    try:
        assert app.dispatcher is not None
        dispatcher = app.dispatcher

        def call(target: str, **document: Any) -> None:
            body = json.dumps(document).encode()
            dispatcher.find(target).handler(root_context(), body)

        for index in range(count):
            tenant = f"cust-{index}"
            call(
                "Strongroom_20261101.CreateTenant",
                TenantId=tenant,
                KeyMode="DEDICATED",
                IsolationPolicy="ABAC" if index % 2 else "ARN_WILDCARD",
            )
            call("secretsmanager.CreateSecret", Name=f"/customer/{tenant}/db", SecretString="s")
    finally:
        app.close()


def test_check_isolation_on_a_thousand_tenants(tmp_path: Path) -> None:
    _provision(tmp_path / "data", TENANT_COUNT)
    server = start_server(tmp_path / "data")
    try:
        clean = _run(server, tmp_path, "check-isolation")
        assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
        assert f"{TENANT_COUNT} tenants" in clean.stdout

        planted = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Planted",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": f"{SECRETS}/customer/cust-500/*",
                }
            ],
        }
        server.client("iam").put_role_policy(
            RoleName="tenant-cust-7",
            PolicyName="vendor-access",
            PolicyDocument=json.dumps(planted),
        )
        found = _run(server, tmp_path, "check-isolation")
        assert found.returncode == 1
        lines = [line for line in found.stdout.splitlines() if line.startswith("FINDING")]
        assert lines, found.stdout[-2000:]
        assert all("tenant cust-500:" in line for line in lines)
        assert all(f"arn:aws:iam::{ACCOUNT}:role/tenants/tenant-cust-7" in line for line in lines)
        assert all(
            "role/tenants/tenant-cust-7/inline/vendor-access statement Planted" in line
            for line in lines
        )
    finally:
        server.stop()
