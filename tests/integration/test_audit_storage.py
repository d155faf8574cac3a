"""The audit store on SQLite and PostgreSQL: chaining, concurrency, checkpoints, retention,
the signing key, and verify catching an attacker's raw SQL edits."""

from __future__ import annotations

import gzip
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, text

from strongroom.audit import chain, index_fields
from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity, canonical_json
from strongroom.audit.ports import AuditStoreUnavailable
from strongroom.audit.retention import Retention
from strongroom.audit.signing_key import SigningKeyMismatch, deployment_signer, public_key_pem
from strongroom.audit.verify import VerifyResult, verify_region
from strongroom.cli.main import main as cli_main
from strongroom.clock import FrozenClock
from strongroom.crypto.key_material import KeyMaterial
from strongroom.crypto.signing import Ed25519Signer
from strongroom.kms.keyring import KeyRing
from strongroom.storage import engines, migrate
from strongroom.storage.audit_repository import SqlAuditStore, append_in_transaction
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from strongroom.storage.schema import secrets
from strongroom.storage.signing_key_repository import SqlSigningKeyStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

REGION = "us-east-1"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_at_head(tmp_path / "data.db", "data")
        urls: Iterator[str] = iter([url])
    else:
        urls = postgres_url_or_skip("data")
    for url in urls:
        created = engines.create(url)
        migrate.upgrade(created, "data")
        try:
            yield created
        finally:
            created.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


SIGNER = Ed25519Signer.generate()
PUBLIC = SIGNER.public_key_pem()


@pytest.fixture
def store(engine: Engine, clock: FrozenClock) -> SqlAuditStore:
    return SqlAuditStore(engine, signer=SIGNER, clock=clock)


def event(
    n: int = 0,
    *,
    region: str = REGION,
    tenant: str | None = "acme",
    when: datetime = T0,
    name: str = "GetSecretValue",
) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=when,
        event_source="secretsmanager.amazonaws.com",
        event_name=name,
        aws_region=region,
        source_ip="192.0.2.10",
        user_agent="test",
        request_id=str(uuid.uuid4()),
        read_only=name.startswith("Get"),
        user_identity=UserIdentity(
            type="AssumedRole",
            principal_id="AROAEXAMPLE:reader",
            arn="arn:aws:sts::123456789012:assumed-role/app/reader-session",
            account_id="123456789012",
            access_key_id="ASIAEXAMPLE0000001",
        ),
        request_parameters={"secretId": f"acme/db-{n}"},
        resources=(
            AuditResource(
                arn=f"arn:aws:secretsmanager:{region}:123456789012:secret:acme/db-{n}-AbCdEf",
                type="AWS::SecretsManager::Secret",
                tenant=tenant,
                name=f"acme/db-{n}",
            ),
        ),
        tenant=tenant,
        recipient_account_id="123456789012",
    )


def check(store: SqlAuditStore, region: str = REGION, **kwargs: int) -> VerifyResult:
    return verify_region(store, region, public_key_pem=PUBLIC, **kwargs)


def sql(engine: Engine, statement: str, **params: object) -> None:
    """An attacker with database access: raw SQL, no Strongroom code involved."""
    with engine.begin() as connection:
        connection.execute(text(statement), params)


# -- appending and reading ---------------------------------------------------------------


def test_append_chains_and_scan_returns_exactly_what_was_stored(store: SqlAuditStore) -> None:
    events = [event(n) for n in range(5)]
    stored = store.append(events)
    assert [s.seq for s in stored] == [1, 2, 3, 4, 5]
    assert stored[0].previous_hash == chain.GENESIS_HASH
    for before, after in itertools.pairwise(stored):
        assert after.previous_hash == before.hash
    for original, kept in zip(events, stored, strict=True):
        assert kept.record == original.canonical_bytes()
        assert kept.hash == chain.link(kept.previous_hash, kept.record)
        assert kept.event_id == original.event_id
    assert list(store.scan(REGION)) == stored
    assert list(store.scan(REGION, 2, 4)) == stored[1:4]
    assert store.regions() == [REGION]
    assert store.head(REGION) == (5, stored[-1].hash)
    assert check(store).ok


