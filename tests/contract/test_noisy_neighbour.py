"""Noisy neighbour: a tenant sending at 10x its read rate is throttled for the excess, and
meanwhile another tenant well under its own rate sees every call succeed. (Its p99 latency
beside the flood against alone, target 2x, is measured by `make bench-noisy`, not here.)

The quiet tenant calls through boto3 (retries off), one call at a time, as an application
would. The noisy tenant replays one botocore-signed request from a separate process (its
threads would otherwise share this process's GIL with the measured client, and a boto3
flood would spend more of the shared CPU than the server does). Load is bounded: 20
reads/s allowed, 200/s sent for 6 s.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.support.principals import ACCOUNT, Caller, allow, user
from tests.support.server import RunningServer, start_server

pytestmark = [pytest.mark.contract, pytest.mark.exclusive]

READ_RATE = 20.0  # per second, for every tenant
BURST_SECONDS = 1.0
NOISY_RATE = 10 * READ_RATE
QUIET_RATE = READ_RATE / 2  # well under its limit
SECONDS = 6.0  # per phase: 60 quiet calls each
NOISY_THREADS = 8


@dataclass(frozen=True)
class Flood:
    accepted: int
    throttled: int
    other_errors: list[str]
    first_sent: float
    last_sent: float


def signed_get_secret_value(
    endpoint: str, key_id: str, secret_key: str, secret: str
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a GetSecretValue signed by botocore (replayable for 5 minutes)."""
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
    SigV4Auth(Credentials(key_id, secret_key), "secretsmanager", "us-east-1").add_auth(request)
    headers = {"Host": endpoint.removeprefix("http://"), **dict(request.headers.items())}
    return {k: str(v) for k, v in headers.items()}, body


def flood(
    endpoint: str, key_id: str, secret_key: str, secret: str, rate: float, seconds: float
) -> Flood:
    """Send GetSecretValue at ``rate`` per second for ``seconds`` from a few keep-alive
    connections, each call as scheduled (or at once when behind): never more than
    ``rate * seconds`` calls. One request signed by botocore is replayed, so the flood's
    client costs little CPU of the shared machine: what is measured is the server."""
    headers, body = signed_get_secret_value(endpoint, key_id, secret_key, secret)
    host, port = endpoint.removeprefix("http://").split(":")
    total = int(rate * seconds)
    lock = threading.Lock()
    counts = {"accepted": 0, "throttled": 0}
    errors: list[str] = []
    sent: list[float] = []
    start = time.monotonic() + 0.2

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            for n in range(index, total, NOISY_THREADS):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                at = time.monotonic()
                connection.request("POST", "/", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                code = "" if response.status == 200 else json.loads(answer).get("__type", "")
                with lock:
                    sent.append(at)
                    if response.status == 200:
                        counts["accepted"] += 1
                    elif code == "ThrottlingException":
                        assert response.getheader("Retry-After") == "1"
                        counts["throttled"] += 1
                    else:
                        errors.append(f"{response.status} {code}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(NOISY_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Flood(counts["accepted"], counts["throttled"], errors, min(sent), max(sent))


def paced_latencies(caller: Caller, secret: str, rate: float, seconds: float) -> list[float]:
    """GetSecretValue at ``rate`` per second for ``seconds``, one at a time: each call's
    latency in seconds (every call must succeed)."""
    client = boto3.client(
        "secretsmanager",
        endpoint_url=caller.endpoint,
        region_name="us-east-1",
        aws_access_key_id=caller.access_key_id,
        aws_secret_access_key=caller.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.get_secret_value(SecretId=secret)  # connection and signer warm
    time.sleep(1.0 / rate)
    latencies = []
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        value = client.get_secret_value(SecretId=secret)
        latencies.append(time.perf_counter() - began)
        assert value["SecretString"] == "quiet-value"
    return latencies


@pytest.fixture(scope="module")
def noisy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tier = {"read_rate": READ_RATE, "burst_seconds": BURST_SECONDS}
    running = start_server(
        tmp_path_factory.mktemp("noisy-server"),
        "--tenant-tiers",
        json.dumps({"small": tier}),
        "--default-tenant-tier",
        "small",
    )
    try:
        yield running
    finally:
        running.stop()


def tenant(server: RunningServer, tenant_id: str, value: str) -> tuple[Caller, str]:
    secret = f"/customer/{tenant_id}/api-key"
    server.client("secretsmanager").create_secret(Name=secret, SecretString=value)
    caller = user(
        server,
        f"{tenant_id}-app",
        policies={
            "read": allow(
                ["secretsmanager:GetSecretValue"],
                f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/{tenant_id}/*",
            )
        },
        user_tags={"customer": tenant_id},
    )
    return caller, secret


def test_a_noisy_tenant_is_throttled_and_its_neighbour_is_not_slowed(
    noisy_server: RunningServer,
) -> None:
    noisy, noisy_secret = tenant(noisy_server, "cust-noisy", "noisy-value")
    quiet, quiet_secret = tenant(noisy_server, "cust-quiet", "quiet-value")

    alone = paced_latencies(quiet, quiet_secret, QUIET_RATE, SECONDS)

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(time.sleep, 0).result()  # the process is up before the clock starts
        future = pool.submit(
            flood,
            noisy_server.endpoint,
            noisy.access_key_id,
            noisy.secret_access_key,
            noisy_secret,
            NOISY_RATE,
            SECONDS,
        )
        time.sleep(0.3)  # the flood is under way before the first measured call
        together = paced_latencies(quiet, quiet_secret, QUIET_RATE, SECONDS - 0.5)
        flooded: Flood = future.result(timeout=60)

    assert flooded.other_errors == []
    sent = flooded.accepted + flooded.throttled
    assert sent == int(NOISY_RATE * SECONDS)
    # A full bucket (rate x burst) at the first call, then the rate.
    expected = READ_RATE * BURST_SECONDS + READ_RATE * (flooded.last_sent - flooded.first_sent)
    assert flooded.accepted == pytest.approx(expected, rel=0.15, abs=3)
    assert flooded.throttled >= sent * 0.8

    # Both phases ran every quiet call to success (paced_latencies asserts it). Their
    # latencies are not compared here: a timed assertion does not belong in a test (a
    # p99 of 60 calls is one hiccup), and `make bench-noisy` (benchmarks/noisy_neighbour.py)
    # measures the p99 ratio against its 2x target in interleaved rounds.
    assert len(alone) == int(QUIET_RATE * SECONDS)
    assert len(together) == int(QUIET_RATE * (SECONDS - 0.5))
