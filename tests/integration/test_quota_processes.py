"""Two server processes on one PostgreSQL database share a tenant's rate limit: each sees
the other's heartbeat and enforces half the rate, so a tenant sending as fast as it can to
both gets about the limit in total (docs/performance.md "Quotas" states the tolerance)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.postgres import create_database, drop_database
from tests.support.principals import ACCOUNT, allow, user
from tests.support.server import RunningServer, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.contract, pytest.mark.exclusive]

READ_RATE = 20.0
BURST_SECONDS = 1.0
SECONDS = 3.0
THREADS_PER_SERVER = 3


def processes_seen(server: RunningServer) -> float:
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as response:  # noqa: S310
        body = response.read().decode()
    found = re.search(r"^strongroom_rate_limit_processes ([0-9.]+)$", body, re.MULTILINE)
    assert found is not None
    return float(found.group(1))


@pytest.fixture
def two_servers(postgres_url: str, tmp_path: Path) -> Iterator[tuple[RunningServer, ...]]:
    root_key = tmp_path / "root.key"
    root_key.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    root_key.chmod(0o600)
    keystore_url, keystore_name = create_database()  # the keystore is a database of its own
    tier = json.dumps({"shared": {"read_rate": READ_RATE, "burst_seconds": BURST_SECONDS}})
    common = (
        "--root-key-file",
        str(root_key),
        "--data-url",
        postgres_url,
        "--keystore-url",
        keystore_url,
        "--tenant-tiers",
        tier,
        "--default-tenant-tier",
        "shared",
    )
    started: list[RunningServer] = []
    try:
        for n in range(2):
            started.append(start_server(tmp_path / f"node-{n}", *common, dev=False))
        deadline = time.monotonic() + 15
        while not all(processes_seen(s) == 2 for s in started):
            assert time.monotonic() < deadline, "the processes did not see each other"
            time.sleep(0.2)
        yield tuple(started)
    finally:
        for server in started:
            server.stop()
        drop_database(keystore_name)


def signed_get(
    endpoint: str, credentials: Credentials, secret: str
) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"SecretId": secret}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        },
    )
    SigV4Auth(credentials, "secretsmanager", "us-east-1").add_auth(request)
    headers = {"Host": endpoint.removeprefix("http://"), **dict(request.headers.items())}
    return {k: str(v) for k, v in headers.items()}, body


def test_two_processes_enforce_one_limit_together(
    two_servers: tuple[RunningServer, RunningServer],
) -> None:
    first, second = two_servers
    secret = "/customer/cust-shared/db"
    first.client("secretsmanager").create_secret(Name=secret, SecretString="value")
    caller = user(
        first,
        "cust-shared-app",
        policies={
            "read": allow(
                ["secretsmanager:GetSecretValue"],
                f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/cust-shared/*",
            )
        },
        user_tags={"customer": "cust-shared"},
    )
    credentials = Credentials(caller.access_key_id, caller.secret_access_key)
    # The other process knows the user as soon as its identity cache (1 s) lets it.
    time.sleep(1.5)

    lock = threading.Lock()
    accepted = {first.endpoint: 0, second.endpoint: 0}
    others: list[int] = []
    start = time.monotonic() + 0.2
    stop = start + SECONDS

    def hammer(endpoint: str) -> None:
        headers, body = signed_get(endpoint, credentials, secret)
        host, port = endpoint.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            time.sleep(max(0.0, start - time.monotonic()))
            while time.monotonic() < stop:
                connection.request("POST", "/", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                with lock:
                    if response.status == 200:
                        accepted[endpoint] += 1
                    elif json.loads(answer).get("__type") != "ThrottlingException":
                        others.append(response.status)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=hammer, args=(server.endpoint,))
        for server in (first, second)
        for _ in range(THREADS_PER_SERVER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert others == []
    # Each process: a bucket of half the burst, refilled at half the rate.
    expected = READ_RATE * BURST_SECONDS + READ_RATE * SECONDS
    total = sum(accepted.values())
    # The stated tolerance is ±1/N of the limit (N = 2); evenly loaded, it is far closer.
    assert abs(total - expected) <= expected / 2, accepted
    assert total == pytest.approx(expected, rel=0.15), accepted
    for count in accepted.values():
        assert count == pytest.approx(expected / 2, rel=0.2), accepted
