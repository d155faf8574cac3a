"""The one place where errors become AWS error responses (JSON 1.1 and query XML)."""

from __future__ import annotations

import json

from strongroom.errors import (
    AccessDeniedException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    ServiceError,
    SignatureExpiredException,
    ThrottlingException,
    UnknownOperationException,
    UnrecognizedClientException,
    ValidationException,
)
from strongroom.server.aws_query import XML_CONTENT_TYPE, xml_text

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
    _retry_after(error, headers)
    return error.status, headers, body


def _retry_after(error: ServiceError, headers: list[tuple[bytes, bytes]]) -> None:
    """A throttled call says when to come back (whole seconds, as HTTP has it)."""
    if isinstance(error, ThrottlingException):
        headers.append((b"retry-after", str(error.retry_after).encode()))


# -- AWS query protocol (IAM, STS) --------------------------------------------------------

# The codes the query services answer where the JSON services' classes say otherwise; the
# first matching class wins (SignatureExpiredException before InvalidSignatureException).
_QUERY_CODES: tuple[tuple[type[ServiceError], str, int], ...] = (
    (ValidationException, "ValidationError", 400),
    (AccessDeniedException, "AccessDenied", 403),
    (UnknownOperationException, "InvalidAction", 400),
    (SignatureExpiredException, "RequestExpired", 400),
    (InvalidSignatureException, "SignatureDoesNotMatch", 403),
    (UnrecognizedClientException, "InvalidClientTokenId", 403),
    (IncompleteSignatureException, "IncompleteSignature", 400),
    (MissingAuthenticationTokenException, "MissingAuthenticationToken", 403),
    (ThrottlingException, "Throttling", 400),
)


def query_code(error: ServiceError) -> tuple[str, int]:
    """(code, status) of ``error`` as an IAM or STS endpoint answers it."""
    for error_class, code, status in _QUERY_CODES:
        if isinstance(error, error_class):
            return code, status
    return error.code, error.status


def encode_query(
    error: ServiceError, request_id: str, namespace: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) as botocore's QueryParser reads an ErrorResponse."""
    code, status = query_code(error)
    fault = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{xml_text(namespace)}"><Error><Type>{fault}</Type>'
        f"<Code>{xml_text(code)}</Code><Message>{xml_text(error.message)}</Message></Error>"
        f"<RequestId>{xml_text(request_id)}</RequestId></ErrorResponse>"
    ).encode()
    headers = [
        (b"content-type", XML_CONTENT_TYPE),
        (b"x-amzn-requestid", request_id.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    _retry_after(error, headers)
    return status, headers, body
