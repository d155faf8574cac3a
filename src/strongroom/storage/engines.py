"""Engines for SQLite (WAL, synchronous=FULL, serialised writers) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from strongroom.storage.schema import (
    NAMING,
    audit_lookup_events,
    audit_lookup_heads,
    audit_lookup_resources,
)

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
        engine = _sqlite_engine(parsed)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")


def _sqlite_engine(url: URL) -> Engine:
    return create_engine(
        url,
        pool_size=16,
        max_overflow=16,
        connect_args={"check_same_thread": False, "timeout": 30},
    )


def _set_pragmas(dbapi_connection: Any) -> None:
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
    # of destroyed keys should not linger either. (A database attached later inherits it.)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _set_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# -- the audit lookup tables' engine ----------------------------------------------------------
# On SQLite the lookup tables live in a file of their own beside the data file. SQLite has
# one writer per file: in the data file, copying thousands of events into the lookup
# tables held the write lock for 50-160 ms, and every audited call waited for the trail's
# next commit behind it (docs/performance.md). In their own file the copy holds only that
# file's lock, and reads the trail from a snapshot. The copies are derived data: the file
# is synchronous=NORMAL (a crash may lose the last copies, head and rows together, which
# the next copy redoes), and a lookup file that does not match the trail is emptied and
# refilled (AuditLookupIndexer.discard_if_stale).

LOOKUP_SCHEMA = "lookup"
_LOOKUP_TABLES = (audit_lookup_events, audit_lookup_resources, audit_lookup_heads)


def _lookup_ddl() -> tuple[str, ...]:
    """CREATE ... IF NOT EXISTS of the lookup tables and their indexes, in ``lookup``."""
    metadata = MetaData(naming_convention=NAMING)
    dialect = sqlite.dialect()
    statements: list[str] = []
    for table in _LOOKUP_TABLES:
        copy = table.to_metadata(metadata, schema=LOOKUP_SCHEMA)
        statements.append(str(CreateTable(copy, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(copy.indexes, key=lambda index: str(index.name)):
            statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return tuple(statements)


_LOOKUP_DDL = _lookup_ddl()
# A statement that writes nothing but opens a write transaction on the lookup file only:
# BEGIN IMMEDIATE would take the write lock of every attached file, the trail's included.
_LOCK_LOOKUP = "UPDATE lookup.audit_lookup_heads SET seq = seq WHERE 0"
_LOOKUP_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_LOOKUP_ENGINES_LOCK = threading.Lock()


def lookup_path(data_database: str) -> Path:
    """The lookup file beside an SQLite data file: ``data.db`` -> ``data.audit-lookup.db``."""
    path = Path(data_database)
    return path.with_name(f"{path.stem}.audit-lookup{path.suffix}")


def lookup_engine(engine: Engine) -> Engine:
    """The engine the audit lookup tables are read and written through: for an SQLite
    data engine, one on the same data file with the lookup file attached (made once per
    data engine); for PostgreSQL, where they are tables of the data database, ``engine``.

    On the SQLite one a read transaction begins deferred and a write transaction takes
    the lookup file's write lock only; the data file's tables are read in the same
    transaction. A write to the data file's tables does not belong on it."""
    if engine.dialect.name != "sqlite":
        return engine
    with _LOOKUP_ENGINES_LOCK:
        found = _LOOKUP_ENGINES.get(engine)
        if found is None:
            found = _create_lookup_engine(engine.url)
            _LOOKUP_ENGINES[engine] = found
        return found


def dispose(engine: Engine) -> None:
    """Close the pooled connections of ``engine`` and of its lookup engine, if it made one."""
    with _LOOKUP_ENGINES_LOCK:
        found = _LOOKUP_ENGINES.pop(engine, None)
    if found is not None:
        found.dispose()
    engine.dispose()


def _create_lookup_engine(url: URL) -> Engine:
    if url.database is None:
        raise ValueError("Strongroom needs a file-backed SQLite database")
    attached = str(lookup_path(url.database))
    engine = _sqlite_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _set_pragmas(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"ATTACH DATABASE ? AS {LOOKUP_SCHEMA}", (attached,))
        cursor.execute(f"PRAGMA {LOOKUP_SCHEMA}.journal_mode=WAL")
        cursor.execute(f"PRAGMA {LOOKUP_SCHEMA}.synchronous=NORMAL")
        cursor.close()

    # Registered after _on_connect, so it runs on the engine's first connection once attached.
    @event.listens_for(engine, "connect", once=True)
    def _create_tables(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in _LOOKUP_DDL:
            cursor.execute(statement)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql(_LOCK_LOOKUP)

    return engine


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
