"""IAM's rules: case-insensitive names, delete conflicts, quotas, policy document checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

import pytest

from strongroom.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
)
from strongroom.identity import iam_shapes as iam
from tests.unit.identity.conftest import ALLOW_ALL_TRUST, ROOT, IdentityStack, identity_document


def user(stack: IdentityStack, name: str = "alice", **tags: str) -> iam.User:
    request = iam.CreateUserRequest(
        user_name=name, tags=tuple(iam.Tag(key=k, value=v) for k, v in tags.items()) or None
    )
    created = stack.users.create_user(ROOT, request).user
    assert created is not None
    return created


def policy(stack: IdentityStack, name: str = "read") -> str:
    """A new managed policy's ARN."""
    request = iam.CreatePolicyRequest(policy_name=name, policy_document=identity_document())
    created = stack.policies.create_policy(ROOT, request).policy
    assert created is not None
    assert created.arn is not None
    return created.arn


def tag_list(count: int, prefix: str = "k") -> tuple[iam.Tag, ...]:
    return tuple(iam.Tag(key=f"{prefix}{i}", value="v") for i in range(count))


# -- names are unique regardless of case --------------------------------------------------------


def test_user_names_are_unique_regardless_of_case(stack: IdentityStack) -> None:
    created = user(stack, "Alice")
    with pytest.raises(EntityAlreadyExists):
        user(stack, "alice")
    found = stack.users.get_user(ROOT, iam.GetUserRequest(user_name="ALICE")).user
    assert (found.user_name, found.user_id) == ("Alice", created.user_id)


def test_role_group_and_policy_names_are_unique_regardless_of_case(stack: IdentityStack) -> None:
    stack.create_role("App")
    with pytest.raises(EntityAlreadyExists):
        stack.create_role("APP")
    stack.groups.create_group(ROOT, iam.CreateGroupRequest(group_name="Admins"))
    with pytest.raises(EntityAlreadyExists):
        stack.groups.create_group(ROOT, iam.CreateGroupRequest(group_name="admins"))
    policy(stack, "Read")
    with pytest.raises(EntityAlreadyExists):
        policy(stack, "read")


def test_a_rename_may_change_case_but_not_take_another_users_name(stack: IdentityStack) -> None:
    user(stack, "alice")
    user(stack, "bob")
    with pytest.raises(EntityAlreadyExists):
        stack.users.update_user(ROOT, iam.UpdateUserRequest(user_name="bob", new_user_name="Alice"))
    stack.users.update_user(ROOT, iam.UpdateUserRequest(user_name="alice", new_user_name="Alice"))
    renamed = stack.users.get_user(ROOT, iam.GetUserRequest(user_name="alice")).user
    assert renamed.user_name == "Alice"
    assert renamed.arn.endswith(":user/Alice")


def test_a_missing_entity_is_no_such_entity(stack: IdentityStack) -> None:
    with pytest.raises(NoSuchEntity):
        stack.users.get_user(ROOT, iam.GetUserRequest(user_name="nobody"))
    with pytest.raises(NoSuchEntity):
        stack.roles.delete_role(ROOT, iam.DeleteRoleRequest(role_name="nobody"))
    with pytest.raises(NoSuchEntity):
        stack.policies.get_policy(
            ROOT, iam.GetPolicyRequest(policy_arn="arn:aws:iam::123456789012:policy/nobody")
        )


# -- DeleteConflict -------------------------------------------------------------------------------


def _delete_user(stack: IdentityStack) -> None:
    stack.users.delete_user(ROOT, iam.DeleteUserRequest(user_name="alice"))


