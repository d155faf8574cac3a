"""The server's side of the audit appender process: events out, durability back, on the loop.

Why a process: the events of calls answered on the event loop were appended by a writer
thread of this process, and every batch had to win the GIL back from the event loop,
twice, to encode its records and run its statements. Throughput was set by that hand-off
(docs/performance.md). The appender process has its own interpreter: the event loop
writes a call's events to a pipe without blocking and learns they are durable when the
appender's batch frame arrives on another pipe, which the loop watches like a socket.
No thread of this process takes part.

The appender writes to the same database and chains with the same statements (each
append reads and moves the chain head inside its own write transaction), so it and this
process's own writers (mutations' events, the recorder thread) interleave safely. If the
process dies, every submission it had not answered fails (the calls fail closed) and
later ones fall back to the recorder's writer thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from strongroom.audit.events import AuditEvent
from strongroom.audit.ports import AuditStoreUnavailable
from strongroom.audit.recorder import DEFAULT_DEFER_SECONDS, UNAVAILABLE_MESSAGE
from strongroom.clock import Clock
from strongroom.storage import audit_appender_protocol as protocol

log = logging.getLogger(__name__)

_READ_BYTES = 1 << 16
_STOP_SECONDS = 30.0
# Starting takes an interpreter and the storage imports: well under this, even on a busy box.
_READY_SECONDS = 30.0

# Called once a submission is durable (None) or failed (the error), on the event loop.
Done = Callable[[BaseException | None], None]
# Called once per appender transaction, after its submissions' ``Done``: its event count
# and commit seconds.
BatchObserver = Callable[[int, float], None]


class AuditAppenderProcess:
    """Owns the appender process. ``offer`` and what it calls back run on one event loop."""

    def __init__(
        self,
        data_url: str,
        clock: Clock,
        *,
        signing_key: bytes | None = None,
        log_level: str = "info",
        ready_seconds: float = _READY_SECONDS,
        defer_seconds: float = DEFAULT_DEFER_SECONDS,
    ) -> None:
        self._data_url = data_url
        self._defer_seconds = defer_seconds
        self._ready_seconds = ready_seconds
        self._clock = clock
        self._signing_key = signing_key or b""
        self._log_level = log_level
        self._process: subprocess.Popen[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: collections.deque[Done] = collections.deque()
        self._unsent = bytearray()
        self._writing = False
        self._flush_due = False
        self._deferred: asyncio.TimerHandle | None = None
        self._batches = protocol.BatchReader()
        self._on_batch: BatchObserver | None = None
        self._lock = threading.Lock()

    def start(self, on_batch: BatchObserver | None = None) -> None:
        """Start the process, hand it the checkpoint signing key over its stdin (never in
        its argv or env), and wait until it has opened the database."""
        with self._lock:
            if on_batch is not None:
                self._on_batch = on_batch
            if self._process is not None:
                return
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [
                    sys.executable,
                    "-m",
                    "strongroom.storage.audit_appender_main",
                    self._data_url,
                    self._log_level,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
                env=_child_environment(),
            )
            assert process.stdin is not None  # noqa: S101 - PIPE asked for
            assert process.stdout is not None  # noqa: S101 - PIPE asked for
            try:
                process.stdin.write(protocol.frame(self._signing_key))
                process.stdin.flush()
                _await_ready(process.stdout.fileno(), self._ready_seconds)
            except (OSError, _NotReady) as exc:
                # The recorder's writer thread appends instead: slower, as durable.
                log.error("audit appender process did not start (%s); appending in process", exc)
                process.kill()
                process.wait()
                _close_pipes(process)
                return
            os.set_blocking(process.stdin.fileno(), False)
            os.set_blocking(process.stdout.fileno(), False)
            self._process = process

    @property
    def usable(self) -> bool:
        """Whether submissions go to the process (it started and has not been lost)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """The appender process's id while it runs (operators look for it in ``ps``)."""
        process = self._process
        return None if process is None else process.pid

    def offer(self, events: Sequence[AuditEvent], done: Done, *, deferrable: bool = False) -> bool:
        """Submit the events, to be reported to ``done`` on this event loop; False (and
        nothing sent) when they cannot be taken here: not running, dead, or not on the
        loop this appender serves. ``deferrable``: nobody waits for them, so they may wait
        up to ``defer_seconds`` for company (a flood of throttled calls then costs a
        commit per wait, not one after another); any other submission sends them at once."""
        if self._process is None:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed():
                return False  # the loop it serves is still running: this one is not it
            self._attach(loop)
        self._unsent += protocol.submission(self._clock.now().isoformat(), events)
        self._pending.append(done)
        if deferrable:
            if self._deferred is None and not self._flush_due:
                self._deferred = loop.call_later(self._defer_seconds, self._flush_soon)
        else:
            # Written at once (at the end of this loop iteration), even while the appender
            # commits: when it is done, its next batch is already waiting in the pipe.
            self._flush_soon()
        return True

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        """Close the appender's input (it answers what it read, then exits) and wait. Call
        it on the event loop it serves, or once that loop has stopped."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        self._detach_process(process)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("audit appender: did not exit in %.0f s; killed", timeout)
            process.kill()
            process.wait()
        self._fail_pending()

    # -- on the event loop ------------------------------------------------------------------

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` from now on. Submissions of an earlier loop (closed: nobody waits
        for them) are still answered, in order: they keep their places, answered to no one."""
        assert self._process is not None  # noqa: S101 - offer checked it
        assert self._process.stdout is not None  # noqa: S101 - PIPE asked for
        self._pending = collections.deque(_unheard for _ in self._pending)
        self._writing = False
        self._flush_due = False
        self._deferred = None  # a timer of the closed loop
        self._loop = loop
        loop.add_reader(self._process.stdout.fileno(), self._on_readable)
        if self._unsent:
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Write at the end of this loop iteration: the calls finished in it share a system
        call and a wake-up of the appender."""
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        if not self._writing and not self._flush_due and self._loop is not None:
            self._flush_due = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        process = self._process
        if process is None or process.stdin is None:
            return
        fd = process.stdin.fileno()
        try:
            written = os.write(fd, self._unsent)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._died(f"its input failed ({type(exc).__name__})")
            return
        del self._unsent[:written]
        wants_writer = bool(self._unsent)
        if wants_writer != self._writing and self._loop is not None:
            if wants_writer:
                self._loop.add_writer(fd, self._flush)
            else:
                self._loop.remove_writer(fd)
            self._writing = wants_writer

    def _on_readable(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        try:
            data = os.read(process.stdout.fileno(), _READ_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            self._died(f"its output failed ({type(exc).__name__})")
            return
        if not data:
            self._died("it exited")
            return
        try:
            batches = self._batches.feed(data)
        except protocol.BrokenStream as exc:
            self._died(str(exc))
            return
        for batch in batches:
            self._settle(batch)

    def _settle(self, batch: protocol.Batch) -> None:
        if len(batch.statuses) > len(self._pending):
            self._died("it answered submissions never sent")
            return
        for status in batch.statuses:
            done = self._pending.popleft()
            done(None if status == protocol.OK else AuditStoreUnavailable(UNAVAILABLE_MESSAGE))
        if self._on_batch is not None:
            self._on_batch(batch.events, batch.seconds)

    def _died(self, why: str) -> None:
        log.error("audit appender process lost (%s); events are appended in process", why)
        with self._lock:
            process, self._process = self._process, None
        self._detach_process(process)
        self._fail_pending()
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()

    def _detach_process(self, process: subprocess.Popen[bytes] | None) -> None:
        """Stop watching the process's pipes and close them (its input's end is its cue to
        exit)."""
        loop, self._loop = self._loop, None
        if process is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                if process.stdout is not None:
                    loop.remove_reader(process.stdout.fileno())
                if process.stdin is not None and self._writing:
                    loop.remove_writer(process.stdin.fileno())
        self._writing = False
        _close_pipes(process)

    def _fail_pending(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        pending, self._pending = self._pending, collections.deque()
        self._unsent.clear()
        for done in pending:
            done(AuditStoreUnavailable(UNAVAILABLE_MESSAGE))


def _child_environment() -> dict[str, str]:
    """What the appender inherits: the interpreter's and locale's variables, nothing else
    (not the root key's variable, not the server's credentials or settings)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in _INHERITED or name.startswith(("PYTHON", "LC_"))
    }


_INHERITED = frozenset({"PATH", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT"})


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _unheard(error: BaseException | None) -> None:
    """The report of a submission whose caller's loop has closed."""


class _NotReady(Exception):
    """The appender did not say it was ready."""


def _await_ready(fd: int, timeout: float) -> None:
    """Block (the server is starting: nothing waits on it yet) until the appender's READY."""
    deadline = time.monotonic() + timeout
    received = b""
    while len(received) < len(protocol.READY):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise _NotReady(f"no answer in {timeout:.0f} s")
        chunk = os.read(fd, len(protocol.READY) - len(received))
        if not chunk:
            raise _NotReady("it exited")
        received += chunk
    if received != protocol.READY:
        raise _NotReady("it answered something else")
