"""Per-test PostgreSQL databases; a missing server skips, or fails when CI requires it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

ADMIN_URL = os.environ.get(
    "STRONGROOM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_VARIABLE = "STRONGROOM_REQUIRE_POSTGRES"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE_VARIABLE}=1) but {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


def create_database() -> tuple[str, str]:
    """(url of a new empty database, its name)."""
    name = f"strongroom_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_url_or_skip() -> Iterator[str]:
    try:
        url, name = create_database()
    except OperationalError as exc:
        _unavailable(f"cannot connect to {ADMIN_URL} ({type(exc).__name__})")
        return
    try:
        yield url
    finally:
        drop_database(name)
