"""CloudTrail LookupEvents through boto3's ``cloudtrail`` client against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.cli import signed_call
from tests.support.audit_trail import ROOT, audit_event, plant, quiet_region, recently
from tests.support.principals import ACCOUNT, user
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
)

pytestmark = pytest.mark.contract

KEY_TYPE = "AWS::KMS::Key"
SECRET_TYPE = "AWS::SecretsManager::Secret"
LOOKUP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}],
}


@pytest.fixture
def region() -> str:
    return quiet_region()


@pytest.fixture
def cloudtrail(server: RunningServer, region: str) -> Any:
    return server.client("cloudtrail", region=region)


@pytest.fixture
def unvalidated(server: RunningServer, region: str) -> Any:
    """A client that sends what it is given (botocore checks some limits itself)."""
    return server.client("cloudtrail", region=region, parameter_validation=False)


def _key_arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def _planted(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out the lookups themselves, which the server records like any call."""
    return [e for e in events if e["EventSource"] != "cloudtrail.amazonaws.com"]


def _all_events(client: Any, **parameters: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("lookup_events").paginate(**parameters):
        events.extend(page["Events"])
    return events


ALICE = UserIdentity(
    type="IAMUser",
    principal_id="AIDAALICE",
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    account_id=ACCOUNT,
    access_key_id="AKIAALICEPLANTED01",
    user_name="alice",
)
SESSION = UserIdentity(
    type="AssumedRole",
    principal_id="AROAAPP:nightly-job",
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/app/nightly-job",
    account_id=ACCOUNT,
    access_key_id="ASIANIGHTLYJOB0001",
    session_issuer_arn=f"arn:aws:iam::{ACCOUNT}:role/app",
    session_issuer_name="app",
)


@pytest.fixture
def planted(server: RunningServer, region: str) -> dict[str, AuditEvent]:
    """Four events, one per kind of caller and resource, a minute apart."""
    start = recently()
    key = AuditResource(_key_arn(region, "k-1"), KEY_TYPE, name="alias/app")
    events = {
        "get": audit_event(
            start,
            "GetSecretValue",
            source="secretsmanager.amazonaws.com",
            identity=ALICE,
            resources=[
                AuditResource(
                    f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:db-AbCdEf",
                    SECRET_TYPE,
                    name="db",
                )
            ],
            region=region,
        ),
        "decrypt": audit_event(
            start + timedelta(minutes=1),
            "Decrypt",
            identity=SESSION,
            resources=[key],
            request_parameters={"encryptionContext": {"tenant_id": "t1"}},
            region=region,
        ),
        "create": audit_event(
            start + timedelta(minutes=2),
            "CreateKey",
            read_only=False,
            resources=[key],
            region=region,
        ),
        "denied": audit_event(
            start + timedelta(minutes=3),
            "ListSecrets",
            source="secretsmanager.amazonaws.com",
            identity=ROOT,
            region=region,
        ),
    }
    plant(server, list(events.values()))
    return events


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("EventName", "Decrypt", ["decrypt"]),
        ("EventSource", "secretsmanager.amazonaws.com", ["denied", "get"]),
        ("ReadOnly", "false", ["create"]),
        ("ReadOnly", "true", ["denied", "decrypt", "get"]),
        ("Username", "alice", ["get"]),
        ("Username", "nightly-job", ["decrypt"]),  # an assumed role's session name
        ("Username", "root", ["denied", "create"]),
        ("AccessKeyId", "ASIANIGHTLYJOB0001", ["decrypt"]),
        ("ResourceType", KEY_TYPE, ["create", "decrypt"]),
        ("ResourceName", "db", ["get"]),  # the name the caller used
        ("ResourceName", "alias/app", ["create", "decrypt"]),
        ("ResourceName", "arn:aws:kms:{region}:" + ACCOUNT + ":key/k-1", ["create", "decrypt"]),
        ("EventName", "Encrypt", []),
    ],
)
def test_each_lookup_attribute(
    cloudtrail: Any,
    region: str,
    planted: dict[str, AuditEvent],
    key: str,
    value: str,
    expected: list[str],
) -> None:
    response = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value.format(region=region)}]
    )
    ids = {planted[name].event_id: name for name in planted}
    assert [ids[e["EventId"]] for e in response["Events"]] == expected
    assert "NextToken" not in response


