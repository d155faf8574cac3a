"""The edge's part of the audit trail: each call's journal, and its event durable before the answer.

The app opens a ``CallRecord`` as a request arrives and fills it as the pipeline learns
who is calling and what for. A mutation's success event is left in the journal as
``pending`` for the commit hook, which writes it in the mutation's own transaction. When
the handler is done, ``finish`` builds whatever event was not written that way (a read, a
refusal, a failure, an unauthenticated call) plus a BatchGetSecretValue's GetSecretValue
events, and waits until the recorder has made them durable: only then may the answer
(which may carry a secret value or a plaintext) be sent. If that fails, so does the call.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from strongroom.audit.event_builder import EventBuilder, OperationPlan
from strongroom.audit.events import AuditEvent
from strongroom.audit.journal import CallJournal
from strongroom.audit.recorder import AuditRecorder
from strongroom.clock import Clock
from strongroom.context import CallContext, Principal
from strongroom.errors import ServiceError
from strongroom.server import error_responses
from strongroom.server.aws_query import parse_form
from strongroom.server.sigv4 import Authorization, parse_authorization

log = logging.getLogger(__name__)

# Not calls: probes and scrapes are not audited.
UNAUDITED_GET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNKNOWN_SERVICE = "unknown"
UNKNOWN_OPERATION = "UnknownOperation"
GET_SECRET_VALUE = "GetSecretValue"  # noqa: S105 - an operation name
# What an operation or service name taken from the request may look like in an event.
_NAME = re.compile(r"[A-Za-z0-9]{1,128}")
_SERVICE = re.compile(r"[a-z0-9-]{1,64}")
_MAX_ACCESS_KEY_ID = 128


class RequestMetrics(Protocol):
    def observe_request(
        self, service: str, operation: str, outcome: str, tenant: str | None, seconds: float
    ) -> None: ...


Outcome = Callable[[ServiceError | None], str]


@dataclass(slots=True)
class CallRecord:
    """What the edge knows about one call so far."""

    journal: CallJournal
    request_id: str
    event_time: datetime
    started: float
    source_ip: str
    user_agent: str
    headers: Sequence[tuple[bytes, bytes]]
    query: bool = False
    service: str = ""
    operation: str = ""
    region: str = ""
    principal: Principal | None = None
    plan: OperationPlan | None = None
    # The query protocol names its operation in the body (read only on a failure path).
    body: bytes | None = None
    extra: list[AuditEvent] = field(default_factory=list)


class CallAudit:
    """Builds each call's events and has them made durable; one per app."""

    def __init__(
        self,
        builder: EventBuilder,
        recorder: AuditRecorder,
        clock: Clock,
        *,
        default_region: str,
        region_allowed: Callable[[str], bool],
        metrics: RequestMetrics | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        self._builder = builder
        self._recorder = recorder
        self._clock = clock
        self._default_region = default_region
        self._region_allowed = region_allowed
        self._metrics = metrics
        self._outcome = outcome

    # -- as the request goes through the pipeline -----------------------------------------

    def begin(self, scope: Any, request_id: str, *, query: bool) -> CallRecord | None:
        """A record for an HTTP request, or None for the unaudited probes."""
        if scope["method"] == "GET" and scope["path"] in UNAUDITED_GET_PATHS:
            return None
        client = scope.get("client") or ("", 0)
        user_agent = ""
        headers = scope.get("headers", ())
        for name, value in headers:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
                break
        return CallRecord(
            journal=CallJournal(),
            request_id=request_id,
            event_time=self._clock.now(),
            started=time.perf_counter(),
            source_ip=str(client[0]),
            user_agent=user_agent,
            headers=headers,
            query=query,
        )

    @staticmethod
    def target(record: CallRecord, service: str | None, target: str) -> None:
        """The JSON protocol's X-Amz-Target (known before anything is verified)."""
        prefix, _, name = target.rpartition(".")
        record.operation = name
        record.service = service or prefix.lower()

    def identified(self, record: CallRecord, principal: Principal, region: str) -> None:
        """The signature is valid and names ``principal``. The event goes to the chain of
        the region signed for if this server serves it; IAM, a global service, may be
        signed for any region, and its events then go to the default region's chain."""
        record.principal = principal
        record.region = region if self._region_allowed(region) else self._default_region

    def authenticated(
        self, record: CallRecord, ctx: CallContext, service: str, operation: str
    ) -> None:
        """The caller is known and the operation found: for a mutation, leave its success
        event for the commit hook of its write transaction."""
        if not _NAME.fullmatch(operation):
            operation = UNKNOWN_OPERATION  # a query Action that is no name at all
        self.identified(record, ctx.principal, ctx.region)
        record.service = service
        record.operation = operation
        plan = self._builder.plan(service, operation)
        record.plan = plan
        journal = record.journal
        journal.operation = operation
        journal.principal_tenant = ctx.principal.tenant
        journal.redact = plan.request_parameters
        if not plan.read_only:
            journal.pending = self._builder.event(
                plan,
                event_time=record.event_time,
                region=record.region,
                source_ip=record.source_ip,
                user_agent=record.user_agent,
                request_id=record.request_id,
                identity=self._builder.identity(ctx.principal),
            )

    # -- after the handler ------------------------------------------------------------------

    async def finish(
        self, record: CallRecord, error: ServiceError | None, *, durable: bool = True
    ) -> None:
        """Make the call's events durable; raises AuditStoreUnavailable if they are not.
        ``durable=False`` only queues them, deferrable (they may wait a few milliseconds
        to share a commit): for a call refused for its tenant's request rate, whose
        answer carries nothing, so that a flood of them costs neither a wait per call on
        the event loop nor a commit per call."""
        journal = record.journal
        events: list[AuditEvent] = []
        if not journal.taken:
            events.append(self._call_event(record, error))
        elif error is not None:
            # The change committed with its success event, then the call failed after it:
            # the failure is recorded as well, under the same request id.
            log.warning(
                "request_id=%s: %s failed after its change committed",
                record.request_id,
                record.operation,
            )
            events.append(self._call_event(record, error))
        if journal.batch_reads:
            events.extend(self._batch_events(record))
        if events:
            refused = (events[0].event_id,) if journal.tenant_guard_refusals else ()
            if durable:
                await self._recorder.submit_awaitable(events, refused=refused)
            else:
                self._recorder.submit_unawaited(events, refused=refused)

    def observe(self, record: CallRecord, error: ServiceError | None) -> None:
        """Count the answered call in the metrics."""
        if self._metrics is None or self._outcome is None:
            return
        self._metrics.observe_request(
            record.service or UNKNOWN_SERVICE,
            record.operation or UNKNOWN_OPERATION,
            self._outcome(error),
            record.journal.tenant,
            time.perf_counter() - record.started,
        )

    def _call_event(self, record: CallRecord, error: ServiceError | None) -> AuditEvent:
        journal = record.journal
        plan = record.plan or self._fallback_plan(record)
        code: str | None = None
        message: str | None = None
        if error is not None:
            code = error_responses.query_code(error)[0] if record.query else error.code
            message = error.message
        return self._builder.event(
            plan,
            event_time=record.event_time,
            region=record.region or self._claimed_region(record),
            source_ip=record.source_ip,
            user_agent=record.user_agent,
            request_id=record.request_id,
            identity=self._builder.identity(
                record.principal,
                None if record.principal is not None else self._claimed_access_key(record),
            ),
            request=journal.request,
            response=journal.response,
            error_code=code,
            error_message=message,
            resources=journal.resources,
            tenant=journal.tenant,
        )

    def _batch_events(self, record: CallRecord) -> list[AuditEvent]:
        plan = self._builder.plan(record.service, GET_SECRET_VALUE)
        identity = self._builder.identity(record.principal)
        region = record.region or self._default_region
        tenant = record.journal.principal_tenant
        return [
            self._builder.event(
                plan,
                event_time=record.event_time,
                region=region,
                source_ip=record.source_ip,
                user_agent=record.user_agent,
                request_id=record.request_id,
                identity=identity,
                request={"SecretId": read.resource.arn},
                error_code=read.error_code,
                error_message=read.error_message,
                resources=(read.resource,),
                tenant=read.resource.tenant or tenant,
            )
            for read in record.journal.batch_reads
        ]

    def _fallback_plan(self, record: CallRecord) -> OperationPlan:
        """The plan of a call that failed before its operation was found (its name as the
        request gave it, if that looks like a name)."""
        service = record.service
        operation = record.operation
        if record.query and not operation and record.body is not None:
            try:
                operation = parse_form(record.body).get("Action", "")
            except ServiceError:
                operation = ""
        if not _SERVICE.fullmatch(service):
            service = UNKNOWN_SERVICE
        if not _NAME.fullmatch(operation):
            operation = UNKNOWN_OPERATION
        record.service, record.operation = service, operation
        return self._builder.plan(service, operation)

    def _authorization(self, record: CallRecord) -> Authorization | None:
        for name, value in record.headers:
            if name == b"authorization":
                try:
                    return parse_authorization(value.decode("latin-1"))
                except ServiceError:
                    return None
        return None

    def _claimed_access_key(self, record: CallRecord) -> str | None:
        parsed = self._authorization(record)
        if parsed is None:
            return None
        return parsed.access_key_id[:_MAX_ACCESS_KEY_ID] or None

    def _claimed_region(self, record: CallRecord) -> str:
        """The region the unverified request was signed for, if it is one this server
        serves (so forged scopes cannot start new chains), else the default region."""
        parsed = self._authorization(record)
        region = None if parsed is None else parsed.region
        if region and self._region_allowed(region):
            return region
        return self._default_region
