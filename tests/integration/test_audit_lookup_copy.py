"""The audit lookup tables, filled behind the trail, on SQLite and PostgreSQL: batches and
heads, the periodic job's rule, retention, migration 0009, exports across the lookup head,
the appender's copier, and verify catching an edited copy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy import event as sqlalchemy_event

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.lookup_query import EventQuery
from strongroom.audit.verify import VerifyResult, verify_region
from strongroom.clock import FrozenClock
from strongroom.storage import engines, migrate
from strongroom.storage.audit_appender_main import LookupCopier
from strongroom.storage.audit_lookup_index import AuditLookupIndexer
from strongroom.storage.audit_lookup_repository import SqlAuditLookup
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([sqlite_at_head(tmp_path / "data.db", "data")])
    else:
        urls = postgres_url_or_skip("data")
    for url in urls:
        created = engines.create(url)
        migrate.upgrade(created, "data")
        try:
            yield created
        finally:
            engines.dispose(created)


@pytest.fixture
def store(engine: Engine) -> SqlAuditStore:
    return SqlAuditStore(engine, clock=FrozenClock(T0))


def event(n: int, *, tenant: str = "acme", region: str = REGION) -> AuditEvent:
    """Event n of a tenant: its session name cycles over three (s-0, s-1, s-2)."""
    name = f"{tenant}/db-{n}"
    return AuditEvent(
        event_id=f"00000000-0000-7000-800{int(region != REGION)}-{n:012d}",
        event_time=T0 + timedelta(seconds=n),
        event_source="secretsmanager.amazonaws.com",
        event_name="GetSecretValue",
        aws_region=region,
        source_ip="192.0.2.10",
        user_agent="test",
        request_id=f"00000000-0000-4000-8000-{n:012d}",
        read_only=True,
        user_identity=UserIdentity(
            type="AssumedRole",
            principal_id=f"AROA{tenant.upper()}:s-{n % 3}",
            arn=f"arn:aws:sts::123456789012:assumed-role/{tenant}-role/s-{n % 3}",
            account_id="123456789012",
            access_key_id=f"ASIA{tenant.upper()}{n % 3}",
        ),
        request_parameters={"secretId": name},
        resources=(
            AuditResource(
                arn=f"arn:aws:secretsmanager:{region}:123456789012:secret:{name}-AbCdEf",
                type="AWS::SecretsManager::Secret",
                tenant=tenant,
                name=name,
            ),
        ),
        tenant=tenant,
        recipient_account_id="123456789012",
    )


def heads(engine: Engine) -> dict[str, int]:
    with engines.lookup_engine(engine).connect() as connection:
        rows = connection.execute(text("SELECT region, seq FROM audit_lookup_heads")).all()
    return {row.region: int(row.seq) for row in rows}


def copied_seqs(engine: Engine, region: str = REGION) -> list[int]:
    with engines.lookup_engine(engine).connect() as connection:
        rows = connection.execute(
            text("SELECT seq FROM audit_lookup_events WHERE region = :r ORDER BY seq"),
            {"r": region},
        ).all()
    return [int(row.seq) for row in rows]


def sql(engine: Engine, statement: str, **params: object) -> None:
    """Run ``statement`` where the lookup tables are (the trail's are there too)."""
    with engines.lookup_engine(engine).begin() as connection:
        connection.execute(text(statement), params)


def check(store: SqlAuditStore) -> VerifyResult:
    return verify_region(store, REGION)


def found(engine: Engine, **filters: str) -> list[int]:
    events = SqlAuditLookup(engine).find(EventQuery(REGION, **filters), None, 100)
    return [e.seq for e in events]


# -- copying ------------------------------------------------------------------------------


def test_a_copy_takes_a_batch_per_region_and_moves_its_head(
    store: SqlAuditStore, engine: Engine
) -> None:
    store.append([event(n) for n in range(1, 11)])
    store.append([event(n, region=OTHER_REGION) for n in range(1, 4)])
    indexer = AuditLookupIndexer(engine, batch=4)
    assert indexer.pending() == 13
    assert indexer.copy_once() == 4 + 3
    assert heads(engine) == {REGION: 4, OTHER_REGION: 3}
    assert copied_seqs(engine) == [1, 2, 3, 4]
    assert indexer.catch_up() == 6
    assert heads(engine) == {REGION: 10, OTHER_REGION: 3}
    assert indexer.pending() == 0
    assert indexer.copy_once() == 0
    # Every lookup finds the same events however many were copied.
    assert found(engine, tenant="acme") == list(range(10, 0, -1))
    assert found(engine, username="s-1") == [10, 7, 4, 1]
    assert check(store).ok


def test_the_periodic_job_copies_only_what_nobody_else_has_for_a_run(
    store: SqlAuditStore, engine: Engine
) -> None:
    job = AuditLookupIndexer(engine)
    store.append([event(n) for n in range(1, 6)])
    assert job.catch_up_if_stalled() == 0  # first run: it has not seen the heads yet
    assert job.catch_up_if_stalled() == 5  # unchanged since: nobody is copying
    store.append([event(n) for n in range(6, 9)])
    AuditLookupIndexer(engine, batch=1).copy_once()  # someone else (the appender) copies
    assert job.catch_up_if_stalled() == 0
    assert job.catch_up_if_stalled() == 2
    assert job.catch_up_if_stalled() == 0  # nothing left
    assert copied_seqs(engine) == list(range(1, 9))


def test_exports_find_a_tenants_events_on_both_sides_of_the_lookup_head(
    store: SqlAuditStore, engine: Engine
) -> None:
    store.append([event(n, tenant="acme" if n % 2 else "globex") for n in range(1, 21)])
    AuditLookupIndexer(engine, batch=7).copy_once()
    assert heads(engine) == {REGION: 7}
    acme = [e.seq for e in store.tenant_events("acme")]
    assert acme == list(range(1, 21, 2))
    later = [e.seq for e in store.tenant_events("acme", start=T0 + timedelta(seconds=5))]
    assert later == list(range(5, 21, 2))
    assert found(engine, tenant="globex") == list(range(20, 0, -2))


def test_retention_deletes_the_copies_and_copying_goes_on(
    store: SqlAuditStore, engine: Engine
) -> None:
    store.append([event(n) for n in range(1, 11)])
    AuditLookupIndexer(engine, batch=3).copy_once()
    assert store.prune(REGION, 6, T0 + timedelta(days=400)) == 6
    assert copied_seqs(engine) == []
    AuditLookupIndexer(engine).catch_up()
    assert copied_seqs(engine) == [7, 8, 9, 10]
    assert found(engine, tenant="acme") == [10, 9, 8, 7]
    assert check(store).ok


def test_migration_0009_copies_what_the_trail_holds_and_0011_moves_it_on_sqlite(
    store: SqlAuditStore, engine: Engine
) -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(migrate.__file__).parent / "migrations" / "data")
    )

    def to(revision: str, *, down: bool = False) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    store.append([event(n) for n in range(1, 6)])
    to("0008", down=True)
    store.append([event(n, tenant="globex") for n in range(6, 9)])
    to("head")
    if engine.dialect.name == "sqlite":
        # 0011 dropped 0009's tables from the data file; the lookup file is filled by
        # copies, and until then lookups read the trail.
        with engine.connect() as connection:
            in_data_file = connection.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE 'audit_lookup%'")
            ).all()
        assert in_data_file == []
        assert heads(engine) == {}
        assert found(engine, tenant="globex") == [8, 7, 6]
        AuditLookupIndexer(engine).catch_up()
    assert heads(engine) == {REGION: 8}
    assert copied_seqs(engine) == list(range(1, 9))
    assert found(engine, tenant="globex") == [8, 7, 6]
    assert check(store).ok


