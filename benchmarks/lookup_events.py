"""CloudTrail LookupEvents by ResourceName over 1,000,000 stored events: p50/p90/p99 latency of
signed boto3 calls against a real server (target from the issue: p50 < 0.1 s)."""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from strongroom.audit import chain
from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.lookup_query import EventQuery
from strongroom.storage import engines, migrate
from strongroom.storage.audit_lookup_index import AuditLookupIndexer
from strongroom.storage.audit_lookup_repository import page_statement
from strongroom.storage.audit_repository import SqlAuditStore, append_in_transaction

# Run as `.venv/bin/python benchmarks/lookup_events.py`, benchmarks/ is already sys.path[0]; the
# insert keeps the import working when this file is loaded some other way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import get_secret_value as gsv

BENCH_DIR = gsv.BENCH_DIR
ACCOUNT = "123456789012"
REGION = gsv.REGION
TARGET_P50_S = 0.1
PAGE = 50
# Weighted Secrets Manager calls, as a read-heavy application makes them.
EVENT_MIX: tuple[tuple[str, bool, int], ...] = (
    ("GetSecretValue", True, 70),
    ("DescribeSecret", True, 15),
    ("ListSecretVersionIds", True, 5),
    ("PutSecretValue", False, 6),
    ("UpdateSecret", False, 4),
)
WARMUP_LOOKUPS = 20


@dataclass(frozen=True, slots=True)
class Round:
    round: int
    lookups: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_events: float
    next_page_p50_ms: float


# --- the trail ----------------------------------------------------------------------------------


def _secret(index: int, tenants: int) -> AuditResource:
    tenant = f"tenant-{index % tenants:03d}"
    name = f"/customer/{tenant}/secret-{index:05d}"
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{index:06d}"
    return AuditResource(arn=arn, type="AWS::SecretsManager::Secret", tenant=tenant, name=name)


def _identities(tenant: str, number: int) -> list[UserIdentity]:
    """Two IAM users and an assumed-role session per tenant."""
    users = [
        UserIdentity(
            type="IAMUser",
            principal_id=f"AIDA{number:05d}{n}",
            arn=f"arn:aws:iam::{ACCOUNT}:user/{tenant}-app{n}",
            account_id=ACCOUNT,
            access_key_id=f"AKIA{number:05d}{n:011d}",
            user_name=f"{tenant}-app{n}",
        )
        for n in range(2)
    ]
    session = UserIdentity(
        type="AssumedRole",
        principal_id=f"AROA{number:05d}:worker",
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{tenant}-role/worker",
        account_id=ACCOUNT,
        access_key_id=f"ASIA{number:016d}",
        session_issuer_arn=f"arn:aws:iam::{ACCOUNT}:role/{tenant}-role",
        session_issuer_name=f"{tenant}-role",
        session_created=datetime(2026, 1, 1, tzinfo=UTC),
        session_tags={"customer": tenant},
    )
    return [*users, session]


def fill(data_url: str, events: int, resources: int, tenants: int, batch: int) -> dict[str, Any]:
    """``events`` events, each on one of ``resources`` secrets (of ``tenants`` tenants), over
    the last 30 days, appended through the storage layer's append path: every event chained
    to the one before (sha256 over its canonical record), batch after batch."""
    engine = engines.create(data_url)
    migrate.upgrade(engine, "data")
    rng = random.Random(1)  # a reproducible workload
    secrets = [_secret(i, tenants) for i in range(resources)]
    identities = {f"tenant-{t:03d}": _identities(f"tenant-{t:03d}", t) for t in range(tenants)}
    chosen_kinds = rng.choices(EVENT_MIX, weights=[w for _, _, w in EVENT_MIX], k=events)
    chosen_secrets = [rng.randrange(resources) for _ in range(events)]
    per_secret = collections.Counter(chosen_secrets)
    end = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=30)
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        for first in range(0, events, batch):
            built = []
            for i in range(first, min(events, first + batch)):
                secret = secrets[chosen_secrets[i]]
                name, read_only, _ = chosen_kinds[i]
                assert secret.tenant is not None
                built.append(
                    AuditEvent(
                        event_id=str(uuid.uuid4()),
                        event_time=end - span + span * (i / events),
                        event_source="secretsmanager.amazonaws.com",
                        event_name=name,
                        aws_region=REGION,
                        source_ip=f"10.0.{i % 250}.{i % 200}",
                        user_agent="Boto3/1.40 md/Botocore#1.40 Python/3.12",
                        request_id=str(uuid.uuid4()),
                        read_only=read_only,
                        user_identity=identities[secret.tenant][i % 3],
                        request_parameters={"secretId": secret.name},
                        resources=(secret,),
                        tenant=secret.tenant,
                        recipient_account_id=ACCOUNT,
                    )
                )
            with engines.transaction(engine, write=True) as connection:
                # A larger page cache for the fill only (the indexes grow to ~1 GB).
                connection.exec_driver_sql("PRAGMA cache_size=-1000000")
                append_in_transaction(connection, built)
            done = first + len(built)
            if done % (batch * 10) == 0 or done == events:
                rate = done / (time.monotonic() - started)
                print(f"  filled {done:>9,} events ({rate:,.0f}/s)", flush=True)
        # Into the lookup tables, as a server's appender copies them behind the trail.
        copy_started = time.monotonic()
        AuditLookupIndexer(engine).catch_up()
        copy_seconds = time.monotonic() - copy_started
        print(f"  copied into the lookup tables in {copy_seconds:.0f} s", flush=True)
        seconds = time.monotonic() - started
        cpu_seconds = time.process_time() - cpu_started
        checked = _check_chain(engine, 2000)
    finally:
        engines.dispose(engine)
    return {
        "events": events,
        "resources": resources,
        "tenants": tenants,
        "seconds": round(seconds, 1),
        # This process's CPU time: on a busy machine the wall time says little.
        "cpu_seconds": round(cpu_seconds, 1),
        "events_per_second": round(events / seconds),
        "lookup_copy_seconds": round(copy_seconds, 1),
        "chain_links_checked": checked,
        "per_secret": dict(per_secret),
    }


