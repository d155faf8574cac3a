"""KMS Encrypt/Decrypt/GenerateDataKey A/B benchmark: Strongroom vs moto server, plus Strongroom's
GetSecretValue in the same run, wrk replaying SigV4-signed requests (get_secret_value.py's method).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# Run as `.venv/bin/python benchmarks/kms_crypto.py`, benchmarks/ is already sys.path[0]; the
# insert keeps the import working when this file is loaded some other way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import get_secret_value as gsv

STRONGROOM, MOTO, SERVERS = gsv.STRONGROOM, gsv.MOTO, gsv.SERVERS
BenchmarkError = gsv.BenchmarkError

ENCRYPT, DECRYPT, GENERATE_DATA_KEY = "Encrypt", "Decrypt", "GenerateDataKey"
GET_SECRET_VALUE = "GetSecretValue"  # noqa: S105 (an operation name)
KMS_OPERATIONS = (ENCRYPT, DECRYPT, GENERATE_DATA_KEY)
WORKLOADS = (*KMS_OPERATIONS, GET_SECRET_VALUE)
# GetSecretValue runs on Strongroom only: it is Strongroom's own yardstick, not an A/B pair.
SERVERS_OF = {**dict.fromkeys(KMS_OPERATIONS, SERVERS), GET_SECRET_VALUE: (STRONGROOM,)}

PLAINTEXT_BYTES = 64
DATA_KEY_BYTES = 32  # KeySpec AES_256

TARGET_CONC = gsv.THROUGHPUT_CONC  # 16
VS_MOTO_TARGET, VS_MOTO_AIM = gsv.THROUGHPUT_TARGET, gsv.THROUGHPUT_AIM  # >= 6x, aim 10x
VS_GSV_TARGET = 0.9  # Strongroom KMS op req/s / Strongroom GetSecretValue req/s


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """How to sign a fresh pool for one (server, workload), and how to check its first request."""

    sign: Callable[[], list[gsv.SignedRequest]]
    check: Callable[[gsv.SignedRequest], None]


@dataclass(frozen=True, slots=True)
class WorkloadCell:
    workload: str
    cell: gsv.Cell

    def as_json(self) -> dict[str, Any]:
        return {"workload": self.workload, **asdict(self.cell)}


# --- data, signed pools and checks --------------------------------------------------------------


def client(server: gsv.Server, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=gsv.REGION,
        aws_access_key_id=gsv.ACCESS_KEY_ID,
        aws_secret_access_key=gsv.SECRET_ACCESS_KEY,
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def send(endpoint: str, request: gsv.SignedRequest, operation: str) -> dict[str, Any]:
    """Send one pooled request ourselves; HTTP 200 with a JSON body, or the cell is void."""
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/", body=request.body, headers=request.headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchmarkError(f"{endpoint} {operation}: HTTP {response.status}: {payload[:300]!r}")
    document: dict[str, Any] = json.loads(payload)
    return document


def prepare_kms(
    server: gsv.Server, plaintexts: Sequence[bytes], contexts: Sequence[dict[str, str]]
) -> tuple[str, dict[str, PoolSpec]]:
    """CreateKey, real Encrypts for the Decrypt pool; returns the key ARN and the three pools."""
    kms = client(server, "kms")
    metadata = kms.create_key(Description="strongroom benchmark", KeyUsage="ENCRYPT_DECRYPT")[
        "KeyMetadata"
    ]
    key_id, key_arn = metadata["KeyId"], metadata["Arn"]
    ciphertexts = [
        kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
        for plaintext, context in zip(plaintexts, contexts, strict=True)
    ]
    endpoint, name = server.endpoint, server.name

    def decrypts_to(blob: bytes, context: dict[str, str], want: bytes, operation: str) -> None:
        try:
            got = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
        except (BotoCoreError, ClientError) as error:
            raise BenchmarkError(
                f"{name} {operation}: Decrypt of its ciphertext: {error}"
            ) from None
        if got != want:
            raise BenchmarkError(f"{name} {operation}: the ciphertext does not decrypt back")

    def check_key(response: dict[str, Any], operation: str) -> None:
        if response.get("KeyId") not in (key_id, key_arn):
            raise BenchmarkError(f"{name} {operation}: KeyId {response.get('KeyId')!r}")

    def check_encrypt(request: gsv.SignedRequest) -> None:
        response = send(endpoint, request, ENCRYPT)
        check_key(response, ENCRYPT)
        blob = base64.b64decode(response["CiphertextBlob"])
        decrypts_to(blob, contexts[0], plaintexts[0], ENCRYPT)

    def check_decrypt(request: gsv.SignedRequest) -> None:
        response = send(endpoint, request, DECRYPT)
        check_key(response, DECRYPT)
        if base64.b64decode(response["Plaintext"]) != plaintexts[0]:
            raise BenchmarkError(f"{name} Decrypt: returned the wrong plaintext")

    def check_generate(request: gsv.SignedRequest) -> None:
        response = send(endpoint, request, GENERATE_DATA_KEY)
        check_key(response, GENERATE_DATA_KEY)
        data_key = base64.b64decode(response["Plaintext"])
        if len(data_key) != DATA_KEY_BYTES:
            raise BenchmarkError(f"{name} GenerateDataKey: {len(data_key)}-byte data key")
        blob = base64.b64decode(response["CiphertextBlob"])
        decrypts_to(blob, contexts[0], data_key, GENERATE_DATA_KEY)

    bodies = {
        ENCRYPT: [
            {"KeyId": key_id, "Plaintext": b64(plaintext), "EncryptionContext": context}
            for plaintext, context in zip(plaintexts, contexts, strict=True)
        ],
        DECRYPT: [
            {"CiphertextBlob": b64(blob), "EncryptionContext": context}
            for blob, context in zip(ciphertexts, contexts, strict=True)
        ],
        GENERATE_DATA_KEY: [
            {"KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": context}
            for context in contexts
        ],
    }
    checks = {ENCRYPT: check_encrypt, DECRYPT: check_decrypt, GENERATE_DATA_KEY: check_generate}
    pools = {}
    for operation in KMS_OPERATIONS:
        encoded = [json.dumps(body).encode() for body in bodies[operation]]
        target = f"TrentService.{operation}"

        def sign(encoded: list[bytes] = encoded, target: str = target) -> list[gsv.SignedRequest]:
            return gsv.sign_requests(endpoint, "kms", target, encoded)

        pools[operation] = PoolSpec(sign=sign, check=checks[operation])
    return key_arn, pools


def prepare_get_secret_value(server: gsv.Server, values: dict[str, str]) -> PoolSpec:
    gsv.create_secrets(server, values)
    first_id = next(iter(values))
    return PoolSpec(
        sign=lambda: gsv.sign_pool(server.endpoint, list(values)),
        check=lambda request: gsv.check_signed_request(server.endpoint, request, values[first_id]),
    )


# --- one measured cell --------------------------------------------------------------------------


def measure(
    server: gsv.Server,
    workload: str,
    spec: PoolSpec,
    concurrency: int,
    duration_s: int,
    round_index: int,
    work_dir: Path,
) -> WorkloadCell:
    pool = spec.sign()  # fresh before every cell: Strongroom enforces a 5-minute clock skew
    spec.check(pool[0])
    pool_path = work_dir / f"pool-{server.name}-{workload}.lua"
    gsv.write_lua_pool(pool_path, pool)
    cell = gsv.measure_pool(server, concurrency, duration_s, round_index, pool_path)
    return WorkloadCell(workload=workload, cell=cell)


# --- summary ------------------------------------------------------------------------------------

Table = dict[str, dict[int, dict[str, float]]]  # server -> concurrency -> metric -> median


def cells_of(cells: Sequence[WorkloadCell], workload: str) -> list[gsv.Cell]:
    return [c.cell for c in cells if c.workload == workload]


def print_table(tables: dict[str, Table]) -> None:
    header = (
        f"{'workload':<16}{'server':<11}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU µs/req':>12}{'srv cores':>11}{'box busy':>10}{'steal':>7}{'req/s min..max':>18}"
    )
    print(header)
    print("-" * len(header))
    for workload, table in tables.items():
        for concurrency in sorted({c for rows in table.values() for c in rows}):
            for name in SERVERS:
                row = table.get(name, {}).get(concurrency)
                if row is None:
                    continue
                spread = f"{row['rps_min']:,.0f}..{row['rps_max']:,.0f}"
                print(
                    f"{workload:<16}{name:<11}{concurrency:>5}{row['rps']:>10,.0f}"
                    f"{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}"
                    f"{row['server_cpu_us_per_req']:>12,.0f}{row['server_cores']:>11.2f}"
                    f"{row['machine_busy_cores']:>10.2f}{row['steal_cores']:>7.2f}{spread:>18}"
                )


def strongroom_rps(table: Table, concurrency: int) -> float:
    return table.get(STRONGROOM, {}).get(concurrency, {}).get("rps", float("nan"))


def vs_get_secret_value_per_round(
    cells: Sequence[WorkloadCell], workload: str, concurrency: int
) -> list[float]:
    def by_round(name: str) -> dict[int, float]:
        return {
            c.cell.round: c.cell.rps
            for c in cells
            if c.workload == name
            and c.cell.server == STRONGROOM
            and c.cell.concurrency == concurrency
        }

    kms, yardstick = by_round(workload), by_round(GET_SECRET_VALUE)
    return [kms[r] / yardstick[r] for r in sorted(kms) if yardstick.get(r)]


def verdict(label: str, met: bool | None, detail: str) -> None:
    if met is None:
        print(f"TARGET NOT EVALUATED: {label} (c={TARGET_CONC} or a workload was not measured)")
        return
    print(detail)
    print(f"TARGET {'MET' if met else 'MISSED'}: {label}")


def evaluate_targets(tables: dict[str, Table], cells: Sequence[WorkloadCell]) -> dict[str, Any]:
    """Print the headline ratios with TARGET MET/MISSED lines; return them for the JSON."""
    verdicts: dict[str, Any] = {"target_concurrency": TARGET_CONC, "operations": {}}
    concurrencies = sorted({c.cell.concurrency for c in cells})
    gsv_table = tables.get(GET_SECRET_VALUE, {})
    print()
    for operation in KMS_OPERATIONS:
        if operation not in tables:
            continue
        table, op_cells = tables[operation], cells_of(cells, operation)
        cpu = {str(c): gsv.ratio(table, c, "server_cpu_us_per_req") for c in concurrencies}
        p50 = {str(c): gsv.ratio(table, c, "p50_ms") for c in concurrencies}
        cpu_text = ", ".join(f"c={c} {v:.3f}" for c, v in cpu.items())
        p50_text = ", ".join(f"c={c} {v:.3f}" for c, v in p50.items())
        print(f"{operation}: Strongroom/moto CPU per request {cpu_text}; p50 {p50_text}")
        verdicts["operations"][operation] = {
            "vs_moto_throughput": gsv.ratio(table, TARGET_CONC, "rps"),
            "vs_moto_throughput_per_round": gsv.per_round_ratios(op_cells, TARGET_CONC, "rps"),
            "vs_get_secret_value_throughput": (
                strongroom_rps(table, TARGET_CONC) / strongroom_rps(gsv_table, TARGET_CONC)
                if strongroom_rps(gsv_table, TARGET_CONC)
                else float("nan")
            ),
            "vs_get_secret_value_throughput_per_round": vs_get_secret_value_per_round(
                cells, operation, TARGET_CONC
            ),
            "cpu_per_request_ratio": cpu,
            "p50_ratio": p50,
        }

    print()
    for operation, ratios in verdicts["operations"].items():
        value = ratios["vs_moto_throughput"]
        met = None if math.isnan(value) else value >= VS_MOTO_TARGET
        ratios["vs_moto_target_met"] = met
        rounds_text = " ".join(f"{r:.1f}" for r in ratios["vs_moto_throughput_per_round"])
        aim = "aim met" if value >= VS_MOTO_AIM else f"aim {VS_MOTO_AIM:g}x not met"
        verdict(
            f"{operation} throughput ratio Strongroom/moto at c={TARGET_CONC}",
            met,
            f"Strongroom/moto {operation} throughput, c={TARGET_CONC}: x{value:.2f} "
            f"(per round: {rounds_text}; target >= {VS_MOTO_TARGET:g}x, {aim})",
        )
    for operation, ratios in verdicts["operations"].items():
        value = ratios["vs_get_secret_value_throughput"]
        met = None if math.isnan(value) else value >= VS_GSV_TARGET
        ratios["vs_get_secret_value_target_met"] = met
        rounds_text = " ".join(
            f"{r:.2f}" for r in ratios["vs_get_secret_value_throughput_per_round"]
        )
        verdict(
            f"Strongroom {operation}/GetSecretValue throughput ratio at c={TARGET_CONC}",
            met,
            f"Strongroom {operation} / Strongroom GetSecretValue throughput, c={TARGET_CONC}: "
            f"{value:.3f} (per round: {rounds_text}; target >= {VS_GSV_TARGET:g})",
        )
    return verdicts


# --- main ---------------------------------------------------------------------------------------


def parse_workloads(text: str) -> list[str]:
    by_lower = {name.lower(): name for name in WORKLOADS}
    chosen = []
    for item in (part.strip() for part in text.split(",")):
        if item and item.lower() not in by_lower:
            raise argparse.ArgumentTypeError(f"unknown workload {item!r}; known: {WORKLOADS}")
        if item and by_lower[item.lower()] not in chosen:
            chosen.append(by_lower[item.lower()])
    if not chosen:
        raise argparse.ArgumentTypeError("no workload chosen")
    return [w for w in WORKLOADS if w in chosen]  # always the canonical order


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk cell (integer)")
    parser.add_argument("--conc", default="1,16", help="comma-separated wrk connection counts")
    parser.add_argument(
        "--workloads",
        type=parse_workloads,
        default=list(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=64,
        help="distinct signed requests per pool (and secrets for GetSecretValue)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=gsv.BENCH_DIR / "results" / f"kms-{stamp}.json",
        help="JSON results file",
    )
    args = parser.parse_args(argv)
    args.conc = [int(c) for c in args.conc.split(",") if c.strip()]
    if not args.conc or min(args.rounds, args.duration, args.pool_size, *args.conc) < 1:
        parser.error("--rounds, --duration, --pool-size and every --conc value must be >= 1")
    return args


def run(args: argparse.Namespace) -> int:
    gsv.ensure_setup(need_profiler=False)
    info = gsv.machine_info()
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu_model']}, Python {info['python']}, "
        f"before start: {info['busy_cores_before_start']} cores busy, "
        f"{info['steal_cores_before_start']} stolen"
    )
    print(f"strongroom {info['strongroom']} ({info['git']}), moto {info['moto']}, {info['wrk']}")
    plaintexts = [secrets.token_bytes(PLAINTEXT_BYTES) for _ in range(args.pool_size)]
    contexts = [{"tenant_id": f"cust-{index}"} for index in range(args.pool_size)]
    kms_wanted = any(w in KMS_OPERATIONS for w in args.workloads)
    cells: list[WorkloadCell] = []
    keys: dict[str, str] = {}
    work_dir = Path(tempfile.mkdtemp(prefix="strongroom-bench-kms-"))
    try:
        with gsv.running_servers(work_dir) as servers:
            specs: dict[tuple[str, str], PoolSpec] = {}
            for name, server in servers.items():
                if kms_wanted:
                    try:
                        keys[name], pools = prepare_kms(server, plaintexts, contexts)
                    except (BotoCoreError, ClientError) as error:
                        raise BenchmarkError(f"{name}: KMS setup failed: {error}") from None
                    specs.update({(name, op): spec for op, spec in pools.items()})
            if GET_SECRET_VALUE in args.workloads:
                values = gsv.secret_values(args.pool_size)
                specs[STRONGROOM, GET_SECRET_VALUE] = prepare_get_secret_value(
                    servers[STRONGROOM], values
                )
            for workload in args.workloads:  # warm-up, not recorded
                for name in SERVERS_OF[workload]:
                    spec = specs[name, workload]
                    measure(
                        servers[name], workload, spec, max(args.conc), gsv.WARMUP_S, -1, work_dir
                    )
            order = list(SERVERS)
            for round_index in range(args.rounds):
                for workload in args.workloads:
                    for concurrency in args.conc:
                        for name in (n for n in order if n in SERVERS_OF[workload]):
                            result = measure(
                                servers[name],
                                workload,
                                specs[name, workload],
                                concurrency,
                                args.duration,
                                round_index,
                                work_dir,
                            )
                            cells.append(result)
                            cell = result.cell
                            print(
                                f"round {round_index + 1}/{args.rounds} {workload:<16} "
                                f"c={concurrency:<3} {name:<10} {cell.rps:>9,.0f} req/s  "
                                f"p50 {cell.p50_ms:7.3f} ms  p99 {cell.p99_ms:7.3f} ms  "
                                f"{cell.server_cpu_us_per_req:7,.0f} µs/req  "
                                f"errors {sum(cell.errors.values())}",
                                flush=True,
                            )
                order.reverse()  # A B, then B A: neither server always follows the other
            log_errors = {name: gsv.server_errors(server) for name, server in servers.items()}
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    tables = {w: gsv.medians(cells_of(cells, w)) for w in args.workloads}
    print(
        f"\nMedians of {args.rounds} rounds, {args.duration} s per cell, wrk -t1 "
        f"(KMS {PLAINTEXT_BYTES}-byte Encrypt, Decrypt, GenerateDataKey AES_256; GetSecretValue)"
    )
    print_table(tables)
    verdicts = evaluate_targets(tables, cells)

    failed = [
        c
        for c in cells
        if c.cell.errors["status"] or c.cell.errors["timeout"] or not c.cell.requests
    ]
    socket_errors = sum(
        c.cell.errors["connect"] + c.cell.errors["read"] + c.cell.errors["write"] for c in cells
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": (
            "KMS Encrypt/Decrypt/GenerateDataKey, Strongroom vs moto, and Strongroom "
            "GetSecretValue, wrk replay of SigV4-signed requests"
        ),
        "command": " ".join([gsv.display_path(Path(sys.executable)), *sys.argv]),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "concurrency": args.conc,
            "workloads": args.workloads,
            "pool_size": args.pool_size,
            "plaintext_bytes": PLAINTEXT_BYTES,
            "data_key_spec": "AES_256",
            "encryption_context": {"tenant_id": "cust-<index in pool>"},
        },
        "machine": info,
        "keys": keys,
        "medians": {
            workload: {name: {str(c): row for c, row in rows.items()} for name, rows in t.items()}
            for workload, t in tables.items()
        },
        "ratios": verdicts,
        "cells": [c.as_json() for c in cells],
        "server_log_errors": log_errors,
    }
    return gsv.write_results(
        args.out,
        document,
        log_errors,
        socket_errors,
        [
            f"{c.cell.server} {c.workload} c={c.cell.concurrency} "
            f"round {c.cell.round}: {c.cell.errors}"
            for c in failed
        ],
    )


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
