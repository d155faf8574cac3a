"""``strongroom key …``: the common KMS key tasks, as calls to a running server's KMS API."""

from __future__ import annotations

import json
from typing import Any

import click

from strongroom.cli.service_calls import client, service_errors
from strongroom.settings import DEFAULT_REGION


def _call(endpoint: str, region: str, operation: str, **parameters: Any) -> dict[str, Any]:
    with service_errors():
        response: dict[str, Any] = getattr(client("kms", endpoint, region), operation)(**parameters)
    response.pop("ResponseMetadata", None)
    return response


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


_endpoint = click.option(
    "--endpoint", required=True, envvar="AWS_ENDPOINT_URL", help="The Strongroom server URL."
)
_region = click.option("--region", default=DEFAULT_REGION, envvar="AWS_DEFAULT_REGION")


@click.group("key")
def key() -> None:
    """Create, list, rotate and delete KMS keys (signed with the AWS_* credentials)."""


@key.command("create")
@_endpoint
@_region
@click.option("--description", default="")
@click.option("--key-spec", default="SYMMETRIC_DEFAULT", help="e.g. RSA_2048, HMAC_256.")
@click.option("--key-usage", default=None, help="ENCRYPT_DECRYPT (default), SIGN_VERIFY, ...")
@click.option("--alias", default=None, help="Also create this alias (alias/...).")
@click.option("--rotate/--no-rotate", default=False, help="Enable automatic rotation.")
@click.option("--rotation-period-days", default=365, type=click.IntRange(90, 2560))
def create(
    endpoint: str,
    region: str,
    description: str,
    key_spec: str,
    key_usage: str | None,
    alias: str | None,
    rotate: bool,
    rotation_period_days: int,
) -> None:
    """Create a key (optionally with an alias and automatic rotation); print its metadata."""
    parameters: dict[str, Any] = {"Description": description, "KeySpec": key_spec}
    if key_usage is not None:
        parameters["KeyUsage"] = key_usage
    metadata = _call(endpoint, region, "create_key", **parameters)["KeyMetadata"]
    if alias is not None:
        _call(endpoint, region, "create_alias", AliasName=alias, TargetKeyId=metadata["KeyId"])
    if rotate:
        _call(
            endpoint,
            region,
            "enable_key_rotation",
            KeyId=metadata["KeyId"],
            RotationPeriodInDays=rotation_period_days,
        )
    _print(metadata)


@key.command("list")
@_endpoint
@_region
def list_keys(endpoint: str, region: str) -> None:
    """One line per key: id, state, spec, usage, aliases, description."""
    aliases: dict[str, list[str]] = {}
    marker: str | None = None
    while True:
        page = _call(endpoint, region, "list_aliases", **({"Marker": marker} if marker else {}))
        for entry in page.get("Aliases", []):
            if "TargetKeyId" in entry:
                aliases.setdefault(entry["TargetKeyId"], []).append(entry["AliasName"])
        marker = page.get("NextMarker")
        if not page.get("Truncated"):
            break
    marker = None
    while True:
        page = _call(endpoint, region, "list_keys", **({"Marker": marker} if marker else {}))
        for entry in page.get("Keys", []):
            meta = _call(endpoint, region, "describe_key", KeyId=entry["KeyId"])["KeyMetadata"]
            click.echo(
                "\t".join(
                    (
                        meta["KeyId"],
                        meta["KeyState"],
                        meta["KeySpec"],
                        meta["KeyUsage"],
                        ",".join(aliases.get(meta["KeyId"], [])) or "-",
                        meta.get("Description", ""),
                    )
                )
            )
        marker = page.get("NextMarker")
        if not page.get("Truncated"):
            break


@key.command("rotate")
@_endpoint
@_region
@click.argument("key_id")
def rotate_key(endpoint: str, region: str, key_id: str) -> None:
    """Rotate a symmetric key now; old ciphertexts keep decrypting."""
    _call(endpoint, region, "rotate_key_on_demand", KeyId=key_id)
    rotations = _call(endpoint, region, "list_key_rotations", KeyId=key_id)["Rotations"]
    _print({"KeyId": key_id, "Rotations": len(rotations), "Latest": rotations[-1]})


@key.command("schedule-deletion")
@_endpoint
@_region
@click.argument("key_id")
@click.option("--pending-days", default=30, type=click.IntRange(7, 30))
def schedule_deletion(endpoint: str, region: str, key_id: str, pending_days: int) -> None:
    """Schedule the key's destruction; `cancel-deletion` undoes it until the date."""
    _print(
        _call(
            endpoint,
            region,
            "schedule_key_deletion",
            KeyId=key_id,
            PendingWindowInDays=pending_days,
        )
    )


@key.command("cancel-deletion")
@_endpoint
@_region
@click.argument("key_id")
def cancel_deletion(endpoint: str, region: str, key_id: str) -> None:
    """Cancel a scheduled deletion (the key is left Disabled, as in AWS KMS)."""
    _print(_call(endpoint, region, "cancel_key_deletion", KeyId=key_id))
