"""Quota logic: operation classes, tiers and overrides, token-bucket arithmetic, eviction."""

from __future__ import annotations

import threading

import pytest

from strongroom.tenancy.quotas import (
    BUILTIN_TIERS,
    CRYPTO,
    PREMIUM,
    READ,
    STANDARD,
    UNLIMITED,
    WRITE,
    CountLimits,
    QuotaError,
    RateLimiter,
    TenantQuotas,
    TierQuotaSource,
    build_tiers,
    operation_class,
    parse_overrides,
    throttling_message,
)


class FixedSource:
    """Quotas per tenant from a dict (the default for anyone else), counting the lookups."""

    def __init__(self, default: TenantQuotas, **tenants: TenantQuotas) -> None:
        self.default = default
        self.tenants = dict(tenants)
        self.lookups = 0

    def quotas_for(self, tenant: str) -> TenantQuotas:
        self.lookups += 1
        return self.tenants.get(tenant.replace("-", "_"), self.default)


def quotas(rate: float | None = 10.0, burst: float = 1.0) -> TenantQuotas:
    return TenantQuotas(read_rate=rate, write_rate=rate, crypto_rate=rate, burst_seconds=burst)


# -- operation classes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("kms", "Encrypt", CRYPTO),
        ("kms", "Decrypt", CRYPTO),
        ("kms", "ReEncrypt", CRYPTO),
        ("kms", "GenerateDataKey", CRYPTO),
        ("kms", "GenerateDataKeyWithoutPlaintext", CRYPTO),
        ("kms", "GenerateDataKeyPair", CRYPTO),
        ("kms", "GenerateDataKeyPairWithoutPlaintext", CRYPTO),
        ("kms", "GenerateRandom", CRYPTO),
        ("kms", "Sign", CRYPTO),
        ("kms", "Verify", CRYPTO),
        ("kms", "GenerateMac", CRYPTO),
        ("kms", "VerifyMac", CRYPTO),
        ("kms", "DeriveSharedSecret", CRYPTO),
        ("kms", "GetPublicKey", CRYPTO),
        ("kms", "DescribeKey", READ),
        ("kms", "ListKeys", READ),
        ("kms", "GetKeyPolicy", READ),
        ("kms", "GetParametersForImport", WRITE),
        ("kms", "CreateKey", WRITE),
        ("kms", "ScheduleKeyDeletion", WRITE),
        ("secretsmanager", "GetSecretValue", READ),
        ("secretsmanager", "BatchGetSecretValue", READ),
        ("secretsmanager", "DescribeSecret", READ),
        ("secretsmanager", "ListSecrets", READ),
        ("secretsmanager", "ValidateResourcePolicy", READ),
        ("secretsmanager", "GetRandomPassword", READ),
        ("secretsmanager", "CreateSecret", WRITE),
        ("secretsmanager", "PutSecretValue", WRITE),
        ("secretsmanager", "UpdateSecret", WRITE),
        ("secretsmanager", "RestoreSecret", WRITE),
        ("cloudtrail", "LookupEvents", READ),
        ("sts", "GetCallerIdentity", READ),
        ("sts", "AssumeRole", WRITE),
        ("sts", "GetSessionToken", WRITE),
        ("sts", "DecodeAuthorizationMessage", READ),
        ("iam", "SimulatePrincipalPolicy", READ),
        ("iam", "ListUsers", READ),
        ("iam", "CreateAccessKey", WRITE),
        ("strongroom", "DescribeTenant", READ),
        ("strongroom", "CreateTenant", WRITE),
        ("iam", "", WRITE),
    ],
)
def test_operation_class(service: str, operation: str, expected: str) -> None:
    assert operation_class(service, operation) == expected


def test_encrypt_outside_kms_is_not_a_crypto_operation() -> None:
    assert operation_class("secretsmanager", "Encrypt") == WRITE


# -- quotas, tiers and overrides --------------------------------------------------------


def test_builtin_tiers_have_the_documented_numbers() -> None:
    standard = BUILTIN_TIERS[STANDARD]
    assert (standard.read_rate, standard.write_rate, standard.crypto_rate) == (200, 50, 500)
    assert standard.burst_seconds == 2
    assert (standard.max_secrets, standard.max_keys, standard.max_secret_versions) == (
        10_000,
        1_000,
        100,
    )
    assert BUILTIN_TIERS[PREMIUM].read_rate == 2_000
    assert all(
        value is None
        for name, value in BUILTIN_TIERS[UNLIMITED].as_dict().items()
        if name != "burst_seconds"
    )