def test_lookup_columns_and_resource_rows(store: SqlAuditStore, engine: Engine) -> None:
    stored = store.append([event(7)])[0]
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT event_name, event_source, read_only, username, access_key_id, "
                "principal_arn, tenant, error_code, event_type FROM audit_events WHERE seq = 1"
            )
        ).one()
        resources = connection.execute(
            text(
                "SELECT resource_name, resource_type FROM audit_event_resources "
                "WHERE region = :r AND seq = :s ORDER BY resource_name"
            ),
            {"r": REGION, "s": stored.seq},
        ).all()
    assert tuple(row) == (
        "GetSecretValue",
        "secretsmanager.amazonaws.com",
        1,
        "reader-session",
        "ASIAEXAMPLE0000001",
        "arn:aws:sts::123456789012:assumed-role/app/reader-session",
        "acme",
        None,
        "AwsApiCall",
    )
    # Both the ARN and the name the caller used find the event.
    assert [tuple(r) for r in resources] == [
        ("acme/db-7", "AWS::SecretsManager::Secret"),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/db-7-AbCdEf",
            "AWS::SecretsManager::Secret",
        ),
    ]


def test_regions_have_separate_chains(store: SqlAuditStore) -> None:
    stored = store.append([event(1), event(2, region="eu-west-1"), event(3)])
    assert [(s.region, s.seq) for s in stored] == [(REGION, 1), ("eu-west-1", 1), (REGION, 2)]
    assert store.regions() == ["eu-west-1", REGION]
    assert check(store).ok
    assert check(store, "eu-west-1").ok


def test_append_in_transaction_commits_and_rolls_back_with_the_change(
    store: SqlAuditStore, engine: Engine
) -> None:
    store.append([event(0)])

    def failing_mutation() -> None:
        with engines.transaction(engine, write=True) as connection:
            append_in_transaction(connection, [event(1), event(2)])
            raise RuntimeError("the mutation failed")

    with pytest.raises(RuntimeError, match="the mutation failed"):
        failing_mutation()
    assert [e.seq for e in store.scan(REGION)] == [1]
    with engines.transaction(engine, write=True) as connection:
        connection.execute(
            insert(secrets).values(
                arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
                name="x",
                region=REGION,
                created_at=T0,
                last_changed_at=T0,
                row_version=1,
            )
        )
        written = store.append_in_transaction(connection, [event(3)])
    assert [e.seq for e in written] == [2]
    assert [e.seq for e in store.scan(REGION)] == [1, 2]
    assert check(store).ok


def test_a_failed_append_raises_unavailable_and_leaves_the_chain_intact(
    store: SqlAuditStore,
) -> None:
    first = event(1)
    store.append([first])
    with pytest.raises(AuditStoreUnavailable):
        store.append([event(2), first])  # the event id is already stored
    assert [e.seq for e in store.scan(REGION)] == [1]
    assert store.append([event(3)])[0].seq == 2
    assert check(store).ok


def test_concurrent_appenders_keep_one_gapless_chain(store: SqlAuditStore) -> None:
    appenders_keep_one_chain(store, threads=6, rounds=15, batch=7)


@pytest.mark.slow
def test_many_concurrent_appenders_keep_one_gapless_chain(store: SqlAuditStore) -> None:
    appenders_keep_one_chain(store, threads=16, rounds=150, batch=13)


def appenders_keep_one_chain(
    store: SqlAuditStore, *, threads: int, rounds: int, batch: int
) -> None:
    errors: list[BaseException] = []

    def appender() -> None:
        try:
            for _ in range(rounds):
                store.append(
                    [event(n, region=REGION if n % 3 else "eu-west-1") for n in range(batch)]
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=appender) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * rounds * batch
    east = [e.seq for e in store.scan(REGION)]
    west = [e.seq for e in store.scan("eu-west-1")]
    assert len(east) + len(west) == total
    assert east == list(range(1, len(east) + 1))
    assert west == list(range(1, len(west) + 1))
    assert check(store).ok
    assert check(store, "eu-west-1").ok


# -- checkpoints -------------------------------------------------------------------------


def test_a_signed_checkpoint_every_thousand_events_and_on_request(store: SqlAuditStore) -> None:
    for _ in range(7):
        store.append([event(n) for n in range(300)])
    listed = store.checkpoints(REGION)
    assert [c.seq for c in listed] == [1000, 2000]
    by_seq = {e.seq: e.hash for e in store.scan(REGION)}
    assert all(c.hash == by_seq[c.seq] for c in listed)
    asked = store.checkpoint(REGION)
    assert asked is not None
    assert asked.seq == 2100
    assert store.checkpoint(REGION) is None  # already at the head
    result = check(store)
    assert result.ok
    assert result.events_checked == 2100
    # A range starts from the nearest checkpoint before it.
    ranged = check(store, from_seq=1500, to_seq=1600)
    assert ranged.ok
    assert ranged.events_checked == 600
    assert "checkpoint at seq 1000" in ranged.message


