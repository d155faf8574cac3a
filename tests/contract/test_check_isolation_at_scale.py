"""`strongroom policy check-isolation` on a many-tenant account: it reports nothing on the
clean account, then finds one planted cross-tenant grant and names its statement. The
default run checks 200 tenants (both isolation-policy forms, a dedicated key and a secret
each, the grant planted between two tenants far apart); the 1,000-tenant account is the
same test behind the `slow` marker (`make test-slow`).

A file of its own so that, with one test file per worker at a time, this long test starts
early in the parallel run instead of finishing alone after everything else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strongroom import bootstrap
from strongroom.settings import Settings
from tests.contract.test_policy_cli import SECRETS, _run
from tests.support.dev_stack import root_context
from tests.support.principals import ACCOUNT
from tests.support.server import start_server

pytestmark = pytest.mark.contract


TENANT_COUNTS = [
    pytest.param(200, id="200-tenants"),
    pytest.param(1000, id="1000-tenants", marks=pytest.mark.slow),
]


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


@pytest.mark.parametrize("tenant_count", TENANT_COUNTS)
def test_check_isolation_on_many_tenants(tmp_path: Path, tenant_count: int) -> None:
    _provision(tmp_path / "data", tenant_count)
    victim = f"cust-{tenant_count // 2}"
    server = start_server(tmp_path / "data")
    try:
        clean = _run(server, tmp_path, "check-isolation")
        assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
        assert f"{tenant_count} tenants" in clean.stdout

        planted = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Planted",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": f"{SECRETS}/customer/{victim}/*",
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
        assert all(f"tenant {victim}:" in line for line in lines)
        assert all(f"arn:aws:iam::{ACCOUNT}:role/tenants/tenant-cust-7" in line for line in lines)
        assert all(
            "role/tenants/tenant-cust-7/inline/vendor-access statement Planted" in line
            for line in lines
        )
    finally:
        server.stop()