def test_event_id_attribute_and_the_event_shape(
    cloudtrail: Any, region: str, planted: dict[str, AuditEvent]
) -> None:
    decrypt = planted["decrypt"]
    (found,) = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": decrypt.event_id}]
    )["Events"]
    assert found["EventId"] == decrypt.event_id
    assert found["EventName"] == "Decrypt"
    assert found["ReadOnly"] == "true"
    assert found["AccessKeyId"] == "ASIANIGHTLYJOB0001"
    assert found["Username"] == "nightly-job"
    assert found["EventSource"] == "kms.amazonaws.com"
    assert found["EventTime"] == decrypt.event_time
    assert sorted(found["Resources"], key=lambda r: r["ResourceName"]) == [
        {"ResourceType": KEY_TYPE, "ResourceName": "alias/app"},
        {"ResourceType": KEY_TYPE, "ResourceName": _key_arn(region, "k-1")},
    ]
    record = json.loads(found["CloudTrailEvent"])
    assert record == json.loads(json.dumps(decrypt.to_cloudtrail()))
    assert record["requestParameters"]["encryptionContext"] == {"tenant_id": "t1"}
    assert record["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == "app"


def test_without_attributes_every_event_of_the_region_newest_first(
    cloudtrail: Any, planted: dict[str, AuditEvent]
) -> None:
    events = cloudtrail.lookup_events()["Events"]
    assert [e["EventName"] for e in events] == [
        "ListSecrets",
        "CreateKey",
        "Decrypt",
        "GetSecretValue",
    ]
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)


def test_time_range_is_inclusive(cloudtrail: Any, planted: dict[str, AuditEvent]) -> None:
    decrypt, create = planted["decrypt"].event_time, planted["create"].event_time

    def names(**window: datetime) -> list[str]:
        return [e["EventName"] for e in _planted(cloudtrail.lookup_events(**window)["Events"])]

    assert names(StartTime=decrypt, EndTime=create) == ["CreateKey", "Decrypt"]
    assert names(StartTime=create) == ["ListSecrets", "CreateKey"]
    assert names(EndTime=decrypt) == ["Decrypt", "GetSecretValue"]
    assert names(StartTime=decrypt, EndTime=decrypt) == ["Decrypt"]
    assert (
        names(StartTime=create + timedelta(seconds=1), EndTime=create + timedelta(seconds=2)) == []
    )
    # A range and an attribute together.
    ranged = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceType", "AttributeValue": KEY_TYPE}],
        StartTime=create,
    )["Events"]
    assert [e["EventName"] for e in ranged] == ["CreateKey"]


def test_start_after_end_is_an_invalid_time_range(cloudtrail: Any) -> None:
    now = recently(0)
    code, message = _error(
        lambda: cloudtrail.lookup_events(StartTime=now, EndTime=now - timedelta(seconds=1))
    )
    assert code == "InvalidTimeRangeException"
    assert message
    with pytest.raises(cloudtrail.exceptions.InvalidTimeRangeException):
        cloudtrail.lookup_events(StartTime=now, EndTime=now - timedelta(days=1))


