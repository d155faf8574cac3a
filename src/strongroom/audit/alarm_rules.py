"""Alarm settings: each rule's threshold and window, business hours, per-tenant overrides."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FAILED_READ_BURST = "FailedReadBurst"
MANY_TENANTS_TOUCHED = "ManyTenantsTouched"
OUTSIDE_HOURS = "OutsideHours"
DECRYPT_WITHOUT_CONTEXT = "DecryptWithoutContext"
TENANT_GUARD_REFUSAL = "TenantGuardRefusal"
ALARM_NAMES = (
    FAILED_READ_BURST,
    MANY_TENANTS_TOUCHED,
    OUTSIDE_HOURS,
    DECRYPT_WITHOUT_CONTEXT,
    TENANT_GUARD_REFUSAL,
)

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)")


class AlarmSettingsError(ValueError):
    """An alarm setting is invalid; the message says which and why."""


def check_webhook_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        # The URL itself is not quoted: it may carry a token.
        raise AlarmSettingsError(
            "the alarm webhook URL must be an http:// or https:// URL with a host"
        )
    return url


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When secret material may be read without an OutsideHours alarm: a daily span of
    local time on some weekdays. A span whose end is before its start runs past midnight
    (``22:00-06:00``); the weekday is the one the span starts on."""

    start: time
    end: time  # time.max stands for 24:00
    days: frozenset[int]  # 0 = Monday
    zone: ZoneInfo

    @classmethod
    def parse(cls, hours: str, days: str = "Mon-Fri", zone: str = "UTC") -> BusinessHours:
        match = _HOURS.fullmatch(hours.strip())
        if match is None:
            raise AlarmSettingsError(f"business hours must look like 08:00-18:00, not {hours!r}")
        start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
        if end_h == 24 and end_m != 0:
            raise AlarmSettingsError(f"business hours end after 24:00: {hours!r}")
        start = time(start_h, start_m)
        end = time.max if end_h == 24 else time(end_h, end_m)
        if start == end:
            raise AlarmSettingsError(f"business hours span no time: {hours!r}")
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AlarmSettingsError(f"unknown time zone {zone!r}") from exc
        return cls(start, end, parse_days(days), tz)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        # Past midnight: the early-morning part belongs to the previous day's span.
        if clock >= self.start:
            return local.weekday() in self.days
        return clock < self.end and (local.weekday() - 1) % 7 in self.days

    def describe(self) -> str:
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        days = ",".join(_DAY_NAMES[d] for d in sorted(self.days))
        return f"{self.start.strftime('%H:%M')}-{end} {days} {self.zone.key}"


def parse_days(days: str) -> frozenset[int]:
    """``Mon-Fri``, ``Sat,Sun``, ``Mon-Wed,Fri``, ``Fri-Mon`` (wrapping) → weekday numbers."""
    chosen: set[int] = set()
    for part in days.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        start = _day(first)
        stop = _day(last) if last else start
        chosen.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    if not chosen:
        raise AlarmSettingsError(f"business days name no day: {days!r}")
    return frozenset(chosen)


def _day(name: str) -> int:
    wanted = name.strip()[:3].capitalize()
    if wanted not in _DAY_NAMES:
        raise AlarmSettingsError(f"not a weekday: {name!r} (use Mon, Tue, ... Sun)")
    return _DAY_NAMES.index(wanted)


@dataclass(frozen=True, slots=True)
class AlarmThresholds:
    """The knobs of every rule, for the whole deployment or for one tenant.

    TenantGuardRefusal has none: every refusal is an alarm, always.
    """

    # FailedReadBurst: more than this many failed reads by one principal in the window.
    failed_reads: int = 10
    failed_reads_window: float = 60.0
    # ManyTenantsTouched: one principal touching more than this many tenants in the window.
    tenants_touched: int = 5
    tenants_touched_window: float = 300.0
    # OutsideHours: off while None.
    business_hours: BusinessHours | None = None
    decrypt_without_context: bool = True
    # OutsideHours and DecryptWithoutContext: once a principal set one off, the same rule
    # stays quiet for it this long (the two counting rules use their own windows).
    repeat_window: float = 3600.0

    def __post_init__(self) -> None:
        if self.failed_reads < 1 or self.tenants_touched < 1:
            raise AlarmSettingsError("alarm thresholds must be at least 1")
        for name in ("failed_reads_window", "tenants_touched_window", "repeat_window"):
            value = getattr(self, name)
            if not 0 < value <= 7 * 86400:
                raise AlarmSettingsError(f"{name} must be more than 0 and at most 7 days")

    @property
    def longest_window(self) -> float:
        return max(self.failed_reads_window, self.tenants_touched_window, self.repeat_window)


