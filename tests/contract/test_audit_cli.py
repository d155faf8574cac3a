"""`strongroom audit …` against a real deployment's databases: public-key, verify (and its
exit status on tampering), export with a proof a third party can check, checkpoint, prune."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom import bootstrap
from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity, canonical_json
from strongroom.audit.export import check_document
from strongroom.cli.main import main as cli_main
from strongroom.settings import Settings
from tests.support.server import start_server

pytestmark = pytest.mark.contract

REGION = "us-east-1"


def audit_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "audit",
            *args,
            "--dev",
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def audit_cli_in_process(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``audit_cli``'s command line run by the CLI's own click group in this process (the
    same command code on the same databases, without a second of interpreter start-up).
    Each command below also runs at least once as a process through ``audit_cli``."""
    argv = ["audit", *args, "--dev", "--data-dir", str(data_dir)]
    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("AWS_", "STRONGROOM_"))
    }
    result = CliRunner().invoke(cli_main, argv, env=unset, catch_exceptions=False)
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def tenant_event(tenant: str, n: int, when: datetime) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=when,
        event_source="secretsmanager.amazonaws.com",
        event_name="GetSecretValue",
        aws_region=REGION,
        source_ip="192.0.2.7",
        user_agent="contract-test",
        request_id=str(uuid.uuid4()),
        read_only=True,
        user_identity=UserIdentity(
            type="IAMUser",
            arn=f"arn:aws:iam::123456789012:user/{tenant}-app",
            account_id="123456789012",
            access_key_id="AKIAEXAMPLE000000001",
            user_name=f"{tenant}-app",
        ),
        request_parameters={"secretId": f"{tenant}/db-{n}"},
        resources=(
            AuditResource(
                arn=f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{tenant}/db-{n}-AbCdEf",
                type="AWS::SecretsManager::Secret",
                tenant=tenant,
                name=f"{tenant}/db-{n}",
            ),
        ),
        tenant=tenant,
        recipient_account_id="123456789012",
    )


