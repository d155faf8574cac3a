"""Noisy neighbour: one tenant at 10x its read rate, another well under its own; the quiet
tenant's latency alone vs beside the flood, and how much of the flood gets through."""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

# Run as `.venv/bin/python benchmarks/noisy_neighbour.py`, benchmarks/ is already sys.path[0];
# the insert keeps the import working when this file is loaded some other way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import get_secret_value as gsv

BenchmarkError = gsv.BenchmarkError

ACCOUNT = "123456789012"  # the dev server's account
REGION = gsv.REGION
NOISY, QUIET = "cust-noisy", "cust-quiet"
TIER = "bench"
LATENCY_TARGET = 2.0  # quiet p99 beside the flood / quiet p99 alone
ACCEPTED_TOLERANCE = 0.1  # the flood's accepted calls within 10% of rate x time + burst
ALONE, TOGETHER = "alone", "together"


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    secret: str
    value: str
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class FloodResult:
    sent: int
    accepted: int
    throttled: int
    other: dict[str, int]
    first_sent: float
    last_sent: float
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured phase: the quiet tenant alone, or beside the flood."""

    name: str
    round: int
    quiet_requests: int
    quiet_p50_ms: float
    quiet_p90_ms: float
    quiet_p99_ms: float
    quiet_max_ms: float
    quiet_failures: int
    noisy_sent: int
    noisy_accepted: int
    noisy_throttled: int
    noisy_expected: float
    noisy_other: dict[str, int]
    server_cores: float
    server_cpu_us_per_req: float
    flood_client_cores: float
    machine_busy_cores: float
    steal_cores: float


# --- server and tenants -------------------------------------------------------------------


def start_server(work_dir: Path, rate: float, burst: float) -> gsv.Server:
    """``strongroom server --dev`` with every tenant on a tier of ``rate`` reads a second."""
    executable = Path(sys.executable).with_name("strongroom")
    if not executable.exists():
        raise BenchmarkError(f"{executable} not found: run this with the project's .venv python")
    port = gsv.free_port()
    tier = {"read_rate": rate, "burst_seconds": burst}
    argv = [
        str(executable),
        "server",
        "--dev",
        "--port",
        str(port),
        "--data-dir",
        str(work_dir / "data"),
        "--root-access-key-id",
        gsv.ACCESS_KEY_ID,
        "--root-secret-access-key",
        gsv.SECRET_ACCESS_KEY,
        "--tenant-tiers",
        json.dumps({TIER: tier}),
        "--default-tenant-tier",
        TIER,
    ]
    server = gsv.start_process(
        gsv.STRONGROOM, argv, work_dir / "strongroom.log", f"http://127.0.0.1:{port}"
    )
    gsv.wait_ready(server, "/healthz", 200)
    return server


def root_client(server: gsv.Server, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=gsv.ACCESS_KEY_ID,
        aws_secret_access_key=gsv.SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )


def provision(server: gsv.Server, name: str) -> Tenant:
    """A secret under the tenant's prefix and an IAM user tagged with the tenant that may
    read it (the user's access key signs the tenant's requests)."""
    secret, value = f"/customer/{name}/api-key", f"value-of-{name}"
    root_client(server, "secretsmanager").create_secret(Name=secret, SecretString=value)
    iam = root_client(server, "iam")
    user = f"{name}-app"
    iam.create_user(UserName=user, Tags=[{"Key": "customer", "Value": name}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:/customer/{name}/*",
            }
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Tenant(name, secret, value, Credentials(key["AccessKeyId"], key["SecretAccessKey"]))


def signed_get(endpoint: str, tenant: Tenant) -> gsv.SignedRequest:
    """One SigV4-signed GetSecretValue of the tenant's secret (replayable for 5 minutes)."""
    body = json.dumps({"SecretId": tenant.secret}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=body,
        headers={"Content-Type": gsv.CONTENT_TYPE, "X-Amz-Target": gsv.AMZ_TARGET},
    )
    SigV4Auth(tenant.credentials, "secretsmanager", REGION).add_auth(request)
    headers = {"Host": endpoint.removeprefix("http://"), **dict(request.headers.items())}
    return gsv.SignedRequest(headers={k: str(v) for k, v in headers.items()}, body=body)


def connection(endpoint: str) -> http.client.HTTPConnection:
    host, port = endpoint.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def send(conn: http.client.HTTPConnection, request: gsv.SignedRequest) -> tuple[int, bytes]:
    conn.request("POST", "/", body=request.body, headers=request.headers)
    response = conn.getresponse()
    return response.status, response.read()


