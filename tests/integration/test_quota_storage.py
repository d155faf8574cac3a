"""What quotas keep in the data database, on SQLite and PostgreSQL: server heartbeats (the
live-process count that splits tenant rates), tenants' secret, key and version counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from strongroom.clock import FrozenClock
from strongroom.kms.ports import KmsKeyRecord
from strongroom.secretsmanager.ports import NewVersion
from strongroom.storage import engines, migrate
from strongroom.storage.instance_repository import SqlServerInstances
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.schema import server_instances
from strongroom.storage.secret_repository import SqlSecretStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def data_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    gate = None
    if request.param == "postgres":
        gate = postgres_url_or_skip("data")
        url = next(gate)
    else:
        url = sqlite_at_head(tmp_path / "data.db", "data")
    engine = engines.create(url)
    try:
        migrate.upgrade(engine, "data")
        yield engine
    finally:
        engine.dispose()
        if gate is not None:
            next(gate, None)


def test_live_processes_are_those_that_beat_recently(data_engine: Engine) -> None:
    clock = FrozenClock(NOW)
    first = SqlServerInstances(data_engine, clock)
    second = SqlServerInstances(data_engine, clock)
    assert first.instance_id != second.instance_id
    assert first.heartbeat() == 1
    assert second.heartbeat() == 2
    assert first.heartbeat() == 2
    # The second stops beating: after 6 s it no longer counts.
    clock.advance(timedelta(seconds=5))
    assert first.heartbeat() == 2
    clock.advance(timedelta(seconds=1, microseconds=1))
    assert first.heartbeat() == 1
    # It comes back: one beat and it counts again.
    assert second.heartbeat() == 2


def test_a_process_that_leaves_stops_counting_at_once(data_engine: Engine) -> None:
    clock = FrozenClock(NOW)
    first = SqlServerInstances(data_engine, clock)
    second = SqlServerInstances(data_engine, clock)
    first.heartbeat()
    second.heartbeat()
    second.leave()
    assert first.heartbeat() == 1
    second.leave()  # leaving twice is harmless


def test_long_gone_processes_are_forgotten(data_engine: Engine) -> None:
    clock = FrozenClock(NOW)
    gone = SqlServerInstances(data_engine, clock)
    gone.heartbeat()
    clock.advance(timedelta(minutes=6))
    alive = SqlServerInstances(data_engine, clock)
    assert alive.heartbeat() == 1
    with data_engine.connect() as connection:
        ids = connection.execute(select(server_instances.c.instance_id)).scalars().all()
    assert ids == [alive.instance_id]


def test_a_heartbeat_keeps_the_start_time(data_engine: Engine) -> None:
    clock = FrozenClock(NOW)
    instance = SqlServerInstances(data_engine, clock, instance_id="one")
    instance.heartbeat()
    clock.advance(timedelta(seconds=2))
    instance.heartbeat()
    with data_engine.connect() as connection:
        row = connection.execute(select(server_instances)).one()
    assert (row.instance_id, row.started_at, row.heartbeat_at) == (
        "one",
        NOW,
        NOW + timedelta(seconds=2),
    )


def test_tenant_secret_and_version_counts(data_engine: Engine) -> None:
    store = SqlSecretStore(data_engine)
    with store.transaction(write=True) as tx:
        ids = []
        for n, tenant in enumerate(("cust-1", "cust-1", "cust-12", None)):
            secret = tx.insert_secret(
                arn=f"arn:aws:secretsmanager:us-east-1:123456789012:secret:s{n}-AbCdEf",
                name=f"s{n}",
                region="us-east-1",
                created_at=NOW,
                description=None,
                kms_key_id=None,
                tenant=tenant,
                tags=(),
            )
            ids.append(secret.id)
        for v in range(3):
            tx.insert_version(
                ids[0],
                NewVersion(
                    version_id=f"v{v}",
                    created_at=NOW,
                    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
                    value_kind="string",
                    encrypted_data_key=b"k",
                    encrypted_value=b"v",
                ),
            )
        # Pending deletion still counts.
        pending = tx.secret_by_name("us-east-1", "s1")
        assert pending is not None
        tx.bump(pending, changed_at=NOW, deleted_at=NOW)
    with store.transaction(write=False) as tx:
        assert tx.tenant_secret_count("cust-1") == 2
        assert tx.tenant_secret_count("cust-12") == 1
        assert tx.tenant_secret_count("cust-2") == 0
        assert tx.version_count(ids[0]) == 3
        assert tx.version_count(ids[1]) == 0


def _key(key_id: str) -> KmsKeyRecord:
    return KmsKeyRecord(
        key_id=key_id,
        arn=f"arn:aws:kms:us-east-1:123456789012:key/{key_id}",
        region="us-east-1",
        created_at=NOW,
        key_manager="CUSTOMER",
        key_state="Enabled",
        description="",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        origin="AWS_KMS",
    )


def test_tenant_key_count_matches_the_tag_key_in_any_case(data_engine: Engine) -> None:
    store = SqlKeyDirectoryStore(data_engine)
    store.insert_key(_key("00000000-0000-4000-8000-000000000001"), [("customer", "cust-1")])
    store.insert_key(_key("00000000-0000-4000-8000-000000000002"), [("Customer", "cust-1")])
    store.insert_key(
        _key("00000000-0000-4000-8000-000000000003"),
        [("customer", "cust-1"), ("CUSTOMER", "cust-1")],
    )
    store.insert_key(_key("00000000-0000-4000-8000-000000000004"), [("customer", "cust-12")])
    store.insert_key(_key("00000000-0000-4000-8000-000000000005"), [("owner", "cust-1")])
    assert store.tenant_key_count("customer", "cust-1") == 3
    assert store.tenant_key_count("customer", "cust-12") == 1
    assert store.tenant_key_count("customer", "cust-2") == 0
    assert store.tenant_key_count("owner", "cust-1") == 1
