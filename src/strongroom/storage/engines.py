"""Engines for SQLite (WAL, synchronous=FULL, serialised writers) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

WRITE_OPTION = "strongroom_write"

CommitHook = Callable[[Connection], Callable[[], None] | None]
"""Called on every write transaction of its engine right before the commit, on the open
connection; what it writes commits with the transaction (if it raises, nothing does). It
may return a callback to run once the commit succeeded."""

_COMMIT_HOOKS: weakref.WeakKeyDictionary[Engine, CommitHook] = weakref.WeakKeyDictionary()


def create(url: str) -> Engine:
    """An engine with the durability settings Strongroom relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("Strongroom needs a file-backed SQLite database")
        engine = create_engine(
            url,
            pool_size=16,
            max_overflow=16,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can take the write
        # lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock later.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer; an acknowledged write survives a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Freed pages are zeroed; nothing secret is stored in the clear, but old ciphertexts
        # of destroyed keys should not linger either.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def set_commit_hook(engine: Engine, hook: CommitHook | None) -> None:
    """Install (or with None remove) the engine's commit hook: the data engine's writes
    the call's audit event with the call's change."""
    if hook is None:
        _COMMIT_HOOKS.pop(engine, None)
    else:
        _COMMIT_HOOKS[engine] = hook


# Write transactions open in this thread (or task), by engine: a transaction begun inside
# one joins it, so a service built from other services' operations (onboarding a tenant)
# commits all of them at once or none.
_OPEN: ContextVar[Mapping[Engine, Connection]] = ContextVar("strongroom_open_transactions")


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises. Inside a
    ``unit_of_work`` on the same engine it is part of that one instead."""
    joined = _OPEN.get({}).get(engine)
    if joined is not None:
        yield joined
        return
    hook = _COMMIT_HOOKS.get(engine) if write else None
    after_commit: Callable[[], None] | None = None
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: write})
        with connection.begin():
            yield connection
            if hook is not None:
                after_commit = hook(connection)
    if after_commit is not None:
        after_commit()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[None]:
    """One write transaction that every ``transaction`` on ``engine`` begun in this thread
    until the block ends joins: all of it commits (with its audit event) or none does."""
    if engine in _OPEN.get({}):
        raise RuntimeError("units of work do not nest")
    with transaction(engine, write=True) as connection:
        token = _OPEN.set({**_OPEN.get({}), engine: connection})
        try:
            yield
        finally:
            _OPEN.reset(token)