def _check_chain(engine: Any, count: int) -> int:
    """Recompute the first ``count`` links of the chain (the fill is honest)."""
    previous = chain.GENESIS_HASH
    checked = 0
    for stored in SqlAuditStore(engine).scan(REGION, 1, count):
        if stored.previous_hash != previous or not chain.links(
            previous, stored.record, stored.hash
        ):
            raise gsv.BenchmarkError(f"the filled chain does not link at seq {stored.seq}")
        previous = stored.hash
        checked += 1
    return checked


def query_plan(data_url: str, name: str) -> list[str]:
    """SQLite's plan for the ResourceName lookup (it must read the resource-name index)."""
    engine = engines.create(data_url)
    try:
        statement = page_statement(EventQuery(REGION, resource_name=name), None, PAGE + 1)
        compiled = statement.compile(dialect=engine.dialect)
        params = compiled.construct_params()
        with engines.lookup_engine(engine).connect() as connection:
            rows = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + compiled.string,
                tuple(params[key] for key in compiled.positiontup or ()),
            ).all()
    finally:
        engines.dispose(engine)
    plan = [str(row[-1]) for row in rows]
    if not any("USING INDEX ix_audit_lookup_resources_resource_name_event_time" in p for p in plan):
        raise gsv.BenchmarkError(f"the lookup does not use the resource-name index: {plan}")
    return plan


# --- measuring ----------------------------------------------------------------------------------


def _percentile(samples: Sequence[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def measure(
    endpoint: str, per_secret: dict[int, int], resources: int, tenants: int, args: Any
) -> list[Round]:
    client = boto3.client(
        "cloudtrail",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=gsv.ACCESS_KEY_ID,
        aws_secret_access_key=gsv.SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}),
    )
    rng = random.Random(2)  # which secrets to look up

    def lookup(index: int, by_arn: bool, token: str | None = None) -> tuple[float, dict[str, Any]]:
        secret = _secret(index, tenants)
        value = secret.arn if by_arn else secret.name
        assert value is not None
        parameters: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": value}]
        }
        if token is not None:
            parameters["NextToken"] = token
        started = time.perf_counter()
        response = client.lookup_events(**parameters)
        elapsed = time.perf_counter() - started
        expected = per_secret.get(index, 0)
        remaining = expected if token is None else expected - PAGE
        found = response["Events"]
        if len(found) != min(PAGE, remaining) or any(
            value not in {r["ResourceName"] for r in e["Resources"]} for e in found
        ):
            raise gsv.BenchmarkError(f"wrong answer for {value}: {len(found)} of {expected}")
        if ("NextToken" in response) != (remaining > PAGE):
            raise gsv.BenchmarkError(f"wrong NextToken for {value} ({expected} events)")
        return elapsed, response

    for _ in range(WARMUP_LOOKUPS):
        lookup(rng.randrange(resources), by_arn=False)
    rounds = []
    for number in range(1, args.rounds + 1):
        latencies: list[float] = []
        next_pages: list[float] = []
        events = 0
        for n in range(args.lookups):
            index = rng.randrange(resources)
            elapsed, response = lookup(index, by_arn=n % 2 == 0)
            latencies.append(elapsed)
            events += len(response["Events"])
            if "NextToken" in response and len(next_pages) < args.lookups // 4:
                following, _ = lookup(index, by_arn=n % 2 == 0, token=response["NextToken"])
                next_pages.append(following)
        result = Round(
            round=number,
            lookups=len(latencies),
            p50_ms=round(statistics.median(latencies) * 1000, 2),
            p90_ms=round(_percentile(latencies, 90) * 1000, 2),
            p99_ms=round(_percentile(latencies, 99) * 1000, 2),
            max_ms=round(max(latencies) * 1000, 2),
            mean_events=round(events / len(latencies), 1),
            next_page_p50_ms=round(statistics.median(next_pages) * 1000, 2) if next_pages else 0,
        )
        print(
            f"  round {number}: p50 {result.p50_ms:7.2f} ms  p90 {result.p90_ms:7.2f} ms  "
            f"p99 {result.p99_ms:7.2f} ms  max {result.max_ms:7.2f} ms  "
            f"({result.mean_events} events/answer; next page p50 {result.next_page_p50_ms} ms)",
            flush=True,
        )
        rounds.append(result)
    return rounds