# --- the two senders ----------------------------------------------------------------------


def flood(
    endpoint: str, request: gsv.SignedRequest, rate: float, seconds: float, threads: int
) -> FloodResult:
    """Replay ``request`` at ``rate`` a second for ``seconds`` from ``threads`` keep-alive
    connections; each call as scheduled, or at once when behind (never more in total).
    Runs in a process of its own, so its CPU is not the measured client's."""
    started_cpu = time.process_time()
    total = int(rate * seconds)
    lock = threading.Lock()
    outcomes: dict[str, int] = {}
    sent_at: list[float] = []
    start = time.monotonic() + 0.1

    def worker(index: int) -> None:
        conn = connection(endpoint)
        try:
            for n in range(index, total, threads):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                at = time.monotonic()
                status, body = send(conn, request)
                code = "200" if status == 200 else str(json.loads(body).get("__type", status))
                with lock:
                    sent_at.append(at)
                    outcomes[code] = outcomes.get(code, 0) + 1
        finally:
            conn.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    accepted = outcomes.pop("200", 0)
    throttled = outcomes.pop("ThrottlingException", 0)
    return FloodResult(
        sent=len(sent_at),
        accepted=accepted,
        throttled=throttled,
        other=outcomes,
        first_sent=min(sent_at),
        last_sent=max(sent_at),
        cpu_seconds=time.process_time() - started_cpu,
    )


def paced_latencies(
    endpoint: str, request: gsv.SignedRequest, expected: str, rate: float, seconds: float
) -> tuple[list[float], int]:
    """The quiet tenant: one call at a time at ``rate`` a second; (latencies of the calls
    that answered 200 with the right value, how many did not)."""
    conn = connection(endpoint)
    latencies: list[float] = []
    failures = 0
    try:
        send(conn, request)  # the connection is open before the clock starts
        start = time.monotonic() + 1.0 / rate
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            status, body = send(conn, request)
            elapsed = time.perf_counter() - began
            if status == 200 and json.loads(body).get("SecretString") == expected:
                latencies.append(elapsed)
            else:
                failures += 1
    finally:
        conn.close()
    return latencies, failures


