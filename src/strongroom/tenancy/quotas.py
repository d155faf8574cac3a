"""Per-tenant quotas: tiers, operation classes and the token buckets that enforce request rates.

Pure logic, no I/O and no clock of its own: the caller passes monotonic time in. A tenant
gets one token bucket per operation class (read, write, crypto); a bucket holds
``rate * burst_seconds`` tokens (at least one) and refills at ``rate`` per second. When
several server processes share a database, each enforces ``rate / share`` (``share``: the
number of live processes), so the sum over evenly loaded processes is the tenant's rate.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol

OperationClass = Literal["read", "write", "crypto"]
READ: Final = "read"
WRITE: Final = "write"
CRYPTO: Final = "crypto"
OPERATION_CLASSES: tuple[OperationClass, ...] = (READ, WRITE, CRYPTO)

STANDARD: Final = "standard"
PREMIUM: Final = "premium"
UNLIMITED: Final = "unlimited"

# KMS's cryptographic operations: they share AWS's "cryptographic operations" request quota.
CRYPTO_OPERATIONS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
        "GetPublicKey",
    }
)
READ_PREFIXES = ("Get", "Describe", "List", "BatchGet", "Lookup", "Simulate", "Validate")
READ_OPERATIONS = frozenset({"DecodeAuthorizationMessage"})
# Named like reads, but they make something: an import token and a wrapping key pair
# (an RSA key generation), or credentials.
WRITE_OPERATIONS = frozenset({"GetParametersForImport", "GetSessionToken", "GetFederationToken"})

# A tenant's buckets are forgotten after this long unused (they are full again by then:
# every bucket refills completely in ``burst_seconds``).
DEFAULT_IDLE_SECONDS = 60.0
# A tenant's quotas are asked of the source again after this long.
DEFAULT_REFRESH_SECONDS = 1.0
DEFAULT_MAX_TENANTS = 100_000
_SWEEP_INTERVAL_SECONDS = 10.0
# A token, less what float arithmetic may lose refilling it in several steps.
_ONE_TOKEN = 1.0 - 1e-9


class QuotaError(ValueError):
    """A quota, tier or override is not valid; the message says which and why."""


def operation_class(service: str, operation: str) -> OperationClass:
    """The class whose bucket a call of ``operation`` (of SigV4 service ``service``) takes
    its token from: KMS's cryptographic operations, reads (what changes nothing), or writes."""
    if service == "kms" and operation in CRYPTO_OPERATIONS:
        return CRYPTO
    if operation in WRITE_OPERATIONS:
        return WRITE
    if operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS:
        return READ
    return WRITE


