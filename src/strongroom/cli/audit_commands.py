"""``strongroom audit …``: verify the chain, export a tenant's events with proof, print the
public key, checkpoint and prune; operator commands on the databases themselves."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from strongroom.settings import Settings, SettingsError

if TYPE_CHECKING:
    from strongroom.bootstrap import AuditTools

F = TypeVar("F", bound=Callable[..., Any])


def _load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """Settings from the server's TOML file become defaults; env variables and flags win."""
    if value is not None:
        with value.open("rb") as handle:
            data = tomllib.load(handle)
        ctx.default_map = {
            **(ctx.default_map or {}),
            **{k.replace("-", "_"): v for k, v in data.items()},
        }
    return value


_DEPLOYMENT_OPTIONS: tuple[Callable[[F], F], ...] = (
    click.option(
        "--config",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        callback=_load_config,
        is_eager=True,
        expose_value=False,
        help="The server's TOML settings file.",
    ),
    click.option("--dev", is_flag=True, help="A development deployment (dev root key)."),
    click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the SQLite databases (and a dev root key) live. [default: per-user dir]",
    ),
    click.option("--data-url", default=None, help="SQLAlchemy URL of the data database."),
    click.option("--keystore-url", default=None, help="SQLAlchemy URL of the keystore."),
    click.option("--root-key-file", type=click.Path(dir_okay=False, path_type=Path), default=None),
    click.option("--root-key-env", default=None, help="Environment variable with the root key."),
    click.option("--audit-retention-days", default=365, type=click.IntRange(min=1)),
    click.option(
        "--audit-export-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where retention writes exports. [default: <data dir>/audit-export]",
    ),
)
_SETTING_NAMES = (
    "dev",
    "data_dir",
    "data_url",
    "keystore_url",
    "root_key_file",
    "root_key_env",
    "audit_retention_days",
    "audit_export_dir",
)


def deployment_options(command: F) -> F:
    """The options naming a deployment, as ``strongroom server`` takes them; the command
    receives them as one ``settings`` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _SETTING_NAMES}
        if given["data_dir"] is None:
            del given["data_dir"]
        try:
            kwargs["settings"] = Settings(**given)
        except SettingsError as exc:
            raise click.UsageError(str(exc)) from exc
        return command(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(_DEPLOYMENT_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


@contextmanager
def opened(settings: Settings, *, unlock: bool) -> Iterator[AuditTools]:
    """The deployment's audit trail, or a clear error when its databases are not there."""
    from sqlalchemy.exc import DBAPIError

    from strongroom import bootstrap

    try:
        tools = bootstrap.open_audit(settings, unlock=unlock)
    except DBAPIError as exc:
        raise click.ClickException(
            f"cannot open the deployment's databases ({type(exc).__name__}); "
            "has the server run here?"
        ) from exc
    try:
        yield tools
    except DBAPIError as exc:
        raise click.ClickException(f"database error ({type(exc).__name__})") from exc
    finally:
        tools.close()


@click.group()
def audit() -> None:
    """The audit trail: verify, export, public key, checkpoints, retention."""


@audit.command()
@deployment_options
@click.option("--region", "regions", multiple=True, help="Only this chain (repeatable).")
@click.option("--from", "from_seq", type=click.IntRange(min=1), default=None)
@click.option("--to", "to_seq", type=click.IntRange(min=1), default=None)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Check checkpoint signatures with this PEM key instead of the keystore's copy.",
)
def verify(
    settings: Settings,
    regions: tuple[str, ...],
    from_seq: int | None,
    to_seq: int | None,
    public_key: Path | None,
) -> None:
    """Recompute the hash chain, check every checkpoint and every event's lookup columns
    and resource rows against its record; exit 1 naming the first event that was edited,
    removed, inserted or reordered."""
    from strongroom.audit.verify import verify_region

    if from_seq is not None and to_seq is not None and to_seq < from_seq:
        raise click.UsageError("--to is before --from")
    failed = False
    with opened(settings, unlock=False) as tools:
        store = tools.trail.store
        key = public_key.read_bytes() if public_key is not None else tools.trail.public_key_pem
        if key is None:
            click.echo("warning: no signing key yet; checkpoint signatures not checked", err=True)
        for region in regions or tuple(store.regions()):
            result = verify_region(
                store,
                region,
                from_seq=from_seq,
                to_seq=to_seq,
                public_key_pem=key,
            )
            if result.ok:
                click.echo(f"ok {result.message}")
            else:
                failed = True
                click.echo(
                    f"FAILED {result.region}: seq {result.first_bad_seq} "
                    f"(event {result.event_id or '-'}) {result.kind}: {result.message}"
                )
    if failed:
        raise SystemExit(1)


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.UsageError(f"{option}: not an ISO 8601 time: {value!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit.command()
@deployment_options
@click.option("--tenant", required=True, help="The tenant whose events are exported.")
@click.option("--start", default=None, help="ISO 8601; events at or after it.")
@click.option("--end", default=None, help="ISO 8601; events before it.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export(settings: Settings, tenant: str, start: str | None, end: str | None, out: Path) -> None:
    """A tenant's events as a CloudTrail log file, with the chain's proof: each event's
    seq and hashes, the signed checkpoints around them, the public key, an attestation."""
    from strongroom.audit import export as exporting

    start_at, end_at = _instant(start, "--start"), _instant(end, "--end")
    with opened(settings, unlock=True) as tools:
        try:
            document, count = exporting.export_tenant(
                tools.trail.store,
                tenant,
                tools.trail.public_key_pem,
                start=start_at,
                end=end_at,
                now=datetime.now(UTC),
            )
        except exporting.ExportRefused as exc:
            raise click.ClickException(f"not exported: {exc}") from exc
    exporting.write_tenant_export(out, document)
    click.echo(f"{count} events of tenant {tenant} exported to {out}")


@audit.command("public-key")
@deployment_options
def public_key_command(settings: Settings) -> None:
    """Print the deployment's signing public key (PEM), made on first use."""
    with opened(settings, unlock=True) as tools:
        key = tools.trail.public_key_pem
    if key is None:
        raise click.ClickException("this deployment has no signing key yet; start the server once")
    click.echo(key.decode().rstrip("\n"))


@audit.command()
@deployment_options
@click.option("--region", "regions", multiple=True, help="Only this chain (repeatable).")
def checkpoint(settings: Settings, regions: tuple[str, ...]) -> None:
    """Sign each chain's current head now."""
    with opened(settings, unlock=True) as tools:
        store = tools.trail.store
        if store.signer is None:
            raise click.ClickException("the signing key cannot be unwrapped here")
        for region in regions or tuple(store.regions()):
            made = store.checkpoint(region)
            if made is None:
                click.echo(f"{region}: already checkpointed at its head")
            else:
                click.echo(f"{region}: checkpoint at seq {made.seq}")


@audit.command()
@deployment_options
def prune(settings: Settings) -> None:
    """Export and delete events older than the retention period (as the server's job does)."""
    with opened(settings, unlock=True) as tools:
        done = tools.trail.retention.prune_expired()
    if not done:
        click.echo("nothing older than the retention period")
    for item in done:
        click.echo(
            f"{item.region}: seq {item.from_seq}-{item.through_seq} exported to "
            f"{item.export_file} and pruned"
        )
