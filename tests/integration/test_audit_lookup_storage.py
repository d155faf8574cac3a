"""The lookup queries on both engines: each filter, keyset pages across equal times, following."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.lookup_query import EventQuery
from strongroom.storage import engines, migrate
from strongroom.storage.audit_lookup_repository import SqlAuditLookup
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.migrated import sqlite_at_head
from tests.support.postgres import postgres_url_or_skip

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REGION = "us-east-1"
SECRET = "AWS::SecretsManager::Secret"
ROOT = UserIdentity(type="Root", arn="arn:aws:iam::111122223333:root", access_key_id="AKIAROOT")
CAROL = UserIdentity(
    type="IAMUser",
    arn="arn:aws:iam::111122223333:user/carol",
    access_key_id="AKIACAROL",
    user_name="carol",
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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
            created.dispose()


def event(seconds: float, name: str, region: str = REGION, **fields: Any) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=T0 + timedelta(seconds=seconds),
        event_source=fields.pop("source", "secretsmanager.amazonaws.com"),
        event_name=name,
        aws_region=region,
        source_ip="127.0.0.1",
        user_agent="test",
        request_id=str(uuid.uuid4()),
        read_only=fields.pop("read_only", True),
        user_identity=fields.pop("identity", ROOT),
        **fields,
    )


def test_every_filter_on_both_engines(engine: Engine) -> None:
    db = AuditResource("arn:aws:secretsmanager:us-east-1:1:secret:db-x", SECRET, name="db")
    SqlAuditStore(engine).append(
        [
            event(1, "GetSecretValue", identity=CAROL, resources=(db,), tenant="t1"),
            event(2, "Decrypt", source="kms.amazonaws.com"),
            event(3, "PutSecretValue", read_only=False, resources=(db,)),
            event(4, "GetSecretValue", region="eu-west-1"),
        ]
    )
    lookup = SqlAuditLookup(engine)

    def names(**filters: Any) -> list[str]:
        return [e.event_name for e in lookup.find(EventQuery(REGION, **filters), None, 50)]

    assert names() == ["PutSecretValue", "Decrypt", "GetSecretValue"]
    assert names(event_name="Decrypt") == ["Decrypt"]
    assert names(username="carol") == ["GetSecretValue"]
    assert names(username="root") == ["PutSecretValue", "Decrypt"]
    assert names(access_key_id="AKIACAROL") == ["GetSecretValue"]
    assert names(principal_arn=ROOT.arn) == ["PutSecretValue", "Decrypt"]
    assert names(event_source="kms.amazonaws.com") == ["Decrypt"]
    assert names(read_only=False) == ["PutSecretValue"]
    assert names(tenant="t1") == ["GetSecretValue"]
    assert names(resource_name="db") == ["PutSecretValue", "GetSecretValue"]
    assert names(resource_name=db.arn, tenant="t1") == ["GetSecretValue"]
    assert names(resource_type=SECRET) == ["PutSecretValue", "GetSecretValue"]
    assert names(start=T0 + timedelta(seconds=2), end=T0 + timedelta(seconds=3)) == [
        "PutSecretValue",
        "Decrypt",
    ]
    (found,) = lookup.find(EventQuery(REGION, resource_name="db", read_only=False), None, 50)
    assert sorted(found.resources) == [(SECRET, db.arn), (SECRET, "db")]


def test_keyset_pages_across_equal_times_on_both_engines(engine: Engine) -> None:
    SqlAuditStore(engine).append([event(i // 5, "GetSecretValue") for i in range(23)])
    lookup = SqlAuditLookup(engine)
    seen: list[int] = []
    after = None
    while page := lookup.find(EventQuery(REGION), after, 4):
        seen.extend(e.seq for e in page)
        after = page[-1].cursor
    assert seen == list(range(23, 0, -1))


def test_follow_on_both_engines(engine: Engine) -> None:
    store = SqlAuditStore(engine)
    store.append([event(0, "A")])
    lookup = SqlAuditLookup(engine)
    heads = lookup.heads()
    store.append([event(1, "B", tenant="t1"), event(2, "C", tenant="t2")])
    batch = lookup.follow(heads, "t2", 10)
    assert [e.event_name for e in batch.events] == ["C"]
    assert batch.positions == {REGION: 3}
