"""KMS key policies through real boto3: the default policy, PutKeyPolicy's lockout safety
check, malformed policies, enforcement of what a key policy says, the AWS-managed key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
OTHER_USER = f"arn:aws:iam::{ACCOUNT}:user/someone-else"


def expect_error(code: str, call: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    assert excinfo.value.response["Error"]["Code"] == code, excinfo.value.response["Error"]
    return excinfo.value


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: str, action: str | list[str] = "kms:*", sid: str = "Allow") -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": action,
        "Resource": "*",
    }


def deny(principal: str, action: str, sid: str = "Deny") -> dict[str, Any]:
    return {**allow(principal, action, sid), "Effect": "Deny"}


def new_key(kms: Any, **kwargs: Any) -> str:
    return str(kms.create_key(**kwargs)["KeyMetadata"]["KeyId"])


def test_a_key_without_a_policy_has_aws_default_key_policy(kms: Any) -> None:
    key_id = new_key(kms)
    got = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert got["PolicyName"] == "default"
    document = json.loads(got["Policy"])
    assert document == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == got["Policy"]


def test_key_policies_are_listed_and_only_default_exists(kms: Any) -> None:
    key_id = new_key(kms)
    listed = kms.list_key_policies(KeyId=key_id)
    assert listed["PolicyNames"] == ["default"]
    assert listed["Truncated"] is False
    expect_error("NotFoundException", kms.get_key_policy, KeyId=key_id, PolicyName="other")


def test_put_key_policy_replaces_the_policy(kms: Any) -> None:
    key_id = new_key(kms)
    text = policy(allow(ROOT, sid="RootAdmin"), allow(OTHER_USER, "kms:Decrypt", sid="Reader"))
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=text)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == text
    kms.encrypt(KeyId=key_id, Plaintext=b"still usable")


def test_create_key_with_a_policy_keeps_it(kms: Any) -> None:
    text = policy(allow(ROOT, sid="RootAdmin"))
    key_id = new_key(kms, Policy=text)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == text


def test_put_key_policy_refuses_to_lock_the_caller_out(kms: Any) -> None:
    key_id = new_key(kms)
    before = kms.get_key_policy(KeyId=key_id)["Policy"]
    for text in (
        policy(allow(OTHER_USER)),
        policy(allow(ROOT, "kms:Encrypt")),
        policy(allow(ROOT), deny(ROOT, "kms:PutKeyPolicy")),
    ):
        error = expect_error(
            "MalformedPolicyDocumentException", kms.put_key_policy, KeyId=key_id, Policy=text
        )
        assert "will not allow you to update the key policy" in str(error)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == before


def test_create_key_refuses_a_policy_that_locks_the_caller_out(kms: Any) -> None:
    expect_error(
        "MalformedPolicyDocumentException", kms.create_key, Policy=policy(allow(OTHER_USER))
    )


def test_bypassing_the_lockout_check_locks_the_caller_out(kms: Any) -> None:
    key_id = new_key(kms)
    kms.put_key_policy(
        KeyId=key_id, Policy=policy(allow(OTHER_USER)), BypassPolicyLockoutSafetyCheck=True
    )
    for call, kwargs in (
        (kms.describe_key, {"KeyId": key_id}),
        (kms.encrypt, {"KeyId": key_id, "Plaintext": b"x"}),
        (kms.get_key_policy, {"KeyId": key_id}),
        (kms.put_key_policy, {"KeyId": key_id, "Policy": policy(allow(ROOT))}),
        (kms.disable_key, {"KeyId": key_id}),
    ):
        error = expect_error("AccessDeniedException", call, **kwargs)
        assert "is not authorized to perform" in str(error)
    listed = [
        k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]
    ]
    assert key_id not in listed  # ListKeys shows only keys the caller may describe


def test_an_explicit_deny_in_the_key_policy_is_enforced(kms: Any) -> None:
    key_id = new_key(kms, Policy=policy(allow(ROOT), deny(ROOT, "kms:Decrypt")))
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    expect_error("AccessDeniedException", kms.decrypt, CiphertextBlob=blob)


def test_a_key_policy_condition_on_the_encryption_context_is_enforced(kms: Any) -> None:
    only_tenant = {
        **allow(ROOT, ["kms:Encrypt", "kms:Decrypt"], sid="Tenant"),
        "Condition": {"StringEquals": {"kms:EncryptionContext:tenant_id": "cust-1"}},
    }
    admin = allow(ROOT, ["kms:Describe*", "kms:Get*", "kms:Put*", "kms:List*"], sid="Admin")
    key_id = new_key(kms, Policy=policy(admin, only_tenant))
    kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant_id": "cust-1"})
    expect_error(
        "AccessDeniedException",
        kms.encrypt,
        KeyId=key_id,
        Plaintext=b"x",
        EncryptionContext={"tenant_id": "cust-12"},
    )
    expect_error("AccessDeniedException", kms.encrypt, KeyId=key_id, Plaintext=b"x")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"Version": "2012-10-17", "Statement": []}',
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
        policy({**allow(ROOT), "Effect": "Maybe"}),
        policy({**allow(ROOT), "Unknown": 1}),
        policy(allow(ROOT, sid="A" * 40000)),
    ],
    ids=["not-json", "empty", "no-statements", "no-principal", "bad-effect", "unknown", "big"],
)
def test_malformed_key_policies_are_refused(kms: Any, text: str) -> None:
    expect_error("MalformedPolicyDocumentException", kms.create_key, Policy=text)
    key_id = new_key(kms)
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=key_id, Policy=text)


def test_aws_managed_key_has_its_managed_policy_and_is_used_through_secrets_manager(
    kms: Any, sm: Any, unique: str
) -> None:
    key_id = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
    document = json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])
    via = [s for s in document["Statement"] if "Condition" in s]
    assert via
    assert all("secretsmanager.us-east-1.amazonaws.com" in json.dumps(s["Condition"]) for s in via)
    expect_error("AccessDeniedException", kms.encrypt, KeyId=key_id, Plaintext=b"x")
    expect_error(
        "AccessDeniedException", kms.put_key_policy, KeyId=key_id, Policy=policy(allow(ROOT))
    )
    sm.create_secret(Name=f"managed-{unique}", SecretString="value")
    assert sm.get_secret_value(SecretId=f"managed-{unique}")["SecretString"] == "value"
