"""``strongroom tenant …``: tenant onboarding, offboarding and sharing, via the admin API."""

from __future__ import annotations

import json
from typing import Any

import click

from strongroom.cli.service_calls import client, service_errors
from strongroom.settings import DEFAULT_REGION


def call(endpoint: str, region: str, operation: str, **parameters: Any) -> dict[str, Any]:
    """One admin API call, signed with the AWS_* credentials."""
    with service_errors():
        response: dict[str, Any] = getattr(client("strongroom", endpoint, region), operation)(
            **parameters
        )
    response.pop("ResponseMetadata", None)
    return response


def _print(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


endpoint_option = click.option(
    "--endpoint", required=True, envvar="AWS_ENDPOINT_URL", help="The Strongroom server URL."
)
region_option = click.option("--region", default=DEFAULT_REGION, envvar="AWS_DEFAULT_REGION")


@click.group("tenant")
def tenant() -> None:
    """Create, describe, offboard and share with tenants (signed with the AWS_* credentials)."""


@tenant.command("create")
@endpoint_option
@region_option
@click.argument("tenant_id")
@click.option("--display-name", default=None)
@click.option(
    "--key-mode",
    type=click.Choice(["dedicated", "shared"]),
    default="dedicated",
    help="A KMS key of its own, or a partition of a shared key.",
)
@click.option(
    "--shared-key", default=None, help="The shared key (default alias/strongroom/tenants)."
)
@click.option(
    "--policy",
    "isolation_policy",
    type=click.Choice(["arn-wildcard", "abac"]),
    default="arn-wildcard",
    help="The isolation policy's form: /customer/{id}/* ARNs, or the customer tag match.",
)
@click.option("--access-key/--no-access-key", default=False, help="Also issue an access key.")
@click.option("--tier", default=None)
def create(
    endpoint: str,
    region: str,
    tenant_id: str,
    display_name: str | None,
    key_mode: str,
    shared_key: str | None,
    isolation_policy: str,
    access_key: bool,
    tier: str | None,
) -> None:
    """Create a tenant in one transaction (idempotent); print it (and its access key, once)."""
    parameters: dict[str, Any] = {
        "TenantId": tenant_id,
        "KeyMode": key_mode.upper(),
        "IsolationPolicy": isolation_policy.upper().replace("-", "_"),
        "CreateAccessKey": access_key,
    }
    for name, value in (("DisplayName", display_name), ("SharedKeyId", shared_key), ("Tier", tier)):
        if value is not None:
            parameters[name] = value
    _print(call(endpoint, region, "create_tenant", **parameters))


@tenant.command("describe")
@endpoint_option
@region_option
@click.argument("tenant_id")
def describe(endpoint: str, region: str, tenant_id: str) -> None:
    """Print a tenant."""
    _print(call(endpoint, region, "describe_tenant", TenantId=tenant_id)["Tenant"])


@tenant.command("list")
@endpoint_option
@region_option
@click.option("--status", type=click.Choice(["active", "suspended", "offboarding", "shredded"]))
def list_tenants(endpoint: str, region: str, status: str | None) -> None:
    """One line per tenant: id, status, key mode, key, display name."""
    token: str | None = None
    while True:
        parameters: dict[str, Any] = {}
        if status is not None:
            parameters["Status"] = status.upper()
        if token is not None:
            parameters["NextToken"] = token
        page = call(endpoint, region, "list_tenants", **parameters)
        for item in page.get("Tenants", []):
            click.echo(
                f"{item['TenantId']}\t{item['Status'].lower()}\t{item['KeyMode'].lower()}\t"
                f"{item['KeyId']}\t{item.get('DisplayName', '')}"
            )
        token = page.get("NextToken")
        if not token:
            break


def _status_command(name: str, operation: str, summary: str) -> None:
    @tenant.command(name, help=summary)
    @endpoint_option
    @region_option
    @click.argument("tenant_id")
    def command(endpoint: str, region: str, tenant_id: str) -> None:
        result = call(endpoint, region, operation, TenantId=tenant_id)["Tenant"]
        click.echo(f"{result['TenantId']}: {result['Status'].lower()}")


_status_command("suspend", "suspend_tenant", "Suspend a tenant: all its principals are denied.")
_status_command("resume", "resume_tenant", "Resume a suspended tenant.")
_status_command(
    "restore", "restore_tenant", "Cancel an offboarding before its window ends (tenant active)."
)


@tenant.command("offboard")
@endpoint_option
@region_option
@click.argument("tenant_id")
@click.option("--pending-days", default=7, type=click.IntRange(1, 30), show_default=True)
def offboard(endpoint: str, region: str, tenant_id: str, pending_days: int) -> None:
    """Suspend, revoke credentials, sessions and grants, export the audit trail, and schedule
    the destruction of the tenant's key or partition after the pending window."""
    result = call(
        endpoint, region, "offboard_tenant", TenantId=tenant_id, PendingWindowInDays=pending_days
    )["Tenant"]
    click.echo(
        f"{tenant_id}: offboarding; material destroyed at {result.get('DestructionDate')}; "
        f"audit trail exported to {result.get('AuditExportPath')}"
    )


@tenant.command("create-shared-key")
@endpoint_option
@region_option
@click.option("--partition-key", default="tenant_id", show_default=True)
@click.option("--alias", default=None, help="Also create this alias (alias/...).")
@click.option("--description", default=None)
def create_shared_key(
    endpoint: str, region: str, partition_key: str, alias: str | None, description: str | None
) -> None:
    """Create a KMS key shared by tenants, partitioned by an encryption-context key."""
    parameters: dict[str, Any] = {"PartitionKeyName": partition_key}
    if alias is not None:
        parameters["AliasName"] = alias
    if description is not None:
        parameters["Description"] = description
    _print(call(endpoint, region, "create_shared_key", **parameters))


@tenant.command("share")
@endpoint_option
@region_option
@click.argument("pattern")
@click.option("--with", "tenant_id", required=True, help="The tenant the secrets are shared with.")
@click.option(
    "--actions",
    type=click.Choice(["read", "describe"]),
    multiple=True,
    help="What the share allows (default read).",
)
def share(
    endpoint: str, region: str, pattern: str, tenant_id: str, actions: tuple[str, ...]
) -> None:
    """Let a tenant through the tenant guard to /shared/ secrets matching PATTERN."""
    parameters: dict[str, Any] = {"TenantId": tenant_id, "SecretPattern": pattern}
    if actions:
        parameters["Actions"] = [action.upper() for action in actions]
    _print(call(endpoint, region, "share_secrets", **parameters)["Share"])


@tenant.command("unshare")
@endpoint_option
@region_option
@click.argument("pattern")
@click.option("--with", "tenant_id", required=True)
def unshare(endpoint: str, region: str, pattern: str, tenant_id: str) -> None:
    """Remove a share; the tenant loses access at once."""
    call(endpoint, region, "unshare_secrets", TenantId=tenant_id, SecretPattern=pattern)
    click.echo(f"{pattern} no longer shared with {tenant_id}")


@tenant.command("shares")
@endpoint_option
@region_option
@click.option("--tenant", "tenant_id", default=None)
def shares(endpoint: str, region: str, tenant_id: str | None) -> None:
    """One line per share: tenant, pattern, actions."""
    token: str | None = None
    while True:
        parameters: dict[str, Any] = {}
        if tenant_id is not None:
            parameters["TenantId"] = tenant_id
        if token is not None:
            parameters["NextToken"] = token
        page = call(endpoint, region, "list_shares", **parameters)
        for item in page.get("Shares", []):
            actions = ",".join(a.lower() for a in item.get("Actions", []))
            click.echo(f"{item['TenantId']}\t{item['SecretPattern']}\t{actions}")
        token = page.get("NextToken")
        if not token:
            break
