"""The ``strongroom`` command: ``server`` runs the service, ``key`` manages KMS keys,
``policy`` simulates access and checks isolation, ``dev reset`` wipes a dev server."""

from __future__ import annotations

import gc
import json
import logging
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from strongroom.cli import (
    audit_commands,
    audit_lookup_commands,
    key_commands,
    policy_commands,
    tenant_certificate_commands,
    tenant_commands,
    tenant_usage_commands,
)
from strongroom.cli.alarm_options import alarm_options, settings_fields
from strongroom.cli.pricing_options import pricing_option
from strongroom.cli.quota_options import quota_options, quota_settings_fields
from strongroom.settings import (
    DEFAULT_KEY_USAGE_BUDGET,
    DEFAULT_PORT,
    DEFAULT_REGION,
    DEV_ACCOUNT_ID,
    Settings,
    SettingsError,
)
from strongroom.tenancy.tenants import DEFAULT_TENANT_ID_PATTERN

# The server's young-generation collection threshold (CPython's default: 700); see `server`.
GC_YOUNG_THRESHOLD = 100_000


def _load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """Settings from a TOML file become defaults; env variables and flags still win."""
    if value is not None:
        with value.open("rb") as handle:
            data = tomllib.load(handle)
        ctx.default_map = {
            **(ctx.default_map or {}),
            **{k.replace("-", "_"): v for k, v in data.items()},
        }
    return value


@click.group(context_settings={"auto_envvar_prefix": "STRONGROOM", "show_default": True})
def main() -> None:
    """Strongroom: AWS Secrets Manager and KMS compatible secrets server."""


