"""Typed settings: defaults, a TOML file, STRONGROOM_* variables and flags (via the CLI)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from strongroom.audit.alarm_rules import AlarmSettings, AlarmSettingsError, check_webhook_url
from strongroom.ids import is_valid_account_id, is_valid_region
from strongroom.kms.keyring import DEFAULT_USAGE_BUDGET
from strongroom.kms.partition_keys import DEFAULT_MAX_PARTITIONS_PER_KEY
from strongroom.tenancy.metering import Pricing
from strongroom.tenancy.quotas import BUILTIN_TIERS, STANDARD, TenantQuotas
from strongroom.tenancy.tenants import DEFAULT_TENANT_ID_PATTERN

DEV_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PORT = 8900
DEFAULT_KEY_USAGE_BUDGET = DEFAULT_USAGE_BUDGET


class SettingsError(ValueError):
    """A setting is missing or invalid; the message says which."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("strongroom", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything bootstrap needs; built and checked once, then passed around read-only."""

    dev: bool
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_id: str = DEV_ACCOUNT_ID
    region: str = DEFAULT_REGION
    # Production serves only these regions (plus ``region``); dev serves any region.
    regions: tuple[str, ...] = ()
    data_url: str | None = None
    keystore_url: str | None = None
    root_key_file: Path | None = None
    root_key_env: str | None = None
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = field(default=None, repr=False)
    reaper_interval_seconds: float = 60.0
    key_usage_budget: int = DEFAULT_KEY_USAGE_BUDGET
    # Distinct values of a partitioned KMS key's partition context key (tenants per key).
    max_partitions_per_key: int = DEFAULT_MAX_PARTITIONS_PER_KEY
    max_body_bytes: int = 1024 * 1024
    # The principal/resource tag whose value names the tenant (the tenant guard's binding).
    tenant_tag_key: str = "customer"
    # Tenant ids must fully match this (and be lower-case letters, digits, inner hyphens).
    tenant_id_pattern: str = DEFAULT_TENANT_ID_PATTERN
    # Audit events older than this are exported (gzip CloudTrail JSON) and then pruned.
    audit_retention_days: int = 365
    # Where retention writes its exports; None: <data_dir>/audit-export.
    audit_export_dir: Path | None = None
    # Alarm thresholds, windows, business hours and per-tenant overrides.
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    # Where alarms are POSTed as JSON; it may carry a token, so it is never printed.
    alarm_webhook_url: str | None = field(default=None, repr=False)
    # The metrics' tenant label takes at most this many values; the rest are "other".
    metrics_max_tenants: int = 50
    # Unit prices of the usage report's cost estimate (``[pricing]``); AWS list prices.
    pricing: Pricing = field(default_factory=Pricing)
    # Per-tenant quotas by tier (request rates, counts); a tenant with no tier of its own
    # is on ``default_tenant_tier``.
    tenant_tiers: Mapping[str, TenantQuotas] = field(default_factory=lambda: BUILTIN_TIERS)
    default_tenant_tier: str = STANDARD

    def __post_init__(self) -> None:
        if not is_valid_account_id(self.account_id):
            raise SettingsError("account id must be 12 digits")
        for region in (self.region, *self.regions):
            if not is_valid_region(region):
                raise SettingsError(f"not a region name: {region!r}")
        if self.key_usage_budget < 1:
            raise SettingsError("the key usage budget must be at least 1")
        if self.max_partitions_per_key < 1:
            raise SettingsError("the partitions per key must be at least 1")
        if not 1 <= len(self.tenant_tag_key) <= 128 or self.tenant_tag_key.startswith("aws:"):
            raise SettingsError("the tenant tag key must be 1-128 characters, not starting aws:")
        try:
            re.compile(self.tenant_id_pattern)
        except re.error as exc:
            raise SettingsError(f"tenant id pattern is not a regular expression: {exc}") from exc
        if self.audit_retention_days < 1:
            raise SettingsError("audit retention must be at least 1 day")
        if self.metrics_max_tenants < 0:
            raise SettingsError("metrics max tenants must be at least 0")
        if self.default_tenant_tier not in self.tenant_tiers:
            raise SettingsError(
                f"the default tenant tier {self.default_tenant_tier!r} is not one of the tiers: "
                + ", ".join(sorted(self.tenant_tiers))
            )
        if self.alarm_webhook_url is not None:
            try:
                check_webhook_url(self.alarm_webhook_url)
            except AlarmSettingsError as exc:
                raise SettingsError(str(exc)) from exc
        if not 0 < self.port < 65536:
            raise SettingsError("port must be between 1 and 65535")
        if (self.root_access_key_id is None) != (self.root_secret_access_key is None):
            raise SettingsError(
                "give both --root-access-key-id and --root-secret-access-key, or neither"
            )
        if self.root_access_key_id is not None and not (
            16 <= len(self.root_access_key_id) <= 128 and self.root_access_key_id.isalnum()
        ):
            raise SettingsError("root access key id must be 16-128 letters and digits")
        if self.root_secret_access_key is not None and len(self.root_secret_access_key) < 16:
            raise SettingsError("root secret access key must be at least 16 characters")
        if not self.dev and self.root_key_file is None and self.root_key_env is None:
            raise SettingsError(
                "production mode needs a root key: --root-key-file or --root-key-env "
                "(or run with --dev for a development server)"
            )

    @property
    def served_regions(self) -> frozenset[str]:
        return frozenset((self.region, *self.regions))

    def region_allowed(self, region: str) -> bool:
        if self.dev:
            return is_valid_region(region)
        return region in self.served_regions

    @property
    def resolved_audit_export_dir(self) -> Path:
        return self.audit_export_dir or self.data_dir / "audit-export"

    @property
    def resolved_data_url(self) -> str:
        return self.data_url or f"sqlite+pysqlite:///{self.data_dir / 'data.db'}"

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite+pysqlite:///{self.data_dir / 'keystore.db'}"