@pytest.mark.parametrize(
    ("attach", "detach"),
    [
        (
            lambda st, arn: st.users.create_access_key(
                ROOT, iam.CreateAccessKeyRequest(user_name="alice")
            ),
            lambda st, arn: [
                st.users.delete_access_key(
                    ROOT,
                    iam.DeleteAccessKeyRequest(user_name="alice", access_key_id=k.access_key_id),
                )
                for k in st.users.list_access_keys(
                    ROOT, iam.ListAccessKeysRequest(user_name="alice")
                ).access_key_metadata
            ],
        ),
        (
            lambda st, arn: st.policies.put_user_policy(
                ROOT,
                iam.PutUserPolicyRequest(
                    user_name="alice", policy_name="p", policy_document=identity_document()
                ),
            ),
            lambda st, arn: st.policies.delete_user_policy(
                ROOT, iam.DeleteUserPolicyRequest(user_name="alice", policy_name="p")
            ),
        ),
        (
            lambda st, arn: st.policies.attach_user_policy(
                ROOT, iam.AttachUserPolicyRequest(user_name="alice", policy_arn=arn)
            ),
            lambda st, arn: st.policies.detach_user_policy(
                ROOT, iam.DetachUserPolicyRequest(user_name="alice", policy_arn=arn)
            ),
        ),
        (
            lambda st, arn: st.groups.add_user_to_group(
                ROOT, iam.AddUserToGroupRequest(group_name="g", user_name="alice")
            ),
            lambda st, arn: st.groups.remove_user_from_group(
                ROOT, iam.RemoveUserFromGroupRequest(group_name="g", user_name="alice")
            ),
        ),
    ],
    ids=["access-key", "inline-policy", "attached-policy", "group-membership"],
)
def test_a_user_with_dependents_cannot_be_deleted(
    stack: IdentityStack,
    attach: Callable[[IdentityStack, str], object],
    detach: Callable[[IdentityStack, str], object],
) -> None:
    user(stack)
    managed = policy(stack)
    stack.groups.create_group(ROOT, iam.CreateGroupRequest(group_name="g"))
    attach(stack, managed)
    with pytest.raises(DeleteConflict):
        _delete_user(stack)
    stack.users.get_user(ROOT, iam.GetUserRequest(user_name="alice"))  # still there
    detach(stack, managed)
    _delete_user(stack)
    with pytest.raises(NoSuchEntity):
        stack.users.get_user(ROOT, iam.GetUserRequest(user_name="alice"))


def test_a_role_with_policies_cannot_be_deleted(stack: IdentityStack) -> None:
    stack.create_role("app")
    managed = policy(stack)
    stack.policies.attach_role_policy(
        ROOT, iam.AttachRolePolicyRequest(role_name="app", policy_arn=managed)
    )
    with pytest.raises(DeleteConflict):
        stack.roles.delete_role(ROOT, iam.DeleteRoleRequest(role_name="app"))
    stack.policies.detach_role_policy(
        ROOT, iam.DetachRolePolicyRequest(role_name="app", policy_arn=managed)
    )
    stack.policies.put_role_policy(
        ROOT,
        iam.PutRolePolicyRequest(
            role_name="app", policy_name="p", policy_document=identity_document()
        ),
    )
    with pytest.raises(DeleteConflict):
        stack.roles.delete_role(ROOT, iam.DeleteRoleRequest(role_name="app"))
    stack.policies.delete_role_policy(
        ROOT, iam.DeleteRolePolicyRequest(role_name="app", policy_name="p")
    )
    stack.roles.delete_role(ROOT, iam.DeleteRoleRequest(role_name="app"))


def test_a_group_with_members_cannot_be_deleted(stack: IdentityStack) -> None:
    user(stack)
    stack.groups.create_group(ROOT, iam.CreateGroupRequest(group_name="g"))
    stack.groups.add_user_to_group(
        ROOT, iam.AddUserToGroupRequest(group_name="g", user_name="alice")
    )
    with pytest.raises(DeleteConflict):
        stack.groups.delete_group(ROOT, iam.DeleteGroupRequest(group_name="g"))