_NO_OVERRIDES: Mapping[str, AlarmThresholds] = MappingProxyType({})
# The keys a per-tenant override may set (as in the TOML table or the JSON object).
OVERRIDE_KEYS = frozenset(
    {
        "failed_reads",
        "failed_reads_window",
        "tenants_touched",
        "tenants_touched_window",
        "business_hours",
        "business_days",
        "time_zone",
        "decrypt_without_context",
        "repeat_window",
    }
)


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    """The deployment's thresholds and each tenant's overrides of them. A call's rules are
    those of the tenant it concerned (the event's ``tenant``, else its resources')."""

    defaults: AlarmThresholds = field(default_factory=AlarmThresholds)
    tenants: Mapping[str, AlarmThresholds] = field(default_factory=lambda: _NO_OVERRIDES)

    def for_tenant(self, tenant: str | None) -> AlarmThresholds:
        if tenant is None or not self.tenants:
            return self.defaults
        return self.tenants.get(tenant, self.defaults)

    @property
    def longest_window(self) -> float:
        return max(t.longest_window for t in (self.defaults, *self.tenants.values()))

    @property
    def largest_threshold(self) -> int:
        return max(
            max(t.failed_reads, t.tenants_touched) for t in (self.defaults, *self.tenants.values())
        )


def build_alarm_settings(
    *,
    failed_reads: int = 10,
    failed_reads_window: float = 60.0,
    tenants_touched: int = 5,
    tenants_touched_window: float = 300.0,
    business_hours: str = "",
    business_days: str = "Mon-Fri",
    time_zone: str = "UTC",
    decrypt_without_context: bool = True,
    repeat_window: float = 3600.0,
    tenant_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> AlarmSettings:
    """Settings from the flat options (``business_hours`` empty = OutsideHours off) and the
    per-tenant tables, each a mapping of some of the same keys (``OVERRIDE_KEYS``)."""
    flat: dict[str, Any] = {
        "failed_reads": failed_reads,
        "failed_reads_window": failed_reads_window,
        "tenants_touched": tenants_touched,
        "tenants_touched_window": tenants_touched_window,
        "business_hours": business_hours,
        "business_days": business_days,
        "time_zone": time_zone,
        "decrypt_without_context": decrypt_without_context,
        "repeat_window": repeat_window,
    }
    defaults = _thresholds(flat)
    tenants: dict[str, AlarmThresholds] = {}
    for tenant, override in (tenant_overrides or {}).items():
        if not isinstance(override, Mapping):
            raise AlarmSettingsError(f"the alarm override of tenant {tenant!r} must be a table")
        unknown = sorted(set(override) - OVERRIDE_KEYS)
        if unknown:
            raise AlarmSettingsError(
                f"unknown alarm setting(s) for tenant {tenant!r}: {', '.join(unknown)}"
            )
        tenants[str(tenant)] = _thresholds({**flat, **override}, tenant)
    return AlarmSettings(defaults, MappingProxyType(tenants) if tenants else _NO_OVERRIDES)


def _thresholds(values: Mapping[str, Any], tenant: str | None = None) -> AlarmThresholds:
    where = "" if tenant is None else f" (tenant {tenant!r})"
    try:
        hours = str(values["business_hours"] or "").strip()
        return AlarmThresholds(
            failed_reads=_integer(values["failed_reads"]),
            failed_reads_window=float(values["failed_reads_window"]),
            tenants_touched=_integer(values["tenants_touched"]),
            tenants_touched_window=float(values["tenants_touched_window"]),
            business_hours=(
                None
                if hours in ("", "off")
                else BusinessHours.parse(
                    hours, str(values["business_days"]), str(values["time_zone"])
                )
            ),
            decrypt_without_context=_flag(values["decrypt_without_context"]),
            repeat_window=float(values["repeat_window"]),
        )
    except AlarmSettingsError as exc:
        raise AlarmSettingsError(f"{exc}{where}") from exc
    except (TypeError, ValueError) as exc:
        raise AlarmSettingsError(f"an alarm setting has the wrong type{where}") from exc


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AlarmSettingsError("alarm thresholds must be whole numbers")
    return int(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "on", "off"):
        return value.lower() in ("true", "on")
    raise AlarmSettingsError("decrypt_without_context must be true or false")
