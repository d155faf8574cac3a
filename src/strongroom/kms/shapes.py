"""Request and result types of the KMS operations, named after the AWS members.

Generated once from botocore's KMS model and kept by hand since: field names are the
snake_case of the AWS member names, nested structures keep the model's shape names, and
a test checks every request type against the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tag:
    tag_key: str
    tag_value: str


@dataclass(frozen=True, slots=True)
class CreateKeyRequest:
    policy: str | None = None
    description: str | None = None
    key_usage: str | None = None
    customer_master_key_spec: str | None = None
    key_spec: str | None = None
    origin: str | None = None
    custom_key_store_id: str | None = None
    bypass_policy_lockout_safety_check: bool | None = None
    tags: tuple[Tag, ...] | None = None
    multi_region: bool | None = None
    xks_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class MultiRegionKey:
    arn: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class MultiRegionConfiguration:
    multi_region_key_type: str | None = None
    primary_key: MultiRegionKey | None = None
    replica_keys: tuple[MultiRegionKey, ...] | None = None


@dataclass(frozen=True, slots=True)
class XksKeyConfigurationType:
    id: str | None = None


@dataclass(frozen=True, slots=True)
class KeyMetadata:
    aws_account_id: str | None = None
    key_id: str | None = None
    arn: str | None = None
    creation_date: datetime | None = None
    enabled: bool | None = None
    description: str | None = None
    key_usage: str | None = None
    key_state: str | None = None
    deletion_date: datetime | None = None
    valid_to: datetime | None = None
    origin: str | None = None
    custom_key_store_id: str | None = None
    cloud_hsm_cluster_id: str | None = None
    expiration_model: str | None = None
    key_manager: str | None = None
    customer_master_key_spec: str | None = None
    key_spec: str | None = None
    encryption_algorithms: tuple[str, ...] | None = None
    signing_algorithms: tuple[str, ...] | None = None
    key_agreement_algorithms: tuple[str, ...] | None = None
    encapsulation_algorithms: tuple[str, ...] | None = None
    multi_region: bool | None = None
    multi_region_configuration: MultiRegionConfiguration | None = None
    pending_deletion_window_in_days: int | None = None
    mac_algorithms: tuple[str, ...] | None = None
    xks_key_configuration: XksKeyConfigurationType | None = None
    current_key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreateKeyResult:
    key_metadata: KeyMetadata | None = None


@dataclass(frozen=True, slots=True)
class DescribeKeyRequest:
    key_id: str
    grant_tokens: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class DescribeKeyResult:
    key_metadata: KeyMetadata | None = None


@dataclass(frozen=True, slots=True)
class ListKeysRequest:
    limit: int | None = None
    marker: str | None = None
    resource_owners: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class KeyListEntry:
    key_id: str | None = None
    key_arn: str | None = None


@dataclass(frozen=True, slots=True)
class ListKeysResult:
    keys: tuple[KeyListEntry, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class EnableKeyRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class DisableKeyRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class UpdateKeyDescriptionRequest:
    key_id: str
    description: str


@dataclass(frozen=True, slots=True)
class GetKeyLastUsageRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class KeyLastUsageData:
    operation: str | None = None
    timestamp: datetime | None = None
    cloud_trail_event_id: str | None = None
    kms_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class GetKeyLastUsageResult:
    key_id: str | None = None
    key_last_usage: KeyLastUsageData | None = None
    tracking_start_date: datetime | None = None
    key_creation_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class CreateAliasRequest:
    alias_name: str
    target_key_id: str


@dataclass(frozen=True, slots=True)
class UpdateAliasRequest:
    alias_name: str
    target_key_id: str


@dataclass(frozen=True, slots=True)
class DeleteAliasRequest:
    alias_name: str


@dataclass(frozen=True, slots=True)
class ListAliasesRequest:
    key_id: str | None = None
    limit: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class AliasListEntry:
    alias_name: str | None = None
    alias_arn: str | None = None
    target_key_id: str | None = None
    creation_date: datetime | None = None
    last_updated_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListAliasesResult:
    aliases: tuple[AliasListEntry, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class EncryptRequest:
    key_id: str
    plaintext: bytes = field(repr=False)
    encryption_context: dict[str, str] | None = None
    grant_tokens: tuple[str, ...] | None = None
    encryption_algorithm: str | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class EncryptResult:
    ciphertext_blob: bytes | None = None
    key_id: str | None = None
    encryption_algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientInfo:
    key_encryption_algorithm: str | None = None
    attestation_document: bytes | None = None


@dataclass(frozen=True, slots=True)
class DecryptRequest:
    ciphertext_blob: bytes | None = None
    encryption_context: dict[str, str] | None = None
    grant_tokens: tuple[str, ...] | None = None
    key_id: str | None = None
    encryption_algorithm: str | None = None
    recipient: RecipientInfo | None = None
    dry_run: bool | None = None
    dry_run_modifiers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class DecryptResult:
    key_id: str | None = None
    plaintext: bytes | None = field(default=None, repr=False)
    encryption_algorithm: str | None = None
    ciphertext_for_recipient: bytes | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReEncryptRequest:
    destination_key_id: str
    ciphertext_blob: bytes | None = None
    source_encryption_context: dict[str, str] | None = None
    source_key_id: str | None = None
    destination_encryption_context: dict[str, str] | None = None
    source_encryption_algorithm: str | None = None
    destination_encryption_algorithm: str | None = None
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None
    dry_run_modifiers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ReEncryptResult:
    ciphertext_blob: bytes | None = None
    source_key_id: str | None = None
    key_id: str | None = None
    source_encryption_algorithm: str | None = None
    destination_encryption_algorithm: str | None = None
    source_key_material_id: str | None = None
    destination_key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyRequest:
    key_id: str
    encryption_context: dict[str, str] | None = None
    number_of_bytes: int | None = None
    key_spec: str | None = None
    grant_tokens: tuple[str, ...] | None = None
    recipient: RecipientInfo | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyResult:
    ciphertext_blob: bytes | None = None
    plaintext: bytes | None = field(default=None, repr=False)
    key_id: str | None = None
    ciphertext_for_recipient: bytes | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyWithoutPlaintextRequest:
    key_id: str
    encryption_context: dict[str, str] | None = None
    key_spec: str | None = None
    number_of_bytes: int | None = None
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyWithoutPlaintextResult:
    ciphertext_blob: bytes | None = None
    key_id: str | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyPairRequest:
    key_id: str
    key_pair_spec: str
    encryption_context: dict[str, str] | None = None
    grant_tokens: tuple[str, ...] | None = None
    recipient: RecipientInfo | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyPairResult:
    private_key_ciphertext_blob: bytes | None = None
    private_key_plaintext: bytes | None = field(default=None, repr=False)
    public_key: bytes | None = None
    key_id: str | None = None
    key_pair_spec: str | None = None
    ciphertext_for_recipient: bytes | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyPairWithoutPlaintextRequest:
    key_id: str
    key_pair_spec: str
    encryption_context: dict[str, str] | None = None
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerateDataKeyPairWithoutPlaintextResult:
    private_key_ciphertext_blob: bytes | None = None
    public_key: bytes | None = None
    key_id: str | None = None
    key_pair_spec: str | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateRandomRequest:
    number_of_bytes: int | None = None
    custom_key_store_id: str | None = None
    recipient: RecipientInfo | None = None


@dataclass(frozen=True, slots=True)
class GenerateRandomResult:
    plaintext: bytes | None = field(default=None, repr=False)
    ciphertext_for_recipient: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignRequest:
    key_id: str
    message: bytes = field(repr=False)
    signing_algorithm: str
    message_type: str | None = None
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class SignResult:
    key_id: str | None = None
    signature: bytes | None = None
    signing_algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    key_id: str
    message: bytes = field(repr=False)
    signature: bytes
    signing_algorithm: str
    message_type: str | None = None
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    key_id: str | None = None
    signature_valid: bool | None = None
    signing_algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class GetPublicKeyRequest:
    key_id: str
    grant_tokens: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class GetPublicKeyResult:
    key_id: str | None = None
    public_key: bytes | None = None
    customer_master_key_spec: str | None = None
    key_spec: str | None = None
    key_usage: str | None = None
    encryption_algorithms: tuple[str, ...] | None = None
    signing_algorithms: tuple[str, ...] | None = None
    key_agreement_algorithms: tuple[str, ...] | None = None
    encapsulation_algorithms: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class GenerateMacRequest:
    message: bytes = field(repr=False)
    key_id: str
    mac_algorithm: str
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerateMacResult:
    mac: bytes | None = None
    mac_algorithm: str | None = None
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyMacRequest:
    message: bytes = field(repr=False)
    key_id: str
    mac_algorithm: str
    mac: bytes
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class VerifyMacResult:
    key_id: str | None = None
    mac_valid: bool | None = None
    mac_algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class DeriveSharedSecretRequest:
    key_id: str
    key_agreement_algorithm: str
    public_key: bytes
    grant_tokens: tuple[str, ...] | None = None
    dry_run: bool | None = None
    recipient: RecipientInfo | None = None


@dataclass(frozen=True, slots=True)
class DeriveSharedSecretResult:
    key_id: str | None = None
    shared_secret: bytes | None = field(default=None, repr=False)
    ciphertext_for_recipient: bytes | None = None
    key_agreement_algorithm: str | None = None
    key_origin: str | None = None


@dataclass(frozen=True, slots=True)
class EnableKeyRotationRequest:
    key_id: str
    rotation_period_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class DisableKeyRotationRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class GetKeyRotationStatusRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class GetKeyRotationStatusResult:
    key_rotation_enabled: bool | None = None
    key_id: str | None = None
    rotation_period_in_days: int | None = None
    next_rotation_date: datetime | None = None
    on_demand_rotation_start_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class RotateKeyOnDemandRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class RotateKeyOnDemandResult:
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListKeyRotationsRequest:
    key_id: str
    include_key_material: str | None = None
    limit: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class RotationsListEntry:
    key_id: str | None = None
    key_material_id: str | None = None
    key_material_description: str | None = None
    import_state: str | None = None
    key_material_state: str | None = None
    expiration_model: str | None = None
    valid_to: datetime | None = None
    rotation_date: datetime | None = None
    rotation_type: str | None = None


@dataclass(frozen=True, slots=True)
class ListKeyRotationsResult:
    rotations: tuple[RotationsListEntry, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class ScheduleKeyDeletionRequest:
    key_id: str
    pending_window_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleKeyDeletionResult:
    key_id: str | None = None
    deletion_date: datetime | None = None
    key_state: str | None = None
    pending_window_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class CancelKeyDeletionRequest:
    key_id: str


@dataclass(frozen=True, slots=True)
class CancelKeyDeletionResult:
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class GetParametersForImportRequest:
    key_id: str
    wrapping_algorithm: str
    wrapping_key_spec: str


@dataclass(frozen=True, slots=True)
class GetParametersForImportResult:
    key_id: str | None = None
    import_token: bytes | None = None
    public_key: bytes | None = field(default=None, repr=False)
    parameters_valid_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportKeyMaterialRequest:
    key_id: str
    import_token: bytes
    encrypted_key_material: bytes
    valid_to: datetime | None = None
    expiration_model: str | None = None
    import_type: str | None = None
    key_material_description: str | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImportKeyMaterialResult:
    key_id: str | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteImportedKeyMaterialRequest:
    key_id: str
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteImportedKeyMaterialResult:
    key_id: str | None = None
    key_material_id: str | None = None


@dataclass(frozen=True, slots=True)
class TagResourceRequest:
    key_id: str
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True)
class UntagResourceRequest:
    key_id: str
    tag_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListResourceTagsRequest:
    key_id: str
    limit: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class ListResourceTagsResult:
    tags: tuple[Tag, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class PutKeyPolicyRequest:
    key_id: str
    policy: str
    policy_name: str | None = None
    bypass_policy_lockout_safety_check: bool | None = None


@dataclass(frozen=True, slots=True)
class GetKeyPolicyRequest:
    key_id: str
    policy_name: str | None = None


@dataclass(frozen=True, slots=True)
class GetKeyPolicyResult:
    policy: str | None = None
    policy_name: str | None = None


@dataclass(frozen=True, slots=True)
class ListKeyPoliciesRequest:
    key_id: str
    limit: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class ListKeyPoliciesResult:
    policy_names: tuple[str, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class GrantConstraints:
    encryption_context_subset: dict[str, str] | None = None
    encryption_context_equals: dict[str, str] | None = None
    source_arn: str | None = None


@dataclass(frozen=True, slots=True)
class CreateGrantRequest:
    key_id: str
    operations: tuple[str, ...]
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    constraints: GrantConstraints | None = None
    grant_tokens: tuple[str, ...] | None = None
    name: str | None = None
    dry_run: bool | None = None
    grantee_service_principal: str | None = None
    retiring_service_principal: str | None = None


@dataclass(frozen=True, slots=True)
class CreateGrantResult:
    grant_token: str | None = None
    grant_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListGrantsRequest:
    key_id: str
    limit: int | None = None
    marker: str | None = None
    grant_id: str | None = None
    grantee_principal: str | None = None
    grantee_service_principal: str | None = None


@dataclass(frozen=True, slots=True)
class ListRetirableGrantsRequest:
    limit: int | None = None
    marker: str | None = None
    retiring_principal: str | None = None
    retiring_service_principal: str | None = None


@dataclass(frozen=True, slots=True)
class GrantListEntry:
    key_id: str | None = None
    grant_id: str | None = None
    name: str | None = None
    creation_date: datetime | None = None
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    issuing_account: str | None = None
    operations: tuple[str, ...] | None = None
    constraints: GrantConstraints | None = None
    grantee_service_principal: str | None = None
    retiring_service_principal: str | None = None


@dataclass(frozen=True, slots=True)
class ListGrantsResult:
    grants: tuple[GrantListEntry, ...] | None = None
    next_marker: str | None = None
    truncated: bool | None = None


@dataclass(frozen=True, slots=True)
class RetireGrantRequest:
    grant_token: str | None = None
    key_id: str | None = None
    grant_id: str | None = None
    dry_run: bool | None = None


@dataclass(frozen=True, slots=True)
class RevokeGrantRequest:
    key_id: str
    grant_id: str
    dry_run: bool | None = None
