"""Resource policy operations: put, get, delete, validate and list, with their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.authorization import AccessRequest, ResourcePolicy
from strongroom.errors import (
    InvalidParameterException,
    InvalidRequestException,
    MalformedPolicyDocumentException,
    PublicPolicyException,
    ResourceNotFoundException,
)
from strongroom.secretsmanager import resource_policy
from strongroom.secretsmanager import shapes as sm
from strongroom.secretsmanager.service import SecretsManagerService
from tests.support.secrets_service import ACCOUNT, Harness, call_context, service_harness

NAME = "/customer/cust-1/db"


def policy(principal: object, **extra: object) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        **extra,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


OWN_ROLE = policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader"})
EVERYONE = policy("*")
OTHER_ACCOUNT = policy({"AWS": "arn:aws:iam::210987654321:root"})


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with service_harness(tmp_path) as built:
        built.service.create_secret(call_context(), sm.CreateSecretRequest(NAME, secret_string="v"))
        yield built


@pytest.fixture
def service(harness: Harness) -> SecretsManagerService:
    return harness.service


def put(service: SecretsManagerService, text: str, **kwargs: object) -> sm.SecretRef:
    return service.put_resource_policy(
        call_context(),
        sm.PutResourcePolicyRequest(NAME, text, **kwargs),  # type: ignore[arg-type]
    )


def get(service: SecretsManagerService) -> sm.GetResourcePolicyResult:
    return service.get_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME))


def test_put_get_delete_round_trip(service: SecretsManagerService) -> None:
    empty = get(service)
    assert empty.resource_policy is None
    assert empty.name == NAME
    ref = put(service, OWN_ROLE)
    assert (ref.arn, ref.name) == (empty.arn, NAME)
    assert get(service).resource_policy == OWN_ROLE  # as written, byte for byte
    listed = service.list_resource_policies(call_context(), sm.ListResourcePoliciesRequest(NAME))
    assert listed.resource_policies == (sm.ResourcePolicySummary("default"),)
    assert service.delete_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME)) == ref
    assert get(service).resource_policy is None
    listed = service.list_resource_policies(call_context(), sm.ListResourcePoliciesRequest(NAME))
    assert listed.resource_policies == ()
    # Deleting again is not an error.
    service.delete_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME))


def test_the_stored_policy_is_what_later_calls_are_authorized_with(harness: Harness) -> None:
    put(harness.service, OWN_ROLE)
    with harness.denying(lambda request: False) as authorizer:
        harness.service.get_secret_value(call_context(), sm.GetSecretValueRequest(NAME))
    assert authorizer.last("secretsmanager:GetSecretValue").resource_policy == ResourcePolicy(
        OWN_ROLE
    )


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"Version": "2012-10-17"}),
        # a resource policy must name a principal
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
            }
        ),
        policy("*", Effect="Maybe"),
    ],
)
def test_a_malformed_policy_is_refused_and_nothing_is_stored(harness: Harness, text: str) -> None:
    put(harness.service, OWN_ROLE)
    before = harness.snapshot()
    with pytest.raises(MalformedPolicyDocumentException) as raised:
        put(harness.service, text)
    assert raised.value.message
    assert harness.snapshot() == before


def test_a_policy_over_20480_bytes_is_refused(service: SecretsManagerService) -> None:
    sids = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/r{i}"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
        for i in range(300)
    ]
    text = json.dumps({"Version": "2012-10-17", "Statement": sids}, separators=(",", ":"))
    assert len(text) > resource_policy.MAX_POLICY_BYTES
    with pytest.raises(MalformedPolicyDocumentException):
        put(service, text)


@pytest.mark.parametrize("text", [EVERYONE, OTHER_ACCOUNT, policy({"AWS": "*"})])
def test_block_public_policy_refuses_public_access(harness: Harness, text: str) -> None:
    before = harness.snapshot()
    with pytest.raises(PublicPolicyException) as raised:
        put(harness.service, text, block_public_policy=True)
    assert raised.value.message == (
        "This resource policy contains a statement that grants public access."
    )
    assert harness.snapshot() == before
    # Without BlockPublicPolicy the same policy is stored (as on AWS).
    put(harness.service, text, block_public_policy=False)
    assert get(harness.service).resource_policy == text


def test_block_public_policy_accepts_a_policy_within_the_account(
    service: SecretsManagerService,
) -> None:
    put(service, OWN_ROLE, block_public_policy=True)
    pinned = policy("*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
    put(service, pinned, block_public_policy=True)
    assert get(service).resource_policy == pinned


def test_put_resource_policy_asks_with_block_public_policy(harness: Harness) -> None:
    with harness.denying(lambda request: False) as authorizer:
        put(harness.service, OWN_ROLE, block_public_policy=True)
    asked = authorizer.last("secretsmanager:PutResourcePolicy")
    assert asked.context == {
        "secretsmanager:SecretId": NAME,
        "secretsmanager:BlockPublicPolicy": "true",
    }
    assert asked.resource_policy is None  # the policy in force, not the one being put


def test_only_the_default_policy_name_is_served(service: SecretsManagerService) -> None:
    put(service, OWN_ROLE, policy_name="default")
    with pytest.raises(InvalidParameterException):
        put(service, OWN_ROLE, policy_name="other")
    with pytest.raises(InvalidParameterException):
        service.delete_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME, "other"))
    with pytest.raises(ResourceNotFoundException):
        service.get_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME, "other"))
    named = service.get_resource_policy(call_context(), sm.ResourcePolicyRequest(NAME, "default"))
    assert named.resource_policy == OWN_ROLE


def test_a_missing_secret_is_not_found(service: SecretsManagerService) -> None:
    missing = "/customer/cust-1/missing"
    with pytest.raises(ResourceNotFoundException):
        service.put_resource_policy(call_context(), sm.PutResourcePolicyRequest(missing, OWN_ROLE))
    with pytest.raises(ResourceNotFoundException):
        service.get_resource_policy(call_context(), sm.ResourcePolicyRequest(missing))
    with pytest.raises(ResourceNotFoundException):
        service.delete_resource_policy(call_context(), sm.ResourcePolicyRequest(missing))
    with pytest.raises(ResourceNotFoundException):
        service.validate_resource_policy(
            call_context(), sm.ValidateResourcePolicyRequest(OWN_ROLE, missing)
        )


def test_a_secret_marked_for_deletion_takes_no_new_policy(service: SecretsManagerService) -> None:
    service.delete_secret(call_context(), sm.DeleteSecretRequest(NAME))
    with pytest.raises(InvalidRequestException):
        put(service, OWN_ROLE)
    assert get(service).resource_policy is None


def validate(
    harness: Harness, text: str, secret_id: str | None = None
) -> sm.ValidateResourcePolicyResult:
    return harness.service.validate_resource_policy(
        call_context(), sm.ValidateResourcePolicyRequest(text, secret_id)
    )


def test_validate_passes_a_good_policy_and_changes_nothing(harness: Harness) -> None:
    before = harness.snapshot()
    with harness.denying(lambda request: False) as authorizer:
        result = validate(harness, OWN_ROLE, NAME)
    assert result == sm.ValidateResourcePolicyResult(True, ())
    assert harness.snapshot() == before
    asked = authorizer.last("secretsmanager:ValidateResourcePolicy")
    assert asked.resource.startswith("arn:aws:secretsmanager:")
    assert asked.context == {"secretsmanager:SecretId": NAME}

    with harness.denying(lambda request: False) as authorizer:
        assert validate(harness, OWN_ROLE).policy_validation_passed
    assert authorizer.asked == [AccessRequest("secretsmanager:ValidateResourcePolicy", "*")]


def test_validate_reports_syntax_errors_and_public_access(harness: Harness) -> None:
    syntax = validate(harness, json.dumps({"Version": "2012-10-17"}))
    assert not syntax.policy_validation_passed
    assert [e.check_name for e in syntax.validation_errors] == [resource_policy.SYNTAX_CHECK]
    assert syntax.validation_errors[0].error_message

    public = validate(harness, EVERYONE)
    assert public == sm.ValidateResourcePolicyResult(
        False,
        (
            sm.ValidationErrorsEntry(
                resource_policy.PUBLIC_ACCESS_CHECK, resource_policy.PUBLIC_POLICY
            ),
        ),
    )
