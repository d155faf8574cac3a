"""KMS grants through real boto3: the lifecycle, idempotent names, grant tokens, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
OPS_USER = f"arn:aws:iam::{ACCOUNT}:user/ops"


def expect_error(code: str, call: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    assert excinfo.value.response["Error"]["Code"] == code, excinfo.value.response["Error"]
    return excinfo.value


def new_key(kms: Any, **kwargs: Any) -> str:
    return str(kms.create_key(**kwargs)["KeyMetadata"]["KeyId"])


def grants_of(kms: Any, key_id: str, **filters: Any) -> list[dict[str, Any]]:
    return [
        g
        for page in kms.get_paginator("list_grants").paginate(KeyId=key_id, **filters)
        for g in page["Grants"]
    ]


def test_create_grant_is_listed_with_its_parameters(kms: Any) -> None:
    key_id = new_key(kms)
    created = kms.create_grant(
        KeyId=key_id,
        GranteePrincipal=APP_ROLE,
        RetiringPrincipal=OPS_USER,
        Operations=["Encrypt", "Decrypt", "GenerateDataKey"],
        Constraints={"EncryptionContextSubset": {"tenant_id": "cust-1"}},
        Name="app-data",
    )
    assert re.fullmatch(r"[0-9a-f]{64}", created["GrantId"])
    assert created["GrantToken"]
    (grant,) = grants_of(kms, key_id)
    assert grant["GrantId"] == created["GrantId"]
    assert grant["KeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert grant["GranteePrincipal"] == APP_ROLE
    assert grant["RetiringPrincipal"] == OPS_USER
    assert grant["IssuingAccount"] == ROOT
    assert grant["Name"] == "app-data"
    assert grant["Operations"] == ["Encrypt", "Decrypt", "GenerateDataKey"]
    assert grant["Constraints"] == {"EncryptionContextSubset": {"tenant_id": "cust-1"}}
    assert "CreationDate" in grant


def test_same_name_and_parameters_return_the_same_grant(kms: Any) -> None:
    key_id = new_key(kms)
    ask = {"KeyId": key_id, "GranteePrincipal": APP_ROLE, "Operations": ["Decrypt"], "Name": "n"}
    first = kms.create_grant(**ask)
    again = kms.create_grant(**ask)
    assert again["GrantId"] == first["GrantId"]
    different = kms.create_grant(**{**ask, "Operations": ["Encrypt"]})
    assert different["GrantId"] != first["GrantId"]
    assert len(grants_of(kms, key_id)) == 2


def test_list_grants_pages_and_filters(kms: Any) -> None:
    key_id = new_key(kms)
    ids = {
        kms.create_grant(KeyId=key_id, GranteePrincipal=APP_ROLE, Operations=["Decrypt"])["GrantId"]
        for _ in range(3)
    }
    ids.add(
        kms.create_grant(KeyId=key_id, GranteePrincipal=OPS_USER, Operations=["Encrypt"])["GrantId"]
    )
    first = kms.list_grants(KeyId=key_id, Limit=2)
    assert len(first["Grants"]) == 2
    assert first["Truncated"] is True
    assert {g["GrantId"] for g in grants_of(kms, key_id, Limit=1)} == ids
    ops = grants_of(kms, key_id, GranteePrincipal=OPS_USER)
    assert [g["Operations"] for g in ops] == [["Encrypt"]]
    one = sorted(ids)[0]
    assert [g["GrantId"] for g in grants_of(kms, key_id, GrantId=one)] == [one]


def test_grant_tokens_are_usable_at_once_and_refused_once_retired(kms: Any) -> None:
    key_id = new_key(kms)
    token = kms.create_grant(KeyId=key_id, GranteePrincipal=ROOT, Operations=["Encrypt"])[
        "GrantToken"
    ]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[token])["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, GrantTokens=[token])["Plaintext"] == b"x"
    kms.retire_grant(GrantToken=token)
    assert grants_of(kms, key_id) == []
    expect_error(
        "InvalidGrantTokenException", kms.encrypt, KeyId=key_id, Plaintext=b"x", GrantTokens=[token]
    )


@pytest.mark.parametrize("token", ["not-a-grant-token", "A" * 200])
def test_a_token_that_names_no_grant_is_invalid(kms: Any, token: str) -> None:
    key_id = new_key(kms)
    expect_error(
        "InvalidGrantTokenException", kms.encrypt, KeyId=key_id, Plaintext=b"x", GrantTokens=[token]
    )
    expect_error("InvalidGrantTokenException", kms.describe_key, KeyId=key_id, GrantTokens=[token])
    expect_error("InvalidGrantTokenException", kms.retire_grant, GrantToken=token)


def test_retire_by_key_and_grant_id_and_revoke(kms: Any) -> None:
    key_id = new_key(kms)
    retired = kms.create_grant(KeyId=key_id, GranteePrincipal=APP_ROLE, Operations=["Decrypt"])
    revoked = kms.create_grant(KeyId=key_id, GranteePrincipal=APP_ROLE, Operations=["Encrypt"])
    kms.retire_grant(KeyId=key_id, GrantId=retired["GrantId"])
    kms.revoke_grant(KeyId=key_id, GrantId=revoked["GrantId"])
    assert grants_of(kms, key_id) == []
    expect_error("NotFoundException", kms.revoke_grant, KeyId=key_id, GrantId=revoked["GrantId"])
    expect_error("NotFoundException", kms.retire_grant, KeyId=key_id, GrantId=retired["GrantId"])
    expect_error("InvalidGrantIdException", kms.revoke_grant, KeyId=key_id, GrantId="nope")


def test_a_grant_id_of_another_key_is_not_found(kms: Any) -> None:
    key_id, other = new_key(kms), new_key(kms)
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=APP_ROLE, Operations=["Decrypt"])
    expect_error("NotFoundException", kms.revoke_grant, KeyId=other, GrantId=grant["GrantId"])
    assert len(grants_of(kms, key_id)) == 1


def test_dry_run_changes_nothing(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "DryRunOperationException",
        kms.create_grant,
        KeyId=key_id,
        GranteePrincipal=APP_ROLE,
        Operations=["Decrypt"],
        DryRun=True,
    )
    assert grants_of(kms, key_id) == []
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=APP_ROLE, Operations=["Decrypt"])
    expect_error(
        "DryRunOperationException",
        kms.revoke_grant,
        KeyId=key_id,
        GrantId=grant["GrantId"],
        DryRun=True,
    )
    assert len(grants_of(kms, key_id)) == 1


def test_list_retirable_grants_names_the_retiring_principal(kms: Any, unique: str) -> None:
    key_id = new_key(kms)
    retiring = f"arn:aws:iam::{ACCOUNT}:user/retirer-{unique}"
    grant = kms.create_grant(
        KeyId=key_id, GranteePrincipal=APP_ROLE, RetiringPrincipal=retiring, Operations=["Decrypt"]
    )
    listed = kms.list_retirable_grants(RetiringPrincipal=retiring)["Grants"]
    assert [g["GrantId"] for g in listed] == [grant["GrantId"]]


@pytest.mark.parametrize(
    ("code", "request_fields"),
    [
        ("InvalidArnException", {"GranteePrincipal": "bob", "Operations": ["Decrypt"]}),
        ("ValidationException", {"GranteePrincipal": APP_ROLE, "Operations": ["Sign"]}),
        (
            "ValidationException",
            {
                "GranteePrincipal": APP_ROLE,
                "Operations": ["Decrypt"],
                "Constraints": {
                    "EncryptionContextSubset": {"a": "b"},
                    "EncryptionContextEquals": {"a": "b"},
                },
            },
        ),
        (
            "ValidationException",
            {
                "GranteePrincipal": APP_ROLE,
                "Operations": ["GetPublicKey"],
                "Constraints": {"EncryptionContextSubset": {"a": "b"}},
            },
        ),
    ],
    ids=["principal", "operation-for-key", "both-constraints", "constraint-on-non-context-op"],
)
def test_malformed_create_grant_is_refused(
    kms: Any, code: str, request_fields: dict[str, Any]
) -> None:
    key_id = new_key(kms)
    expect_error(code, kms.create_grant, KeyId=key_id, **request_fields)
    assert grants_of(kms, key_id) == []


def test_grants_on_an_unknown_key_are_not_found(kms: Any) -> None:
    missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
    expect_error(
        "NotFoundException",
        kms.create_grant,
        KeyId=missing,
        GranteePrincipal=APP_ROLE,
        Operations=["Decrypt"],
    )
    expect_error("NotFoundException", kms.list_grants, KeyId=missing)
