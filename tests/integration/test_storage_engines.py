"""The whole stack on SQLite and on PostgreSQL: same behaviour, durable, concurrency-safe."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.engine import make_url

from strongroom import bootstrap
from strongroom.clock import FrozenClock
from strongroom.errors import ResourceNotFoundException
from strongroom.secretsmanager import shapes as sm
from strongroom.settings import Settings
from strongroom.storage import engines, migrate
from strongroom.storage.schema import NAMING, data_metadata, keystore_metadata
from tests.support.dev_stack import dev_settings, root_context
from tests.support.migrated import sqlite_at_head

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Stack:
    settings: Settings
    clock: FrozenClock
    app: bootstrap.Application

    @property
    def service(self):  # type: ignore[no-untyped-def]
        return self.app.secrets_manager

    def rebuild(self) -> Stack:
        """A second process over the same databases (a restart)."""
        self.app.close()
        return Stack(self.settings, self.clock, bootstrap.build(self.settings, self.clock))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with dev_settings(request.param, tmp_path / "data") as settings:
        clock = FrozenClock(START)
        built = Stack(settings, clock, bootstrap.build(settings, clock))
        try:
            yield built
        finally:
            built.app.close()


def test_values_survive_a_restart(stack: Stack) -> None:
    stack.service.create_secret(
        root_context(), sm.CreateSecretRequest(name="db", secret_string="v1")
    )
    restarted = stack.rebuild()
    got = restarted.service.get_secret_value(
        root_context(), sm.GetSecretValueRequest(secret_id="db")
    )
    assert got.secret_string == "v1"
    stack.app = restarted.app


def test_reaper_purges_after_the_recovery_window_only(stack: Stack) -> None:
    service = stack.service
    service.create_secret(root_context(), sm.CreateSecretRequest(name="gone", secret_string="x"))
    service.create_secret(root_context(), sm.CreateSecretRequest(name="kept", secret_string="x"))
    service.delete_secret(
        root_context(), sm.DeleteSecretRequest(secret_id="gone", recovery_window_in_days=7)
    )
    service.delete_secret(
        root_context(), sm.DeleteSecretRequest(secret_id="kept", recovery_window_in_days=8)
    )
    stack.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert service.purge_expired_deletions() == 0
    stack.clock.advance(timedelta(seconds=1))
    assert service.purge_expired_deletions() == 1
    with pytest.raises(ResourceNotFoundException):
        service.describe_secret(root_context(), sm.SecretIdRequest(secret_id="gone"))
    assert service.describe_secret(
        root_context(), sm.SecretIdRequest(secret_id="kept")
    ).deleted_date
    # The name is free again.
    service.create_secret(root_context(), sm.CreateSecretRequest(name="gone", secret_string="y"))


def test_restored_secret_is_not_purged(stack: Stack) -> None:
    service = stack.service
    service.create_secret(root_context(), sm.CreateSecretRequest(name="back", secret_string="x"))
    service.delete_secret(
        root_context(), sm.DeleteSecretRequest(secret_id="back", recovery_window_in_days=7)
    )
    service.restore_secret(root_context(), sm.SecretIdRequest(secret_id="back"))
    stack.clock.advance(timedelta(days=30))
    assert service.purge_expired_deletions() == 0


def test_version_retention_keeps_labelled_and_recent_versions(stack: Stack) -> None:
    service = stack.service
    service.create_secret(root_context(), sm.CreateSecretRequest(name="many", secret_string="0"))
    for i in range(1, 105):
        service.put_secret_value(
            root_context(), sm.PutSecretValueRequest(secret_id="many", secret_string=str(i))
        )
    listed = service.list_secret_version_ids(
        root_context(), sm.ListSecretVersionIdsRequest(secret_id="many", include_deprecated=True)
    )
    assert len(listed.versions) == 100  # page size; more exist: all are under 24 hours old
    assert listed.next_token is not None
    stack.clock.advance(timedelta(hours=25))
    service.put_secret_value(
        root_context(), sm.PutSecretValueRequest(secret_id="many", secret_string="x")
    )
    listed = service.list_secret_version_ids(
        root_context(), sm.ListSecretVersionIdsRequest(secret_id="many", include_deprecated=True)
    )
    assert len(listed.versions) == 100
    assert listed.next_token is None
    current = service.get_secret_value(root_context(), sm.GetSecretValueRequest(secret_id="many"))
    previous = service.get_secret_value(
        root_context(), sm.GetSecretValueRequest(secret_id="many", version_stage="AWSPREVIOUS")
    )
    assert (current.secret_string, previous.secret_string) == ("x", "104")


def test_concurrent_puts_leave_exactly_one_current(stack: Stack) -> None:
    service = stack.service
    service.create_secret(root_context(), sm.CreateSecretRequest(name="race", secret_string="0"))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                service.put_secret_value(
                    root_context(),
                    sm.PutSecretValueRequest(secret_id="race", secret_string=f"{n}-{i}"),
                )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    described = service.describe_secret(root_context(), sm.SecretIdRequest(secret_id="race"))
    labels = [label for stages in described.version_ids_to_stages.values() for label in stages]
    assert labels.count("AWSCURRENT") == 1
    assert labels.count("AWSPREVIOUS") == 1
    versions = service.list_secret_version_ids(
        root_context(), sm.ListSecretVersionIdsRequest(secret_id="race", include_deprecated=True)
    )
    assert len(versions.versions) == 31


def test_concurrent_creates_of_one_name_make_one_secret(stack: Stack) -> None:
    service = stack.service
    outcomes: list[str] = []

    def create() -> None:
        try:
            service.create_secret(
                root_context(), sm.CreateSecretRequest(name="once", secret_string="x")
            )
            outcomes.append("created")
        except Exception as exc:  # the loser's error is the point of the test
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=create) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ResourceExistsException"] * 4 + ["created"]


def test_keystore_is_a_separate_database(stack: Stack) -> None:
    data = create_engine(stack.settings.resolved_data_url)
    keystore = create_engine(stack.settings.resolved_keystore_url)
    try:
        data_tables = set(inspect(data).get_table_names())
        keystore_tables = set(inspect(keystore).get_table_names())
    finally:
        data.dispose()
        keystore.dispose()
    assert {"domain_keys", "key_versions"} <= keystore_tables
    assert not ({"domain_keys", "key_versions"} & data_tables)
    assert not ({"secrets", "secret_versions"} & keystore_tables)


def _schema_diff(url: str, metadata: MetaData) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_schema(stack: Stack) -> None:
    data_url = stack.settings.resolved_data_url
    data_tables = data_metadata
    lookup_tables = MetaData(naming_convention=NAMING)
    if data_url.startswith("sqlite"):
        # The audit lookup tables are the lookup file's (migration 0011), made by the
        # lookup engine: the data file must match the rest, the lookup file those.
        data_tables = MetaData(naming_convention=NAMING)
        for table in data_metadata.sorted_tables:
            in_lookup_file = table.name.startswith("audit_lookup_")
            table.to_metadata(lookup_tables if in_lookup_file else data_tables)
        lookup_file = engines.lookup_path(str(make_url(data_url).database))
        assert _schema_diff(f"sqlite+pysqlite:///{lookup_file}", lookup_tables) == []
        assert len(lookup_tables.tables) == 3
    assert _schema_diff(data_url, data_tables) == []
    assert _schema_diff(stack.settings.resolved_keystore_url, keystore_metadata) == []


def test_restart_with_another_root_key_refuses_to_start(stack: Stack, tmp_path: Path) -> None:
    stack.app.close()
    key_file = tmp_path / "other-root-key"
    key_file.write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n")
    key_file.chmod(0o600)
    other = Settings(
        dev=True,
        data_dir=stack.settings.data_dir,
        data_url=stack.settings.data_url,
        keystore_url=stack.settings.keystore_url,
        root_key_file=key_file,
    )
    with pytest.raises(RuntimeError, match="root key does not unwrap"):
        bootstrap.build(other, stack.clock)
    stack.app = bootstrap.build(stack.settings, stack.clock)


def test_a_migration_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    # A server starting while another process writes its SQLite database (an audit
    # appender finishing its work, an `audit prune`) must wait for the write lock. In a
    # deferred transaction the migration reads the schema version first; a commit landing
    # before its first DDL statement then fails it at once ("database is locked"): SQLite
    # cannot turn a stale read snapshot into a write.
    path = tmp_path / "data.db"
    engine = engines.create(sqlite_at_head(path, "data"))
    config = Config()
    config.set_main_option(
        "script_location", str(Path(migrate.__file__).parent / "migrations" / "data")
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    engine.dispose()
    other = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE elsewhere (x INTEGER)")
    holding = threading.Event()

    def write_for_a_while() -> None:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO elsewhere VALUES (1)")
        holding.set()
        time.sleep(0.5)
        other.execute("COMMIT")

    writer = threading.Thread(target=write_for_a_while)
    writer.start()
    try:
        assert holding.wait(10)
        engine = engines.create(f"sqlite+pysqlite:///{path}")
        try:
            migrate.upgrade(engine, "data")
            with engine.connect() as connection:
                version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert (
                    version.scalar_one() == ScriptDirectory.from_config(config).get_current_head()
                )
        finally:
            engine.dispose()
    finally:
        writer.join()
        other.close()