def test_rate_by_class() -> None:
    q = TenantQuotas(read_rate=1, write_rate=2, crypto_rate=3)
    assert (q.rate(READ), q.rate(WRITE), q.rate(CRYPTO)) == (1, 2, 3)


@pytest.mark.parametrize(
    "bad",
    [
        {"read_rate": 0},
        {"write_rate": -1},
        {"crypto_rate": float("inf")},
        {"crypto_rate": float("nan")},
        {"burst_seconds": 0},
        {"max_secrets": -1},
    ],
)
def test_out_of_range_quotas_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(QuotaError):
        TenantQuotas(**bad)  # type: ignore[arg-type]
    with pytest.raises(QuotaError):
        TenantQuotas().merged(bad)


def test_merged_puts_overrides_on_top_and_keeps_the_rest() -> None:
    base = BUILTIN_TIERS[STANDARD]
    merged = base.merged({"read_rate": 5, "max_keys": None, "max_secrets": 3.0})
    assert merged.read_rate == 5.0
    assert isinstance(merged.read_rate, float)
    assert merged.max_keys is None
    assert merged.max_secrets == 3
    assert isinstance(merged.max_secrets, int)
    assert merged.write_rate == base.write_rate
    assert merged.burst_seconds == base.burst_seconds
    assert base.merged({}) is base


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"reed_rate": 1}, "unknown quota setting(s): reed_rate"),
        ({"read_rate": "fast"}, "read_rate must be a number or null"),
        ({"read_rate": True}, "read_rate must be a number or null"),
        ({"max_keys": 1.5}, "max_keys must be a whole number"),
        ({"burst_seconds": None}, "burst_seconds must be a number of seconds"),
    ],
)
def test_merged_refuses_bad_overrides(overrides: dict[str, object], words: str) -> None:
    with pytest.raises(QuotaError, match=words.replace("(", r"\(").replace(")", r"\)")):
        TenantQuotas().merged(overrides)


def test_parse_overrides_reads_stored_json() -> None:
    assert parse_overrides(None) == {}
    assert parse_overrides("  ") == {}
    assert parse_overrides('{"read_rate": 20, "max_secrets": null}') == {
        "read_rate": 20.0,
        "max_secrets": None,
    }
    for bad in ("[1]", "{", '{"read_rate": -1}', '{"colour": 1}'):
        with pytest.raises(QuotaError):
            parse_overrides(bad)


def test_build_tiers_changes_builtins_and_adds_tiers_from_standard() -> None:
    tiers = build_tiers({"premium": {"read_rate": 9}, "tiny": {"write_rate": 1}})
    assert tiers[PREMIUM].read_rate == 9
    assert tiers[PREMIUM].write_rate == BUILTIN_TIERS[PREMIUM].write_rate
    assert tiers["tiny"].write_rate == 1
    assert tiers["tiny"].read_rate == BUILTIN_TIERS[STANDARD].read_rate
    assert tiers[STANDARD] == BUILTIN_TIERS[STANDARD]
    assert set(build_tiers(None)) == {STANDARD, PREMIUM, UNLIMITED}
    with pytest.raises(QuotaError, match="tier 'tiny': unknown"):
        build_tiers({"tiny": {"speed": 1}})
    with pytest.raises(QuotaError, match="must be a table"):
        build_tiers({"tiny": 5})  # type: ignore[dict-item]
    with pytest.raises(QuotaError, match="1-64 characters"):
        build_tiers({"": {}})


def test_tier_source_resolves_tier_and_overrides() -> None:
    source = TierQuotaSource(build_tiers({"tiny": {"read_rate": 1}}), "tiny")
    assert source.default_tier == "tiny"
    assert source.tier_names == ("premium", "standard", "tiny", "unlimited")
    assert source.quotas_for("cust-1").read_rate == 1
    assert source.resolve(None, None).read_rate == 1
    assert source.resolve("premium", {"read_rate": 7}).read_rate == 7
    assert source.resolve("premium", None) == BUILTIN_TIERS[PREMIUM]
    with pytest.raises(QuotaError, match="no tenant tier named 'gold'"):
        source.resolve("gold", None)
    with pytest.raises(QuotaError, match="not a tier"):
        TierQuotaSource(BUILTIN_TIERS, "gold")


