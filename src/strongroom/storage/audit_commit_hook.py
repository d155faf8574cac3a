"""The data engine's commit hook: a mutation's audit event commits in the mutation's transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection

from strongroom.audit import journal
from strongroom.audit.recorder import AuditRecorder
from strongroom.storage.audit_repository import SqlAuditStore

log = logging.getLogger(__name__)


class AuditCommitHook:
    """``engines.CommitHook`` for the data engine.

    On a write transaction of a call whose journal holds a pending (mutation) event not yet
    taken, the event is completed from the journal and chained into the trail on the same
    connection just before the commit: if the event cannot be written the transaction, and
    so the mutation, fails. The journal marks the event taken only once the commit went
    through; the recorder then shows it to the alarm observers.
    """

    def __init__(self, store: SqlAuditStore, recorder: AuditRecorder | None = None) -> None:
        self._store = store
        self._recorder = recorder

    def __call__(self, connection: Connection) -> Callable[[], None] | None:
        call = journal.current()
        if call is None:
            return None
        event = call.pending_event()
        if event is None:
            return None
        started = time.perf_counter()
        self._store.append_in_transaction(connection, [event])
        seconds = time.perf_counter() - started
        recorder = self._recorder

        def after_commit() -> None:
            call.mark_taken()
            if recorder is not None:
                refused = (event.event_id,) if call.tenant_guard_refusals else ()
                try:
                    recorder.committed([event], refused=refused, seconds=seconds)
                except Exception as exc:  # the mutation is done; observing is best effort
                    log.error("audit: a committed event was not observed (%s)", type(exc).__name__)

        return after_commit
