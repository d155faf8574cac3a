"""The caller's address is the TCP peer's: forwarding headers cannot choose it.

``aws:SourceIp`` conditions and the audit trail's ``sourceIPAddress`` both read it, so a
client that could name its own address (``X-Forwarded-For``, ``Forwarded``,
``X-Real-IP``) could pass an IP-restricted policy and plant a false address in the trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import principals
from tests.support.audit_records import for_request
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

ALLOWED_NETWORK = "203.0.113.0/24"
SPOOFED = "203.0.113.7"
FORWARDING_HEADERS = {
    "X-Forwarded-For": SPOOFED,
    "X-Forwarded-Proto": "https",
    "Forwarded": f"for={SPOOFED};proto=https",
    "X-Real-IP": SPOOFED,
}


def with_forwarding_headers(client: Any) -> Any:
    def add(request: Any, **_: Any) -> None:
        for name, value in FORWARDING_HEADERS.items():
            request.headers[name] = value

    client.meta.events.register_first("before-sign.*.*", add)
    return client


def test_forwarding_headers_do_not_pass_a_source_ip_condition(
    server: RunningServer, unique: str
) -> None:
    name = f"source-ip/{unique}"
    server.client("secretsmanager").create_secret(Name=name, SecretString="s3cret")
    caller = principals.user(
        server,
        f"source-ip-{unique}",
        policies={
            "from-the-office-only": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {"IpAddress": {"aws:SourceIp": ALLOWED_NETWORK}},
                    }
                ],
            }
        },
    )
    client = with_forwarding_headers(caller.client("secretsmanager"))

    with pytest.raises(ClientError) as refused:
        client.get_secret_value(SecretId=name)

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    request_id = refused.value.response["ResponseMetadata"]["RequestId"]
    [event] = for_request(server, request_id)
    assert event["sourceIPAddress"] == "127.0.0.1"
    assert event["errorCode"] == "AccessDeniedException"


def test_the_audit_trail_records_the_peer_not_the_forwarded_address(
    server: RunningServer, unique: str
) -> None:
    name = f"source-ip/{unique}"
    client = with_forwarding_headers(server.client("secretsmanager"))

    created = client.create_secret(Name=name, SecretString="s3cret")
    read = client.get_secret_value(SecretId=name)

    for response in (created, read):
        [event] = for_request(server, response["ResponseMetadata"]["RequestId"])
        assert event["sourceIPAddress"] == "127.0.0.1"


def test_a_trusted_proxy_names_the_client(tmp_path: Path, unique: str) -> None:
    """Behind a reverse proxy the operator names it, and only then do its headers count."""
    proxied = start_server(tmp_path / "data", "--forwarded-allow-ips", "127.0.0.1")
    try:
        client = with_forwarding_headers(proxied.client("secretsmanager"))
        created = client.create_secret(Name=f"proxied/{unique}", SecretString="s3cret")
        [event] = for_request(proxied, created["ResponseMetadata"]["RequestId"])
        assert event["sourceIPAddress"] == SPOOFED
    finally:
        proxied.stop()
