"""KMS key management operations through real boto3: keys, aliases, tags, deletion, rotation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
ALGORITHM_FIELDS = (
    "EncryptionAlgorithms",
    "SigningAlgorithms",
    "MacAlgorithms",
    "KeyAgreementAlgorithms",
)
RSA_SIGNING = [
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
]


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def expect_error(code: str, call: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    assert error_code(excinfo) == code, excinfo.value.response["Error"]
    return excinfo.value


def new_key(kms: Any, **kwargs: Any) -> dict[str, Any]:
    return dict(kms.create_key(**kwargs)["KeyMetadata"])


def key_arn(key_id: str, region: str = "us-east-1") -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def near(moment: datetime, expected: datetime, slack: timedelta = timedelta(minutes=5)) -> bool:
    return abs(moment - expected) <= slack


# -- CreateKey and DescribeKey ---------------------------------------------------------


def test_create_key_defaults_to_a_symmetric_customer_key(kms: Any) -> None:
    metadata = new_key(kms)
    key_id = metadata["KeyId"]
    uuid.UUID(key_id)
    assert metadata["Arn"] == key_arn(key_id)
    assert metadata["AWSAccountId"] == ACCOUNT
    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["Origin"] == "AWS_KMS"
    assert metadata["MultiRegion"] is False
    assert metadata["Description"] == ""
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert metadata["CurrentKeyMaterialId"]
    assert near(metadata["CreationDate"], datetime.now(UTC))
    for absent in ("DeletionDate", "PendingDeletionWindowInDays", "ValidTo", "ExpirationModel"):
        assert absent not in metadata


def test_describe_key_returns_what_create_key_returned(kms: Any) -> None:
    created = new_key(kms, Description="payments key")
    described = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
    assert described == created
    assert described["Description"] == "payments key"


@pytest.mark.parametrize(
    ("spec", "usage", "algorithms"),
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}),
        (
            "RSA_2048",
            "ENCRYPT_DECRYPT",
            {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]},
        ),
        ("RSA_3072", "SIGN_VERIFY", {"SigningAlgorithms": RSA_SIGNING}),
        ("RSA_4096", "SIGN_VERIFY", {"SigningAlgorithms": RSA_SIGNING}),
        ("ECC_NIST_P256", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_256"]}),
        ("ECC_NIST_P384", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_384"]}),
        ("ECC_NIST_P521", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_512"]}),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_256"]}),
        (
            "ECC_NIST_EDWARDS25519",
            "SIGN_VERIFY",
            # AWS also lists ED25519_PH_SHA_512; `cryptography` has no Ed25519ph, so
            # Strongroom does not offer it (README: not in this server).
            {"SigningAlgorithms": ["ED25519_SHA_512"]},
        ),
        ("ECC_NIST_P256", "KEY_AGREEMENT", {"KeyAgreementAlgorithms": ["ECDH"]}),
        ("ECC_NIST_P521", "KEY_AGREEMENT", {"KeyAgreementAlgorithms": ["ECDH"]}),
        ("HMAC_224", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_224"]}),
        ("HMAC_256", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_256"]}),
        ("HMAC_384", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_384"]}),
        ("HMAC_512", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_512"]}),
    ],
)
def test_describe_key_reports_spec_usage_and_algorithms(
    kms: Any, spec: str, usage: str, algorithms: dict[str, list[str]]
) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage=usage)["KeyId"]
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == spec
    assert metadata["KeyUsage"] == usage
    assert metadata["KeyState"] == "Enabled"
    for field in ALGORITHM_FIELDS:
        if field in algorithms:
            assert sorted(metadata[field]) == sorted(algorithms[field])
        else:
            assert field not in metadata
    assert ("CurrentKeyMaterialId" in metadata) is (spec == "SYMMETRIC_DEFAULT")


@pytest.mark.parametrize(
    ("spec", "usage"),
    [
        ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
        ("HMAC_256", "ENCRYPT_DECRYPT"),
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
    ],
)
def test_create_key_with_incompatible_spec_and_usage_is_refused(
    kms: Any, spec: str, usage: str
) -> None:
    expect_error("ValidationException", kms.create_key, KeySpec=spec, KeyUsage=usage)


def test_create_key_with_policy_and_tags_is_accepted(kms: Any, unique: str) -> None:
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"root","Effect":"Allow",'
        f'"Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}]}}'
    )
    key_id = new_key(kms, Policy=policy, Tags=[{"TagKey": "team", "TagValue": unique}])["KeyId"]
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert tags == [{"TagKey": "team", "TagValue": unique}]


def test_external_key_starts_pending_import(kms: Any) -> None:
    metadata = new_key(kms, Origin="EXTERNAL")
    assert metadata["Origin"] == "EXTERNAL"
    assert metadata["KeyState"] == "PendingImport"
    assert metadata["Enabled"] is False
    assert "ExpirationModel" not in metadata


def test_describe_key_by_id_arn_alias_and_alias_arn(kms: Any, unique: str) -> None:
    key_id = new_key(kms)["KeyId"]
    alias = f"alias/forms-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}"
    for identifier in (key_id, key_arn(key_id), alias, alias_arn):
        assert kms.describe_key(KeyId=identifier)["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize(
    "identifier",
    [
        # Fixed, so that every pytest-xdist worker collects the same test ids.
        "0b7d6a8e-3c1f-4e2a-9d5b-7f4c2e1a8b90",
        key_arn("5e2f9c1d-8a7b-4c3e-b6d1-2a9f8e7c6b54"),
        "alias/does-not-exist-anywhere",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/does-not-exist-anywhere",
        "not-a-key-id",
    ],
)
def test_describe_unknown_key_is_not_found(kms: Any, identifier: str) -> None:
    expect_error("NotFoundException", kms.describe_key, KeyId=identifier)


def test_key_arn_of_another_region_is_not_found(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    expect_error("NotFoundException", kms.describe_key, KeyId=key_arn(key_id, "eu-west-1"))


def test_keys_are_regional(server: Any, kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    west = server.client("kms", region="eu-west-1")
    expect_error("NotFoundException", west.describe_key, KeyId=key_id)
    west_key = west.create_key()["KeyMetadata"]
    assert west_key["Arn"] == key_arn(west_key["KeyId"], "eu-west-1")


def test_aws_managed_secretsmanager_key_is_described(kms: Any) -> None:
    metadata = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["KeyState"] == "Enabled"


# -- ListKeys ---------------------------------------------------------------------------


def test_list_keys_walks_every_page_without_duplicates(kms: Any) -> None:
    mine = {new_key(kms)["KeyId"] for _ in range(3)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Limit": 7}
    while True:
        page = kms.list_keys(**kwargs)
        assert len(page["Keys"]) <= 7
        for entry in page["Keys"]:
            assert entry["KeyArn"] == key_arn(entry["KeyId"])
        seen += [entry["KeyId"] for entry in page["Keys"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        kwargs["Marker"] = page["NextMarker"]
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)


def test_list_keys_includes_disabled_and_pending_deletion_keys(kms: Any) -> None:
    disabled = new_key(kms)["KeyId"]
    kms.disable_key(KeyId=disabled)
    doomed = new_key(kms)["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    listed = {
        entry["KeyId"]
        for page in kms.get_paginator("list_keys").paginate()
        for entry in page["Keys"]
    }
    assert {disabled, doomed} <= listed


# -- EnableKey, DisableKey, UpdateKeyDescription ---------------------------------------


def test_disable_and_enable_key(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.disable_key(KeyId=key_id)
    kms.disable_key(KeyId=key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("Disabled", False)
    kms.enable_key(KeyId=key_arn(key_id))
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("Enabled", True)


def test_disable_unknown_key_is_not_found(kms: Any) -> None:
    expect_error("NotFoundException", kms.disable_key, KeyId=str(uuid.uuid4()))


def test_update_key_description(kms: Any) -> None:
    key_id = new_key(kms, Description="old")["KeyId"]
    kms.update_key_description(KeyId=key_id, Description="new")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new"
    kms.disable_key(KeyId=key_id)
    kms.update_key_description(KeyId=key_arn(key_id), Description="")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == ""


# -- Aliases ----------------------------------------------------------------------------


def aliases_of(kms: Any, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = kms.list_aliases(**kwargs)
        out += page["Aliases"]
        if not page["Truncated"]:
            return out
        kwargs["Marker"] = page["NextMarker"]


def test_create_alias_and_list_it_by_key(kms: Any, unique: str) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.create_alias(AliasName=f"alias/list-{unique}", TargetKeyId=key_arn(key_id))
    kms.create_alias(AliasName=f"alias/list-{unique}/second", TargetKeyId=key_id)
    listed = aliases_of(kms, KeyId=key_id)
    assert sorted(a["AliasName"] for a in listed) == [
        f"alias/list-{unique}",
        f"alias/list-{unique}/second",
    ]
    for entry in listed:
        assert entry["TargetKeyId"] == key_id
        assert entry["AliasArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:{entry['AliasName']}"
        assert near(entry["CreationDate"], datetime.now(UTC))
        assert entry["LastUpdatedDate"] >= entry["CreationDate"]
    assert aliases_of(kms, KeyId=key_arn(key_id)) == listed


def test_list_aliases_walks_every_page_and_includes_the_aws_managed_alias(
    kms: Any, unique: str
) -> None:
    key_id = new_key(kms)["KeyId"]
    mine = {f"alias/page-{unique}-{i}" for i in range(4)}
    for name in mine:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    names: list[str] = []
    kwargs: dict[str, Any] = {"Limit": 3}
    pages = 0
    while True:
        page = kms.list_aliases(**kwargs)
        pages += 1
        assert len(page["Aliases"]) <= 3
        names += [entry["AliasName"] for entry in page["Aliases"]]
        if not page["Truncated"]:
            break
        kwargs["Marker"] = page["NextMarker"]
    assert pages >= 2
    assert len(names) == len(set(names))
    assert mine <= set(names)
    assert "alias/aws/secretsmanager" in names


def test_update_alias_points_it_at_another_key(kms: Any, unique: str) -> None:
    first = new_key(kms)["KeyId"]
    second = new_key(kms)["KeyId"]
    alias = f"alias/move-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=first)
    created = aliases_of(kms, KeyId=first)[0]
    kms.update_alias(AliasName=alias, TargetKeyId=second)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == second
    assert aliases_of(kms, KeyId=first) == []
    moved = aliases_of(kms, KeyId=second)[0]
    assert moved["CreationDate"] == created["CreationDate"]
    assert moved["LastUpdatedDate"] >= created["LastUpdatedDate"]


def test_update_alias_to_a_key_of_another_usage_is_refused(kms: Any, unique: str) -> None:
    symmetric = new_key(kms)["KeyId"]
    signing = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    alias = f"alias/usage-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=symmetric)
    expect_error("ValidationException", kms.update_alias, AliasName=alias, TargetKeyId=signing)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == symmetric


def test_update_alias_errors(kms: Any, unique: str) -> None:
    key_id = new_key(kms)["KeyId"]
    expect_error(
        "NotFoundException",
        kms.update_alias,
        AliasName=f"alias/never-made-{unique}",
        TargetKeyId=key_id,
    )
    kms.create_alias(AliasName=f"alias/upd-{unique}", TargetKeyId=key_id)
    expect_error(
        "NotFoundException",
        kms.update_alias,
        AliasName=f"alias/upd-{unique}",
        TargetKeyId=str(uuid.uuid4()),
    )


def test_delete_alias(kms: Any, unique: str) -> None:
    key_id = new_key(kms)["KeyId"]
    alias = f"alias/gone-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    kms.delete_alias(AliasName=alias)
    expect_error("NotFoundException", kms.describe_key, KeyId=alias)
    expect_error("NotFoundException", kms.delete_alias, AliasName=alias)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_duplicate_alias_is_already_exists(kms: Any, unique: str) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.create_alias(AliasName=f"alias/dup-{unique}", TargetKeyId=key_id)
    expect_error(
        "AlreadyExistsException",
        kms.create_alias,
        AliasName=f"alias/dup-{unique}",
        TargetKeyId=new_key(kms)["KeyId"],
    )


def test_alias_to_unknown_key_is_not_found(kms: Any, unique: str) -> None:
    expect_error(
        "NotFoundException",
        kms.create_alias,
        AliasName=f"alias/nokey-{unique}",
        TargetKeyId=str(uuid.uuid4()),
    )


@pytest.mark.parametrize(
    "name",
    ["no-prefix-{u}", "alias/has space-{u}", "alias/caf\u00e9-{u}", "alias/dot.{u}"],
)
def test_malformed_alias_name_is_validation_error(kms: Any, unique: str, name: str) -> None:
    expect_error(
        "ValidationException",
        kms.create_alias,
        AliasName=name.format(u=unique),
        TargetKeyId=new_key(kms)["KeyId"],
    )


def test_alias_in_the_reserved_aws_namespace_is_refused(kms: Any, unique: str) -> None:
    expect_error(
        "NotAuthorizedException",
        kms.create_alias,
        AliasName=f"alias/aws/{unique}",
        TargetKeyId=new_key(kms)["KeyId"],
    )


# -- Tags -------------------------------------------------------------------------------


def tags_of(kms: Any, key_id: str) -> dict[str, str]:
    return {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}


def test_tag_overwrite_and_untag(kms: Any) -> None:
    key_id = new_key(kms, Tags=[{"TagKey": "a", "TagValue": "1"}])["KeyId"]
    kms.tag_resource(
        KeyId=key_id,
        Tags=[{"TagKey": "b", "TagValue": "2"}, {"TagKey": "a", "TagValue": "3"}],
    )
    assert tags_of(kms, key_id) == {"a": "3", "b": "2"}
    kms.untag_resource(KeyId=key_arn(key_id), TagKeys=["a", "absent"])
    assert tags_of(kms, key_arn(key_id)) == {"b": "2"}


def test_list_resource_tags_paginates(kms: Any) -> None:
    tags = [{"TagKey": f"k{i}", "TagValue": f"v{i}"} for i in range(5)]
    key_id = new_key(kms, Tags=tags)["KeyId"]
    seen: list[dict[str, str]] = []
    kwargs: dict[str, Any] = {"KeyId": key_id, "Limit": 2}
    pages = 0
    while True:
        page = kms.list_resource_tags(**kwargs)
        pages += 1
        assert len(page["Tags"]) <= 2
        seen += page["Tags"]
        if not page["Truncated"]:
            break
        kwargs["Marker"] = page["NextMarker"]
    assert pages == 3
    assert sorted(seen, key=lambda t: t["TagKey"]) == tags


def test_aws_tag_prefix_is_tag_exception(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    expect_error(
        "TagException",
        kms.tag_resource,
        KeyId=key_id,
        Tags=[{"TagKey": "aws:owner", "TagValue": "me"}],
    )
    expect_error("TagException", kms.create_key, Tags=[{"TagKey": "aws:owner", "TagValue": "me"}])
    assert tags_of(kms, key_id) == {}


def test_tags_of_unknown_key_are_not_found(kms: Any) -> None:
    expect_error("NotFoundException", kms.list_resource_tags, KeyId=str(uuid.uuid4()))
    expect_error(
        "NotFoundException",
        kms.tag_resource,
        KeyId=str(uuid.uuid4()),
        Tags=[{"TagKey": "a", "TagValue": "b"}],
    )


# -- ScheduleKeyDeletion, CancelKeyDeletion -------------------------------------------


def test_schedule_and_cancel_key_deletion(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert scheduled["KeyId"] == key_arn(key_id)
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7
    assert near(scheduled["DeletionDate"], datetime.now(UTC) + timedelta(days=7), timedelta(days=1))
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["Enabled"] is False
    assert metadata["DeletionDate"] == scheduled["DeletionDate"]
    assert metadata["PendingDeletionWindowInDays"] == 7

    cancelled = kms.cancel_key_deletion(KeyId=key_id)
    assert cancelled["KeyId"] == key_arn(key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("Disabled", False)
    assert "DeletionDate" not in metadata
    assert "PendingDeletionWindowInDays" not in metadata
    kms.enable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_schedule_key_deletion_defaults_to_thirty_days(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    scheduled = kms.schedule_key_deletion(KeyId=key_id)
    assert scheduled["PendingWindowInDays"] == 30
    assert near(
        scheduled["DeletionDate"], datetime.now(UTC) + timedelta(days=30), timedelta(days=1)
    )


@pytest.mark.parametrize("days", [6, 31])
def test_schedule_key_deletion_window_out_of_range(kms: Any, days: int) -> None:
    key_id = new_key(kms)["KeyId"]
    expect_error(
        "ValidationException", kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=days
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_pending_deletion_key_refuses_state_changes(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    for call in (kms.enable_key, kms.disable_key, kms.schedule_key_deletion):
        expect_error("KMSInvalidStateException", call, KeyId=key_id)


def test_cancel_deletion_of_a_key_not_pending_deletion(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    expect_error("KMSInvalidStateException", kms.cancel_key_deletion, KeyId=key_id)


def test_disabled_key_can_be_scheduled_for_deletion(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.disable_key(KeyId=key_id)
    assert kms.schedule_key_deletion(KeyId=key_id)["KeyState"] == "PendingDeletion"


# -- Rotation ---------------------------------------------------------------------------


def test_key_rotation_enable_status_disable(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key_arn(key_id))
    assert status["KeyId"].endswith(key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    assert near(
        status["NextRotationDate"], datetime.now(UTC) + timedelta(days=180), timedelta(days=2)
    )
    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


def test_key_rotation_period_defaults_to_a_year(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 365


def test_key_rotation_period_bounds(server: Any, kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=2560)
    unchecked = server.client("kms", parameter_validation=False)
    for days in (89, 2561):
        expect_error(
            "ValidationException",
            unchecked.enable_key_rotation,
            KeyId=key_id,
            RotationPeriodInDays=days,
        )
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 2560


@pytest.mark.parametrize(
    "create",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ],
)
def test_rotation_of_non_symmetric_keys_is_unsupported(kms: Any, create: dict[str, str]) -> None:
    key_id = new_key(kms, **create)["KeyId"]
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=key_id)
    expect_error("UnsupportedOperationException", kms.rotate_key_on_demand, KeyId=key_id)


def test_rotate_on_demand_keeps_old_ciphertexts_readable(kms: Any) -> None:
    metadata = new_key(kms)
    key_id = metadata["KeyId"]
    before = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"].endswith(key_id)
    rotated = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert rotated["CurrentKeyMaterialId"] != metadata["CurrentKeyMaterialId"]
    after = kms.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=before)["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=after)["Plaintext"] == b"after rotation"
    rotations = kms.list_key_rotations(KeyId=key_id)
    assert rotations["Truncated"] is False
    assert len(rotations["Rotations"]) == 1
    entry = rotations["Rotations"][0]
    assert entry["KeyId"].endswith(key_id)
    assert entry["RotationType"] == "ON_DEMAND"
    assert near(entry["RotationDate"], datetime.now(UTC))


def test_rotate_on_demand_is_limited_to_25_per_key_and_listing_paginates(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key_id)
    expect_error("LimitExceededException", kms.rotate_key_on_demand, KeyId=key_id)
    seen: list[datetime] = []
    kwargs: dict[str, Any] = {"KeyId": key_id, "Limit": 10}
    while True:
        page = kms.list_key_rotations(**kwargs)
        assert len(page["Rotations"]) <= 10
        seen += [entry["RotationDate"] for entry in page["Rotations"]]
        if not page["Truncated"]:
            break
        kwargs["Marker"] = page["NextMarker"]
    assert len(seen) == 25


def test_list_key_rotations_of_an_asymmetric_key_is_unsupported(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    expect_error("UnsupportedOperationException", kms.list_key_rotations, KeyId=key_id)


# -- GetKeyLastUsage --------------------------------------------------------------------


def test_get_key_last_usage_records_the_last_cryptographic_operation(kms: Any) -> None:
    metadata = new_key(kms)
    key_id = metadata["KeyId"]
    fresh = kms.get_key_last_usage(KeyId=key_id)
    assert fresh["KeyId"].endswith(key_id)
    assert fresh["KeyCreationDate"] == metadata["CreationDate"]
    assert fresh["TrackingStartDate"] >= metadata["CreationDate"] - timedelta(seconds=1)
    assert "Operation" not in fresh.get("KeyLastUsage", {})

    encrypted = kms.encrypt(KeyId=key_id, Plaintext=b"x")
    usage = kms.get_key_last_usage(KeyId=key_id)["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    assert usage["KmsRequestId"] == encrypted["ResponseMetadata"]["RequestId"]
    assert near(usage["Timestamp"], datetime.now(UTC))

    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    usage = kms.get_key_last_usage(KeyId=key_arn(key_id))["KeyLastUsage"]
    assert usage["Operation"] == "Decrypt"
    assert usage["KmsRequestId"] == decrypted["ResponseMetadata"]["RequestId"]

    kms.describe_key(KeyId=key_id)
    assert kms.get_key_last_usage(KeyId=key_id)["KeyLastUsage"]["Operation"] == "Decrypt"


def test_get_key_last_usage_ignores_failed_operations(kms: Any) -> None:
    key_id = new_key(kms)["KeyId"]
    kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    kms.disable_key(KeyId=key_id)
    expect_error("DisabledException", kms.encrypt, KeyId=key_id, Plaintext=b"x")
    usage = kms.get_key_last_usage(KeyId=key_id)["KeyLastUsage"]
    assert usage["Operation"] == "GenerateDataKey"
