"""The audit appender process on a real SQLite data database: durable, chained, fail-closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from strongroom.audit.events import ALARM, API_CALL, AuditEvent, AuditResource, UserIdentity
from strongroom.audit.lookup_query import EventQuery
from strongroom.audit.ports import AuditStoreUnavailable
from strongroom.audit.recorder import AuditRecorder
from strongroom.audit.verify import verify_region
from strongroom.clock import FrozenClock
from strongroom.crypto.signing import Ed25519Signer
from strongroom.storage import engines, migrate
from strongroom.storage.audit_appender import AuditAppenderProcess
from strongroom.storage.audit_appender_main import NICENESS
from strongroom.storage.audit_lookup_index import AuditLookupIndexer
from strongroom.storage.audit_lookup_repository import SqlAuditLookup
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.migrated import sqlite_at_head

REGION = "us-east-1"
T0 = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
SIGNER = Ed25519Signer.generate()


def event(n: int) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=T0,
        event_source="secretsmanager.amazonaws.com",
        event_name="GetSecretValue",
        aws_region=REGION,
        source_ip="192.0.2.10",
        user_agent="test",
        request_id=str(uuid.uuid4()),
        read_only=True,
        user_identity=UserIdentity(
            type="AssumedRole",
            arn="arn:aws:sts::123456789012:assumed-role/app/reader",
            account_id="123456789012",
            access_key_id="ASIAEXAMPLE0000001",
            session_tags={"customer": "acme"},
        ),
        request_parameters={"secretId": f"acme/db-{n}"},
        resources=(
            AuditResource(
                arn=f"arn:aws:secretsmanager:{REGION}:123456789012:secret:acme/db-{n}-AbCdEf",
                type="AWS::SecretsManager::Secret",
                tenant="acme",
                name=f"acme/db-{n}",
            ),
        ),
        tenant="acme",
        recipient_account_id="123456789012",
    )


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = sqlite_at_head(tmp_path / "data.db", "data")
    engine = engines.create(url)
    migrate.upgrade(engine, "data")
    yield url, engine
    engine.dispose()


@pytest.fixture
def appender(database: tuple[str, Engine]) -> Iterator[AuditAppenderProcess]:
    started = AuditAppenderProcess(database[0], FrozenClock(T0), signing_key=SIGNER.private_bytes())
    started.start()
    assert started.usable
    yield started
    started.stop()


async def offer_all(
    appender: AuditAppenderProcess, submissions: Sequence[Sequence[AuditEvent]]
) -> list[BaseException | None]:
    loop = asyncio.get_running_loop()
    reports: list[asyncio.Future[BaseException | None]] = []
    for events in submissions:
        report: asyncio.Future[BaseException | None] = loop.create_future()
        assert appender.offer(events, report.set_result)
        reports.append(report)
    return list(await asyncio.gather(*reports))


def stored_secret_ids(engine: Engine) -> list[str]:
    records = [json.loads(stored.record) for stored in SqlAuditStore(engine).scan(REGION)]
    return [
        record["requestParameters"]["secretId"]
        for record in records
        if record["eventType"] == API_CALL
    ]


def test_offered_events_are_durable_chained_and_checkpointed_in_the_servers_time(
    appender: AuditAppenderProcess, database: tuple[str, Engine]
) -> None:
    _, engine = database
    in_process = SqlAuditStore(engine, signer=SIGNER, clock=FrozenClock(T0))
    submissions = [[event(n)] for n in range(990)] + [[event(n) for n in range(20)]]

    async def run() -> list[BaseException | None]:
        first = offer_all(appender, submissions[:500])
        # This process appends to the same chain meanwhile (as a mutation's event does).
        in_process.append([event(-1)])
        return await first + await offer_all(appender, submissions[500:])

    assert asyncio.run(run()) == [None] * len(submissions)
    stored = list(in_process.scan(REGION))
    assert len(stored) == 1011
    sent = {e.request_id for events in submissions for e in events}
    assert sent <= {json.loads(r.record)["requestID"] for r in stored}
    result = verify_region(in_process, REGION, public_key_pem=SIGNER.public_key_pem())
    assert result.ok, result
    [checkpoint] = in_process.checkpoints(REGION)
    assert (checkpoint.seq, checkpoint.created_at) == (1000, T0)


def test_the_appender_copies_into_the_lookup_tables_once_idle(
    appender: AuditAppenderProcess, database: tuple[str, Engine]
) -> None:
    _, engine = database
    indexer = AuditLookupIndexer(engine)

    async def run() -> list[BaseException | None]:
        return await offer_all(appender, [[event(n)] for n in range(30)])

    assert asyncio.run(run()) == [None] * 30
    # Answered first, copied after: a second without submissions, then one copy.
    deadline = time.monotonic() + 10
    while indexer.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert indexer.pending() == 0
    found = SqlAuditLookup(engine).find(EventQuery(REGION, tenant="acme"), None, 50)
    assert len(found) == 30
    result = verify_region(SqlAuditStore(engine), REGION, public_key_pem=SIGNER.public_key_pem())
    assert result.ok, result


def test_an_unwritable_trail_fails_the_submission_then_recovers(
    appender: AuditAppenderProcess, database: tuple[str, Engine]
) -> None:
    path = database[0].removeprefix("sqlite+pysqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(
            "CREATE TRIGGER audit_blocked BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'blocked'); END"
        )
        connection.commit()
    [failed] = asyncio.run(offer_all(appender, [[event(1)]]))
    assert isinstance(failed, AuditStoreUnavailable)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP TRIGGER audit_blocked")
        connection.commit()
    assert asyncio.run(offer_all(appender, [[event(2)]])) == [None]
    assert stored_secret_ids(database[1]) == ["acme/db-2"]


def test_a_lost_appender_fails_what_it_had_not_answered_and_the_recorder_takes_over(
    appender: AuditAppenderProcess, database: tuple[str, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    url, engine = database
    recorder = AuditRecorder(SqlAuditStore(engine), offload=appender)
    recorder.start()
    path = url.removeprefix("sqlite+pysqlite:///")
    try:

        async def run() -> None:
            assert await recorder.submit_awaitable([event(1)]) is None  # through the process
            # Hold the write lock: the next submission waits in the appender, unanswered.
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as holder:
                holder.execute("BEGIN IMMEDIATE")
                waiting = recorder.submit_awaitable([event(2)])
                await asyncio.sleep(0.3)
                assert not waiting.done()
                pid = appender.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                with pytest.raises(AuditStoreUnavailable):
                    await waiting
                holder.execute("ROLLBACK")
            assert not appender.usable
            # Later calls are appended by the recorder's own writer thread, as durably.
            assert await recorder.submit_awaitable([event(3)]) is None

        with caplog.at_level(logging.ERROR):
            asyncio.run(run())
    finally:
        recorder.stop()
    assert stored_secret_ids(engine) == ["acme/db-1", "acme/db-3"]
    assert "audit appender process lost" in caplog.text


def test_stop_ends_the_process(appender: AuditAppenderProcess) -> None:
    assert asyncio.run(offer_all(appender, [[event(1)]])) == [None]
    pid = appender.pid
    assert pid is not None
    appender.stop()
    assert appender.pid is None
    assert not appender.usable
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # exited and reaped


def test_the_appender_and_its_copier_thread_yield_a_core_to_the_server(
    appender: AuditAppenderProcess,
) -> None:
    assert asyncio.run(offer_all(appender, [[event(1)]])) == [None]
    pid = appender.pid
    assert pid is not None
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    threads = os.listdir(f"/proc/{pid}/task")
    assert len(threads) == 2  # the appender's thread and the lookup copier's
    for thread in threads:
        assert os.getpriority(os.PRIO_PROCESS, int(thread)) == min(ours + NICENESS, 19)


def test_an_appender_that_cannot_open_the_database_is_never_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'missing' / 'data.db'}"
    appender = AuditAppenderProcess(url, FrozenClock(T0))
    with caplog.at_level(logging.ERROR):
        appender.start()
    assert not appender.usable
    assert "did not start" in caplog.text

    async def offered() -> bool:
        return appender.offer([event(1)], lambda error: None)

    assert asyncio.run(offered()) is False
    appender.stop()


class Watcher:
    """An observer that raises one alarm per event, and metrics that count batches."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []
        self.batches: list[int] = []

    def observe(self, event: AuditEvent, *, tenant_guard_refused: bool = False) -> list[AuditEvent]:
        self.seen.append((event.request_id, tenant_guard_refused))
        return [replace(event, event_id=str(uuid.uuid4()), event_type=ALARM, event_name="Alarm")]

    def observe_audit_batch(self, size: int, seconds: float) -> None:
        self.batches.append(size)