def test_an_attached_or_boundary_policy_cannot_be_deleted(stack: IdentityStack) -> None:
    user(stack)
    managed = policy(stack)
    delete = iam.DeletePolicyRequest(policy_arn=managed)
    stack.policies.attach_user_policy(
        ROOT, iam.AttachUserPolicyRequest(user_name="alice", policy_arn=managed)
    )
    with pytest.raises(DeleteConflict):
        stack.policies.delete_policy(ROOT, delete)
    stack.policies.detach_user_policy(
        ROOT, iam.DetachUserPolicyRequest(user_name="alice", policy_arn=managed)
    )
    stack.policies.put_user_permissions_boundary(
        ROOT,
        iam.PutUserPermissionsBoundaryRequest(user_name="alice", permissions_boundary=managed),
    )
    with pytest.raises(DeleteConflict):
        stack.policies.delete_policy(ROOT, delete)
    stack.policies.delete_user_permissions_boundary(
        ROOT, iam.DeleteUserPermissionsBoundaryRequest(user_name="alice")
    )
    stack.policies.delete_policy(ROOT, delete)


def test_a_policy_with_versions_or_its_default_version_cannot_be_deleted(
    stack: IdentityStack,
) -> None:
    managed = policy(stack)
    stack.policies.create_policy_version(
        ROOT,
        iam.CreatePolicyVersionRequest(
            policy_arn=managed, policy_document=identity_document("kms:Decrypt")
        ),
    )
    with pytest.raises(DeleteConflict):
        stack.policies.delete_policy(ROOT, iam.DeletePolicyRequest(policy_arn=managed))
    with pytest.raises(DeleteConflict):
        stack.policies.delete_policy_version(
            ROOT, iam.DeletePolicyVersionRequest(policy_arn=managed, version_id="v1")
        )
    stack.policies.delete_policy_version(
        ROOT, iam.DeletePolicyVersionRequest(policy_arn=managed, version_id="v2")
    )
    stack.policies.delete_policy(ROOT, iam.DeletePolicyRequest(policy_arn=managed))


# -- LimitExceeded --------------------------------------------------------------------------------


def test_a_managed_policy_has_at_most_five_versions(stack: IdentityStack) -> None:
    managed = policy(stack)

    def new_version() -> str:
        created = stack.policies.create_policy_version(
            ROOT,
            iam.CreatePolicyVersionRequest(policy_arn=managed, policy_document=identity_document()),
        ).policy_version
        assert created is not None
        assert created.version_id is not None
        return created.version_id

    assert [new_version() for _ in range(4)] == ["v2", "v3", "v4", "v5"]
    with pytest.raises(LimitExceeded):
        new_version()
    stack.policies.delete_policy_version(
        ROOT, iam.DeletePolicyVersionRequest(policy_arn=managed, version_id="v3")
    )
    assert new_version() == "v6"  # version ids are never reused


def test_a_user_has_at_most_two_access_keys(stack: IdentityStack) -> None:
    user(stack)
    request = iam.CreateAccessKeyRequest(user_name="alice")
    first = stack.users.create_access_key(ROOT, request).access_key
    stack.users.create_access_key(ROOT, request)
    # An inactive key still counts.
    stack.users.update_access_key(
        ROOT,
        iam.UpdateAccessKeyRequest(
            user_name="alice", access_key_id=first.access_key_id, status="Inactive"
        ),
    )
    with pytest.raises(LimitExceeded):
        stack.users.create_access_key(ROOT, request)
    listed = stack.users.list_access_keys(ROOT, iam.ListAccessKeysRequest(user_name="alice"))
    assert len(listed.access_key_metadata) == 2


