"""HTTP/1.1 framing at the edge: answers sent one write each still come whole and in order."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from tests.support.raw_http import host_of
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract


def _connect(server: RunningServer) -> socket.socket:
    host, _, port = host_of(server.endpoint).rpartition(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_response(reader: Any) -> tuple[int, dict[str, str], bytes]:
    status = int(reader.readline().split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := reader.readline().rstrip(b"\r\n")) != b"":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers["content-length"]))


def _request(path: str, host: str, *, extra: str = "", body: bytes = b"") -> bytes:
    method = "POST" if body else "GET"
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
    if body:
        head += f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("latin-1") + body


def test_pipelined_requests_are_answered_whole_and_in_order(server: RunningServer) -> None:
    host = host_of(server.endpoint)
    unsigned = json.dumps({"SecretId": "pipelined"}).encode()
    target = "X-Amz-Target: secretsmanager.GetSecretValue\r\n"
    requests = [
        _request("/healthz", host),
        _request("/", host, extra=target, body=unsigned),
        _request("/healthz", host),
    ]
    with _connect(server) as sock, sock.makefile("rb") as reader:
        sock.sendall(b"".join(requests))
        answers = [_read_response(reader) for _ in requests]
    assert [status for status, _, _ in answers] == [200, 403, 200]
    assert json.loads(answers[1][2])["__type"] == "MissingAuthenticationTokenException"
    assert answers[0][2] == answers[2][2]


def test_an_answer_before_connection_close_arrives_whole(server: RunningServer) -> None:
    host = host_of(server.endpoint)
    with _connect(server) as sock, sock.makefile("rb") as reader:
        sock.sendall(_request("/healthz", host, extra="Connection: close\r\n"))
        status, headers, body = _read_response(reader)
        assert reader.read() == b""  # then the server closed the connection
    assert status == 200
    assert headers["connection"] == "close"
    assert len(body) == int(headers["content-length"]) > 0
