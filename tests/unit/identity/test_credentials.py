"""The CredentialDirectory: root key, IAM users' keys and STS sessions, for the SigV4 edge."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest

from strongroom.context import ASSUMED_ROLE, IAM_USER
from strongroom.context import ROOT as ROOT_KIND
from strongroom.errors import ExpiredTokenException
from strongroom.identity import iam_shapes as iam
from strongroom.identity import sts_shapes as sts
from strongroom.identity.credentials import IssuedCredentials
from strongroom.storage import engines
from strongroom.storage.schema import iam_sessions
from tests.unit.identity.conftest import (
    ACCOUNT,
    NOW,
    ROOT,
    ROOT_ARN,
    ROOT_KEY,
    IdentityStack,
    identity_document,
)


def user_with_key(stack: IdentityStack, name: str = "alice", **tags: str) -> iam.AccessKey:
    stack.users.create_user(
        ROOT,
        iam.CreateUserRequest(
            user_name=name, tags=tuple(iam.Tag(key=k, value=v) for k, v in tags.items())
        ),
    )
    return stack.users.create_access_key(
        ROOT, iam.CreateAccessKeyRequest(user_name=name)
    ).access_key


def root_session(stack: IdentityStack, seconds: int = 900) -> sts.Credentials:
    credentials = stack.sts.get_session_token(
        ROOT, sts.GetSessionTokenRequest(duration_seconds=seconds)
    ).credentials
    assert credentials is not None
    return credentials


# -- the account root's key ---------------------------------------------------------------------


def test_the_root_key_resolves_to_its_secret_and_the_root_principal(stack: IdentityStack) -> None:
    directory = stack.credentials
    assert directory.secret_access_key(ROOT_KEY.access_key_id) == ROOT_KEY.secret_access_key
    assert directory.principal_arn(ROOT_KEY.access_key_id) == ROOT_ARN
    principal = directory.principal(ROOT_KEY.access_key_id, None, "aws")
    assert principal is not None
    assert (principal.kind, principal.arn, principal.principal_id) == (ROOT_KIND, ROOT_ARN, ACCOUNT)
    assert principal.access_key_id == ROOT_KEY.access_key_id


def test_the_root_principal_is_named_in_the_request_partition(stack: IdentityStack) -> None:
    principal = stack.credentials.principal(ROOT_KEY.access_key_id, None, "aws-cn")
    assert principal is not None
    assert principal.arn == f"arn:aws-cn:iam::{ACCOUNT}:root"


def test_a_session_token_sent_with_a_long_term_key_is_refused(stack: IdentityStack) -> None:
    assert stack.credentials.principal(ROOT_KEY.access_key_id, "some-token", "aws") is None


def test_an_unknown_key_resolves_to_nothing(stack: IdentityStack) -> None:
    for key in ("AKIAUNKNOWNUNKNOWN00", "ASIAUNKNOWNUNKNOWN00"):
        assert stack.credentials.secret_access_key(key) is None
        assert stack.credentials.principal(key, None, "aws") is None


def test_root_credentials_are_kept_or_replaced(stack: IdentityStack) -> None:
    directory = stack.credentials
    assert directory.ensure_root_credentials(ROOT_ARN, None) == ROOT_KEY
    replacement = IssuedCredentials("AKIAROOTROOTROOT0002", "another-secret-" + "x" * 25)
    assert directory.ensure_root_credentials(ROOT_ARN, replacement) == replacement
    # The old key is gone at once (not served from the cache).
    assert directory.secret_access_key(ROOT_KEY.access_key_id) is None
    assert directory.principal(ROOT_KEY.access_key_id, None, "aws") is None
    assert directory.secret_access_key(replacement.access_key_id) == replacement.secret_access_key


# -- IAM users' keys ------------------------------------------------------------------------------


def test_a_user_key_resolves_to_the_user_with_tags_and_tenant(stack: IdentityStack) -> None:
    key = user_with_key(stack, customer="acme", team="payments")
    assert key.access_key_id.startswith("AKIA")
    assert len(key.access_key_id) == 20
    assert stack.credentials.secret_access_key(key.access_key_id) == key.secret_access_key
    principal = stack.credentials.principal(key.access_key_id, None, "aws")
    assert principal is not None
    assert principal.kind == IAM_USER
    assert principal.name == "alice"
    assert principal.arn == principal.identity_arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert principal.principal_id.startswith("AIDA")
    assert dict(principal.tags) == {"customer": "acme", "team": "payments"}
    assert principal.tenant == "acme"
    assert stack.credentials.principal(key.access_key_id, "a-token", "aws") is None


def test_the_tenant_tag_key_is_matched_case_insensitively(stack: IdentityStack) -> None:
    key = user_with_key(stack, Customer="globex")
    principal = stack.credentials.principal(key.access_key_id, None, "aws")
    assert principal is not None
    assert principal.tenant == "globex"


def test_a_deactivated_key_is_refused_at_once_and_works_again_when_reactivated(
    stack: IdentityStack,
) -> None:
    key = user_with_key(stack)
    assert stack.credentials.principal(key.access_key_id, None, "aws") is not None  # cached now
    stack.users.update_access_key(
        ROOT,
        iam.UpdateAccessKeyRequest(
            user_name="alice", access_key_id=key.access_key_id, status="Inactive"
        ),
    )
    assert stack.credentials.principal(key.access_key_id, None, "aws") is None
    assert stack.credentials.secret_access_key(key.access_key_id) is None
    stack.users.update_access_key(
        ROOT,
        iam.UpdateAccessKeyRequest(
            user_name="alice", access_key_id=key.access_key_id, status="Active"
        ),
    )
    assert stack.credentials.principal(key.access_key_id, None, "aws") is not None


def test_a_deleted_key_is_refused_at_once(stack: IdentityStack) -> None:
    key = user_with_key(stack)
    assert stack.credentials.secret_access_key(key.access_key_id) == key.secret_access_key
    stack.users.delete_access_key(
        ROOT, iam.DeleteAccessKeyRequest(user_name="alice", access_key_id=key.access_key_id)
    )
    assert stack.credentials.secret_access_key(key.access_key_id) is None
    assert stack.credentials.principal(key.access_key_id, None, "aws") is None


def test_tags_changed_by_iam_show_in_the_principal_at_once(stack: IdentityStack) -> None:
    key = user_with_key(stack, customer="acme")
    assert stack.credentials.principal(key.access_key_id, None, "aws") is not None
    stack.users.untag_user(ROOT, iam.UntagUserRequest(user_name="alice", tag_keys=("customer",)))
    principal = stack.credentials.principal(key.access_key_id, None, "aws")
    assert principal is not None
    assert principal.tenant is None


def test_a_change_made_by_another_process_is_seen_within_a_second(
    stack: IdentityStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another server process does not bump this one's generation: the cache's age bounds it."""
    ticks = [1000.0]
    monkeypatch.setattr("strongroom.identity.changes.time.monotonic", lambda: ticks[0])
    key = user_with_key(stack)
    assert stack.credentials.principal(key.access_key_id, None, "aws") is not None
    with stack.store.transaction(write=True) as tx:  # behind this process's back
        tx.set_access_key_status(key.access_key_id, "Inactive")
    ticks[0] += 0.5
    assert stack.credentials.principal(key.access_key_id, None, "aws") is not None
    ticks[0] += 0.5
    assert stack.credentials.principal(key.access_key_id, None, "aws") is None


