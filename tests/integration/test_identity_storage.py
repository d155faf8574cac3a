"""The identity repository on SQLite and PostgreSQL: same answers, names unique ignoring case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from strongroom.identity.ports import (
    DuplicateEntity,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    RoleRecord,
    SessionRecord,
    UserAccessKey,
    UserRecord,
)
from strongroom.storage import engines, migrate
from strongroom.storage.identity_repository import SqlIdentityStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:iam::123456789012"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgres":
        gate = postgres_url_or_skip("data")
        url = next(gate)
    else:
        url = sqlite_at_head(tmp_path / "data.db", "data")
    created = engines.create(url)
    migrate.upgrade(created, "data")
    try:
        yield created
    finally:
        created.dispose()
        if request.param == "postgres":
            next(gate, None)


def user(name: str, user_id: str) -> UserRecord:
    return UserRecord(user_id, name, "/", f"{ARN}:user/{name}", NOW)


def test_entities_tags_policies_and_reset(engine: Engine) -> None:
    store = SqlIdentityStore(engine)
    with store.transaction(write=True) as tx:
        tx.insert_user(user("Alice", "AIDA1"))
        with pytest.raises(DuplicateEntity):
            tx.insert_user(user("alice", "AIDA2"))
        # The transaction is still usable after the refused insert (PostgreSQL savepoint).
        tx.replace_tags("user", "AIDA1", [("customer", "cust-1"), ("team", "a")])
        tx.insert_role(
            RoleRecord("AROA1", "r", "/", f"{ARN}:role/r", NOW, 3600, '{"Statement":[]}')
        )
        tx.insert_policy(
            ManagedPolicyRecord("ANPA1", "p", "/", f"{ARN}:policy/p", NOW, NOW, "v1", 2),
            PolicyVersionRecord("ANPA1", "v1", "{}", NOW),
        )
        tx.attach("user", "AIDA1", "ANPA1")
        tx.attach("user", "AIDA1", "ANPA1")  # twice is once
        tx.put_inline_policy("role", "AROA1", "inline", "{}")
        tx.insert_access_key(
            UserAccessKey("AKIAX", "AIDA1", "Active", NOW), f"{ARN}:user/Alice", b"w"
        )
    with store.transaction(write=False) as tx:
        found = tx.user_by_name("ALICE")
        assert found is not None
        assert found.id == "AIDA1"
        assert tx.tags("user", "AIDA1") == (("customer", "cust-1"), ("team", "a"))
        assert [p.arn for p in tx.attached("user", "AIDA1")] == [f"{ARN}:policy/p"]
        assert tx.attachment_counts() == {"ANPA1": 1}
        assert tx.default_documents(["ANPA1"]) == {"ANPA1": "{}"}
        assert [p.name for p in tx.inline_policies("role", "AROA1")] == ["inline"]
        assert [k.access_key_id for k in tx.access_keys_of("AIDA1")] == ["AKIAX"]
    with store.transaction(write=True) as tx:
        tx.reset()
    with store.transaction(write=False) as tx:
        assert tx.users() == []
        assert tx.roles() == []
        assert tx.policies() == []
        assert tx.access_key("AKIAX") is None


def test_sessions_round_trip_and_expire(engine: Engine) -> None:
    store = SqlIdentityStore(engine)
    session = SessionRecord(
        access_key_id="ASIAX",
        token_hash=b"h" * 32,
        wrapped_secret=b"w",
        owner_kind="role",
        owner_id="AROA1",
        session_name="s1",
        issued_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        source_identity="alice",
        tags=(("customer", "cust-1"),),
        transitive_tag_keys=("customer",),
        policies=('{"Statement":[]}',),
    )
    with store.transaction(write=True) as tx:
        tx.insert_session(session)
    with store.transaction(write=False) as tx:
        assert tx.session("ASIAX") == session
    assert store.delete_expired_sessions(NOW) == 0
    assert store.delete_expired_sessions(NOW + timedelta(hours=2)) == 1
    with store.transaction(write=False) as tx:
        assert tx.session("ASIAX") is None
