"""In-process dev servers for store tests: their settings on either engine, a root caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strongroom.context import CallContext
from strongroom.identity.credentials import root_principal
from strongroom.ids import AccountId, Partition, Region
from strongroom.settings import Settings
from tests.support.postgres import create_database, drop_database, postgres_url_or_skip

ACCOUNT = "123456789012"


def root_context(region: str = "us-east-1") -> CallContext:
    """The account root calling, as the edge would describe it."""
    return CallContext(
        principal=root_principal("aws", ACCOUNT, "AKIATEST"),
        account_id=AccountId(ACCOUNT),
        region=Region(region),
        partition=Partition("aws"),
        request_id=str(uuid.uuid4()),
        source_ip="127.0.0.1",
        user_agent="test",
    )


@contextmanager
def dev_settings(engine: str, data_dir: Path) -> Iterator[Settings]:
    """Dev-server settings on embedded SQLite, or (``engine`` "postgres") on two fresh
    PostgreSQL databases, data and keystore, dropped afterwards. Without PostgreSQL this
    skips, or fails when CI requires it. The reapers are left to the tests."""
    if engine != "postgres":
        yield Settings(dev=True, data_dir=data_dir, reaper_interval_seconds=3600)
        return
    # The data database comes through the skip-or-fail gate; the keystore is a second one.
    gate = postgres_url_or_skip("data")
    data_url = next(gate)
    try:
        keystore_url, keystore_name = create_database("keystore")
        try:
            yield Settings(
                dev=True,
                data_dir=data_dir,
                reaper_interval_seconds=3600,
                data_url=data_url,
                keystore_url=keystore_url,
            )
        finally:
            drop_database(keystore_name)
    finally:
        next(gate, None)