def test_a_store_without_signing_key_writes_no_checkpoints(engine: Engine) -> None:
    unsigned = SqlAuditStore(engine)
    unsigned.append([event(n) for n in range(1001)])
    assert unsigned.checkpoints(REGION) == []
    with pytest.raises(AuditStoreUnavailable):
        unsigned.checkpoint(REGION)


# -- tampering with raw SQL --------------------------------------------------------------


@pytest.fixture
def tamperable(store: SqlAuditStore) -> SqlAuditStore:
    store.append([event(n) for n in range(20)])
    assert check(store).ok
    return store


def test_verify_names_an_edited_field(tamperable: SqlAuditStore, engine: Engine) -> None:
    target = next(e for e in tamperable.scan(REGION, 8, 8))
    edited = json.loads(target.record)
    edited["sourceIPAddress"] = "203.0.113.66"
    sql(engine, "UPDATE audit_events SET record = :r WHERE seq = 8", r=canonical_json(edited))
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 8)
    assert result.event_id == target.event_id


def test_verify_names_a_deleted_event(tamperable: SqlAuditStore, engine: Engine) -> None:
    sql(engine, "DELETE FROM audit_events WHERE seq = 12")
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "removed", 12)


def test_verify_names_an_inserted_event(tamperable: SqlAuditStore, engine: Engine) -> None:
    before = next(e for e in tamperable.scan(REGION, 5, 5))
    forged = event(99, name="DeleteSecret").canonical_bytes()
    forged_hash = chain.link(before.hash, forged)
    # Make room at seq 6 (two steps: a primary key is checked row by row), then insert a
    # forged event chained to seq 5, with a hash that is right for its content.
    sql(engine, "UPDATE audit_events SET seq = -(seq + 1) WHERE region = :r AND seq > 5", r=REGION)
    sql(engine, "UPDATE audit_events SET seq = -seq WHERE region = :r AND seq < 0", r=REGION)
    sql(
        engine,
        "INSERT INTO audit_events (region, seq, event_id, event_time, event_name, event_source,"
        " read_only, event_type, record, previous_hash, hash) VALUES (:region, 6, :id, 0,"
        " 'DeleteSecret', 'secretsmanager.amazonaws.com', 0, 'AwsApiCall', :record, :prev, :h)",
        region=REGION,
        id="forged-event",
        record=forged,
        prev=before.hash,
        h=forged_hash,
    )
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "inserted", 6)
    assert result.event_id == "forged-event"


def test_verify_names_an_event_appended_behind_the_stores_back(
    tamperable: SqlAuditStore, engine: Engine
) -> None:
    last = next(iter(tamperable.scan(REGION, 20, 20)))
    forged = event(1, name="DeleteSecret").canonical_bytes()
    sql(
        engine,
        "INSERT INTO audit_events (region, seq, event_id, event_time, event_name, event_source,"
        " read_only, event_type, record, previous_hash, hash) VALUES (:region, 21, 'appended',"
        " 0, 'DeleteSecret', 'secretsmanager.amazonaws.com', 0, 'AwsApiCall', :record, :prev,"
        " :h)",
        region=REGION,
        record=forged,
        prev=last.hash,
        h=chain.link(last.hash, forged),
    )
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "inserted", 21)
    assert result.event_id == "appended"


def test_verify_while_events_are_appended(store: SqlAuditStore) -> None:
    store.append([event(n) for n in range(50)])
    stop = threading.Event()

    def appender() -> None:
        while not stop.is_set():
            store.append([event(n) for n in range(5)])

    worker = threading.Thread(target=appender)
    worker.start()
    try:
        results = [check(store) for _ in range(5)]
    finally:
        stop.set()
        worker.join()
    assert all(r.ok for r in results), [r.message for r in results]
    assert check(store).ok


def test_verify_names_two_swapped_events(tamperable: SqlAuditStore, engine: Engine) -> None:
    ninth, tenth = list(tamperable.scan(REGION, 9, 10))
    sql(engine, "UPDATE audit_events SET record = :r WHERE seq = 9", r=tenth.record)
    sql(engine, "UPDATE audit_events SET record = :r WHERE seq = 10", r=ninth.record)
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "reordered", 9)


