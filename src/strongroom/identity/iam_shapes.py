"""Request and response types of the IAM operations, named after the AWS members.

Generated once from botocore's IAM model and kept by hand since: field names
are the snake_case of the AWS member names, nested structures keep the model's shape
names, and a test checks every request type against the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUserRequest:
    path: str | None = None
    user_name: str
    permissions_boundary: str | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachedPermissionsBoundary:
    permissions_boundary_type: str | None = None
    permissions_boundary_arn: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    path: str
    user_name: str
    user_id: str
    arn: str
    create_date: datetime
    password_last_used: datetime | None = None
    permissions_boundary: AttachedPermissionsBoundary | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUserResponse:
    user: User | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUserRequest:
    user_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUserResponse:
    user: User


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUsersRequest:
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUsersResponse:
    users: tuple[User, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateUserRequest:
    user_name: str
    new_path: str | None = None
    new_user_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUserRequest:
    user_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TagUserRequest:
    user_name: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UntagUserRequest:
    user_name: str
    tag_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUserTagsRequest:
    user_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUserTagsResponse:
    tags: tuple[Tag, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRoleRequest:
    path: str | None = None
    role_name: str
    assume_role_policy_document: str
    description: str | None = None
    max_session_duration: int | None = None
    max_signin_session_duration: int | None = None
    permissions_boundary: str | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleLastUsed:
    last_used_date: datetime | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRoleTemplate:
    template_arn: str
    template_minor_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    path: str
    role_name: str
    role_id: str
    arn: str
    create_date: datetime
    assume_role_policy_document: str | None = None
    description: str | None = None
    max_session_duration: int | None = None
    max_signin_session_duration: int | None = None
    permissions_boundary: AttachedPermissionsBoundary | None = None
    tags: tuple[Tag, ...] | None = None
    role_last_used: RoleLastUsed | None = None
    source_role_template: SourceRoleTemplate | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRoleResponse:
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRoleRequest:
    role_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRoleResponse:
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRolesRequest:
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRolesResponse:
    roles: tuple[Role, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRoleRequest:
    role_name: str
    description: str | None = None
    max_session_duration: int | None = None
    max_signin_session_duration: int | None = None
    reset_max_signin_session_duration: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRoleResponse:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateAssumeRolePolicyRequest:
    role_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteRoleRequest:
    role_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TagRoleRequest:
    role_name: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UntagRoleRequest:
    role_name: str
    tag_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRoleTagsRequest:
    role_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRoleTagsResponse:
    tags: tuple[Tag, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateGroupRequest:
    path: str | None = None
    group_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    path: str
    group_name: str
    group_id: str
    arn: str
    create_date: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateGroupResponse:
    group: Group


@dataclass(frozen=True, slots=True, kw_only=True)
class GetGroupRequest:
    group_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetGroupResponse:
    group: Group
    users: tuple[User, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupsRequest:
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupsResponse:
    groups: tuple[Group, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteGroupRequest:
    group_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AddUserToGroupRequest:
    group_name: str
    user_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveUserFromGroupRequest:
    group_name: str
    user_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupsForUserRequest:
    user_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupsForUserResponse:
    groups: tuple[Group, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateAccessKeyRequest:
    user_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKey:
    user_name: str
    access_key_id: str
    status: str
    secret_access_key: str
    create_date: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateAccessKeyResponse:
    access_key: AccessKey


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAccessKeysRequest:
    user_name: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKeyMetadata:
    user_name: str | None = None
    access_key_id: str | None = None
    status: str | None = None
    create_date: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAccessKeysResponse:
    access_key_metadata: tuple[AccessKeyMetadata, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateAccessKeyRequest:
    user_name: str | None = None
    access_key_id: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccessKeyRequest:
    user_name: str | None = None
    access_key_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccessKeyLastUsedRequest:
    access_key_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKeyLastUsed:
    last_used_date: datetime | None = None
    service_name: str
    region: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccessKeyLastUsedResponse:
    user_name: str | None = None
    access_key_last_used: AccessKeyLastUsed | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PutUserPolicyRequest:
    user_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUserPolicyRequest:
    user_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUserPolicyResponse:
    user_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUserPoliciesRequest:
    user_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUserPoliciesResponse:
    policy_names: tuple[str, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUserPolicyRequest:
    user_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutRolePolicyRequest:
    role_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRolePolicyRequest:
    role_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRolePolicyResponse:
    role_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRolePoliciesRequest:
    role_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRolePoliciesResponse:
    policy_names: tuple[str, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteRolePolicyRequest:
    role_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutGroupPolicyRequest:
    group_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetGroupPolicyRequest:
    group_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetGroupPolicyResponse:
    group_name: str
    policy_name: str
    policy_document: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupPoliciesRequest:
    group_name: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListGroupPoliciesResponse:
    policy_names: tuple[str, ...]
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteGroupPolicyRequest:
    group_name: str
    policy_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePolicyRequest:
    policy_name: str
    path: str | None = None
    policy_document: str
    description: str | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    policy_name: str | None = None
    policy_id: str | None = None
    arn: str | None = None
    path: str | None = None
    default_version_id: str | None = None
    attachment_count: int | None = None
    permissions_boundary_usage_count: int | None = None
    is_attachable: bool | None = None
    description: str | None = None
    create_date: datetime | None = None
    update_date: datetime | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePolicyResponse:
    policy: Policy | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPolicyRequest:
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPolicyResponse:
    policy: Policy | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPoliciesRequest:
    scope: str | None = None
    only_attached: bool | None = None
    path_prefix: str | None = None
    policy_usage_filter: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPoliciesResponse:
    policies: tuple[Policy, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletePolicyRequest:
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePolicyVersionRequest:
    policy_arn: str
    policy_document: str
    set_as_default: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVersion:
    document: str | None = None
    version_id: str | None = None
    is_default_version: bool | None = None
    create_date: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePolicyVersionResponse:
    policy_version: PolicyVersion | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPolicyVersionRequest:
    policy_arn: str
    version_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPolicyVersionResponse:
    policy_version: PolicyVersion | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPolicyVersionsRequest:
    policy_arn: str
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPolicyVersionsResponse:
    versions: tuple[PolicyVersion, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletePolicyVersionRequest:
    policy_arn: str
    version_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDefaultPolicyVersionRequest:
    policy_arn: str
    version_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachUserPolicyRequest:
    user_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachRolePolicyRequest:
    role_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachGroupPolicyRequest:
    group_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DetachUserPolicyRequest:
    user_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DetachRolePolicyRequest:
    role_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DetachGroupPolicyRequest:
    group_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedUserPoliciesRequest:
    user_name: str
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachedPolicy:
    policy_name: str | None = None
    policy_arn: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedUserPoliciesResponse:
    attached_policies: tuple[AttachedPolicy, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedRolePoliciesRequest:
    role_name: str
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedRolePoliciesResponse:
    attached_policies: tuple[AttachedPolicy, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedGroupPoliciesRequest:
    group_name: str
    path_prefix: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttachedGroupPoliciesResponse:
    attached_policies: tuple[AttachedPolicy, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEntitiesForPolicyRequest:
    policy_arn: str
    entity_filter: str | None = None
    path_prefix: str | None = None
    policy_usage_filter: str | None = None
    marker: str | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyGroup:
    group_name: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyUser:
    user_name: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRole:
    role_name: str | None = None
    role_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEntitiesForPolicyResponse:
    policy_groups: tuple[PolicyGroup, ...] | None = None
    policy_users: tuple[PolicyUser, ...] | None = None
    policy_roles: tuple[PolicyRole, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PutUserPermissionsBoundaryRequest:
    user_name: str
    permissions_boundary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUserPermissionsBoundaryRequest:
    user_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutRolePermissionsBoundaryRequest:
    role_name: str
    permissions_boundary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteRolePermissionsBoundaryRequest:
    role_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InlinePolicyIdentifierType:
    policy_name: str
    attachment_type: str
    attachment_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyIdentifier:
    policy_type: str | None = None
    policy_arn: str | None = None
    inline_policy_identifier: InlinePolicyIdentifierType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextEntry:
    context_key_name: str | None = None
    context_key_values: tuple[str, ...] | None = None
    context_key_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatePrincipalPolicyRequest:
    policy_source_arn: str
    policy_input_list: tuple[str, ...] | None = None
    permissions_boundary_policy_input_list: tuple[str, ...] | None = None
    policy_exclusion_list: tuple[PolicyIdentifier, ...] | None = None
    action_names: tuple[str, ...]
    resource_arns: tuple[str, ...] | None = None
    resource_policy: str | None = None
    resource_owner: str | None = None
    caller_arn: str | None = None
    context_entries: tuple[ContextEntry, ...] | None = None
    resource_handling_option: str | None = None
    max_items: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    source_policy_id: str | None = None
    source_policy_type: str | None = None
    start_position: Position | None = None
    end_position: Position | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationsDecisionDetail:
    allowed_by_organizations: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionsBoundaryDecisionDetail:
    allowed_by_permissions_boundary: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceSpecificResult:
    eval_resource_name: str
    eval_resource_decision: str
    matched_statements: tuple[Statement, ...] | None = None
    missing_context_values: tuple[str, ...] | None = None
    eval_decision_details: dict[str, str] | None = None
    permissions_boundary_decision_detail: PermissionsBoundaryDecisionDetail | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationResult:
    eval_action_name: str
    eval_resource_name: str | None = None
    eval_decision: str
    matched_statements: tuple[Statement, ...] | None = None
    missing_context_values: tuple[str, ...] | None = None
    organizations_decision_detail: OrganizationsDecisionDetail | None = None
    permissions_boundary_decision_detail: PermissionsBoundaryDecisionDetail | None = None
    eval_decision_details: dict[str, str] | None = None
    resource_specific_results: tuple[ResourceSpecificResult, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatePrincipalPolicyResponse:
    evaluation_results: tuple[EvaluationResult, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderedOrganizationPolicyType:
    service_control_policy_input_list: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulateCustomPolicyRequest:
    policy_input_list: tuple[str, ...]
    permissions_boundary_policy_input_list: tuple[str, ...] | None = None
    ordered_organization_policy_input_list: tuple[OrderedOrganizationPolicyType, ...] | None = None
    action_names: tuple[str, ...]
    resource_arns: tuple[str, ...] | None = None
    resource_policy: str | None = None
    resource_owner: str | None = None
    caller_arn: str | None = None
    context_entries: tuple[ContextEntry, ...] | None = None
    resource_handling_option: str | None = None
    max_items: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulateCustomPolicyResponse:
    evaluation_results: tuple[EvaluationResult, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccountAuthorizationDetailsRequest:
    filter: tuple[str, ...] | None = None
    max_items: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDetail:
    policy_name: str | None = None
    policy_document: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDetail:
    path: str | None = None
    user_name: str | None = None
    user_id: str | None = None
    arn: str | None = None
    create_date: datetime | None = None
    user_policy_list: tuple[PolicyDetail, ...] | None = None
    group_list: tuple[str, ...] | None = None
    attached_managed_policies: tuple[AttachedPolicy, ...] | None = None
    permissions_boundary: AttachedPermissionsBoundary | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupDetail:
    path: str | None = None
    group_name: str | None = None
    group_id: str | None = None
    arn: str | None = None
    create_date: datetime | None = None
    group_policy_list: tuple[PolicyDetail, ...] | None = None
    attached_managed_policies: tuple[AttachedPolicy, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceProfile:
    path: str
    instance_profile_name: str
    instance_profile_id: str
    arn: str
    create_date: datetime
    roles: tuple[Role, ...]
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleDetail:
    path: str | None = None
    role_name: str | None = None
    role_id: str | None = None
    arn: str | None = None
    create_date: datetime | None = None
    assume_role_policy_document: str | None = None
    instance_profile_list: tuple[InstanceProfile, ...] | None = None
    role_policy_list: tuple[PolicyDetail, ...] | None = None
    attached_managed_policies: tuple[AttachedPolicy, ...] | None = None
    permissions_boundary: AttachedPermissionsBoundary | None = None
    tags: tuple[Tag, ...] | None = None
    role_last_used: RoleLastUsed | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedPolicyDetail:
    policy_name: str | None = None
    policy_id: str | None = None
    arn: str | None = None
    path: str | None = None
    default_version_id: str | None = None
    attachment_count: int | None = None
    permissions_boundary_usage_count: int | None = None
    is_attachable: bool | None = None
    description: str | None = None
    create_date: datetime | None = None
    update_date: datetime | None = None
    policy_version_list: tuple[PolicyVersion, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAccountAuthorizationDetailsResponse:
    user_detail_list: tuple[UserDetail, ...] | None = None
    group_detail_list: tuple[GroupDetail, ...] | None = None
    role_detail_list: tuple[RoleDetail, ...] | None = None
    policies: tuple[ManagedPolicyDetail, ...] | None = None
    is_truncated: bool | None = None
    marker: str | None = None
