"""The alarm engine: each rule fires on its pattern, once per window, and stays silent on
normal traffic by the same principals; the webhook retries and never blocks."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from strongroom.audit.alarm_rules import (
    ALARM_NAMES,
    DECRYPT_WITHOUT_CONTEXT,
    FAILED_READ_BURST,
    MANY_TENANTS_TOUCHED,
    OUTSIDE_HOURS,
    TENANT_GUARD_REFUSAL,
    AlarmSettings,
    AlarmSettingsError,
    BusinessHours,
    build_alarm_settings,
    check_webhook_url,
    parse_days,
)
from strongroom.audit.alarms import ALARM_SOURCE, AlarmEngine
from strongroom.audit.events import ALARM, AuditEvent, AuditResource, UserIdentity
from strongroom.audit.webhook import WebhookNotifier
from strongroom.cli.alarm_options import alarm_options, settings_fields
from strongroom.cli.main import _load_config
from strongroom.settings import Settings, SettingsError

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
# A Wednesday, 12:00 UTC (13:00 in Berlin).
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SHARED_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
TENANT_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/66666666-7777-8888-9999-000000000000"
GUARD_MESSAGE = (
    f"User: {ALICE} is not authorized to perform: secretsmanager:GetSecretValue on resource: "
    "x because the tenant guard refuses access across tenants. "
)


def secret_arn(tenant: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/{tenant}/db-AbCdEf"


def event(
    name: str = "GetSecretValue",
    *,
    at: datetime = NOON,
    principal: str = ALICE,
    tenant: str | None = "acme",
    error: str | None = None,
    message: str | None = None,
    parameters: dict[str, Any] | None = None,
    resources: tuple[AuditResource, ...] | None = None,
    source: str = "secretsmanager.amazonaws.com",
) -> AuditEvent:
    if resources is None:
        resources = (
            (AuditResource(secret_arn(tenant), "AWS::SecretsManager::Secret", tenant),)
            if tenant is not None
            else ()
        )
    return AuditEvent(
        event_id=f"ev-{name}-{at.timestamp()}",
        event_time=at,
        event_source=source,
        event_name=name,
        aws_region="us-east-1",
        source_ip="127.0.0.1",
        user_agent="unit-test",
        request_id="req-1",
        read_only=True,
        user_identity=UserIdentity(
            type="IAMUser", arn=principal, account_id=ACCOUNT, access_key_id="AKIAUNIT0000000001"
        ),
        request_parameters=parameters,
        error_code=error,
        error_message=message if message is not None else (error and "it failed"),
        resources=resources,
        tenant=tenant,
        recipient_account_id=ACCOUNT,
    )


def kms_event(
    name: str,
    *,
    key: str = SHARED_KEY,
    key_tenant: str | None = None,
    context: dict[str, str] | None = None,
    at: datetime = NOON,
    principal: str = ALICE,
    tenant: str | None = "acme",
) -> AuditEvent:
    parameters: dict[str, Any] = {"keyId": key}
    if context is not None:
        parameters["encryptionContext"] = context
    return event(
        name,
        at=at,
        principal=principal,
        tenant=tenant,
        parameters=parameters,
        resources=(AuditResource(key, "AWS::KMS::Key", key_tenant),),
        source="kms.amazonaws.com",
    )


class Counted:
    def __init__(self) -> None:
        self.alarms: list[str] = []
        self.delivered = self.failed = self.dropped = 0

    def alarm_raised(self, name: str) -> None:
        self.alarms.append(name)

    def webhook_delivered(self) -> None:
        self.delivered += 1

    def webhook_failed(self) -> None:
        self.failed += 1

    def webhook_dropped(self) -> None:
        self.dropped += 1


class Queued:
    def __init__(self) -> None:
        self.alarms: list[AuditEvent] = []

    def notify(self, alarm: AuditEvent) -> None:
        self.alarms.append(alarm)


def engine(settings: AlarmSettings | None = None, **options: Any) -> AlarmEngine:
    return AlarmEngine(settings or build_alarm_settings(**options))


def names(alarms: list[AuditEvent]) -> list[str]:
    return [a.event_name for a in alarms]


def run(engine_: AlarmEngine, events: list[AuditEvent]) -> list[AuditEvent]:
    raised: list[AuditEvent] = []
    for e in events:
        raised.extend(engine_.observe(e))
    return raised


# -- FailedReadBurst ------------------------------------------------------------------


def test_failed_read_burst_fires_on_the_eleventh_failure_within_a_minute() -> None:
    alarms = engine()
    failures = [
        event(error="ResourceNotFoundException", at=NOON + timedelta(seconds=i * 5))
        for i in range(11)
    ]
    raised = [names(alarms.observe(e)) for e in failures]
    assert raised[:10] == [[]] * 10
    assert raised[10] == [FAILED_READ_BURST]


def test_failed_read_burst_carries_its_evidence_and_is_an_alarm_event() -> None:
    alarms = engine()
    failures = [
        event(
            "Decrypt" if i % 2 else "GetSecretValue",
            error="AccessDeniedException",
            at=NOON + timedelta(seconds=i),
        )
        for i in range(11)
    ]
    (alarm,) = run(alarms, failures)
    assert alarm.event_type == ALARM
    assert alarm.event_source == ALARM_SOURCE
    assert alarm.event_name == FAILED_READ_BURST
    assert alarm.user_identity.arn == ALICE
    assert alarm.event_time == failures[-1].event_time
    evidence = alarm.request_parameters
    assert evidence is not None
    assert evidence["principal"] == ALICE
    assert evidence["failedReads"] == 11
    assert evidence["threshold"] == 10
    assert evidence["windowSeconds"] == 60.0
    assert evidence["operations"] == {"Decrypt": 5, "GetSecretValue": 6}
    assert evidence["errorCodes"] == {"AccessDeniedException": 11}
    assert evidence["tenants"] == ["acme"]
    assert evidence["triggeringEventId"] == failures[-1].event_id
    assert evidence["triggeringRequestId"] == failures[-1].request_id
    assert alarm.request_id != failures[-1].request_id  # one event per call's request id
    record = alarm.to_cloudtrail()
    assert record["eventType"] == ALARM
    assert record["requestParameters"]["failedReads"] == 11


def test_failed_read_burst_fires_once_per_window_not_on_every_later_failure() -> None:
    alarms = engine()
    failures = [event(error="DecryptionFailure", at=NOON + timedelta(seconds=i)) for i in range(40)]
    assert names(run(alarms, failures)) == [FAILED_READ_BURST]
    # A minute after the alarm the burst still goes on: a second alarm, and only one.
    later = [
        event(error="DecryptionFailure", at=NOON + timedelta(seconds=71 + i)) for i in range(20)
    ]
    assert names(run(alarms, later)) == [FAILED_READ_BURST]


def test_failures_arriving_out_of_order_still_count() -> None:
    alarms = engine()
    # Mutations commit on their own, so events can reach the engine a little out of order.
    order = [10, 3, 7, 0, 9, 1, 4, 8, 2, 6, 5]
    failures = [event(error="AccessDeniedException", at=NOON + timedelta(seconds=i)) for i in order]
    (alarm,) = run(alarms, failures)
    assert alarm.request_parameters is not None
    assert alarm.request_parameters["failedReads"] == 11
    assert alarm.request_parameters["windowEnd"] == "2026-03-04T12:00:10Z"
    tenants = [event(tenant=f"t{i}", at=NOON + timedelta(seconds=i)) for i in (5, 0, 4, 1, 3, 2)]
    assert names(run(engine(), tenants)) == [MANY_TENANTS_TOUCHED]


def test_failed_reads_spread_wider_than_the_window_stay_silent() -> None:
    alarms = engine()
    # 100 failures, 7 s apart: never more than 9 within any 60 s.
    failures = [
        event(error="AccessDeniedException", at=NOON + timedelta(seconds=7 * i)) for i in range(100)
    ]
    assert run(alarms, failures) == []


def test_normal_reads_by_the_same_principal_stay_silent() -> None:
    alarms = engine()
    reads = [event(at=NOON + timedelta(milliseconds=10 * i)) for i in range(500)]
    reads += [kms_event("Decrypt", key_tenant="acme", context={"tenant": "acme"})] * 50
    assert run(alarms, reads) == []


def test_failed_writes_and_other_principals_do_not_count_towards_a_burst() -> None:
    alarms = engine()
    traffic = [
        event("PutSecretValue", error="ResourceNotFoundException", at=NOON + timedelta(seconds=i))
        for i in range(30)
    ]
    traffic += [
        event(
            error="ResourceNotFoundException",
            principal=f"arn:aws:iam::{ACCOUNT}:user/u{i}",
            at=NOON + timedelta(seconds=i),
        )
        for i in range(30)
    ]
    assert run(alarms, traffic) == []


def test_throttled_reads_do_not_count_towards_a_burst() -> None:
    alarms = engine()
    throttled = [
        event(error=code, tenant=None, at=NOON + timedelta(milliseconds=10 * i))
        for i, code in enumerate(["ThrottlingException", "Throttling"] * 50)
    ]
    assert run(alarms, throttled) == []


def test_each_principal_has_its_own_burst() -> None:
    alarms = engine(failed_reads=3)
    traffic = []
    for i in range(4):
        for who in (ALICE, BOB):
            traffic.append(
                event(error="DecryptionFailure", principal=who, at=NOON + timedelta(seconds=i))
            )
    raised = run(alarms, traffic)
    assert sorted(a.user_identity.arn or "" for a in raised) == [ALICE, BOB]


def test_unauthenticated_failures_count_by_access_key() -> None:
    alarms = engine(failed_reads=2)
    anonymous = [
        AuditEvent(
            event_id=f"e{i}",
            event_time=NOON + timedelta(seconds=i),
            event_source="secretsmanager.amazonaws.com",
            event_name="GetSecretValue",
            aws_region="us-east-1",
            source_ip="10.0.0.9",
            user_agent="x",
            request_id=f"r{i}",
            read_only=True,
            user_identity=UserIdentity(type="Unknown", access_key_id="AKIANOSUCHKEY0000001"),
            error_code="UnrecognizedClientException",
            error_message="The security token included in the request is invalid.",
        )
        for i in range(3)
    ]
    (alarm,) = run(alarms, anonymous)
    assert alarm.request_parameters is not None
    assert alarm.request_parameters["principal"] == "AKIANOSUCHKEY0000001"


def test_a_tenant_override_lowers_the_threshold_for_that_tenant_only() -> None:
    alarms = engine(tenant_overrides={"acme": {"failed_reads": 2, "failed_reads_window": 10}})
    acme = [event(error="AccessDeniedException", at=NOON + timedelta(seconds=i)) for i in range(3)]
    assert names(run(alarms, acme)) == [FAILED_READ_BURST]
    globex = [
        event(
            error="AccessDeniedException",
            principal=BOB,
            tenant="globex",
            at=NOON + timedelta(seconds=i),
        )
        for i in range(10)
    ]
    assert run(alarms, globex) == []


# -- ManyTenantsTouched ---------------------------------------------------------------


def test_touching_a_sixth_tenant_within_five_minutes_fires() -> None:
    alarms = engine()
    tenants = [f"t{i}" for i in range(6)]
    traffic = [event(tenant=t, at=NOON + timedelta(seconds=30 * i)) for i, t in enumerate(tenants)]
    raised = run(alarms, traffic)
    assert names(raised) == [MANY_TENANTS_TOUCHED]
    evidence = raised[0].request_parameters
    assert evidence is not None
    assert evidence["tenants"] == tenants
    assert evidence["tenantCount"] == 6
    assert evidence["threshold"] == 5
    assert evidence["windowSeconds"] == 300.0


def test_many_tenants_fires_once_per_window() -> None:
    alarms = engine()
    traffic = [event(tenant=f"t{i}", at=NOON + timedelta(seconds=i)) for i in range(30)]
    assert names(run(alarms, traffic)) == [MANY_TENANTS_TOUCHED]


def test_the_same_principal_touching_its_own_few_tenants_all_day_stays_silent() -> None:
    alarms = engine()
    traffic = [
        event(tenant=("acme", "globex", "initech")[i % 3], at=NOON + timedelta(seconds=10 * i))
        for i in range(2000)
    ]
    assert run(alarms, traffic) == []


def test_tenants_touched_slowly_stay_silent() -> None:
    alarms = engine()
    # A new tenant every 61 s: at most 5 within any 300 s.
    traffic = [event(tenant=f"t{i}", at=NOON + timedelta(seconds=61 * i)) for i in range(50)]
    assert run(alarms, traffic) == []


def test_tenants_of_resources_count_and_failed_calls_do_not() -> None:
    alarms = engine(tenants_touched=2)
    one_call = event(
        "BatchGetSecretValue",
        tenant=None,
        resources=tuple(
            AuditResource(secret_arn(t), "AWS::SecretsManager::Secret", t) for t in ("a", "b", "c")
        ),
    )
    assert names(alarms.observe(one_call)) == [MANY_TENANTS_TOUCHED]
    refused = [
        event(tenant=f"x{i}", principal=BOB, error="AccessDeniedException") for i in range(5)
    ]
    assert run(alarms, refused) == []


# -- OutsideHours ---------------------------------------------------------------------


def test_outside_hours_is_off_by_default() -> None:
    alarms = engine()
    midnight_sunday = datetime(2026, 3, 8, 0, 30, tzinfo=UTC)
    assert (
        run(
            alarms,
            [
                event(at=midnight_sunday),
                kms_event("Decrypt", at=midnight_sunday, context={"a": "b"}),
            ],
        )
        == []
    )


def test_a_read_at_night_in_berlin_fires_and_a_read_at_noon_does_not() -> None:
    alarms = engine(
        business_hours="08:00-18:00", business_days="Mon-Fri", time_zone="Europe/Berlin"
    )
    assert alarms.observe(event(at=NOON)) == []
    # 17:30 UTC on a Wednesday in March is 18:30 in Berlin (CET, UTC+1).
    (alarm,) = alarms.observe(event(at=datetime(2026, 3, 4, 17, 30, tzinfo=UTC)))
    assert alarm.event_name == OUTSIDE_HOURS
    evidence = alarm.request_parameters
    assert evidence is not None
    assert evidence["localTime"] == "Wed 2026-03-04 18:30"
    assert evidence["businessHours"] == "08:00-18:00 Mon,Tue,Wed,Thu,Fri Europe/Berlin"
    assert evidence["principal"] == ALICE


def test_outside_hours_fires_once_per_repeat_window() -> None:
    alarms = engine(business_hours="08:00-18:00", repeat_window=3600)
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    reads = [event(at=saturday + timedelta(minutes=i)) for i in range(90)]
    raised = run(alarms, reads)
    assert names(raised) == [OUTSIDE_HOURS, OUTSIDE_HOURS]
    assert [a.event_time for a in raised] == [saturday, saturday + timedelta(minutes=60)]


def test_only_reads_of_secret_material_count_as_outside_hours() -> None:
    alarms = engine(business_hours="08:00-18:00")
    sunday = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    quiet = [
        event("DescribeSecret", at=sunday),
        event("ListSecrets", at=sunday, tenant=None),
        kms_event("GenerateDataKeyWithoutPlaintext", at=sunday, context={"a": "b"}),
        event("GetSecretValue", at=sunday, error="ResourceNotFoundException"),
    ]
    assert run(alarms, quiet) == []
    for name in ("Decrypt", "GenerateDataKey"):
        fresh = engine(business_hours="08:00-18:00")
        assert names(fresh.observe(kms_event(name, at=sunday, context={"a": "b"}))) == [
            OUTSIDE_HOURS
        ]


def test_business_hours_per_tenant_override_the_global_setting() -> None:
    alarms = engine(
        tenant_overrides={
            "acme": {"business_hours": "09:00-17:00", "time_zone": "America/New_York"}
        }
    )
    # 12:00 UTC = 07:00 in New York: outside acme's hours; globex has none configured.
    (alarm,) = alarms.observe(event(at=NOON, tenant="acme"))
    assert alarm.event_name == OUTSIDE_HOURS
    assert alarms.observe(event(at=NOON, tenant="globex", principal=BOB)) == []
    assert alarms.observe(event(at=NOON + timedelta(hours=3), tenant="acme", principal=BOB)) == []


def test_business_hours_parsing() -> None:
    hours = BusinessHours.parse("22:00-06:00", "Mon-Fri", "UTC")
    friday_late = datetime(2026, 3, 6, 23, 0, tzinfo=UTC)
    saturday_early = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # Friday's night span
    sunday_early = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # Saturday's span: not a business day
    assert hours.contains(friday_late)
    assert hours.contains(saturday_early)
    assert not hours.contains(sunday_early)
    assert not hours.contains(NOON)
    whole_day = BusinessHours.parse("00:00-24:00", "Sat-Sun")
    assert whole_day.contains(datetime(2026, 3, 8, 23, 59, tzinfo=UTC))
    assert not whole_day.contains(NOON)
    assert parse_days("Fri-Mon") == frozenset({4, 5, 6, 0})
    assert parse_days("mon, wed,Fri") == frozenset({0, 2, 4})
    for bad in ("8-18", "08:00-25:00", "10:00-10:00", "24:00-08:00"):
        with pytest.raises(AlarmSettingsError):
            BusinessHours.parse(bad)
    with pytest.raises(AlarmSettingsError, match="weekday"):
        parse_days("Mon-Funday")
    with pytest.raises(AlarmSettingsError, match="time zone"):
        BusinessHours.parse("08:00-18:00", "Mon-Fri", "Mars/Olympus_Mons")


# -- DecryptWithoutContext --------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    ],
)
def test_decrypt_without_context_on_a_shared_key_fires(operation: str) -> None:
    alarms = engine()
    (alarm,) = alarms.observe(kms_event(operation))
    assert alarm.event_name == DECRYPT_WITHOUT_CONTEXT
    evidence = alarm.request_parameters
    assert evidence is not None
    assert evidence["keyArn"] == SHARED_KEY
    assert evidence["encryptionContext"] == "absent"
    assert evidence["operation"] == operation
    (empty,) = engine().observe(kms_event(operation, context={}))
    assert empty.request_parameters is not None
    assert empty.request_parameters["encryptionContext"] == "empty"


def test_decrypt_with_context_or_on_a_tenant_key_stays_silent() -> None:
    alarms = engine()
    normal = [
        kms_event("Decrypt", context={"tenant": "acme"}, at=NOON + timedelta(seconds=i))
        for i in range(100)
    ]
    normal += [kms_event("GenerateDataKey", key=TENANT_KEY, key_tenant="acme")] * 10
    normal += [kms_event("Encrypt")] * 10  # Encrypt without context is not this alarm
    assert run(alarms, normal) == []


def test_decrypt_without_context_fires_once_per_repeat_window_and_can_be_turned_off() -> None:
    alarms = engine(repeat_window=600)
    calls = [kms_event("Decrypt", at=NOON + timedelta(seconds=30 * i)) for i in range(30)]
    assert names(run(alarms, calls)) == [DECRYPT_WITHOUT_CONTEXT] * 2
    off = engine(tenant_overrides={"acme": {"decrypt_without_context": False}})
    assert off.observe(kms_event("Decrypt")) == []
    assert names(off.observe(kms_event("Decrypt", tenant="globex"))) == [DECRYPT_WITHOUT_CONTEXT]


# -- TenantGuardRefusal -----------------------------------------------------------------


def test_every_tenant_guard_refusal_fires() -> None:
    alarms = engine()
    refusals = [
        event(error="AccessDeniedException", message=GUARD_MESSAGE, at=NOON + timedelta(seconds=i))
        for i in range(3)
    ]
    raised = run(alarms, refusals)
    assert names(raised) == [TENANT_GUARD_REFUSAL] * 3
    evidence = raised[0].request_parameters
    assert evidence is not None
    assert evidence["errorCode"] == "AccessDeniedException"
    assert evidence["operation"] == "GetSecretValue"
    assert evidence["resources"] == [secret_arn("acme")]


def test_tenant_guard_refusal_from_the_query_protocol_and_from_the_flag() -> None:
    alarms = engine()
    iam = event("GetRole", error="AccessDenied", message=GUARD_MESSAGE, source="iam.amazonaws.com")
    assert names(alarms.observe(iam)) == [TENANT_GUARD_REFUSAL]
    flagged = event(error="AccessDeniedException", message="User: x is not authorized")
    assert alarms.observe(flagged) == []
    assert names(alarms.observe(flagged, tenant_guard_refused=True)) == [TENANT_GUARD_REFUSAL]


def test_policy_denials_are_not_tenant_guard_refusals() -> None:
    alarms = engine()
    denied = [
        event(
            error="AccessDeniedException",
            message=f"User: {ALICE} is not authorized to perform: kms:Decrypt because no "
            "identity-based policy allows the kms:Decrypt action",
            at=NOON + timedelta(seconds=20 * i),
        )
        for i in range(5)
    ]
    assert run(alarms, denied) == []


# -- the engine as a whole ---------------------------------------------------------------


def test_alarm_events_never_feed_alarms() -> None:
    alarms = engine(failed_reads=1)
    raised = run(
        alarms, [event(error="AccessDeniedException", message=GUARD_MESSAGE) for _ in range(2)]
    )
    assert TENANT_GUARD_REFUSAL in names(raised)
    for alarm in raised:
        assert alarms.observe(alarm) == []


def test_alarms_are_logged_counted_and_queued_without_secret_material(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counted, queued = Counted(), Queued()
    canary = "CANARY-plaintext-9f8e7d6c"
    alarms = AlarmEngine(build_alarm_settings(), metrics=counted, notifier=queued)
    noisy = event(
        error="AccessDeniedException",
        message=GUARD_MESSAGE + canary,
        parameters={"secretId": "/customer/acme/db", "clientRequestToken": canary},
    )
    with caplog.at_level(logging.WARNING, logger="strongroom.audit.alarms"):
        (alarm,) = alarms.observe(noisy)
    assert counted.alarms == [TENANT_GUARD_REFUSAL]
    assert queued.alarms == [alarm]
    (line,) = [r for r in caplog.records if r.name == "strongroom.audit.alarms"]
    assert line.levelno == logging.WARNING
    assert TENANT_GUARD_REFUSAL in line.getMessage()
    assert ALICE in line.getMessage()
    assert canary not in caplog.text
    assert canary not in json.dumps(alarm.to_cloudtrail())


def test_state_stays_bounded_under_many_principals() -> None:
    alarms = AlarmEngine(build_alarm_settings(), max_principals=100)
    for i in range(10_000):
        alarms.observe(
            event(
                error="ResourceNotFoundException",
                principal=f"arn:aws:iam::{ACCOUNT}:user/u{i}",
                tenant=f"t{i % 7}",
                at=NOON + timedelta(milliseconds=i),
            )
        )
    assert len(alarms._failed) <= 2 * 100
    assert len(alarms._touched) <= 2 * 100


def test_observe_is_thread_safe_and_counts_exactly() -> None:
    alarms = engine(failed_reads=1000, failed_reads_window=3600)
    barrier = threading.Barrier(8)
    raised: list[AuditEvent] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        barrier.wait()
        for i in range(200):
            got = alarms.observe(
                event(error="DecryptionFailure", at=NOON + timedelta(milliseconds=w * 200 + i))
            )
            with lock:
                raised.extend(got)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 1600 failures, more than 1000: exactly one alarm however the threads interleave.
    assert names(raised) == [FAILED_READ_BURST]


def test_observe_is_fast() -> None:
    alarms = engine(business_hours="00:00-24:00", business_days="Mon-Sun")
    reads = [
        event(tenant=("acme", "globex")[i % 2], at=NOON + timedelta(milliseconds=i))
        for i in range(20_000)
    ]
    started = time.perf_counter()
    for e in reads:
        alarms.observe(e)
    per_event = (time.perf_counter() - started) / len(reads)
    # Measured ~4 µs on this machine; the bound leaves room for a loaded CI box.
    assert per_event < 50e-6


def test_settings_are_checked() -> None:
    with pytest.raises(AlarmSettingsError, match="at least 1"):
        build_alarm_settings(failed_reads=0)
    with pytest.raises(AlarmSettingsError, match="unknown alarm setting"):
        build_alarm_settings(tenant_overrides={"acme": {"failed_read": 3}})
    with pytest.raises(AlarmSettingsError, match="tenant 'acme'"):
        build_alarm_settings(tenant_overrides={"acme": {"business_hours": "late"}})
    with pytest.raises(AlarmSettingsError, match="must be a table"):
        build_alarm_settings(tenant_overrides={"acme": 3})  # type: ignore[dict-item]
    settings = build_alarm_settings(tenant_overrides={"acme": {"failed_reads": 3}})
    assert settings.for_tenant("acme").failed_reads == 3
    assert settings.for_tenant("globex").failed_reads == 10
    assert settings.for_tenant(None) is settings.defaults
    assert set(ALARM_NAMES) == {
        FAILED_READ_BURST,
        MANY_TENANTS_TOUCHED,
        OUTSIDE_HOURS,
        DECRYPT_WITHOUT_CONTEXT,
        TENANT_GUARD_REFUSAL,
    }


# -- the webhook ------------------------------------------------------------------------


class Receiver:
    """A local HTTP server answering the webhook with scripted statuses."""

    def __init__(self, statuses: list[int], delay: float = 0.0) -> None:
        self.statuses = statuses
        self.delay = delay
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                time.sleep(receiver.delay)
                receiver.attempts += 1
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                    receiver.got.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=abc"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counted() -> Counted:
    return Counted()


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


@pytest.fixture
def refusal() -> AuditEvent:
    (alarm,) = engine().observe(event(error="AccessDeniedException", message=GUARD_MESSAGE))
    return alarm


def test_webhook_retries_with_backoff_until_the_receiver_accepts(
    counted: Counted, refusal: AuditEvent
) -> None:
    with Receiver([500, 503, 200]) as receiver:
        hook = WebhookNotifier(receiver.url, metrics=counted, first_backoff=0.01)
        try:
            hook.notify(refusal)
            assert receiver.got.wait(10)
            wait_for(lambda: counted.delivered == 1)
        finally:
            hook.stop()
    assert receiver.attempts == 3
    assert counted.failed == 0
    (body,) = receiver.bodies
    assert body["alarm"] == TENANT_GUARD_REFUSAL
    assert body["record"]["eventType"] == ALARM
    assert body["record"]["eventID"] == refusal.event_id


def test_webhook_gives_up_after_its_attempts_and_counts_a_failure(
    counted: Counted, refusal: AuditEvent, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver([500] * 10) as receiver:
        hook = WebhookNotifier(receiver.url, metrics=counted, attempts=3, first_backoff=0.01)
        try:
            hook.notify(refusal)
            wait_for(lambda: counted.failed == 1)
        finally:
            hook.stop()
    assert receiver.attempts == 3
    assert counted.delivered == 0
    assert "gave up" in caplog.text
    assert "token=abc" not in caplog.text  # the URL may carry a credential


def test_webhook_to_a_dead_address_never_blocks_and_drops_when_full(
    counted: Counted, refusal: AuditEvent
) -> None:
    with Receiver([], delay=2.0) as slow:
        # The receiver takes 2 s per POST; notify must not wait for it.
        hook = WebhookNotifier(slow.url, metrics=counted, queue_size=3, timeout=5)
        try:
            started = time.perf_counter()
            for _ in range(20):
                hook.notify(refusal)
            elapsed = time.perf_counter() - started
        finally:
            hook.stop(timeout=0.1)
    assert elapsed < 0.5
    # One in flight at most, three queued: the rest dropped and counted.
    assert 16 <= counted.dropped <= 17


def test_webhook_connection_refused_is_retried_then_failed(
    counted: Counted, refusal: AuditEvent
) -> None:
    with Receiver([]) as receiver:
        url = receiver.url
    # The receiver is closed now: every attempt is refused.
    hook = WebhookNotifier(url, metrics=counted, attempts=2, first_backoff=0.01, timeout=1)
    try:
        hook.notify(refusal)
        wait_for(lambda: counted.failed == 1)
    finally:
        hook.stop()


def test_webhook_url_must_be_http() -> None:
    assert check_webhook_url("https://hooks.example/alarm") == "https://hooks.example/alarm"
    for bad in ("ftp://x/y", "file:///etc/passwd", "http://", "hooks.example/alarm"):
        with pytest.raises(AlarmSettingsError, match="webhook URL"):
            check_webhook_url(bad)


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    wait_for(
        lambda: (
            not [
                t
                for t in set(threading.enumerate()) - before
                if t.name == "strongroom-alarm-webhook"
            ]
        ),
        timeout=5,
    )


# -- the settings as the server command reads them ----------------------------------------


def read_options(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    @click.command()
    @click.option(
        "--config",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        callback=_load_config,
        is_eager=True,
        expose_value=False,
    )
    @alarm_options
    def probe(**values: Any) -> None:
        captured.update(settings_fields(values))

    result = CliRunner().invoke(probe, args, env=env, auto_envvar_prefix="STRONGROOM")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return captured


def test_alarm_settings_from_a_toml_file_with_tenant_tables(tmp_path: Path) -> None:
    config = tmp_path / "strongroom.toml"
    config.write_text(
        'alarm_business_hours = "08:00-18:00"\n'
        'alarm_time_zone = "Europe/Berlin"\n'
        "alarm-failed-reads = 4\n"
        'alarm_webhook_url = "http://127.0.0.1:9/hook"\n'
        "metrics_max_tenants = 7\n"
        "[alarm_tenant_overrides.acme]\n"
        "failed_reads = 2\n"
        'business_hours = "off"\n'
        "[alarm_tenant_overrides.globex]\n"
        "decrypt-without-context = false\n"
    )
    fields = read_options(["--config", str(config)])
    alarms: AlarmSettings = fields["alarms"]
    assert alarms.defaults.failed_reads == 4
    assert alarms.defaults.business_hours is not None
    assert alarms.defaults.business_hours.describe().endswith("Europe/Berlin")
    assert alarms.for_tenant("acme").failed_reads == 2
    assert alarms.for_tenant("acme").business_hours is None
    assert alarms.for_tenant("globex").decrypt_without_context is False
    assert alarms.for_tenant("globex").failed_reads == 4
    assert fields["alarm_webhook_url"] == "http://127.0.0.1:9/hook"
    assert fields["metrics_max_tenants"] == 7


def test_alarm_settings_from_flags_and_environment() -> None:
    fields = read_options(
        ["--alarm-tenants-touched", "9", "--no-alarm-decrypt-without-context"],
        env={"STRONGROOM_ALARM_TENANT_OVERRIDES": '{"acme": {"tenants_touched": 2}}'},
    )
    alarms: AlarmSettings = fields["alarms"]
    assert alarms.defaults.tenants_touched == 9
    assert alarms.defaults.decrypt_without_context is False
    assert alarms.defaults.business_hours is None
    assert alarms.for_tenant("acme").tenants_touched == 2
    assert fields["alarm_webhook_url"] is None
    assert fields["metrics_max_tenants"] == 50
    with pytest.raises(SettingsError, match="business hours"):
        read_options(["--alarm-business-hours", "9 to 5"])


def test_settings_refuse_a_webhook_url_that_is_not_http() -> None:
    with pytest.raises(SettingsError, match="webhook URL"):
        Settings(dev=True, alarm_webhook_url="file:///etc/passwd")
    settings = Settings(dev=True, alarm_webhook_url="https://hooks.example/x?token=t0ps3cret")
    assert "t0ps3cret" not in repr(settings)
