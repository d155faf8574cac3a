"""``strongroom tenant usage``: per-tenant daily usage and its estimated cost, via the admin API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from strongroom.cli.tenant_commands import call, endpoint_option, region_option

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def add_usage_commands(group: click.Group) -> None:
    """Add ``usage`` to the ``tenant`` group."""
    group.add_command(usage)


@click.command("usage")
@endpoint_option
@region_option
@click.option("--tenant", "tenant_id", default=None, help="One tenant. [default: all]")
@click.option("--start", type=_DATE, default=None, help="First day (UTC). [default: 29 days ago]")
@click.option("--end", type=_DATE, default=None, help="Last day (UTC). [default: today]")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def usage(
    endpoint: str,
    region: str,
    tenant_id: str | None,
    start: datetime | None,
    end: datetime | None,
    as_json: bool,
) -> None:
    """Secrets and keys stored, and calls made, per tenant and day, with the estimated cost
    at the server's unit prices (AWS list prices unless configured: for comparison with
    running the same design on AWS, not a bill)."""
    parameters: dict[str, Any] = {}
    if tenant_id is not None:
        parameters["TenantId"] = tenant_id
    if start is not None:
        parameters["StartDate"] = start.date().isoformat()
    if end is not None:
        parameters["EndDate"] = end.date().isoformat()
    answer = call(endpoint, region, "get_tenant_usage", **parameters)
    if as_json:
        click.echo(json.dumps(answer, indent=2, sort_keys=True))
        return
    _print_usage(answer)


def _print_usage(answer: dict[str, Any]) -> None:
    from rich.console import Console  # keep `strongroom --help` fast
    from rich.table import Table

    console = Console(highlight=False)
    prices = answer.get("Prices", {})
    tenants = answer.get("Usage", [])
    if not tenants:
        click.echo("No tenant usage in this range.")
    for item in tenants:
        days = item.get("Days", [])
        table = Table(title=f"Tenant {item['TenantId']}", title_justify="left")
        for header in ("Date", "Secrets", "Keys", "Secrets Manager calls", "KMS calls", "Other"):
            table.add_column(header, justify="left" if header == "Date" else "right")
        for day in days:
            total = sum(c["Count"] for c in day.get("Calls", []))
            secrets_manager, kms = day.get("SecretsManagerCalls", 0), day.get("KmsCalls", 0)
            table.add_row(
                day["Date"],
                str(day.get("SecretsStored", 0)),
                str(day.get("KeysStored", 0)),
                str(secrets_manager),
                str(kms),
                str(total - secrets_manager - kms),
            )
        console.print(table)
        # Plain lines: Rich would wrap them at the terminal's width, mid-figure.
        click.echo(_operations_line(days))
        click.echo(_cost_line(item.get("EstimatedCost", {})))
        click.echo()
    click.echo(_prices_line(prices))


def _operations_line(days: list[dict[str, Any]]) -> str:
    totals: dict[str, int] = {}
    for day in days:
        for calls in day.get("Calls", []):
            service = calls["EventSource"].removesuffix(".amazonaws.com")
            name = f"{service}:{calls['EventName']}"
            totals[name] = totals.get(name, 0) + calls["Count"]
    if not totals:
        return "Calls by operation: none"
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return "Calls by operation: " + ", ".join(f"{name} {count}" for name, count in ranked)


def _cost_line(cost: dict[str, Any]) -> str:
    currency = cost.get("Currency", "USD")
    return (
        f"Estimated cost ({currency}): secret storage {cost.get('SecretStorage', 0):.6f}, "
        f"key storage {cost.get('KeyStorage', 0):.6f}, "
        f"Secrets Manager requests {cost.get('SecretsManagerRequests', 0):.6f}, "
        f"KMS requests {cost.get('KmsRequests', 0):.6f}; "
        f"total {cost.get('Total', 0):.6f}"
    )


def _prices_line(prices: dict[str, Any]) -> str:
    return (
        f"Unit prices ({prices.get('Currency', 'USD')}): "
        f"{prices.get('SecretPerMonth', 0):g} per secret-month, "
        f"{prices.get('KeyPerMonth', 0):g} per key-month, "
        f"{prices.get('SecretsManagerPer10kRequests', 0):g} per 10,000 Secrets Manager calls, "
        f"{prices.get('KmsPer10kRequests', 0):g} per 10,000 KMS requests "
        "(an estimate for comparison, not a bill)"
    )
