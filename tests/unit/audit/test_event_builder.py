"""Events from calls: identities, readOnly, model-driven redaction, and the per-operation plans."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from types import MappingProxyType

import botocore.session
import pytest

from strongroom.audit.auditing_authorizer import describe_arn
from strongroom.audit.event_builder import (
    EventBuilder,
    event_source,
    is_read_only,
    lower_camel,
    user_identity,
)
from strongroom.audit.events import AuditResource
from strongroom.audit.journal import CallJournal
from strongroom.audit.random_ids import random_uuid, time_ordered_uuid
from strongroom.context import ASSUMED_ROLE, IAM_USER, Principal, SessionInfo

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CANARY = "CANARY-value-9f6c1d"
BUILDER = EventBuilder(ACCOUNT)
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "AKIAROOT000000000001")


def event(service: str, operation: str, **kwargs: object) -> dict[str, object]:
    built = BUILDER.event(
        BUILDER.plan(service, operation),
        event_time=NOW,
        region="eu-west-1",
        source_ip="10.0.0.1",
        user_agent="ua",
        request_id="req-1",
        identity=BUILDER.identity(ROOT),
        **kwargs,  # type: ignore[arg-type]
    )
    record: dict[str, object] = built.to_cloudtrail()
    return record


def test_the_record_has_cloudtrails_fields() -> None:
    record = event(
        "secretsmanager",
        "GetSecretValue",
        request={"SecretId": "db", "VersionStage": "AWSCURRENT"},
        response={"SecretString": CANARY, "ARN": "arn"},
        resources=[AuditResource("arn:x", "AWS::SecretsManager::Secret", "acme")],
        tenant="acme",
    )
    assert record["eventSource"] == "secretsmanager.amazonaws.com"
    assert record["eventName"] == "GetSecretValue"
    assert record["awsRegion"] == "eu-west-1"
    assert record["requestID"] == "req-1"
    assert record["readOnly"] is True
    assert record["requestParameters"] == {"secretId": "db", "versionStage": "AWSCURRENT"}
    # A read: CloudTrail logs no responseElements, whatever the answer held.
    assert record["responseElements"] is None
    assert record["resources"] == [
        {"accountId": ACCOUNT, "type": "AWS::SecretsManager::Secret", "ARN": "arn:x"}
    ]
    assert record["tenant"] == "acme"
    assert record["recipientAccountId"] == ACCOUNT
    assert "errorCode" not in record
    assert CANARY not in json.dumps(record)


@pytest.mark.parametrize(
    ("service", "operation", "request_document"),
    [
        ("secretsmanager", "CreateSecret", {"Name": "n", "SecretString": CANARY}),
        ("secretsmanager", "PutSecretValue", {"SecretId": "n", "SecretBinary": CANARY.encode()}),
        ("secretsmanager", "UpdateSecret", {"SecretId": "n", "SecretString": CANARY}),
        ("kms", "Encrypt", {"KeyId": "k", "Plaintext": CANARY.encode()}),
        ("kms", "Decrypt", {"CiphertextBlob": CANARY.encode(), "KeyId": "k"}),
        ("kms", "ImportKeyMaterial", {"KeyId": "k", "EncryptedKeyMaterial": CANARY.encode()}),
        ("iam", "CreateLoginProfile", {"UserName": "u", "Password": CANARY}),
        ("iam", "ChangePassword", {"OldPassword": CANARY, "NewPassword": CANARY + "2"}),
    ],
)
def test_secret_request_members_never_reach_the_event(
    service: str, operation: str, request_document: dict[str, object]
) -> None:
    record = event(service, operation, request=request_document)
    assert CANARY not in json.dumps(record, default=str)
    if operation != "ChangePassword":  # nothing but passwords there
        assert record["requestParameters"]  # the rest is still there


@pytest.mark.parametrize(
    ("service", "operation", "response_document"),
    [
        (
            "sts",
            "AssumeRole",
            {
                "Credentials": {
                    "AccessKeyId": "ASIAEXAMPLE",
                    "SecretAccessKey": CANARY,
                    "SessionToken": CANARY + "token",
                    "Expiration": NOW,
                },
                "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/r/s"},
            },
        ),
        (
            "iam",
            "CreateAccessKey",
            {"AccessKey": {"AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": CANARY}},
        ),
        ("secretsmanager", "CreateSecret", {"ARN": "arn", "Name": "n"}),
        (
            "kms",
            "CreateKey",
            {"KeyMetadata": {"KeyId": "k", "Arn": "arn", "CreationDate": NOW}},
        ),
    ],
)
def test_secret_response_members_never_reach_the_event(
    service: str, operation: str, response_document: dict[str, object]
) -> None:
    record = event(service, operation, response=response_document)
    text = json.dumps(record)
    assert CANARY not in text
    assert record["responseElements"]  # a mutation's redacted answer is kept


def test_kms_answers_with_plaintext_are_reads_and_log_no_answer() -> None:
    for operation in ("GenerateDataKey", "GenerateDataKeyPair", "Decrypt", "DeriveSharedSecret"):
        record = event(
            "kms",
            operation,
            request={"KeyId": "k", "EncryptionContext": {"tenant": "acme"}},
            response={"Plaintext": CANARY.encode(), "PrivateKeyPlaintext": CANARY.encode()},
        )
        assert record["readOnly"] is True
        assert record["responseElements"] is None
        assert CANARY not in json.dumps(record)


def test_maps_keep_their_keys_and_lists_their_items() -> None:
    record = event(
        "kms",
        "GenerateDataKey",
        request={
            "KeyId": "alias/shared",
            "EncryptionContext": {"Tenant-Id": "acme", "purpose": "db"},
            "GrantTokens": ["t1", "t2"],
            "KeySpec": "AES_256",
        },
    )
    assert record["requestParameters"] == {
        "keyId": "alias/shared",
        "encryptionContext": {"Tenant-Id": "acme", "purpose": "db"},
        "grantTokens": ["t1", "t2"],
        "keySpec": "AES_256",
    }


def test_unknown_members_and_unknown_operations_log_nothing_they_do_not_know() -> None:
    record = event("secretsmanager", "GetSecretValue", request={"SecretId": "a", "Sneaky": CANARY})
    assert record["requestParameters"] == {"secretId": "a"}
    unknown = event("secretsmanager", "NoSuchOperation", request={"SecretId": CANARY})
    assert unknown["requestParameters"] is None
    no_model = event("nomodel", "DoThing", request={"Seconds": 5})
    assert no_model["requestParameters"] is None
    assert no_model["eventSource"] == "nomodel.amazonaws.com"


def test_the_admin_apis_model_ships_with_the_package() -> None:
    record = event(
        "strongroom",
        "ShareSecrets",
        request={"TenantId": "cust-1", "SecretPattern": "/shared/a/*", "Actions": ["READ"]},
    )
    assert record["requestParameters"] == {
        "tenantId": "cust-1",
        "secretPattern": "/shared/a/*",
        "actions": ["READ"],
    }
    assert record["eventSource"] == "strongroom.amazonaws.com"


def test_query_protocol_documents_match_by_normalised_member_name() -> None:
    record = event(
        "iam",
        "CreateUser",
        request={"UserName": "alice", "Tags": [{"Key": "customer", "Value": "acme"}]},
    )
    assert record["requestParameters"] == {
        "userName": "alice",
        "tags": [{"key": "customer", "value": "acme"}],
    }
    # IAM's answers spell some members in another case than the model (isTruncated).
    listing = event("iam", "CreateGroup", response={"group": {"groupName": "g"}})
    assert listing["responseElements"] == {"group": {"groupName": "g"}}


def test_whatever_a_request_carries_the_event_can_be_written() -> None:
    record = event(
        "kms",
        "Encrypt",
        request={
            "KeyId": "alias/\ud800x",
            "EncryptionContext": {"k\udfff": "v\ud800"},
            "GrantTokens": ["\ud800"],
        },
        error_code="NotFoundException",
        error_message="Alias alias/\ud800x is not found.",
    )
    assert record["requestParameters"] == {
        "keyId": "alias/?x",
        "encryptionContext": {"k?": "v?"},
        "grantTokens": ["?"],
    }
    assert record["errorMessage"] == "Alias alias/?x is not found."
    json.dumps(record, ensure_ascii=False).encode("utf-8")  # never raises
    # What a malformed request put where the model wants a scalar is not logged.
    malformed = event(
        "secretsmanager",
        "GetSecretValue",
        request={"SecretId": {"SecretString": CANARY}, "VersionId": ["x"]},
    )
    assert malformed["requestParameters"] is None


def test_failed_mutations_log_the_error_and_no_answer() -> None:
    record = event(
        "secretsmanager",
        "CreateSecret",
        request={"Name": "n"},
        response={"ARN": "arn"},
        error_code="ResourceExistsException",
        error_message="exists",
    )
    assert record["errorCode"] == "ResourceExistsException"
    assert record["errorMessage"] == "exists"
    assert record["responseElements"] is None


def test_empty_parameters_are_null_as_on_cloudtrail() -> None:
    assert event("kms", "ListKeys", request={})["requestParameters"] is None
    assert event("sts", "GetCallerIdentity", request={})["requestParameters"] is None


@pytest.mark.parametrize(
    ("operation", "read_only"),
    [
        ("GetSecretValue", True),
        ("BatchGetSecretValue", True),
        ("DescribeKey", True),
        ("ListSecrets", True),
        ("ValidateResourcePolicy", True),
        ("LookupEvents", True),
        ("GetCallerIdentity", True),
        ("DecodeAuthorizationMessage", True),
        ("SimulatePrincipalPolicy", True),
        ("Encrypt", True),
        ("Decrypt", True),
        ("ReEncrypt", True),
        ("GenerateDataKeyPairWithoutPlaintext", True),
        ("GenerateRandom", True),
        ("Sign", True),
        ("VerifyMac", True),
        ("GetPublicKey", True),
        ("CreateSecret", False),
        ("PutSecretValue", False),
        ("RotateKeyOnDemand", False),
        ("CreateGrant", False),
        ("AssumeRole", False),
        ("TagResource", False),
        ("ResetDevState", False),
    ],
)
def test_read_only_follows_cloudtrail(operation: str, read_only: bool) -> None:
    assert is_read_only(operation) is read_only


def test_names_and_sources() -> None:
    assert lower_camel("SecretId") == "secretId"
    assert lower_camel("SAMLProviderArn") == "sAMLProviderArn"
    assert lower_camel("KMSKeyId") == "kMSKeyId"
    assert event_source("kms") == "kms.amazonaws.com"


def test_identities() -> None:
    root = user_identity(ROOT, ACCOUNT).__getattribute__
    assert root("type") == "Root"
    assert root("arn") == ROOT.arn
    assert root("access_key_id") == ROOT.access_key_id
    user = user_identity(
        Principal(
            f"arn:aws:iam::{ACCOUNT}:user/team/alice",
            "AIDAEXAMPLE",
            "AKIAALICE",
            kind=IAM_USER,
            name="alice",
        ),
        ACCOUNT,
    )
    assert (user.type, user.user_name, user.principal_id) == ("IAMUser", "alice", "AIDAEXAMPLE")
    issued = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    session = Principal(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/tenant-role/worker-7",
        "AROAEXAMPLE:worker-7",
        "ASIAWORKER",
        kind=ASSUMED_ROLE,
        identity_arn=f"arn:aws:iam::{ACCOUNT}:role/tenant-role",
        tenant="acme",
        session=SessionInfo(
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/tenant-role",
            role_name="tenant-role",
            session_name="worker-7",
            issued_at=issued,
            expires_at=issued,
            tags=MappingProxyType({"customer": "acme"}),
            source_identity="alice@example.com",
        ),
    )
    identity = user_identity(session, ACCOUNT)
    record = BUILDER.event(
        BUILDER.plan("secretsmanager", "GetSecretValue"),
        event_time=NOW,
        region="us-east-1",
        source_ip="",
        user_agent="",
        request_id="r",
        identity=identity,
    ).to_cloudtrail()
    user_record = record["userIdentity"]
    assert user_record["type"] == "AssumedRole"
    assert user_record["accessKeyId"] == "ASIAWORKER"
    context = user_record["sessionContext"]
    assert context["sessionIssuer"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/tenant-role"
    assert context["sessionIssuer"]["userName"] == "tenant-role"
    assert context["attributes"]["creationDate"] == "2026-12-02T11:00:00Z"
    assert context["sessionTags"] == {"customer": "acme"}
    assert context["sourceIdentity"] == "alice@example.com"
    unknown = user_identity(None, ACCOUNT, "AKIANOBODY")
    assert (unknown.type, unknown.access_key_id, unknown.arn) == ("Unknown", "AKIANOBODY", None)
    assert user_identity(None, ACCOUNT).access_key_id is None


@pytest.mark.parametrize(
    ("arn", "kind", "name"),
    [
        (
            "arn:aws:secretsmanager:us-east-1:1:secret:/customer/acme/db-AbC123",
            "AWS::SecretsManager::Secret",
            "/customer/acme/db",
        ),
        ("arn:aws:kms:us-east-1:1:key/1234abcd", "AWS::KMS::Key", None),
        ("arn:aws:kms:us-east-1:1:alias/shared", "AWS::KMS::Alias", "alias/shared"),
        ("arn:aws:iam::1:user/team/alice", "AWS::IAM::User", None),
        ("arn:aws:iam::1:role/r", "AWS::IAM::Role", None),
        ("arn:aws:iam::1:policy/p", "AWS::IAM::Policy", None),
        ("arn:aws:iam::1:group/g", "AWS::IAM::Group", None),
        ("arn:aws:iam::1:root", "AWS::IAM::Account", None),
        ("arn:aws:sts::1:assumed-role/r/s", "AWS::STS::AssumedRole", None),
        ("arn:aws:iam::1:saml-provider/x", "AWS::IAM::SamlProvider", None),
        ("not an arn", "AWS::Unknown::Resource", None),
    ],
)
def test_resource_types_from_arns(arn: str, kind: str, name: str | None) -> None:
    assert describe_arn(arn) == (kind, name)


def test_the_journal_completes_a_pending_event() -> None:
    plan = BUILDER.plan("secretsmanager", "PutSecretValue")
    journal = CallJournal(operation="PutSecretValue", principal_tenant="acme")
    journal.redact = plan.request_parameters
    assert journal.pending_event() is None
    journal.pending = BUILDER.event(
        plan,
        event_time=NOW,
        region="us-east-1",
        source_ip="",
        user_agent="",
        request_id="r",
        identity=BUILDER.identity(ROOT),
    )
    journal.request = {"SecretId": "db", "SecretString": CANARY}
    journal.note_resource(AuditResource("arn:a", "AWS::SecretsManager::Secret", "globex"))
    journal.note_resource(AuditResource("arn:a", "AWS::SecretsManager::Secret", "globex"))
    completed = journal.pending_event()
    assert completed is not None
    assert completed.request_parameters == {"secretId": "db"}
    assert len(completed.resources) == 1
    # A tenant-bound caller's events are filed under its own tenant.
    assert completed.tenant == "acme"
    journal.principal_tenant = None
    assert journal.pending_event() is not None
    assert journal.pending_event().tenant == "globex"  # type: ignore[union-attr]
    journal.mark_taken()
    assert journal.pending_event() is None


def test_every_served_operation_has_a_plan() -> None:
    session = botocore.session.get_session()
    for service in ("secretsmanager", "kms", "iam", "sts", "cloudtrail"):
        model = session.get_service_model(service)
        BUILDER.warm((service, name) for name in model.operation_names)
        for name in model.operation_names:
            plan = BUILDER.plan(service, name)
            assert plan.event_name == name
            assert plan.request is not None or model.operation_model(name).input_shape is None


def test_random_ids_are_distinct_version_4_uuids() -> None:
    ids = {random_uuid() for _ in range(20000)}
    assert len(ids) == 20000
    for value in list(ids)[:100]:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value


def test_event_ids_are_distinct_version_7_uuids_in_time_order() -> None:
    before = time.time_ns() // 1_000_000
    ids = [time_ordered_uuid() for _ in range(20000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 20000
    millis = [uuid.UUID(value).int >> 80 for value in ids]
    assert millis == sorted(millis)
    assert before <= millis[0] <= millis[-1] <= after
    for value in ids[:100]:
        parsed = uuid.UUID(value)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
