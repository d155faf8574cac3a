"""The recorder: makes events durable in group commits, then shows them to the alarm observers.

One writer thread takes everything queued (up to ``max_batch`` events), appends it to the
store in one transaction and resolves the callers' futures (an event loop's waiters with
one wake-up per batch). There is no timer: while one
batch commits, the next one gathers, so under load a batch holds about as many events as
arrived during one commit, and a lone call waits for one commit only. The exception is
events nobody waits for (``deferrable``: a throttled call's): they wait up to
``defer_seconds`` for company, so that a flood of them costs a commit per batch, not per
call; any other submission ends the wait at once.

With an ``offload`` (the appender process, on embedded SQLite), the events of callers on
the event loop are appended there instead, and the loop hears of their durability without
this thread; the metrics and observers see each offloaded batch on the loop when it
settles, and only the alarms they raise come to this thread.

After a batch is durable (and after a mutation's event committed with the mutation, which
the commit hook reports through ``committed``) each event goes to the observers: the alarm
engine answers with alarm events, which are appended in a later batch (nobody waits for
them). Metrics see each batch's size and commit time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Protocol

from strongroom.audit.events import AuditEvent
from strongroom.audit.ports import AuditStore, AuditStoreUnavailable, StoredEvent

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 512
DEFAULT_DEFER_SECONDS = 0.02
UNAVAILABLE_MESSAGE = "The audit trail is unavailable."


class EventObserver(Protocol):
    def observe(self, event: AuditEvent, *, tenant_guard_refused: bool = False) -> list[AuditEvent]:
        """Look at a durable event; return the events it gives rise to (alarms)."""
        ...


class BatchMetrics(Protocol):
    def observe_audit_batch(self, size: int, seconds: float) -> None: ...


class EventOffload(Protocol):
    """Appends event-loop callers' events elsewhere (the appender process), reporting
    durability on that loop; the recorder's writer thread is then only their observer."""

    def start(self, on_batch: Callable[[int, float], None] | None = None) -> None: ...

    def offer(
        self,
        events: Sequence[AuditEvent],
        done: Callable[[BaseException | None], None],
        *,
        deferrable: bool = False,
    ) -> bool:
        """Take the events (True) and call ``done`` on this loop once they are durable
        (None) or not (the error); False: not taken, nothing sent. ``deferrable``: nobody
        waits, they may wait a little for company."""
        ...

    def stop(self) -> None: ...


