"""The ``server`` command's alarm and metrics options (flags, STRONGROOM_* variables, TOML)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from strongroom.audit.alarm_rules import AlarmSettingsError, build_alarm_settings
from strongroom.settings import SettingsError

F = TypeVar("F", bound=Callable[..., Any])


def named_tables(
    ctx: click.Context, param: click.Parameter, value: Any, *, names: str, settings: str
) -> dict[str, dict[str, Any]]:
    """Tables of settings by name (``[<option>.<name>]`` in the config file, or the same as
    a JSON object in a flag or environment variable), keys with ``-`` read as ``_``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(
                f"must be a JSON object: {{{names}: {{setting: value}}}}", ctx, param
            ) from exc
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise click.BadParameter(
            f"must map each {names} to a table of {settings} settings", ctx, param
        )
    return {
        str(name): {str(k).replace("-", "_"): v for k, v in table.items()}
        for name, table in value.items()
    }


def _tenant_overrides(
    ctx: click.Context, param: click.Parameter, value: Any
) -> dict[str, dict[str, Any]]:
    """Per-tenant alarm settings: ``[alarm_tenant_overrides.<tenant>]``, or JSON."""
    return named_tables(ctx, param, value, names="tenant", settings="alarm")


_OPTIONS = (
    click.option(
        "--alarm-failed-reads",
        default=10,
        type=click.IntRange(min=1),
        help="FailedReadBurst: more failed reads than this by one principal in the window.",
    ),
    click.option("--alarm-failed-reads-window", default=60.0, type=float, help="Seconds."),
    click.option(
        "--alarm-tenants-touched",
        default=5,
        type=click.IntRange(min=1),
        help="ManyTenantsTouched: one principal touching more tenants than this in the window.",
    ),
    click.option("--alarm-tenants-touched-window", default=300.0, type=float, help="Seconds."),
    click.option(
        "--alarm-business-hours",
        default="",
        help="OutsideHours: reads of secret material outside e.g. 08:00-18:00 raise an "
        "alarm. [default: off]",
        show_default=False,
    ),
    click.option("--alarm-business-days", default="Mon-Fri", help="e.g. Mon-Fri, Sun-Thu."),
    click.option("--alarm-time-zone", default="UTC", help="Time zone of the business hours."),
    click.option(
        "--alarm-decrypt-without-context/--no-alarm-decrypt-without-context",
        default=True,
        help="DecryptWithoutContext: Decrypt/GenerateDataKey* on a shared key with no "
        "encryption context.",
    ),
    click.option(
        "--alarm-repeat-window",
        default=3600.0,
        type=float,
        help="Seconds an OutsideHours or DecryptWithoutContext alarm stays quiet for the "
        "same principal.",
    ),
    click.option(
        "--alarm-tenant-overrides",
        default="",
        type=click.UNPROCESSED,
        callback=_tenant_overrides,
        metavar="JSON",
        help="Per-tenant alarm settings (a TOML table, or JSON here).",
        show_default=False,
    ),
    click.option(
        "--alarm-webhook-url",
        default=None,
        help="POST each alarm as JSON to this URL (retried; never delays a request).",
    ),
    click.option(
        "--metrics-max-tenants",
        default=50,
        type=click.IntRange(min=0),
        help="Distinct tenant label values in /metrics; the rest are 'other'.",
    ),
)


def alarm_options(command: F) -> F:
    """Add the options above to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def settings_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Settings`` keyword arguments from the options' values."""
    try:
        alarms = build_alarm_settings(
            failed_reads=values["alarm_failed_reads"],
            failed_reads_window=values["alarm_failed_reads_window"],
            tenants_touched=values["alarm_tenants_touched"],
            tenants_touched_window=values["alarm_tenants_touched_window"],
            business_hours=values["alarm_business_hours"],
            business_days=values["alarm_business_days"],
            time_zone=values["alarm_time_zone"],
            decrypt_without_context=values["alarm_decrypt_without_context"],
            repeat_window=values["alarm_repeat_window"],
            tenant_overrides=values["alarm_tenant_overrides"],
        )
    except AlarmSettingsError as exc:
        raise SettingsError(str(exc)) from exc
    return {
        "alarms": alarms,
        "alarm_webhook_url": values["alarm_webhook_url"] or None,
        "metrics_max_tenants": values["metrics_max_tenants"],
    }
