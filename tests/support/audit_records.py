"""Read a running (or stopped) server's audit trail straight from its data database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.support.server import RunningServer


def data_db(server: RunningServer | Path) -> Path:
    data_dir = server.data_dir if isinstance(server, RunningServer) else server
    return data_dir / "data.db"


def records(server: RunningServer | Path, *, alarms: bool = True) -> list[dict[str, Any]]:
    """Every stored CloudTrail record, in chain order (region, then seq)."""
    with closing(sqlite3.connect(data_db(server), timeout=30)) as connection:
        rows = connection.execute("SELECT record FROM audit_events ORDER BY region, seq").fetchall()
    found = [json.loads(row[0]) for row in rows]
    if not alarms:
        found = [r for r in found if r["eventType"] != "StrongroomAlarm"]
    return found


def for_request(server: RunningServer | Path, request_id: str) -> list[dict[str, Any]]:
    """The call events (not alarms) a request produced."""
    return [r for r in records(server, alarms=False) if r["requestID"] == request_id]


def raw_records(server: RunningServer | Path) -> list[bytes]:
    """The exact stored record bytes (what the hash chain covers)."""
    with closing(sqlite3.connect(data_db(server), timeout=30)) as connection:
        return [bytes(row[0]) for row in connection.execute("SELECT record FROM audit_events")]


def request_ids(server: RunningServer | Path) -> set[str]:
    return {r["requestID"] for r in records(server, alarms=False)}


def verify_chain(server: RunningServer | Path) -> subprocess.CompletedProcess[str]:
    """``strongroom audit verify`` on the server's data directory (exit 0: the chain holds)."""
    data_dir = server.data_dir if isinstance(server, RunningServer) else server
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "audit",
            "verify",
            "--dev",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
