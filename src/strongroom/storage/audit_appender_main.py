"""The audit appender process: group-commits the server's submitted events to the trail.

Started by the server (``storage/audit_appender.py``) as
``python -m strongroom.storage.audit_appender_main DATA_URL LOG_LEVEL``, with the frames of
``audit_appender_protocol`` on its stdin and stdout. It reads every submission that has
arrived, appends them all in one transaction, answers one batch frame, and reads again:
while one batch commits the next one gathers in the pipe; a thread copies the trail into
the lookup tables beside it. It exits when its stdin closes (the server stopped or died),
after answering what it read.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from strongroom.audit.checkpoints import CheckpointSigner
from strongroom.audit.event_wire import MalformedWireEvent
from strongroom.audit.events import AuditEvent
from strongroom.audit.ports import AuditStoreUnavailable
from strongroom.crypto.signing import Ed25519Signer
from strongroom.storage import audit_appender_protocol as protocol
from strongroom.storage import engines
from strongroom.storage.audit_lookup_index import BATCH_EVENTS, AuditLookupIndexer
from strongroom.storage.audit_repository import SqlAuditStore

log = logging.getLogger("strongroom.audit.appender")

# A transaction takes submissions up to this many bytes (an event is about a kilobyte).
MAX_BATCH_BYTES = 512 * 1024
_READ_BYTES = 1 << 20
# Without submissions for this long, the appender copies what is left into the lookup
# tables, so an idle server's lookups read the trail's tail no longer than this.
IDLE_COPY_SECONDS = 1.0
# The appender's CPU priority below the server's (nice(2); its threads inherit it). When
# the event loop, the appender and the callers' load want more cores than there are, a
# core goes to the loop first: every call waits for the loop, while the appender's work
# is batched and a moment's wait adds to a batch. Measured on 2 cores at c=16, 4 rounds
# interleaved: 2.2 % more audited calls a second than at the server's priority.
NICENESS = 5


class SubmittedClock:
    """The server's time as its latest submission stated it (checkpoints are dated by it)."""

    def __init__(self) -> None:
        self._now: datetime | None = None

    def set(self, moment: str) -> None:
        self._now = datetime.fromisoformat(moment)

    def now(self) -> datetime:
        if self._now is None:
            raise RuntimeError("no submission has stated the time yet")
        return self._now


class Appender:
    """Turns submissions into transactions and statuses (no I/O of its own but the store)."""

    def __init__(self, append: Callable[[list[AuditEvent]], object], clock: SubmittedClock):
        self._append = append
        self._clock = clock

    def write(self, payloads: list[bytes]) -> tuple[list[int], int, float]:
        """Append the submissions in one transaction when possible: their statuses, the
        number of events written, and the seconds it took."""
        statuses = [protocol.UNAVAILABLE] * len(payloads)
        parsed: list[tuple[int, list[AuditEvent]]] = []
        for index, payload in enumerate(payloads):
            try:
                submission = protocol.parse_submission(payload)
            except MalformedWireEvent as exc:
                log.error("audit appender: a submission was not readable (%s)", exc)
                continue
            self._clock.set(submission.now)
            parsed.append((index, submission.events))
        started = time.perf_counter()
        written = self._write(parsed, statuses)
        return statuses, written, time.perf_counter() - started

    def _write(self, parsed: list[tuple[int, list[AuditEvent]]], statuses: list[int]) -> int:
        events = [event for _, submitted in parsed for event in submitted]
        if not events:
            for index, _ in parsed:
                statuses[index] = protocol.OK
            return 0
        try:
            self._append(events)
        except AuditStoreUnavailable as exc:
            # The store's message names only the kind of failure, never event content.
            log.error("audit trail unavailable: %d event(s) not written (%s)", len(events), exc)
            return 0
        except Exception as exc:
            if len(parsed) > 1:
                # Not the database: some submission could not be written at all. Each is
                # written on its own, so only that call fails.
                log.error(
                    "audit appender: a batch failed (%s); retried call by call", type(exc).__name__
                )
                return sum(self._write([one], statuses) for one in parsed)
            log.error(
                "audit trail unavailable: %d event(s) not written (%s)",
                len(events),
                type(exc).__name__,
            )
            return 0
        for index, _ in parsed:
            statuses[index] = protocol.OK
        return len(events)


