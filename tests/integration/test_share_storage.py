"""The share store (tenant_shares) on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from strongroom.storage import engines, migrate
from strongroom.storage.share_repository import SqlShareStore
from strongroom.tenancy.sharing_ports import ShareNotFound, ShareRecord
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
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


def _share(tenant: str, pattern: str, *actions: str, by: str = "admin") -> ShareRecord:
    return ShareRecord(tenant, pattern, actions or ("READ",), NOW, f"arn:aws:iam::1:user/{by}")


def test_put_list_and_delete(data_engine: Engine) -> None:
    store = SqlShareStore(data_engine)
    assert store.all_shares() == []
    stored = store.put_share(_share("cust-2", "/shared/b/*", "DESCRIBE", "READ"))
    assert stored == _share("cust-2", "/shared/b/*", "DESCRIBE", "READ")
    assert stored.created_at == NOW  # microseconds and zone survive the round trip
    store.put_share(_share("cust-1", "/shared/a"))
    store.put_share(_share("cust-2", "/shared/a/*"))
    assert [(s.tenant_id, s.secret_pattern) for s in store.all_shares()] == [
        ("cust-1", "/shared/a"),
        ("cust-2", "/shared/a/*"),
        ("cust-2", "/shared/b/*"),
    ]
    store.delete_share("cust-2", "/shared/a/*")
    with pytest.raises(ShareNotFound):
        store.delete_share("cust-2", "/shared/a/*")
    with pytest.raises(ShareNotFound):
        store.delete_share("cust-3", "/shared/a")
    assert len(store.all_shares()) == 2


def test_sharing_a_pattern_again_sets_its_actions_and_keeps_its_origin(
    data_engine: Engine,
) -> None:
    store = SqlShareStore(data_engine)
    store.put_share(_share("cust-1", "/shared/a/*", "READ", by="first"))
    later = ShareRecord(
        "cust-1", "/shared/a/*", ("DESCRIBE",), NOW + timedelta(days=1), "arn:later"
    )
    again = store.put_share(later)
    assert again.actions == ("DESCRIBE",)
    assert again.created_at == NOW
    assert again.created_by == "arn:aws:iam::1:user/first"
    assert store.all_shares() == [again]


def test_pages_in_key_order(data_engine: Engine) -> None:
    store = SqlShareStore(data_engine)
    for tenant in ("cust-1", "cust-2"):
        for index in range(5):
            store.put_share(_share(tenant, f"/shared/s{index}"))
    first = store.shares_page(None, None, 3)
    assert [(s.tenant_id, s.secret_pattern) for s in first] == [
        ("cust-1", "/shared/s0"),
        ("cust-1", "/shared/s1"),
        ("cust-1", "/shared/s2"),
    ]
    rest = store.shares_page(None, ("cust-1", "/shared/s2"), 100)
    assert len(rest) == 7
    assert (rest[0].tenant_id, rest[0].secret_pattern) == ("cust-1", "/shared/s3")
    assert (rest[2].tenant_id, rest[2].secret_pattern) == ("cust-2", "/shared/s0")
    only = store.shares_page("cust-2", ("cust-2", "/shared/s3"), 100)
    assert [s.secret_pattern for s in only] == ["/shared/s4"]
    assert store.shares_page("cust-9", None, 100) == []


def test_a_tenants_shares_go_together(data_engine: Engine) -> None:
    store = SqlShareStore(data_engine)
    store.put_share(_share("cust-1", "/shared/a"))
    store.put_share(_share("cust-1", "/shared/b/*"))
    store.put_share(_share("cust-12", "/shared/a"))
    assert store.delete_tenant_shares("cust-1") == 2
    assert store.delete_tenant_shares("cust-1") == 0
    assert [s.tenant_id for s in store.all_shares()] == ["cust-12"]
    store.reset()
    assert store.all_shares() == []


def test_concurrent_shares_of_one_pattern_leave_one_row(data_engine: Engine) -> None:
    store = SqlShareStore(data_engine)
    errors: list[BaseException] = []

    def share(actions: tuple[str, ...]) -> None:
        try:
            for _ in range(10):
                store.put_share(_share("cust-1", "/shared/x/*", *actions))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=share, args=(a,)) for a in [("READ",), ("DESCRIBE",)] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    [only] = store.all_shares()
    assert only.actions in (("READ",), ("DESCRIBE",))