def test_an_entity_has_at_most_fifty_tags(stack: IdentityStack) -> None:
    with pytest.raises(LimitExceeded):
        stack.users.create_user(ROOT, iam.CreateUserRequest(user_name="bob", tags=tag_list(51)))
    user(stack, "alice", **{f"k{i}": "v" for i in range(49)})
    stack.users.tag_user(ROOT, iam.TagUserRequest(user_name="alice", tags=tag_list(1, "x")))
    # Re-setting existing keys (in any case) does not add tags.
    stack.users.tag_user(ROOT, iam.TagUserRequest(user_name="alice", tags=tag_list(49, "K")))
    with pytest.raises(LimitExceeded):
        stack.users.tag_user(ROOT, iam.TagUserRequest(user_name="alice", tags=tag_list(1, "y")))
    listed = stack.users.list_user_tags(ROOT, iam.ListUserTagsRequest(user_name="alice"))
    assert len(listed.tags) == 50
    stack.create_role("app")
    with pytest.raises(LimitExceeded):
        stack.roles.tag_role(ROOT, iam.TagRoleRequest(role_name="app", tags=tag_list(51)))


def test_attachments_are_limited_to_ten_per_entity(stack: IdentityStack) -> None:
    user(stack)
    for i in range(10):
        arn = policy(stack, f"p{i}")
        stack.policies.attach_user_policy(
            ROOT, iam.AttachUserPolicyRequest(user_name="alice", policy_arn=arn)
        )
    # Attaching one already attached is not a new attachment.
    stack.policies.attach_user_policy(
        ROOT, iam.AttachUserPolicyRequest(user_name="alice", policy_arn=arn)
    )
    with pytest.raises(LimitExceeded):
        stack.policies.attach_user_policy(
            ROOT, iam.AttachUserPolicyRequest(user_name="alice", policy_arn=policy(stack))
        )


def test_inline_policies_of_a_user_share_a_size_quota(stack: IdentityStack) -> None:
    user(stack)
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"}
                for i in range(20)
            ],
        }
    )
    put = iam.PutUserPolicyRequest(user_name="alice", policy_name="a", policy_document=big)
    stack.policies.put_user_policy(ROOT, put)
    with pytest.raises(LimitExceeded):
        stack.policies.put_user_policy(
            ROOT, iam.PutUserPolicyRequest(user_name="alice", policy_name="b", policy_document=big)
        )
    stack.policies.put_user_policy(ROOT, put)  # replacing the same policy is not growth


# -- MalformedPolicyDocument -------------------------------------------------------------------


MALFORMED = [
    "not json",
    '{"Version": "2012-10-17"}',
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}',
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    ),
]


@pytest.mark.parametrize("document", MALFORMED, ids=["text", "no-statement", "effect", "principal"])
def test_malformed_identity_policies_are_refused(stack: IdentityStack, document: str) -> None:
    user(stack)
    with pytest.raises(MalformedPolicyDocument):
        stack.policies.put_user_policy(
            ROOT,
            iam.PutUserPolicyRequest(user_name="alice", policy_name="p", policy_document=document),
        )
    with pytest.raises(MalformedPolicyDocument):
        stack.policies.create_policy(
            ROOT, iam.CreatePolicyRequest(policy_name="p", policy_document=document)
        )
    listed = stack.policies.list_user_policies(ROOT, iam.ListUserPoliciesRequest(user_name="alice"))
    assert listed.policy_names == ()


def test_a_trust_policy_needs_a_principal(stack: IdentityStack) -> None:
    no_principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}],
        }
    )
    with pytest.raises(MalformedPolicyDocument):
        stack.roles.create_role(
            ROOT,
            iam.CreateRoleRequest(role_name="app", assume_role_policy_document=no_principal),
        )
    stack.create_role("app")
    with pytest.raises(MalformedPolicyDocument):
        stack.roles.update_assume_role_policy(
            ROOT, iam.UpdateAssumeRolePolicyRequest(role_name="app", policy_document=no_principal)
        )
    role = stack.roles.get_role(ROOT, iam.GetRoleRequest(role_name="app")).role
    assert role.assume_role_policy_document is not None
    assert unquote(role.assume_role_policy_document) == ALLOW_ALL_TRUST  # unchanged
