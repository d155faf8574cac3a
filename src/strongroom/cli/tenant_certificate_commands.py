"""``strongroom tenant certificate`` and ``verify-certificate``: fetch a shredded tenant's
destruction certificate, and check one against the deployment's public key."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import click

from strongroom.cli.tenant_commands import call, endpoint_option, region_option
from strongroom.settings import DEFAULT_REGION, default_data_dir
from strongroom.tenancy.certificates import InvalidCertificate, verify


def add_certificate_commands(group: click.Group) -> None:
    """Add ``certificate`` and ``verify-certificate`` to the ``tenant`` group."""
    group.add_command(certificate)
    group.add_command(verify_certificate)


@click.command("certificate")
@endpoint_option
@region_option
@click.argument("tenant_id")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write it to this file. [default: standard output]",
)
def certificate(endpoint: str, region: str, tenant_id: str, out: Path | None) -> None:
    """Fetch the signed destruction certificate of a shredded tenant."""
    text = call(endpoint, region, "get_destruction_certificate", TenantId=tenant_id)["Certificate"]
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"destruction certificate of {tenant_id} written to {out}", err=True)


def _load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """The server's TOML settings become defaults (only the ones naming the keystore apply)."""
    if value is not None:
        with value.open("rb") as handle:
            data = tomllib.load(handle)
        ctx.default_map = {
            **(ctx.default_map or {}),
            **{k.replace("-", "_"): v for k, v in data.items()},
        }
    return value


@click.command("verify-certificate")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The deployment's public key (PEM), as `strongroom audit public-key` prints it.",
)
@click.option(
    "--endpoint",
    default=None,
    help="Ask this server for its public key (GetDeploymentPublicKey, signed with AWS_*).",
)
@click.option("--region", default=DEFAULT_REGION, envvar="AWS_DEFAULT_REGION")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    callback=_load_config,
    is_eager=True,
    expose_value=False,
    help="The server's TOML settings file (for a local deployment's keystore).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A local deployment's data directory. [default: per-user dir]",
)
@click.option("--keystore-url", default=None, help="SQLAlchemy URL of a local keystore.")
def verify_certificate(
    file: Path,
    public_key: Path | None,
    endpoint: str | None,
    region: str,
    data_dir: Path | None,
    keystore_url: str | None,
) -> None:
    """Check a destruction certificate's signature and form; exit 0 with a summary if it is
    valid, 1 with the reason if not. The public key comes from --public-key, else from the
    server at --endpoint, else from the local deployment's keystore."""
    if public_key is not None:
        key, source = public_key.read_bytes(), str(public_key)
    elif endpoint is not None:
        pem = call(endpoint, region, "get_deployment_public_key")["PublicKeyPem"]
        key, source = pem.encode("ascii"), endpoint
    else:
        key, source = _local_public_key(data_dir, keystore_url)
    try:
        verified = verify(file.read_bytes(), key)
    except InvalidCertificate as exc:
        raise click.ClickException(f"INVALID certificate {file}: {exc}") from exc
    facts = verified.facts
    released = facts.key_versions or facts.partition_ids
    what = "key versions" if facts.key_versions else "partitions"
    click.echo(f"VALID destruction certificate {verified.certificate_id}")
    for label, value in (
        ("tenant", f"{facts.tenant_id} ({facts.display_name})"),
        ("account / region", f"{verified.account_id} / {verified.region}"),
        ("key", f"{facts.key_mode.lower()} {facts.key_arn}"),
        (f"destroyed {what}", ", ".join(str(v) for v in released) or "none"),
        ("secret versions protected", str(facts.secret_versions)),
        ("ciphertexts protected", str(facts.ciphertexts)),
        ("offboarding requested", _when(facts.offboarded_at)),
        ("destruction scheduled", _when(facts.scheduled_for)),
        ("destroyed", _when(facts.destroyed_at)),
        ("issued", _when(verified.issued_at)),
        (
            "audit chain position",
            f"{verified.chain_position.region} seq {verified.chain_position.seq} "
            f"hash {verified.chain_position.hash.hex()}",
        ),
        ("signing key", f"{verified.public_key_fingerprint.hex()} (from {source})"),
    ):
        click.echo(f"  {label}: {value}")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _local_public_key(data_dir: Path | None, keystore_url: str | None) -> tuple[bytes, str]:
    """The public key as the local deployment's keystore holds it (no root key needed)."""
    from sqlalchemy.exc import DBAPIError  # only this path opens a database

    from strongroom.audit.signing_key import public_key_pem
    from strongroom.storage import engines
    from strongroom.storage.signing_key_repository import SqlSigningKeyStore

    if keystore_url is None:
        # Where Settings puts the embedded keystore.
        keystore = (data_dir or default_data_dir()) / "keystore.db"
        if not keystore.exists():
            raise click.ClickException(
                f"no deployment keystore at {keystore}; give --public-key, --endpoint, "
                "--data-dir or --config"
            )
        keystore_url = f"sqlite+pysqlite:///{keystore}"
    engine = engines.create(keystore_url)
    try:
        key = public_key_pem(SqlSigningKeyStore(engine))
    except DBAPIError as exc:
        raise click.ClickException(
            f"cannot read the deployment's keystore ({type(exc).__name__})"
        ) from exc
    finally:
        engine.dispose()
    if key is None:
        raise click.ClickException("this deployment has no signing key yet")
    return key, "the local keystore"
