"""``strongroom audit lookup`` and ``audit tail`` on a running server's database."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.cli.main import main as cli_main
from tests.support.audit_trail import ROOT, audit_event, plant, quiet_region, recently
from tests.support.principals import ACCOUNT
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract

BOB = UserIdentity(
    type="IAMUser",
    principal_id="AIDABOB",
    arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
    account_id=ACCOUNT,
    access_key_id="AKIABOBPLANTED0001",
    user_name="bob",
)


def strongroom(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "audit",
            args[0],
            "--dev",
            "--data-dir",
            str(server.data_dir),
            *args[1:],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def records(server: RunningServer, *args: str) -> list[dict[str, Any]]:
    result = strongroom(server, "lookup", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def records_in_process(server: RunningServer, *args: str) -> list[dict[str, Any]]:
    """``records``, with the same ``strongroom audit lookup`` command line run by the CLI's
    own click group in this process against the server's database (each run a second of
    interpreter start-up less; ``records`` proves the command as a process)."""
    argv = ["audit", "lookup", "--dev", "--data-dir", str(server.data_dir), *args]
    result = CliRunner().invoke(cli_main, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def region() -> str:
    return quiet_region()


@pytest.fixture
def planted(server: RunningServer, region: str, unique: str) -> list[AuditEvent]:
    start = recently()
    secret = AuditResource(
        f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:orders-AbCdEf",
        "AWS::SecretsManager::Secret",
        name="orders",
    )
    events = [
        audit_event(
            start + timedelta(minutes=i),
            name,
            identity=BOB if i % 2 else ROOT,
            resources=[secret] if i < 3 else [],
            tenant=f"t-{unique}" if i < 2 else None,
            region=region,
        )
        for i, name in enumerate(["GetSecretValue", "Decrypt", "GetSecretValue", "Encrypt"])
    ]
    plant(server, events)
    return events


def test_lookup_prints_cloudtrail_records_newest_first_by_each_filter(
    server: RunningServer, region: str, unique: str, planted: list[AuditEvent]
) -> None:
    everything = records(server, "--region", region)
    assert everything == [json.loads(json.dumps(e.to_cloudtrail())) for e in reversed(planted)]

    def ids(*args: str) -> list[str]:
        return [r["eventID"] for r in records_in_process(server, "--region", region, *args)]

    expect = [e.event_id for e in planted]
    assert ids("--event-name", "GetSecretValue") == [expect[2], expect[0]]
    assert ids("--resource", "orders") == [expect[2], expect[1], expect[0]]
    assert ids("--resource", planted[0].resources[0].arn) == [expect[2], expect[1], expect[0]]
    assert ids("--principal", BOB.arn or "") == [expect[3], expect[1]]
    assert ids("--tenant", f"t-{unique}") == [expect[1], expect[0]]
    # Several filters at once: all must hold.
    assert ids("--tenant", f"t-{unique}", "--principal", BOB.arn or "") == [expect[1]]
    start, end = planted[1].event_time, planted[2].event_time
    assert ids("--start", start.isoformat(), "--end", end.isoformat()) == [expect[2], expect[1]]
    assert ids("--start", start.strftime("%Y-%m-%dT%H:%M:%SZ")) == expect[:0:-1]
    assert ids("--max", "2") == [expect[3], expect[2]]
    assert ids("--event-name", "DeleteSecret") == []


def test_lookup_pages_through_more_than_a_page(server: RunningServer, region: str) -> None:
    start = recently()
    plant(server, [audit_event(start, "Decrypt", region=region) for _ in range(1203)])
    assert len(records(server, "--region", region, "--max", "100000")) == 1203
    assert len(records_in_process(server, "--region", region)) == 50


def test_lookup_refuses_bad_input(server: RunningServer, tmp_path: Any) -> None:
    bad_time = strongroom(server, "lookup", "--start", "yesterday")
    assert bad_time.returncode == 2
    assert "ISO 8601" in bad_time.stderr
    reversed_range = strongroom(
        server, "lookup", "--start", "2026-01-02T00:00:00", "--end", "2026-01-01T00:00:00"
    )
    assert reversed_range.returncode == 2
    assert "--start is after --end" in reversed_range.stderr
    nowhere = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "audit",
            "lookup",
            "--dev",
            "--data-dir",
            str(tmp_path / "empty"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert nowhere.returncode == 1
    assert "has the server run here?" in nowhere.stderr


def test_tail_follows_new_events_of_one_tenant(
    server: RunningServer, region: str, unique: str
) -> None:
    tenant = f"t-{unique}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "audit",
            "tail",
            "--dev",
            "--data-dir",
            str(server.data_dir),
            "--tenant",
            tenant,
            "--interval",
            "0.1",
            "--max",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("following the audit trail")
        start = recently(0)
        mine = [
            audit_event(start, "GetSecretValue", tenant=tenant, region=region),
            audit_event(start, "Decrypt", tenant=tenant, region=region),
        ]
        elsewhere = quiet_region()
        plant(server, [mine[0], audit_event(start, "Decrypt", tenant="other", region=region)])
        plant(server, [mine[1], audit_event(start, "Encrypt", region=elsewhere)])
        third = audit_event(start, "PutSecretValue", tenant=tenant, region=elsewhere)
        plant(server, [third])
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    printed = [json.loads(line)["eventID"] for line in out.splitlines()]
    # Each region's events in the order they were appended; only the tenant's.
    assert sorted(printed) == sorted(e.event_id for e in (*mine, third))
    assert printed.index(mine[0].event_id) < printed.index(mine[1].event_id)
