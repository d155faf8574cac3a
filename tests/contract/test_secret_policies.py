"""Secrets Manager resource policies through real boto3 (as the account root)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def policy(principal: object, effect: str = "Allow", action: str = "secretsmanager:*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": effect, "Principal": principal, "Action": action, "Resource": "*"}
            ],
        }
    )


READER = policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader"}, action="secretsmanager:Get*")


@pytest.fixture
def secret(sm: Any, unique: str) -> dict[str, str]:
    created = sm.create_secret(Name=f"/customer/cust-{unique}/db")
    return {"ARN": created["ARN"], "Name": created["Name"]}


def test_put_get_list_delete(sm: Any, secret: dict[str, str]) -> None:
    without = sm.get_resource_policy(SecretId=secret["Name"])
    assert (without["ARN"], without["Name"]) == (secret["ARN"], secret["Name"])
    assert "ResourcePolicy" not in without
    assert sm.list_resource_policies(SecretId=secret["ARN"])["ResourcePolicies"] == []

    put = sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=READER)
    assert (put["ARN"], put["Name"]) == (secret["ARN"], secret["Name"])
    got = sm.get_resource_policy(SecretId=secret["Name"])
    assert got["ResourcePolicy"] == READER
    listed = sm.list_resource_policies(SecretId=secret["ARN"])["ResourcePolicies"]
    assert listed == [{"PolicyName": "default"}]

    deleted = sm.delete_resource_policy(SecretId=secret["Name"])
    assert (deleted["ARN"], deleted["Name"]) == (secret["ARN"], secret["Name"])
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=secret["ARN"])


@pytest.mark.parametrize("text", ["{not json", json.dumps({"Version": "2012-10-17"}), policy(None)])
def test_malformed_policy(sm: Any, secret: dict[str, str], text: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=text)
    assert error_code(excinfo) == "MalformedPolicyDocumentException"
    assert excinfo.value.response["Error"]["Message"]
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=secret["ARN"])


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": "arn:aws:iam::210987654321:root"}]
)
def test_block_public_policy(sm: Any, secret: dict[str, str], principal: object) -> None:
    text = policy(principal, action="secretsmanager:GetSecretValue")
    with pytest.raises(ClientError) as excinfo:
        sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=text, BlockPublicPolicy=True)
    assert error_code(excinfo) == "PublicPolicyException"
    assert excinfo.value.response["Error"]["Message"] == (
        "This resource policy contains a statement that grants public access."
    )
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=secret["ARN"])
    sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=text, BlockPublicPolicy=False)
    assert sm.get_resource_policy(SecretId=secret["ARN"])["ResourcePolicy"] == text


def test_only_the_default_policy_name(sm: Any, secret: dict[str, str]) -> None:
    sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=READER, PolicyName="default")
    with pytest.raises(ClientError) as excinfo:
        sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=READER, PolicyName="x")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        sm.get_resource_policy(SecretId=secret["ARN"], PolicyName="x")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_missing_secret(sm: Any, unique: str) -> None:
    missing = f"/customer/cust-{unique}/missing"
    calls: list[tuple[str, dict[str, str]]] = [
        ("put_resource_policy", {"ResourcePolicy": READER}),
        ("get_resource_policy", {}),
        ("delete_resource_policy", {}),
        ("list_resource_policies", {}),
        ("validate_resource_policy", {"ResourcePolicy": READER}),
    ]
    for method, extra in calls:
        with pytest.raises(ClientError) as excinfo:
            getattr(sm, method)(SecretId=missing, **extra)
        assert error_code(excinfo) == "ResourceNotFoundException", method


def test_validate_resource_policy(sm: Any, secret: dict[str, str]) -> None:
    good = sm.validate_resource_policy(ResourcePolicy=READER)
    assert good["PolicyValidationPassed"] is True
    assert good["ValidationErrors"] == []
    assert sm.validate_resource_policy(SecretId=secret["ARN"], ResourcePolicy=READER)[
        "PolicyValidationPassed"
    ]

    public = sm.validate_resource_policy(ResourcePolicy=policy("*"))
    assert public["PolicyValidationPassed"] is False
    assert [e["ErrorMessage"] for e in public["ValidationErrors"]] == [
        "This resource policy contains a statement that grants public access."
    ]

    syntax = sm.validate_resource_policy(ResourcePolicy=json.dumps({"Version": "2012-10-17"}))
    assert syntax["PolicyValidationPassed"] is False
    assert len(syntax["ValidationErrors"]) == 1
    assert set(syntax["ValidationErrors"][0]) == {"CheckName", "ErrorMessage"}
    # Validating stores nothing.
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=secret["ARN"])


def test_a_deny_in_the_resource_policy_binds_even_the_root(sm: Any, secret: dict[str, str]) -> None:
    sm.put_secret_value(SecretId=secret["ARN"], SecretString="v")
    deny = policy({"AWS": "*"}, effect="Deny", action="secretsmanager:GetSecretValue")
    sm.put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=deny)
    with pytest.raises(ClientError) as excinfo:
        sm.get_secret_value(SecretId=secret["ARN"])
    assert error_code(excinfo) == "AccessDeniedException"
    message = excinfo.value.response["Error"]["Message"]
    assert "secretsmanager:GetSecretValue" in message
    assert "explicit deny in a resource-based policy" in message
    assert sm.describe_secret(SecretId=secret["ARN"])["Name"] == secret["Name"]
    # A batch read reports the refusal per secret, as AWS does.
    batch = sm.batch_get_secret_value(SecretIdList=[secret["ARN"]])
    assert batch["SecretValues"] == []
    assert [e["ErrorCode"] for e in batch["Errors"]] == ["AccessDeniedException"]
    sm.delete_resource_policy(SecretId=secret["ARN"])
    assert sm.get_secret_value(SecretId=secret["ARN"])["SecretString"] == "v"
