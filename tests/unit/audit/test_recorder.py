"""The recorder's group commit, failure, observers, metrics and shutdown; and the commit hook."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from strongroom.audit import journal
from strongroom.audit.event_builder import EventBuilder
from strongroom.audit.events import ALARM, AuditEvent
from strongroom.audit.ports import AuditStoreUnavailable, StoredEvent
from strongroom.audit.recorder import UNAVAILABLE_MESSAGE, AuditRecorder
from strongroom.context import Principal
from strongroom.storage import engines
from strongroom.storage.audit_commit_hook import AuditCommitHook
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.migrated import sqlite_at_head

BUILDER = EventBuilder("123456789012")
ROOT = Principal("arn:aws:iam::123456789012:root", "123456789012", "AKIAROOT")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def make_event(operation: str = "GetSecretValue", service: str = "secretsmanager") -> AuditEvent:
    return BUILDER.event(
        BUILDER.plan(service, operation),
        event_time=NOW,
        region="us-east-1",
        source_ip="127.0.0.1",
        user_agent="test",
        request_id="r",
        identity=BUILDER.identity(ROOT),
    )


class MemoryStore:
    """An AuditStore in a list; can be held (to let a batch gather) or broken."""

    def __init__(self) -> None:
        self.batches: list[list[AuditEvent]] = []
        self.broken = False
        # Events no transaction can hold (the store fails on them with a non-database error).
        self.poison: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def append(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        self.entered.set()
        self.gate.wait(10)
        if self.broken:
            raise AuditStoreUnavailable("audit events not written (OperationalError)")
        if any(e.event_id in self.poison for e in events):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        start = sum(len(b) for b in self.batches)
        self.batches.append(list(events))
        return [
            StoredEvent(e.aws_region, start + i + 1, e.event_id, e.event_time, b"", b"", b"")
            for i, e in enumerate(events)
        ]

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        return iter(())

    def regions(self) -> list[str]:
        return ["us-east-1"]

    @property
    def events(self) -> list[AuditEvent]:
        return [e for b in self.batches for e in b]


class Alarms:
    """Raises one alarm event for every event whose call the tenant guard refused."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def observe(self, event: AuditEvent, *, tenant_guard_refused: bool = False) -> list[AuditEvent]:
        self.seen.append((event.event_id, tenant_guard_refused))
        if not tenant_guard_refused:
            return []
        return [
            AuditEvent(
                event_id=f"alarm-{event.event_id}",
                event_time=event.event_time,
                event_source="strongroom.audit",
                event_name="TenantGuardRefusal",
                aws_region=event.aws_region,
                source_ip="",
                user_agent="strongroom.audit",
                request_id=event.request_id,
                read_only=True,
                user_identity=event.user_identity,
                event_type=ALARM,
            )
        ]


class BatchMetrics:
    def __init__(self) -> None:
        self.batches: list[tuple[int, float]] = []

    def observe_audit_batch(self, size: int, seconds: float) -> None:
        self.batches.append((size, seconds))


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def recorder(store: MemoryStore) -> Iterator[AuditRecorder]:
    running = AuditRecorder(store)
    running.start()
    yield running
    store.gate.set()
    running.stop()


