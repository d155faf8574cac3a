"""Per-test PostgreSQL databases; a missing server skips, or fails when CI requires it."""

from __future__ import annotations

import atexit
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


def create_database(schema: str | None = None) -> tuple[str, str]:
    """(url of a new database, its name): empty, or with ``schema`` ("data" or "keystore")
    at the newest revision, cloned from a template this process migrated once (as the
    fixture's own ``migrate.upgrade`` would leave it; that call then finds nothing to do)."""
    name = f"strongroom_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{_template(schema)}"' if schema is not None else ""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    finally:
        admin.dispose()
    return _url(name), name


def _url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


# schema -> name of this process's template database, migrated to the newest revision.
# One per process: nobody else connects to it while it is cloned (PostgreSQL refuses to
# copy a database others are connected to). Dropped when the process exits.
_TEMPLATES: dict[str, str] = {}


def _template(schema: str) -> str:
    if schema not in {"data", "keystore"}:
        raise ValueError(schema)
    if schema not in _TEMPLATES:
        from strongroom.storage import engines, migrate

        url, name = create_database()
        atexit.register(drop_database, name)
        engine = engines.create(url)
        try:
            migrate.upgrade(engine, schema)
        finally:
            engine.dispose()
        _TEMPLATES[schema] = name
    return _TEMPLATES[schema]


def drop_database(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_url_or_skip(schema: str | None = None) -> Iterator[str]:
    """A new database (see ``create_database``), dropped afterwards; skips, or fails when
    CI requires PostgreSQL, without a server."""
    try:
        url, name = create_database(schema)
    except OperationalError as exc:
        _unavailable(f"cannot connect to {ADMIN_URL} ({type(exc).__name__})")
        return
    try:
        yield url
    finally:
        drop_database(name)
