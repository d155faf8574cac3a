"""The one place where errors become AWS JSON 1.1 error responses."""

from __future__ import annotations

import json

from strongroom.errors import ServiceError

JSON_CONTENT_TYPE = b"application/x-amz-json-1.1"


def encode(error: ServiceError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) as botocore's JSON error parser reads them."""
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    headers = [
        (b"content-type", JSON_CONTENT_TYPE),
        (b"x-amzn-requestid", request_id.encode()),
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return error.status, headers, body
