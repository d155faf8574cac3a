"""The ASGI application: one POST / endpoint, SigV4 first, then dispatch on X-Amz-Target.

The pipeline, in order, for every request (see docs/architecture.md):
size limit → SigV4 verification → principal → operation lookup → (worker thread)
JSON parse → model validation → service method → JSON encode → response.
Every failure on the way is a ServiceError encoded by ``error_responses`` alone.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from strongroom.clock import Clock
from strongroom.context import CallContext, Principal
from strongroom.errors import (
    InternalError,
    InvalidSignatureException,
    RequestEntityTooLargeException,
    SerializationException,
    ServiceError,
    UnknownOperationException,
    UnrecognizedClientException,
)
from strongroom.ids import AccountId, Partition, Region, partition_of
from strongroom.server import error_responses
from strongroom.server.dispatch import Dispatcher
from strongroom.server.sigv4 import SignedRequest, SigV4Verifier

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
REQUIRED_SIGNED_HEADERS = frozenset({"host", "x-amz-date", "x-amz-target"})
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
    ) -> None:
        self._dispatcher = dispatcher
        self._verifier = verifier
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
        request_id = str(uuid.uuid4())
        # Decided before anything can fail, so a crash still answers with the service's
        # own internal error code (InternalServiceError, KMSInternalException, ...).
        internal_code = self._dispatcher.internal_error_code_for(_target_of(scope))
        try:
            status, headers, body = await self._handle(scope, receive, request_id)
        except ServiceError as error:
            status, headers, body = error_responses.encode(error, request_id)
        except Exception as exc:  # the catch-all: never a traceback or detail on the wire
            # The exception's message is not logged: it could quote request data.
            log.error(
                "internal error request_id=%s type=%s\n%s",
                request_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            status, headers, body = error_responses.encode(InternalError(internal_code), request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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
        self, scope: Scope, receive: Receive, request_id: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        method = scope["method"]
        path = scope["path"]
        if method == "GET" and path in ("/healthz", "/readyz"):
            body = b'{"status":"ok"}'
            return 200, _headers(request_id, body), body
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
        operation = self._dispatcher.find(target)
        if operation.service != verified.service:  # the verifier checked the scope already
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{operation.service}'. "
            )
        client = scope.get("client") or ("", 0)
        ctx = CallContext(
            principal=principal,
            account_id=self._settings.account_id,
            region=Region(verified.region),
            partition=Partition(partition),
            request_id=request_id,
            source_ip=str(client[0]),
            user_agent=user_agent,
        )
        if operation.point_read and self._settings.inline_point_reads:
            # A point read on embedded SQLite takes tens of microseconds; handing it to a
            # thread costs more than the read and makes threads fight over the GIL.
            response = operation.handler(ctx, body)
        else:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self._executor, operation.handler, ctx, body)
        return 200, _headers(request_id, response), response


def _target_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-amz-target":
            return str(value.decode("latin-1"))
    return ""


def _headers(request_id: str, body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", _JSON),
        (b"x-amzn-requestid", request_id.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
