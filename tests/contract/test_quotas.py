"""Per-tenant quotas on a real server: ThrottlingException with a retry hint for a tenant
over its request rate (JSON and query protocols), one audit event per throttled call, the
throttling metric, untagged callers never limited; count limits on secrets, keys and
secret versions answered with LimitExceededException."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.support.principals import ACCOUNT, Caller, allow, user
from tests.support.server import RunningServer, start_server

pytestmark = [pytest.mark.contract, pytest.mark.exclusive]

# A tier small enough to reach in a few calls; every tenant here is on it.
TINY = {
    "read_rate": 4,
    "write_rate": 4,
    "crypto_rate": 4,
    "burst_seconds": 1,
    "max_secrets": 3,
    "max_keys": 2,
    "max_secret_versions": 3,
}
SECRETS_OF = "arn:aws:secretsmanager:us-east-1:" + ACCOUNT + ":secret:/customer/{}/*"


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("quota-server"),
        "--tenant-tiers",
        json.dumps({"tiny": TINY}),
        "--default-tenant-tier",
        "tiny",
    )
    try:
        yield running
    finally:
        running.stop()


def tenant_reader(server: RunningServer, tenant: str) -> tuple[Caller, str]:
    """An IAM user bound to ``tenant`` that may read (and tag) its secret, and the name."""
    name = f"/customer/{tenant}/db"
    server.client("secretsmanager").create_secret(Name=name, SecretString="s3cr3t-value")
    caller = user(
        server,
        f"{tenant}-reader",
        policies={
            "use": allow(
                [
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:TagResource",
                    "kms:Decrypt",
                    "kms:GenerateRandom",
                    "sts:GetCallerIdentity",
                ],
                [SECRETS_OF.format(tenant), "*"],
            )
        },
        user_tags={"customer": tenant},
    )
    return caller, name


def client(caller: Caller, service: str) -> Any:
    """A client for ``caller`` that makes each call once: botocore's ``max_attempts`` would
    still retry a ThrottlingException once."""
    return boto3.client(
        service,
        endpoint_url=caller.endpoint,
        region_name="us-east-1",
        aws_access_key_id=caller.access_key_id,
        aws_secret_access_key=caller.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def until_throttled(call: Callable[[], Any], attempts: int = 40) -> tuple[int, ClientError]:
    """Call until refused; (calls that succeeded first, the refusal)."""
    for succeeded in range(attempts):
        try:
            call()
        except ClientError as error:
            return succeeded, error
    raise AssertionError(f"not throttled after {attempts} calls")


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_a_tenant_over_its_rate_gets_throttling_exception_with_a_retry_hint(
    quota_server: RunningServer,
) -> None:
    caller, name = tenant_reader(quota_server, "cust-r1")
    sm = client(caller, "secretsmanager")
    succeeded, error = until_throttled(lambda: sm.get_secret_value(SecretId=name))
    # The bucket holds 4 tokens (4/s for 1 s), plus what refilled meanwhile.
    assert 4 <= succeeded <= 8
    assert error_code(error) == "ThrottlingException"
    message = error.response["Error"]["Message"]
    assert message.startswith("Rate exceeded for tenant cust-r1 (read operations); retry after ")
    assert message.endswith(" seconds.")
    metadata = error.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 400
    assert metadata["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert metadata["HTTPHeaders"]["retry-after"] == "1"
    hint = float(message.removeprefix(message[: message.index("after ") + 6]).split()[0])
    assert 0 < hint <= 0.25
    time.sleep(hint + 0.05)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "s3cr3t-value"


def test_each_class_has_its_own_bucket(quota_server: RunningServer) -> None:
    caller, name = tenant_reader(quota_server, "cust-r2")
    sm = client(caller, "secretsmanager")
    until_throttled(lambda: sm.get_secret_value(SecretId=name))
    # Writes and KMS cryptography are counted apart from reads, and run out on their own.
    succeeded, error = until_throttled(
        lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "a"}])
    )
    assert succeeded >= 4
    assert "(write operations)" in error.response["Error"]["Message"]
    kms = client(caller, "kms")
    succeeded, error = until_throttled(lambda: kms.generate_random(NumberOfBytes=16))
    assert succeeded >= 4
    assert "(crypto operations)" in error.response["Error"]["Message"]
    # Another tenant is untouched by all of it.
    other, other_name = tenant_reader(quota_server, "cust-r2x")
    client(other, "secretsmanager").get_secret_value(SecretId=other_name)


def test_the_query_protocol_answers_throttling(quota_server: RunningServer) -> None:
    caller, _ = tenant_reader(quota_server, "cust-r3")
    sts = client(caller, "sts")
    succeeded, error = until_throttled(sts.get_caller_identity)
    assert succeeded >= 4
    assert error_code(error) == "Throttling"
    assert (
        "Rate exceeded for tenant cust-r3 (read operations)" in error.response["Error"]["Message"]
    )
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"


def events_of(server: RunningServer, caller: Caller) -> list[dict[str, Any]]:
    pages = (
        server.client("cloudtrail")
        .get_paginator("lookup_events")
        .paginate(
            LookupAttributes=[
                {"AttributeKey": "AccessKeyId", "AttributeValue": caller.access_key_id}
            ]
        )
    )
    return [json.loads(event["CloudTrailEvent"]) for page in pages for event in page["Events"]]


def test_a_throttled_call_has_exactly_one_audit_event(quota_server: RunningServer) -> None:
    caller, name = tenant_reader(quota_server, "cust-r4")
    sm = client(caller, "secretsmanager")
    _, error = until_throttled(lambda: sm.get_secret_value(SecretId=name))
    request_id = error.response["ResponseMetadata"]["RequestId"]
    # A throttled answer does not wait for its event (it carries nothing): the event is
    # durable within a group commit or so.
    deadline = time.monotonic() + 5
    while True:
        events = events_of(quota_server, caller)
        mine = [event for event in events if event["requestID"] == request_id]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(mine) == 1
    (event,) = mine
    assert event["eventName"] == "GetSecretValue"
    assert event["errorCode"] == "ThrottlingException"
    assert event["errorMessage"] == error.response["Error"]["Message"]
    assert event["userIdentity"]["arn"] == caller.arn
    assert sum(e.get("errorCode") is None for e in events) >= 4


def test_throttled_calls_are_counted_by_tenant_and_class(quota_server: RunningServer) -> None:
    caller, name = tenant_reader(quota_server, "cust-r5")
    sm = client(caller, "secretsmanager")
    until_throttled(lambda: sm.get_secret_value(SecretId=name))
    with urllib.request.urlopen(f"{quota_server.endpoint}/metrics", timeout=5) as response:  # noqa: S310
        body = response.read().decode()
    throttled = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "strongroom_throttled_requests_total"
    }
    assert throttled[(("operation_class", "read"), ("tenant", "cust-r5"))] == 1.0


def test_untagged_callers_are_not_rate_limited(quota_server: RunningServer) -> None:
    sm = quota_server.client("secretsmanager")
    name = "/customer/cust-r6/db"
    sm.create_secret(Name=name, SecretString="x")
    for _ in range(30):
        sm.get_secret_value(SecretId=name)


# -- count limits ----------------------------------------------------------------------


def test_a_tenant_cannot_have_more_secrets_than_its_quota(quota_server: RunningServer) -> None:
    sm = quota_server.client("secretsmanager")
    for n in range(3):
        sm.create_secret(Name=f"/customer/cust-c1/s{n}", SecretString="v")
    with pytest.raises(ClientError) as refused:
        sm.create_secret(Name="/customer/cust-c1/s3", SecretString="v")
    assert error_code(refused.value) == "LimitExceededException"
    assert "Tenant cust-c1 already has 3 secrets" in refused.value.response["Error"]["Message"]
    assert "max_secrets" in refused.value.response["Error"]["Message"]
    # A secret scheduled for deletion still exists, so it still counts ...
    sm.delete_secret(SecretId="/customer/cust-c1/s0", RecoveryWindowInDays=7)
    with pytest.raises(ClientError):
        sm.create_secret(Name="/customer/cust-c1/s3")
    # ... until it is deleted for good.
    sm.delete_secret(SecretId="/customer/cust-c1/s1", ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name="/customer/cust-c1/s3")
    # Other tenants and secrets outside any tenant are not affected.
    sm.create_secret(Name="/customer/cust-c2/s0")
    for n in range(4):
        sm.create_secret(Name=f"/shared/quota-test/s{n}")


def test_a_tenant_cannot_have_more_keys_than_its_quota(quota_server: RunningServer) -> None:
    kms = quota_server.client("kms")
    tag = [{"TagKey": "customer", "TagValue": "cust-k1"}]
    first = kms.create_key(Tags=tag)["KeyMetadata"]["KeyId"]
    kms.create_key(Tags=[{"TagKey": "Customer", "TagValue": "cust-k1"}])
    with pytest.raises(ClientError) as refused:
        kms.create_key(Tags=tag)
    assert error_code(refused.value) == "LimitExceededException"
    assert "Tenant cust-k1 already has 2 KMS keys" in refused.value.response["Error"]["Message"]
    # Pending deletion still counts.
    kms.schedule_key_deletion(KeyId=first, PendingWindowInDays=7)
    with pytest.raises(ClientError):
        kms.create_key(Tags=tag)
    kms.create_key()  # no tenant: no tenant quota


def test_a_tenant_callers_keys_are_its_tenants(quota_server: RunningServer) -> None:
    caller = user(
        quota_server,
        "cust-k2-admin",
        policies={"keys": allow(["kms:CreateKey", "kms:ListResourceTags"])},
        user_tags={"customer": "cust-k2"},
    )
    kms = client(caller, "kms")
    key_id = kms.create_key(Description="made by the tenant")["KeyMetadata"]["KeyId"]
    tags = quota_server.client("kms").list_resource_tags(KeyId=key_id)["Tags"]
    assert tags == [{"TagKey": "customer", "TagValue": "cust-k2"}]
    kms.create_key()
    with pytest.raises(ClientError) as refused:
        kms.create_key()
    assert error_code(refused.value) == "LimitExceededException"


def test_a_secret_cannot_keep_more_versions_than_its_quota(quota_server: RunningServer) -> None:
    sm = quota_server.client("secretsmanager")
    name = "/customer/cust-v1/rotated"
    sm.create_secret(Name=name, SecretString="v0")
    sm.put_secret_value(SecretId=name, SecretString="v1")
    sm.put_secret_value(SecretId=name, SecretString="v2")
    with pytest.raises(ClientError) as refused:
        sm.put_secret_value(SecretId=name, SecretString="v3")
    assert error_code(refused.value) == "LimitExceededException"
    message = refused.value.response["Error"]["Message"]
    assert "more than 3 versions" in message
    assert "max_secret_versions" in message
    with pytest.raises(ClientError) as also_refused:
        sm.update_secret(SecretId=name, SecretString="v3")
    assert error_code(also_refused.value) == "LimitExceededException"
    # Nothing changed: v2 is still current, and three versions exist.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 3
    # A day later the oldest unlabelled version may go, making room for the new one.
    quota_server.advance_clock(25 * 3600)
    sm.put_secret_value(SecretId=name, SecretString="v3")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v3"
    versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert len(versions) == 3


def test_tiers_are_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not one of the tiers"):
        start_server(tmp_path / "data", "--default-tenant-tier", "gold")
    with pytest.raises(RuntimeError, match="unknown quota setting"):
        start_server(tmp_path / "data2", "--tenant-tiers", '{"tiny": {"speed": 1}}')