def test_using_a_user_key_records_its_last_use(stack: IdentityStack) -> None:
    key = user_with_key(stack)
    request = iam.GetAccessKeyLastUsedRequest(access_key_id=key.access_key_id)
    before = stack.users.get_access_key_last_used(ROOT, request).access_key_last_used
    assert before is not None
    assert before.last_used_date is None
    stack.credentials.principal(key.access_key_id, None, "aws")
    after = stack.users.get_access_key_last_used(ROOT, request).access_key_last_used
    assert after is not None
    assert after.last_used_date == NOW


# -- STS sessions ---------------------------------------------------------------------------------


def test_a_session_needs_its_own_token(stack: IdentityStack) -> None:
    first, second = root_session(stack), root_session(stack)
    assert first.access_key_id.startswith("ASIA")
    directory = stack.credentials
    assert directory.secret_access_key(first.access_key_id) == first.secret_access_key
    principal = directory.principal(first.access_key_id, first.session_token, "aws")
    assert principal is not None
    assert (principal.kind, principal.arn, principal.access_key_id) == (
        ROOT_KIND,
        ROOT_ARN,
        first.access_key_id,
    )
    assert directory.principal(first.access_key_id, None, "aws") is None
    assert directory.principal(first.access_key_id, "", "aws") is None
    assert directory.principal(first.access_key_id, second.session_token, "aws") is None
    assert directory.principal(first.access_key_id, first.session_token + "x", "aws") is None


