"""Start and stop a real `strongroom server --dev` process for tests."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from strongroom.cli import signed_call
from strongroom.client import service_model

_SESSIONS: dict[tuple[str, str, str | None, str], boto3.Session] = {}
_SESSIONS_LOCK = threading.Lock()

ROOT_ACCESS_KEY_ID = "AKIATESTROOT0000001"
ROOT_SECRET_ACCESS_KEY = "test-root-secret-access-key-0000000000"


def free_port() -> int:
    """A loopback port nobody listens on. Under pytest-xdist each worker takes its ports
    from a range of its own, below the kernel's ephemeral range: two workers asking at once
    would otherwise be handed the same port, and one would test the other's server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    first = _WORKER_PORTS_START + int(worker[2:]) * _WORKER_PORTS
    for _ in range(_WORKER_PORTS):
        port = first + next(_port_cursor) % _WORKER_PORTS
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}..{first + _WORKER_PORTS - 1}")


# 20000..: below Linux's ephemeral range (32768..) for up to 12 workers.
_WORKER_PORTS_START = 20_000
_WORKER_PORTS = 1_000
_port_cursor = itertools.count()  # thread-safe: count's __next__ holds the GIL


@dataclass
class RunningServer:
    endpoint: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    extra_args: tuple[str, ...] = field(default=())

    def client(
        self,
        service: str,
        region: str = "us-east-1",
        *,
        credentials: Mapping[str, str] | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 client with retries off, as root unless ``credentials`` ({"key",
        "secret"[, "token"]}) are given; ``service`` may be the admin API, "strongroom"."""
        given = credentials or {"key": ROOT_ACCESS_KEY_ID, "secret": ROOT_SECRET_ACCESS_KEY}
        # A session caches the service models it has loaded: one per identity keeps client
        # creation cheap (tests create thousands); botocore sessions are not thread-safe.
        identity = (given["key"], given["secret"], given.get("token"), region)
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(identity)
            if session is None:
                session = boto3.Session(
                    aws_access_key_id=given["key"],
                    aws_secret_access_key=given["secret"],
                    aws_session_token=given.get("token"),
                    region_name=region,
                )
                service_model.register(session)
                _SESSIONS[identity] = session
            return session.client(
                service,
                endpoint_url=self.endpoint,
                config=Config(retries={"max_attempts": 1}, **config),
            )

    def dev_call(self, operation: str, document: dict[str, Any] | None = None) -> None:
        """Call a dev-server tool (``ResetDevState``, ``AdvanceClock``) as root."""
        status, body = signed_call.post(
            self.endpoint,
            "us-east-1",
            "strongroom",
            f"Strongroom_20261101.{operation}",
            json.dumps(document or {}).encode(),
            Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
        )
        if status != 200:
            raise RuntimeError(f"{operation} failed ({status}): {body!r}")

    def advance_clock(self, seconds: float) -> None:
        """Move the server's service clock forward and run its scheduled jobs once."""
        self.dev_call("AdvanceClock", {"Seconds": seconds})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    data_dir: Path,
    *extra_args: str,
    port: int | None = None,
    dev: bool = True,
    fixed_credentials: bool = True,
) -> RunningServer:
    """Start a server; ``dev=False`` runs production mode (the caller passes a root key)."""
    port = port or free_port()
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    command = [
        sys.executable,
        "-m",
        "strongroom.cli",
        "server",
        *(["--dev"] if dev else []),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *(
            [
                "--root-access-key-id",
                ROOT_ACCESS_KEY_ID,
                "--root-secret-access-key",
                ROOT_SECRET_ACCESS_KEY,
            ]
            if fixed_credentials
            else []
        ),
        *extra_args,
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return RunningServer(endpoint, data_dir, process, log_path, extra_args)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy:\n{log_path.read_text(errors='replace')}")
