"""Send one SigV4-signed request (JSON 1.1 or AWS query) with the caller's AWS credentials."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from urllib.parse import urlencode

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
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return _send(endpoint, region, service, headers, body, credentials)


def post_query(
    endpoint: str,
    region: str,
    service: str,
    action: str,
    params: Mapping[str, str],
    credentials: Credentials | None = None,
) -> tuple[int, bytes]:
    """An AWS query-protocol call (``iam``, ``sts``): ``params`` are the form parameters
    besides Action and Version (e.g. ``{"Tags.member.1.Key": "customer"}``); the body
    answered is XML."""
    version = botocore.session.get_session().get_service_model(service).api_version
    body = urlencode({"Action": action, "Version": version, **params}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return _send(endpoint, region, service, headers, body, credentials)


def _send(
    endpoint: str,
    region: str,
    service: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials | None,
) -> tuple[int, bytes]:
    credentials = credentials or botocore.session.get_session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    url = endpoint.rstrip("/") + "/"
    if not url.startswith(("http://", "https://")):
        raise ValueError("the endpoint must be an http(s) URL")
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, service, region).add_auth(request)
    prepared = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
