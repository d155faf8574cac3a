"""Tenants onboarded with CreateTenant (dedicated keys), 10 vs 10,000: onboarding time per
tenant at the end vs the start, and GetSecretValue with policies enforced vs root-only: wrk."""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

# Run as `.venv/bin/python benchmarks/tenant_scaling.py`, benchmarks/ is already sys.path[0]; the
# insert keeps the import working when this file is loaded some other way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import get_secret_value as gsv

BenchmarkError = gsv.BenchmarkError

ACCOUNT = "123456789012"  # the dev server's account
REGION = gsv.REGION
TENANT_TAG = "customer"
DEPLOYER = "deployer"

TARGET_CONC = gsv.THROUGHPUT_CONC  # 16: throughput targets are read at c=16, as in the foundation
SCALING_TARGET = 0.9  # role req/s with many tenants / role req/s with few tenants
ONBOARDING_TARGET = 1.5  # seconds per tenant, last tenth of CreateTenant calls / first tenth
ENFORCED_TARGET = 0.8  # role req/s with many tenants / root-only req/s (same tree; foundation)
# The foundation: the last commit of the Secrets Manager / KMS foundation, before identity
# (docs/performance.md's root-only GetSecretValue figures were measured on it).
FOUNDATION_REF = "0ff0bc4ae5965ad6bb50add4ee17d6eb61316feb"
FOUNDATION = "root@foundation"
SESSION_SECONDS = 4 * 3600  # role sessions outlive any sensible run (default MaxSession is 1 h)

ROOT_CREDENTIALS = Credentials(gsv.ACCESS_KEY_ID, gsv.SECRET_ACCESS_KEY)
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DEPLOYER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
        }
    ],
}


def tenant_id(number: int) -> str:
    return f"cust-{number}"


def role_name(tenant: str) -> str:
    """The role CreateTenant makes (path /tenants/)."""
    return f"tenants/tenant-{tenant}"


def secret_name(tenant: str) -> str:
    return f"/customer/{tenant}/db-password"


