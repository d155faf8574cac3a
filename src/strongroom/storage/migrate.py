"""Apply Alembic migrations to the data and keystore databases (run on every start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from strongroom.storage import engines

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config(database: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS / database))
    return config


def upgrade(engine: Engine, database: str) -> None:
    """Bring ``database`` ("data" or "keystore") on ``engine`` to the newest revision."""
    if database not in {"data", "keystore"}:
        raise ValueError(database)
    config = _config(database)
    with engine.connect() as connection:
        # A write transaction from its first statement (BEGIN IMMEDIATE on SQLite): one
        # begun as a read, which reads the schema version first, fails at once if another
        # process commits before its first change, where this waits for the write lock.
        connection.execution_options(**{engines.WRITE_OPTION: True})
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
