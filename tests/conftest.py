"""Shared fixtures: a real Strongroom server process, real boto3 clients, PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.support.postgres import postgres_url_or_skip
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One dev server for the whole session, on a free loopback port."""
    running = start_server(tmp_path_factory.mktemp("server-data"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sm(server: RunningServer) -> boto3.client:  # type: ignore[valid-type]
    return server.client("secretsmanager")


@pytest.fixture
def kms(server: RunningServer) -> boto3.client:  # type: ignore[valid-type]
    return server.client("kms")


@pytest.fixture
def unique() -> str:
    """A fresh name fragment, so tests sharing the session server never collide."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skips (or fails in CI) without one."""
    yield from postgres_url_or_skip()


@pytest.fixture
def aws_env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    """Environment for child processes (AWS CLI, scripts) pointing at the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return env
