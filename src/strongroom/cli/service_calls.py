"""botocore clients for the CLI's API commands, and their errors as click errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click


def client(service: str, endpoint: str, region: str) -> Any:
    """A botocore client (boto3 is only a test dependency) signed with the AWS_* credentials."""
    import botocore.session
    from botocore.config import Config

    from strongroom.client import service_model

    session = botocore.session.get_session()
    service_model.register(session)  # the admin API ("strongroom") ships with the package
    return session.create_client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"mode": "standard"}),
    )


@contextmanager
def service_errors() -> Iterator[None]:
    """An AWS error answered by the server, or a client-side failure, ends the command
    with its code and message instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise click.ClickException(f"{error.get('Code')}: {error.get('Message')}") from exc
    except BotoCoreError as exc:
        raise click.ClickException(str(exc)) from exc
