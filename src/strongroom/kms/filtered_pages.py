"""Keyset pages of only the rows a caller may see, with markers that stay valid."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Rows looked at per call at most: a caller who may see few keys among many gets short
# (even empty) pages with a marker, rather than one call that scans the whole table.
MAX_ROWS_SCANNED = 1_000


def visible_page(
    fetch: Callable[[str | None, int], list[T]],
    position: Callable[[T], str],
    visible: Callable[[T], bool],
    after: str | None,
    limit: int,
    scan_limit: int = MAX_ROWS_SCANNED,
) -> tuple[list[T], str | None]:
    """(page, position to continue after, or None at the end).

    ``fetch(after, n)`` returns up to ``n`` rows ordered by ``position``, after ``after``.
    The page holds at most ``limit`` visible rows; it is shorter when ``scan_limit`` rows
    were looked at first. A continuation is returned only when rows remain to look at.
    """
    page: list[T] = []
    cursor = after
    scanned = 0
    batch = max(limit + 1, 1)
    while True:
        rows = fetch(cursor, batch)
        for row in rows:
            if len(page) == limit:
                return page, position(page[-1])
            if scanned >= max(scan_limit, limit):
                return page, cursor
            scanned += 1
            cursor = position(row)
            if visible(row):
                page.append(row)
        if len(rows) < batch:
            return page, None
