"""Where a GetSecretValue waits: per-thread server CPU and the audit batches at c=16."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as `.venv/bin/python benchmarks/audit_batches.py`, benchmarks/ is already sys.path[0];
# the insert keeps the import working when this file is loaded some other way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import get_secret_value as gsv

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_BATCH_METRIC = re.compile(
    r"^strongroom_audit_(batch_size|commit_duration_seconds)_(sum|count) (\S+)$"
)


@dataclass(frozen=True, slots=True)
class ThreadTicks:
    user: int
    system: int


def thread_ticks(pid: int) -> dict[str, ThreadTicks]:
    """utime and stime of every thread of ``pid``, by thread id."""
    out: dict[str, ThreadTicks] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:  # the thread ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[tid] = ThreadTicks(int(fields[11]), int(fields[12]))
    return out


def child_ticks(pid: int) -> dict[str, ThreadTicks]:
    """utime and stime of each child process of ``pid`` (the audit appender), by pid."""
    out: dict[str, ThreadTicks] = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except OSError:  # it ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[f"process {child}"] = ThreadTicks(int(fields[11]), int(fields[12]))
    return out


def batch_counters(endpoint: str) -> dict[str, float]:
    """The audit batch histograms' sums and counts from ``/metrics``."""
    with urllib.request.urlopen(f"{endpoint}/metrics", timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    counters: dict[str, float] = {}
    for line in text.splitlines():
        match = _BATCH_METRIC.match(line)
        if match:
            counters[f"{match[1]}_{match[2]}"] = float(match[3])
    return counters


def measure_cell(server: gsv.Server, pool_path: Path, duration_s: int, concurrency: int) -> None:
    pid = server.process.pid
    threads_before = thread_ticks(pid) | child_ticks(pid)
    batches_before = batch_counters(server.endpoint)
    busy_before, steal_before = gsv.machine_cpu_seconds()
    result = gsv.run_wrk(server.endpoint, concurrency, duration_s, pool_path)
    threads_after = thread_ticks(pid) | child_ticks(pid)
    batches_after = batch_counters(server.endpoint)
    busy_after, steal_after = gsv.machine_cpu_seconds()
    requests = max(int(result["requests"]), 1)
    per_request = 1e6 / CLOCK_TICKS / requests
    parts = []
    for tid, after in threads_after.items():
        before = threads_before.get(tid, ThreadTicks(0, 0))
        user = (after.user - before.user) * per_request
        system = (after.system - before.system) * per_request
        if user + system >= 5:
            # Python does not name OS threads: the process's own id is the event loop's.
            if tid == str(pid):
                role = "request thread"
            elif tid.startswith("process"):
                role = f"child {tid}"  # the audit appender
            else:
                role = f"thread {tid}"
            parts.append(f"{role} user {user:.0f} sys {system:.0f}")
    delta = {k: batches_after.get(k, 0.0) - batches_before.get(k, 0.0) for k in batches_after}
    batches = delta.get("batch_size_count", 0.0)
    mean_size = delta.get("batch_size_sum", 0.0) / batches if batches else 0.0
    commits = delta.get("commit_duration_seconds_count", 0.0)
    mean_commit_ms = (
        1000 * delta.get("commit_duration_seconds_sum", 0.0) / commits if commits else 0.0
    )
    busy = (busy_after - busy_before) / duration_s
    steal = (steal_after - steal_before) / duration_s
    print(
        f"{requests / duration_s:7.0f} req/s | batches {batches:5.0f}, mean size {mean_size:4.1f}, "
        f"mean batch time {mean_commit_ms:5.2f} ms | box busy {busy:.2f} steal {steal:.2f}"
    )
    print("          server CPU µs/request: " + "; ".join(parts))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=3, help="measured wrk cells")
    parser.add_argument("--duration", type=int, default=6, help="seconds per cell (integer)")
    parser.add_argument("--conc", type=int, default=16, help="wrk connections")
    parser.add_argument("--secrets", type=int, default=64, help="secrets = distinct requests")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    gsv.ensure_setup(need_profiler=False)
    work_dir = Path(tempfile.mkdtemp(prefix="strongroom-audit-batches-"))
    server = gsv.start_strongroom(work_dir / "data", work_dir / "strongroom.log")
    try:
        values = gsv.secret_values(args.secrets)
        gsv.create_secrets(server, values)
        pool_path = work_dir / "pool.lua"
        gsv.write_lua_pool(pool_path, gsv.sign_pool(server.endpoint, list(values)))
        gsv.run_wrk(server.endpoint, args.conc, gsv.WARMUP_S, pool_path)
        print(f"GetSecretValue at c={args.conc}, {args.duration} s cells (server log: {work_dir})")
        for _ in range(args.cells):
            measure_cell(server, pool_path, args.duration, args.conc)
    except gsv.BenchmarkError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    finally:
        gsv.stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
