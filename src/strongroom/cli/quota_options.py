"""The ``server`` command's tenant quota options (flags, STRONGROOM_* variables, TOML)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from strongroom.cli.alarm_options import named_tables
from strongroom.settings import SettingsError
from strongroom.tenancy.quotas import QuotaError, build_tiers

F = TypeVar("F", bound=Callable[..., Any])


def _tier_tables(
    ctx: click.Context, param: click.Parameter, value: Any
) -> dict[str, dict[str, Any]]:
    """Tier tables: ``[tenant_tiers.<tier>]`` in the config file, or JSON."""
    return named_tables(ctx, param, value, names="tier", settings="quota")


_OPTIONS = (
    click.option(
        "--tenant-tiers",
        default="",
        type=click.UNPROCESSED,
        callback=_tier_tables,
        metavar="JSON",
        help="Quota tiers: each table changes a built-in tier (standard, premium, "
        "unlimited) or adds one starting from standard (a TOML table, or JSON here).",
        show_default=False,
    ),
    click.option(
        "--default-tenant-tier",
        default="standard",
        help="The quota tier of tenants that have none of their own.",
    ),
)


def quota_options(command: F) -> F:
    """Add the options above to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def quota_settings_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Settings`` keyword arguments from the options' values."""
    try:
        tiers = build_tiers(values["tenant_tiers"])
    except QuotaError as exc:
        raise SettingsError(str(exc)) from exc
    return {"tenant_tiers": tiers, "default_tenant_tier": values["default_tenant_tier"]}
