"""GetSecretValue A/B benchmark: Strongroom vs moto server, wrk replaying SigV4-signed requests."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
BENCH_PYTHON = BENCH_DIR / ".venv" / "bin" / "python"
PY_SPY = BENCH_DIR / ".venv" / "bin" / "py-spy"
REPLAY_LUA = BENCH_DIR / "replay.lua"
SETUP_SCRIPT = BENCH_DIR / "setup.sh"

# Fixed, benchmark-only root credentials for a throwaway dev server (moto accepts any).
ACCESS_KEY_ID = "AKIATESTROOT0000001"
SECRET_ACCESS_KEY = "test-root-secret-access-key-0000000000"  # noqa: S105
REGION = "us-east-1"
AMZ_TARGET = "secretsmanager.GetSecretValue"
CONTENT_TYPE = "application/x-amz-json-1.1"

STRONGROOM = "strongroom"
MOTO = "moto"
SERVERS = (STRONGROOM, MOTO)

THROUGHPUT_CONC, THROUGHPUT_TARGET, THROUGHPUT_AIM = 16, 6.0, 10.0  # Strongroom/moto req/s
LATENCY_CONC, LATENCY_TARGET = 1, 0.2  # Strongroom p50 / moto p50

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 60.0
WARMUP_S = 2


class BenchmarkError(Exception):
    """A failure that makes the figures meaningless (a server did not start, a bad response)."""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass(frozen=True, slots=True)
class SignedRequest:
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Cell:
    """One wrk run against one server at one concurrency."""

    server: str
    concurrency: int
    round: int
    requests: int
    duration_s: float
    rps: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_us_per_req: float
    # The server's own process (its event loop and threads), without children such as
    # Strongroom's audit appender: where the single-core limit of a call is.
    loop_cpu_us_per_req: float
    server_cores: float
    wrk_cores: float
    machine_busy_cores: float
    steal_cores: float
    errors: dict[str, int]


# --- processes and /proc ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(name: str, argv: Sequence[str], log_path: Path, endpoint: str) -> Server:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=PROJECT_DIR
        )
    return Server(name=name, endpoint=endpoint, process=process, log_path=log_path)


def wait_ready(server: Server, path: str, want_status: int | None) -> None:
    """Poll ``path`` until it answers (with ``want_status`` if given) or the server dies."""
    host, port = server.endpoint.removeprefix("http://").split(":")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection(host, int(port), timeout=2)
            try:
                connection.request("GET", path)
                status = connection.getresponse().status
            finally:
                connection.close()
            if want_status is None or status == want_status:
                return
        time.sleep(0.2)
    tail = server.log_path.read_text(errors="replace")[-2000:]
    raise BenchmarkError(f"{server.name} did not become ready on {server.endpoint}:\n{tail}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def start_strongroom(data_dir: Path, log_path: Path, *extra: str) -> Server:
    """A dev server on a fresh data dir; ``extra`` are more ``strongroom server`` options."""
    port = free_port()
    executable = Path(sys.executable).with_name("strongroom")
    if not executable.exists():
        raise BenchmarkError(f"{executable} not found: run this with the project's .venv python")
    argv = [
        str(executable),
        "server",
        "--dev",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--root-access-key-id",
        ACCESS_KEY_ID,
        "--root-secret-access-key",
        SECRET_ACCESS_KEY,
        *extra,
    ]
    server = start_process(STRONGROOM, argv, log_path, f"http://127.0.0.1:{port}")
    wait_ready(server, "/healthz", 200)
    return server


def start_moto(log_path: Path) -> Server:
    port = free_port()
    argv = [str(BENCH_PYTHON), "-m", "moto.server", "-p", str(port)]
    server = start_process(MOTO, argv, log_path, f"http://127.0.0.1:{port}")
    wait_ready(server, "/moto-api/", None)
    return server


def process_tree_cpu_seconds(root_pid: int) -> float:
    """utime + stime of ``root_pid`` and its live descendants (all threads), in seconds."""
    return process_cpu_seconds(root_pid)[0]


def process_cpu_seconds(root_pid: int) -> tuple[float, float]:
    """utime + stime in seconds, all threads, of (``root_pid`` and its live descendants,
    ``root_pid`` alone), from one scan of /proc."""
    parent_of: dict[int, int] = {}
    ticks_of: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # the process exited while we looked
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parent_of[pid] = int(fields[1])
        ticks_of[pid] = int(fields[11]) + int(fields[12])
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parent_of.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    tree_ticks = sum(ticks_of.get(pid, 0) for pid in tree)
    return tree_ticks / CLOCK_TICKS, ticks_of.get(root_pid, 0) / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, stolen) CPU-seconds of the whole machine since boot, all cores.

    Busy is user+nice+system+irq+softirq; stolen is time the hypervisor ran someone else
    while this VM wanted the CPU (a slow, noisy host shows up here, not in busy).
    """
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(v) for v in stat.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- secrets and signed requests ----------------------------------------------------------------