def test_submitted_events_are_durable_when_the_future_resolves(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    first, second = make_event(), make_event()
    stored = recorder.submit([first, second]).result(5)
    assert [s.event_id for s in stored] == [first.event_id, second.event_id]
    assert store.events == [first, second]
    assert recorder.submit([]).result(1) == []


def test_events_arriving_during_a_commit_share_the_next_one(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    store.gate.clear()
    lone = recorder.submit([make_event()])
    assert store.entered.wait(5)  # the first commit is in progress, held open
    waiting = [recorder.submit([make_event()]) for _ in range(40)]
    time.sleep(0.05)
    assert not lone.done()
    assert not any(f.done() for f in waiting)
    store.gate.set()
    for future in [lone, *waiting]:
        future.result(5)
    # One commit for the lone call, one for all forty that gathered behind it.
    assert [len(b) for b in store.batches] == [1, 40]
    # Each future has exactly its own events.
    assert {s.event_id for f in waiting for s in f.result()} == {
        e.event_id for e in store.batches[1]
    }


def test_a_batch_holds_at_most_max_batch_events(store: MemoryStore) -> None:
    recorder = AuditRecorder(store, max_batch=8)
    recorder.start()
    try:
        store.gate.clear()
        recorder.submit([make_event()])
        assert store.entered.wait(5)
        futures = [recorder.submit([make_event(), make_event()]) for _ in range(10)]
        store.gate.set()
        for future in futures:
            future.result(5)
        assert max(len(b) for b in store.batches) <= 8
        assert sum(len(b) for b in store.batches) == 21
    finally:
        recorder.stop()


def test_deferrable_events_wait_to_share_a_commit(store: MemoryStore) -> None:
    recorder = AuditRecorder(store, defer_seconds=0.3)
    recorder.start()
    try:
        futures = [recorder.submit([make_event()], deferrable=True) for _ in range(5)]
        time.sleep(0.1)
        assert store.batches == []  # still gathering
        for future in futures:
            future.result(5)
        assert [len(b) for b in store.batches] == [5]
    finally:
        recorder.stop()


def test_a_waited_for_submission_ends_the_deferral_at_once(store: MemoryStore) -> None:
    recorder = AuditRecorder(store, defer_seconds=30)
    recorder.start()
    try:
        deferred = recorder.submit([make_event()], deferrable=True)
        time.sleep(0.05)
        started = time.monotonic()
        recorder.submit([make_event()]).result(5)
        assert time.monotonic() - started < 5
        assert deferred.result(1)
        assert [len(b) for b in store.batches] == [2]
    finally:
        recorder.stop()


def test_stop_writes_deferred_events_without_waiting_them_out(store: MemoryStore) -> None:
    recorder = AuditRecorder(store, defer_seconds=30)
    recorder.start()
    deferred = recorder.submit([make_event()], deferrable=True)
    started = time.monotonic()
    recorder.stop()
    assert time.monotonic() - started < 5
    assert deferred.result(1)
    assert len(store.events) == 1


def test_a_failed_commit_fails_every_call_in_it_and_the_next_one_can_succeed(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    store.gate.clear()
    recorder.submit([make_event()])
    assert store.entered.wait(5)
    store.broken = True
    doomed = [recorder.submit([make_event()]) for _ in range(5)]
    store.gate.set()
    for future in doomed:
        with pytest.raises(AuditStoreUnavailable) as caught:
            future.result(5)
        assert str(caught.value) == UNAVAILABLE_MESSAGE
    store.broken = False
    recovered = make_event()
    recorder.submit([recovered]).result(5)
    assert store.events[-1] == recovered


def test_an_event_that_cannot_be_written_fails_only_its_own_call(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    store.gate.clear()
    recorder.submit([make_event()])
    assert store.entered.wait(5)
    bad = make_event()
    store.poison.add(bad.event_id)
    neighbours = [recorder.submit([make_event()]) for _ in range(5)]
    doomed = recorder.submit([bad])
    more = [recorder.submit([make_event()]) for _ in range(5)]
    store.gate.set()
    for future in neighbours + more:
        future.result(5)
    with pytest.raises(AuditStoreUnavailable):
        doomed.result(5)
    assert bad not in store.events
    assert len(store.events) == 11


def test_observers_see_durable_events_and_their_alarms_are_written_unawaited(
    store: MemoryStore,
) -> None:
    alarms, metrics = Alarms(), BatchMetrics()
    recorder = AuditRecorder(store, alarms, metrics=metrics)
    recorder.start()
    try:
        calm, refused = make_event(), make_event()
        recorder.submit([calm]).result(5)
        recorder.submit([refused], refused=(refused.event_id,)).result(5)
        wait_until(lambda: any(e.event_type == ALARM for e in store.events))
        alarm = next(e for e in store.events if e.event_type == ALARM)
        assert alarm.event_id == f"alarm-{refused.event_id}"
        assert (calm.event_id, False) in alarms.seen
        assert (refused.event_id, True) in alarms.seen
        # Alarms are not observed again (no alarm of an alarm from the recorder's side).
        assert all(seen != alarm.event_id for seen, _ in alarms.seen)
        assert [size for size, _ in metrics.batches][:2] == [1, 1]
        assert all(seconds >= 0 for _, seconds in metrics.batches)
    finally:
        recorder.stop()


class BrokenObserver:
    def observe(self, event: AuditEvent, *, tenant_guard_refused: bool = False) -> list[AuditEvent]:
        raise RuntimeError("observer bug")


def test_a_failing_observer_fails_no_call(store: MemoryStore) -> None:
    recorder = AuditRecorder(store, BrokenObserver())
    recorder.start()
    try:
        for _ in range(3):
            recorder.submit([make_event()]).result(5)
        assert len(store.events) == 3
    finally:
        recorder.stop()


def test_events_of_a_failed_commit_are_not_observed(store: MemoryStore) -> None:
    alarms = Alarms()
    recorder = AuditRecorder(store, alarms)
    recorder.start()
    try:
        store.broken = True
        with pytest.raises(AuditStoreUnavailable):
            recorder.submit([make_event()]).result(5)
        assert alarms.seen == []
    finally:
        store.broken = False
        recorder.stop()


def test_committed_events_are_observed_and_measured_on_the_writer_thread(
    store: MemoryStore,
) -> None:
    alarms, metrics = Alarms(), BatchMetrics()
    recorder = AuditRecorder(store, alarms, metrics=metrics)
    recorder.start()
    try:
        mutation = make_event("PutSecretValue")
        recorder.committed([mutation], refused=(mutation.event_id,), seconds=0.002)
        wait_until(lambda: len(store.events) == 1)  # its alarm
        assert (mutation.event_id, True) in alarms.seen
        assert (1, 0.002) in metrics.batches
        assert store.events[0].event_type == ALARM  # the mutation itself was not re-written
    finally:
        recorder.stop()


def test_stop_writes_what_is_queued_and_later_submissions_fail(store: MemoryStore) -> None:
    recorder = AuditRecorder(store)
    recorder.start()
    store.gate.clear()
    futures = [recorder.submit([make_event()]) for _ in range(20)]
    assert store.entered.wait(5)
    stopper = threading.Thread(target=recorder.stop)
    stopper.start()
    time.sleep(0.05)
    store.gate.set()
    stopper.join(10)
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(store.events) == 20
    with pytest.raises(AuditStoreUnavailable):
        recorder.submit([make_event()]).result(1)


def test_an_unstarted_recorder_refuses(store: MemoryStore) -> None:
    with pytest.raises(AuditStoreUnavailable):
        AuditRecorder(store).submit([make_event()]).result(1)


def test_a_cancelled_caller_does_not_stop_the_writer(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    store.gate.clear()
    recorder.submit([make_event()])
    assert store.entered.wait(5)
    abandoned: Future[list[StoredEvent]] = recorder.submit([make_event()])
    assert abandoned.cancel()
    store.gate.set()
    recorder.submit([make_event()]).result(5)
    assert len(store.events) == 3  # the abandoned call's event was still written


def test_event_loop_waiters_of_one_batch_wake_their_loop_once(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    async def calls() -> tuple[list[None], int]:
        loop = asyncio.get_running_loop()
        wake_ups = 0
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wake_ups
            wake_ups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        store.gate.clear()
        waiters = [recorder.submit_awaitable([make_event()]) for _ in range(20)]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waiters)
        store.gate.set()
        return list(await asyncio.gather(*waiters)), wake_ups

    results, wake_ups = asyncio.run(calls())
    assert results == [None] * 20  # each resolved: durable
    assert len({event.event_id for event in store.events}) == 20
    assert wake_ups == 1  # the twenty calls shared one commit and one wake-up


def test_event_loop_waiters_fail_with_their_batch_and_cancelled_ones_are_skipped(
    store: MemoryStore, recorder: AuditRecorder
) -> None:
    async def calls() -> None:
        store.gate.clear()
        store.broken = True
        abandoned = recorder.submit_awaitable([make_event()])
        failing = recorder.submit_awaitable([make_event()])
        abandoned.cancel()
        store.gate.set()
        with pytest.raises(AuditStoreUnavailable, match=UNAVAILABLE_MESSAGE):
            await failing
        store.broken = False
        written = len(store.events)
        assert await recorder.submit_awaitable([make_event()]) is None
        assert len(store.events) == written + 1
        assert await recorder.submit_awaitable([]) is None

    asyncio.run(calls())


def test_event_loop_waiters_of_a_stopped_recorder_fail_at_once(store: MemoryStore) -> None:
    async def call(recorder: AuditRecorder) -> None:
        with pytest.raises(AuditStoreUnavailable):
            await recorder.submit_awaitable([make_event()])

    stopped = AuditRecorder(store)
    stopped.start()
    stopped.stop()
    asyncio.run(call(stopped))


# -- the commit hook, on a real SQLite data database ---------------------------------------


@pytest.fixture
def data_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = engines.create(sqlite_at_head(tmp_path / "data.db", "data"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE things (name TEXT PRIMARY KEY)"))
    yield engine
    engines.set_commit_hook(engine, None)
    engine.dispose()


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def pending_journal() -> journal.CallJournal:
    call = journal.CallJournal(operation="PutSecretValue")
    call.pending = make_event("PutSecretValue")
    call.redact = BUILDER.plan("secretsmanager", "PutSecretValue").request_parameters
    call.request = {"SecretId": "db", "SecretString": "CANARY-hook"}
    return call


def test_a_mutation_and_its_event_commit_together(data_engine: Engine) -> None:
    store = SqlAuditStore(data_engine)
    engines.set_commit_hook(data_engine, AuditCommitHook(store))
    call = pending_journal()
    with journal.recording(call):
        with engines.transaction(data_engine, write=True) as connection:
            connection.execute(text("INSERT INTO things VALUES ('a')"))
            assert not call.taken  # not before the commit
        assert call.taken
        # A second write of the same call writes no second event.
        with engines.transaction(data_engine, write=True) as connection:
            connection.execute(text("INSERT INTO things VALUES ('b')"))
    assert count(data_engine, "SELECT count(*) FROM audit_events") == 1
    with data_engine.connect() as connection:
        record = connection.execute(text("SELECT record FROM audit_events")).scalar_one()
    assert b'"secretId":"db"' in record
    assert b"CANARY-hook" not in record


def test_a_failed_mutation_writes_no_event(data_engine: Engine) -> None:
    engines.set_commit_hook(data_engine, AuditCommitHook(SqlAuditStore(data_engine)))
    call = pending_journal()

    def failing_change() -> None:
        with engines.transaction(data_engine, write=True) as connection:
            connection.execute(text("INSERT INTO things VALUES ('a')"))
            raise RuntimeError("the change failed")

    with journal.recording(call), pytest.raises(RuntimeError):
        failing_change()
    assert not call.taken
    assert count(data_engine, "SELECT count(*) FROM audit_events") == 0


def test_an_unwritable_trail_rolls_the_mutation_back(data_engine: Engine) -> None:
    engines.set_commit_hook(data_engine, AuditCommitHook(SqlAuditStore(data_engine)))
    with data_engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER block BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit blocked'); END"
            )
        )
    call = pending_journal()

    def change() -> None:
        with engines.transaction(data_engine, write=True) as connection:
            connection.execute(text("INSERT INTO things VALUES ('a')"))

    with journal.recording(call), pytest.raises(AuditStoreUnavailable):
        change()
    assert not call.taken
    assert count(data_engine, "SELECT count(*) FROM things") == 0


def test_reads_background_jobs_and_taken_events_pass_the_hook_by(data_engine: Engine) -> None:
    engines.set_commit_hook(data_engine, AuditCommitHook(SqlAuditStore(data_engine)))
    with engines.transaction(data_engine, write=True) as connection:  # no call at all
        connection.execute(text("INSERT INTO things VALUES ('job')"))
    read = journal.CallJournal(operation="GetSecretValue")  # no pending event
    with journal.recording(read), engines.transaction(data_engine, write=True) as connection:
        connection.execute(text("INSERT INTO things VALUES ('stamp')"))
    call = pending_journal()
    with journal.recording(call), engines.transaction(data_engine, write=False) as connection:
        connection.execute(text("SELECT 1"))  # a read transaction never writes events
    assert count(data_engine, "SELECT count(*) FROM audit_events") == 0
    assert count(data_engine, "SELECT count(*) FROM things") == 2


def test_the_hook_reports_committed_events_to_the_recorder(data_engine: Engine) -> None:
    store = SqlAuditStore(data_engine)
    alarms, metrics = Alarms(), BatchMetrics()
    recorder = AuditRecorder(store, alarms, metrics=metrics)
    recorder.start()
    try:
        engines.set_commit_hook(data_engine, AuditCommitHook(store, recorder))
        call = pending_journal()
        call.tenant_guard_refusals = 1
        with journal.recording(call), engines.transaction(data_engine, write=True) as c:
            c.execute(text("INSERT INTO things VALUES ('a')"))
        assert call.pending is not None
        wait_until(lambda: count(data_engine, "SELECT count(*) FROM audit_events") == 2)
        assert alarms.seen[0][1] is True
        assert metrics.batches[0][0] == 1
    finally:
        recorder.stop()
