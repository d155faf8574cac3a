"""The frames between the server and its audit appender process, both directions.

Server → appender: first one start frame (the checkpoint signing key, or nothing), then
one submission frame per call: ``length`` (4 bytes) and JSON ``[now, [event, …]]``, where
``now`` is the server clock's time (checkpoints carry it) and each event is
``event_wire.to_wire``'s list.

Appender → server: ``READY`` once it has opened the database, then one batch frame per
transaction: the number of submissions it covers
(in the order they were sent), its event count, the seconds the commit took, then one
status byte per submission (``OK``, or ``UNAVAILABLE``: not written).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from strongroom.audit import event_wire
from strongroom.audit.events import AuditEvent

LENGTH = struct.Struct("<I")
BATCH_HEADER = struct.Struct("<IId")
OK = 0
UNAVAILABLE = 1
# A submission is one call's events: far below this; a larger length is a broken stream.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class BrokenStream(Exception):
    """The bytes read are not frames of this protocol: the peer must be dropped."""


def frame(payload: bytes) -> bytes:
    return LENGTH.pack(len(payload)) + payload


def submission(now: str, events: Sequence[AuditEvent]) -> bytes:
    """A submission frame. ``default=str`` is what the event's record does to parameters."""
    wire = [now, [event_wire.to_wire(event) for event in events]]
    return frame(json.dumps(wire, separators=(",", ":"), default=str).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Submission:
    now: str
    events: list[AuditEvent]


def parse_submission(payload: bytes) -> Submission:
    """A submission's events; event_wire.MalformedWireEvent if it is not one."""
    try:
        now, wire_events = json.loads(payload)
    except (ValueError, TypeError) as exc:
        raise event_wire.MalformedWireEvent(f"not a submission ({type(exc).__name__})") from exc
    if not isinstance(now, str) or not isinstance(wire_events, list):
        raise event_wire.MalformedWireEvent("not a submission")
    return Submission(now, [event_wire.from_wire(wire) for wire in wire_events])


# The appender's first bytes: it opened the database and waits for submissions.
READY = b"strongroom-audit-appender ready\n"


def batch(statuses: Sequence[int], events: int, seconds: float) -> bytes:
    return BATCH_HEADER.pack(len(statuses), events, seconds) + bytes(statuses)


@dataclass(frozen=True, slots=True)
class Batch:
    statuses: bytes
    events: int
    seconds: float


class FrameReader:
    """Splits a byte stream into the payloads of length-prefixed frames."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        payloads: list[bytes] = []
        offset = 0
        buffer = self._buffer
        while len(buffer) - offset >= LENGTH.size:
            (length,) = LENGTH.unpack_from(buffer, offset)
            if length > MAX_FRAME_BYTES:
                raise BrokenStream("a frame longer than any submission")
            end = offset + LENGTH.size + length
            if len(buffer) < end:
                break
            payloads.append(bytes(buffer[offset + LENGTH.size : end]))
            offset = end
        del buffer[:offset]
        return payloads

    @property
    def pending(self) -> int:
        return len(self._buffer)


class BatchReader:
    """Splits the appender's byte stream into batch frames."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Batch]:
        self._buffer += data
        batches: list[Batch] = []
        offset = 0
        buffer = self._buffer
        while len(buffer) - offset >= BATCH_HEADER.size:
            count, events, seconds = BATCH_HEADER.unpack_from(buffer, offset)
            end = offset + BATCH_HEADER.size + count
            if len(buffer) < end:
                break
            statuses = bytes(buffer[offset + BATCH_HEADER.size : end])
            if any(status not in (OK, UNAVAILABLE) for status in statuses):
                raise BrokenStream("an unknown status")
            batches.append(Batch(statuses, events, seconds))
            offset = end
        del buffer[:offset]
        return batches
