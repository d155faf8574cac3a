"""A KMS service stack on a SQLite file, with a recording fake Authorizer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongroom.authorization import AccessDecision, AccessRequest
from strongroom.clock import FrozenClock
from strongroom.context import ASSUMED_ROLE, IAM_USER, CallContext, Principal, SessionInfo
from strongroom.crypto.aead import random_key
from strongroom.errors import AccessDeniedException
from strongroom.ids import AccountId, Partition, Region
from strongroom.kms.aliases import AliasAdministration
from strongroom.kms.cryptographic_operations import CryptographicOperations
from strongroom.kms.grant_book import GrantBook
from strongroom.kms.grants import GrantAdministration
from strongroom.kms.key_access import KeyAccess
from strongroom.kms.key_administration import KeyAdministration
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_directory import KeyDirectory
from strongroom.kms.key_import import KeyImport
from strongroom.kms.key_policy_administration import KeyPolicyAdministration
from strongroom.kms.key_rotation import KeyRotation
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import KeyRing
from strongroom.storage import engines
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from tests.support.migrated import sqlite_at_head

ACCOUNT = "111122223333"
REGION = "us-east-1"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"


def call_context(principal: Principal) -> CallContext:
    return CallContext(
        principal=principal,
        account_id=AccountId(ACCOUNT),
        region=Region(REGION),
        partition=Partition("aws"),
        request_id="req-1",
        source_ip="127.0.0.1",
        user_agent="test",
    )


ROOT = call_context(Principal(arn=ROOT_ARN, principal_id=ACCOUNT, access_key_id="AKIAROOT"))
ALICE = call_context(
    Principal(
        arn=ALICE_ARN,
        principal_id="AIDAALICE",
        access_key_id="AKIAALICE",
        kind=IAM_USER,
        name="alice",
        identity_arn=ALICE_ARN,
    )
)
SESSION = call_context(
    Principal(
        arn=SESSION_ARN,
        principal_id="AROAAPP:s1",
        access_key_id="ASIAAPP",
        kind=ASSUMED_ROLE,
        name="s1",
        identity_arn=ROLE_ARN,
        session=SessionInfo(
            role_arn=ROLE_ARN, role_name="app", session_name="s1", issued_at=NOW, expires_at=NOW
        ),
    )
)


def tenant_bound(ctx: CallContext, tenant: str) -> CallContext:
    return replace(ctx, principal=replace(ctx.principal, tenant=tenant))


@dataclass
class RecordingAuthorizer:
    """Records every AccessRequest; allows what ``rule`` allows (default: everything).

    Like the real one, a KMS grant allows what the policies alone do not, unless denied
    explicitly (``rule`` returning None means "explicit deny")."""

    rule: Callable[[CallContext, AccessRequest], bool | None] = lambda ctx, request: True
    requests: list[AccessRequest] = field(default_factory=list)

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        self.requests.append(request)
        verdict = self.rule(ctx, request)
        if verdict is None:
            return AccessDecision(False, "explicit deny", explicit_deny=True)
        if verdict or request.granted():
            return AccessDecision(True)
        return AccessDecision(False, "no policy allows it")

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        decision = self.decide(ctx, request)
        if not decision.allowed:
            raise AccessDeniedException(
                f"User: {ctx.principal.arn} is not authorized to perform: {request.action}"
            )

    def actions(self) -> list[str]:
        return [r.action for r in self.requests]

    def clear(self) -> None:
        self.requests.clear()


@dataclass
class KmsStack:
    authorizer: RecordingAuthorizer
    clock: FrozenClock
    keys: KeyDirectory
    store: SqlKeyDirectoryStore
    grant_book: GrantBook
    administration: KeyAdministration
    aliases: AliasAdministration
    crypto: CryptographicOperations
    rotation: KeyRotation
    imports: KeyImport
    policies: KeyPolicyAdministration
    grants: GrantAdministration


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[KmsStack]:
    data = engines.create(sqlite_at_head(tmp_path / "data.db", "data"))
    keystore = engines.create(sqlite_at_head(tmp_path / "keystore.db", "keystore"))
    try:
        clock = FrozenClock(NOW)
        keyring = KeyRing(random_key(), SqlKeyMaterialStore(keystore), clock)
        keyring.open()
        store = SqlKeyDirectoryStore(data)
        keys = KeyDirectory(store, keyring, clock, ACCOUNT)
        access = KeyAccess(keys)
        usage = KeyUsageTracker(store, clock)
        authorizer = RecordingAuthorizer()
        book = GrantBook(store, keyring)
        authorization = KeyAuthorization(authorizer, keys, book)
        yield KmsStack(
            authorizer=authorizer,
            clock=clock,
            keys=keys,
            store=store,
            grant_book=book,
            administration=KeyAdministration(access, keyring, usage, clock, authorization),
            aliases=AliasAdministration(access, clock, authorization),
            crypto=CryptographicOperations(access, keyring, usage, authorization),
            rotation=KeyRotation(access, keyring, clock, authorization),
            imports=KeyImport(access, keyring, clock, authorization),
            policies=KeyPolicyAdministration(access, authorization),
            grants=GrantAdministration(access, clock, authorization),
        )
    finally:
        data.dispose()
        keystore.dispose()