def test_count_limits_come_from_the_source() -> None:
    limits = CountLimits(FixedSource(BUILTIN_TIERS[STANDARD], cust_b=BUILTIN_TIERS[UNLIMITED]))
    assert (limits.max_secrets("cust-a"), limits.max_keys("cust-a")) == (10_000, 1_000)
    assert limits.max_secret_versions("cust-a") == 100
    assert limits.max_secrets("cust-b") is None


# -- the token buckets --------------------------------------------------------------------


def test_a_new_bucket_is_full_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=10, burst=2)))
    # Capacity 10/s * 2 s = 20 tokens, all there at the first call.
    assert all(limiter.try_acquire("t", READ, 100.0) is None for _ in range(20))
    wait = limiter.try_acquire("t", READ, 100.0)
    assert wait == pytest.approx(0.1)
    # A quarter of a token later, three quarters are still missing.
    assert limiter.try_acquire("t", READ, 100.025) == pytest.approx(0.075)
    assert limiter.try_acquire("t", READ, 100.1) is None
    assert limiter.try_acquire("t", READ, 100.1) is not None
    # One second refills ten tokens, never more than the capacity.
    assert sum(limiter.try_acquire("t", READ, 101.1) is None for _ in range(15)) == 10
    assert sum(limiter.try_acquire("t", READ, 1000.0) is None for _ in range(25)) == 20


def test_accepted_calls_follow_rate_times_time_plus_burst() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=20, burst=1)))
    accepted = 0
    now = 0.0
    while now < 3.0:  # 200 calls a second for 3 s
        accepted += limiter.try_acquire("t", READ, now) is None
        now += 0.005
    assert accepted == pytest.approx(20 * 3 + 20, abs=1)


def test_capacity_is_at_least_one_token() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=0.5, burst=1)))
    assert limiter.try_acquire("t", WRITE, 0.0) is None
    assert limiter.try_acquire("t", WRITE, 0.0) == pytest.approx(2.0)
    assert limiter.try_acquire("t", WRITE, 2.0) is None


def test_classes_and_tenants_have_their_own_buckets() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=1, burst=1)))
    assert limiter.try_acquire("a", READ, 0.0) is None
    assert limiter.try_acquire("a", READ, 0.0) is not None
    assert limiter.try_acquire("a", WRITE, 0.0) is None
    assert limiter.try_acquire("a", CRYPTO, 0.0) is None
    assert limiter.try_acquire("b", READ, 0.0) is None


def test_unlimited_rates_never_throttle() -> None:
    limiter = RateLimiter(FixedSource(BUILTIN_TIERS[UNLIMITED]))
    assert all(limiter.try_acquire("t", CRYPTO, 0.0) is None for _ in range(10_000))


def test_share_divides_every_rate() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=30, burst=1)))
    limiter.set_share(3)
    assert limiter.share == 3
    assert sum(limiter.try_acquire("t", READ, 0.0) is None for _ in range(40)) == 10
    assert limiter.try_acquire("t", READ, 0.0) == pytest.approx(0.1)
    limiter.set_share(0)  # never less than this process
    assert limiter.share == 1


def test_a_share_change_applies_to_existing_buckets_without_losing_refill() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=10, burst=1)), refresh_seconds=60)
    assert sum(limiter.try_acquire("t", READ, 0.0) is None for _ in range(10)) == 10
    limiter.set_share(2)
    # 0.4 s at the old rate (10/s) refilled 4 tokens; the new capacity is 5.
    assert sum(limiter.try_acquire("t", READ, 0.4) is None for _ in range(10)) == 4
    assert limiter.try_acquire("t", READ, 0.4) == pytest.approx(0.2)


def test_quotas_are_read_again_after_the_refresh_interval() -> None:
    source = FixedSource(quotas(rate=1, burst=1))
    limiter = RateLimiter(source, refresh_seconds=1.0)
    assert limiter.try_acquire("t", READ, 0.0) is None
    assert limiter.try_acquire("t", READ, 0.5) is not None
    assert source.lookups == 1
    source.default = quotas(rate=100, burst=1)
    # Refreshed at 1.0: the token refilled at the old rate is there; the new rate applies.
    assert limiter.try_acquire("t", READ, 1.0) is None
    assert source.lookups == 2
    assert sum(limiter.try_acquire("t", READ, 1.5) is None for _ in range(100)) == 50