def test_verify_names_a_truncated_tail(tamperable: SqlAuditStore, engine: Engine) -> None:
    sql(engine, "DELETE FROM audit_events WHERE seq > 17")
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "removed", 18)


def test_verify_catches_a_rehashed_rewrite_at_the_signed_checkpoint(
    store: SqlAuditStore, engine: Engine
) -> None:
    store.append([event(n) for n in range(10)])
    assert store.checkpoint(REGION) is not None
    rows = list(store.scan(REGION))
    previous = rows[3].previous_hash
    # Rewrite seq 4..10 with consistent hashes and move the head, leaving every lookup
    # column true to its record: only the signature knows.
    for row in rows[3:]:
        edited = json.loads(row.record)
        edited["sourceIPAddress"] = "203.0.113.66"
        body = canonical_json(edited)
        digest = chain.link(previous, body)
        sql(
            engine,
            "UPDATE audit_events SET record = :r, previous_hash = :p, hash = :h WHERE seq = :s",
            r=body,
            p=previous,
            h=digest,
            s=row.seq,
        )
        previous = digest
    sql(engine, "UPDATE audit_chain_heads SET hash = :h WHERE region = :r", h=previous, r=REGION)
    result = check(store)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 10)


# -- tampering with the lookup columns and resource rows ---------------------------------

# Each an attacker's raw SQL hiding seq 8 from some LookupEvents (or export) query while
# leaving its record, and so the hash chain, untouched; and the column verify must name.
# (event_time is stored as µs since the epoch: 400 days back, or one µs on.)
COLUMN_EDITS = [
    ("username", "UPDATE audit_events SET username = 'someone-else' WHERE {event}"),
    ("username", "UPDATE audit_events SET username = NULL WHERE {event}"),
    ("tenant", "UPDATE audit_events SET tenant = 'globex' WHERE {event}"),
    ("tenant", "UPDATE audit_events SET tenant = NULL WHERE {event}"),
    ("event_name", "UPDATE audit_events SET event_name = 'ListSecrets' WHERE {event}"),
    ("event_source", "UPDATE audit_events SET event_source = 'kms.amazonaws.com' WHERE {event}"),
    ("read_only", "UPDATE audit_events SET read_only = 0 WHERE {event}"),
    ("read_only", "UPDATE audit_events SET read_only = 2 WHERE {event}"),
    ("access_key_id", "UPDATE audit_events SET access_key_id = 'AKIAOTHER' WHERE {event}"),
    (
        "principal_arn",
        "UPDATE audit_events SET principal_arn = 'arn:aws:iam::1:root' WHERE {event}",
    ),
    ("error_code", "UPDATE audit_events SET error_code = 'AccessDenied' WHERE {event}"),
    ("event_type", "UPDATE audit_events SET event_type = 'StrongroomAlarm' WHERE {event}"),
    ("event_id", "UPDATE audit_events SET event_id = 'another-id' WHERE {event}"),
    (
        "event_time",
        "UPDATE audit_events SET event_time = event_time - 34560000000000 WHERE {event}",
    ),
    ("event_time", "UPDATE audit_events SET event_time = event_time + 1 WHERE {event}"),
]
RESOURCE_EDITS = [
    (
        "1 missing",
        "DELETE FROM audit_event_resources WHERE {event} AND resource_name NOT LIKE 'arn:%'",
    ),
    ("2 missing", "DELETE FROM audit_event_resources WHERE {event}"),
    (
        "1 missing",  # and one at seq 9 that is not in its record, found later
        "UPDATE audit_event_resources SET seq = 9 WHERE {event} AND resource_name LIKE 'arn:%'",
    ),
    (
        "1 missing",
        "UPDATE audit_event_resources SET resource_name = 'acme/elsewhere' WHERE {event}"
        " AND resource_name NOT LIKE 'arn:%'",
    ),
    (
        "2 with another type or time",
        "UPDATE audit_event_resources SET resource_type = 'AWS::KMS::Key' WHERE {event}",
    ),
    (
        "1 with another type or time",
        "UPDATE audit_event_resources SET event_time = event_time - 86400000000 WHERE {event}"
        " AND resource_name LIKE 'arn:%'",
    ),
    (
        "1 not in the record (first 'decoy')",
        "INSERT INTO audit_event_resources (region, seq, resource_name, resource_type,"
        " event_time) SELECT region, seq, 'decoy', resource_type, event_time"
        " FROM audit_event_resources WHERE {event} AND resource_name LIKE 'arn:%'",
    ),
]
AT_SEQ_8 = "region = :r AND seq = 8"


