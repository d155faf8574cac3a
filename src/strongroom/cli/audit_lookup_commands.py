"""``strongroom audit lookup`` and ``audit tail``: the trail read from the database, as
CloudTrail JSON lines (one event per line)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from strongroom.audit.lookup_query import AuditLookupStore, EventQuery
from strongroom.cli.audit_commands import deployment_options, opened
from strongroom.settings import DEFAULT_REGION, Settings

if TYPE_CHECKING:
    from strongroom.bootstrap import AuditTools

# Rows read per statement while paging through a long lookup.
_PAGE = 500
# Seqs read per region per poll while following the trail.
_TAIL_WINDOW = 1000


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 time; without an offset it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _lookup_store(tools: AuditTools) -> AuditLookupStore:
    from strongroom.storage.audit_lookup_repository import SqlAuditLookup

    return SqlAuditLookup(tools.trail.store.engine)


@click.command("lookup")
@deployment_options
@click.option("--region", default=DEFAULT_REGION, show_default=True, help="The chain to search.")
@click.option("--event-name", default=None, help="e.g. Decrypt, GetSecretValue.")
@click.option("--resource", default=None, help="A resource ARN, or the name the caller used.")
@click.option("--principal", default=None, metavar="ARN", help="The caller's ARN.")
@click.option("--tenant", default=None)
@click.option("--start", default=None, callback=_moment, help="ISO 8601, inclusive.")
@click.option("--end", default=None, callback=_moment, help="ISO 8601, inclusive.")
@click.option(
    "--max",
    "max_events",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Print at most this many events.",
)
def lookup(
    settings: Settings,
    region: str,
    event_name: str | None,
    resource: str | None,
    principal: str | None,
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    max_events: int,
) -> None:
    """Print the events matching every filter given, newest first, as CloudTrail JSON."""
    if start is not None and end is not None and start > end:
        raise click.UsageError("--start is after --end")
    query = EventQuery(
        region=region,
        event_name=event_name,
        resource_name=resource,
        principal_arn=principal,
        tenant=tenant,
        start=start,
        end=end,
    )
    with opened(settings, unlock=False) as tools:
        for record in _records(_lookup_store(tools), query, max_events):
            click.echo(record)


def _records(store: AuditLookupStore, query: EventQuery, wanted: int) -> Iterator[str]:
    """Up to ``wanted`` records, read a page at a time along the keyset cursor."""
    after = None
    while wanted > 0:
        size = min(wanted, _PAGE)
        page = store.find(query, after, size)
        for event in page:
            yield event.record.decode("utf-8")
        if len(page) < size:
            return
        wanted -= size
        after = page[-1].cursor


@click.command("tail")
@deployment_options
@click.option("--tenant", default=None, help="Only this tenant's events.")
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05), help="Seconds."
)
@click.option(
    "--max",
    "max_events",
    default=None,
    type=click.IntRange(min=1),
    help="Stop after printing this many events. [default: follow until interrupted]",
)
def tail(
    settings: Settings,
    tenant: str | None,
    interval: float,
    max_events: int | None,
) -> None:
    """Follow the trail: print each event appended from now on, as CloudTrail JSON."""
    with opened(settings, unlock=False) as tools:
        store = _lookup_store(tools)
        positions = dict(store.heads())
        start = ", ".join(f"{r} after seq {s}" for r, s in sorted(positions.items())) or "empty"
        click.echo(f"following the audit trail ({start})", err=True)
        printed = 0
        try:
            while max_events is None or printed < max_events:
                batch = store.follow(positions, tenant, _TAIL_WINDOW)
                for event in batch.events[: None if max_events is None else max_events - printed]:
                    click.echo(event.record.decode("utf-8"))
                    printed += 1
                caught_up = batch.positions == positions
                positions = dict(batch.positions)
                if caught_up:
                    time.sleep(interval)
        except KeyboardInterrupt:
            return
