"""The AWS CLI's ``cloudtrail lookup-events`` against a real server, as the issue's users run it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from strongroom.audit.events import AuditEvent, AuditResource
from tests.support.audit_trail import audit_event, plant, quiet_region, recently
from tests.support.principals import ACCOUNT
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract

CLI_V1_ERROR_EXIT = 255
BY_DECRYPT = "AttributeKey=EventName,AttributeValue=Decrypt"


def aws(aws_env: dict[str, str], region: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``aws cloudtrail <args> --region <region>`` as a child process; never raises."""
    return subprocess.run(
        [sys.executable, "-m", "awscli", "cloudtrail", *args, "--region", region],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def aws_json(aws_env: dict[str, str], region: str, *args: str) -> Any:
    result = aws(aws_env, region, *args, "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def region() -> str:
    return quiet_region()


@pytest.fixture
def decrypts(server: RunningServer, region: str) -> list[AuditEvent]:
    """60 Decrypts (one in ten without an encryption context) among other calls."""
    start = recently()
    key = AuditResource(f"arn:aws:kms:{region}:{ACCOUNT}:key/k-cli", "AWS::KMS::Key")
    decrypts = [
        audit_event(
            start + timedelta(seconds=i),
            "Decrypt",
            resources=[key],
            request_parameters={
                "keyId": key.arn,
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                **({} if i % 10 == 3 else {"encryptionContext": {"tenant_id": f"t{i % 4}"}}),
            },
            region=region,
        )
        for i in range(60)
    ]
    others = [
        audit_event(start + timedelta(seconds=i), name, resources=[key], region=region)
        for i, name in enumerate(["Encrypt", "GenerateDataKey", "DescribeKey"])
    ]
    plant(server, decrypts[:30] + others + decrypts[30:])
    return decrypts


def test_lookup_events_by_event_name_returns_the_decrypt_events(
    aws_env: dict[str, str], region: str, decrypts: list[AuditEvent]
) -> None:
    # The CLI follows NextToken by itself: all 60 come back, in two pages of the server's.
    found = aws_json(aws_env, region, "lookup-events", "--lookup-attributes", BY_DECRYPT)
    assert [e["EventId"] for e in found["Events"]] == [d.event_id for d in reversed(decrypts)]
    assert {e["EventName"] for e in found["Events"]} == {"Decrypt"}
    assert "NextToken" not in found


def test_every_decrypt_carried_an_encryption_context_check(
    aws_env: dict[str, str], region: str, decrypts: list[AuditEvent]
) -> None:
    """The compliance check from the issue: which Decrypts had no encryption context?"""
    result = aws(
        aws_env,
        region,
        "lookup-events",
        "--lookup-attributes",
        BY_DECRYPT,
        "--query",
        "Events[].CloudTrailEvent",
        "--output",
        "json",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(text) for text in json.loads(result.stdout)]
    without = [r["eventID"] for r in records if "encryptionContext" not in r["requestParameters"]]
    assert sorted(without) == sorted(
        d.event_id for d in decrypts if "encryptionContext" not in (d.request_parameters or {})
    )
    assert len(without) == 6


def test_time_range_and_paging_options(
    aws_env: dict[str, str], region: str, decrypts: list[AuditEvent]
) -> None:
    window = aws_json(
        aws_env,
        region,
        "lookup-events",
        "--lookup-attributes",
        BY_DECRYPT,
        "--start-time",
        decrypts[10].event_time.isoformat(),
        "--end-time",
        decrypts[19].event_time.isoformat(),
    )
    assert [e["EventId"] for e in window["Events"]] == [
        d.event_id for d in reversed(decrypts[10:20])
    ]
    # The lookups themselves are recorded (source cloudtrail): page through the KMS events.
    by_source = ("--lookup-attributes", "AttributeKey=EventSource,AttributeValue=kms.amazonaws.com")
    first = aws_json(
        aws_env, region, "lookup-events", *by_source, "--max-items", "5", "--page-size", "3"
    )
    assert len(first["Events"]) == 5
    rest = aws_json(
        aws_env,
        region,
        "lookup-events",
        *by_source,
        "--page-size",
        "3",
        "--starting-token",
        first["NextToken"],
    )
    ids = [e["EventId"] for e in first["Events"] + rest["Events"]]
    assert len(ids) == len(set(ids)) == 63


def test_text_output_lists_the_events(
    aws_env: dict[str, str], region: str, decrypts: list[AuditEvent]
) -> None:
    result = aws(
        aws_env,
        region,
        "lookup-events",
        "--lookup-attributes",
        BY_DECRYPT,
        "--query",
        "Events[].[EventId,EventName,Username]",
        "--output",
        "text",
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0] == [decrypts[-1].event_id, "Decrypt", "root"]
    assert len(rows) == 60


def test_cli_errors_are_cloudtrails(aws_env: dict[str, str], region: str) -> None:
    two = aws(
        aws_env,
        region,
        "lookup-events",
        "--lookup-attributes",
        BY_DECRYPT,
        "AttributeKey=Username,AttributeValue=root",
    )
    assert two.returncode == CLI_V1_ERROR_EXIT
    assert "(InvalidLookupAttributesException)" in two.stderr
    backwards = aws(
        aws_env,
        region,
        "lookup-events",
        "--start-time",
        "2026-01-02T00:00:00Z",
        "--end-time",
        "2026-01-01T00:00:00Z",
    )
    assert backwards.returncode == CLI_V1_ERROR_EXIT
    assert "(InvalidTimeRangeException)" in backwards.stderr


def test_the_cli_finds_the_decrypts_the_server_recorded(
    aws_env: dict[str, str], server: RunningServer, region: str
) -> None:
    kms = server.client("kms", region=region)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with_context = kms.encrypt(KeyId=key_id, Plaintext=b"a", EncryptionContext={"tenant_id": "t9"})
    without_context = kms.encrypt(KeyId=key_id, Plaintext=b"b")
    kms.decrypt(
        CiphertextBlob=with_context["CiphertextBlob"], EncryptionContext={"tenant_id": "t9"}
    )
    kms.decrypt(CiphertextBlob=without_context["CiphertextBlob"])

    found = aws_json(aws_env, region, "lookup-events", "--lookup-attributes", BY_DECRYPT)
    records = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    assert [r["eventName"] for r in records] == ["Decrypt", "Decrypt"]
    # Newest first: the Decrypt without an encryption context is the one to flag.
    assert "encryptionContext" not in (records[0]["requestParameters"] or {})
    assert records[1]["requestParameters"]["encryptionContext"] == {"tenant_id": "t9"}