def test_a_change_made_here_is_read_at_once_whatever_the_refresh_interval() -> None:
    source = FixedSource(quotas(rate=1, burst=1))
    limiter = RateLimiter(source, refresh_seconds=30.0)
    assert limiter.try_acquire("t", READ, 0.0) is None
    assert limiter.try_acquire("t", READ, 0.1) is not None
    source.default = quotas(rate=100, burst=1)
    limiter.changed("t")
    limiter.changed("never-seen")  # nothing to drop: no error
    # The 0.2 token refilled at the old rate stays; the rest comes at the new rate (not
    # in 0.8 s, as at 1/s).
    assert limiter.try_acquire("t", READ, 0.2) == pytest.approx(0.008)
    assert source.lookups == 2


def test_a_lower_quota_caps_the_tokens_at_the_new_capacity() -> None:
    source = FixedSource(quotas(rate=100, burst=1))
    limiter = RateLimiter(source, refresh_seconds=0.0)
    assert limiter.try_acquire("t", READ, 0.0) is None
    source.default = quotas(rate=2, burst=1)
    assert sum(limiter.try_acquire("t", READ, 0.0) is None for _ in range(10)) == 2


class FailingSource(FixedSource):
    def __init__(self, default: TenantQuotas) -> None:
        super().__init__(default)
        self.failing = False

    def quotas_for(self, tenant: str) -> TenantQuotas:
        if self.failing:
            raise ConnectionError("the tenant store is down")
        return super().quotas_for(tenant)


def test_a_failed_re_read_keeps_the_last_quotas_and_is_reported() -> None:
    source = FailingSource(quotas(rate=2, burst=1))
    errors: list[tuple[str, str]] = []
    limiter = RateLimiter(
        source,
        refresh_seconds=1.0,
        on_source_error=lambda tenant, exc: errors.append((tenant, type(exc).__name__)),
    )
    assert limiter.try_acquire("t", READ, 0.0) is None
    source.failing = True
    assert sum(limiter.try_acquire("t", READ, 1.0) is None for _ in range(5)) == 2
    assert errors == [("t", "ConnectionError")]
    # Asked again only after the refresh interval, not on every call.
    limiter.try_acquire("t", READ, 1.5)
    assert len(errors) == 1
    limiter.try_acquire("t", READ, 2.0)
    assert len(errors) == 2


def test_a_tenant_whose_quotas_cannot_be_read_at_all_fails_the_call() -> None:
    source = FailingSource(quotas())
    source.failing = True
    limiter = RateLimiter(source)
    with pytest.raises(ConnectionError):
        limiter.try_acquire("t", READ, 0.0)
    assert limiter.tracked_tenants() == 0


def test_idle_tenants_are_dropped() -> None:
    source = FixedSource(quotas(rate=1, burst=1))
    limiter = RateLimiter(source, idle_seconds=30.0)
    for n in range(5):
        limiter.try_acquire(f"t{n}", READ, 0.0)
    assert limiter.tracked_tenants() == 5
    limiter.try_acquire("t0", READ, 20.0)
    # A sweep runs at the next admission once 10 s have passed: t1..t4 idle for 31 s go.
    limiter.try_acquire("new", READ, 31.0)
    assert limiter.tracked_tenants() == 2
    # A dropped tenant comes back with a full bucket: nothing was lost.
    assert limiter.try_acquire("t1", READ, 31.0) is None


def test_the_number_of_tenants_is_bounded() -> None:
    limiter = RateLimiter(FixedSource(quotas()), max_tenants=100)
    for n in range(1_000):
        limiter.try_acquire(f"t{n}", READ, n / 1000)
    assert limiter.tracked_tenants() <= 100
    # The most recent tenants are the ones kept.
    assert limiter.try_acquire("t999", READ, 1.0) is None
    assert limiter.tracked_tenants() <= 100


def test_concurrent_callers_never_get_more_than_the_capacity() -> None:
    limiter = RateLimiter(FixedSource(quotas(rate=1, burst=500)))
    accepted: list[int] = []

    def take() -> None:
        accepted.append(sum(limiter.try_acquire("t", READ, 0.0) is None for _ in range(200)))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(accepted) == 500


def test_limiter_settings_are_checked() -> None:
    with pytest.raises(QuotaError):
        RateLimiter(FixedSource(quotas()), idle_seconds=0)
    with pytest.raises(QuotaError):
        RateLimiter(FixedSource(quotas()), max_tenants=0)


def test_throttling_message_names_tenant_class_and_wait() -> None:
    assert throttling_message("cust-a", READ, 0.123) == (
        "Rate exceeded for tenant cust-a (read operations); retry after 0.12 seconds."
    )
    assert "retry after 0.01 seconds" in throttling_message("cust-a", WRITE, 0.0)