@main.command()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    callback=_load_config,
    is_eager=True,
    expose_value=False,
    help="TOML file with settings (keys as the long option names).",
)
@click.option("--dev", is_flag=True, help="Development server: embedded SQLite, dev root key.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=DEFAULT_PORT, type=int)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where SQLite databases (and the dev root key) live. [default: per-user dir]",
)
@click.option("--account-id", default=DEV_ACCOUNT_ID)
@click.option("--region", default=DEFAULT_REGION, help="The home region.")
@click.option("--regions", default="", help="Comma-separated extra regions served (production).")
@click.option("--data-url", default=None, help="SQLAlchemy URL of the data database.")
@click.option("--keystore-url", default=None, help="SQLAlchemy URL of the keystore database.")
@click.option("--root-key-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--root-key-env", default=None, help="Environment variable holding the root key.")
@click.option("--root-access-key-id", default=None)
@click.option("--root-secret-access-key", default=None)
@click.option(
    "--key-usage-budget",
    default=DEFAULT_KEY_USAGE_BUDGET,
    type=click.IntRange(min=1),
    help="Encryptions under one KMS key version before a new version takes over.",
)
@click.option(
    "--tenant-tag-key",
    default="customer",
    help="The tag whose value binds a principal or resource to a tenant.",
)
@click.option(
    "--tenant-id-pattern",
    default=DEFAULT_TENANT_ID_PATTERN,
    help="Tenant ids must fully match this regular expression (and be lower-case "
    "letters, digits and inner hyphens, at most 48 characters).",
)
@click.option(
    "--audit-retention-days",
    default=365,
    type=click.IntRange(min=1),
    help="Audit events older than this are exported, then pruned.",
)
@click.option(
    "--audit-export-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where pruned audit events are exported. [default: <data dir>/audit-export]",
)
@click.option(
    "--forwarded-allow-ips",
    default="",
    help="Comma-separated addresses of reverse proxies trusted to name the client in "
    "X-Forwarded-For (the address aws:SourceIp and the audit trail see). [default: none: "
    "the TCP peer is the client, whatever the request's headers say]",
)
@alarm_options
@quota_options
@pricing_option
@click.option(
    "--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"])
)
def server(
    dev: bool,
    host: str,
    port: int,
    data_dir: Path | None,
    account_id: str,
    region: str,
    regions: str,
    data_url: str | None,
    keystore_url: str | None,
    root_key_file: Path | None,
    root_key_env: str | None,
    root_access_key_id: str | None,
    root_secret_access_key: str | None,
    key_usage_budget: int,
    tenant_tag_key: str,
    tenant_id_pattern: str,
    audit_retention_days: int,
    audit_export_dir: Path | None,
    forwarded_allow_ips: str,
    log_level: str,
    **alarm_values: Any,
) -> None:
    """Run the server. Every option can also be set as STRONGROOM_SERVER_<OPTION> in the
    environment."""
    import uvicorn  # only this command needs the HTTP server

    from strongroom import bootstrap  # keep `strongroom --help` fast
    from strongroom.server.http_protocol import CoalescingHttpToolsProtocol

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    extra: dict[str, Any] = {}
    if data_dir is not None:
        extra["data_dir"] = data_dir
    try:
        settings = Settings(
            dev=dev,
            host=host,
            port=port,
            account_id=account_id,
            region=region,
            regions=tuple(r for r in regions.split(",") if r),
            data_url=data_url,
            keystore_url=keystore_url,
            root_key_file=root_key_file,
            root_key_env=root_key_env,
            root_access_key_id=root_access_key_id,
            root_secret_access_key=root_secret_access_key,
            key_usage_budget=key_usage_budget,
            tenant_tag_key=tenant_tag_key,
            tenant_id_pattern=tenant_id_pattern,
            audit_retention_days=audit_retention_days,
            audit_export_dir=audit_export_dir,
            **settings_fields(alarm_values),
            **quota_settings_fields(alarm_values),
            pricing=alarm_values["pricing"],
            **extra,
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    application = bootstrap.build(settings)
    endpoint = f"http://{host}:{port}"
    creds = application.root_credentials
    click.echo(f"Strongroom {'DEVELOPMENT ' if dev else ''}server on {endpoint}", err=True)
    click.echo(f"  data: {settings.data_dir}   root key: {application.root_key_source}", err=True)
    if dev:
        click.echo("  Point boto3 and the AWS CLI at it:", err=True)
        click.echo(f"export AWS_ENDPOINT_URL={endpoint}")
        click.echo(f"export AWS_ACCESS_KEY_ID={creds.access_key_id}")
        click.echo(f"export AWS_SECRET_ACCESS_KEY={creds.secret_access_key}")
        click.echo(f"export AWS_DEFAULT_REGION={settings.region}")
        click.echo(
            "  python -c \"import boto3; print(boto3.client('secretsmanager')"
            ".list_secrets()['SecretList'])\"",
            err=True,
        )
    sys.stdout.flush()
    # What is built so far (service models, compiled statements, the services) lives as
    # long as the process: frozen out of the cyclic collector's sight, a full collection
    # walks only what requests left behind. Unfrozen, it walked about 150,000 objects in
    # about 100 ms, stalling every request in flight (docs/performance.md).
    gc.freeze()
    # What a server caches after it starts (10,000 tenants' roles, keys and policies: about
    # 170,000 objects) is walked by every full collection. At the default young-generation
    # threshold (700) the objects of the calls in flight are promoted at every young
    # collection and soon set off a full one: 160-340 ms each, while 10,000 tenants were
    # created under load (docs/performance.md). Collected only when 100,000 young objects
    # outlive their calls, requests' garbage goes by reference counting. At 20,000 a server
    # holding 10,000 tenants still ran a young collection of about 3 ms, collecting almost
    # nothing, every 300 or so calls at c=16 (tuples and lists that outlive their call for
    # a while, then go by reference counting): about 10 us a call (docs/performance.md).
    gc.set_threshold(GC_YOUNG_THRESHOLD)
    try:
        uvicorn.run(
            application.app,
            host=host,
            port=port,
            loop="uvloop",
            http=CoalescingHttpToolsProtocol,  # uvicorn's httptools, one write per answer
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            # uvicorn trusts 127.0.0.1's forwarding headers by default: any local client
            # could then choose its own aws:SourceIp and audit address.
            proxy_headers=bool(forwarded_allow_ips),
            forwarded_allow_ips=forwarded_allow_ips or None,
        )
    finally:
        application.close()


main.add_command(key_commands.key)
tenant_usage_commands.add_usage_commands(tenant_commands.tenant)
tenant_certificate_commands.add_certificate_commands(tenant_commands.tenant)
main.add_command(tenant_commands.tenant)
main.add_command(policy_commands.policy)
audit_commands.audit.add_command(audit_lookup_commands.lookup)
audit_commands.audit.add_command(audit_lookup_commands.tail)
main.add_command(audit_commands.audit)


@main.group()
def dev() -> None:
    """Commands for development servers."""


@dev.command("reset")
@click.option("--endpoint", required=True, envvar="AWS_ENDPOINT_URL", help="The dev server URL.")
@click.option("--region", default=DEFAULT_REGION, envvar="AWS_DEFAULT_REGION")
def dev_reset(endpoint: str, region: str) -> None:
    """Delete every secret and key of a dev server (signed as root with AWS_* credentials)."""
    from strongroom.cli import signed_call

    status, body = signed_call.post(
        endpoint, region, "strongroom", "Strongroom_20261101.ResetDevState", b"{}"
    )
    if status != 200:
        detail = json.loads(body or b"{}")
        raise click.ClickException(
            f"reset failed ({status}): {detail.get('__type')}: {detail.get('message')}"
        )
    click.echo("dev server reset: all secrets and keys deleted")