def secret_values(count: int) -> dict[str, str]:
    return {
        f"bench/get-secret-value/{index:03d}": json.dumps(
            {
                "engine": "postgres",
                "host": f"db-{index:03d}.internal.example",
                "port": 5432,
                "username": f"svc_{index:03d}",
                "password": secrets.token_urlsafe(24),
            }
        )
        for index in range(count)
    }


def create_secrets(server: Server, values: dict[str, str]) -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    for name, value in values.items():
        client.create_secret(Name=name, SecretString=value)
    for name, value in values.items():
        got = client.get_secret_value(SecretId=name)["SecretString"]
        if got != value:
            raise BenchmarkError(f"{server.name}: {name} read back a different value")


def sign_pool(endpoint: str, secret_ids: Sequence[str]) -> list[SignedRequest]:
    """One freshly SigV4-signed GetSecretValue request per secret id (botocore's signer)."""
    bodies = [json.dumps({"SecretId": secret_id}).encode() for secret_id in secret_ids]
    return sign_requests(endpoint, "secretsmanager", AMZ_TARGET, bodies)


def sign_requests(
    endpoint: str, service: str, target: str, bodies: Sequence[bytes]
) -> list[SignedRequest]:
    """One freshly SigV4-signed JSON-protocol POST per body (``X-Amz-Target: target``)."""
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, REGION)
    host = endpoint.removeprefix("http://")
    pool = []
    for body in bodies:
        request = AWSRequest(
            method="POST",
            url=f"{endpoint}/",
            data=body,
            headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target},
        )
        signer.add_auth(request)
        headers = {"Host": host, **{k: str(v) for k, v in request.headers.items()}}
        pool.append(SignedRequest(headers=headers, body=body))
    return pool


def lua_string(data: bytes) -> str:
    """A Lua string literal for arbitrary bytes (everything but a safe set as \\ddd escapes)."""
    safe = re.compile(rb"[A-Za-z0-9 ,.:;/=_+\-]")
    return '"' + "".join(chr(b) if safe.fullmatch(bytes([b])) else f"\\{b:03d}" for b in data) + '"'