def quantile(samples: Sequence[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


# --- one round ----------------------------------------------------------------------------


def run_phase(
    name: str,
    round_index: int,
    server: gsv.Server,
    tenants: dict[str, Tenant],
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
) -> Phase:
    quiet, noisy = tenants[QUIET], tenants[NOISY]
    quiet_request = signed_get(server.endpoint, quiet)
    noisy_request = signed_get(server.endpoint, noisy)
    server_cpu = gsv.process_tree_cpu_seconds(server.process.pid)
    busy, steal = gsv.machine_cpu_seconds()
    started = time.monotonic()
    result: FloodResult | None = None
    if name == TOGETHER:
        future = pool.submit(
            flood,
            server.endpoint,
            noisy_request,
            args.rate * args.factor,
            args.duration + 0.5,
            args.threads,
        )
        time.sleep(0.3)  # the flood is under way before the first measured call
        latencies, failures = paced_latencies(
            server.endpoint, quiet_request, quiet.value, args.rate * args.quiet, args.duration
        )
        result = future.result(timeout=args.duration * 10 + 60)
    else:
        latencies, failures = paced_latencies(
            server.endpoint, quiet_request, quiet.value, args.rate * args.quiet, args.duration
        )
    elapsed = time.monotonic() - started
    server_cpu = gsv.process_tree_cpu_seconds(server.process.pid) - server_cpu
    busy_after, steal_after = gsv.machine_cpu_seconds()
    requests = len(latencies) + failures + (result.sent if result else 0)
    expected = 0.0
    if result is not None:
        window = result.last_sent - result.first_sent
        expected = args.rate * args.burst + args.rate * window
    if len(latencies) < 2:
        raise BenchmarkError(f"{name}: the quiet tenant got {len(latencies)} answers")
    return Phase(
        name=name,
        round=round_index,
        quiet_requests=len(latencies) + failures,
        quiet_p50_ms=statistics.median(latencies) * 1000,
        quiet_p90_ms=quantile(latencies, 90) * 1000,
        quiet_p99_ms=quantile(latencies, 99) * 1000,
        quiet_max_ms=max(latencies) * 1000,
        quiet_failures=failures,
        noisy_sent=result.sent if result else 0,
        noisy_accepted=result.accepted if result else 0,
        noisy_throttled=result.throttled if result else 0,
        noisy_expected=round(expected, 1),
        noisy_other=result.other if result else {},
        server_cores=server_cpu / elapsed,
        server_cpu_us_per_req=server_cpu / requests * 1e6 if requests else float("nan"),
        flood_client_cores=(result.cpu_seconds / elapsed) if result else 0.0,
        machine_busy_cores=(busy_after - busy) / elapsed,
        steal_cores=(steal_after - steal) / elapsed,
    )


# --- summary ------------------------------------------------------------------------------

METRICS = (
    "quiet_p50_ms",
    "quiet_p99_ms",
    "quiet_max_ms",
    "server_cores",
    "server_cpu_us_per_req",
    "flood_client_cores",
    "machine_busy_cores",
    "steal_cores",
)


def medians(phases: Sequence[Phase]) -> dict[str, dict[str, float]]:
    return {
        name: {
            metric: statistics.median(getattr(p, metric) for p in phases if p.name == name)
            for metric in METRICS
        }
        for name in (ALONE, TOGETHER)
    }


def verdicts(phases: Sequence[Phase], args: argparse.Namespace) -> dict[str, Any]:
    rounds = sorted({p.round for p in phases})
    by = {(p.name, p.round): p for p in phases}
    p99_ratios = [by[TOGETHER, r].quiet_p99_ms / by[ALONE, r].quiet_p99_ms for r in rounds]
    p50_ratios = [by[TOGETHER, r].quiet_p50_ms / by[ALONE, r].quiet_p50_ms for r in rounds]
    floods = [p for p in phases if p.name == TOGETHER]
    accepted_ratios = [p.noisy_accepted / p.noisy_expected for p in floods]
    p99_ratio = statistics.median(p99_ratios)
    accepted_ratio = statistics.median(accepted_ratios)
    return {
        "quiet_p99_together_over_alone": round(p99_ratio, 3),
        "quiet_p99_ratio_per_round": [round(r, 3) for r in p99_ratios],
        "quiet_p50_together_over_alone": round(statistics.median(p50_ratios), 3),
        "quiet_failures": sum(p.quiet_failures for p in phases),
        "noisy_accepted_over_expected": round(accepted_ratio, 3),
        "noisy_accepted_ratio_per_round": [round(r, 3) for r in accepted_ratios],
        "noisy_throttled_share": round(
            statistics.median(p.noisy_throttled / p.noisy_sent for p in floods), 3
        ),
        "latency_target": LATENCY_TARGET,
        "latency_target_met": p99_ratio <= LATENCY_TARGET,
        "accepted_target_met": abs(accepted_ratio - 1) <= ACCEPTED_TOLERANCE,
        "quiet_all_succeeded": all(p.quiet_failures == 0 for p in phases),
    }


def print_summary(table: dict[str, dict[str, float]], verdict: dict[str, Any]) -> None:
    print(
        f"\n{'phase':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv cores':>9} "
        f"{'µs/req':>7} {'flood cores':>11} {'box busy':>8} {'steal':>6}"
    )
    for name, row in table.items():
        print(
            f"{name:<10} {row['quiet_p50_ms']:8.2f} {row['quiet_p99_ms']:8.2f} "
            f"{row['quiet_max_ms']:8.2f} {row['server_cores']:9.2f} "
            f"{row['server_cpu_us_per_req']:7.0f} {row['flood_client_cores']:11.2f} "
            f"{row['machine_busy_cores']:8.2f} {row['steal_cores']:6.2f}"
        )
    ratio = verdict["quiet_p99_together_over_alone"]
    met = "TARGET MET" if verdict["latency_target_met"] else "TARGET MISSED"
    print(f"\nquiet tenant p99 beside the flood / alone: {ratio:.2f} (<= {LATENCY_TARGET}): {met}")
    print(f"  per round: {verdict['quiet_p99_ratio_per_round']}")
    print(
        f"quiet tenant calls that failed: {verdict['quiet_failures']}"
        f" ({'TARGET MET' if verdict['quiet_all_succeeded'] else 'TARGET MISSED'})"
    )
    accepted = verdict["noisy_accepted_over_expected"]
    met = "TARGET MET" if verdict["accepted_target_met"] else "TARGET MISSED"
    print(
        f"noisy tenant accepted / (rate x time + burst): {accepted:.3f} "
        f"(within ±{ACCEPTED_TOLERANCE:.0%}): {met}; "
        f"throttled share {verdict['noisy_throttled_share']:.1%}"
    )


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="alone/together pairs")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--rate", type=float, default=50.0, help="every tenant's reads/s")
    parser.add_argument("--burst", type=float, default=1.0, help="the tier's burst seconds")
    parser.add_argument("--factor", type=float, default=10.0, help="noisy rate / its limit")
    parser.add_argument(
        "--quiet", type=float, default=0.5, help="quiet tenant's rate / its limit (< 1)"
    )
    parser.add_argument("--threads", type=int, default=8, help="the flood's connections")
    parser.add_argument(
        "--out",
        type=Path,
        default=gsv.BENCH_DIR / "results" / f"noisy_neighbour-{stamp}.json",
        help="JSON results file",
    )
    args = parser.parse_args(argv)
    if min(args.rounds, args.threads) < 1 or min(args.duration, args.rate, args.burst) <= 0:
        parser.error("--rounds, --threads, --duration, --rate and --burst must be positive")
    if not 0 < args.quiet < 1 or args.factor <= 1:
        parser.error("--quiet must be in (0, 1) and --factor above 1")
    return args


def run(args: argparse.Namespace) -> int:
    print(
        f"every tenant: {args.rate:g} reads/s, burst {args.burst:g} s; noisy sends "
        f"{args.rate * args.factor:g}/s, quiet {args.rate * args.quiet:g}/s; "
        f"{args.rounds} rounds of {args.duration:g} s phases",
        flush=True,
    )
    work_dir = Path(tempfile.mkdtemp(prefix="strongroom-noisy-"))
    phases: list[Phase] = []
    server: gsv.Server | None = None
    context = multiprocessing.get_context("spawn")
    try:
        server = start_server(work_dir, args.rate, args.burst)
        tenants = {name: provision(server, name) for name in (NOISY, QUIET)}
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            pool.submit(time.sleep, 0).result()
            # Warm-up: one short pair, not recorded.
            warm = argparse.Namespace(**{**vars(args), "duration": 2.0})
            for name in (ALONE, TOGETHER):
                run_phase(name, -1, server, tenants, pool, warm)
            order = [ALONE, TOGETHER]
            for round_index in range(args.rounds):
                for name in order:
                    time.sleep(args.burst + 0.5)  # the noisy tenant's bucket is full again
                    phase = run_phase(name, round_index, server, tenants, pool, args)
                    phases.append(phase)
                    flood_note = (
                        f"  noisy {phase.noisy_accepted}/{phase.noisy_sent} accepted "
                        f"(expected {phase.noisy_expected:.0f})"
                        if name == TOGETHER
                        else ""
                    )
                    print(
                        f"round {round_index + 1}/{args.rounds} {name:<9} quiet p50 "
                        f"{phase.quiet_p50_ms:6.2f} ms  p99 {phase.quiet_p99_ms:6.2f} ms  "
                        f"failures {phase.quiet_failures}{flood_note}",
                        flush=True,
                    )
                order.reverse()  # neither phase always runs first
        log_errors = {gsv.STRONGROOM: gsv.server_errors(server)}
    finally:
        if server is not None:
            gsv.stop(server)
        shutil.rmtree(work_dir, ignore_errors=True)

    table = medians(phases)
    verdict = verdicts(phases, args)
    print(f"\nMedians of {args.rounds} rounds, {args.duration:g} s per phase")
    print_summary(table, verdict)
    failures = [
        f"round {p.round} {p.name}: {p.quiet_failures} quiet failures, noisy {p.noisy_other}"
        for p in phases
        if p.quiet_failures or p.noisy_other
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "noisy neighbour: GetSecretValue of two tenants, one at 10x its rate",
        "command": " ".join([gsv.display_path(Path(sys.executable)), *sys.argv]),
        "settings": {
            key: getattr(args, key)
            for key in ("rounds", "duration", "rate", "burst", "factor", "quiet", "threads")
        },
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "git": gsv.command_output(
                ["git", "-C", str(gsv.PROJECT_DIR), "describe", "--always", "--dirty"]
            ),
        },
        "medians": table,
        "verdicts": verdict,
        "phases": [asdict(p) for p in phases],
        "server_log_errors": log_errors,
    }
    return gsv.write_results(args.out, document, log_errors, 0, failures)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except BenchmarkError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