@dataclass(frozen=True, slots=True)
class TenantQuotas:
    """One tenant's limits. Rates are requests per second (None: no limit); counts are
    stored objects (None: no limit)."""

    read_rate: float | None = 200.0
    write_rate: float | None = 50.0
    crypto_rate: float | None = 500.0
    burst_seconds: float = 2.0
    max_secrets: int | None = 10_000
    max_keys: int | None = 1_000
    max_secret_versions: int | None = 100

    def __post_init__(self) -> None:
        for name in ("read_rate", "write_rate", "crypto_rate"):
            rate = getattr(self, name)
            if rate is not None and not (math.isfinite(rate) and rate > 0):
                raise QuotaError(f"{name} must be a positive number of requests per second")
        if not (math.isfinite(self.burst_seconds) and self.burst_seconds > 0):
            raise QuotaError("burst_seconds must be a positive number of seconds")
        for name in ("max_secrets", "max_keys", "max_secret_versions"):
            count = getattr(self, name)
            if count is not None and count < 0:
                raise QuotaError(f"{name} must be at least 0")

    def rate(self, cls: OperationClass) -> float | None:
        """Requests per second allowed for operations of class ``cls`` (None: no limit)."""
        if cls == READ:
            return self.read_rate
        if cls == WRITE:
            return self.write_rate
        return self.crypto_rate

    def merged(self, overrides: Mapping[str, object]) -> TenantQuotas:
        """These quotas with ``overrides`` (some of the field names) on top: a tenant's
        own settings over its tier's."""
        if not overrides:
            return self
        return replace(self, **_checked_overrides(overrides))

    def as_dict(self) -> dict[str, float | int | None]:
        """Every field by name (for JSON documents and the admin API)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


QUOTA_FIELDS = frozenset(f.name for f in fields(TenantQuotas))
_RATE_FIELDS = frozenset({"read_rate", "write_rate", "crypto_rate", "burst_seconds"})


def _checked_overrides(overrides: Mapping[str, object]) -> dict[str, Any]:
    """The overrides with each value checked and of its field's type (float or int)."""
    unknown = sorted(set(overrides) - QUOTA_FIELDS)
    if unknown:
        raise QuotaError(f"unknown quota setting(s): {', '.join(map(str, unknown))}")
    checked: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None and name == "burst_seconds":
            raise QuotaError("burst_seconds must be a number of seconds, not null")
        if value is None:
            checked[name] = None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise QuotaError(f"{name} must be a number or null (no limit), not {value!r}")
        elif name in _RATE_FIELDS:
            checked[name] = float(value)
        elif isinstance(value, float) and not value.is_integer():
            raise QuotaError(f"{name} must be a whole number, not {value!r}")
        else:
            checked[name] = int(value)
    return checked


def parse_overrides(text: str | None) -> Mapping[str, float | int | None]:
    """A tenant's stored overrides (a JSON object of quota fields, or None) as a mapping;
    raises QuotaError if the text is not such an object."""
    if text is None or not text.strip():
        return MappingProxyType({})
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuotaError("quota overrides must be a JSON object") from exc
    if not isinstance(document, dict):
        raise QuotaError("quota overrides must be a JSON object")
    checked = _checked_overrides(document)
    TenantQuotas().merged(checked)  # every value in range
    return MappingProxyType(checked)


BUILTIN_TIERS: Mapping[str, TenantQuotas] = MappingProxyType(
    {
        STANDARD: TenantQuotas(),
        PREMIUM: TenantQuotas(
            read_rate=2_000.0,
            write_rate=500.0,
            crypto_rate=5_000.0,
            burst_seconds=2.0,
            max_secrets=100_000,
            max_keys=10_000,
            max_secret_versions=100,
        ),
        UNLIMITED: TenantQuotas(
            read_rate=None,
            write_rate=None,
            crypto_rate=None,
            max_secrets=None,
            max_keys=None,
            max_secret_versions=None,
        ),
    }
)


def build_tiers(tables: Mapping[str, Mapping[str, object]] | None) -> Mapping[str, TenantQuotas]:
    """The built-in tiers plus ``tables`` (tier name → some quota fields): a table named
    like a built-in tier changes that tier; a new name starts from "standard"."""
    tiers = dict(BUILTIN_TIERS)
    for name, table in (tables or {}).items():
        if not isinstance(name, str) or not 1 <= len(name) <= 64:
            raise QuotaError(f"a tier name must be 1-64 characters: {name!r}")
        if not isinstance(table, Mapping):
            raise QuotaError(f"tier {name!r} must be a table of quota settings")
        try:
            tiers[name] = tiers.get(name, BUILTIN_TIERS[STANDARD]).merged(table)
        except QuotaError as exc:
            raise QuotaError(f"tier {name!r}: {exc}") from exc
    return MappingProxyType(tiers)


class TenantQuotaSource(Protocol):
    """Where a tenant's quotas come from. The rate limiter asks at most once a second per
    active tenant, from the request path, so an answer must be cheap."""

    def quotas_for(self, tenant: str) -> TenantQuotas: ...


