"""Metering: per tenant and day, calls (rolled up from the audit trail) and stored secrets and
keys, with an estimated cost at configurable unit prices (default: AWS list prices).

What counts, and why (the same rules as AWS's bills, so the estimate compares):

- A call is an audit event filed under the tenant (a tenant-bound caller's own calls,
  allowed or refused, and calls on the tenant's resources), by the UTC day of its time.
  Each secret a BatchGetSecretValue reads is logged, and so counted, as a GetSecretValue.
  The admin API's own calls (administering the tenant, asking for its usage) are the
  operator's, not the tenant's: they are not metered (asking would change the answer).
- A stored secret is a secret of the tenant (``/customer/{id}/…``) not marked for deletion:
  AWS does not charge for secrets scheduled for deletion.
- A stored key is a KMS key tagged with the tenant tag (a dedicated tenant key is) whose
  state is not PendingDeletion: AWS does not charge for keys scheduled for deletion. A
  shared-key tenant stores no key: its partition is not a key (the shared key itself
  carries no tenant tag, so it is no tenant's).
- A day's stored counts are those seen by the last roll-up that day; a day no roll-up saw
  carries the previous day's counts forward.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from strongroom.authorization import AccessRequest, Authorizer
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import ResourceNotFoundException, ValidationException
from strongroom.tenancy import shapes
from strongroom.tenancy.tenants import InvalidTenantId, TenantIdRule, tenant_arn

SECRETS_MANAGER_SOURCE = "secretsmanager.amazonaws.com"
KMS_SOURCE = "kms.amazonaws.com"
# The Strongroom admin API's events: not the tenant's calls.
UNMETERED_SOURCES = frozenset({"strongroom.amazonaws.com"})
CURRENCY = "USD"
DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366
# Storage is priced per month; a secret or key stored for one day costs a thirtieth.
DAYS_PER_MONTH = 30
REQUESTS_PER_PRICE_UNIT = 10_000
# Costs are reported to a millionth of a dollar.
COST_DIGITS = 6


class PricingError(ValueError):
    """A unit price is negative or not a number."""


@dataclass(frozen=True, slots=True)
class Pricing:
    """Unit prices (USD) of the cost estimate. The defaults are AWS's list prices, for
    comparing with running the same design on AWS; the estimate is not a bill."""

    secret_per_month: float = 0.40
    key_per_month: float = 1.00
    secrets_manager_per_10k_requests: float = 0.05
    kms_per_10k_requests: float = 0.03

    def __post_init__(self) -> None:
        for name in (
            "secret_per_month",
            "key_per_month",
            "secrets_manager_per_10k_requests",
            "kms_per_10k_requests",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PricingError(f"price {name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise PricingError(f"price {name} must be 0 or more")


@dataclass(frozen=True, slots=True)
class DailyCalls:
    """Calls of one operation by one tenant on one UTC day."""

    tenant: str
    day: date
    event_source: str
    event_name: str
    calls: int


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """A snapshot of what a tenant stored on one day."""

    tenant: str
    day: date
    secrets: int
    keys: int


@dataclass(frozen=True, slots=True)
class RollUp:
    """What one roll-up did: audit events counted, stored snapshots written or dropped."""

    events: int
    snapshots: int


class UsageStore(Protocol):
    """The usage tables, and the roll-up that fills them from the audit trail."""

    def roll_up(self, today: date, *, tenant: str | None = None) -> RollUp:
        """Count the audit events past each region's watermark into the daily calls, each
        batch in one transaction with the watermark's move (a crash never counts twice),
        until the watermark reaches the chain head; then write ``today``'s stored snapshot
        (of every tenant, or only of ``tenant``)."""
        ...

    def daily_calls(self, tenant: str | None, start: date, end: date) -> list[DailyCalls]:
        """Calls on the days from ``start`` to ``end`` (inclusive), of one tenant or all."""
        ...

    def stored_counts(self, tenant: str | None, start: date, end: date) -> list[StoredCounts]:
        """The snapshots from ``start`` to ``end`` (inclusive) and, per tenant, the latest
        one before ``start`` (the counts carried into the range)."""
        ...

    def has_usage(self, tenant: str) -> bool:
        """Whether any calls or snapshots were ever recorded for the tenant."""
        ...


class TenantLookup(Protocol):
    """The tenant store, as far as metering asks it: does this tenant exist?"""

    def get(self, tenant_id: str) -> object | None: ...


class Metering:
    """The usage roll-up (a periodic job, and on demand) and GetTenantUsage."""

    def __init__(
        self,
        store: UsageStore,
        tenants: TenantLookup,
        authorizer: Authorizer,
        clock: Clock,
        *,
        pricing: Pricing,
        id_rule: TenantIdRule,
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._authorizer = authorizer
        self._clock = clock
        self._pricing = pricing
        self._id_rule = id_rule

    def roll_up(self) -> RollUp:
        """Bring the usage tables up to the audit trail's head (the periodic job, and what
        retention runs before it prunes events)."""
        return self._store.roll_up(self._today())

    def get_tenant_usage(
        self, ctx: CallContext, request: shapes.GetTenantUsageRequest
    ) -> shapes.GetTenantUsageResult:
        """Usage per tenant and day over a range of at most 366 days (default: the last 30
        up to today, UTC), with the range's estimated cost. Without TenantId: every tenant
        with usage in the range; a caller bound to a tenant only ever sees its own."""
        tenant_id = request.tenant_id
        if tenant_id is not None:
            self._check_id(tenant_id)
        elif ctx.principal.tenant is not None:
            tenant_id = ctx.principal.tenant
        today = self._today()
        start, end = date_range(request.start_date, request.end_date, today)
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action="strongroom:GetTenantUsage",
                resource="*"
                if tenant_id is None
                else tenant_arn(ctx.partition, ctx.region, ctx.account_id, tenant_id),
                resource_tenant=tenant_id,
            ),
        )
        self._store.roll_up(today, tenant=tenant_id)
        if (
            tenant_id is not None
            and self._tenants.get(tenant_id) is None
            and not self._store.has_usage(tenant_id)
        ):
            raise ResourceNotFoundException(f"Tenant {tenant_id} does not exist.")
        # Days after today have nothing yet (and carrying counts into them would guess).
        last = min(end, today)
        calls = self._store.daily_calls(tenant_id, start, last) if start <= last else []
        stored = self._store.stored_counts(tenant_id, start, last) if start <= last else []
        usage = tenant_usage(calls, stored, start, last, self._pricing)
        if tenant_id is not None and not usage:
            usage = [_empty_usage(tenant_id, start, last, self._pricing)]
        elif tenant_id is None:
            usage = [item for item in usage if _has_any(item)]
        return shapes.GetTenantUsageResult(usage=tuple(usage), prices=unit_prices(self._pricing))

    def _check_id(self, tenant_id: str) -> None:
        try:
            self._id_rule.check(tenant_id)
        except InvalidTenantId as exc:
            raise ValidationException(str(exc)) from exc

    def _today(self) -> date:
        return self._clock.now().date()


def unit_prices(pricing: Pricing) -> shapes.UnitPrices:
    return shapes.UnitPrices(
        currency=CURRENCY,
        secret_per_month=pricing.secret_per_month,
        key_per_month=pricing.key_per_month,
        secrets_manager_per10k_requests=pricing.secrets_manager_per_10k_requests,
        kms_per10k_requests=pricing.kms_per_10k_requests,
    )


def tenant_usage(
    calls: Iterable[DailyCalls],
    stored: Iterable[StoredCounts],
    start: date,
    end: date,
    pricing: Pricing,
) -> list[shapes.TenantUsage]:
    """Every tenant in ``calls`` or ``stored``, one entry per day from ``start`` to ``end``
    (stored counts carried forward over days without a snapshot), sorted by tenant id."""
    calls_by_day: dict[str, dict[date, list[DailyCalls]]] = defaultdict(lambda: defaultdict(list))
    for item in calls:
        calls_by_day[item.tenant][item.day].append(item)
    snapshots: dict[str, list[StoredCounts]] = defaultdict(list)
    for snapshot in stored:
        snapshots[snapshot.tenant].append(snapshot)
    result = []
    for tenant in sorted(set(calls_by_day) | set(snapshots)):
        days = _days(calls_by_day[tenant], snapshots[tenant], start, end)
        result.append(
            shapes.TenantUsage(tenant_id=tenant, days=days, estimated_cost=estimate(days, pricing))
        )
    return result


def estimate(days: Sequence[shapes.DailyUsage], pricing: Pricing) -> shapes.CostEstimate:
    """The cost of ``days`` at ``pricing``: storage per secret- or key-day (a thirtieth of
    the monthly price), requests per 10,000."""
    secret_days = sum(day.secrets_stored or 0 for day in days)
    key_days = sum(day.keys_stored or 0 for day in days)
    secrets_manager_calls = sum(day.secrets_manager_calls or 0 for day in days)
    kms_calls = sum(day.kms_calls or 0 for day in days)
    secret_storage = secret_days * pricing.secret_per_month / DAYS_PER_MONTH
    key_storage = key_days * pricing.key_per_month / DAYS_PER_MONTH
    secrets_manager_requests = (
        secrets_manager_calls * pricing.secrets_manager_per_10k_requests / REQUESTS_PER_PRICE_UNIT
    )
    kms_requests = kms_calls * pricing.kms_per_10k_requests / REQUESTS_PER_PRICE_UNIT
    total = secret_storage + key_storage + secrets_manager_requests + kms_requests
    return shapes.CostEstimate(
        currency=CURRENCY,
        secret_storage=round(secret_storage, COST_DIGITS),
        key_storage=round(key_storage, COST_DIGITS),
        secrets_manager_requests=round(secrets_manager_requests, COST_DIGITS),
        kms_requests=round(kms_requests, COST_DIGITS),
        total=round(total, COST_DIGITS),
    )


def _days(
    calls: dict[date, list[DailyCalls]],
    snapshots: list[StoredCounts],
    start: date,
    end: date,
) -> tuple[shapes.DailyUsage, ...]:
    ordered = sorted(snapshots, key=lambda s: s.day)
    secrets, keys = 0, 0
    index = 0
    days = []
    day = start
    while day <= end:
        while index < len(ordered) and ordered[index].day <= day:
            secrets, keys = ordered[index].secrets, ordered[index].keys
            index += 1
        of_day = sorted(calls.get(day, ()), key=lambda c: (c.event_source, c.event_name))
        days.append(
            shapes.DailyUsage(
                date=day.isoformat(),
                secrets_stored=secrets,
                keys_stored=keys,
                secrets_manager_calls=sum(
                    c.calls for c in of_day if c.event_source == SECRETS_MANAGER_SOURCE
                ),
                kms_calls=sum(c.calls for c in of_day if c.event_source == KMS_SOURCE),
                calls=tuple(
                    shapes.OperationCalls(
                        event_source=c.event_source, event_name=c.event_name, count=c.calls
                    )
                    for c in of_day
                ),
            )
        )
        day += timedelta(days=1)
    return tuple(days)


def _empty_usage(tenant_id: str, start: date, end: date, pricing: Pricing) -> shapes.TenantUsage:
    days = _days({}, [], start, end)
    return shapes.TenantUsage(
        tenant_id=tenant_id, days=days, estimated_cost=estimate(days, pricing)
    )


def _has_any(usage: shapes.TenantUsage) -> bool:
    return any(day.secrets_stored or day.keys_stored or day.calls for day in usage.days or ())


def date_range(start_text: str | None, end_text: str | None, today: date) -> tuple[date, date]:
    """GetTenantUsage's (StartDate, EndDate) as dates: defaults, order and span checked."""
    end = today if end_text is None else _date(end_text, "EndDate")
    start = (
        end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start_text is None
        else _date(start_text, "StartDate")
    )
    if start > end:
        raise ValidationException("StartDate must not be after EndDate.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationException(f"The range may span at most {MAX_RANGE_DAYS} days.")
    return start, end


def _date(text: str, member: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        value = None
    # fromisoformat also takes "20261101" and week dates; the model's form is YYYY-MM-DD.
    if value is None or value.isoformat() != text:
        raise ValidationException(f"{member} must be a date as YYYY-MM-DD.")
    return value
