"""STS: AssumeRole's durations, session tags, role chaining, source identity, packed size."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest

from strongroom.context import CallContext
from strongroom.errors import (
    AccessDenied,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
    ValidationError,
)
from strongroom.identity import iam_shapes as iam
from strongroom.identity import sts_shapes as sts
from tests.unit.identity.conftest import NOW, ROOT, IdentityStack, identity_document


def tags(**pairs: str) -> tuple[sts.Tag, ...]:
    return tuple(sts.Tag(key=k, value=v) for k, v in pairs.items())


def assume(
    stack: IdentityStack, role_arn: str, ctx: CallContext = ROOT, **fields: object
) -> sts.AssumeRoleResponse:
    request = sts.AssumeRoleRequest(role_arn=role_arn, role_session_name="s", **fields)  # type: ignore[arg-type]
    return stack.sts.assume_role(ctx, request)


def session_context(stack: IdentityStack, response: sts.AssumeRoleResponse) -> CallContext:
    assert response.credentials is not None
    return stack.context_for(response.credentials.access_key_id, response.credentials.session_token)


# -- durations ------------------------------------------------------------------------------------


def test_a_session_lasts_an_hour_by_default(stack: IdentityStack) -> None:
    response = assume(stack, stack.create_role("app"))
    assert response.credentials is not None
    assert response.credentials.expiration == NOW + timedelta(hours=1)
    assert response.assumed_role_user is not None
    assert response.assumed_role_user.arn == "arn:aws:sts::123456789012:assumed-role/app/s"
    assert response.packed_policy_size is None


@pytest.mark.parametrize("seconds", [900, 3600])
def test_durations_within_the_bounds_are_granted(stack: IdentityStack, seconds: int) -> None:
    response = assume(stack, stack.create_role("app"), duration_seconds=seconds)
    assert response.credentials is not None
    assert response.credentials.expiration == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize("seconds", [899, 3601])
def test_durations_outside_the_bounds_are_refused(stack: IdentityStack, seconds: int) -> None:
    with pytest.raises(ValidationError):
        assume(stack, stack.create_role("app"), duration_seconds=seconds)


def test_the_role_maximum_session_duration_is_the_upper_bound(stack: IdentityStack) -> None:
    role_arn = stack.create_role("long", max_session_duration=43200)
    response = assume(stack, role_arn, duration_seconds=43200)
    assert response.credentials is not None
    assert response.credentials.expiration == NOW + timedelta(hours=12)
    with pytest.raises(ValidationError, match="MaxSessionDuration"):
        assume(stack, role_arn, duration_seconds=43201)


def test_role_chaining_is_capped_at_one_hour(stack: IdentityStack) -> None:
    role_arn = stack.create_role("long", max_session_duration=43200)
    parent = session_context(stack, assume(stack, role_arn, duration_seconds=43200))
    with pytest.raises(ValidationError, match="1 hour session limit"):
        assume(stack, role_arn, parent, duration_seconds=3601)
    child = assume(stack, role_arn, parent, duration_seconds=3600)
    assert child.credentials is not None
    assert child.credentials.expiration == NOW + timedelta(hours=1)


def test_an_unknown_role_is_access_denied(stack: IdentityStack) -> None:
    stack.create_role("app")
    for arn in (
        "arn:aws:iam::123456789012:role/nope",
        "arn:aws:iam::123456789012:role/other-path/app",
        "arn:aws:iam::999999999999:role/app",
    ):
        with pytest.raises(AccessDenied):
            assume(stack, arn)


# -- session tags ---------------------------------------------------------------------------------


def test_fifty_session_tags_are_allowed_and_fifty_one_are_not(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    fifty = tuple(sts.Tag(key=f"k{i}", value="v") for i in range(50))
    response = assume(stack, role_arn, tags=fifty)
    assert response.packed_policy_size is not None
    assert 0 < response.packed_policy_size <= 100
    with pytest.raises(ValidationError, match="less than or equal to 50"):
        assume(stack, role_arn, tags=(*fifty, sts.Tag(key="k50", value="v")))


def test_tag_keys_differing_only_in_case_are_duplicates(stack: IdentityStack) -> None:
    with pytest.raises(ValidationError, match="Duplicate tag keys"):
        assume(stack, stack.create_role("app"), tags=tags(team="a", Team="b"))


def test_transitive_keys_must_be_among_the_session_tags(stack: IdentityStack) -> None:
    with pytest.raises(ValidationError, match="transitive"):
        assume(
            stack,
            stack.create_role("app"),
            tags=tags(team="a"),
            transitive_tag_keys=("customer",),
        )


def test_tagging_and_setting_a_source_identity_are_authorized_separately(
    stack: IdentityStack,
) -> None:
    role_arn = stack.create_role("app")
    stack.authorizer.actions.clear()
    assume(stack, role_arn)
    assert stack.authorizer.actions == ["sts:AssumeRole"]
    stack.authorizer.actions.clear()
    assume(stack, role_arn, tags=tags(team="a"), source_identity="alice")
    assert stack.authorizer.actions == [
        "sts:AssumeRole",
        "sts:TagSession",
        "sts:SetSourceIdentity",
    ]


# -- role chaining --------------------------------------------------------------------------------


def test_transitive_tags_carry_down_a_chain_and_cannot_be_overridden(
    stack: IdentityStack,
) -> None:
    role_arn = stack.create_role("app")
    parent = session_context(
        stack,
        assume(
            stack,
            role_arn,
            tags=tags(customer="acme", team="a"),
            transitive_tag_keys=("customer",),
        ),
    )
    for override in ("customer", "CUSTOMER"):
        with pytest.raises(ValidationError, match="cannot be overridden"):
            assume(stack, role_arn, parent, tags=((sts.Tag(key=override, value="evil")),))
    child = session_context(stack, assume(stack, role_arn, parent, tags=tags(team="b")))
    assert child.principal.session is not None
    assert dict(child.principal.session.tags) == {"customer": "acme", "team": "b"}
    assert child.principal.tenant == "acme"
    # Still transitive one level further down; the non-transitive team tag is not.
    grandchild = session_context(stack, assume(stack, role_arn, child))
    assert grandchild.principal.session is not None
    assert dict(grandchild.principal.session.tags) == {"customer": "acme"}
    with pytest.raises(ValidationError, match="cannot be overridden"):
        assume(stack, role_arn, grandchild, tags=tags(customer="evil"))


def test_a_transitive_key_named_in_another_case_still_carries_its_tag(
    stack: IdentityStack,
) -> None:
    """Tag keys are case-insensitive: TransitiveTagKeys=["customer"] makes Customer transitive."""
    role_arn = stack.create_role("app")
    parent = session_context(
        stack,
        assume(stack, role_arn, tags=tags(Customer="acme"), transitive_tag_keys=("customer",)),
    )
    with pytest.raises(ValidationError, match="cannot be overridden"):
        assume(stack, role_arn, parent, tags=tags(customer="evil"))
    child = session_context(stack, assume(stack, role_arn, parent))
    assert child.principal.tenant == "acme"
    assert child.principal.session is not None
    assert dict(child.principal.session.tags) == {"Customer": "acme"}


def test_the_source_identity_cannot_change_in_a_chain(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    first = assume(stack, role_arn, source_identity="alice")
    assert first.source_identity == "alice"
    parent = session_context(stack, first)
    with pytest.raises(AccessDenied, match="source identity"):
        assume(stack, role_arn, parent, source_identity="mallory")
    same = assume(stack, role_arn, parent, source_identity="alice")
    assert same.source_identity == "alice"
    inherited = assume(stack, role_arn, parent)
    assert inherited.source_identity == "alice"
    child = session_context(stack, inherited)
    assert child.principal.session is not None
    assert child.principal.session.source_identity == "alice"


# -- session policies and their packed size --------------------------------------------------------


def test_session_policies_are_kept_with_the_session(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    managed = stack.policies.create_policy(
        ROOT,
        iam.CreatePolicyRequest(
            policy_name="read", policy_document=identity_document("kms:Decrypt")
        ),
    ).policy
    assert managed is not None
    inline = identity_document()
    response = assume(
        stack,
        role_arn,
        policy=inline,
        policy_arns=(sts.PolicyDescriptorType(arn=managed.arn),),
    )
    assert response.packed_policy_size is not None
    assert response.packed_policy_size > 0
    session = session_context(stack, response).principal.session
    assert session is not None
    assert session.policies == (inline, identity_document("kms:Decrypt"))
    assert session.has_session_policies


def test_a_malformed_or_unknown_session_policy_is_refused(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    with pytest.raises(MalformedPolicyDocument):
        assume(stack, role_arn, policy='{"Version": "2012-10-17", "Statement": ')
    with pytest.raises(ValidationError, match="does not exist"):
        assume(
            stack,
            role_arn,
            policy_arns=(sts.PolicyDescriptorType(arn="arn:aws:iam::123456789012:policy/nope"),),
        )


def test_incompressible_tags_overflow_the_packed_budget(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    noisy = tuple(sts.Tag(key=f"k{i}", value=secrets.token_hex(64)) for i in range(40))
    with pytest.raises(PackedPolicyTooLarge, match=r"Packed policy consumes \d+% of allotted"):
        assume(stack, role_arn, tags=noisy)


def test_inherited_tags_count_towards_the_packed_size(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    noisy = {f"k{i}": secrets.token_hex(32) for i in range(12)}
    first = assume(stack, role_arn, tags=tags(**noisy), transitive_tag_keys=tuple(noisy))
    parent = session_context(stack, first)
    chained = assume(stack, role_arn, parent)
    assert chained.packed_policy_size == first.packed_policy_size


# -- GetSessionToken and expiry ----------------------------------------------------------------


def test_session_credentials_cannot_get_a_session_token(stack: IdentityStack) -> None:
    parent = session_context(stack, assume(stack, stack.create_role("app")))
    with pytest.raises(AccessDenied):
        stack.sts.get_session_token(parent, sts.GetSessionTokenRequest())


def test_the_root_session_token_lasts_at_most_an_hour(stack: IdentityStack) -> None:
    default = stack.sts.get_session_token(ROOT, sts.GetSessionTokenRequest()).credentials
    assert default is not None
    assert default.expiration == NOW + timedelta(hours=1)
    with pytest.raises(ValidationError):
        stack.sts.get_session_token(ROOT, sts.GetSessionTokenRequest(duration_seconds=3601))


def test_expired_sessions_are_purged_a_day_later(stack: IdentityStack) -> None:
    response = assume(stack, stack.create_role("app"), duration_seconds=900)
    assert response.credentials is not None
    key = response.credentials.access_key_id
    stack.clock.advance(timedelta(seconds=900) + timedelta(hours=23))
    stack.sts.purge_expired_sessions()
    with stack.store.transaction(write=False) as tx:
        assert tx.session(key) is not None
    stack.clock.advance(timedelta(hours=1))
    stack.sts.purge_expired_sessions()
    with stack.store.transaction(write=False) as tx:
        assert tx.session(key) is None
    assert stack.credentials.secret_access_key(key) is None


def test_get_caller_identity_names_the_session(stack: IdentityStack) -> None:
    parent = session_context(stack, assume(stack, stack.create_role("app")))
    identity = stack.sts.get_caller_identity(parent, sts.GetCallerIdentityRequest())
    assert identity.arn == "arn:aws:sts::123456789012:assumed-role/app/s"
    assert identity.account == "123456789012"
    assert identity.user_id is not None
    assert identity.user_id.endswith(":s")


def test_the_role_session_policy_document_is_json(stack: IdentityStack) -> None:
    """The stored session policy is what was sent (the authorizer parses it again)."""
    role_arn = stack.create_role("app")
    document = identity_document()
    session = session_context(stack, assume(stack, role_arn, policy=document)).principal.session
    assert session is not None
    assert json.loads(session.policies[0]) == json.loads(document)