def test_the_appenders_copier_copies_after_a_batch_of_events_and_when_idle(
    store: SqlAuditStore, engine: Engine
) -> None:
    copier = LookupCopier(AuditLookupIndexer(engine, batch=100), every=5)
    try:
        assert copier.idle_wait() is None  # nothing appended: it waits for input without end
        store.append([event(n) for n in range(1, 4)])
        copier.appended(3)
        copier.settle()
        assert copied_seqs(engine) == []
        assert copier.idle_wait() == 1.0
        store.append([event(n) for n in range(4, 7)])
        copier.appended(3)  # 6 >= 5
        copier.settle()
        assert copied_seqs(engine) == list(range(1, 7))
        assert copier.idle_wait() is None
        store.append([event(7)])
        copier.appended(1)
        copier.idle()
        copier.settle()
        assert copied_seqs(engine) == list(range(1, 8))
    finally:
        copier.stop()


def test_a_copy_on_sqlite_holds_no_lock_a_commit_of_the_trail_waits_for(tmp_path: Path) -> None:
    """While a copy's transaction is open (here: held open on purpose), the trail still
    commits at once, on a connection that would not wait a millisecond for a lock."""
    engine = engines.create(sqlite_at_head(tmp_path / "data.db", "data"))
    migrate.upgrade(engine, "data")
    impatient = engines.create(str(engine.url))

    @sqlalchemy_event.listens_for(impatient, "connect")
    def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    try:
        store = SqlAuditStore(engine, clock=FrozenClock(T0))
        store.append([event(n) for n in range(1, 4)])
        with engines.lookup_engine(engine).connect() as copying:
            copying.execution_options(**{engines.WRITE_OPTION: True})
            with copying.begin():
                copying.execute(text("UPDATE audit_lookup_heads SET seq = seq"))
                SqlAuditStore(impatient, clock=FrozenClock(T0)).append([event(4)])
        AuditLookupIndexer(engine).catch_up()
        assert copied_seqs(engine) == [1, 2, 3, 4]
        assert (tmp_path / "data.audit-lookup.db").exists()
    finally:
        impatient.dispose()
        engines.dispose(engine)