@dataclass(slots=True)
class _LoopWaiter:
    """An event-loop future: settled in one loop wake-up per batch, not one per call."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Append:
    events: Sequence[AuditEvent]
    refused: Collection[str]
    future: Future[list[StoredEvent]] | _LoopWaiter | None
    # False for the observers' own events (alarms): they are not shown to observers again.
    observed: bool = True
    # Nobody waits for these: they may wait a little to share a commit.
    deferrable: bool = False


@dataclass(slots=True)
class _Committed:
    events: Sequence[AuditEvent]
    refused: Collection[str]
    seconds: float | None


@dataclass(slots=True)
class _Stop:
    done: threading.Event = field(default_factory=threading.Event)


_Item = _Append | _Committed | _Stop


class AuditRecorder:
    """Thread-safe; ``submit`` from any thread, ``start`` and ``stop`` once each."""

    def __init__(
        self,
        store: AuditStore,
        *observers: EventObserver,
        metrics: BatchMetrics | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        defer_seconds: float = DEFAULT_DEFER_SECONDS,
        offload: EventOffload | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._observers = observers
        self._metrics = metrics
        self._max_batch = max_batch
        self._defer_seconds = defer_seconds
        self._offload = offload
        # Offloaded submissions settled in the batch being reported (event-loop thread).
        self._offloaded: list[tuple[Sequence[AuditEvent], Collection[str]]] = []
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._stopped = False

    # -- the API ---------------------------------------------------------------------------

    def start(self) -> None:
        with self._state_lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(
                target=self._run, name="strongroom-audit-recorder", daemon=True
            )
            self._thread.start()
            if self._offload is not None:
                self._offload.start(self._offloaded_batch)

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then end the writer thread."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if self._offload is not None:
            self._offload.stop()  # it answers what it read first
        if thread is None:
            return
        stop = _Stop()
        self._queue.put(stop)
        if not stop.done.wait(timeout):
            log.error("audit recorder: queued events were not all written before shutdown")
        thread.join(timeout)

    def submit(
        self,
        events: Sequence[AuditEvent],
        *,
        refused: Collection[str] = (),
        deferrable: bool = False,
    ) -> Future[list[StoredEvent]]:
        """Queue events for the next group commit. The future resolves with their stored
        form once they are durable, or fails with AuditStoreUnavailable. ``refused``: the
        ids of events whose call the tenant guard refused (for the alarm observers).
        ``deferrable``: nobody waits for the future, so the commit may wait a little."""
        future: Future[list[StoredEvent]] = Future()
        self._enqueue(events, refused, future, future, deferrable=deferrable)
        return future

    def submit_unawaited(
        self, events: Sequence[AuditEvent], *, refused: Collection[str] = ()
    ) -> None:
        """Events nobody waits for (a throttled call's), deferrable: with an offload on
        this thread's event loop, they go there (a second appender beside it would contend
        for the database's write lock), else to the writer. If they cannot be written, the
        log is all that can say so."""
        if (
            events
            and self._offload is not None
            and not self._stopped
            and self._offload.offer(
                events, _Unawaited(self._offloaded, events, refused), deferrable=True
            )
        ):
            return
        self.submit(events, refused=refused, deferrable=True).add_done_callback(_log_unwritten)

    def submit_awaitable(
        self, events: Sequence[AuditEvent], *, refused: Collection[str] = ()
    ) -> asyncio.Future[None]:
        """For a caller on an event loop: a future, to be awaited there, that resolves once
        the events are durable or fails with AuditStoreUnavailable. With an offload that
        takes them, they are appended there and the loop hears of it directly. Otherwise
        the writer settles all of a batch's waiters on one loop with one wake-up
        (``call_soon_threadsafe`` writes to the loop's self-pipe: one write per batch
        instead of one per call)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if (
            events
            and self._offload is not None
            and not self._stopped
            and self._offload.offer(events, _Offloaded(self._offloaded, future, events, refused))
        ):
            return future
        self._enqueue(events, refused, future, _LoopWaiter(loop, future))
        return future

    def _enqueue(
        self,
        events: Sequence[AuditEvent],
        refused: Collection[str],
        future: Future[list[StoredEvent]] | asyncio.Future[None],
        waiter: Future[list[StoredEvent]] | _LoopWaiter,
        *,
        deferrable: bool = False,
    ) -> None:
        """Queue the events for the writer, who settles ``future`` through ``waiter``; or
        settle it here when there is nothing to write or nobody to write it."""
        if not events:
            if isinstance(waiter, _LoopWaiter):
                waiter.future.set_result(None)
            else:
                waiter.set_result([])
        elif self._stopped or self._thread is None:
            future.set_exception(AuditStoreUnavailable("the audit recorder is not running"))
        else:
            self._queue.put(_Append(events, refused, waiter, deferrable=deferrable))

    def committed(
        self,
        events: Sequence[AuditEvent],
        *,
        refused: Collection[str] = (),
        seconds: float | None = None,
    ) -> None:
        """Events already durable (written in ``seconds`` within a mutation's own
        transaction): metrics and observers see them on the writer thread, never on the
        caller's."""
        if events and not self._stopped and self._thread is not None:
            self._queue.put(_Committed(events, refused, seconds))

    def _offloaded_batch(self, size: int, seconds: float) -> None:
        """An offloaded batch is settled (on the event loop): metrics and observers see its
        durable events here and now, not on the writer thread, whose every wake-up would
        take the GIL from the loop; only the alarms they raise go to the writer."""
        if self._metrics is not None and size:
            self._metrics.observe_audit_batch(size, seconds)
        durable = list(self._offloaded)
        self._offloaded.clear()  # in place: the submissions in flight hold this list
        try:
            raised = [
                alarm for events, refused in durable for alarm in self._raised_by(events, refused)
            ]
        except Exception as exc:  # an observer's failure is not the calls'
            log.error("audit recorder: an observer failed (%s)", type(exc).__name__)
            return
        if raised and not self._stopped:
            self._queue.put(_Append(raised, (), None, observed=False))

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        stopping: _Stop | None = None
        while stopping is None:
            items = [self._queue.get()]
            size = _size(items[0])
            deferring = _deferrable(items[0])
            deadline = time.monotonic() + self._defer_seconds
            while size < self._max_batch:
                try:
                    if deferring:
                        item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    else:
                        item = self._queue.get_nowait()
                except queue.Empty:
                    break
                items.append(item)
                size += _size(item)
                deferring = deferring and _deferrable(item)
            stopping = next((i for i in items if isinstance(i, _Stop)), None)
            settled = _Settlements()
            try:
                self._process(items, settled)
            except Exception as exc:  # the writer must outlive any one batch
                log.error("audit recorder: a batch failed (%s)", type(exc).__name__)
                for item in items:
                    if isinstance(item, _Append) and item.future is not None:
                        settled.add(
                            item.future, exception=AuditStoreUnavailable(UNAVAILABLE_MESSAGE)
                        )
            settled.flush()
        # Alarm events raised by the last batches are still queued: write them too.
        leftovers: list[_Append] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Append):
                leftovers.append(item)
        if leftovers:
            settled = _Settlements()
            self._append(leftovers, settled)
            settled.flush()
        stopping.done.set()

    def _process(self, items: list[_Item], settled: _Settlements) -> None:
        appends = [i for i in items if isinstance(i, _Append)]
        committed = [i for i in items if isinstance(i, _Committed)]
        durable: list[_Append | _Committed] = list(committed)
        if self._metrics is not None:
            for done in committed:
                if done.seconds is not None:
                    self._metrics.observe_audit_batch(len(done.events), done.seconds)
        if appends:
            durable.extend(self._append(appends, settled))
        try:
            self._observe(durable)
        except Exception as exc:  # an observer's failure is not the calls'
            log.error("audit recorder: an observer failed (%s)", type(exc).__name__)

    def _append(self, appends: list[_Append], settled: _Settlements) -> list[_Append]:
        """Write the submissions in one transaction; returns those now durable."""
        events = [event for item in appends for event in item.events]
        started = time.perf_counter()
        try:
            stored = self._store.append(events)
        except Exception as exc:
            if len(appends) > 1 and not isinstance(exc, AuditStoreUnavailable):
                # Not the database: some submission's events could not be written at all.
                # Each is written on its own, so only that call fails.
                log.error("audit recorder: a batch failed (%s); retried call by call", _kind(exc))
                return [done for item in appends for done in self._append([item], settled)]
            # The store's message names only the kind of failure, never event content.
            log.error(
                "audit trail unavailable: %d event(s) not written (%s)", len(events), _kind(exc)
            )
            for item in appends:
                if item.future is not None:
                    settled.add(item.future, exception=AuditStoreUnavailable(UNAVAILABLE_MESSAGE))
            return []
        seconds = time.perf_counter() - started
        offset = 0
        for item in appends:
            count = len(item.events)
            if item.future is not None:
                settled.add(item.future, result=stored[offset : offset + count])
            offset += count
        if self._metrics is not None:
            self._metrics.observe_audit_batch(len(events), seconds)
        return appends

    def _raised_by(
        self, events: Sequence[AuditEvent], refused: Collection[str]
    ) -> list[AuditEvent]:
        """The alarms the observers raise on these durable events."""
        raised: list[AuditEvent] = []
        for event in events:
            flagged = event.event_id in refused
            for observer in self._observers:
                raised.extend(observer.observe(event, tenant_guard_refused=flagged))
        return raised

    def _observe(self, durable: list[_Append | _Committed]) -> None:
        if not self._observers:
            return
        raised: list[AuditEvent] = []
        for item in durable:
            if isinstance(item, _Append) and not item.observed:
                continue
            raised.extend(self._raised_by(item.events, item.refused))
        if raised:
            # Written by the next batch; nobody waits on alarms.
            self._queue.put(_Append(raised, (), None, observed=False))