def tenant_policy(tenant: str) -> dict[str, Any]:
    """The article's ARN-wildcard policy, with the tenant's id in place of cust-12345."""
    arn_prefix = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": f"{arn_prefix}/customer/{tenant}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": f"{arn_prefix}/shared/*",
            },
        ],
    }


def secret_value(tenant: str) -> str:
    """A small JSON credential (≈130 bytes, like the foundation benchmark's secrets)."""
    return json.dumps(
        {
            "engine": "postgres",
            "host": f"db.{tenant}.internal.example",
            "port": 5432,
            "username": f"svc_{tenant.replace('-', '_')}",
            "password": secrets.token_urlsafe(24),
        }
    )


# --- provisioning through the real API ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    """One server with its tenants provisioned, and the deployer that assumes their roles."""

    server: gsv.Server
    tenants: int
    values: dict[str, str]  # secret name → SecretString
    deployer: Credentials
    seconds: float
    roles_listed: int
    secrets_listed: int
    onboarding: dict[str, float]


def root_client(server: gsv.Server, service: str, pool: int = 10) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=gsv.ACCESS_KEY_ID,
        aws_secret_access_key=gsv.SECRET_ACCESS_KEY,
        # One attempt: a retried CreateSecret after a lost answer would hide a server error.
        config=Config(retries={"max_attempts": 1}, max_pool_connections=pool),
    )


def listed(client: Any, operation: str, key: str, page_size: int) -> int:
    """How many items a paginated List* call returns in total (root sees everything)."""
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": page_size})
    return sum(len(page[key]) for page in pages)


def admin_client(server: gsv.Server, pool: int) -> Any:
    """The Strongroom admin API (its model ships with the package)."""
    from strongroom.client.service_model import register

    session = boto3.Session(
        aws_access_key_id=gsv.ACCESS_KEY_ID,
        aws_secret_access_key=gsv.SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    register(session)
    return session.client(
        "strongroom",
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=pool),
    )


def provision(server: gsv.Server, tenants: int, threads: int) -> Population:
    """Per tenant: CreateTenant (its role with the ARN-wildcard isolation policy, a dedicated
    KMS key and alias, in one transaction), then its secret (tagged and put under the
    tenant's key by the server); one deployer. The CreateTenant calls are timed in order."""
    iam = root_client(server, "iam", threads)
    sm = root_client(server, "secretsmanager", threads)
    admin = admin_client(server, threads)
    values = {secret_name(tenant_id(n)): secret_value(tenant_id(n)) for n in range(1, tenants + 1)}
    started = time.monotonic()

    def onboard(number: int) -> float:
        admin.create_tenant(TenantId=tenant_id(number), KeyMode="DEDICATED")
        return time.monotonic()

    step = max(1, tenants // 10)
    finished: list[float] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, at in enumerate(pool.map(onboard, range(1, tenants + 1)), start=1):
            finished.append(at)
            if done % step == 0 and tenants >= 1000:
                rate = done / (at - started)
                print(f"  {server.name}: {done:,}/{tenants:,} tenants ({rate:,.0f}/s)", flush=True)
    onboarding = onboarding_drift(started, finished)

    def store_secret(number: int) -> None:
        name = secret_name(tenant_id(number))
        sm.create_secret(Name=name, SecretString=values[name])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(store_secret, range(1, tenants + 1)))

    iam.create_user(UserName=DEPLOYER)
    iam.put_user_policy(
        UserName=DEPLOYER,
        PolicyName="assume-tenant-roles",
        PolicyDocument=json.dumps(DEPLOYER_POLICY),
    )
    key = iam.create_access_key(UserName=DEPLOYER)["AccessKey"]
    seconds = time.monotonic() - started
    roles = listed(iam, "list_roles", "Roles", 1000)
    listed_secrets = listed(sm, "list_secrets", "SecretList", 100)
    if roles != tenants or listed_secrets != tenants:
        raise BenchmarkError(
            f"{server.name}: provisioned {tenants} tenants but listed {roles} roles and "
            f"{listed_secrets} secrets"
        )
    return Population(
        server=server,
        tenants=tenants,
        values=values,
        deployer=Credentials(key["AccessKeyId"], key["SecretAccessKey"]),
        seconds=seconds,
        roles_listed=roles,
        secrets_listed=listed_secrets,
        onboarding=onboarding,
    )


def onboarding_drift(started: float, finished: Sequence[float]) -> dict[str, float]:
    """Seconds per tenant over the first and the last tenth of the CreateTenant calls (by
    completion), and their ratio: creating tenants must not slow down as they accumulate."""
    # pool.map yields in submission order; a later call can finish before an earlier one.
    finished = sorted(finished)
    tenth = max(1, len(finished) // 10)
    first = (finished[tenth - 1] - started) / tenth
    last = (finished[-1] - finished[-tenth - 1]) / tenth if len(finished) > tenth else first
    return {
        "tenants_per_tenth": tenth,
        "first_ms_per_tenant": first * 1000,
        "last_ms_per_tenant": last * 1000,
        "ratio": last / first,
    }


def assume_sessions(population: Population, numbers: Sequence[int]) -> list[Credentials]:
    """The deployer assumes each tenant's role (one session per entry of ``numbers``)."""
    sts = boto3.client(
        "sts",
        endpoint_url=population.server.endpoint,
        region_name=REGION,
        aws_access_key_id=population.deployer.access_key,
        aws_secret_access_key=population.deployer.secret_key,
        config=Config(retries={"max_attempts": 1}),
    )
    sessions = []
    for index, number in enumerate(numbers):
        answer = sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role_name(tenant_id(number))}",
            RoleSessionName=f"bench-{index:03d}",
            DurationSeconds=SESSION_SECONDS,
        )["Credentials"]
        if not answer["AccessKeyId"].startswith("ASIA"):
            raise BenchmarkError(f"AssumeRole returned {answer['AccessKeyId'][:4]}… keys")
        sessions.append(
            Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])
        )
    return sessions


# --- the foundation's server, from a git commit ----------------------------------------------


def export_source(ref: str, dest: Path) -> Path:
    """``src/`` of commit ``ref`` (git archive: reads the repository, touches no working file)."""
    archive = subprocess.run(
        ["git", "-C", str(gsv.PROJECT_DIR), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise BenchmarkError(f"git archive {ref}: {archive.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def start_foundation(source: Path, data_dir: Path, log_path: Path) -> gsv.Server:
    """``strongroom server --dev`` run from ``source`` (PYTHONPATH goes before the project's
    editable install) with the project's .venv and the same root credentials."""
    port = gsv.free_port()
    boot = (
        "import sys, strongroom; print('strongroom imported from', strongroom.__file__, "
        "file=sys.stderr, flush=True); from strongroom.cli.main import main; "
        "sys.argv[0] = 'strongroom'; sys.exit(main())"
    )
    argv = [
        sys.executable,
        "-c",
        boot,
        "server",
        "--dev",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--root-access-key-id",
        gsv.ACCESS_KEY_ID,
        "--root-secret-access-key",
        gsv.SECRET_ACCESS_KEY,
    ]
    env = {**os.environ, "PYTHONPATH": str(source)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    server = gsv.Server(FOUNDATION, f"http://127.0.0.1:{port}", process, log_path)
    try:
        gsv.wait_ready(server, "/healthz", 200)
        if f"imported from {source}/" not in log_path.read_text(errors="replace"):
            raise BenchmarkError(f"the foundation server did not import strongroom from {source}")
    except BaseException:
        gsv.stop(server)
        raise
    return server


def load_secrets(server: gsv.Server, values: dict[str, str]) -> None:
    """The small population's secrets, same names, values and tags, created as root."""
    sm = root_client(server, "secretsmanager")
    for name, value in values.items():
        tenant = name.split("/")[2]
        sm.create_secret(Name=name, SecretString=value, Tags=[{"Key": TENANT_TAG, "Value": tenant}])


# --- workloads: signed pools and checks ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolEntry:
    secret_id: str
    value: str
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class Workload:
    """A named pool of GetSecretValue requests against one server (``server.name`` = the name,
    so every wrk Cell carries the workload)."""

    name: str
    server: gsv.Server
    entries: tuple[PoolEntry, ...]
    enforced: bool  # signed with role sessions (policies evaluated), not root


def sign(endpoint: str, entries: Sequence[PoolEntry]) -> list[gsv.SignedRequest]:
    """One freshly SigV4-signed GetSecretValue per entry, each with the entry's credentials;
    a session's X-Amz-Security-Token is added by botocore before signing, so it is signed."""
    host = endpoint.removeprefix("http://")
    signers: dict[str, SigV4Auth] = {}
    pool = []
    for entry in entries:
        signer = signers.get(entry.credentials.access_key)
        if signer is None:
            signer = SigV4Auth(entry.credentials, "secretsmanager", REGION)
            signers[entry.credentials.access_key] = signer
        body = json.dumps({"SecretId": entry.secret_id}).encode()
        request = AWSRequest(
            method="POST",
            url=f"{endpoint}/",
            data=body,
            headers={"Content-Type": gsv.CONTENT_TYPE, "X-Amz-Target": gsv.AMZ_TARGET},
        )
        signer.add_auth(request)
        headers = {"Host": host, **{k: str(v) for k, v in request.headers.items()}}
        pool.append(gsv.SignedRequest(headers=headers, body=body))
    return pool


def check_token_signed(workload: Workload, request: gsv.SignedRequest) -> None:
    token = request.headers.get("X-Amz-Security-Token")
    signed = request.headers["Authorization"].partition("SignedHeaders=")[2].split(",")[0]
    if workload.enforced and (not token or "x-amz-security-token" not in signed.split(";")):
        raise BenchmarkError(f"{workload.name}: the session token is not sent and signed")
    if not workload.enforced and token:
        raise BenchmarkError(f"{workload.name}: root requests must not carry a session token")


def fresh_pool(workload: Workload, work_dir: Path) -> Path:
    """Sign the pool again (Strongroom enforces a 5-minute skew), check its first request."""
    pool = sign(workload.server.endpoint, workload.entries)
    check_token_signed(workload, pool[0])
    gsv.check_signed_request(workload.server.endpoint, pool[0], workload.entries[0].value)
    path = work_dir / f"pool-{workload.name.replace('/', '-')}.lua"
    gsv.write_lua_pool(path, pool)
    return path


def send(endpoint: str, request: gsv.SignedRequest) -> tuple[int, dict[str, Any]]:
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/", body=request.body, headers=request.headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    document: dict[str, Any] = json.loads(payload) if payload else {}
    return response.status, document


def check_whole_pool(workload: Workload) -> None:
    """Every distinct request of the pool once: 200 and its tenant's value."""
    pool = sign(workload.server.endpoint, workload.entries)
    for entry, request in zip(workload.entries, pool, strict=True):
        status, document = send(workload.server.endpoint, request)
        if status != 200 or document.get("SecretString") != entry.value:
            raise BenchmarkError(
                f"{workload.name}: {entry.secret_id} answered HTTP {status} "
                f"{document.get('__type', '')} or a wrong value"
            )


def check_cross_tenant_denied(workload: Workload, other_secret: str) -> None:
    """A role session reading another tenant's secret gets AccessDeniedException: the cells
    measure enforcement, not an allow-all."""
    entry = replace(workload.entries[0], secret_id=other_secret)
    status, document = send(workload.server.endpoint, sign(workload.server.endpoint, [entry])[0])
    if status != 400 or "AccessDenied" not in str(document.get("__type", "")):
        raise BenchmarkError(
            f"{workload.name}: cross-tenant read of {other_secret} answered HTTP {status} "
            f"{document.get('__type', '')}, expected AccessDeniedException"
        )


def spread(population: int, count: int) -> list[int]:
    """``count`` tenant numbers spread evenly over 1..population (cycling if population < count)."""
    if population >= count:
        return [1 + (i * population) // count for i in range(count)]
    return [1 + i % population for i in range(count)]


def workloads_for(
    small: Population, large: Population, pool_size: int, foundation: gsv.Server | None
) -> tuple[list[Workload], dict[str, Any]]:
    """root and role workloads on the small population, the role workload on the large one,
    and root on the foundation's server (holding the small population's secrets) if given."""
    small_numbers = spread(small.tenants, pool_size)
    large_numbers = spread(large.tenants, pool_size)
    small_sessions = assume_sessions(small, small_numbers)
    large_sessions = assume_sessions(large, large_numbers)

    def entries(
        population: Population, numbers: Sequence[int], credentials: Sequence[Credentials]
    ) -> tuple[PoolEntry, ...]:
        names = [secret_name(tenant_id(n)) for n in numbers]
        return tuple(
            PoolEntry(name, population.values[name], c)
            for name, c in zip(names, credentials, strict=True)
        )

    root = [ROOT_CREDENTIALS] * pool_size
    plan: list[tuple[str, gsv.Server, tuple[PoolEntry, ...], bool, str, int]] = [
        (
            f"root@{small.tenants}",
            small.server,
            entries(small, small_numbers, root),
            False,
            "A",
            small.tenants,
        ),
        (
            f"role@{small.tenants}",
            small.server,
            entries(small, small_numbers, small_sessions),
            True,
            "A",
            small.tenants,
        ),
        (
            f"role@{large.tenants}",
            large.server,
            entries(large, large_numbers, large_sessions),
            True,
            "B",
            large.tenants,
        ),
    ]
    if foundation is not None:
        plan.append((FOUNDATION, foundation, entries(small, small_numbers, root), False, "F", 0))
    workloads = [
        Workload(name, replace(server, name=name), pool, enforced)
        for name, server, pool, enforced, _, _ in plan
    ]
    layout = {
        name: {
            "server": label,
            "tenants_provisioned": tenants,
            "requests_in_pool": len(pool),
            "distinct_credentials": len({e.credentials.access_key for e in pool}),
            "distinct_secrets": len({e.secret_id for e in pool}),
            "first_secrets": [e.secret_id for e in pool[:4]],
        }
        for name, _, pool, _, label, tenants in plan
    }
    return workloads, layout


# --- summary ------------------------------------------------------------------------------------

METRICS = ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_req", "server_cores", "wrk_cores")
Table = dict[str, dict[int, dict[str, float]]]


def medians(cells: Sequence[gsv.Cell], names: Sequence[str]) -> Table:
    table: Table = {}
    for name in names:
        for concurrency in sorted({c.concurrency for c in cells}):
            group = [c for c in cells if c.server == name and c.concurrency == concurrency]
            if group:
                row = {m: statistics.median(getattr(c, m) for c in group) for m in METRICS}
                row["rps_min"] = min(c.rps for c in group)
                row["rps_max"] = max(c.rps for c in group)
                for extra in ("loop_cpu_us_per_req", "machine_busy_cores", "steal_cores"):
                    row[extra] = statistics.median(getattr(c, extra) for c in group)
                table.setdefault(name, {})[concurrency] = row
    return table


def print_table(table: Table, names: Sequence[str]) -> None:
    header = (
        f"{'workload':<17}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU µs/req':>12}{'loop µs':>9}{'srv cores':>11}{'wrk cores':>11}"
        f"{'box busy':>10}{'steal':>7}"
        f"{'req/s min..max':>18}"
    )
    print(header)
    print("-" * len(header))
    for concurrency in sorted({c for rows in table.values() for c in rows}):
        for name in names:
            row = table.get(name, {}).get(concurrency)
            if row is None:
                continue
            spread_text = f"{row['rps_min']:,.0f}..{row['rps_max']:,.0f}"
            print(
                f"{name:<17}{concurrency:>5}{row['rps']:>9,.0f}{row['p50_ms']:>9.3f}"
                f"{row['p99_ms']:>9.3f}{row['server_cpu_us_per_req']:>12,.0f}"
                f"{row['loop_cpu_us_per_req']:>9,.0f}{row['server_cores']:>11.2f}{row['wrk_cores']:>11.2f}"
                f"{row['machine_busy_cores']:>10.2f}{row['steal_cores']:>7.2f}{spread_text:>18}"
            )


def ratio_of(
    table: Table, cells: Sequence[gsv.Cell], top: str, bottom: str, conc: int, metric: str
) -> dict[str, Any]:
    """top/bottom of the medians, and of each round's pair of cells (to show the noise)."""
    try:
        value = table[top][conc][metric] / table[bottom][conc][metric]
    except (KeyError, ZeroDivisionError):
        value = float("nan")
    by_key = {(c.server, c.round): getattr(c, metric) for c in cells if c.concurrency == conc}
    rounds = sorted({c.round for c in cells})
    per_round = [
        by_key[(top, r)] / by_key[(bottom, r)]
        for r in rounds
        if (top, r) in by_key and by_key.get((bottom, r))
    ]
    return {"value": value, "per_round": per_round, "of": f"{top} / {bottom}", "metric": metric}


def evaluate_targets(
    table: Table, cells: Sequence[gsv.Cell], names: Sequence[str]
) -> dict[str, Any]:
    root_small, role_small, role_large = names[:3]
    concs = sorted({c.concurrency for c in cells})
    targets = {
        "scaling": (role_large, role_small, SCALING_TARGET, "tenant scaling"),
        "enforced_vs_root": (
            role_large,
            root_small,
            ENFORCED_TARGET,
            "policies enforced vs root-only, same tree",
        ),
    }
    if FOUNDATION in names:
        targets["enforced_vs_foundation_root"] = (
            role_large,
            FOUNDATION,
            ENFORCED_TARGET,
            "policies enforced vs the foundation's root-only",
        )
    verdicts: dict[str, Any] = {}
    print()
    for key, (top, bottom, target, label) in targets.items():
        found = ratio_of(table, cells, top, bottom, TARGET_CONC, "rps")
        found["target"] = f">= {target:g}"
        rounds_text = " ".join(f"{r:.3f}" for r in found["per_round"])
        if math.isnan(found["value"]):
            found["met"] = None
            print(f"TARGET NOT EVALUATED: {label} (c={TARGET_CONC} not measured)")
        else:
            found["met"] = found["value"] >= target
            print(
                f"{label}: req/s {top} / {bottom}, c={TARGET_CONC}: {found['value']:.3f} "
                f"(per round: {rounds_text}; target >= {target:g})"
            )
            print(f"TARGET {'MET' if found['met'] else 'MISSED'}: {label}")
        verdicts[key] = found
    pairs = [(role_small, root_small), (role_large, role_small), (role_large, root_small)]
    if FOUNDATION in names:
        pairs += [(root_small, FOUNDATION), (role_large, FOUNDATION)]
    info: dict[str, Any] = {}
    for conc in concs:
        for top, bottom in pairs:
            for metric in ("rps", "p50_ms", "server_cpu_us_per_req"):
                info[f"{top}/{bottom} {metric} c={conc}"] = ratio_of(
                    table, cells, top, bottom, conc, metric
                )
    print("information (ratios of medians):")
    for label, found in info.items():
        print(f"  {label}: {found['value']:.3f}")
    verdicts["information"] = info
    return verdicts


def onboarding_verdict(large: Population) -> dict[str, Any]:
    """Per-tenant CreateTenant time over the last tenth / the first tenth (one run)."""
    drift = large.onboarding
    met = drift["ratio"] <= ONBOARDING_TARGET
    print(
        f"onboarding {large.tenants:,} tenants: {drift['last_ms_per_tenant']:.2f} ms/tenant over "
        f"the last tenth / {drift['first_ms_per_tenant']:.2f} over the first = "
        f"{drift['ratio']:.3f} (target <= {ONBOARDING_TARGET:g})"
    )
    print(f"TARGET {'MET' if met else 'MISSED'}: onboarding time per tenant, end vs start")
    return {**drift, "target": f"<= {ONBOARDING_TARGET:g}", "met": met}


# --- optional profile ---------------------------------------------------------------------------


def profile_workload(
    workload: Workload, duration_s: int, work_dir: Path, out_path: Path
) -> dict[str, Any]:
    """py-spy (GIL holder only) samples the server during one extra, unmeasured c=16 cell."""
    if not gsv.PY_SPY.exists():
        raise BenchmarkError(f"{gsv.PY_SPY} missing: run benchmarks/setup.sh --profiler")
    pool_path = fresh_pool(workload, work_dir)
    argv = [
        str(gsv.PY_SPY),
        "record",
        "--pid",
        str(workload.server.process.pid),
        "--duration",
        str(duration_s + 2),
        "--rate",
        "250",
        "--gil",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out_path),
    ]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)  # let py-spy attach before the load starts
    gsv.run_wrk(workload.server.endpoint, TARGET_CONC, duration_s, pool_path)
    _, spy_err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not out_path.exists():
        raise BenchmarkError(f"py-spy failed: {spy_err.decode(errors='replace')[-500:]}")
    print(f"\n== {workload.name} ==")
    return gsv.summarise_collapsed(out_path)


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk cell (integer)")
    parser.add_argument("--conc", default="1,16", help="comma-separated wrk connection counts")
    parser.add_argument("--small", type=int, default=10, help="tenants on server A")
    parser.add_argument("--large", type=int, default=10_000, help="tenants on server B")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=64,
        help="signed requests per pool = role sessions per server (B: one per tenant, spread "
        "over the population; A: cycling over its tenants)",
    )
    parser.add_argument("--threads", type=int, default=8, help="provisioning threads")
    parser.add_argument(
        "--foundation-ref",
        default=FOUNDATION_REF,
        help="git commit whose src/ runs as a 4th server for the root@foundation workload "
        "(root-only GetSecretValue of the foundation, same run); '' to leave it out",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=gsv.BENCH_DIR / "results" / f"tenant_scaling-{stamp}.json",
        help="JSON results file",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="afterwards, py-spy each workload for one extra c=16 cell of this length",
    )
    args = parser.parse_args(argv)
    args.conc = [int(c) for c in args.conc.split(",") if c.strip()]
    values = (args.rounds, args.duration, args.small, args.large, args.pool_size, args.threads)
    if not args.conc or min(*values, *args.conc) < 1:
        parser.error("every count, duration and --conc value must be >= 1")
    return args


def order_of(names: Sequence[str], round_index: int) -> list[str]:
    """Rotate by the round, reversed every other round: no workload always follows another."""
    shift = round_index % len(names)
    order = [*names[shift:], *names[:shift]]
    return order[::-1] if round_index % 2 else order


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def source_digest() -> str:
    """SHA-256 over src/**/*.py: the working tree is shared and changes under a run, and
    `git describe --dirty` does not tell two dirty trees apart."""
    digest = hashlib.sha256()
    for path in sorted((gsv.PROJECT_DIR / "src").rglob("*.py")):
        digest.update(str(path.relative_to(gsv.PROJECT_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run(args: argparse.Namespace) -> int:
    gsv.ensure_setup(need_profiler=args.profile > 0)
    info = gsv.machine_info()
    info["src_sha256_16"] = source_digest()  # taken before the servers start
    info["foundation_ref"] = args.foundation_ref or None
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu_model']}, Python {info['python']}, "
        f"before start: {info['busy_cores_before_start']} cores busy, "
        f"{info['steal_cores_before_start']} stolen"
    )
    print(
        f"strongroom {info['strongroom']} ({info['git']}, src {info['src_sha256_16']}), "
        f"{info['wrk']}"
    )
    cells: list[gsv.Cell] = []
    profiles: dict[str, Any] = {}
    work_dir = Path(tempfile.mkdtemp(prefix="strongroom-tenants-"))
    servers: list[gsv.Server] = []
    try:
        for label in ("A", "B"):
            servers.append(
                # Throughput, not quotas, is measured: tenants get the unlimited tier.
                gsv.start_strongroom(
                    work_dir / f"data-{label}",
                    work_dir / f"server-{label}.log",
                    "--default-tenant-tier",
                    "unlimited",
                )
            )
        server_a, server_b = (replace(s, name=n) for s, n in zip(servers, "AB", strict=True))
        foundation: gsv.Server | None = None
        if args.foundation_ref:
            source = export_source(args.foundation_ref, work_dir / "foundation")
            foundation = start_foundation(source, work_dir / "data-F", work_dir / "server-F.log")
            servers.append(foundation)
            print(f"server F: the foundation ({args.foundation_ref[:12]}) from {source}")
        populations = []
        for server, tenants in ((server_a, args.small), (server_b, args.large)):
            print(f"provisioning {tenants:,} tenants on server {server.name} ...", flush=True)
            population = provision(server, tenants, args.threads)
            print(
                f"  server {server.name}: {tenants:,} tenants (CreateTenant) + secrets in "
                f"{population.seconds:.0f} s; listed {population.roles_listed:,} roles, "
                f"{population.secrets_listed:,} secrets; CreateTenant "
                f"{population.onboarding['first_ms_per_tenant']:.2f} ms/tenant over the first "
                f"tenth, {population.onboarding['last_ms_per_tenant']:.2f} over the last",
                flush=True,
            )
            populations.append(population)
        small, large = populations
        if foundation is not None:
            load_secrets(foundation, small.values)
        workloads, layout = workloads_for(small, large, args.pool_size, foundation)
        names = [w.name for w in workloads]
        by_name = {w.name: w for w in workloads}
        for workload in workloads:
            check_whole_pool(workload)
        # A tenant's session must not read another tenant's secret of the pool (a population
        # of one tenant has none to try).
        for workload in (w for w in workloads if w.enforced):
            first = workload.entries[0].secret_id
            other = next((e.secret_id for e in workload.entries if e.secret_id != first), None)
            if other is not None:
                check_cross_tenant_denied(workload, other)
        print("checks: every pooled request answers 200 with its value; cross-tenant reads denied")
        for workload in workloads:
            pool_path = fresh_pool(workload, work_dir)
            gsv.measure_pool(workload.server, max(args.conc), gsv.WARMUP_S, -1, pool_path)
        for round_index in range(args.rounds):
            for concurrency in args.conc:
                for name in order_of(names, round_index):
                    workload = by_name[name]
                    pool_path = fresh_pool(workload, work_dir)
                    cell = gsv.measure_pool(
                        workload.server, concurrency, args.duration, round_index, pool_path
                    )
                    cells.append(cell)
                    print(
                        f"round {round_index + 1}/{args.rounds} c={concurrency:<3} "
                        f"{name:<15} {cell.rps:>8,.0f} req/s  p50 {cell.p50_ms:7.3f} ms  "
                        f"p99 {cell.p99_ms:7.3f} ms  {cell.server_cpu_us_per_req:6,.0f} µs/req "
                        f"(loop {cell.loop_cpu_us_per_req:4,.0f})  "
                        f"busy {cell.machine_busy_cores:4.2f} steal {cell.steal_cores:4.2f}  "
                        f"errors {sum(cell.errors.values())}",
                        flush=True,
                    )
        if args.profile:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            for workload in workloads:
                suffix = workload.name.replace("@", "-")
                try:
                    profiles[workload.name] = profile_workload(
                        workload,
                        args.profile,
                        work_dir,
                        args.out.with_suffix(f".{suffix}.pyspy.txt"),
                    )
                except BenchmarkError as error:  # a diagnostic only: keep the measurements
                    print(f"WARNING: profile of {workload.name} not taken: {error}")
                    profiles[workload.name] = {"error": str(error)}
        footprint = {
            label: {
                "tenants": population.tenants,
                "rss_mib": round(rss_mib(population.server.process.pid), 1),
                "data_dir_mib": round(dir_mib(work_dir / f"data-{label}"), 1),
                "provisioning_s": round(population.seconds, 1),
                "onboarding": population.onboarding,
            }
            for label, population in (("A", small), ("B", large))
        }
        if foundation is not None:
            footprint["F"] = {
                "tenants": 0,
                "rss_mib": round(rss_mib(foundation.process.pid), 1),
                "data_dir_mib": round(dir_mib(work_dir / "data-F"), 1),
                "provisioning_s": 0.0,
            }
        log_errors = {
            s.name: gsv.server_errors(s) for s in (server_a, server_b, foundation) if s is not None
        }
    finally:
        for server in servers:
            gsv.stop(server)
        shutil.rmtree(work_dir, ignore_errors=True)

    table = medians(cells, names)
    print(
        f"\nMedians of {args.rounds} rounds, {args.duration} s per cell, wrk -t1 "
        f"(GetSecretValue; server A: {args.small:,} tenants, B: {args.large:,})"
    )
    print_table(table, names)
    verdicts = evaluate_targets(table, cells, names)
    verdicts["onboarding"] = onboarding_verdict(large)
    for label, row in footprint.items():
        print(
            f"server {label}: {row['tenants']:,} tenants, RSS {row['rss_mib']:.0f} MiB, "
            f"data dir {row['data_dir_mib']:.1f} MiB, provisioned in {row['provisioning_s']:.0f} s"
        )

    failed = [c for c in cells if c.errors["status"] or c.errors["timeout"] or not c.requests]
    socket_errors = sum(c.errors["connect"] + c.errors["read"] + c.errors["write"] for c in cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "CreateTenant drift; GetSecretValue with policies enforced, 10 vs 10,000 "
        "tenants, vs root",
        "command": " ".join([gsv.display_path(Path(sys.executable)), *sys.argv]),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "concurrency": args.conc,
            "tenants_small": args.small,
            "tenants_large": args.large,
            "pool_size": args.pool_size,
            "provisioning_threads": args.threads,
            "target_concurrency": TARGET_CONC,
        },
        "machine": info,
        "workloads": layout,
        "servers": footprint,
        "medians": {name: {str(c): row for c, row in rows.items()} for name, rows in table.items()},
        "ratios": verdicts,
        "cells": [asdict(c) for c in cells],
        "server_log_errors": log_errors,
        "profiles": profiles,
    }
    return gsv.write_results(
        args.out,
        document,
        {f"server {name}": lines for name, lines in log_errors.items()},
        socket_errors,
        [f"{c.server} c={c.concurrency} round {c.round}: {c.errors}" for c in failed],
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers started here are stopped and the temp dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        return run(args)
    except (BenchmarkError, BotoCoreError, ClientError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