# -- verify -------------------------------------------------------------------------------

AT_SEQ_8 = "region = :r AND seq = 8"
COPY_EDITS = [
    (
        "lookup copy of username not what its record says",
        "UPDATE audit_lookup_events SET username = 'someone-else' WHERE {event}",
    ),
    (
        "lookup copy of tenant not what its record says",
        "UPDATE audit_lookup_events SET tenant = NULL WHERE {event}",
    ),
    (
        "lookup copy of read_only not what its record says",
        "UPDATE audit_lookup_events SET read_only = 0 WHERE {event}",
    ),
    (
        "lookup copy of event_time not what its record says",
        "UPDATE audit_lookup_events SET event_time = event_time - 86400000000 WHERE {event}",
    ),
    (
        "lookup copy of audit_lookup_resources not what its record says",
        "DELETE FROM audit_lookup_resources WHERE {event} AND resource_name NOT LIKE 'arn:%'",
    ),
    ("is missing from the lookup tables", "DELETE FROM audit_lookup_events WHERE {event}"),
]


@pytest.mark.parametrize(("message", "statement"), COPY_EDITS)
def test_verify_names_an_edited_lookup_copy(
    store: SqlAuditStore, engine: Engine, message: str, statement: str
) -> None:
    store.append([event(n) for n in range(1, 21)])
    AuditLookupIndexer(engine).catch_up()
    assert check(store).ok
    sql(engine, statement.format(event=AT_SEQ_8), r=REGION)
    result = check(store)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 8), result.message
    assert message in result.message


def test_verify_names_a_copy_beyond_the_lookup_head(
    store: SqlAuditStore, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    store.append([event(n) for n in range(1, 21)])
    AuditLookupIndexer(engine).catch_up()
    sql(engine, "UPDATE audit_lookup_heads SET seq = 11 WHERE region = :r", r=REGION)
    result = check(store)
    assert (result.ok, result.first_bad_seq) == (False, 12), result.message
    assert "has a lookup row beyond the lookup head" in result.message
    # Such a row makes the copy of its seq fail: logged, nothing raised, nothing copied;
    # lookups still find every event (the trail's own rows after the head).
    with caplog.at_level(logging.WARNING, logger="strongroom.storage.audit_lookup_index"):
        assert AuditLookupIndexer(engine).copy_once() == 0
    assert "found its rows already there" in caplog.text
    assert heads(engine) == {REGION: 11}
    assert found(engine, tenant="acme") == list(range(20, 0, -1))


# -- a lookup file of another trail -------------------------------------------------------


@pytest.mark.parametrize("restored_events", [3, 5], ids=["shorter-trail", "same-length-trail"])
def test_a_lookup_file_of_another_trail_is_emptied_and_refilled(
    tmp_path: Path, restored_events: int
) -> None:
    """A data file restored from a backup beside a newer lookup file: the lookup rows
    would index other events (other times, tenants, names) than the trail holds."""
    for directory in ("newer", "restored"):
        (tmp_path / directory).mkdir()
    newer = engines.create(sqlite_at_head(tmp_path / "newer" / "data.db", "data"))
    migrate.upgrade(newer, "data")
    SqlAuditStore(newer, clock=FrozenClock(T0)).append([event(n) for n in range(1, 6)])
    AuditLookupIndexer(newer).catch_up()
    engines.dispose(newer)  # the last connection checkpoints the lookup file's WAL
    restored = engines.create(sqlite_at_head(tmp_path / "restored" / "data.db", "data"))
    migrate.upgrade(restored, "data")
    store = SqlAuditStore(restored, clock=FrozenClock(T0))
    store.append([event(n + 100, tenant="globex") for n in range(1, restored_events + 1)])
    try:
        (tmp_path / "restored" / "data.audit-lookup.db").write_bytes(
            (tmp_path / "newer" / "data.audit-lookup.db").read_bytes()
        )
        assert not (tmp_path / "restored" / "data.audit-lookup.db-wal").exists()
        indexer = AuditLookupIndexer(restored)
        assert indexer.discard_if_stale() is True
        assert heads(restored) == {}
        assert found(restored, tenant="acme") == []
        indexer.catch_up()
        assert indexer.discard_if_stale() is False
        assert found(restored, tenant="globex") == list(range(restored_events, 0, -1))
        assert check(store).ok
    finally:
        engines.dispose(restored)
