"""The ASGI application: one POST / endpoint, SigV4 first, then dispatch by protocol.

The pipeline, in order, for every request (see docs/architecture.md):
size limit → SigV4 verification → principal → operation lookup → the tenant's rate limit
(a tenant-bound caller takes a token or gets ThrottlingException) → (worker thread)
JSON parse → model validation → service method → JSON encode → the call's audit event
durable (``call_audit``; a mutation's commits with its change) → response.
A request without X-Amz-Target whose body is a form is the AWS query protocol (IAM, STS):
the credential scope's service picks the service, the Action parameter the operation, and
the answer (or error) is XML. Every failure on the way is a ServiceError encoded by
``error_responses`` alone, in the protocol the request used.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from strongroom.audit import journal as audit_journal
from strongroom.audit.ports import AuditStoreUnavailable
from strongroom.audit.random_ids import random_uuid
from strongroom.audit.recorder import UNAVAILABLE_MESSAGE
from strongroom.clock import Clock
from strongroom.context import CallContext, Principal
from strongroom.errors import (
    InternalError,
    InvalidSignatureException,
    RequestEntityTooLargeException,
    SerializationException,
    ServiceError,
    ThrottlingException,
    UnknownOperationException,
    UnrecognizedClientException,
)
from strongroom.ids import AccountId, Partition, Region, partition_of
from strongroom.server import error_responses
from strongroom.server.aws_query import XML_CONTENT_TYPE, parse_form
from strongroom.server.call_audit import CallAudit, CallRecord
from strongroom.server.dispatch import Dispatcher, QueryService
from strongroom.server.sigv4 import SignedRequest, SigV4Verifier, parse_authorization
from strongroom.tenancy.quotas import RateLimiter, operation_class, throttling_message

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
REQUIRED_SIGNED_HEADERS = frozenset({"host", "x-amz-date", "x-amz-target"})
QUERY_SIGNED_HEADERS = frozenset({"host", "x-amz-date"})
_FORM = b"application/x-www-form-urlencoded"
# Any syntactically valid region: IAM is global, and boto3 signs it for us-east-1 whatever
# the client's region.
_ANY_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)*-[0-9]{1,2}|aws-global")
_JSON = error_responses.JSON_CONTENT_TYPE


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    account_id: AccountId
    region_allowed: Callable[[str], bool]
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    worker_threads: int = 16
    # True when storage is embedded (SQLite): point reads then run on the event loop.
    inline_point_reads: bool = False
    on_startup: tuple[Callable[[], None], ...] = field(default=())
    on_shutdown: tuple[Callable[[], None], ...] = field(default=())
    # GET /metrics: (content type, body) in Prometheus text format; no auth, like /healthz.
    metrics: Callable[[], tuple[bytes, bytes]] | None = None


ThrottledCallback = Callable[[str, str], None]
"""(tenant, operation class) of a call refused with ThrottlingException (for the metrics)."""

PrincipalLookup = Callable[[str, str | None, str], Principal | None]
"""(access key id, session token or None, partition) → the principal that owns the key.

