"""The KMS stores (key directory and keystore) on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import (
    AliasExists,
    AliasRecord,
    KeyDestructionRecord,
    KeyRotationRecord,
    KeyUsageRecord,
    KmsKeyRecord,
    StaleKeyRecord,
    WrappedKeyVersion,
)
from strongroom.storage import engines, migrate
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
REGION = "us-east-1"
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _engine(kind: str, tmp_path: Path, database: str) -> Iterator[Engine]:
    """A migrated ``database`` ("data" or "keystore") on a fresh SQLite file or PostgreSQL."""
    gate = None
    if kind == "postgres":
        gate = postgres_url_or_skip(database)
        url = next(gate)
    else:
        url = sqlite_at_head(tmp_path / f"{database}.db", database)
    engine = engines.create(url)
    try:
        migrate.upgrade(engine, database)
        yield engine
    finally:
        engine.dispose()
        if gate is not None:
            next(gate, None)


@pytest.fixture(params=ENGINES)
def data_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(request.param, tmp_path, "data")


@pytest.fixture(params=ENGINES)
def keystore_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(request.param, tmp_path, "keystore")


@pytest.fixture
def store(data_engine: Engine) -> SqlKeyDirectoryStore:
    return SqlKeyDirectoryStore(data_engine)


def new_key(region: str = REGION, **fields: object) -> KmsKeyRecord:
    key_id = str(fields.pop("key_id", uuid.uuid4()))
    record = KmsKeyRecord(
        key_id=key_id,
        arn=f"arn:aws:kms:{region}:123456789012:key/{key_id}",
        region=region,
        created_at=NOW,
        key_manager="CUSTOMER",
        key_state="Enabled",
    )
    return replace(record, **fields)  # type: ignore[arg-type]


def alias(name: str, key_id: str, at: datetime = NOW) -> AliasRecord:
    return AliasRecord(REGION, name, key_id, at, at)


# -- keys ------------------------------------------------------------------------------


def test_every_key_field_round_trips(store: SqlKeyDirectoryStore) -> None:
    record = new_key(
        description="everything set",
        key_spec="RSA_2048",
        key_usage="SIGN_VERIFY",
        origin="EXTERNAL",
        key_state="PendingDeletion",
        deletion_date=NOW + timedelta(days=7),
        pending_deletion_window_days=7,
        rotation_period_days=365,
        next_rotation_date=NOW + timedelta(days=365),
        expiration_model="KEY_MATERIAL_EXPIRES",
        valid_to=NOW + timedelta(days=30),
        imported_material_digest=bytes(range(32)),
        policy='{"Version": "2012-10-17", "Statement": []}',
    )
    assert store.insert_key(record) == record
    assert store.key(record.key_id) == record
    plain = new_key()
    store.insert_key(plain)
    assert store.key(plain.key_id) == plain
    assert store.key(str(uuid.uuid4())) is None


def test_insert_key_with_tags_and_alias(store: SqlKeyDirectoryStore) -> None:
    record = new_key()
    store.insert_key(record, tags=[("b", "2"), ("a", "1")], alias_name="alias/mine")
    assert store.key_by_alias(REGION, "alias/mine") == record
    assert store.key_by_alias("eu-west-1", "alias/mine") is None
    assert store.key_by_alias(REGION, "alias/other") is None
    assert store.key_tags(record.key_id) == [("a", "1"), ("b", "2")]
    [stored] = store.list_aliases(REGION, None, None, 10)
    assert stored == AliasRecord(REGION, "alias/mine", record.key_id, NOW, NOW)


def test_insert_key_under_a_taken_alias_returns_the_aliased_key(
    store: SqlKeyDirectoryStore,
) -> None:
    first = new_key(key_manager="AWS")
    second = new_key(key_manager="AWS")
    assert store.insert_key(first, alias_name="alias/aws/secretsmanager") == first
    got = store.insert_key(second, tags=[("t", "v")], alias_name="alias/aws/secretsmanager")
    assert got == first
    assert store.key(second.key_id) is None
    assert store.key_tags(second.key_id) == []


def test_insert_key_twice_without_alias_raises(store: SqlKeyDirectoryStore) -> None:
    record = new_key()
    store.insert_key(record)
    with pytest.raises(IntegrityError):
        store.insert_key(record)


def test_update_key_is_a_compare_and_set(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key(deletion_date=NOW, pending_deletion_window_days=7))
    updated = store.update_key(
        record.key_id,
        1,
        {"key_state": "Disabled", "deletion_date": None, "pending_deletion_window_days": None},
    )
    assert updated == replace(
        record,
        key_state="Disabled",
        deletion_date=None,
        pending_deletion_window_days=None,
        row_version=2,
    )
    assert store.key(record.key_id) == updated
    with pytest.raises(StaleKeyRecord):
        store.update_key(record.key_id, 1, {"description": "lost the race"})
    assert store.key(record.key_id) == updated
    with pytest.raises(StaleKeyRecord):
        store.update_key(str(uuid.uuid4()), 1, {"description": "no such key"})
    again = store.update_key(record.key_id, 2, {})
    assert again.row_version == 3


@pytest.mark.parametrize("field", ["no_such_field", "key_id", "row_version"])
def test_update_key_rejects_fields_it_cannot_change(
    store: SqlKeyDirectoryStore, field: str
) -> None:
    record = store.insert_key(new_key())
    with pytest.raises(ValueError, match=field):
        store.update_key(record.key_id, 1, {field: "x"})
    assert store.key(record.key_id) == record


def test_concurrent_updates_of_one_version_have_one_winner(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key())
    outcomes: list[str] = []

    def update(n: int) -> None:
        try:
            store.update_key(record.key_id, 1, {"description": f"writer {n}"})
            outcomes.append("won")
        except StaleKeyRecord:
            outcomes.append("stale")

    threads = [threading.Thread(target=update, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale"] * 7 + ["won"]
    assert store.key(record.key_id).row_version == 2  # type: ignore[union-attr]


def test_list_keys_pages_by_key_id_within_a_region(store: SqlKeyDirectoryStore) -> None:
    ids = sorted(str(uuid.uuid4()) for _ in range(5))
    for key_id in ids:
        store.insert_key(new_key(key_id=key_id))
    store.insert_key(new_key(region="eu-west-1"))
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = store.list_keys(REGION, after, 2)
        if not page:
            break
        pages.append([k.key_id for k in page])
        after = page[-1].key_id
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    assert [k.region for k in store.list_keys("eu-west-1", None, 10)] == ["eu-west-1"]


def test_delete_key_keeps_only_the_destruction_record(store: SqlKeyDirectoryStore) -> None:
    doomed = store.insert_key(new_key(), tags=[("a", "1")], alias_name="alias/doomed")
    kept = store.insert_key(new_key(), tags=[("a", "1")], alias_name="alias/kept")
    store.insert_alias(alias("alias/second", doomed.key_id))
    store.insert_rotation(KeyRotationRecord(doomed.key_id, 2, NOW, "ON_DEMAND"))
    store.record_usage([KeyUsageRecord(doomed.key_id, NOW, "Encrypt", "r1")])
    destruction = KeyDestructionRecord(
        doomed.key_id, doomed.arn, NOW + timedelta(days=7), 2, "ScheduledDeletion"
    )
    store.delete_key(doomed.key_id, destruction)
    assert store.key(doomed.key_id) is None
    assert store.destruction(doomed.key_id) == destruction
    assert store.key_by_alias(REGION, "alias/doomed") is None
    assert [a.alias_name for a in store.list_aliases(REGION, None, None, 10)] == ["alias/kept"]
    assert store.key_tags(doomed.key_id) == []
    assert store.rotations(doomed.key_id) == []
    assert store.last_usage(doomed.key_id) is None
    # Deleting it again (a second scheduler, a retry) changes nothing.
    store.delete_key(doomed.key_id, replace(destruction, versions_destroyed=0))
    assert store.destruction(doomed.key_id) == destruction
    assert store.key(kept.key_id) == kept
    assert store.key_tags(kept.key_id) == [("a", "1")]
    assert store.destruction(kept.key_id) is None


# -- aliases ---------------------------------------------------------------------------


def test_alias_names_are_unique_per_region(store: SqlKeyDirectoryStore) -> None:
    first = store.insert_key(new_key())
    second = store.insert_key(new_key())
    store.insert_alias(alias("alias/app", first.key_id))
    with pytest.raises(AliasExists):
        store.insert_alias(alias("alias/app", second.key_id))
    assert store.key_by_alias(REGION, "alias/app") == first
    other_region = store.insert_key(new_key(region="eu-west-1"))
    store.insert_alias(AliasRecord("eu-west-1", "alias/app", other_region.key_id, NOW, NOW))
    assert store.key_by_alias("eu-west-1", "alias/app") == other_region


def test_a_taken_alias_inside_a_unit_of_work_is_reported_as_taken(
    store: SqlKeyDirectoryStore, data_engine: Engine
) -> None:
    # CreateTenant creates alias/tenant/<id> in one transaction with everything else: the
    # failed insert must not poison that transaction (PostgreSQL aborts it otherwise).
    first = store.insert_key(new_key())
    store.insert_alias(alias("alias/tenant/cust-1", first.key_id))
    second = new_key()

    def onboard() -> None:
        with engines.unit_of_work(data_engine):
            store.insert_key(second)
            store.insert_alias(alias("alias/tenant/cust-1", second.key_id))

    with pytest.raises(AliasExists):
        onboard()
    assert store.key(second.key_id) is None  # the whole unit rolled back
    assert store.key_by_alias(REGION, "alias/tenant/cust-1") == first


def test_alias_of_a_missing_key_is_not_reported_as_taken(store: SqlKeyDirectoryStore) -> None:
    with pytest.raises(IntegrityError):
        store.insert_alias(alias("alias/orphan", str(uuid.uuid4())))


def test_retarget_and_delete_alias(store: SqlKeyDirectoryStore) -> None:
    first = store.insert_key(new_key())
    second = store.insert_key(new_key())
    store.insert_alias(alias("alias/app", first.key_id))
    later = NOW + timedelta(hours=1)
    assert store.retarget_alias(REGION, "alias/app", second.key_id, later)
    assert not store.retarget_alias(REGION, "alias/none", second.key_id, later)
    assert store.key_by_alias(REGION, "alias/app") == second
    [moved] = store.list_aliases(REGION, None, None, 10)
    assert (moved.created_at, moved.updated_at) == (NOW, later)
    assert store.delete_alias(REGION, "alias/app")
    assert not store.delete_alias(REGION, "alias/app")
    assert store.key_by_alias(REGION, "alias/app") is None
    assert store.key(second.key_id) == second


def test_list_aliases_pages_by_name_and_filters_by_key(store: SqlKeyDirectoryStore) -> None:
    first = store.insert_key(new_key())
    second = store.insert_key(new_key())
    for n in range(5):
        store.insert_alias(alias(f"alias/a{n}", first.key_id if n % 2 == 0 else second.key_id))
    names = [a.alias_name for a in store.list_aliases(REGION, None, None, 10)]
    assert names == [f"alias/a{n}" for n in range(5)]
    page = store.list_aliases(REGION, None, "alias/a1", 2)
    assert [a.alias_name for a in page] == ["alias/a2", "alias/a3"]
    only_first = store.list_aliases(REGION, first.key_id, None, 10)
    assert [a.alias_name for a in only_first] == ["alias/a0", "alias/a2", "alias/a4"]
    after = store.list_aliases(REGION, first.key_id, "alias/a0", 1)
    assert [a.alias_name for a in after] == ["alias/a2"]
    assert store.list_aliases("eu-west-1", None, None, 10) == []


class _StepCounter:
    """SQLite virtual-machine instructions run on an engine's connections, in units of 16."""

    def __init__(self, engine: Engine) -> None:
        self.steps = 0
        event.listen(engine, "connect", self._install)
        engine.dispose()  # pooled connections were opened before the handler

    def _install(self, dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.set_progress_handler(self._tick, 16)

    def _tick(self) -> int:
        self.steps += 1
        return 0  # go on


def _steps_to_authorize_one_key(path: Path, keys: int) -> int:
    """The work of the reads a call's authorization makes on one key (its record, tags
    and aliases, by id and by alias), among ``keys`` tenant keys with an alias each."""
    engine = engines.create(sqlite_at_head(path, "data"))
    try:
        store = SqlKeyDirectoryStore(engine)
        records = [
            store.insert_key(new_key(), [("customer", f"cust-{n}")], f"alias/tenant/cust-{n}")
            for n in range(keys)
        ]
        target = records[keys // 2]
        counter = _StepCounter(engine)
        assert store.key(target.key_id) == target
        assert store.key_tags(target.key_id) == [("customer", f"cust-{keys // 2}")]
        assert [a.alias_name for a in store.list_aliases(REGION, target.key_id, None, 50)] == [
            f"alias/tenant/cust-{keys // 2}"
        ]
        assert store.key_by_alias(REGION, f"alias/tenant/cust-{keys // 2}") == target
        return counter.steps
    finally:
        engine.dispose()


def test_authorizing_a_call_on_a_key_does_not_read_the_other_tenants_keys(
    tmp_path: Path,
) -> None:
    # Every KMS authorization names the key's aliases (kms:ResourceAliases). With an index
    # on key_id alone, SQLite walked every alias of the region in name order to skip a
    # sort: 3.6 ms a call at 10,000 tenants (migration 0010).
    few = _steps_to_authorize_one_key(tmp_path / "few.db", 4)
    many = _steps_to_authorize_one_key(tmp_path / "many.db", 400)
    assert many < 2 * few, f"{many * 16} VM instructions among 400 keys, {few * 16} among 4"


# -- tags ------------------------------------------------------------------------------


def test_put_key_tags_upserts_within_the_limit(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key(), tags=[("a", "1"), ("b", "2")])
    assert store.put_key_tags(record.key_id, [("b", "two"), ("c", "3")], limit=3)
    assert store.key_tags(record.key_id) == [("a", "1"), ("b", "two"), ("c", "3")]
    # Overwriting does not count as a new tag; one new one would pass the limit.
    assert store.put_key_tags(record.key_id, [("a", "one")], limit=3)
    assert not store.put_key_tags(record.key_id, [("a", "x"), ("d", "4")], limit=3)
    assert store.key_tags(record.key_id) == [("a", "one"), ("b", "two"), ("c", "3")]
    # The same key twice in one call: the last value wins, and it counts once.
    assert store.put_key_tags(record.key_id, [("d", "x"), ("d", "4")], limit=4)
    assert store.key_tags(record.key_id)[-1] == ("d", "4")
    store.remove_key_tags(record.key_id, ["a", "c", "absent"])
    store.remove_key_tags(record.key_id, [])
    assert store.key_tags(record.key_id) == [("b", "two"), ("d", "4")]


def test_concurrent_tagging_never_passes_the_limit(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key())
    accepted: list[bool] = []

    def tag(n: int) -> None:
        accepted.append(store.put_key_tags(record.key_id, [(f"t{n}", "v")], limit=5))

    threads = [threading.Thread(target=tag, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert accepted.count(True) == 5
    assert len(store.key_tags(record.key_id)) == 5


# -- rotations and the scheduler's queries ---------------------------------------------


def test_rotations_are_listed_by_version(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key())
    store.insert_rotation(KeyRotationRecord(record.key_id, 3, NOW, "AUTOMATIC"))
    store.insert_rotation(KeyRotationRecord(record.key_id, 2, NOW, "ON_DEMAND"))
    assert store.rotations(record.key_id) == [
        KeyRotationRecord(record.key_id, 2, NOW, "ON_DEMAND"),
        KeyRotationRecord(record.key_id, 3, NOW, "AUTOMATIC"),
    ]
    with pytest.raises(IntegrityError):
        store.insert_rotation(KeyRotationRecord(record.key_id, 3, NOW, "AUTOMATIC"))


def test_keys_due_for_rotation(store: SqlKeyDirectoryStore) -> None:
    def rotating(days_ago: int, state: str = "Enabled") -> KmsKeyRecord:
        due = NOW - timedelta(days=days_ago)
        return store.insert_key(
            new_key(key_state=state, rotation_period_days=90, next_rotation_date=due)
        )

    late = rotating(3)
    just_due = rotating(0)
    later = rotating(1)
    rotating(-1)  # not yet
    rotating(5, state="Disabled")
    store.insert_key(new_key(next_rotation_date=NOW - timedelta(days=9)))  # rotation off
    due = store.keys_due_for_rotation(NOW, 10)
    assert [k.key_id for k in due] == [late.key_id, later.key_id, just_due.key_id]
    assert [k.key_id for k in store.keys_due_for_rotation(NOW, 2)] == [late.key_id, later.key_id]


def test_keys_due_for_deletion(store: SqlKeyDirectoryStore) -> None:
    def pending(days_ago: int, state: str = "PendingDeletion") -> KmsKeyRecord:
        return store.insert_key(
            new_key(key_state=state, deletion_date=NOW - timedelta(days=days_ago))
        )

    second = pending(1)
    first = pending(2)
    pending(-1)  # not yet
    pending(3, state="Enabled")  # cancelled, with a stale date left behind
    store.insert_key(new_key())
    due = store.keys_due_for_deletion(NOW, 10)
    assert [k.key_id for k in due] == [first.key_id, second.key_id]
    assert [k.key_id for k in store.keys_due_for_deletion(NOW, 1)] == [first.key_id]


def test_keys_with_expired_material(store: SqlKeyDirectoryStore) -> None:
    def imported(days_ago: int, origin: str = "EXTERNAL") -> KmsKeyRecord:
        return store.insert_key(new_key(origin=origin, valid_to=NOW - timedelta(days=days_ago)))

    expired = imported(1)
    older = imported(4)
    imported(-1)  # still valid
    imported(2, origin="AWS_KMS")
    store.insert_key(new_key(origin="EXTERNAL"))  # KEY_MATERIAL_DOES_NOT_EXPIRE
    due = store.keys_with_expired_material(NOW, 10)
    assert [k.key_id for k in due] == [older.key_id, expired.key_id]
    assert len(store.keys_with_expired_material(NOW, 1)) == 1


# -- usage -----------------------------------------------------------------------------


def test_record_usage_keeps_the_newest(store: SqlKeyDirectoryStore) -> None:
    a = store.insert_key(new_key())
    b = store.insert_key(new_key())
    assert store.last_usage(a.key_id) is None
    t1, t2, t3 = NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)
    store.record_usage(
        [
            KeyUsageRecord(a.key_id, t2, "Encrypt", "r2"),
            KeyUsageRecord(a.key_id, t1, "Decrypt", "r1"),  # older, same batch
            KeyUsageRecord(b.key_id, t1, "GenerateDataKey", "r3"),
            KeyUsageRecord(str(uuid.uuid4()), t1, "Encrypt", "r4"),  # deleted meanwhile
        ]
    )
    assert store.last_usage(a.key_id) == KeyUsageRecord(a.key_id, t2, "Encrypt", "r2")
    store.record_usage([KeyUsageRecord(a.key_id, t1, "Decrypt", "r5")])  # older: ignored
    assert store.last_usage(a.key_id) == KeyUsageRecord(a.key_id, t2, "Encrypt", "r2")
    store.record_usage([KeyUsageRecord(a.key_id, t3, "ReEncrypt", "r6")])
    assert store.last_usage(a.key_id) == KeyUsageRecord(a.key_id, t3, "ReEncrypt", "r6")
    assert store.last_usage(b.key_id) == KeyUsageRecord(b.key_id, t1, "GenerateDataKey", "r3")
    store.record_usage([])


def test_reset_empties_every_kms_table(store: SqlKeyDirectoryStore) -> None:
    record = store.insert_key(new_key(), tags=[("a", "1")], alias_name="alias/x")
    store.insert_rotation(KeyRotationRecord(record.key_id, 2, NOW, "ON_DEMAND"))
    store.record_usage([KeyUsageRecord(record.key_id, NOW, "Encrypt", "r")])
    gone = store.insert_key(new_key())
    store.delete_key(gone.key_id, KeyDestructionRecord(gone.key_id, gone.arn, NOW, 1, "x"))
    store.reset()
    assert store.list_keys(REGION, None, 10) == []
    assert store.list_aliases(REGION, None, None, 10) == []
    assert store.key_tags(record.key_id) == []
    assert store.rotations(record.key_id) == []
    assert store.last_usage(record.key_id) is None
    assert store.destruction(gone.key_id) is None


# -- migration of existing rows --------------------------------------------------------


def test_migration_0002_keeps_existing_keys_and_aliases(data_engine: Engine) -> None:
    config = Config()
    scripts = Path(migrate.__file__).parent / "migrations" / "data"
    config.set_main_option("script_location", str(scripts))

    def to(revision: str, *, down: bool = False) -> None:
        with data_engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    to("0001", down=True)
    with data_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO kms_keys (key_id, arn, region, created_at, key_manager, key_state,"
                " description, key_spec, key_usage, origin) VALUES ('k1', 'arn:k1', :region,"
                " 1000, 'AWS', 'Enabled', '', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS')"
            ),
            {"region": REGION},
        )
        connection.execute(
            text(
                "INSERT INTO kms_aliases (region, alias_name, key_id, created_at)"
                " VALUES (:region, 'alias/aws/secretsmanager', 'k1', 2000)"
            ),
            {"region": REGION},
        )
    to("head")
    store = SqlKeyDirectoryStore(data_engine)
    record = store.key_by_alias(REGION, "alias/aws/secretsmanager")
    assert record is not None
    assert (record.key_id, record.row_version) == ("k1", 1)
    assert record.deletion_date is None
    [migrated] = store.list_aliases(REGION, None, None, 10)
    assert migrated.updated_at == migrated.created_at
    # Downgrade and upgrade again: still no alias lost.
    to("0001", down=True)
    to("head")
    assert store.key_by_alias(REGION, "alias/aws/secretsmanager") == record


# -- keystore --------------------------------------------------------------------------


def version(key_id: str, n: int, wrapped: bytes) -> WrappedKeyVersion:
    return WrappedKeyVersion(key_id, n, b"\x01" * 16, NOW, 0, wrapped)


def test_destroy_key_versions_deletes_one_key_only(keystore_engine: Engine) -> None:
    material = SqlKeyMaterialStore(keystore_engine)
    doomed, kept = str(uuid.uuid4()), str(uuid.uuid4())
    for n in (1, 2, 3):
        material.insert_key_version(version(doomed, n, os.urandom(64)))
    material.insert_key_version(version(kept, 1, os.urandom(64)))
    assert material.destroy_key_versions(doomed) == 3
    assert material.key_versions(doomed) == []
    assert len(material.key_versions(kept)) == 1
    assert material.destroy_key_versions(doomed) == 0


def _database_files(path: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
        if p.exists()
    }


def test_destroyed_material_leaves_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "keystore.db"
    engine = engines.create(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine, "keystore")
        material = SqlKeyMaterialStore(engine)
        marker = os.urandom(64)
        doomed, kept = str(uuid.uuid4()), str(uuid.uuid4())
        material.insert_key_version(version(kept, 1, os.urandom(64)))
        material.insert_key_version(version(doomed, 1, marker))
        material.insert_key_version(version(kept, 2, os.urandom(64)))
        # The marker both in the database file (checkpointed) and in the WAL (a later
        # write to the same page appends another image of it).
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        material.reserve_encryptions(doomed, 1, 1, 10)
        before = _database_files(path)
        assert marker in before["keystore.db"]
        assert marker in before["keystore.db-wal"]

        assert material.destroy_key_versions(doomed) == 1

        # Read while the engine is still open: closing the last connection would
        # checkpoint and delete the WAL by itself and hide a missing checkpoint.
        after = _database_files(path)
        assert "keystore.db" in after
        assert [name for name, content in after.items() if marker in content] == []
        assert len(material.key_versions(kept)) == 2
    finally:
        engine.dispose()