class LookupCopier:
    """Copies the trail into the lookup tables on a thread of its own: once ``every``
    events have been appended since the last copy was asked for, and after a second
    without submissions. The appender's commits never wait for a copy: on SQLite the
    lookup tables are a file of their own (``engines.lookup_engine``), and the copy's
    INSERT ... SELECT runs in SQLite without the GIL."""

    def __init__(
        self,
        indexer: AuditLookupIndexer,
        *,
        every: int = BATCH_EVENTS,
        idle_seconds: float = IDLE_COPY_SECONDS,
    ) -> None:
        self._indexer = indexer
        self._every = every
        self._idle_seconds = idle_seconds
        self._uncopied = 0  # the appender's thread only
        self._changed = threading.Condition()
        self._wanted: Callable[[], int] | None = None  # under _changed, as are the next two
        self._copying = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="audit-lookup-copier", daemon=True)
        self._thread.start()

    def idle_wait(self) -> float | None:
        """How long to wait for input before ``idle`` (None: nothing to copy, wait on)."""
        return self._idle_seconds if self._uncopied else None

    def appended(self, events: int) -> None:
        self._uncopied += events
        if self._uncopied >= self._every:
            self._want(self._indexer.copy_once)

    def idle(self) -> None:
        self._want(self._indexer.catch_up)

    def settle(self) -> None:
        """Wait until the copies asked for so far are done."""
        with self._changed:
            self._changed.wait_for(lambda: self._wanted is None and not self._copying)

    def stop(self) -> None:
        """Finish the copy asked for, if any, and end the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join()

    def _want(self, copy: Callable[[], int]) -> None:
        self._uncopied = 0
        with self._changed:
            # A catch-up asked for while a single copy waits covers it.
            if self._wanted != self._indexer.catch_up:
                self._wanted = copy
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted is not None or self._stopping)
                copy, self._wanted = self._wanted, None
                if copy is None:
                    return
                self._copying = True
            try:
                copy()
            except SQLAlchemyError as exc:
                # Lookups read the uncopied events from the trail meanwhile; the next copy
                # (here, or the server's periodic job) takes them.
                log.warning("audit lookup copy failed (%s); retried later", type(exc).__name__)
            finally:
                with self._changed:
                    self._copying = False
                    self._changed.notify_all()


def _read_all(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(input_fd: int, output_fd: int, data_url: str) -> None:
    """Answer submissions until the input closes."""
    (length,) = protocol.LENGTH.unpack(_read_all(input_fd, protocol.LENGTH.size))
    private_key = _read_all(input_fd, length)
    signer: CheckpointSigner | None = Ed25519Signer(private_key) if private_key else None
    clock = SubmittedClock()
    engine = engines.create(data_url)
    try:
        with engine.connect():
            pass  # the database opens: only then is the server told this process is ready
        _write_all(output_fd, protocol.READY)
        store = SqlAuditStore(engine, signer=signer, clock=clock)
        lookups = LookupCopier(AuditLookupIndexer(engine))
        try:
            _answer(input_fd, output_fd, Appender(store.append, clock), lookups)
        finally:
            lookups.stop()
    finally:
        engines.dispose(engine)


def _answer(input_fd: int, output_fd: int, appender: Appender, lookups: LookupCopier) -> None:
    """Read, append and answer until the input closes."""
    reader = protocol.FrameReader()
    waiting: list[bytes] = []
    while True:
        if not waiting:
            if not select.select([input_fd], [], [], lookups.idle_wait())[0]:
                lookups.idle()
                continue
            data = os.read(input_fd, _READ_BYTES)
            if not data:
                return
            waiting = reader.feed(data)
            continue
        batch, waiting = _take_batch(waiting)
        statuses, written, seconds = appender.write(batch)
        _write_all(output_fd, protocol.batch(statuses, written, seconds))
        lookups.appended(written)


def _take_batch(payloads: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """As many submissions as fit MAX_BATCH_BYTES (at least one), and the rest."""
    taken = 0
    for count, payload in enumerate(payloads):
        taken += len(payload)
        if taken > MAX_BATCH_BYTES and count > 0:
            return payloads[:count], payloads[count:]
    return payloads, []


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m strongroom.storage.audit_appender_main DATA_URL LOG_LEVEL")
        return 2
    data_url, log_level = argv[1], argv[2]
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    # The frames own stdout: anything printed by mistake goes to stderr instead.
    output_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        serve(0, output_fd, data_url)
    except (EOFError, BrokenPipeError):
        pass  # the server went away: nobody is left to answer
    except protocol.BrokenStream as exc:
        log.error("audit appender: the server's stream is broken (%s)", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