def test_pagination_through_more_than_fifty_events(
    server: RunningServer, cloudtrail: Any, region: str
) -> None:
    start = recently()
    secret = AuditResource(f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:hot-x", SECRET_TYPE)
    # 120 reads of one secret, several per second (so times tie), plus unrelated noise.
    reads = [
        audit_event(
            start + timedelta(seconds=i // 3),
            "GetSecretValue",
            source="secretsmanager.amazonaws.com",
            resources=[secret],
            region=region,
        )
        for i in range(120)
    ]
    noise = [audit_event(start, "Encrypt", region=region) for _ in range(10)]
    plant(server, reads[:60] + noise + reads[60:])
    by_secret = [{"AttributeKey": "ResourceName", "AttributeValue": secret.arn}]

    first = cloudtrail.lookup_events(LookupAttributes=by_secret)
    assert len(first["Events"]) == 50
    assert first["NextToken"]
    second = cloudtrail.lookup_events(LookupAttributes=by_secret, NextToken=first["NextToken"])
    third = cloudtrail.lookup_events(LookupAttributes=by_secret, NextToken=second["NextToken"])
    assert [len(page["Events"]) for page in (second, third)] == [50, 20]
    assert "NextToken" not in third
    ids = [e["EventId"] for page in (first, second, third) for e in page["Events"]]
    # Every read once, newest first (ties: the later appended first).
    assert ids == [e.event_id for e in reversed(reads)]

    # boto3's paginator (and MaxResults) walks the same events.
    paged = _all_events(cloudtrail, LookupAttributes=by_secret, PaginationConfig={"PageSize": 7})
    assert [e["EventId"] for e in paged] == ids
    assert len(_planted(_all_events(cloudtrail))) == 130


def test_a_token_only_continues_its_own_query(
    server: RunningServer, cloudtrail: Any, region: str
) -> None:
    start = recently()
    plant(
        server,
        [audit_event(start + timedelta(seconds=i), "Decrypt", region=region) for i in range(3)],
    )
    token = cloudtrail.lookup_events(MaxResults=1)["NextToken"]
    assert cloudtrail.lookup_events(MaxResults=1, NextToken=token)["Events"]
    other_region = server.client("cloudtrail", region=quiet_region())
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    refused: list[tuple[Any, dict[str, Any]]] = [
        (cloudtrail, {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x"}]}),
        (cloudtrail, {"StartTime": start}),
        (other_region, {}),
        (cloudtrail, {"NextToken": tampered}),
        (cloudtrail, {"NextToken": "bm90LWEtdG9rZW4"}),
        (cloudtrail, {"NextToken": "x" * 5000}),
    ]
    for client, parameters in refused:
        with pytest.raises(ClientError) as raised:
            client.lookup_events(**{"NextToken": token, **parameters})
        assert raised.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_a_tenant_bound_caller_sees_only_its_tenant(
    server: RunningServer, region: str, unique: str
) -> None:
    start = recently()
    shared = AuditResource(_key_arn(region, "shared"), KEY_TYPE)
    plant(
        server,
        [
            audit_event(start, "Decrypt", resources=[shared], tenant=f"a-{unique}", region=region),
            audit_event(start, "Decrypt", resources=[shared], tenant=f"b-{unique}", region=region),
            audit_event(start, "Encrypt", resources=[shared], tenant=f"b-{unique}", region=region),
            audit_event(start, "GenerateRandom", region=region),
        ],
    )
    tenant_a = user(
        server,
        f"a-{unique}",
        policies={"lookup": LOOKUP_POLICY},
        user_tags={"customer": f"a-{unique}"},
    ).client("cloudtrail", region=region)
    tenant_b = user(
        server,
        f"b-{unique}",
        policies={"lookup": LOOKUP_POLICY},
        user_tags={"customer": f"b-{unique}"},
    ).client("cloudtrail", region=region)
    root = server.client("cloudtrail", region=region)

    def tenants(client: Any, **parameters: Any) -> list[str]:
        return [
            json.loads(e["CloudTrailEvent"])["tenant"]
            for e in _planted(_all_events(client, **parameters))
        ]

    assert tenants(tenant_a) == [f"a-{unique}"]
    assert sorted(tenants(tenant_b)) == [f"b-{unique}", f"b-{unique}"]
    by_key = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": shared.arn}]}
    assert tenants(tenant_a, **by_key) == [f"a-{unique}"]
    by_name = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]}
    assert tenants(tenant_a, **by_name) == []
    assert len(tenants(root)) == 4


def test_lookup_is_authorized_like_any_call(
    server: RunningServer, region: str, unique: str
) -> None:
    nobody = user(server, f"nobody-{unique}").client("cloudtrail", region=region)
    code, message = _error(lambda: nobody.lookup_events())
    assert code == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in message
    denied = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "cloudtrail:LookupEvents", "Resource": "*"},
        ],
    }
    blocked = user(server, f"blocked-{unique}", policies={"p": denied}).client(
        "cloudtrail", region=region
    )
    assert _error(lambda: blocked.lookup_events())[0] == "AccessDeniedException"


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"MaxResults": 1000}, "InvalidMaxResultsException"),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "Decrypt"},
                    {"AttributeKey": "Username", "AttributeValue": "root"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "Tenant", "AttributeValue": "t1"}]},
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x" * 2001}]},
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]},
            "InvalidLookupAttributesException",
        ),
        ({"EventCategory": "management"}, "InvalidEventCategoryException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        # Required members and JSON types are the model's: AWS's ValidationException.
        ({"LookupAttributes": [{"AttributeKey": "EventName"}]}, "ValidationException"),
    ],
)
def test_invalid_inputs_get_aws_errors(
    unvalidated: Any, parameters: dict[str, Any], code: str
) -> None:
    found_code, message = _error(lambda: unvalidated.lookup_events(**parameters))
    assert found_code == code
    assert message


def test_modeled_exceptions_are_raised_as_their_classes(unvalidated: Any) -> None:
    with pytest.raises(unvalidated.exceptions.InvalidMaxResultsException):
        unvalidated.lookup_events(MaxResults=99)
    with pytest.raises(unvalidated.exceptions.InvalidLookupAttributesException):
        unvalidated.lookup_events(
            LookupAttributes=[{"AttributeKey": "Nope", "AttributeValue": "x"}]
        )
    with pytest.raises(unvalidated.exceptions.InvalidEventCategoryException):
        unvalidated.lookup_events(EventCategory="data")
    with pytest.raises(unvalidated.exceptions.InvalidNextTokenException):
        unvalidated.lookup_events(NextToken="x")


