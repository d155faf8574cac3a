"""Every call, allowed or denied, authenticated or not, leaves exactly one CloudTrail event.

A sweep sends every operation the server serves (the list comes from the dispatcher, so a
new operation cannot be forgotten) with model-generated parameters, then checks each
request's event against the response the client got. Scenario tests check what only a
successful or particular call shows: resources, tenants, identities, extra events.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import Shape

from strongroom import bootstrap
from strongroom.audit.event_builder import is_read_only
from strongroom.server.dispatch import DEV_SIGNING_NAME, DEV_TARGET_PREFIX
from strongroom.settings import Settings
from tests.support import principals
from tests.support.audit_records import for_request, records, verify_chain
from tests.support.principals import ACCOUNT
from tests.support.raw_http import sign_and_post
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)

pytestmark = pytest.mark.contract

REGION = "us-east-1"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
# Run last, on their own: they wipe the server's state.
DESTRUCTIVE = {(DEV_SIGNING_NAME, "ResetDevState")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("audit-events") / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """(signing name, operation) of everything a dev server serves, from its dispatcher."""
    settings = Settings(dev=True, data_dir=tmp_path_factory.mktemp("dispatcher") / "data")
    application = bootstrap.build(settings)
    try:
        assert application.dispatcher is not None
        return application.dispatcher.operations()
    finally:
        application.close()


# -- model-generated parameters -------------------------------------------------------------


def _value(name: str, shape: Shape, depth: int = 0) -> Any:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        return {
            member: _value(member, shape.members[member], depth + 1)
            for member in shape.required_members
        }
    if kind == "list":
        count = int(meta.get("min", 0))
        return [_value(name, shape.member, depth + 1) for _ in range(count)]
    if kind == "map":
        count = int(meta.get("min", 0))
        return {f"k{i}": _value(name, shape.value, depth + 1) for i in range(count)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        text = f"arn:aws:iam::{ACCOUNT}:policy/auditsweep" if name.endswith("Arn") else "auditsweep"
        low, high = int(meta.get("min", 1)), int(meta.get("max", 2048))
        return (text + "x" * max(0, low - len(text)))[:high]
    if kind in ("integer", "long"):
        low = int(meta.get("min", 1))
        return max(low, min(1, int(meta.get("max", 1))))
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"x" * max(1, int(meta.get("min", 1)))
    if kind == "timestamp":
        return datetime.now(UTC)
    if kind in ("float", "double"):
        return 1.0
    return "auditsweep"


def sweep_parameters(service: str, operation: str) -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    return {} if shape is None else dict(_value(operation, shape))


def call(client: Any, operation: str, params: dict[str, Any]) -> tuple[str, str | None]:
    """(request id, error code or None) of one call."""
    try:
        response = getattr(client, xform_name(operation))(**params)
    except ClientError as error:
        metadata = error.response["ResponseMetadata"]
        return metadata["RequestId"], error.response["Error"]["Code"]
    return response["ResponseMetadata"]["RequestId"], None


def check_event(
    event: dict[str, Any],
    *,
    service: str,
    operation: str,
    error_code: str | None,
    identity_type: str = "Root",
    access_key_id: str = ROOT_ACCESS_KEY_ID,
    region: str = REGION,
) -> None:
    assert event["eventName"] == operation
    assert event["eventSource"] == f"{service}.amazonaws.com"
    assert event["awsRegion"] == region
    assert event["readOnly"] is is_read_only(operation)
    assert event.get("errorCode") == error_code
    assert event["eventType"] == "AwsApiCall"
    assert event["eventVersion"] == "1.08"
    assert event["recipientAccountId"] == ACCOUNT
    identity = event["userIdentity"]
    assert identity["type"] == identity_type
    assert identity.get("accessKeyId") == access_key_id
    if identity_type == "Root":
        assert identity["arn"] == ROOT_ARN
    datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%SZ")


def only_event(server: RunningServer, request_id: str) -> dict[str, Any]:
    found = for_request(server, request_id)
    assert len(found) == 1, found
    return found[0]


# -- the sweep ------------------------------------------------------------------------------


def test_every_served_operation_leaves_exactly_one_event(
    server: RunningServer, served: list[tuple[str, str]]
) -> None:
    services = {service for service, _ in served}
    assert {"secretsmanager", "kms", "iam", "sts", "cloudtrail"} <= services
    clients = {s: server.client(s) for s in services if s != DEV_SIGNING_NAME}
    sent: list[tuple[str, str, str, str | None]] = []
    for service, operation in served:
        if (service, operation) in DESTRUCTIVE:
            continue
        if service == DEV_SIGNING_NAME:
            document = {"Seconds": 0} if operation == "AdvanceClock" else {}
            response = sign_and_post(
                server.endpoint,
                operation,
                document,
                target_prefix=DEV_TARGET_PREFIX,
                service=DEV_SIGNING_NAME,
            )
            code = None if response.status == 200 else response.json()["__type"]
            sent.append((service, operation, response.headers["x-amzn-requestid"], code))
            continue
        request_id, code = call(clients[service], operation, sweep_parameters(service, operation))
        sent.append((service, operation, request_id, code))
    assert len(sent) >= 130
    by_request: dict[str, list[dict[str, Any]]] = {}
    for record in records(server, alarms=False):
        by_request.setdefault(record["requestID"], []).append(record)
    for service, operation, request_id, code in sent:
        events = by_request.get(request_id, [])
        main = [e for e in events if e["eventName"] == operation]
        assert len(main) == 1, (operation, events)
        # Only BatchGetSecretValue adds events of its own (one per secret it read).
        others = [e["eventName"] for e in events if e is not main[0]]
        assert set(others) <= {"GetSecretValue"}, (operation, events)
        assert operation == "BatchGetSecretValue" or not others, (operation, events)
        check_event(main[0], service=service, operation=operation, error_code=code)


# -- scenarios ------------------------------------------------------------------------------


def test_secret_calls_name_their_secret_and_tenant(server: RunningServer, unique: str) -> None:
    sm = server.client("secretsmanager")
    name = f"/customer/acme/db-{unique}"
    created = sm.create_secret(Name=name, SecretString=f"value-{unique}")
    arn = created["ARN"]
    event = only_event(server, created["ResponseMetadata"]["RequestId"])
    check_event(event, service="secretsmanager", operation="CreateSecret", error_code=None)
    assert event["requestParameters"]["name"] == name
    assert "secretString" not in event["requestParameters"]
    assert event["resources"] == [
        {"accountId": ACCOUNT, "type": "AWS::SecretsManager::Secret", "ARN": arn}
    ]
    assert event["tenant"] == "acme"

    read = sm.get_secret_value(SecretId=name)
    event = only_event(server, read["ResponseMetadata"]["RequestId"])
    assert read["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == event["requestID"]
    check_event(event, service="secretsmanager", operation="GetSecretValue", error_code=None)
    assert event["requestParameters"] == {"secretId": name}
    assert event["responseElements"] is None
    # Only the secret: the KMS key Secrets Manager opened it with is the service's use.
    assert [r["ARN"] for r in event["resources"]] == [arn]
    assert event["tenant"] == "acme"

    put = sm.put_secret_value(SecretId=arn, SecretString=f"value-2-{unique}")
    event = only_event(server, put["ResponseMetadata"]["RequestId"])
    check_event(event, service="secretsmanager", operation="PutSecretValue", error_code=None)
    assert event["requestParameters"]["secretId"] == arn

    with pytest.raises(ClientError) as missing:
        sm.get_secret_value(SecretId=f"no-such-{unique}")
    event = only_event(server, missing.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="secretsmanager",
        operation="GetSecretValue",
        error_code="ResourceNotFoundException",
    )
    assert event["errorMessage"] == missing.value.response["Error"]["Message"]
    assert event["resources"] == []


def test_batch_get_secret_value_logs_one_get_secret_value_per_secret(
    server: RunningServer, unique: str
) -> None:
    sm = server.client("secretsmanager")
    arns = [
        sm.create_secret(Name=f"batch-{unique}-{i}", SecretString=f"v{i}")["ARN"] for i in range(3)
    ]
    batch = sm.batch_get_secret_value(SecretIdList=arns)
    assert len(batch["SecretValues"]) == 3
    events = for_request(server, batch["ResponseMetadata"]["RequestId"])
    assert (
        sorted(e["eventName"] for e in events) == ["BatchGetSecretValue"] + ["GetSecretValue"] * 3
    )
    reads = [e for e in events if e["eventName"] == "GetSecretValue"]
    assert sorted(e["requestParameters"]["secretId"] for e in reads) == sorted(arns)
    for read in reads:
        check_event(read, service="secretsmanager", operation="GetSecretValue", error_code=None)
        assert [r["ARN"] for r in read["resources"]] == [read["requestParameters"]["secretId"]]
    main = next(e for e in events if e["eventName"] == "BatchGetSecretValue")
    assert {r["ARN"] for r in main["resources"]} >= set(arns)


def test_batch_reads_a_caller_may_not_make_are_logged_as_refused(
    server: RunningServer, unique: str
) -> None:
    sm = server.client("secretsmanager")
    allowed = sm.create_secret(Name=f"ok-{unique}", SecretString="v")["ARN"]
    refused = sm.create_secret(Name=f"no-{unique}", SecretString="v")["ARN"]
    reader = principals.user(
        server,
        f"batch-reader-{unique}",
        policies={
            "read": principals.allow(["secretsmanager:GetSecretValue"], allowed),
            "batch": principals.allow(["secretsmanager:BatchGetSecretValue"]),
        },
    )
    batch = reader.client("secretsmanager").batch_get_secret_value(SecretIdList=[allowed, refused])
    assert [e["ErrorCode"] for e in batch["Errors"]] == ["AccessDeniedException"]
    events = for_request(server, batch["ResponseMetadata"]["RequestId"])
    reads = {
        e["requestParameters"]["secretId"]: e for e in events if e["eventName"] == "GetSecretValue"
    }
    assert set(reads) == {allowed, refused}
    assert "errorCode" not in reads[allowed]
    assert reads[refused]["errorCode"] == "AccessDeniedException"
    assert reads[refused]["userIdentity"]["type"] == "IAMUser"


def test_kms_events_carry_the_key_and_encryption_context(server: RunningServer) -> None:
    kms = server.client("kms")
    created = kms.create_key(Description="audit")
    key = created["KeyMetadata"]
    event = only_event(server, created["ResponseMetadata"]["RequestId"])
    check_event(event, service="kms", operation="CreateKey", error_code=None)
    context = {"tenant_id": "acme", "purpose": "audit"}
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p", EncryptionContext=context)
    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext=context)
    event = only_event(server, decrypted["ResponseMetadata"]["RequestId"])
    check_event(event, service="kms", operation="Decrypt", error_code=None)
    assert event["requestParameters"]["encryptionContext"] == context
    assert "ciphertextBlob" not in event["requestParameters"]
    assert {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key["Arn"]} in event["resources"]
    data_key = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    event = only_event(server, data_key["ResponseMetadata"]["RequestId"])
    assert event["requestParameters"] == {"keyId": key["Arn"], "keySpec": "AES_256"}
    assert event["readOnly"] is True


def test_denied_calls_name_the_caller_and_the_resource(server: RunningServer, unique: str) -> None:
    arn = server.client("secretsmanager").create_secret(Name=f"guarded-{unique}", SecretString="v")[
        "ARN"
    ]
    nobody = principals.user(server, f"nobody-{unique}")
    with pytest.raises(ClientError) as denied:
        nobody.client("secretsmanager").get_secret_value(SecretId=arn)
    event = only_event(server, denied.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="secretsmanager",
        operation="GetSecretValue",
        error_code="AccessDeniedException",
        identity_type="IAMUser",
        access_key_id=nobody.access_key_id,
    )
    assert event["userIdentity"]["userName"] == f"nobody-{unique}"
    assert event["userIdentity"]["arn"] == nobody.arn
    assert [r["ARN"] for r in event["resources"]] == [arn]
    # The query protocol's code, as IAM answers it.
    with pytest.raises(ClientError) as iam_denied:
        nobody.client("iam").list_users()
    event = only_event(server, iam_denied.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="iam",
        operation="ListUsers",
        error_code="AccessDenied",
        identity_type="IAMUser",
        access_key_id=nobody.access_key_id,
    )


def test_assumed_role_sessions_carry_their_session_context(
    server: RunningServer, unique: str
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
    role_arn = principals.role(
        server,
        f"reader-{unique}",
        policies={"all": principals.allow(["secretsmanager:*"])},
        trust=trust,
    )
    admin = principals.user(server, f"admin-{unique}", policies={"all": principals.allow(["*"])})
    session = principals.assume(
        admin,
        role_arn,
        "worker-1",
        session_tags={"team": "payments"},
        SourceIdentity=f"alice-{unique}",
    )
    assumed_event = [
        e
        for e in records(server, alarms=False)
        if e["eventName"] == "AssumeRole" and e["userIdentity"].get("arn") == admin.arn
    ]
    assert len(assumed_event) == 1
    assert assumed_event[0]["requestParameters"]["roleSessionName"] == "worker-1"
    assert assumed_event[0]["readOnly"] is False
    listed = session.client("secretsmanager").list_secrets()
    event = only_event(server, listed["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="secretsmanager",
        operation="ListSecrets",
        error_code=None,
        identity_type="AssumedRole",
        access_key_id=session.access_key_id,
    )
    identity = event["userIdentity"]
    assert identity["arn"] == session.arn
    context = identity["sessionContext"]
    assert context["sessionIssuer"]["arn"] == role_arn
    assert context["sessionIssuer"]["userName"] == f"reader-{unique}"
    assert context["sessionTags"] == {"team": "payments"}
    assert context["sourceIdentity"] == f"alice-{unique}"
    datetime.strptime(context["attributes"]["creationDate"], "%Y-%m-%dT%H:%M:%SZ")


def test_unauthenticated_calls_are_logged_with_the_key_they_named(
    server: RunningServer, unique: str
) -> None:
    stranger = boto3.client(
        "secretsmanager",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIASTRANGER00000001",
        aws_secret_access_key="not-a-secret-anyone-issued-000000000",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as unknown_key:
        stranger.get_secret_value(SecretId=f"anything-{unique}")
    event = only_event(server, unknown_key.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="secretsmanager",
        operation="GetSecretValue",
        error_code="UnrecognizedClientException",
        identity_type="Unknown",
        access_key_id="AKIASTRANGER00000001",
    )
    assert "arn" not in event["userIdentity"]
    assert event["requestParameters"] is None  # never parsed

    forger = boto3.client(
        "kms",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY + "-wrong",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as bad_signature:
        forger.list_keys()
    event = only_event(server, bad_signature.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="kms",
        operation="ListKeys",
        error_code="InvalidSignatureException",
        identity_type="Unknown",
    )

    query_stranger = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIASTRANGER00000002",
        aws_secret_access_key="not-a-secret-anyone-issued-000000000",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as sts_refused:
        query_stranger.get_caller_identity()
    event = only_event(server, sts_refused.value.response["ResponseMetadata"]["RequestId"])
    check_event(
        event,
        service="sts",
        operation="GetCallerIdentity",
        error_code="InvalidClientTokenId",
        identity_type="Unknown",
        access_key_id="AKIASTRANGER00000002",
    )


def test_unknown_operations_and_unsigned_requests_are_logged(server: RunningServer) -> None:
    response = sign_and_post(server.endpoint, "NoSuchOperation", {})
    assert response.status == 400
    event = only_event(server, response.headers["x-amzn-requestid"])
    check_event(
        event,
        service="secretsmanager",
        operation="NoSuchOperation",
        error_code="UnknownOperationException",
    )
    request = urllib.request.Request(  # noqa: S310 - the local test server
        server.endpoint + "/",
        data=b"{}",
        headers={"X-Amz-Target": "TrentService.ListKeys"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - local test server
    request_id = unsigned.value.headers["x-amzn-requestid"]
    unsigned.value.close()
    event = only_event(server, request_id)
    assert event["eventName"] == "ListKeys"
    assert event["eventSource"] == "kms.amazonaws.com"
    assert event["userIdentity"] == {"type": "Unknown"}
    assert event["errorCode"]


def test_tenant_guard_refusals_are_filed_under_the_callers_tenant(
    server: RunningServer, unique: str
) -> None:
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name=f"/customer/globex/{unique}", SecretString="v")["ARN"]
    acme = principals.user(
        server,
        f"acme-svc-{unique}",
        policies={"all": principals.allow(["secretsmanager:*"])},
        user_tags={"customer": "acme"},
    )
    with pytest.raises(ClientError) as refused:
        acme.client("secretsmanager").get_secret_value(SecretId=arn)
    request_id = refused.value.response["ResponseMetadata"]["RequestId"]
    event = only_event(server, request_id)
    assert event["errorCode"] == "AccessDeniedException"
    assert "tenant guard" in event["errorMessage"]
    # Filed under the caller's tenant: globex's lookups never show acme's principals.
    assert event["tenant"] == "acme"
    assert event["resources"][0]["ARN"] == arn
    # The refusal set off the TenantGuardRefusal alarm, written to the trail soon after.
    deadline = time.monotonic() + 10
    alarms: list[dict[str, Any]] = []
    while not alarms and time.monotonic() < deadline:
        alarms = [
            r
            for r in records(server)
            if r["eventType"] == "StrongroomAlarm"
            and r["eventName"] == "TenantGuardRefusal"
            and r["requestParameters"]["triggeringRequestId"] == request_id
        ]
        time.sleep(0.05)
    assert len(alarms) == 1


def test_probes_and_scrapes_are_not_calls(server: RunningServer) -> None:
    before = len(records(server))
    for path in ("/healthz", "/readyz", "/metrics"):
        with urllib.request.urlopen(server.endpoint + path, timeout=10) as response:  # noqa: S310
            assert response.status == 200
    assert len(records(server)) == before


def test_dev_tools_are_audited_and_reset_keeps_the_trail(server: RunningServer) -> None:
    response = sign_and_post(
        server.endpoint,
        "ResetDevState",
        {},
        target_prefix=DEV_TARGET_PREFIX,
        service=DEV_SIGNING_NAME,
    )
    assert response.status == 200
    event = only_event(server, response.headers["x-amzn-requestid"])
    check_event(event, service=DEV_SIGNING_NAME, operation="ResetDevState", error_code=None)
    # A reset wipes secrets and keys, never the record of what happened to them.
    assert len(records(server)) > 100


def test_the_trail_of_all_these_calls_verifies(server: RunningServer) -> None:
    result = verify_chain(server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
