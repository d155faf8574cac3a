"""Key policies: AWS's default and managed policies parse; the lockout safety check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.errors import MalformedPolicyDocumentException
from strongroom.kms.key_policies import (
    check_lockout,
    default_key_policy,
    parse_key_policy,
    secrets_manager_key_policy,
)
from tests.unit.kms.conftest import ACCOUNT, ALICE, ALICE_ARN, REGION, ROLE_ARN, ROOT, SESSION

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statement(principal: str, action: str = "kms:*", effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}


def test_aws_default_key_policy_is_a_valid_key_policy() -> None:
    """Its Sid, "Enable IAM User Permissions", has spaces: KMS allows that in key policies."""
    document = parse_key_policy(default_key_policy("aws", ACCOUNT))
    assert document.statements[0].sid == "Enable IAM User Permissions"


def test_secrets_manager_managed_key_policy_is_a_valid_key_policy() -> None:
    assert len(parse_key_policy(secrets_manager_key_policy("aws", ACCOUNT, REGION)).statements) == 3


@pytest.mark.parametrize(
    ("ctx", "principal"),
    [
        (ROOT, f"arn:aws:iam::{ACCOUNT}:root"),
        (ALICE, f"arn:aws:iam::{ACCOUNT}:root"),  # the account: IAM policies decide
        (ALICE, ALICE_ARN),
        (SESSION, ROLE_ARN),
    ],
)
def test_a_policy_that_lets_the_caller_put_the_policy_passes(ctx: Any, principal: str) -> None:
    check_lockout(ctx, KEY_ARN, parse_key_policy(_policy(_statement(principal))))


@pytest.mark.parametrize(
    "text",
    [
        _policy(_statement(f"arn:aws:iam::{ACCOUNT}:user/bob")),
        _policy(_statement(f"arn:aws:iam::{ACCOUNT}:root", "kms:Decrypt")),
        _policy(
            _statement(f"arn:aws:iam::{ACCOUNT}:root"),
            _statement(ALICE_ARN, "kms:PutKeyPolicy", "Deny"),
        ),
    ],
)
def test_a_policy_that_locks_the_caller_out_is_refused(text: str) -> None:
    with pytest.raises(MalformedPolicyDocumentException, match="will not allow you"):
        check_lockout(ALICE, KEY_ARN, parse_key_policy(text))


def test_key_policies_over_32_kib_are_refused() -> None:
    big = _policy(*[_statement(f"arn:aws:iam::{ACCOUNT}:user/u{i:05d}") for i in range(500)])
    with pytest.raises(MalformedPolicyDocumentException, match="PolicySize"):
        parse_key_policy(big)
