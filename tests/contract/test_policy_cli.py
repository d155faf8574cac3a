"""`strongroom policy simulate` and `strongroom policy check-isolation` against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import principals
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
