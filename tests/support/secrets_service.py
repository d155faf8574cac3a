"""A SecretsManagerService on a real SQLite store, a recording Authorizer and fake data keys."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from strongroom.authorization import AccessDecision, AccessRequest
from strongroom.clock import FrozenClock
from strongroom.context import CallContext
from strongroom.crypto.key_material import KeyMaterial
from strongroom.errors import AccessDeniedException
from strongroom.kms.cryptographic_operations import DataKey
from strongroom.secretsmanager.service import SecretsManagerService
from strongroom.storage import engines
from strongroom.storage.schema import secret_stages, secret_tags, secret_versions, secrets
from strongroom.storage.secret_repository import SqlSecretStore
from tests.support.dev_stack import ACCOUNT, root_context
from tests.support.migrated import sqlite_at_head

REGION = "us-east-1"
FAKE_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def call_context() -> CallContext:
    return root_context(REGION)


@dataclass
class RecordingAuthorizer:
    """Records every question; ``deny`` decides which requests are refused."""

    deny: Callable[[AccessRequest], bool] = lambda request: False
    asked: list[AccessRequest] = field(default_factory=list)

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        self.asked.append(request)
        if self.deny(request):
            return AccessDecision(False, "because the test says no")
        return AccessDecision(True)

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        if not self.decide(ctx, request).allowed:
            raise AccessDeniedException(
                f"User: {ctx.principal.arn} is not authorized to perform: {request.action} "
                f"on resource: {request.resource} because the test says no"
            )

    def actions(self) -> list[str]:
        return [r.action for r in self.asked]

    def last(self, action: str) -> AccessRequest:
        return [r for r in self.asked if r.action == action][-1]


@dataclass
class FakeDataKeys:
    """Data keys without KMS: the "encrypted" data key is the key itself (tests only)."""

    calls: list[str] = field(default_factory=list)

    def check_data_key_key(self, ctx: CallContext, reference: str) -> None:
        self.calls.append("check")

    def new_data_key(self, ctx: CallContext, reference: str, context: Mapping[str, str]) -> DataKey:
        self.calls.append("new")
        key = os.urandom(32)
        return DataKey(KeyMaterial(key), key, FAKE_KEY_ARN)

    def open_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str]
    ) -> KeyMaterial:
        self.calls.append("open")
        return KeyMaterial(blob)

    def rewrap_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str], destination: str
    ) -> tuple[bytes, str]:
        self.calls.append("rewrap")
        return blob, FAKE_KEY_ARN


@dataclass
class Harness:
    service: SecretsManagerService
    authorizer: RecordingAuthorizer
    data_keys: FakeDataKeys
    clock: FrozenClock
    engine: Engine
    store: SqlSecretStore

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every Secrets Manager table, to show that a call changed nothing."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as connection:
            for table in (secrets, secret_versions, secret_stages, secret_tags):
                rows = connection.execute(select(table)).all()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out

    def set_policy(self, arn: str, document: str | None) -> None:
        """Store a resource policy directly (no parser involved)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(secrets).where(secrets.c.arn == arn).values(resource_policy=document)
            )

    @contextmanager
    def denying(self, deny: Callable[[AccessRequest], bool]) -> Iterator[RecordingAuthorizer]:
        """Refuse what ``deny`` says within the block; record only what was asked in it."""
        self.authorizer.asked.clear()
        self.data_keys.calls.clear()
        self.authorizer.deny = deny
        try:
            yield self.authorizer
        finally:
            self.authorizer.deny = lambda request: False


@contextmanager
def service_harness(
    directory: Path, *, tenant_tag_key: str = "customer", cache_entries: int = 0
) -> Iterator[Harness]:
    """``cache_entries``: the store's read cache, as an embedded-SQLite server has it (its
    tests must then not write the tables behind the store's back, as ``set_policy`` does)."""
    engine = engines.create(sqlite_at_head(directory / "data.db", "data"))
    try:
        authorizer = RecordingAuthorizer()
        data_keys = FakeDataKeys()
        clock = FrozenClock(START)
        store = SqlSecretStore(engine, cache_entries=cache_entries)
        service = SecretsManagerService(
            store, data_keys, clock, authorizer, tenant_tag_key=tenant_tag_key
        )
        yield Harness(service, authorizer, data_keys, clock, engine, store)
    finally:
        engine.dispose()