class TierQuotaSource:
    """Quotas by tier: every tenant gets the default tier unless a caller resolves its own
    tier and overrides (a stored tenant record) through :meth:`resolve`."""

    def __init__(self, tiers: Mapping[str, TenantQuotas], default_tier: str) -> None:
        if default_tier not in tiers:
            raise QuotaError(f"the default tenant tier {default_tier!r} is not a tier")
        self._tiers = tiers
        self._default_tier = default_tier
        self._default = tiers[default_tier]

    @property
    def default_tier(self) -> str:
        return self._default_tier

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._tiers))

    def tier(self, name: str) -> TenantQuotas:
        found = self._tiers.get(name)
        if found is None:
            raise QuotaError(f"no tenant tier named {name!r}")
        return found

    def resolve(self, tier: str | None, overrides: Mapping[str, object] | None) -> TenantQuotas:
        """The quotas of a tenant on ``tier`` (None: the default) with its own overrides."""
        base = self._default if tier is None else self.tier(tier)
        return base.merged(overrides or {})

    def quotas_for(self, tenant: str) -> TenantQuotas:
        return self._default


class CountLimits:
    """The count limits of a tenant's secrets, keys and secret versions, read from a quota
    source: what the Secrets Manager and KMS services ask before they create something."""

    def __init__(self, source: TenantQuotaSource) -> None:
        self._source = source

    def max_secrets(self, tenant: str) -> int | None:
        return self._source.quotas_for(tenant).max_secrets

    def max_keys(self, tenant: str) -> int | None:
        return self._source.quotas_for(tenant).max_keys

    def max_secret_versions(self, tenant: str) -> int | None:
        return self._source.quotas_for(tenant).max_secret_versions


# -- the token buckets ---------------------------------------------------------------------


class _Bucket:
    """One token bucket; ``rate`` None: no limit (the bucket is never consulted)."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float | None, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now


class _TenantBuckets:
    __slots__ = ("buckets", "checked", "generation", "quotas", "used")

    def __init__(self, quotas: TenantQuotas, now: float, generation: int) -> None:
        self.buckets: dict[str, _Bucket] = {}
        self.quotas = quotas
        self.checked = now
        self.generation = generation
        self.used = now


SourceErrorCallback = Callable[[str, Exception], None]
"""(tenant, what the quota source raised) when a tenant's quotas could not be re-read."""


