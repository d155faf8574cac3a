"""uvicorn's httptools HTTP/1.1 protocol, sending each response's head and body in one write.

uvicorn writes a response's head when the app sends ``http.response.start`` and its body
with ``http.response.body``: two ``send()`` system calls and two TCP segments for every
answer, though Strongroom's answers are complete before they start. On loopback the extra
segment was about a tenth of the event loop's time under load (docs/performance.md).
Here the transport holds what is written during one turn of the event loop and sends it
with one call at the end of that turn, or at once when the connection closes or a turn's
writes reach ``FLUSH_BYTES``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Past this many held bytes a write goes out at once (a large answer is not copied twice).
FLUSH_BYTES = 64 * 1024


class CoalescingTransport:
    """Wraps a transport: writes of one loop turn leave as one, in order; the rest is the
    wrapped transport's."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send what is held (a scheduled flush after an early one finds nothing)."""
        if not self._held:
            return
        held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        self._held_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()  # an answer written just before the close still leaves first
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._held_bytes = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol over a CoalescingTransport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        super().connection_made(CoalescingTransport(transport, loop))  # type: ignore[arg-type]
