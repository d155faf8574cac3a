"""LookupEvents NextTokens: a page cursor sealed under the domain key, bound to its query."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import struct
from datetime import UTC, datetime, timedelta
from typing import Protocol

from strongroom.audit.lookup_query import EventCursor, EventQuery
from strongroom.crypto.key_wrapping import UnwrapFailed
from strongroom.errors import InvalidNextTokenException

TOKEN_LABEL = b"strongroom/lookup-events-token/v1"
# Far longer than any token issued; bounds the work a forged token can cause.
MAX_TOKEN_LENGTH = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_POSITION = struct.Struct(">qq")  # event time (µs since the epoch), seq; then the region
_INVALID = "The NextToken value is not valid."


class Sealer(Protocol):
    """Authenticated encryption under a server-held key (the KeyRing's domain key)."""

    def wrap_secret(self, secret: bytes, label: bytes, identity: bytes) -> bytes: ...

    def unwrap_secret(self, wrapped: bytes, label: bytes, identity: bytes) -> bytes:
        """Raises UnwrapFailed if ``wrapped`` was not sealed with this label and identity."""
        ...


def query_binding(query: EventQuery) -> bytes:
    """What a token is bound to: every filter of the query (region and the caller's tenant
    included), so a token is refused by any other query, as CloudTrail's are."""
    fields = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in dataclasses.asdict(query).items()
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).digest()


class PageTokens:
    """Issues and opens NextTokens. A token reveals nothing (it is encrypted) and cannot be
    altered or moved to another query (it is authenticated with the query as AAD)."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def issue(self, cursor: EventCursor, query: EventQuery) -> str:
        micros = (cursor.event_time - _EPOCH) // timedelta(microseconds=1)
        plain = _POSITION.pack(micros, cursor.seq) + cursor.region.encode()
        sealed = self._sealer.wrap_secret(plain, TOKEN_LABEL, query_binding(query))
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, token: str, query: EventQuery) -> EventCursor:
        """The cursor ``token`` holds; InvalidNextTokenException unless this server issued
        it for this very query."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidNextTokenException(_INVALID)
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._sealer.unwrap_secret(sealed, TOKEN_LABEL, query_binding(query))
            micros, seq = _POSITION.unpack_from(plain)
            region = plain[_POSITION.size :].decode()
        except (binascii.Error, ValueError, UnicodeError, UnwrapFailed, struct.error) as exc:
            raise InvalidNextTokenException(_INVALID) from exc
        return EventCursor(_EPOCH + timedelta(microseconds=micros), region, seq)
