"""Hand-built SigV4-signed HTTP requests to a Strongroom server, for edge and wire tests.

boto3 validates input on the client side and always signs correctly, so it cannot send the
malformed, tampered or unsigned requests an attacker would. These helpers sign with botocore's
own ``SigV4Auth`` (so a signature the server accepts is one AWS would accept) and then put
exactly the given bytes on the wire with ``http.client``, so a test can change anything after
signing.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HeadersDict
from botocore.credentials import Credentials
from botocore.model import Shape
from botocore.parsers import create_parser

from tests.support.server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

AMZ_JSON_1_1 = "application/x-amz-json-1.1"
SM_TARGET_PREFIX = "secretsmanager"

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lowercase names; a repeated header's values joined with ", "
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def host_of(endpoint: str) -> str:
    """The Host header value for ``endpoint`` (what botocore signs and http.client sends)."""
    return urlsplit(endpoint).netloc


def sign(
    endpoint: str,
    body: bytes,
    *,
    target: str | None,
    service: str = "secretsmanager",
    region: str = "us-east-1",
    access_key_id: str = ROOT_ACCESS_KEY_ID,
    secret_access_key: str = ROOT_SECRET_ACCESS_KEY,
    method: str = "POST",
    path: str = "/",
    at: datetime | None = None,
    content_type: str | None = AMZ_JSON_1_1,
    extra_headers: dict[str, str] | None = None,
) -> Headers:
    """Headers for a request signed by botocore's SigV4Auth, as a botocore client signs them.

    ``target`` None leaves X-Amz-Target out of the request (and so out of SignedHeaders).
    ``at`` (naive UTC) signs as if the clock read that time, for expired-signature tests.
    ``extra_headers`` are added before signing, so they are signed too (botocore signs every
    header but User-Agent, Expect and X-Amzn-Trace-Id); a ``Date`` header makes botocore sign
    the time there instead of in X-Amz-Date.
    """
    headers = {"Host": host_of(endpoint)}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if target is not None:
        headers["X-Amz-Target"] = target
    headers.update(extra_headers or {})
    request = AWSRequest(method=method, url=f"{endpoint}{path}", data=body, headers=headers)
    signer = SigV4Auth(Credentials(access_key_id, secret_access_key), service, region)
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            signer.add_auth(request)
    return list(request.headers.items())


def replace_header(headers: Headers, name: str, value: str) -> Headers:
    """``headers`` with every ``name`` header (case-insensitive) replaced by one ``value``."""
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    return [*kept, (name, value)]


def drop_header(headers: Headers, name: str) -> Headers:
    return [(k, v) for k, v in headers if k.lower() != name.lower()]


def header_value(headers: Headers, name: str) -> str:
    return next(v for k, v in headers if k.lower() == name.lower())


# The server closes a keep-alive connection idle this long (uvicorn's default is 5 s); a
# connection idle longer than this is reopened before the next request rather than written
# to while the server may be closing it (on a loaded machine a fuzz's pause between two
# requests, hypothesis thinking or a fixture starting, can be that long).
IDLE_REOPEN_SECONDS = 4.0


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends exactly the headers it is given."""

    def __init__(self, endpoint: str, timeout: float = 30.0) -> None:
        parts = urlsplit(endpoint)
        assert parts.hostname is not None
        assert parts.port is not None
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self._last_used = time.monotonic()

    def send(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> RawResponse:
        """Send the request; repeated header names are sent repeated, in order.

        Content-Length is added (unsigned, as botocore does) unless ``headers`` has one.
        A closed connection (the server said ``Connection: close``) is reopened, and so is
        one idle for IDLE_REOPEN_SECONDS. A request that fails on the wire raises, and the
        connection is closed so that the next request starts on a fresh one.
        """
        if time.monotonic() - self._last_used > IDLE_REOPEN_SECONDS:
            self._conn.close()  # http.client connects again on the next request
        try:
            self._conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                self._conn.putheader(name, value)
            if not any(name.lower() == "content-length" for name, _ in headers):
                self._conn.putheader("Content-Length", str(len(body)))
            self._conn.endheaders(body)
            response = self._conn.getresponse()
            data = response.read()
        except BaseException:
            self._conn.close()
            raise
        finally:
            self._last_used = time.monotonic()
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return RawResponse(response.status, merged, data)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def post(
    endpoint: str, headers: Sequence[tuple[str, str]], body: bytes, path: str = "/"
) -> RawResponse:
    """POST on a fresh connection."""
    with RawConnection(endpoint) as conn:
        return conn.send("POST", path, headers, body)


def sign_and_post(
    endpoint: str,
    operation: str,
    document: dict[str, Any] | bytes,
    *,
    target_prefix: str = SM_TARGET_PREFIX,
    **sign_options: Any,
) -> RawResponse:
    """Sign ``prefix.operation`` with ``document`` (a dict is JSON-encoded) and POST it."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = sign(endpoint, body, target=f"{target_prefix}.{operation}", **sign_options)
    return post(endpoint, headers, body)


def _botocore_response(response: RawResponse) -> dict[str, Any]:
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": response.body,
    }


def botocore_parse(response: RawResponse, output_shape: Shape | None) -> dict[str, Any]:
    """What a boto3 client would make of ``response`` (JSON 1.1 protocol parser)."""
    parsed: dict[str, Any] = create_parser("json").parse(_botocore_response(response), output_shape)
    return parsed


def assert_aws_error(response: RawResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """Check an error response is one every AWS SDK can read; return its JSON body.

    * the status is ``status`` and the body is a JSON object with string ``__type`` and
      ``message`` (``code``, if given, is the ``__type``),
    * ``x-amzn-ErrorType`` carries the same code (rest-json parsers read only the header),
    * ``x-amzn-RequestId`` is a UUID, and botocore's JSON parser reports the same code and id.
    """
    assert response.status == status, (response.status, response.body)
    assert response.headers.get("content-type") == AMZ_JSON_1_1
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("__type"), str), body
    assert body["__type"], body
    assert isinstance(body.get("message"), str), body
    if code is not None:
        assert body["__type"] == code, body
    assert response.headers.get("x-amzn-errortype") == body["__type"]
    request_id = response.headers.get("x-amzn-requestid", "")
    uuid.UUID(request_id)  # raises if absent or malformed

    parsed = botocore_parse(response, None)
    assert parsed["Error"]["Code"] == body["__type"]
    assert parsed["Error"]["Message"] == body["message"]
    assert parsed["ResponseMetadata"]["RequestId"] == request_id
    header_only = RawResponse(response.status, response.headers, b"{}")
    from_header = create_parser("rest-json").parse(_botocore_response(header_only), None)
    assert from_header["Error"]["Code"] == body["__type"]
    return body