def write_lua_pool(path: Path, pool: Sequence[SignedRequest]) -> None:
    lines = ["return {"]
    for request in pool:
        headers = ", ".join(
            f"[{lua_string(k.encode())}] = {lua_string(v.encode('latin-1'))}"
            for k, v in request.headers.items()
        )
        lines.append(f"  {{headers = {{{headers}}}, body = {lua_string(request.body)}}},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def check_signed_request(endpoint: str, request: SignedRequest, expected: str) -> None:
    """Send one pooled request ourselves: 200 and the right SecretString, or the cell is void."""
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/", body=request.body, headers=request.headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchmarkError(f"{endpoint}: HTTP {response.status}: {payload[:300]!r}")
    if json.loads(payload).get("SecretString") != expected:
        raise BenchmarkError(f"{endpoint}: GetSecretValue returned the wrong SecretString")


# --- one measured cell --------------------------------------------------------------------------


def run_wrk(endpoint: str, concurrency: int, duration_s: int, pool_path: Path) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(REPLAY_LUA),
        f"{endpoint}/",
        "--",
        str(pool_path),
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            return result
    raise BenchmarkError(
        f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
    )


def measure(
    server: Server,
    concurrency: int,
    duration_s: int,
    round_index: int,
    values: dict[str, str],
    work_dir: Path,
) -> Cell:
    pool = sign_pool(server.endpoint, list(values))  # fresh: Strongroom enforces 5-minute skew
    first_id = next(iter(values))
    check_signed_request(server.endpoint, pool[0], values[first_id])
    pool_path = work_dir / f"pool-{server.name}.lua"
    write_lua_pool(pool_path, pool)
    return measure_pool(server, concurrency, duration_s, round_index, pool_path)


def measure_pool(
    server: Server, concurrency: int, duration_s: int, round_index: int, pool_path: Path
) -> Cell:
    """One wrk cell replaying the Lua pool at ``pool_path``, with the server's and box's CPU."""
    server_cpu, loop_cpu = process_cpu_seconds(server.process.pid)
    wrk_cpu = children_cpu_seconds()
    busy, steal = machine_cpu_seconds()
    started = time.monotonic()
    result = run_wrk(server.endpoint, concurrency, duration_s, pool_path)
    elapsed = time.monotonic() - started
    server_cpu_after, loop_cpu_after = process_cpu_seconds(server.process.pid)
    server_cpu, loop_cpu = server_cpu_after - server_cpu, loop_cpu_after - loop_cpu
    wrk_cpu = children_cpu_seconds() - wrk_cpu
    busy_after, steal_after = machine_cpu_seconds()
    busy, steal = busy_after - busy, steal_after - steal

    requests = int(result["requests"])
    duration = result["duration_us"] / 1e6
    latency = result["latency_us"]
    return Cell(
        server=server.name,
        concurrency=concurrency,
        round=round_index,
        requests=requests,
        duration_s=round(duration, 3),
        rps=requests / duration if duration else 0.0,
        mean_ms=latency["mean"] / 1000,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        server_cpu_us_per_req=server_cpu / requests * 1e6 if requests else float("nan"),
        loop_cpu_us_per_req=loop_cpu / requests * 1e6 if requests else float("nan"),
        server_cores=server_cpu / elapsed,
        wrk_cores=wrk_cpu / elapsed,
        machine_busy_cores=busy / elapsed,
        steal_cores=steal / elapsed,
        errors={k: int(v) for k, v in result["errors"].items()},
    )


# --- summary ------------------------------------------------------------------------------------

METRICS = ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_req", "server_cores", "wrk_cores")


def medians(cells: Sequence[Cell]) -> dict[str, dict[int, dict[str, float]]]:
    table: dict[str, dict[int, dict[str, float]]] = {}
    for name in SERVERS:
        for concurrency in sorted({c.concurrency for c in cells}):
            group = [c for c in cells if c.server == name and c.concurrency == concurrency]
            if group:
                row = {m: statistics.median(getattr(c, m) for c in group) for m in METRICS}
                row["rps_min"] = min(c.rps for c in group)
                row["rps_max"] = max(c.rps for c in group)
                for extra in ("machine_busy_cores", "steal_cores"):
                    row[extra] = statistics.median(getattr(c, extra) for c in group)
                table.setdefault(name, {})[concurrency] = row
    return table


def per_round_ratios(cells: Sequence[Cell], concurrency: int, metric: str) -> list[float]:
    by_key = {
        (c.server, c.round): getattr(c, metric) for c in cells if c.concurrency == concurrency
    }
    rounds = sorted({c.round for c in cells})
    return [
        by_key[(STRONGROOM, r)] / by_key[(MOTO, r)]
        for r in rounds
        if (STRONGROOM, r) in by_key and by_key.get((MOTO, r))
    ]


def ratio(table: dict[str, dict[int, dict[str, float]]], concurrency: int, metric: str) -> float:
    try:
        return table[STRONGROOM][concurrency][metric] / table[MOTO][concurrency][metric]
    except (KeyError, ZeroDivisionError):
        return float("nan")


def print_table(table: dict[str, dict[int, dict[str, float]]]) -> None:
    header = (
        f"{'server':<11}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU µs/req':>12}{'srv cores':>11}{'wrk cores':>11}{'box busy':>10}{'steal':>7}"
        f"{'req/s min..max':>18}"
    )
    print(header)
    print("-" * len(header))
    for concurrency in sorted({c for rows in table.values() for c in rows}):
        for name in SERVERS:
            row = table.get(name, {}).get(concurrency)
            if row is None:
                continue
            spread = f"{row['rps_min']:,.0f}..{row['rps_max']:,.0f}"
            print(
                f"{name:<11}{concurrency:>5}{row['rps']:>10,.0f}{row['p50_ms']:>9.3f}"
                f"{row['p99_ms']:>9.3f}{row['server_cpu_us_per_req']:>12,.0f}"
                f"{row['server_cores']:>11.2f}{row['wrk_cores']:>11.2f}"
                f"{row['machine_busy_cores']:>10.2f}{row['steal_cores']:>7.2f}{spread:>18}"
            )


def evaluate_targets(
    table: dict[str, dict[int, dict[str, float]]], cells: Sequence[Cell]
) -> dict[str, Any]:
    """Print the two headline ratios with TARGET MET/MISSED lines; return them for the JSON."""
    throughput = ratio(table, THROUGHPUT_CONC, "rps")
    latency = ratio(table, LATENCY_CONC, "p50_ms")
    verdicts: dict[str, Any] = {
        "throughput_ratio_c16": throughput,
        "throughput_ratio_c16_per_round": per_round_ratios(cells, THROUGHPUT_CONC, "rps"),
        "p50_ratio_c1": latency,
        "p50_ratio_c1_per_round": per_round_ratios(cells, LATENCY_CONC, "p50_ms"),
        "cpu_per_request_ratio": {
            str(c): ratio(table, c, "server_cpu_us_per_req")
            for c in sorted({cell.concurrency for cell in cells})
        },
    }
    print()
    for concurrency, value in verdicts["cpu_per_request_ratio"].items():
        print(f"Strongroom/moto server CPU per request, c={concurrency}: {value:.3f}")
    rounds_text = " ".join(f"{r:.1f}" for r in verdicts["throughput_ratio_c16_per_round"])
    if not math.isnan(throughput):
        met = throughput >= THROUGHPUT_TARGET
        verdicts["throughput_target_met"] = met
        aim = "aim met" if throughput >= THROUGHPUT_AIM else f"aim {THROUGHPUT_AIM:g}x not met"
        print(
            f"Strongroom/moto throughput, c={THROUGHPUT_CONC}: x{throughput:.2f} "
            f"(per round: {rounds_text}; target >= {THROUGHPUT_TARGET:g}x, {aim})"
        )
        print(f"TARGET {'MET' if met else 'MISSED'}: throughput ratio at c={THROUGHPUT_CONC}")
    else:
        print(f"TARGET NOT EVALUATED: c={THROUGHPUT_CONC} was not measured")
    rounds_text = " ".join(f"{r:.3f}" for r in verdicts["p50_ratio_c1_per_round"])
    if not math.isnan(latency):
        met = latency <= LATENCY_TARGET
        verdicts["latency_target_met"] = met
        print(
            f"Strongroom p50 / moto p50, c={LATENCY_CONC}: {latency:.3f} "
            f"(per round: {rounds_text}; target <= {LATENCY_TARGET:g})"
        )
        print(f"TARGET {'MET' if met else 'MISSED'}: p50 latency ratio at c={LATENCY_CONC}")
    else:
        print(f"TARGET NOT EVALUATED: c={LATENCY_CONC} was not measured")
    return verdicts


# --- optional profile ---------------------------------------------------------------------------


def profile_strongroom(
    server: Server,
    duration_s: int,
    values: dict[str, str],
    work_dir: Path,
    out_path: Path,
) -> dict[str, Any]:
    """py-spy (GIL holder only) samples Strongroom during one extra, unmeasured c=16 cell."""
    if not PY_SPY.exists():
        raise BenchmarkError(f"{PY_SPY} missing: run benchmarks/setup.sh --profiler")
    pool_path = work_dir / "pool-profile.lua"
    write_lua_pool(pool_path, sign_pool(server.endpoint, list(values)))
    argv = [
        str(PY_SPY),
        "record",
        "--pid",
        str(server.process.pid),
        "--duration",
        str(duration_s + 2),
        "--rate",
        "250",
        "--gil",  # the server is GIL-bound: attribute the GIL-holding thread's time
        "--nonblocking",  # do not pause the server to sample it
        "--format",
        "raw",
        "--output",
        str(out_path),
    ]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)  # let py-spy attach before the load starts
    run_wrk(server.endpoint, THROUGHPUT_CONC, duration_s, pool_path)
    _, spy_err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not out_path.exists():
        raise BenchmarkError(f"py-spy failed: {spy_err.decode(errors='replace')[-500:]}")
    return summarise_collapsed(out_path)


