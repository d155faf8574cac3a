"""Which request type each IAM and STS operation served here takes (for the query wire)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.identity import iam_shapes, sts_shapes

IAM_OPERATION_NAMES = (
    "CreateUser",
    "GetUser",
    "ListUsers",
    "UpdateUser",
    "DeleteUser",
    "TagUser",
    "UntagUser",
    "ListUserTags",
    "CreateRole",
    "GetRole",
    "ListRoles",
    "UpdateRole",
    "UpdateAssumeRolePolicy",
    "DeleteRole",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
    "CreateGroup",
    "GetGroup",
    "ListGroups",
    "DeleteGroup",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
    "PutUserPolicy",
    "GetUserPolicy",
    "ListUserPolicies",
    "DeleteUserPolicy",
    "PutRolePolicy",
    "GetRolePolicy",
    "ListRolePolicies",
    "DeleteRolePolicy",
    "PutGroupPolicy",
    "GetGroupPolicy",
    "ListGroupPolicies",
    "DeleteGroupPolicy",
    "CreatePolicy",
    "GetPolicy",
    "ListPolicies",
    "DeletePolicy",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "DetachUserPolicy",
    "DetachRolePolicy",
    "DetachGroupPolicy",
    "ListAttachedUserPolicies",
    "ListAttachedRolePolicies",
    "ListAttachedGroupPolicies",
    "ListEntitiesForPolicy",
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
    "GetAccountAuthorizationDetails",
)
STS_OPERATION_NAMES = (
    "AssumeRole",
    "GetCallerIdentity",
    "GetSessionToken",
    "DecodeAuthorizationMessage",
)

IAM_OPERATIONS: Mapping[str, type[Any]] = {
    name: getattr(iam_shapes, f"{name}Request") for name in IAM_OPERATION_NAMES
}
STS_OPERATIONS: Mapping[str, type[Any]] = {
    name: getattr(sts_shapes, f"{name}Request") for name in STS_OPERATION_NAMES
}
