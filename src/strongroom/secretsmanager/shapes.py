"""Request and result types of the Secrets Manager operations, named after the AWS members.

Field names are the snake_case of the AWS member names (``VersionIdsToStages`` →
``version_ids_to_stages``), so the wire layer maps them mechanically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tag:
    """Both members are optional in the model; the service refuses a tag without a key."""

    key: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """Both members are optional in the model; the service refuses a filter without a key."""

    key: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CreateSecretRequest:
    name: str
    client_request_token: str | None = None
    description: str | None = None
    kms_key_id: str | None = None
    secret_binary: bytes | None = field(default=None, repr=False)
    secret_string: str | None = field(default=None, repr=False)
    tags: tuple[Tag, ...] | None = None
    add_replica_regions: tuple[object, ...] | None = None
    force_overwrite_replica_secret: bool | None = None
    type: str | None = None
    cross_account_primary_arn: str | None = None


@dataclass(frozen=True, slots=True)
class CreateSecretResult:
    arn: str
    name: str
    version_id: str | None


@dataclass(frozen=True, slots=True)
class GetSecretValueRequest:
    secret_id: str
    version_id: str | None = None
    version_stage: str | None = None


@dataclass(frozen=True, slots=True)
class SecretValueEntry:
    arn: str
    name: str
    version_id: str
    version_stages: tuple[str, ...]
    created_date: datetime
    secret_string: str | None = field(default=None, repr=False)
    secret_binary: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class BatchGetSecretValueRequest:
    secret_id_list: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] | None = None
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class APIErrorType:
    secret_id: str
    error_code: str
    message: str


@dataclass(frozen=True, slots=True)
class BatchGetSecretValueResult:
    secret_values: tuple[SecretValueEntry, ...]
    errors: tuple[APIErrorType, ...]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class PutSecretValueRequest:
    secret_id: str
    client_request_token: str | None = None
    secret_binary: bytes | None = field(default=None, repr=False)
    secret_string: str | None = field(default=None, repr=False)
    version_stages: tuple[str, ...] | None = None
    rotation_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PutSecretValueResult:
    arn: str
    name: str
    version_id: str
    version_stages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UpdateSecretRequest:
    secret_id: str
    client_request_token: str | None = None
    description: str | None = None
    kms_key_id: str | None = None
    secret_binary: bytes | None = field(default=None, repr=False)
    secret_string: str | None = field(default=None, repr=False)
    type: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateSecretResult:
    arn: str
    name: str
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateSecretVersionStageRequest:
    secret_id: str
    version_stage: str
    remove_from_version_id: str | None = None
    move_to_version_id: str | None = None


@dataclass(frozen=True, slots=True)
class SecretRef:
    """The ARN and name pair several operations return."""

    arn: str
    name: str


@dataclass(frozen=True, slots=True)
class SecretIdRequest:
    """Operations whose only parameter is the secret (DescribeSecret, RestoreSecret)."""

    secret_id: str


@dataclass(frozen=True, slots=True)
class DescribeSecretResult:
    arn: str
    name: str
    created_date: datetime
    last_changed_date: datetime
    version_ids_to_stages: dict[str, tuple[str, ...]]
    description: str | None = None
    kms_key_id: str | None = None
    rotation_enabled: bool | None = None
    last_accessed_date: datetime | None = None
    deleted_date: datetime | None = None
    tags: tuple[Tag, ...] | None = None
    owning_service: str | None = None
    primary_region: str | None = None


@dataclass(frozen=True, slots=True)
class ListSecretsRequest:
    include_planned_deletion: bool | None = None
    max_results: int | None = None
    next_token: str | None = None
    filters: tuple[Filter, ...] | None = None
    sort_order: str | None = None
    sort_by: str | None = None


@dataclass(frozen=True, slots=True)
class SecretListEntry:
    arn: str
    name: str
    created_date: datetime
    last_changed_date: datetime
    secret_versions_to_stages: dict[str, tuple[str, ...]]
    description: str | None = None
    kms_key_id: str | None = None
    rotation_enabled: bool | None = None
    last_accessed_date: datetime | None = None
    deleted_date: datetime | None = None
    tags: tuple[Tag, ...] | None = None
    owning_service: str | None = None
    primary_region: str | None = None


@dataclass(frozen=True, slots=True)
class ListSecretsResult:
    secret_list: tuple[SecretListEntry, ...]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ListSecretVersionIdsRequest:
    secret_id: str
    max_results: int | None = None
    next_token: str | None = None
    include_deprecated: bool | None = None


@dataclass(frozen=True, slots=True)
class SecretVersionsListEntry:
    version_id: str
    version_stages: tuple[str, ...]
    created_date: datetime
    last_accessed_date: datetime | None = None
    kms_key_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ListSecretVersionIdsResult:
    versions: tuple[SecretVersionsListEntry, ...]
    arn: str
    name: str
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteSecretRequest:
    secret_id: str
    recovery_window_in_days: int | None = None
    force_delete_without_recovery: bool | None = None


@dataclass(frozen=True, slots=True)
class DeleteSecretResult:
    arn: str
    name: str
    deletion_date: datetime


@dataclass(frozen=True, slots=True)
class TagResourceRequest:
    secret_id: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True)
class UntagResourceRequest:
    secret_id: str
    tag_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Empty:
    """The empty result of TagResource and UntagResource."""


@dataclass(frozen=True, slots=True)
class GetRandomPasswordRequest:
    password_length: int | None = None
    exclude_characters: str | None = None
    exclude_numbers: bool | None = None
    exclude_punctuation: bool | None = None
    exclude_uppercase: bool | None = None
    exclude_lowercase: bool | None = None
    include_space: bool | None = None
    require_each_included_type: bool | None = None


@dataclass(frozen=True, slots=True)
class GetRandomPasswordResult:
    random_password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PutResourcePolicyRequest:
    secret_id: str
    resource_policy: str
    policy_name: str | None = None
    block_public_policy: bool | None = None


@dataclass(frozen=True, slots=True)
class ResourcePolicyRequest:
    """GetResourcePolicy and DeleteResourcePolicy: the secret and the policy's name."""

    secret_id: str
    policy_name: str | None = None


@dataclass(frozen=True, slots=True)
class GetResourcePolicyResult:
    arn: str
    name: str
    resource_policy: str | None = None
    policy_name: str | None = None


@dataclass(frozen=True, slots=True)
class ValidateResourcePolicyRequest:
    resource_policy: str
    secret_id: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationErrorsEntry:
    check_name: str
    error_message: str


@dataclass(frozen=True, slots=True)
class ValidateResourcePolicyResult:
    policy_validation_passed: bool
    validation_errors: tuple[ValidationErrorsEntry, ...]


@dataclass(frozen=True, slots=True)
class ListResourcePoliciesRequest:
    secret_id: str
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ResourcePolicySummary:
    policy_name: str


@dataclass(frozen=True, slots=True)
class ListResourcePoliciesResult:
    resource_policies: tuple[ResourcePolicySummary, ...]
    next_token: str | None = None