_FRAME_FILE_RE = re.compile(r"\((?P<file>[^():]+):\d+\)$")
_LINE_NUMBER_RE = re.compile(r":\d+\)$")


def frame_package(frame: str) -> str:
    """``'do_execute (sqlalchemy/engine/default.py:1192)'`` → ``'sqlalchemy'``."""
    match = _FRAME_FILE_RE.search(frame)
    return match["file"].split("/")[0] if match and "/" in match["file"] else "other"


def summarise_collapsed(path: Path, top: int = 20) -> dict[str, Any]:
    """Shares of samples by package (leaf frame), and the hottest Strongroom functions."""
    by_package: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        package = frame_package(frames[-1])
        by_package[package] = by_package.get(package, 0) + count
        for function in {_LINE_NUMBER_RE.sub(")", f) for f in frames if "strongroom/" in f}:
            inclusive[function] = inclusive.get(function, 0) + count

    def shares(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:top]
        return [(name, count / total) for name, count in ranked] if total else []

    by_package_shares = shares(by_package)
    inclusive_shares = shares(inclusive)
    print(f"\npy-spy --gil profile of Strongroom at c={THROUGHPUT_CONC} ({total} samples, {path})")
    print("  where the GIL-holding thread was (leaf frame's package):")
    for name, share in by_package_shares:
        print(f"    {share:6.1%}  {name}")
    print("  Strongroom functions, inclusive (share of samples with the function on the stack):")
    for name, share in inclusive_shares:
        print(f"    {share:6.1%}  {name}")
    return {
        "samples": total,
        "raw_stacks": str(path),
        "self_by_package": by_package_shares,
        "strongroom_inclusive": inclusive_shares,
    }


