"""Usage metering on SQLite and PostgreSQL: the roll-up from the audit trail (exactly once,
crash-safe, batched, before retention prunes) and the daily stored-secret and key snapshots."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, update

from strongroom.audit.events import AuditEvent, UserIdentity
from strongroom.audit.retention import Retention
from strongroom.clock import FrozenClock
from strongroom.storage import engines, migrate, usage_repository
from strongroom.storage.audit_repository import SqlAuditStore
from strongroom.storage.certificate_repository import SqlCertificateStore
from strongroom.storage.schema import (
    kms_key_tags,
    kms_keys,
    secrets,
    tenant_usage_daily,
    tenant_usage_watermarks,
)
from strongroom.storage.tenant_repository import SqlTenantStore
from strongroom.storage.usage_repository import SqlUsageStore
from strongroom.tenancy.certificate_service import StoredCertificate
from strongroom.tenancy.metering import KMS_SOURCE, SECRETS_MANAGER_SOURCE, DailyCalls
from strongroom.tenancy.tenants import ACTIVE, DEDICATED, SHARED, TenantRecord
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
T0 = datetime(2026, 11, 3, 22, 0, tzinfo=UTC)
DAY1, DAY2, DAY3, DAY4 = (date(2026, 11, d) for d in (3, 4, 5, 6))
SM, KMS = SECRETS_MANAGER_SOURCE, KMS_SOURCE
ACCOUNT = "123456789012"
Counts = tuple[int, int]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([sqlite_at_head(tmp_path / "data.db", "data")])
    else:
        urls = postgres_url_or_skip("data")
    for url in urls:
        created = engines.create(url)
        migrate.upgrade(created, "data")
        try:
            yield created
        finally:
            engines.set_commit_hook(created, None)
            created.dispose()


@pytest.fixture
def trail(engine: Engine) -> SqlAuditStore:
    return SqlAuditStore(engine)


@pytest.fixture
def usage(engine: Engine) -> SqlUsageStore:
    return SqlUsageStore(engine, tenant_tag_key="customer")


def event(
    name: str = "GetSecretValue",
    *,
    tenant: str | None = "cust-1",
    source: str = SM,
    when: datetime = T0,
    region: str = REGION,
) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=when,
        event_source=source,
        event_name=name,
        aws_region=region,
        source_ip="192.0.2.10",
        user_agent="test",
        request_id=str(uuid.uuid4()),
        read_only=True,
        user_identity=UserIdentity(type="Root", arn=f"arn:aws:iam::{ACCOUNT}:root"),
        tenant=tenant,
        recipient_account_id=ACCOUNT,
    )


def calls(usage: SqlUsageStore, tenant: str | None = None) -> set[tuple[str, date, str, int]]:
    return {
        (c.tenant, c.day, c.event_name, c.calls)
        for c in usage.daily_calls(tenant, date(2020, 1, 1), date(2030, 12, 31))
    }


def watermark(engine: Engine, region: str = REGION) -> int | None:
    with engine.connect() as connection:
        value = connection.execute(
            select(tenant_usage_watermarks.c.seq).where(tenant_usage_watermarks.c.region == region)
        ).scalar()
    return None if value is None else int(value)


# -- calls ------------------------------------------------------------------------------


def test_calls_are_counted_per_tenant_utc_day_and_operation_once(
    trail: SqlAuditStore, usage: SqlUsageStore, engine: Engine
) -> None:
    trail.append(
        [
            event(),
            event(),
            event("Decrypt", source=KMS),
            # 23:59:59 and 00:00:00 UTC fall on different days.
            event(when=datetime(2026, 11, 3, 23, 59, 59, tzinfo=UTC)),
            event(when=datetime(2026, 11, 4, 0, 0, 0, tzinfo=UTC)),
            event(tenant="cust-2"),
            event(tenant=None),  # not a tenant's call: not metered
            # The operator's admin API calls about the tenant: not the tenant's.
            event("GetTenantUsage", source="strongroom.amazonaws.com"),
        ]
    )
    report = usage.roll_up(DAY1)
    assert report.events == 6
    expected = {
        ("cust-1", DAY1, "GetSecretValue", 3),
        ("cust-1", DAY1, "Decrypt", 1),
        ("cust-1", DAY2, "GetSecretValue", 1),
        ("cust-2", DAY1, "GetSecretValue", 1),
    }
    assert calls(usage) == expected
    assert watermark(engine) == 8
    # Again: nothing new, nothing counted twice.
    assert usage.roll_up(DAY1).events == 0
    assert calls(usage) == expected
    # Later events add to the same rows.
    trail.append([event(), event("Decrypt", source=KMS)])
    assert usage.roll_up(DAY1).events == 2
    assert calls(usage, "cust-1") == {
        ("cust-1", DAY1, "GetSecretValue", 4),
        ("cust-1", DAY1, "Decrypt", 2),
        ("cust-1", DAY2, "GetSecretValue", 1),
    }
    assert [c.event_source for c in usage.daily_calls("cust-1", DAY1, DAY1)].count(KMS) == 1
    assert usage.daily_calls("cust-1", DAY2, DAY2) == [
        DailyCalls("cust-1", DAY2, SM, "GetSecretValue", 1)
    ]


def test_each_region_has_its_own_watermark_and_batches_commit_one_by_one(
    trail: SqlAuditStore,
    usage: SqlUsageStore,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(usage_repository, "ROLL_UP_BATCH", 2)
    trail.append([event() for _ in range(5)] + [event(region=OTHER_REGION) for _ in range(3)])
    assert usage.roll_up(DAY1).events == 8
    assert calls(usage) == {("cust-1", DAY1, "GetSecretValue", 8)}
    assert (watermark(engine, REGION), watermark(engine, OTHER_REGION)) == (5, 3)


def _crash_on_write(engine: Engine, after: int) -> None:
    """Let ``after`` write transactions commit, then fail every one just before its commit
    (what a crash there leaves: nothing of that transaction)."""
    seen = [0]

    def hook(connection: Connection) -> None:
        seen[0] += 1
        if seen[0] > after:
            raise RuntimeError("simulated crash before commit")

    engines.set_commit_hook(engine, hook)


def test_a_crash_mid_roll_up_never_counts_twice(
    trail: SqlAuditStore,
    usage: SqlUsageStore,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(usage_repository, "ROLL_UP_BATCH", 3)
    trail.append([event() for _ in range(7)])
    _crash_on_write(engine, after=1)  # the first batch commits, the second does not
    with pytest.raises(RuntimeError, match="simulated crash"):
        usage.roll_up(DAY1)
    engines.set_commit_hook(engine, None)
    # The counts and the watermark moved together, or not at all.
    assert watermark(engine) == 3
    assert calls(usage) == {("cust-1", DAY1, "GetSecretValue", 3)}
    assert usage.roll_up(DAY1).events == 4
    assert calls(usage) == {("cust-1", DAY1, "GetSecretValue", 7)}
    assert watermark(engine) == 7


def test_a_crash_in_the_first_batch_leaves_nothing(
    trail: SqlAuditStore, usage: SqlUsageStore, engine: Engine
) -> None:
    trail.append([event() for _ in range(4)])
    _crash_on_write(engine, after=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        usage.roll_up(DAY1)
    engines.set_commit_hook(engine, None)
    assert watermark(engine) is None
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(tenant_usage_daily)).scalar()
    assert rows == 0
    assert usage.roll_up(DAY1).events == 4
    assert calls(usage) == {("cust-1", DAY1, "GetSecretValue", 4)}


def test_two_roll_ups_at_once_count_each_event_once(
    trail: SqlAuditStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage_repository, "ROLL_UP_BATCH", 5)
    trail.append([event() for _ in range(60)])
    stores = [SqlUsageStore(engine, tenant_tag_key="customer") for _ in range(3)]
    errors: list[BaseException] = []

    def run(store: SqlUsageStore) -> None:
        try:
            store.roll_up(DAY1)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls(stores[0]) == {("cust-1", DAY1, "GetSecretValue", 60)}


def test_retention_rolls_up_before_it_prunes_and_the_counts_stay(
    trail: SqlAuditStore, usage: SqlUsageStore, tmp_path: Path
) -> None:
    clock = FrozenClock(T0 + timedelta(days=400))
    old_day = date(2026, 10, 1)
    trail.append([event(when=datetime(2026, 10, 1, 12, tzinfo=UTC)) for _ in range(3)])
    usage.roll_up(old_day)  # some counted by the periodic job already...
    trail.append([event(when=datetime(2026, 10, 1, 13, tzinfo=UTC)) for _ in range(2)])
    trail.append([event(when=clock.now() - timedelta(days=1))])  # ...and one kept
    retention = Retention(
        trail,
        clock,
        retention_days=365,
        export_dir=tmp_path / "export",
        before_prune=lambda: usage.roll_up(clock.now().date()),
    )
    [pruned] = retention.prune_expired()
    assert (pruned.from_seq, pruned.through_seq) == (1, 5)
    assert [e.seq for e in trail.scan(REGION)] == [6]
    assert calls(usage) == {
        ("cust-1", old_day, "GetSecretValue", 5),
        ("cust-1", (clock.now() - timedelta(days=1)).date(), "GetSecretValue", 1),
    }
    # The roll-up after the prune neither loses nor recounts anything.
    assert usage.roll_up(clock.now().date()).events == 0
    assert len(calls(usage)) == 2


def test_a_failed_roll_up_stops_the_prune(trail: SqlAuditStore, tmp_path: Path) -> None:
    clock = FrozenClock(T0 + timedelta(days=400))
    trail.append([event(when=T0)])

    def broken() -> None:
        raise RuntimeError("roll-up failed")

    retention = Retention(
        trail, clock, retention_days=365, export_dir=tmp_path, before_prune=broken
    )
    with pytest.raises(RuntimeError, match="roll-up failed"):
        retention.prune_expired()
    assert [e.seq for e in trail.scan(REGION)] == [1]


# -- stored secrets and keys ------------------------------------------------------------


def add_secret(engine: Engine, name: str, tenant: str | None) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(secrets)
                .values(
                    arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf",
                    name=name,
                    region=REGION,
                    tenant=tenant,
                    created_at=T0,
                    last_changed_at=T0,
                    row_version=1,
                )
                .returning(secrets.c.id)
            ).scalar_one()
        )


def mark_secret_deleted(engine: Engine, secret_id: int, deleted: bool) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(secrets)
            .where(secrets.c.id == secret_id)
            .values(deleted_at=T0 if deleted else None, deletion_date=None)
        )


def add_key(engine: Engine, state: str = "Enabled", tenant: str | None = None) -> str:
    key_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            insert(kms_keys).values(
                key_id=key_id,
                arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}",
                region=REGION,
                created_at=T0,
                key_manager="CUSTOMER",
                key_state=state,
                description="",
                key_spec="SYMMETRIC_DEFAULT",
                key_usage="ENCRYPT_DECRYPT",
                origin="AWS_KMS",
                row_version=1,
            )
        )
        if tenant is not None:
            connection.execute(
                insert(kms_key_tags).values(key_id=key_id, tag_key="customer", tag_value=tenant)
            )
    return key_id


def set_key_state(engine: Engine, key_id: str, state: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(kms_keys).where(kms_keys.c.key_id == key_id).values(key_state=state)
        )


def add_tenant(engine: Engine, tenant_id: str, key_mode: str, key_id: str) -> None:
    SqlTenantStore(engine).insert(
        TenantRecord(
            tenant_id=tenant_id,
            display_name=tenant_id,
            status=ACTIVE,
            key_mode=key_mode,
            key_id=key_id,
            isolation_policy="ARN_WILDCARD",
            role_name=f"tenant-{tenant_id}",
            tier=None,
            quotas=None,
            tags=(),
            created_at=T0,
            updated_at=T0,
        )
    )


def stored(usage: SqlUsageStore, tenant: str | None = None) -> dict[tuple[str, date], Counts]:
    return {(s.tenant, s.day): (s.secrets, s.keys) for s in usage.stored_counts(tenant, DAY1, DAY4)}


def test_stored_counts_follow_aws_billing_and_change_only_rows(
    usage: SqlUsageStore, engine: Engine
) -> None:
    first = add_secret(engine, "/customer/cust-1/db", "cust-1")
    add_secret(engine, "/customer/cust-1/api", "cust-1")
    pending = add_secret(engine, "/customer/cust-1/old", "cust-1")
    mark_secret_deleted(engine, pending, deleted=True)  # scheduled for deletion: not billed
    add_secret(engine, "/shared/vendor", None)  # no tenant's
    tagged = add_key(engine, tenant="cust-1")
    add_key(engine, state="PendingDeletion", tenant="cust-1")  # not billed
    # A dedicated tenant's key counts even if its tag is gone; a shared key is no one's.
    untagged = add_key(engine)
    add_tenant(engine, "cust-2", DEDICATED, untagged)
    shared = add_key(engine)
    add_tenant(engine, "cust-3", SHARED, shared)
    add_secret(engine, "/customer/cust-3/db", "cust-3")

    assert usage.roll_up(DAY1).snapshots == 3
    assert stored(usage) == {
        ("cust-1", DAY1): (2, 1),
        ("cust-2", DAY1): (0, 1),
        ("cust-3", DAY1): (1, 0),
    }
    # The next day nothing changed: no row is written (the day carries the last one).
    assert usage.roll_up(DAY2).snapshots == 0
    assert ("cust-1", DAY2) not in stored(usage)
    # A change writes the day's row; the last roll-up of the day decides it.
    mark_secret_deleted(engine, first, deleted=True)
    set_key_state(engine, tagged, "PendingDeletion")
    assert usage.roll_up(DAY3).snapshots == 1
    assert stored(usage, "cust-1")[("cust-1", DAY3)] == (1, 0)
    # Changed back the same day: the row goes again (equal to the day before's).
    mark_secret_deleted(engine, first, deleted=False)
    set_key_state(engine, tagged, "Enabled")
    assert usage.roll_up(DAY3, tenant="cust-1").snapshots == 1
    assert stored(usage, "cust-1") == {("cust-1", DAY1): (2, 1)}


def test_a_tenant_whose_secrets_all_go_gets_a_zero_row(
    usage: SqlUsageStore, engine: Engine
) -> None:
    only = add_secret(engine, "/customer/cust-9/db", "cust-9")
    usage.roll_up(DAY1)
    mark_secret_deleted(engine, only, deleted=True)
    usage.roll_up(DAY2)
    assert stored(usage, "cust-9") == {("cust-9", DAY1): (1, 0), ("cust-9", DAY2): (0, 0)}


def test_the_counts_before_a_range_are_carried_into_it(
    usage: SqlUsageStore, engine: Engine
) -> None:
    add_secret(engine, "/customer/cust-1/db", "cust-1")
    usage.roll_up(date(2026, 10, 15))
    [carried] = usage.stored_counts("cust-1", DAY1, DAY4)
    assert (carried.day, carried.secrets) == (DAY1 - timedelta(days=1), 1)
    assert usage.stored_counts("cust-1", date(2026, 10, 1), date(2026, 10, 14)) == []


def test_a_snapshot_of_one_tenant_leaves_the_others_alone(
    usage: SqlUsageStore, engine: Engine
) -> None:
    add_secret(engine, "/customer/cust-1/db", "cust-1")
    add_secret(engine, "/customer/cust-2/db", "cust-2")
    usage.roll_up(DAY1, tenant="cust-1")
    assert stored(usage) == {("cust-1", DAY1): (1, 0)}


def test_has_usage(trail: SqlAuditStore, usage: SqlUsageStore, engine: Engine) -> None:
    assert not usage.has_usage("cust-1")
    trail.append([event()])
    usage.roll_up(DAY1, tenant="cust-5")
    assert usage.has_usage("cust-1")
    add_secret(engine, "/customer/cust-5/db", "cust-5")
    usage.roll_up(DAY1, tenant="cust-5")
    assert usage.has_usage("cust-5")
    assert not usage.has_usage("cust-6")


# -- destruction certificates -----------------------------------------------------------


def test_certificates_are_stored_verbatim_and_the_latest_is_found(engine: Engine) -> None:
    store = SqlCertificateStore(engine)
    assert store.latest_for("cust-1") is None
    older = StoredCertificate(str(uuid.uuid4()), "cust-1", T0, '{"a": "é"}\n')
    newer = StoredCertificate(str(uuid.uuid4()), "cust-1", T0 + timedelta(seconds=1), "{}\n")
    store.save(older)
    store.save(newer)
    store.save(StoredCertificate(str(uuid.uuid4()), "cust-2", T0 + timedelta(days=1), "x"))
    assert store.latest_for("cust-1") == newer
    with engines.unit_of_work(engine):
        store.save(StoredCertificate(str(uuid.uuid4()), "cust-3", T0, "in a unit of work"))
    found = store.latest_for("cust-3")
    assert found is not None
    assert found.certificate == "in a unit of work"
