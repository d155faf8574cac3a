"""Every KMS operation asks the Authorizer for AWS's action, resource, condition keys and
key policy, before it changes anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from strongroom.authorization import AccessRequest
from strongroom.errors import AccessDeniedException, NotFoundException
from strongroom.kms import shapes
from strongroom.kms.key_policies import default_key_policy
from tests.unit.kms.conftest import ACCOUNT, REGION, ROOT, KmsStack

VIA = f"secretsmanager.{REGION}.amazonaws.com"


def _key(stack: KmsStack, **create: Any) -> shapes.KeyMetadata:
    result = stack.administration.create_key(ROOT, shapes.CreateKeyRequest(**create))
    assert result.key_metadata is not None
    return result.key_metadata


def _only(stack: KmsStack) -> AccessRequest:
    assert len(stack.authorizer.requests) == 1, stack.authorizer.actions()
    return stack.authorizer.requests[0]


def _assert_key_request(request: AccessRequest, action: str, key: shapes.KeyMetadata) -> None:
    assert request.action == action
    assert request.resource == key.arn
    assert request.resource_policy is not None
    assert request.resource_policy.required
    assert request.resource_policy.kind == "key"
    assert request.context["kms:CallerAccount"] == ACCOUNT
    assert request.context["kms:KeySpec"] == key.key_spec
    assert request.context["kms:KeyUsage"] == key.key_usage
    assert request.context["kms:KeyOrigin"] == key.origin


def test_create_key_is_asked_for_the_account_with_spec_usage_origin_and_tags(
    stack: KmsStack,
) -> None:
    _key(
        stack,
        key_spec="RSA_2048",
        key_usage="SIGN_VERIFY",
        tags=(shapes.Tag("customer", "cust-1"), shapes.Tag("team", "blue")),
    )
    request = _only(stack)
    assert request.action == "kms:CreateKey"
    assert request.resource == "*"
    assert request.resource_policy is None
    assert request.context["kms:KeySpec"] == "RSA_2048"
    assert request.context["kms:KeyUsage"] == "SIGN_VERIFY"
    assert request.context["kms:KeyOrigin"] == "AWS_KMS"
    assert request.context["kms:BypassPolicyLockoutSafetyCheck"] == "false"
    assert request.context["aws:RequestTag/customer"] == "cust-1"
    assert request.context["aws:RequestTag/team"] == "blue"
    assert tuple(request.context["aws:TagKeys"]) == ("customer", "team")
    assert request.tag_keys_written == {"customer", "team"}
    assert request.request_tenants == {"cust-1"}


def test_a_denied_create_key_creates_nothing(stack: KmsStack) -> None:
    stack.authorizer.rule = lambda ctx, request: False
    with pytest.raises(AccessDeniedException):
        _key(stack)
    assert stack.store.list_keys(REGION, None, 10) == []


def test_key_policy_tags_and_tenant_of_the_key_go_with_every_request(stack: KmsStack) -> None:
    key = _key(stack, tags=(shapes.Tag("customer", "cust-7"),))
    stack.authorizer.clear()
    stack.administration.describe_key(ROOT, shapes.DescribeKeyRequest(key_id=str(key.key_id)))
    request = _only(stack)
    _assert_key_request(request, "kms:DescribeKey", key)
    assert request.resource_policy is not None
    assert request.resource_policy.document == default_key_policy("aws", ACCOUNT)
    assert request.resource_tags == {"customer": "cust-7"}
    assert request.resource_tenant == "cust-7"
    assert "kms:RequestAlias" not in request.context


def test_a_key_not_cached_is_read_with_its_tags_and_aliases_in_one_read(
    stack: KmsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With many tenants most keys are not cached when their tenant calls: one read
    # transaction for what authorization looks at, not one for each part.
    key = _key(stack, tags=(shapes.Tag("customer", "cust-7"),))
    stack.aliases.create_alias(
        ROOT, shapes.CreateAliasRequest(alias_name="alias/app", target_key_id=str(key.key_id))
    )
    stack.keys.invalidate(str(key.key_id))
    reads: list[str] = []
    for name in ("key", "key_tags", "list_aliases", "key_for_authorization"):
        method = getattr(stack.store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method) -> Any:
            reads.append(_name)
            return _method(*args)

        monkeypatch.setattr(stack.store, name, counted)
    stack.authorizer.clear()
    stack.crypto.encrypt(
        ROOT, shapes.EncryptRequest(key_id=str(key.key_id), plaintext=b"x", encryption_context=None)
    )
    request = _only(stack)
    assert reads == ["key_for_authorization"]
    assert tuple(request.context["kms:ResourceAliases"]) == ("alias/app",)
    assert request.resource_tags == {"customer": "cust-7"}
    assert request.resource_tenant == "cust-7"


def test_alias_reference_sets_request_alias_and_resource_aliases(stack: KmsStack) -> None:
    key = _key(stack)
    stack.aliases.create_alias(
        ROOT, shapes.CreateAliasRequest(alias_name="alias/app", target_key_id=str(key.key_id))
    )
    stack.authorizer.clear()
    stack.crypto.encrypt(
        ROOT, shapes.EncryptRequest(key_id="alias/app", plaintext=b"x", encryption_context=None)
    )
    request = _only(stack)
    _assert_key_request(request, "kms:Encrypt", key)
    assert request.context["kms:RequestAlias"] == "alias/app"
    assert tuple(request.context["kms:ResourceAliases"]) == ("alias/app",)
    assert request.context["kms:EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert "kms:EncryptionContextKeys" not in request.context


def test_encryption_context_becomes_condition_keys_and_request_tenants(stack: KmsStack) -> None:
    key = _key(stack)
    stack.authorizer.clear()
    context = {"tenant_id": "cust-3", "purpose": "orders"}
    blob = stack.crypto.encrypt(
        ROOT,
        shapes.EncryptRequest(key_id=str(key.key_id), plaintext=b"x", encryption_context=context),
    ).ciphertext_blob
    encrypt = _only(stack)
    assert encrypt.context["kms:EncryptionContext:tenant_id"] == "cust-3"
    assert encrypt.context["kms:EncryptionContext:purpose"] == "orders"
    assert set(encrypt.context["kms:EncryptionContextKeys"]) == {"tenant_id", "purpose"}
    assert encrypt.request_tenants == {"cust-3"}
    stack.authorizer.clear()
    stack.crypto.decrypt(
        ROOT, shapes.DecryptRequest(ciphertext_blob=blob, encryption_context=context)
    )
    decrypt = _only(stack)
    _assert_key_request(decrypt, "kms:Decrypt", key)
    assert decrypt.context["kms:EncryptionContext:tenant_id"] == "cust-3"
    assert decrypt.request_tenants == {"cust-3"}


def test_re_encrypt_asks_from_on_the_source_and_to_on_the_destination(stack: KmsStack) -> None:
    source, destination = _key(stack), _key(stack)
    blob = stack.crypto.encrypt(
        ROOT,
        shapes.EncryptRequest(
            key_id=str(source.key_id), plaintext=b"x", encryption_context={"a": "1"}
        ),
    ).ciphertext_blob
    stack.authorizer.clear()
    stack.crypto.re_encrypt(
        ROOT,
        shapes.ReEncryptRequest(
            destination_key_id=str(destination.key_id),
            ciphertext_blob=blob,
            source_encryption_context={"a": "1"},
            destination_encryption_context={"b": "2"},
        ),
    )
    to, from_ = stack.authorizer.requests
    _assert_key_request(to, "kms:ReEncryptTo", destination)
    _assert_key_request(from_, "kms:ReEncryptFrom", source)
    assert to.context["kms:EncryptionContext:b"] == "2"
    assert from_.context["kms:EncryptionContext:a"] == "1"
    assert to.context["kms:ReEncryptOnSameKey"] == "false"
    assert from_.context["kms:ReEncryptOnSameKey"] == "false"


def test_secrets_manager_data_keys_are_asked_via_secrets_manager(stack: KmsStack) -> None:
    key = _key(stack)
    stack.authorizer.clear()
    context = {"SecretARN": "arn:secret", "SecretVersionId": "v1", "tenant_id": "cust-9"}
    data_key = stack.crypto.new_data_key(ROOT, str(key.key_id), context)
    generate = _only(stack)
    _assert_key_request(generate, "kms:GenerateDataKey", key)
    assert generate.context["kms:ViaService"] == VIA
    assert generate.request_tenants == {"cust-9"}
    stack.authorizer.clear()
    stack.crypto.open_data_key(ROOT, data_key.ciphertext_blob, context).wipe()
    decrypt = _only(stack)
    _assert_key_request(decrypt, "kms:Decrypt", key)
    assert decrypt.context["kms:ViaService"] == VIA
    data_key.plaintext.wipe()


def test_aws_managed_key_carries_aws_managed_policy(stack: KmsStack) -> None:
    data_key = stack.crypto.new_data_key(ROOT, "alias/aws/secretsmanager", {"k": "v"})
    data_key.plaintext.wipe()
    request = stack.authorizer.requests[-1]
    assert request.resource_policy is not None
    document = json.loads(request.resource_policy.document)
    conditions = document["Statement"][0]["Condition"]["StringEquals"]
    assert conditions == {"kms:CallerAccount": ACCOUNT, "kms:ViaService": VIA}


Operation = Callable[[KmsStack, str], object]


def _sign_key(stack: KmsStack) -> str:
    return str(_key(stack, key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY").key_id)


def _hmac_key(stack: KmsStack) -> str:
    return str(_key(stack, key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC").key_id)


# (operation, key factory or None for a symmetric key, expected action, expected conditions)
KEY_OPERATIONS: list[tuple[str, Operation, Callable[[KmsStack], str] | None, dict[str, Any]]] = [
    (
        "kms:DescribeKey",
        lambda s, k: s.administration.describe_key(ROOT, shapes.DescribeKeyRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:EnableKey",
        lambda s, k: s.administration.enable_key(ROOT, shapes.EnableKeyRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:DisableKey",
        lambda s, k: s.administration.disable_key(ROOT, shapes.DisableKeyRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:UpdateKeyDescription",
        lambda s, k: s.administration.update_key_description(
            ROOT, shapes.UpdateKeyDescriptionRequest(key_id=k, description="d")
        ),
        None,
        {},
    ),
    (
        "kms:GetKeyLastUsage",
        lambda s, k: s.administration.get_key_last_usage(
            ROOT, shapes.GetKeyLastUsageRequest(key_id=k)
        ),
        None,
        {},
    ),
    (
        "kms:ListResourceTags",
        lambda s, k: s.administration.list_resource_tags(
            ROOT, shapes.ListResourceTagsRequest(key_id=k)
        ),
        None,
        {},
    ),
    (
        "kms:TagResource",
        lambda s, k: s.administration.tag_resource(
            ROOT, shapes.TagResourceRequest(key_id=k, tags=(shapes.Tag("env", "prod"),))
        ),
        None,
        {"aws:RequestTag/env": "prod", "aws:TagKeys": ("env",)},
    ),
    (
        "kms:UntagResource",
        lambda s, k: s.administration.untag_resource(
            ROOT, shapes.UntagResourceRequest(key_id=k, tag_keys=("env",))
        ),
        None,
        {"aws:TagKeys": ("env",)},
    ),
    (
        "kms:ScheduleKeyDeletion",
        lambda s, k: s.administration.schedule_key_deletion(
            ROOT, shapes.ScheduleKeyDeletionRequest(key_id=k, pending_window_in_days=9)
        ),
        None,
        {"kms:ScheduleKeyDeletionPendingWindowInDays": "9"},
    ),
    (
        "kms:EnableKeyRotation",
        lambda s, k: s.rotation.enable_key_rotation(
            ROOT, shapes.EnableKeyRotationRequest(key_id=k, rotation_period_in_days=90)
        ),
        None,
        {"kms:RotationPeriodInDays": "90"},
    ),
    (
        "kms:DisableKeyRotation",
        lambda s, k: s.rotation.disable_key_rotation(
            ROOT, shapes.DisableKeyRotationRequest(key_id=k)
        ),
        None,
        {},
    ),
    (
        "kms:GetKeyRotationStatus",
        lambda s, k: s.rotation.get_key_rotation_status(
            ROOT, shapes.GetKeyRotationStatusRequest(key_id=k)
        ),
        None,
        {},
    ),
    (
        "kms:RotateKeyOnDemand",
        lambda s, k: s.rotation.rotate_key_on_demand(
            ROOT, shapes.RotateKeyOnDemandRequest(key_id=k)
        ),
        None,
        {},
    ),
    (
        "kms:ListKeyRotations",
        lambda s, k: s.rotation.list_key_rotations(ROOT, shapes.ListKeyRotationsRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:GenerateDataKey",
        lambda s, k: s.crypto.generate_data_key(
            ROOT, shapes.GenerateDataKeyRequest(key_id=k, key_spec="AES_256")
        ),
        None,
        {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    ),
    (
        "kms:GenerateDataKeyWithoutPlaintext",
        lambda s, k: s.crypto.generate_data_key_without_plaintext(
            ROOT, shapes.GenerateDataKeyWithoutPlaintextRequest(key_id=k, number_of_bytes=16)
        ),
        None,
        {},
    ),
    (
        "kms:GenerateDataKeyPair",
        lambda s, k: s.crypto.generate_data_key_pair(
            ROOT, shapes.GenerateDataKeyPairRequest(key_id=k, key_pair_spec="ECC_NIST_P256")
        ),
        None,
        {"kms:DataKeyPairSpec": "ECC_NIST_P256"},
    ),
    (
        "kms:Sign",
        lambda s, k: s.crypto.sign(
            ROOT, shapes.SignRequest(key_id=k, message=b"m", signing_algorithm="ECDSA_SHA_256")
        ),
        _sign_key,
        {"kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "RAW"},
    ),
    (
        "kms:GetPublicKey",
        lambda s, k: s.crypto.get_public_key(ROOT, shapes.GetPublicKeyRequest(key_id=k)),
        _sign_key,
        {},
    ),
    (
        "kms:GenerateMac",
        lambda s, k: s.crypto.generate_mac(
            ROOT, shapes.GenerateMacRequest(message=b"m", key_id=k, mac_algorithm="HMAC_SHA_256")
        ),
        _hmac_key,
        {"kms:MacAlgorithm": "HMAC_SHA_256"},
    ),
    (
        "kms:GetKeyPolicy",
        lambda s, k: s.policies.get_key_policy(ROOT, shapes.GetKeyPolicyRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:ListKeyPolicies",
        lambda s, k: s.policies.list_key_policies(ROOT, shapes.ListKeyPoliciesRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:ListGrants",
        lambda s, k: s.grants.list_grants(ROOT, shapes.ListGrantsRequest(key_id=k)),
        None,
        {},
    ),
    (
        "kms:CreateGrant",
        lambda s, k: s.grants.create_grant(
            ROOT,
            shapes.CreateGrantRequest(
                key_id=k,
                grantee_principal="arn:aws:iam::111122223333:role/app",
                retiring_principal="arn:aws:iam::111122223333:user/ops",
                operations=("Decrypt", "Encrypt"),
                constraints=shapes.GrantConstraints(encryption_context_subset={"tenant_id": "c1"}),
            ),
        ),
        None,
        {
            "kms:GrantOperations": ("Decrypt", "Encrypt"),
            "kms:GranteePrincipal": "arn:aws:iam::111122223333:role/app",
            "kms:RetiringPrincipal": "arn:aws:iam::111122223333:user/ops",
            "kms:GrantConstraintType": "EncryptionContextSubset",
            "kms:GrantIsForAWSResource": "false",
            "kms:EncryptionContext:tenant_id": "c1",
        },
    ),
]


@pytest.mark.parametrize(
    ("action", "operation", "make_key", "conditions"),
    KEY_OPERATIONS,
    ids=[entry[0] for entry in KEY_OPERATIONS],
)
def test_key_operation_asks_for_its_action_on_the_key(
    stack: KmsStack,
    action: str,
    operation: Operation,
    make_key: Callable[[KmsStack], str] | None,
    conditions: dict[str, Any],
) -> None:
    key_id = make_key(stack) if make_key is not None else str(_key(stack).key_id)
    stack.authorizer.clear()
    operation(stack, key_id)
    request = _only(stack)
    assert request.action == action
    assert request.resource.endswith(f":key/{key_id}")
    assert request.resource_policy is not None
    assert request.resource_policy.required
    for name, value in conditions.items():
        got = request.context[name]
        assert (tuple(got) if isinstance(value, tuple) else got) == value, name


@pytest.mark.parametrize(
    ("action", "operation", "make_key", "conditions"),
    KEY_OPERATIONS,
    ids=[entry[0] for entry in KEY_OPERATIONS],
)
def test_denied_key_operation_changes_nothing(
    stack: KmsStack,
    action: str,
    operation: Operation,
    make_key: Callable[[KmsStack], str] | None,
    conditions: dict[str, Any],
) -> None:
    key_id = make_key(stack) if make_key is not None else str(_key(stack).key_id)
    before = stack.store.key(key_id)
    tags_before = stack.store.key_tags(key_id)
    stack.authorizer.rule = lambda ctx, request: False
    with pytest.raises(AccessDeniedException):
        operation(stack, key_id)
    assert stack.store.key(key_id) == before
    assert stack.store.key_tags(key_id) == tags_before
    assert stack.store.list_grants(key_id, None, None, None, 10) == []
    assert stack.store.rotations(key_id) == []


def test_unknown_key_is_not_found_before_authorization(stack: KmsStack) -> None:
    stack.authorizer.rule = lambda ctx, request: False
    with pytest.raises(NotFoundException):
        stack.administration.describe_key(
            ROOT, shapes.DescribeKeyRequest(key_id="1234abcd-12ab-34cd-56ef-1234567890ab")
        )
    assert stack.authorizer.requests == []


def test_alias_operations_ask_on_the_alias_and_on_the_keys(stack: KmsStack) -> None:
    first, second = _key(stack), _key(stack)
    stack.authorizer.clear()
    stack.aliases.create_alias(
        ROOT, shapes.CreateAliasRequest(alias_name="alias/x", target_key_id=str(first.key_id))
    )
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/x"
    assert [(r.action, r.resource) for r in stack.authorizer.requests] == [
        ("kms:CreateAlias", alias_arn),
        ("kms:CreateAlias", first.arn),
    ]
    assert stack.authorizer.requests[0].resource_policy is None
    stack.authorizer.clear()
    stack.aliases.update_alias(
        ROOT, shapes.UpdateAliasRequest(alias_name="alias/x", target_key_id=str(second.key_id))
    )
    assert [(r.action, r.resource) for r in stack.authorizer.requests] == [
        ("kms:UpdateAlias", alias_arn),
        ("kms:UpdateAlias", first.arn),
        ("kms:UpdateAlias", second.arn),
    ]
    stack.authorizer.clear()
    stack.aliases.delete_alias(ROOT, shapes.DeleteAliasRequest(alias_name="alias/x"))
    assert [(r.action, r.resource) for r in stack.authorizer.requests] == [
        ("kms:DeleteAlias", alias_arn),
        ("kms:DeleteAlias", second.arn),
    ]


def test_keyless_operations_ask_on_star(stack: KmsStack) -> None:
    stack.crypto.generate_random(ROOT, shapes.GenerateRandomRequest(number_of_bytes=8))
    stack.grants.list_retirable_grants(
        ROOT, shapes.ListRetirableGrantsRequest(retiring_principal="arn:aws:iam::1:root")
    )
    requests = [r for r in stack.authorizer.requests if r.resource == "*"]
    assert [r.action for r in requests] == ["kms:GenerateRandom", "kms:ListRetirableGrants"]
    assert all(r.resource_policy is None for r in requests)


def test_put_key_policy_asks_with_the_bypass_flag(stack: KmsStack) -> None:
    key = _key(stack)
    stack.authorizer.clear()
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    stack.policies.put_key_policy(
        ROOT, shapes.PutKeyPolicyRequest(key_id=str(key.key_id), policy=policy)
    )
    request = _only(stack)
    _assert_key_request(request, "kms:PutKeyPolicy", key)
    assert request.context["kms:BypassPolicyLockoutSafetyCheck"] == "false"
    got = stack.policies.get_key_policy(ROOT, shapes.GetKeyPolicyRequest(key_id=str(key.key_id)))
    assert got.policy == policy