# --- main ---------------------------------------------------------------------------------------


def display_path(path: Path) -> str:
    """``path`` relative to the project when it is inside it (for the results file)."""
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


def ensure_setup(need_profiler: bool) -> None:
    ready = shutil.which("wrk") is not None and BENCH_PYTHON.exists()
    if ready:
        probe = subprocess.run([str(BENCH_PYTHON), "-c", "import moto.server"], check=False)
        ready = probe.returncode == 0
    if ready and (PY_SPY.exists() or not need_profiler):
        return
    argv = ["bash", str(SETUP_SCRIPT), *(["--profiler"] if need_profiler else [])]
    if subprocess.run(argv, check=False).returncode != 0:
        raise BenchmarkError("benchmarks/setup.sh failed")


def command_output(argv: Sequence[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "unknown"
    return (completed.stdout or completed.stderr).strip().splitlines()[0]


def machine_info() -> dict[str, Any]:
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    (busy_before, steal_before), started = machine_cpu_seconds(), time.monotonic()
    time.sleep(1)
    (busy_after, steal_after), elapsed = machine_cpu_seconds(), time.monotonic() - started
    moto_version = "import moto; print(moto.__version__)"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "strongroom": importlib.metadata.version("strongroom"),
        "git": command_output(["git", "-C", str(PROJECT_DIR), "describe", "--always", "--dirty"]),
        "moto": command_output([str(BENCH_PYTHON), "-c", moto_version]),
        "wrk": command_output(["wrk", "--version"]).split(" [")[0],
        "busy_cores_before_start": round((busy_after - busy_before) / elapsed, 2),
        "steal_cores_before_start": round((steal_after - steal_before) / elapsed, 2),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="A/B rounds per concurrency")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk cell (integer)")
    parser.add_argument("--conc", default="1,16", help="comma-separated wrk connection counts")
    parser.add_argument(
        "--secrets", type=int, default=64, help="secrets = distinct signed requests"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "results" / f"get_secret_value-{stamp}.json",
        help="JSON results file",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="afterwards, py-spy Strongroom for one extra c=16 cell of this length",
    )
    args = parser.parse_args(argv)
    args.conc = [int(c) for c in args.conc.split(",") if c.strip()]
    if not args.conc or min(args.rounds, args.duration, args.secrets, *args.conc) < 1:
        parser.error("--rounds, --duration, --secrets and every --conc value must be >= 1")
    return args


@contextlib.contextmanager
def running_servers(work_dir: Path) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    try:
        servers[STRONGROOM] = start_strongroom(work_dir / "data", work_dir / "strongroom.log")
        servers[MOTO] = start_moto(work_dir / "moto.log")
        yield servers
    finally:
        for server in servers.values():
            stop(server)


def server_errors(server: Server) -> list[str]:
    """Log lines that look like server-side failures (Strongroom logs internal errors at ERROR)."""
    pattern = re.compile(r"\bERROR\b|Traceback|\" 5\d\d ")
    lines = server.log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if pattern.search(line)]