def test_offloaded_events_reach_the_observers_and_metrics_and_their_alarms_the_trail(
    appender: AuditAppenderProcess, database: tuple[str, Engine]
) -> None:
    watcher = Watcher()
    recorder = AuditRecorder(SqlAuditStore(database[1]), watcher, metrics=watcher, offload=appender)
    recorder.start()
    first, second = event(1), event(2)
    try:

        async def run() -> None:
            await recorder.submit_awaitable([first], refused={first.event_id})
            await recorder.submit_awaitable([second])

        asyncio.run(run())
    finally:
        recorder.stop()  # writes the queued alarms first
    assert watcher.seen == [(first.request_id, True), (second.request_id, False)]
    assert sum(watcher.batches) >= 2
    records = [json.loads(stored.record) for stored in SqlAuditStore(database[1]).scan(REGION)]
    assert sorted(r["eventType"] for r in records) == sorted([ALARM, ALARM, API_CALL, API_CALL])


def test_events_nobody_waits_for_go_through_the_appender_too(
    appender: AuditAppenderProcess, database: tuple[str, Engine]
) -> None:
    watcher = Watcher()
    recorder = AuditRecorder(SqlAuditStore(database[1]), watcher, offload=appender)
    recorder.start()
    throttled, answered, alone = event(1), event(2), event(3)
    try:

        async def run() -> None:
            recorder.submit_unawaited([throttled])
            # It waits for company; this call sends both, answered in order.
            await recorder.submit_awaitable([answered])
            # Alone, it waits its defer time (20 ms), then goes.
            recorder.submit_unawaited([alone])
            for _ in range(100):
                if len(watcher.seen) == 3:
                    break
                await asyncio.sleep(0.02)

        asyncio.run(run())
    finally:
        recorder.stop()
    assert [seen for seen, _ in watcher.seen] == [
        throttled.request_id,
        answered.request_id,
        alone.request_id,
    ]
    assert stored_secret_ids(database[1]) == ["acme/db-1", "acme/db-2", "acme/db-3"]


def test_the_appender_inherits_no_secret_from_the_environment(
    database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_ROOT_KEY", "00" * 32)
    monkeypatch.setenv("STRONGROOM_SERVER_ROOT_SECRET_ACCESS_KEY", "not-for-the-appender")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-the-appender-either")
    appender = AuditAppenderProcess(database[0], FrozenClock(T0))
    appender.start()
    try:
        assert appender.pid is not None
        environment = Path(f"/proc/{appender.pid}/environ").read_bytes().split(b"\0")
        names = {entry.partition(b"=")[0] for entry in environment if entry}
        assert not names & {
            b"STRONGROOM_ROOT_KEY",
            b"STRONGROOM_SERVER_ROOT_SECRET_ACCESS_KEY",
            b"AWS_SECRET_ACCESS_KEY",
        }
        assert b"PATH" in names
    finally:
        appender.stop()