# --- the run ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=10_000, help="distinct secrets")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10_000, help="events per append")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=200, help="timed lookups per round")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the filled database here (filled only if it has no data.db yet)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "results" / f"lookup_events-{stamp}.json",
        help="JSON results file",
    )
    args = parser.parse_args(argv)
    if min(args.events, args.resources, args.tenants, args.batch, args.rounds) < 1:
        parser.error("--events, --resources, --tenants, --batch and --rounds must be >= 1")
    if args.lookups < 100:
        parser.error("--lookups must be at least 100 (for a p99)")
    return args


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="strongroom-lookup-bench-"))
    data_dir = args.data_dir or work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    data_url = f"sqlite+pysqlite:///{data_dir / 'data.db'}"
    fill_file = data_dir / "lookup-bench-fill.json"
    try:
        if fill_file.exists():
            filled = json.loads(fill_file.read_text())
            print(f"reusing {filled['events']:,} events in {data_dir}")
        else:
            print(
                f"filling {args.events:,} events over {args.resources:,} secrets "
                f"of {args.tenants} tenants ..."
            )
            filled = fill(data_url, args.events, args.resources, args.tenants, args.batch)
            fill_file.write_text(json.dumps(filled))
        per_secret = {int(k): v for k, v in filled.pop("per_secret").items()}
        database_mb = (data_dir / "data.db").stat().st_size / 1e6
        plan = query_plan(data_url, _secret(0, filled["tenants"]).name or "")
        print(f"database {database_mb:,.0f} MB; plan: {' | '.join(plan)}")
        load = [round(x, 2) for x in os.getloadavg()]
        server = gsv.start_strongroom(data_dir, work / "strongroom.log")
        try:
            print(f"{args.rounds} rounds of {args.lookups} LookupEvents by ResourceName ...")
            rounds = measure(
                server.endpoint, per_secret, filled["resources"], filled["tenants"], args
            )
        finally:
            gsv.stop(server)
        errors = gsv.server_errors(server)
    finally:
        if args.data_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    medians = {
        key: round(statistics.median(getattr(r, key) for r in rounds), 2)
        for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "next_page_p50_ms")
    }
    met = medians["p50_ms"] / 1000 < TARGET_P50_S
    document = {
        "benchmark": "lookup_events",
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "git": gsv.command_output(
                ["git", "-C", str(gsv.PROJECT_DIR), "describe", "--always", "--dirty"]
            ),
        },
        "settings": {"rounds": args.rounds, "lookups": args.lookups, "page": PAGE},
        "load_average_before_measuring": load,
        "fill": {**filled, "database_mb": round(database_mb)},
        "query_plan": plan,
        "rounds": [asdict(r) for r in rounds],
        "medians": medians,
        "target": {"p50_s_below": TARGET_P50_S, "met": met},
        "server_errors": errors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(
        f"medians over {args.rounds} rounds: p50 {medians['p50_ms']} ms, "
        f"p90 {medians['p90_ms']} ms, p99 {medians['p99_ms']} ms "
        f"(next page p50 {medians['next_page_p50_ms']} ms)"
    )
    print(f"TARGET {'MET' if met else 'MISSED'}: p50 < {TARGET_P50_S * 1000:.0f} ms")
    print(f"results: {gsv.display_path(args.out)}")
    if errors:
        print(f"server logged {len(errors)} errors; see {args.out}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the server started here stops and the temp dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        return run(args)
    except gsv.BenchmarkError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
