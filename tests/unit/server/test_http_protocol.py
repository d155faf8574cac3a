"""The coalescing transport: a loop turn's writes leave as one, in order; close sends first."""

from __future__ import annotations

import asyncio
from typing import Any

from strongroom.server.http_protocol import FLUSH_BYTES, CoalescingTransport


class RecordingTransport:
    """Stands in for the socket transport: records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 4242) if name == "peername" else default


async def _next_turn() -> None:
    await asyncio.sleep(0)


def _wrapped() -> tuple[CoalescingTransport, RecordingTransport]:
    inner = RecordingTransport()
    return CoalescingTransport(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


def test_head_and_body_written_in_one_turn_leave_in_one_write_after_it() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        assert inner.writes == []  # held until the turn ends
        await _next_turn()
        assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]

    asyncio.run(scenario())


def test_writes_of_different_turns_leave_separately_and_in_order() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"first")
        await _next_turn()
        transport.write(b"second")
        transport.write(bytearray(b"-and-more"))
        await _next_turn()
        await _next_turn()  # nothing left: no empty write
        assert inner.writes == [b"first", b"second-and-more"]

    asyncio.run(scenario())


def test_close_sends_what_is_held_before_closing() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"answer")
        transport.close()
        assert inner.writes == [b"answer"]
        assert inner.closed
        await _next_turn()  # the scheduled flush finds nothing and writes nothing
        assert inner.writes == [b"answer"]

    asyncio.run(scenario())


def test_abort_drops_what_is_held() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"never sent")
        transport.abort()
        await _next_turn()
        assert inner.writes == []
        assert inner.aborted

    asyncio.run(scenario())


def test_a_turn_reaching_the_flush_size_is_sent_at_once() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"h" * 10)
        transport.write(b"b" * FLUSH_BYTES)
        assert inner.writes == [b"h" * 10 + b"b" * FLUSH_BYTES]
        transport.write(b"tail")
        await _next_turn()
        assert inner.writes[1:] == [b"tail"]

    asyncio.run(scenario())


def test_nothing_is_written_to_a_transport_closed_underneath() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        transport.write(b"too late")
        inner.closed = True  # the peer went away
        await _next_turn()
        assert inner.writes == []

    asyncio.run(scenario())


def test_everything_else_is_the_wrapped_transports() -> None:
    async def scenario() -> None:
        transport, inner = _wrapped()
        assert transport.get_extra_info("peername") == ("127.0.0.1", 4242)
        assert transport.is_closing() is False
        inner.closed = True
        assert transport.is_closing() is True

    asyncio.run(scenario())