class RateLimiter:
    """Token buckets per (tenant, operation class); thread-safe, bounded in memory.

    ``try_acquire`` is the hot path: a dict lookup and a little arithmetic under a lock
    nobody holds for longer. A tenant's quotas are read from ``source`` when its buckets
    are made, then again at most every ``refresh_seconds`` (under the lock: the source
    must answer fast); if a re-read fails the tenant keeps its last quotas and
    ``on_source_error`` hears of it. Buckets unused for ``idle_seconds`` are dropped (a
    dropped bucket would have been full again anyway, provided ``idle_seconds`` is at
    least the longest ``burst_seconds``).
    """

    def __init__(
        self,
        source: TenantQuotaSource,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        max_tenants: int = DEFAULT_MAX_TENANTS,
        on_source_error: SourceErrorCallback | None = None,
    ) -> None:
        if refresh_seconds < 0 or idle_seconds <= 0 or max_tenants < 1:
            raise QuotaError("refresh, idle time and tenant count must be positive")
        self._source = source
        self._on_source_error = on_source_error
        self._refresh = refresh_seconds
        self._idle = idle_seconds
        self._max_tenants = max_tenants
        self._tenants: dict[str, _TenantBuckets] = {}
        self._lock = threading.Lock()
        self._share = 1
        self._generation = 0
        self._swept = -math.inf

    @property
    def share(self) -> int:
        return self._share

    def set_share(self, processes: int) -> None:
        """Enforce 1/``processes`` of every rate here (the live server processes sharing
        the limits); buckets take the new rates at their next use."""
        processes = max(1, processes)
        with self._lock:
            if processes != self._share:
                self._share = processes
                self._generation += 1

    def changed(self, tenant: str) -> None:
        """The tenant's quotas may have changed in this process: its next call reads them
        again (whatever ``refresh_seconds`` says)."""
        with self._lock:
            state = self._tenants.get(tenant)
            if state is not None:
                state.checked = -math.inf

    def tracked_tenants(self) -> int:
        """How many tenants have buckets in memory now."""
        return len(self._tenants)

    def try_acquire(self, tenant: str, cls: OperationClass, now: float) -> float | None:
        """Take one token from the (tenant, class) bucket at monotonic time ``now``.
        None: allowed. Otherwise the seconds until a token will be there (the retry hint)."""
        with self._lock:
            state = self._tenants.get(tenant)
            if state is None:
                state = self._admit(tenant, now)
            elif now - state.checked >= self._refresh or state.generation != self._generation:
                self._refill_all(state, now)
                self._configure(state, self._reread(tenant, state), now)
            state.used = now
            bucket = state.buckets[cls]
            rate = bucket.rate
            if rate is None:
                return None
            elapsed = now - bucket.updated
            if elapsed > 0:
                bucket.tokens = min(bucket.capacity, bucket.tokens + elapsed * rate)
                bucket.updated = now
            if bucket.tokens >= _ONE_TOKEN:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return None
            return (1.0 - bucket.tokens) / rate

    def _admit(self, tenant: str, now: float) -> _TenantBuckets:
        if now - self._swept >= _SWEEP_INTERVAL_SECONDS or len(self._tenants) >= self._max_tenants:
            self._sweep(now)
        # Nothing known to fall back on: a failing source fails the call.
        state = _TenantBuckets(self._source.quotas_for(tenant), now, self._generation)
        self._configure(state, state.quotas, now)
        self._tenants[tenant] = state
        return state

    def _reread(self, tenant: str, state: _TenantBuckets) -> TenantQuotas:
        try:
            state.quotas = self._source.quotas_for(tenant)
        except Exception as exc:  # the last quotas stand until the source answers again
            if self._on_source_error is not None:
                self._on_source_error(tenant, exc)
        return state.quotas

    def _configure(self, state: _TenantBuckets, quotas: TenantQuotas, now: float) -> None:
        """(Re)set each bucket's rate and capacity; a new bucket starts full, an existing
        one keeps its tokens (at most the new capacity)."""
        for cls in OPERATION_CLASSES:
            rate = quotas.rate(cls)
            if rate is not None:
                rate /= self._share
            capacity = 1.0 if rate is None else max(1.0, rate * quotas.burst_seconds)
            bucket = state.buckets.get(cls)
            if bucket is None:
                state.buckets[cls] = _Bucket(rate, capacity, now)
            else:
                bucket.rate = rate
                bucket.capacity = capacity
                bucket.tokens = min(bucket.tokens, capacity)
        state.checked = now
        state.generation = self._generation

    @staticmethod
    def _refill_all(state: _TenantBuckets, now: float) -> None:
        """Credit each bucket its refill at the old rate before the rate changes."""
        for bucket in state.buckets.values():
            if bucket.rate is not None and now > bucket.updated:
                bucket.tokens = min(
                    bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.rate
                )
                bucket.updated = now

    def _sweep(self, now: float) -> None:
        """Drop idle tenants; if that leaves too many, drop the least recently used."""
        self._swept = now
        idle = [t for t, s in self._tenants.items() if now - s.used >= self._idle]
        for tenant in idle:
            del self._tenants[tenant]
        if len(self._tenants) >= self._max_tenants:
            # Down to 90%, so a crowd of active tenants does not sort on every admission.
            excess = len(self._tenants) - (self._max_tenants * 9) // 10
            by_use = sorted(self._tenants.items(), key=lambda item: item[1].used)
            for tenant, _ in by_use[:excess]:
                del self._tenants[tenant]


def throttling_message(tenant: str, cls: OperationClass, retry_after: float) -> str:
    """What a throttled caller is told (the tenant is the caller's own)."""
    return (
        f"Rate exceeded for tenant {tenant} ({cls} operations); "
        f"retry after {max(retry_after, 0.01):.2f} seconds."
    )