def _deferrable(item: _Item) -> bool:
    return isinstance(item, _Append) and item.deferrable


class _Settlements:
    """A batch's outcomes: thread futures settled at once, loop futures one wake-up each loop."""

    __slots__ = ("_by_loop",)

    def __init__(self) -> None:
        self._by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]
        ] = {}

    def add(
        self,
        future: Future[list[StoredEvent]] | _LoopWaiter,
        *,
        result: list[StoredEvent] | None = None,
        exception: BaseException | None = None,
    ) -> None:
        if isinstance(future, _LoopWaiter):
            self._by_loop.setdefault(future.loop, []).append((future.future, exception))
        else:
            _resolve(future, result=result, exception=exception)

    def flush(self) -> None:
        by_loop, self._by_loop = self._by_loop, {}
        for loop, waiters in by_loop.items():
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_on_loop, waiters)


def _settle_on_loop(waiters: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, exception in waiters:
        if future.done():  # its request was cancelled
            continue
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(None)


@dataclass(slots=True)
class _Offloaded:
    """An offloaded submission's report, on its loop: settles the caller's future and keeps
    the durable events for the batch's observers."""

    durable: list[tuple[Sequence[AuditEvent], Collection[str]]]
    future: asyncio.Future[None]
    events: Sequence[AuditEvent]
    refused: Collection[str]

    def __call__(self, error: BaseException | None) -> None:
        if not self.future.done():  # else its request was cancelled
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(None)
        if error is None:
            self.durable.append((self.events, self.refused))


@dataclass(slots=True)
class _Unawaited:
    """An offloaded submission nobody waits for: its failure is logged, its durable events
    kept for the batch's observers."""

    durable: list[tuple[Sequence[AuditEvent], Collection[str]]]
    events: Sequence[AuditEvent]
    refused: Collection[str]

    def __call__(self, error: BaseException | None) -> None:
        if error is not None:
            _log_unwritten_error()
        else:
            self.durable.append((self.events, self.refused))


def _log_unwritten(written: Future[list[StoredEvent]]) -> None:
    if written.exception() is not None:
        _log_unwritten_error()


def _log_unwritten_error() -> None:
    log.error("audit: the event of a throttled call was not written")


def _resolve(
    future: Future[list[StoredEvent]],
    *,
    result: list[StoredEvent] | None = None,
    exception: BaseException | None = None,
) -> None:
    # A caller that went away (its request cancelled) may have cancelled its future.
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result or [])
    except InvalidStateError:
        pass


def _kind(exc: Exception) -> str:
    # The kind and, for the store's own error, its message (which names only the kind of
    # database failure); never another exception's message, which could quote an event.
    return str(exc) if isinstance(exc, AuditStoreUnavailable) else type(exc).__name__


def _size(item: _Item) -> int:
    return len(item.events) if isinstance(item, _Append) else 0