def test_insights_lookups_find_nothing(cloudtrail: Any, planted: dict[str, AuditEvent]) -> None:
    response = cloudtrail.lookup_events(
        EventCategory="insight",
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}],
    )
    assert response["Events"] == []


def test_other_cloudtrail_operations_are_not_served_yet(cloudtrail: Any) -> None:
    code, message = _error(lambda: cloudtrail.describe_trails())
    assert code == "UnknownOperationException"
    assert message == "The operation DescribeTrails is not supported by this server yet."


def test_lookups_must_be_signed_for_cloudtrail(server: RunningServer, region: str) -> None:
    # The kms signing name on a CloudTrail target is refused before anything runs.
    status, body = signed_call.post(
        server.endpoint,
        region,
        "kms",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        b"{}",
        Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
    )
    assert status == 400
    assert json.loads(body)["__type"] == "InvalidSignatureException"
    ok, _ = signed_call.post(
        server.endpoint,
        region,
        "cloudtrail",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        b"{}",
        Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
    )
    assert ok == 200


# -- events the server recorded itself --------------------------------------------------------


def test_real_calls_are_found_by_their_attributes(server: RunningServer, region: str) -> None:
    kms = server.client("kms", region=region)
    key = kms.create_key(Description="lookup test")["KeyMetadata"]
    context = {"tenant_id": "t1"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    cloudtrail = server.client("cloudtrail", region=region)

    def lookup(key_name: str, value: str) -> list[dict[str, Any]]:
        attribute = {"AttributeKey": key_name, "AttributeValue": value}
        return _all_events(cloudtrail, LookupAttributes=[attribute])

    (decrypt,) = lookup("EventName", "Decrypt")
    assert decrypt["Username"] == "root"
    assert decrypt["AccessKeyId"] == ROOT_ACCESS_KEY_ID
    assert decrypt["EventSource"] == "kms.amazonaws.com"
    assert decrypt["ReadOnly"] == "true"
    assert {"ResourceType": KEY_TYPE, "ResourceName": key["Arn"]} in decrypt["Resources"]
    record = json.loads(decrypt["CloudTrailEvent"])
    assert record["requestParameters"]["encryptionContext"] == context
    assert record["awsRegion"] == region

    by_key = [e["EventName"] for e in lookup("ResourceName", key["Arn"])]
    assert by_key[:2] == ["Decrypt", "Encrypt"]
    assert "CreateKey" in [e["EventName"] for e in lookup("ReadOnly", "false")]
    assert lookup("EventId", decrypt["EventId"])[0]["EventId"] == decrypt["EventId"]
    # Looking up is a call like any other: it is recorded too.
    own = lookup("EventSource", "cloudtrail.amazonaws.com")
    assert own
    assert {e["EventName"] for e in own} == {"LookupEvents"}


def test_real_calls_of_each_tenant_are_seen_by_that_tenant_only(
    server: RunningServer, region: str, unique: str
) -> None:
    callers = {}
    for name in ("a", "b"):
        tenant = f"{name}-{unique}"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"},
            ],
        }
        callers[tenant] = user(
            server, f"user-{tenant}", policies={"p": policy}, user_tags={"customer": tenant}
        )
        secrets = callers[tenant].client("secretsmanager", region=region)
        secrets.create_secret(Name=f"/customer/{tenant}/db", SecretString="value")
        secrets.get_secret_value(SecretId=f"/customer/{tenant}/db")
    tenant_a, tenant_b = callers
    # A cross-tenant attempt, refused by the tenant guard.
    with pytest.raises(ClientError):
        callers[tenant_a].client("secretsmanager", region=region).get_secret_value(
            SecretId=f"/customer/{tenant_b}/db"
        )
    for tenant, caller in callers.items():
        seen = _all_events(caller.client("cloudtrail", region=region))
        assert {json.loads(e["CloudTrailEvent"])["tenant"] for e in seen} == {tenant}
        names = [e["EventName"] for e in seen]
        assert "CreateSecret" in names
        assert "GetSecretValue" in names
    everything = _all_events(server.client("cloudtrail", region=region))
    tenants = {json.loads(e["CloudTrailEvent"])["tenant"] for e in everything}
    assert {tenant_a, tenant_b} <= tenants