None for an unknown or inactive key, an expired session, or a session token that does
not belong to the key (compared in constant time by the lookup)."""


class StrongroomApp:
    """A raw ASGI app: no framework between the socket and the pipeline above."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        verifier: SigV4Verifier,
        principals: PrincipalLookup,
        clock: Clock,
        settings: EdgeSettings,
        audit: CallAudit | None = None,
        rate_limiter: RateLimiter | None = None,
        on_throttled: ThrottledCallback | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        # None: no request-rate quotas (tenant-bound callers are then never throttled).
        self._rate_limiter = rate_limiter
        self._on_throttled = on_throttled
        # None only in unit tests of the pipeline: a server always audits.
        self._audit = audit
        self._verifier = verifier
        self._query_verifier = verifier.requiring(QUERY_SIGNED_HEADERS)
        self._principals = principals
        self._clock = clock
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.worker_threads, thread_name_prefix="strongroom-worker"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = random_uuid()
        target, form = _route(scope)
        if form and not target:
            default = self._dispatcher.default_query_service
            if default is not None:
                await self._answer_query(scope, receive, send, request_id, default)
                return
        # Decided before anything can fail, so a crash still answers with the service's
        # own internal error code (InternalServiceError, KMSInternalException, ...).
        internal_code = self._dispatcher.internal_error_code_for(target)
        call = None if self._audit is None else self._audit.begin(scope, request_id, query=False)
        error: ServiceError | None = None
        try:
            if call is None:
                status, headers, body = await self._handle(scope, receive, request_id, None)
            else:
                CallAudit.target(call, self._dispatcher.signing_name_for(target), target)
                with audit_journal.recording(call.journal):
                    status, headers, body = await self._handle(scope, receive, request_id, call)
        except ServiceError as exc:
            error = exc
        except Exception as exc:  # the catch-all: never a traceback or detail on the wire
            error = _internal(exc, request_id, internal_code)
        if call is not None:
            # Nothing is answered, least of all a secret, before the call's event is durable.
            error = await self._audited(call, error, internal_code)
        if error is not None:
            status, headers, body = error_responses.encode(error, request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _audited(
        self, call: CallRecord, error: ServiceError | None, internal_code: str
    ) -> ServiceError | None:
        """Make the call's events durable: the call's error, or the audit trail's."""
        assert self._audit is not None  # noqa: S101 - only called with a record
        try:
            # A throttled call's event is queued, not waited for: see CallAudit.finish.
            await self._audit.finish(
                call, error, durable=not isinstance(error, ThrottlingException)
            )
        except AuditStoreUnavailable:
            error = InternalError(internal_code, UNAVAILABLE_MESSAGE)
        except Exception as exc:  # a failure to audit is a failure of the call
            error = _internal(exc, call.request_id, internal_code, UNAVAILABLE_MESSAGE)
        self._audit.observe(call, error)
        return error

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for hook in self._settings.on_startup:
                    hook()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self._settings.on_shutdown:
                    hook()
                self._executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, declared: int | None) -> bytes:
        limit = self._settings.max_body_bytes
        if declared is not None and declared > limit:
            raise RequestEntityTooLargeException(f"Request body must be at most {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise SerializationException("The request body was not received completely.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestEntityTooLargeException(f"Request body must be at most {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _handle(
        self, scope: Scope, receive: Receive, request_id: str, call: CallRecord | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method = scope["method"]
        path = scope["path"]
        if method == "GET" and path in ("/healthz", "/readyz"):
            body = b'{"status":"ok"}'
            return 200, _headers(request_id, body), body
        if method == "GET" and path == "/metrics" and self._settings.metrics is not None:
            content_type, body = self._settings.metrics()
            return 200, _headers(request_id, body, content_type), body
        if method != "POST" or scope.get("raw_path", path.encode()) != b"/":
            raise UnknownOperationException("The requested operation is not recognized.")
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        declared: int | None = None
        target = ""
        user_agent = ""
        session_token: str | None = None
        for name, value in headers:
            if name == "content-length":
                declared = int(value) if value.isdigit() else None
            elif name == "x-amz-target":
                target = value
            elif name == "user-agent":
                user_agent = value
            elif name == "x-amz-security-token":
                session_token = value
        body = await self._read_body(receive, declared)
        verified = self._verifier.verify(
            SignedRequest(
                method=method,
                path="/",
                query_string=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
            ),
            now=self._clock.now(),
            expected_service=self._dispatcher.signing_name_for(target),
            region_allowed=self._settings.region_allowed,
        )
        partition = partition_of(verified.region)
        principal = self._principals(verified.access_key_id, session_token, partition)
        if principal is None:
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        if call is not None and self._audit is not None:
            # From here on the call is the principal's, whatever happens.
            self._audit.identified(call, principal, verified.region)
        operation = self._dispatcher.find(target)
        if operation.service != verified.service:  # the verifier checked the scope already
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{operation.service}'. "
            )
        ctx = self._call_context(
            scope, principal, verified.region, partition, request_id, user_agent
        )
        if call is not None and self._audit is not None:
            self._audit.authenticated(call, ctx, operation.service, operation.name)
        if principal.tenant is not None and self._rate_limiter is not None:
            self._take_token(principal.tenant, operation.service, operation.name)
        if operation.point_read and self._settings.inline_point_reads:
            # A point read on embedded SQLite takes tens of microseconds; handing it to a
            # thread costs more than the read and makes threads fight over the GIL.
            response = operation.handler(ctx, body)
        else:
            loop = asyncio.get_running_loop()
            # The worker thread runs in a copy of this task's context: the call's journal.
            response = await loop.run_in_executor(
                self._executor, contextvars.copy_context().run, operation.handler, ctx, body
            )
        return 200, _headers(request_id, response), response

    def _take_token(self, tenant: str, service: str, operation: str) -> None:
        """One token from the tenant's bucket for the operation's class, or
        ThrottlingException; recorded like any call refused before it ran."""
        assert self._rate_limiter is not None  # noqa: S101 - only called with a limiter
        cls = operation_class(service, operation)
        wait = self._rate_limiter.try_acquire(tenant, cls, time.monotonic())
        if wait is None:
            return
        if self._on_throttled is not None:
            self._on_throttled(tenant, cls)
        raise ThrottlingException(throttling_message(tenant, cls, wait), wait)

    def _call_context(
        self,
        scope: Scope,
        principal: Principal,
        region: str,
        partition: str,
        request_id: str,
        user_agent: str,
    ) -> CallContext:
        client = scope.get("client") or ("", 0)
        return CallContext(
            principal=principal,
            account_id=self._settings.account_id,
            region=Region(region),
            partition=Partition(partition),
            request_id=request_id,
            source_ip=str(client[0]),
            user_agent=user_agent,
        )

    async def _answer_query(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, default: QueryService
    ) -> None:
        """The query protocol's pipeline; every failure is answered as an XML ErrorResponse."""
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        service = self._dispatcher.query_service(_scope_service(headers))
        # Errors before the service is known speak the default one's namespace.
        chosen = service or default
        call = None if self._audit is None else self._audit.begin(scope, request_id, query=True)
        error: ServiceError | None = None
        try:
            if call is None:
                status, response_headers, body = await self._handle_query(
                    scope, receive, request_id, headers, service, default.signing_name, None
                )
            else:
                call.service = _scope_service(headers)
                with audit_journal.recording(call.journal):
                    status, response_headers, body = await self._handle_query(
                        scope, receive, request_id, headers, service, default.signing_name, call
                    )
        except ServiceError as exc:
            error = exc
        except Exception as exc:  # the catch-all: never a traceback or detail on the wire
            error = _internal(exc, request_id, chosen.internal_error_code)
        if call is not None:
            error = await self._audited(call, error, chosen.internal_error_code)
        if error is not None:
            status, response_headers, body = error_responses.encode_query(
                error, request_id, chosen.namespace
            )
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle_query(
        self,
        scope: Scope,
        receive: Receive,
        request_id: str,
        headers: list[tuple[str, str]],
        service: QueryService | None,
        default_signing_name: str,
        call: CallRecord | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method = scope["method"]
        if method != "POST" or scope.get("raw_path", scope["path"].encode()) != b"/":
            raise UnknownOperationException("The requested operation is not recognized.")
        declared: int | None = None
        user_agent = ""
        session_token: str | None = None
        for name, value in headers:
            if name == "content-length":
                declared = int(value) if value.isdigit() else None
            elif name == "user-agent":
                user_agent = value
            elif name == "x-amz-security-token":
                session_token = value
        body = await self._read_body(receive, declared)
        if call is not None:
            call.body = body
        verified = self._query_verifier.verify(
            SignedRequest(
                method=method,
                path="/",
                query_string=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
            ),
            now=self._clock.now(),
            # A scope naming no query service fails the verifier's scope check.
            expected_service=default_signing_name if service is None else service.signing_name,
            region_allowed=(
                _any_region
                if service is not None and service.global_service
                else self._settings.region_allowed
            ),
        )
        if service is None or service.signing_name != verified.service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{default_signing_name}'. "
            )
        partition = partition_of(verified.region)
        principal = self._principals(verified.access_key_id, session_token, partition)
        if principal is None:
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        if call is not None and self._audit is not None:
            # From here on the call is the principal's, whatever happens.
            self._audit.identified(call, principal, verified.region)
        ctx = self._call_context(
            scope, principal, verified.region, partition, request_id, user_agent
        )
        if call is not None and self._audit is not None:
            self._audit.authenticated(call, ctx, service.signing_name, _action(body))
        if principal.tenant is not None and self._rate_limiter is not None:
            self._take_token(principal.tenant, service.signing_name, _action(body))
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(
            self._executor, contextvars.copy_context().run, service.handle, ctx, body
        )
        return 200, _headers(request_id, response, XML_CONTENT_TYPE), response


def _internal(
    exc: Exception, request_id: str, code: str, message: str | None = None
) -> InternalError:
    """Log an unexpected failure (type and stack, never its message: it could quote request
    data) and return the bare internal error that answers it."""
    if isinstance(exc, AuditStoreUnavailable):
        # A mutation's event could not be written with it: the change was rolled back.
        log.error("request_id=%s: the audit trail is unavailable", request_id)
        return InternalError(code, UNAVAILABLE_MESSAGE)
    log.error(
        "internal error request_id=%s type=%s\n%s",
        request_id,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return InternalError(code) if message is None else InternalError(code, message)


def _action(body: bytes) -> str:
    """The query protocol's Action ("" if the form is unreadable: the service says why)."""
    try:
        return parse_form(body).get("Action", "")
    except ServiceError:
        return ""


def _route(scope: Scope) -> tuple[str, bool]:
    """(X-Amz-Target or "", whether the body is declared a form): one pass, stopping at the
    target, so the JSON path pays one comparison per header before it."""
    form = False
    for name, value in scope.get("headers", ()):
        if name == b"x-amz-target":
            return str(value.decode("latin-1")), False
        if name == b"content-type":
            form = value[: len(_FORM)].lower() == _FORM
    return "", form


def _scope_service(headers: list[tuple[str, str]]) -> str:
    """The service of the Authorization header's credential scope ("" if unreadable: the
    verifier then refuses the header with the precise error)."""
    for name, value in headers:
        if name == "authorization":
            try:
                return parse_authorization(value).service
            except ServiceError:
                return ""
    return ""


def _any_region(region: str) -> bool:
    return _ANY_REGION.fullmatch(region) is not None


def _headers(
    request_id: str, body: bytes, content_type: bytes = _JSON
) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", content_type),
        (b"x-amzn-requestid", request_id.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
