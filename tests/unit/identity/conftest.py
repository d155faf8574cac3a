"""IAM, STS and the credential directory on a SQLite file, with an allow-all Authorizer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongroom.authorization import AccessDecision, AccessRequest
from strongroom.clock import FrozenClock
from strongroom.context import CallContext, Principal
from strongroom.crypto.aead import random_key
from strongroom.identity import iam_shapes as iam
from strongroom.identity.changes import IdentityChanges
from strongroom.identity.credentials import CredentialDirectory, IssuedCredentials, root_principal
from strongroom.identity.directory import IdentityDirectory
from strongroom.identity.iam_groups import IamGroups
from strongroom.identity.iam_policies import IamPolicies
from strongroom.identity.iam_roles import IamRoles
from strongroom.identity.iam_users import IamUsers
from strongroom.identity.sts import StsService
from strongroom.ids import AccountId, Partition, Region
from strongroom.kms.keyring import KeyRing
from strongroom.storage import engines
from strongroom.storage.access_key_repository import SqlAccessKeyStore
from strongroom.storage.identity_repository import SqlIdentityStore
from tests.support.migrated import sqlite_at_head
from tests.unit.kms.test_keyring import MemoryKeyMaterialStore

ACCOUNT = "123456789012"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ROOT_KEY = IssuedCredentials("AKIAROOTROOTROOT0001", "root-secret-" + "r" * 28)
ALLOW_ALL_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ROOT_ARN},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
)


def identity_document(action: str = "secretsmanager:GetSecretValue") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
        }
    )


def call_context(principal: Principal) -> CallContext:
    return CallContext(
        principal=principal,
        account_id=AccountId(ACCOUNT),
        region=Region("us-east-1"),
        partition=Partition("aws"),
        request_id="req-1",
        source_ip="127.0.0.1",
        user_agent="test",
    )


ROOT = call_context(root_principal("aws", ACCOUNT, ROOT_KEY.access_key_id))


@dataclass
class AllowAll:
    """Allows every request and remembers which actions were asked about."""

    actions: list[str] = field(default_factory=list)

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        self.actions.append(request.action)
        return AccessDecision(True)

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        self.decide(ctx, request)


class NoMessages:
    def decode(self, text: str) -> str:
        return text


@dataclass
class IdentityStack:
    clock: FrozenClock
    store: SqlIdentityStore
    changes: IdentityChanges
    authorizer: AllowAll
    credentials: CredentialDirectory
    directory: IdentityDirectory
    users: IamUsers
    roles: IamRoles
    groups: IamGroups
    policies: IamPolicies
    sts: StsService

    def context_for(self, access_key_id: str, session_token: str | None = None) -> CallContext:
        """The call context the edge would build for this (verified) key."""
        principal = self.credentials.principal(access_key_id, session_token, "aws")
        assert principal is not None
        return call_context(principal)

    def create_role(self, name: str, max_session_duration: int | None = None) -> str:
        role = self.roles.create_role(
            ROOT,
            iam.CreateRoleRequest(
                role_name=name,
                assume_role_policy_document=ALLOW_ALL_TRUST,
                max_session_duration=max_session_duration,
            ),
        ).role
        return role.arn


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[IdentityStack]:
    data = engines.create(sqlite_at_head(tmp_path / "data.db", "data"))
    try:
        clock = FrozenClock(NOW)
        keyring = KeyRing(random_key(), MemoryKeyMaterialStore(), clock)
        keyring.open()
        store = SqlIdentityStore(data)
        changes = IdentityChanges()
        authorizer = AllowAll()
        directory = IdentityDirectory(store, changes)
        credentials = CredentialDirectory(
            SqlAccessKeyStore(data),
            keyring,
            clock,
            store,
            changes,
            tenant_tag_key="customer",
            policies=directory,
        )
        credentials.ensure_root_credentials(ROOT_ARN, ROOT_KEY)
        parts = (store, authorizer, clock, changes)
        yield IdentityStack(
            clock=clock,
            store=store,
            changes=changes,
            authorizer=authorizer,
            credentials=credentials,
            directory=directory,
            users=IamUsers(*parts, keyring),
            roles=IamRoles(*parts),
            groups=IamGroups(*parts),
            policies=IamPolicies(*parts),
            sts=StsService(*parts, keyring, NoMessages()),
        )
    finally:
        data.dispose()
