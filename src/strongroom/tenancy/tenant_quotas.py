"""Each tenant's quotas: its tier (or the default) with its own overrides, from its record."""

from __future__ import annotations

from strongroom.tenancy import shapes
from strongroom.tenancy.ports import TenantStore
from strongroom.tenancy.quotas import TenantQuotas, TierQuotaSource, parse_overrides
from strongroom.tenancy.tenants import TenantRecord


class StoredTenantQuotas:
    """TenantQuotaSource over the tenant store: a tenant with a record gets its tier and
    overrides; a principal tagged with a tenant id that has no record (tagged before
    tenants were objects) gets the default tier. The rate limiter asks at most once a
    second per active tenant; count limits ask once per create."""

    def __init__(self, store: TenantStore, tiers: TierQuotaSource) -> None:
        self._store = store
        self._tiers = tiers

    def quotas_for(self, tenant: str) -> TenantQuotas:
        record = self._store.get(tenant)
        if record is None:
            return self._tiers.resolve(None, None)
        return self.of_record(record)

    def of_record(self, record: TenantRecord) -> TenantQuotas:
        """Raises QuotaError if the record's tier or overrides are not valid."""
        return self._tiers.resolve(record.tier, parse_overrides(record.quotas))

    def wire(self, record: TenantRecord) -> shapes.TenantQuotas:
        """A record's effective quotas, as the admin API shows them (absent: no limit)."""
        quotas = self.of_record(record)
        return shapes.TenantQuotas(
            read_rate=quotas.read_rate,
            write_rate=quotas.write_rate,
            crypto_rate=quotas.crypto_rate,
            burst_seconds=quotas.burst_seconds,
            max_secrets=quotas.max_secrets,
            max_keys=quotas.max_keys,
            max_secret_versions=quotas.max_secret_versions,
        )