@pytest.fixture(scope="module")
def stopped_deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dev deployment the server created (databases, dev root key), now stopped, with
    events of two tenants interleaved in its audit chain. Made once per module; each test
    gets a copy of its own (``deployment``)."""
    data_dir = tmp_path_factory.mktemp("audit-cli") / "data"
    server = start_server(data_dir)
    try:
        server.client("secretsmanager").create_secret(Name="cli-audit", SecretString="v")
    finally:
        server.stop()
    tools = bootstrap.open_audit(Settings(dev=True, data_dir=data_dir), unlock=True)
    try:
        now = datetime.now(UTC)
        events = [
            tenant_event("acme" if n % 3 else "globex", n, now - timedelta(minutes=60 - n))
            for n in range(1200)
        ]
        for start in range(0, len(events), 200):
            tools.trail.store.append(events[start : start + 200])
    finally:
        tools.close()
    return data_dir


@pytest.fixture
def deployment(stopped_deployment: Path, tmp_path: Path) -> Path:
    """A private copy of the stopped deployment (nothing holds its databases open), which
    the test may tamper with, checkpoint or prune."""
    return Path(shutil.copytree(stopped_deployment, tmp_path / "data"))


def test_public_key_is_the_deployments_ed25519_key(deployment: Path) -> None:
    first = audit_cli(deployment, "public-key")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert audit_cli_in_process(deployment, "public-key").stdout == first.stdout
    tools = bootstrap.open_audit(Settings(dev=True, data_dir=deployment), unlock=False)
    try:
        assert tools.trail.public_key_pem is not None
        assert tools.trail.public_key_pem.decode().strip() == first.stdout.strip()
    finally:
        tools.close()


def test_verify_passes_then_names_the_first_tampered_event(deployment: Path) -> None:
    clean = audit_cli(deployment, "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"ok {REGION}:" in clean.stdout
    ranged = audit_cli_in_process(
        deployment, "verify", "--region", REGION, "--from", "1100", "--to", "1150"
    )
    assert ranged.returncode == 0, ranged.stdout + ranged.stderr
    assert "checkpoint at seq 1000" in ranged.stdout

    with sqlite3.connect(deployment / "data.db") as db:
        (record, event_id) = db.execute(
            "SELECT record, event_id FROM audit_events WHERE region = ? AND seq = 700", (REGION,)
        ).fetchone()
        edited = json.loads(record)
        edited["sourceIPAddress"] = "203.0.113.99"
        db.execute(
            "UPDATE audit_events SET record = ? WHERE region = ? AND seq = 700",
            (canonical_json(edited), REGION),
        )
        db.execute("DELETE FROM audit_events WHERE region = ? AND seq = 900", (REGION,))
    tampered = audit_cli(deployment, "verify")
    assert tampered.returncode == 1
    assert f"FAILED {REGION}: seq 700 (event {event_id}) edited" in tampered.stdout
    # A range after the edit starts from the checkpoint at 1000, past both problems.
    assert audit_cli_in_process(deployment, "verify", "--from", "1001").returncode == 0
    # A range over both problems names the first of them.
    over_both = audit_cli_in_process(deployment, "verify", "--from", "650", "--to", "950")
    assert "seq 700" in over_both.stdout


def test_export_carries_a_proof_a_third_party_can_check(deployment: Path, tmp_path: Path) -> None:
    out = tmp_path / "acme.json"
    exported = audit_cli(deployment, "export", "--tenant", "acme", "--out", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    document = json.loads(out.read_text())
    records = document["Records"]
    assert len(records) == 800
    assert {r["tenant"] for r in records} == {"acme"}
    assert all(r["eventName"] == "GetSecretValue" for r in records)
    proof = document["StrongroomProof"]
    # The export signs the head first, so a signed checkpoint encloses the newest event.
    checkpoint_seqs = [c["seq"] for c in proof["checkpoints"]]
    assert checkpoint_seqs
    assert checkpoint_seqs[-1] >= max(e["seq"] for e in proof["events"])
    assert "attestation" in proof
    assert proof["verifiedRanges"][0]["awsRegion"] == REGION
    public = audit_cli_in_process(deployment, "public-key").stdout.encode()
    assert check_document(document, public) == []
    # Any change to a record breaks the proof.
    records[5]["sourceIPAddress"] = "198.51.100.1"
    assert check_document(document, public) != []


def test_export_time_window_and_refusal_on_a_broken_chain(deployment: Path, tmp_path: Path) -> None:
    recent = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = tmp_path / "recent.json"
    windowed = audit_cli_in_process(
        deployment, "export", "--tenant", "globex", "--start", recent, "--out", str(out)
    )
    assert windowed.returncode == 0, windowed.stderr
    cutoff = datetime.fromisoformat(recent.replace("Z", "+00:00"))
    times = [
        datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00"))
        for r in json.loads(out.read_text())["Records"]
    ]
    assert times
    assert all(t >= cutoff for t in times)
    with sqlite3.connect(deployment / "data.db") as db:
        db.execute("DELETE FROM audit_events WHERE region = ? AND seq = 1199", (REGION,))
    refused = audit_cli(deployment, "export", "--tenant", "acme", "--out", str(tmp_path / "x.json"))
    assert refused.returncode == 1
    assert "fails to verify" in refused.stderr


def test_checkpoint_and_prune(deployment: Path) -> None:
    made = audit_cli(deployment, "checkpoint")
    assert made.returncode == 0, made.stderr
    assert f"{REGION}: checkpoint at seq" in made.stdout
    assert "already checkpointed" in audit_cli_in_process(deployment, "checkpoint").stdout
    assert "nothing older" in audit_cli_in_process(deployment, "prune").stdout
    # Age everything by a year and a day (as an operator's clock would see it much later).
    with sqlite3.connect(deployment / "data.db") as db:
        db.execute("UPDATE audit_events SET event_time = event_time - ?", (366 * 86_400 * 10**6,))
    pruned = audit_cli(deployment, "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned" in pruned.stdout
    exports = list((deployment / "audit-export").glob("*.json.gz"))
    assert len(exports) == 1
    with gzip.open(exports[0]) as handle:
        assert len(json.load(handle)["Records"]) >= 1200
    after = audit_cli_in_process(deployment, "verify")
    assert after.returncode == 0, after.stdout
    assert "pruned anchor" in after.stdout
