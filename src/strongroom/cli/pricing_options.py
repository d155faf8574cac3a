"""The ``server`` command's unit prices for the usage cost estimate (flag, variable, TOML)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

import click

from strongroom.tenancy.metering import Pricing, PricingError

F = TypeVar("F", bound=Callable[..., Any])
PRICE_NAMES = tuple(f.name for f in fields(Pricing))


def _pricing(ctx: click.Context, param: click.Parameter, value: Any) -> Pricing:
    """A ``[pricing]`` table in the config file, or the same as a JSON object in the flag
    (or its environment variable); prices not given keep AWS's list prices."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Pricing()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.BadParameter("must be a JSON object: {price: number}", ctx, param) from exc
    if not isinstance(value, Mapping):
        raise click.BadParameter("must be a table of prices", ctx, param)
    given = {str(k).replace("-", "_"): v for k, v in value.items()}
    unknown = sorted(set(given) - set(PRICE_NAMES))
    if unknown:
        raise click.BadParameter(
            f"unknown price {unknown[0]!r}; the prices are {', '.join(PRICE_NAMES)}", ctx, param
        )
    try:
        return Pricing(**given)
    except PricingError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def pricing_option(command: F) -> F:
    """Add ``--pricing`` to a click command; it receives a :class:`Pricing` as ``pricing``."""
    return click.option(
        "--pricing",
        default="",
        type=click.UNPROCESSED,
        callback=_pricing,
        metavar="JSON",
        help="Unit prices (USD) of `tenant usage`'s cost estimate: "
        + ", ".join(PRICE_NAMES)
        + " (a TOML table, or JSON here). [default: AWS list prices]",
        show_default=False,
    )(command)
