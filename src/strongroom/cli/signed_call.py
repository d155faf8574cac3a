"""Send one SigV4-signed JSON 1.1 request with the caller's AWS credentials (botocore signs)."""

from __future__ import annotations

import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def post(
    endpoint: str,
    region: str,
    service: str,
    target: str,
    body: bytes,
    credentials: Credentials | None = None,
) -> tuple[int, bytes]:
    """(status, body); ``credentials`` default to botocore's usual chain (AWS_* etc.)."""
    credentials = credentials or botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    url = endpoint.rstrip("/") + "/"
    if not url.startswith(("http://", "https://")):
        raise ValueError("the endpoint must be an http(s) URL")
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(credentials, service, region).add_auth(request)
    prepared = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
