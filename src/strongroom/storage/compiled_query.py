"""Hot-path queries: a Core statement compiled once per engine, run on a raw DBAPI cursor.

SQLAlchemy builds, caches and post-processes every execution; for the two or three
statements on the GetSecretValue path that costs ~10x the query itself (see
docs/performance.md). The statements are still written with Core against the one
schema, and compiled by the engine's own dialect, so both engines get correct SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import Executable


class CompiledQuery:
    """A statement with bind parameters, compiled for one dialect."""

    def __init__(self, statement: Executable, engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)  # type: ignore[attr-defined]
        self._sql: str = compiled.string
        self._positional: bool = engine.dialect.positional
        self._order: tuple[str, ...] = tuple(compiled.positiontup or ())

    def run(self, cursor: Any, params: Mapping[str, object]) -> list[tuple[Any, ...]]:
        if self._positional:
            cursor.execute(self._sql, tuple(params[name] for name in self._order))
        else:
            cursor.execute(self._sql, dict(params))
        return list(cursor.fetchall())
