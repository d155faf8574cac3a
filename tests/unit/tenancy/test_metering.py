"""Metering's pure parts: days with stored counts carried forward, the cost estimate, prices."""

from __future__ import annotations

from datetime import date

import pytest

from strongroom.errors import ValidationException
from strongroom.tenancy.metering import (
    KMS_SOURCE,
    SECRETS_MANAGER_SOURCE,
    DailyCalls,
    Pricing,
    PricingError,
    StoredCounts,
    date_range,
    estimate,
    tenant_usage,
)

D1, D2, D3, D4 = (date(2026, 11, day) for day in (1, 2, 3, 4))


def test_days_carry_the_previous_snapshot_forward() -> None:
    stored = [
        StoredCounts("cust-1", date(2026, 10, 20), secrets=2, keys=1),  # before the range
        StoredCounts("cust-1", D3, secrets=5, keys=0),
    ]
    [usage] = tenant_usage([], stored, D1, D4, Pricing())
    assert usage.tenant_id == "cust-1"
    assert [(d.date, d.secrets_stored, d.keys_stored) for d in usage.days or ()] == [
        ("2026-11-01", 2, 1),
        ("2026-11-02", 2, 1),
        ("2026-11-03", 5, 0),
        ("2026-11-04", 5, 0),
    ]


def test_calls_are_listed_per_operation_and_summed_per_service() -> None:
    calls = [
        DailyCalls("cust-1", D2, SECRETS_MANAGER_SOURCE, "GetSecretValue", 7),
        DailyCalls("cust-1", D2, KMS_SOURCE, "Decrypt", 3),
        DailyCalls("cust-1", D2, KMS_SOURCE, "Encrypt", 2),
        DailyCalls("cust-1", D2, "sts.amazonaws.com", "AssumeRole", 1),
        DailyCalls("cust-2", D1, KMS_SOURCE, "Decrypt", 4),
    ]
    first, second = tenant_usage(calls, [], D1, D2, Pricing())
    assert (first.tenant_id, second.tenant_id) == ("cust-1", "cust-2")
    day = (first.days or ())[1]
    assert (day.secrets_manager_calls, day.kms_calls) == (7, 5)
    assert [(c.event_source, c.event_name, c.count) for c in day.calls or ()] == [
        (KMS_SOURCE, "Decrypt", 3),
        (KMS_SOURCE, "Encrypt", 2),
        (SECRETS_MANAGER_SOURCE, "GetSecretValue", 7),
        ("sts.amazonaws.com", "AssumeRole", 1),
    ]
    assert (first.days or ())[0].calls == ()


def test_the_estimate_at_list_prices() -> None:
    stored = [StoredCounts("cust-1", D1, secrets=3, keys=1)]
    calls = [
        DailyCalls("cust-1", D1, SECRETS_MANAGER_SOURCE, "GetSecretValue", 20_000),
        DailyCalls("cust-1", D2, KMS_SOURCE, "Decrypt", 5_000),
    ]
    [usage] = tenant_usage(calls, stored, D1, D3, Pricing())
    cost = usage.estimated_cost
    assert cost is not None
    # 9 secret-days at $0.40 per 30, 3 key-days at $1 per 30, 2 x $0.05, 0.5 x $0.03.
    assert cost.secret_storage == pytest.approx(9 * 0.40 / 30)
    assert cost.key_storage == pytest.approx(3 * 1.00 / 30)
    assert cost.secrets_manager_requests == pytest.approx(0.10)
    assert cost.kms_requests == pytest.approx(0.015)
    assert cost.total == pytest.approx(0.12 + 0.10 + 0.10 + 0.015)
    assert cost.currency == "USD"


def test_the_estimate_at_configured_prices() -> None:
    [usage] = tenant_usage(
        [DailyCalls("cust-1", D1, KMS_SOURCE, "Decrypt", 10_000)],
        [StoredCounts("cust-1", D1, secrets=30, keys=0)],
        D1,
        D1,
        Pricing(secret_per_month=3.0, kms_per_10k_requests=1.0),
    )
    cost = usage.estimated_cost
    assert cost is not None
    assert (cost.secret_storage, cost.kms_requests, cost.total) == (3.0, 1.0, 4.0)
    assert estimate((), Pricing()).total == 0


@pytest.mark.parametrize("value", [-0.01, float("nan"), float("inf"), True, "1"])
def test_a_price_must_be_a_number_0_or_more(value: object) -> None:
    with pytest.raises(PricingError):
        Pricing(kms_per_10k_requests=value)  # type: ignore[arg-type]


TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, (date(2026, 11, 1), TODAY)),
        ("2026-11-10", None, (date(2026, 11, 10), TODAY)),
        (None, "2026-06-30", (date(2026, 6, 1), date(2026, 6, 30))),
        ("2025-12-01", "2026-11-30", (date(2025, 12, 1), TODAY)),
        ("2026-02-28", "2026-02-28", (date(2026, 2, 28), date(2026, 2, 28))),
    ],
)
def test_date_ranges(start: str | None, end: str | None, expected: tuple[date, date]) -> None:
    assert date_range(start, end, TODAY) == expected


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("2026-11-02", "2026-11-01", "not be after"),
        ("2025-11-29", "2026-11-30", "at most 366 days"),
        ("2026-02-30", None, "YYYY-MM-DD"),
        ("20261101", None, "YYYY-MM-DD"),
        (None, "2026-W01-1", "YYYY-MM-DD"),
    ],
)
def test_bad_date_ranges(start: str | None, end: str | None, reason: str) -> None:
    with pytest.raises(ValidationException, match=reason):
        date_range(start, end, TODAY)