def run(args: argparse.Namespace) -> int:
    ensure_setup(need_profiler=args.profile > 0)
    info = machine_info()
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu_model']}, Python {info['python']}, "
        f"before start: {info['busy_cores_before_start']} cores busy, "
        f"{info['steal_cores_before_start']} stolen"
    )
    print(f"strongroom {info['strongroom']} ({info['git']}), moto {info['moto']}, {info['wrk']}")
    values = secret_values(args.secrets)
    cells: list[Cell] = []
    work_dir = Path(tempfile.mkdtemp(prefix="strongroom-bench-"))
    profile: dict[str, Any] | None = None
    try:
        with running_servers(work_dir) as servers:
            for server in servers.values():
                create_secrets(server, values)
                measure(server, max(args.conc), WARMUP_S, -1, values, work_dir)  # warm-up
            order = list(SERVERS)
            for round_index in range(args.rounds):
                for concurrency in args.conc:
                    for name in order:
                        cell = measure(
                            servers[name], concurrency, args.duration, round_index, values, work_dir
                        )
                        cells.append(cell)
                        print(
                            f"round {round_index + 1}/{args.rounds} c={concurrency:<3} "
                            f"{name:<10} {cell.rps:>9,.0f} req/s  p50 {cell.p50_ms:7.3f} ms  "
                            f"p99 {cell.p99_ms:7.3f} ms  {cell.server_cpu_us_per_req:7,.0f} µs/req"
                            f"  errors {sum(cell.errors.values())}",
                            flush=True,
                        )
                order.reverse()  # A B, then B A: neither server always follows the other
            if args.profile:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    profile = profile_strongroom(
                        servers[STRONGROOM],
                        args.profile,
                        values,
                        work_dir,
                        args.out.with_suffix(".pyspy.txt"),
                    )
                except BenchmarkError as error:  # a diagnostic only: keep the measurements
                    print(f"WARNING: profile not taken: {error}")
                    profile = {"error": str(error)}
            log_errors = {name: server_errors(server) for name, server in servers.items()}
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    table = medians(cells)
    print(
        f"\nMedians of {args.rounds} rounds, {args.duration} s per cell, wrk -t1 (GetSecretValue)"
    )
    print_table(table)
    verdicts = evaluate_targets(table, cells)

    failed = [c for c in cells if c.errors["status"] or c.errors["timeout"] or not c.requests]
    socket_errors = sum(c.errors["connect"] + c.errors["read"] + c.errors["write"] for c in cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "GetSecretValue, Strongroom vs moto, wrk replay of SigV4-signed requests",
        "command": " ".join([display_path(Path(sys.executable)), *sys.argv]),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "concurrency": args.conc,
            "secrets": args.secrets,
        },
        "machine": info,
        "medians": {name: {str(c): row for c, row in rows.items()} for name, rows in table.items()},
        "ratios": verdicts,
        "cells": [asdict(c) for c in cells],
        "server_log_errors": log_errors,
        "profile": profile,
    }
    return write_results(
        args.out,
        document,
        log_errors,
        socket_errors,
        [f"{c.server} c={c.concurrency} round {c.round}: {c.errors}" for c in failed],
    )


def write_results(
    out: Path,
    document: dict[str, Any],
    log_errors: dict[str, list[str]],
    socket_errors: int,
    failures: list[str],
) -> int:
    """Write the results file, report server log errors, socket errors and failed cells;
    the exit status: 1 if any cell failed, else 0. Shared by every benchmark here."""
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {out}")
    for name, lines in log_errors.items():
        if lines:
            print(f"{name} logged {len(lines)} error line(s), first: {lines[0][:200]}")
    if socket_errors:
        print(f"note: wrk counted {socket_errors} socket errors (connect/read/write) in total")
    for failure in failures:
        print(f"ERROR: {failure}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers started here are stopped and the temp dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        return run(args)
    except BenchmarkError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