def cli_verify(engine: Engine, tmp_path: Path) -> Result:
    """``strongroom audit verify`` on this data database (a fresh keystore beside it; the
    checkpoints are checked with the test's public key)."""
    keystore = tmp_path / "keystore.db"
    if not keystore.exists():
        created = engines.create(f"sqlite+pysqlite:///{keystore}")
        try:
            migrate.upgrade(created, "keystore")
        finally:
            created.dispose()
        (tmp_path / "public.pem").write_bytes(PUBLIC)
    arguments = [
        "audit",
        "verify",
        "--dev",
        "--data-dir",
        str(tmp_path),
        "--data-url",
        engine.url.render_as_string(hide_password=False),
        "--keystore-url",
        f"sqlite+pysqlite:///{keystore}",
        "--public-key",
        str(tmp_path / "public.pem"),
    ]
    return CliRunner().invoke(cli_main, arguments)


def test_verify_reads_back_every_lookup_column_and_resource_row(
    store: SqlAuditStore, engine: Engine, tmp_path: Path
) -> None:
    precise = T0 + timedelta(microseconds=654_321)
    unnamed = AuditResource("arn:aws:kms:us-east-1:123456789012:key/k-1", "AWS::KMS::Key")
    events = [
        event(0, when=precise),
        replace(event(1), resources=()),
        replace(event(2), resources=(*event(2).resources, unnamed), error_code="Throttling"),
        *(event(n) for n in range(3, 1205)),  # more than a page
    ]
    stored = store.append(events)
    # The row holds the record's time (whole seconds, as CloudTrail's), as append says.
    assert stored[0].event_time == T0
    read = list(store.scan_indexed(REGION))
    assert [replace(e, index=None) for e in read] == stored == list(store.scan(REGION))
    for kept in read:
        assert kept.index == index_fields.of_record(json.loads(kept.record))
    assert read[1].index is not None
    assert read[1].index.resources == frozenset()
    assert read[2].index is not None
    assert {r.name for r in read[2].index.resources} == {
        "acme/db-2",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/db-2-AbCdEf",
        unnamed.arn,
    }
    assert [e.seq for e in store.scan_indexed(REGION, 1000, 1002)] == [1000, 1001, 1002]
    assert check(store).ok
    ok = cli_verify(engine, tmp_path)
    assert ok.exit_code == 0, ok.output
    assert f"ok {REGION}: 1205 events verified" in ok.output


@pytest.mark.parametrize(("column", "statement"), COLUMN_EDITS)
def test_verify_names_an_edited_lookup_column(
    tamperable: SqlAuditStore, engine: Engine, tmp_path: Path, column: str, statement: str
) -> None:
    target = next(iter(tamperable.scan(REGION, 8, 8)))
    sql(engine, statement.format(event=AT_SEQ_8), r=REGION)
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 8), result.message
    assert result.event_id == target.event_id
    assert f"{column} not what its record says" in result.message
    failed = cli_verify(engine, tmp_path)
    assert failed.exit_code == 1, failed.output
    assert f"FAILED {REGION}: seq 8 (event {target.event_id}) edited" in failed.output
    assert column in failed.output


@pytest.mark.parametrize(("detail", "statement"), RESOURCE_EDITS)
def test_verify_names_edited_resource_rows(
    tamperable: SqlAuditStore, engine: Engine, tmp_path: Path, detail: str, statement: str
) -> None:
    target = next(iter(tamperable.scan(REGION, 8, 8)))
    sql(engine, statement.format(event=AT_SEQ_8), r=REGION)
    result = check(tamperable)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 8), result.message
    assert result.event_id == target.event_id
    assert "audit_event_resources not what its record says" in result.message
    assert detail in result.message
    failed = cli_verify(engine, tmp_path)
    assert failed.exit_code == 1, failed.output
    assert f"FAILED {REGION}: seq 8 (event {target.event_id}) edited" in failed.output


def test_a_range_checks_the_columns_of_the_events_in_it(
    tamperable: SqlAuditStore, engine: Engine
) -> None:
    sql(
        engine, "UPDATE audit_events SET tenant = 'globex' WHERE region = :r AND seq = 15", r=REGION
    )
    assert check(tamperable, from_seq=1, to_seq=14).ok
    ranged = check(tamperable, from_seq=12, to_seq=16)
    assert (ranged.kind, ranged.first_bad_seq) == ("edited", 15)


