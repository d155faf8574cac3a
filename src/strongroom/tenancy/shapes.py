"""Request and result types of the Strongroom admin API, named after the model's members.

The model is ``strongroom/data/strongroom/2026-11-01/service-2.json``; field names are the
snake_case of its member names and a test checks every request type against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NoParametersRequest:
    """The input of operations that take none."""


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class TenantQuotas:
    read_rate: float | None = None
    write_rate: float | None = None
    crypto_rate: float | None = None
    burst_seconds: float | None = None
    max_secrets: int | None = None
    max_keys: int | None = None
    max_secret_versions: int | None = None


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str | None = None
    arn: str | None = None
    display_name: str | None = None
    status: str | None = None
    key_mode: str | None = None
    key_id: str | None = None
    key_arn: str | None = None
    partition_key_name: str | None = None
    isolation_policy: str | None = None
    role_name: str | None = None
    role_arn: str | None = None
    tier: str | None = None
    quotas: TenantQuotas | None = None
    effective_quotas: TenantQuotas | None = None
    tags: tuple[Tag, ...] | None = None
    created_date: datetime | None = None
    updated_date: datetime | None = None
    offboarded_date: datetime | None = None
    destruction_date: datetime | None = None
    destroyed_date: datetime | None = None
    audit_export_path: str | None = None


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CreateTenantRequest:
    tenant_id: str
    display_name: str | None = None
    key_mode: str | None = None
    shared_key_id: str | None = None
    isolation_policy: str | None = None
    create_access_key: bool | None = None
    tier: str | None = None
    quotas: TenantQuotas | None = None
    tags: tuple[Tag, ...] | None = None


@dataclass(frozen=True, slots=True)
class CreateTenantResult:
    tenant: Tenant | None = None
    access_key: AccessKey | None = None


@dataclass(frozen=True, slots=True)
class TenantIdRequest:
    tenant_id: str


@dataclass(frozen=True, slots=True)
class TenantResult:
    tenant: Tenant | None = None


@dataclass(frozen=True, slots=True)
class ListTenantsRequest:
    status: str | None = None
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ListTenantsResult:
    tenants: tuple[Tenant, ...] | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateTenantRequest:
    tenant_id: str
    display_name: str | None = None
    tier: str | None = None
    quotas: TenantQuotas | None = None


@dataclass(frozen=True, slots=True)
class OffboardTenantRequest:
    tenant_id: str
    pending_window_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class CreateSharedKeyRequest:
    partition_key_name: str | None = None
    description: str | None = None
    alias_name: str | None = None


@dataclass(frozen=True, slots=True)
class CreateSharedKeyResult:
    key_id: str | None = None
    key_arn: str | None = None
    partition_key_name: str | None = None


@dataclass(frozen=True, slots=True)
class Share:
    tenant_id: str | None = None
    secret_pattern: str | None = None
    actions: tuple[str, ...] | None = None
    created_date: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class ShareSecretsRequest:
    tenant_id: str
    secret_pattern: str
    actions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ShareSecretsResult:
    share: Share | None = None


@dataclass(frozen=True, slots=True)
class UnshareSecretsRequest:
    tenant_id: str
    secret_pattern: str


@dataclass(frozen=True, slots=True)
class ListSharesRequest:
    tenant_id: str | None = None
    max_results: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ListSharesResult:
    shares: tuple[Share, ...] | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class OperationCalls:
    event_source: str | None = None
    event_name: str | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class DailyUsage:
    date: str | None = None
    secrets_stored: int | None = None
    keys_stored: int | None = None
    secrets_manager_calls: int | None = None
    kms_calls: int | None = None
    calls: tuple[OperationCalls, ...] | None = None


@dataclass(frozen=True, slots=True)
class CostEstimate:
    currency: str | None = None
    secret_storage: float | None = None
    key_storage: float | None = None
    secrets_manager_requests: float | None = None
    kms_requests: float | None = None
    total: float | None = None


@dataclass(frozen=True, slots=True)
class TenantUsage:
    tenant_id: str | None = None
    days: tuple[DailyUsage, ...] | None = None
    estimated_cost: CostEstimate | None = None


@dataclass(frozen=True, slots=True)
class UnitPrices:
    currency: str | None = None
    secret_per_month: float | None = None
    key_per_month: float | None = None
    secrets_manager_per10k_requests: float | None = None
    kms_per10k_requests: float | None = None


@dataclass(frozen=True, slots=True)
class GetTenantUsageRequest:
    tenant_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None


@dataclass(frozen=True, slots=True)
class GetTenantUsageResult:
    usage: tuple[TenantUsage, ...] | None = None
    prices: UnitPrices | None = None


@dataclass(frozen=True, slots=True)
class GetDestructionCertificateResult:
    certificate: str | None = None


@dataclass(frozen=True, slots=True)
class GetDeploymentPublicKeyResult:
    public_key_pem: str | None = None


@dataclass(frozen=True, slots=True)
class AdvanceClockRequest:
    seconds: float
