"""The alarm webhook: POSTs each alarm as JSON from a background thread, retrying with backoff.

Requests never wait for it: ``notify`` puts the alarm on a bounded queue and returns; when
the queue is full the alarm is dropped (and counted), the trail still has it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from typing import Protocol

from strongroom.audit.alarm_rules import check_webhook_url
from strongroom.audit.events import AuditEvent

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
DEFAULT_ATTEMPTS = 5
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
USER_AGENT = "strongroom-alarm-webhook/1"


class WebhookMetrics(Protocol):
    def webhook_delivered(self) -> None: ...
    def webhook_failed(self) -> None: ...
    def webhook_dropped(self) -> None: ...


def payload(alarm: AuditEvent) -> bytes:
    """What the webhook receives: the alarm's name and its CloudTrail record."""
    return json.dumps(
        {"alarm": alarm.event_name, "record": alarm.to_cloudtrail()},
        sort_keys=True,
        default=str,
    ).encode("utf-8")


class WebhookNotifier:
    """Delivers alarms to one URL, in order, one at a time, on its own daemon thread."""

    def __init__(
        self,
        url: str,
        *,
        metrics: WebhookMetrics | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        attempts: int = DEFAULT_ATTEMPTS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        first_backoff: float = DEFAULT_FIRST_BACKOFF_SECONDS,
    ) -> None:
        self._url = check_webhook_url(url)
        self._metrics = metrics
        self._queue: queue.Queue[AuditEvent] = queue.Queue(maxsize=queue_size)
        self._attempts = max(1, attempts)
        self._timeout = timeout
        self._first_backoff = first_backoff
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def notify(self, alarm: AuditEvent) -> None:
        """Queue the alarm; never blocks, never raises (a full queue drops it, counted)."""
        self._ensure_started()
        try:
            self._queue.put_nowait(alarm)
        except queue.Full:
            log.warning("alarm webhook queue full: dropped alarm %s", alarm.event_name)
            if self._metrics is not None:
                self._metrics.webhook_dropped()

    def start(self) -> None:
        self._ensure_started()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the alarm in flight (backoff waits end at once); the rest are dropped."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def pending(self) -> int:
        return self._queue.qsize()

    def _ensure_started(self) -> None:
        if self._thread is not None or self._stopping.is_set():
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(
                    target=self._run, name="strongroom-alarm-webhook", daemon=True
                )
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                alarm = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._deliver(alarm)
            except Exception as exc:  # the thread must outlive any one alarm
                log.error("alarm webhook: unexpected %s", type(exc).__name__)
            finally:
                self._queue.task_done()

    def _deliver(self, alarm: AuditEvent) -> None:
        body = payload(alarm)
        delay = self._first_backoff
        problem = ""
        for attempt in range(1, self._attempts + 1):
            problem = self._post(body)
            if not problem:
                if self._metrics is not None:
                    self._metrics.webhook_delivered()
                return
            if attempt == self._attempts or self._stopping.wait(delay):
                break
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        log.warning(
            "alarm webhook: gave up on alarm %s after %d attempt(s): %s",
            alarm.event_name,
            attempt,
            problem,
        )
        if self._metrics is not None:
            self._metrics.webhook_failed()

    def _post(self, body: bytes) -> str:
        """Empty when the receiver answered 2xx, else what went wrong (never the URL)."""
        request = urllib.request.Request(  # noqa: S310 - only http(s) URLs get here
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return type(exc).__name__
        return "" if 200 <= status < 300 else f"HTTP {status}"