def test_an_export_refuses_a_tenant_whose_events_were_retagged(
    tamperable: SqlAuditStore, engine: Engine
) -> None:
    # The export selects by the tenant column: a retagged event would silently leave it.
    sql(engine, "UPDATE audit_events SET tenant = 'globex' WHERE region = :r AND seq = 3", r=REGION)
    assert [e.seq for e in tamperable.tenant_events("globex")] == [3]
    result = check(tamperable, from_seq=3, to_seq=3)
    assert (result.kind, result.first_bad_seq) == ("edited", 3)


# -- retention ---------------------------------------------------------------------------


def test_retention_exports_prunes_and_the_chain_still_verifies(
    store: SqlAuditStore, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    old = [event(n, when=T0 - timedelta(days=400, minutes=-n)) for n in range(30)]
    new = [event(n, when=T0 - timedelta(days=2)) for n in range(10)]
    stored = store.append(old + new)
    retention = Retention(store, clock, retention_days=365, export_dir=tmp_path / "export")
    done = retention.prune_expired()
    assert [(d.region, d.from_seq, d.through_seq, d.deleted) for d in done] == [(REGION, 1, 30, 30)]
    with gzip.open(done[0].export_file) as handle:
        exported = json.load(handle)
    assert [r["eventID"] for r in exported["Records"]] == [e.event_id for e in old]
    assert [canonical_json(r) for r in exported["Records"]] == [s.record for s in stored[:30]]
    assert [e.seq for e in store.scan(REGION)] == list(range(31, 41))
    anchor = store.anchor(REGION)
    assert anchor is not None
    assert (anchor.seq, anchor.hash) == (30, stored[29].hash)
    with engine.connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM audit_event_resources WHERE seq <= 30")
        ).scalar()
    assert left == 0
    result = check(store)
    assert result.ok
    assert result.events_checked == 10
    assert "pruned anchor at seq 30" in result.message
    # Nothing more is due; later, the rest ages out too and verify still holds.
    assert retention.prune_expired() == []
    clock.advance(timedelta(days=364))
    store.append([event(1)])
    assert [d.through_seq for d in retention.prune_expired()] == [40]
    assert check(store).ok
    assert [e.seq for e in store.scan(REGION)] == [41]


def test_a_forged_anchor_is_caught(
    store: SqlAuditStore, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    store.append([event(n, when=T0 - timedelta(days=500)) for n in range(5)] + [event(9)])
    Retention(store, clock, retention_days=365, export_dir=tmp_path).prune_expired()
    sql(engine, "UPDATE audit_pruned SET hash = :h WHERE region = :r", h=bytes(32), r=REGION)
    result = check(store)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 5)


def test_appending_after_a_full_prune_continues_the_chain(
    store: SqlAuditStore, clock: FrozenClock, tmp_path: Path
) -> None:
    store.append([event(n, when=T0 - timedelta(days=500)) for n in range(3)])
    Retention(store, clock, retention_days=365, export_dir=tmp_path).prune_expired()
    assert list(store.scan(REGION)) == []
    assert check(store).ok
    after = store.append([event(4)])[0]
    assert after.seq == 4
    assert check(store).ok


# -- the deployment signing key ----------------------------------------------------------


def test_the_signing_key_is_made_once_and_kept_wrapped(tmp_path: Path, clock: FrozenClock) -> None:
    keystore = engines.create(f"sqlite+pysqlite:///{tmp_path / 'keystore.db'}")
    try:
        migrate.upgrade(keystore, "keystore")
        keyring = KeyRing(KeyMaterial(bytes(range(32))), SqlKeyMaterialStore(keystore), clock)
        keyring.open()
        keys = SqlSigningKeyStore(keystore)
        assert public_key_pem(keys) is None
        first = deployment_signer(keys, keyring, clock)
        again = deployment_signer(keys, keyring, clock)
        assert first.public_key_pem() == again.public_key_pem() == public_key_pem(keys)
        with keystore.connect() as connection:
            wrapped = connection.execute(text("SELECT wrapped FROM signing_keys")).scalar()
        assert isinstance(wrapped, bytes)
        assert first.private_bytes() not in wrapped
        other = Ed25519Signer.generate().public_key_pem()
        with keystore.begin() as connection:
            connection.execute(text("UPDATE signing_keys SET public_key = :p"), {"p": other})
        with pytest.raises(SigningKeyMismatch):
            deployment_signer(keys, keyring, clock)
    finally:
        keystore.dispose()