def test_the_token_is_compared_in_constant_time_and_stored_only_as_a_digest(
    stack: IdentityStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = root_session(stack)
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert stack.credentials.principal(session.access_key_id, "wrong", "aws") is None
    digest = hashlib.sha256(session.session_token.encode()).digest()
    assert compared == [(hashlib.sha256(b"wrong").digest(), digest)]

    with stack.store.transaction(write=False) as tx:
        record = tx.session(session.access_key_id)
    assert record is not None
    assert record.token_hash == digest
    engine = stack.store._engine
    with engines.transaction(engine, write=False) as c:
        row = c.execute(iam_sessions.select()).one()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert session.session_token.encode() not in stored
    assert session.secret_access_key.encode() not in stored


def test_an_expired_session_says_so_but_only_to_the_right_token(stack: IdentityStack) -> None:
    session = root_session(stack, seconds=900)
    key, token = session.access_key_id, session.session_token
    stack.clock.advance(timedelta(seconds=899))
    assert stack.credentials.principal(key, token, "aws") is not None
    stack.clock.advance(timedelta(seconds=1))
    with pytest.raises(ExpiredTokenException):
        stack.credentials.principal(key, token, "aws")
    # Still known, so the edge can verify the signature and then say "expired".
    assert stack.credentials.secret_access_key(key) == session.secret_access_key
    assert stack.credentials.principal(key, "wrong", "aws") is None


def test_a_user_session_resolves_to_the_user(stack: IdentityStack) -> None:
    key = user_with_key(stack, customer="acme")
    ctx = stack.context_for(key.access_key_id)
    session = stack.sts.get_session_token(ctx, sts.GetSessionTokenRequest()).credentials
    assert session is not None
    assert session.expiration == NOW + timedelta(hours=12)
    principal = stack.credentials.principal(session.access_key_id, session.session_token, "aws")
    assert principal is not None
    assert (principal.kind, principal.name, principal.tenant) == (IAM_USER, "alice", "acme")
    assert principal.access_key_id == session.access_key_id


def test_a_role_session_carries_role_and_session_tags(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    stack.roles.tag_role(
        ROOT,
        iam.TagRoleRequest(
            role_name="app",
            tags=(iam.Tag(key="customer", value="acme"), iam.Tag(key="tier", value="gold")),
        ),
    )
    response = stack.sts.assume_role(
        ROOT,
        sts.AssumeRoleRequest(
            role_arn=role_arn,
            role_session_name="s1",
            tags=(sts.Tag(key="Customer", value="globex"),),
        ),
    )
    assert response.credentials is not None
    credentials = response.credentials
    principal = stack.credentials.principal(
        credentials.access_key_id, credentials.session_token, "aws"
    )
    assert principal is not None
    assert principal.kind == ASSUMED_ROLE
    assert principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
    assert principal.identity_arn == role_arn
    # The session tag overrides the role tag whose key differs only in case.
    assert dict(principal.tags) == {"tier": "gold", "Customer": "globex"}
    assert principal.tenant == "globex"
    assert principal.session is not None
    assert principal.session.expires_at == NOW + timedelta(hours=1)
    assert dict(principal.session.tags) == {"Customer": "globex"}


def test_a_role_session_not_cached_is_resolved_with_its_policies_in_one_read_transaction(
    stack: IdentityStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With many tenants most principals are not cached when they call: the session, its
    # role, the role's tags and its policies are read together, not one transaction each.
    role_arn = stack.create_role("app")
    stack.roles.tag_role(
        ROOT, iam.TagRoleRequest(role_name="app", tags=(iam.Tag(key="customer", value="acme"),))
    )
    credentials = stack.sts.assume_role(
        ROOT, sts.AssumeRoleRequest(role_arn=role_arn, role_session_name="s1")
    ).credentials
    assert credentials is not None
    stack.policies.put_role_policy(
        ROOT,
        iam.PutRolePolicyRequest(
            role_name="app", policy_name="app-policy", policy_document=identity_document()
        ),
    )
    stack.credentials.forget_cached()
    opened: list[bool] = []
    transaction = engines.transaction

    def counted(engine: Any, *, write: bool) -> Any:
        opened.append(write)
        return transaction(engine, write=write)

    monkeypatch.setattr(engines, "transaction", counted)
    principal = stack.credentials.principal(
        credentials.access_key_id, credentials.session_token, "aws"
    )
    assert principal is not None
    assert principal.tenant == "acme"
    # The role's policies came in the same read, for the authorizer.
    policies = stack.directory.policies_for(principal)
    assert [p.name for p in policies.identity] == [f"{role_arn}/inline/app-policy"]
    assert opened == [False]


def test_deleting_the_role_ends_its_sessions(stack: IdentityStack) -> None:
    role_arn = stack.create_role("app")
    credentials = stack.sts.assume_role(
        ROOT, sts.AssumeRoleRequest(role_arn=role_arn, role_session_name="s1")
    ).credentials
    assert credentials is not None
    key, token = credentials.access_key_id, credentials.session_token
    assert stack.credentials.principal(key, token, "aws") is not None
    stack.roles.delete_role(ROOT, iam.DeleteRoleRequest(role_name="app"))
    assert stack.credentials.principal(key, token, "aws") is None
    assert stack.credentials.secret_access_key(key) is None
