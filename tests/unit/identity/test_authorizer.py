"""The Authorizer: tenant guard, policy evaluation per principal kind, AWS's denial messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.authorization import AccessRequest, ResourcePolicy
from strongroom.clock import FrozenClock
from strongroom.context import ASSUMED_ROLE, IAM_USER, CallContext, Principal, SessionInfo
from strongroom.crypto.aead import random_key
from strongroom.errors import (
    AccessDenied,
    AccessDeniedException,
    InvalidAuthorizationMessageException,
)
from strongroom.identity import authorizer as authorizer_module
from strongroom.identity.authorization_messages import AuthorizationMessages
from strongroom.identity.authorizer import PolicyAuthorizer
from strongroom.ids import AccountId, Partition, Region
from strongroom.kms.keyring import KeyRing
from tests.unit.kms.test_keyring import MemoryKeyMaterialStore

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/cust-1/db-AbCdEf"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "AKIAROOT")


@dataclass(frozen=True)
class Attached:
    name: str
    document: str


@dataclass
class Policies:
    identity: list[Attached] = field(default_factory=list)
    boundary: Attached | None = None


class PolicyTable:
    """Identity policies per principal ARN, as the IAM directory would return them."""

    def __init__(self) -> None:
        self.by_arn: dict[str, Policies] = {}

    def policies_for(self, principal: Principal) -> Policies:
        return self.by_arn.get(principal.identity_arn or principal.arn, Policies())


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def _user(name: str, tags: dict[str, str] | None = None, tenant: str | None = None) -> Principal:
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    return Principal(arn, "AIDAEXAMPLE", "AKIAUSER", IAM_USER, name, arn, tags or {}, tenant)


def _session(role: str, tags: dict[str, str], policies: tuple[str, ...] = ()) -> Principal:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    info = SessionInfo(
        role_arn,
        role,
        "s1",
        NOW,
        NOW + timedelta(hours=1),
        tags=tags,
        policies=policies,
        has_session_policies=bool(policies),
    )
    return Principal(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1",
        "AROAEXAMPLE:s1",
        "ASIASESSION",
        ASSUMED_ROLE,
        role,
        role_arn,
        tags,
        tags.get("customer"),
        info,
    )


def _ctx(principal: Principal) -> CallContext:
    return CallContext(
        principal,
        AccountId(ACCOUNT),
        Region("us-east-1"),
        Partition("aws"),
        "req-1",
        "127.0.0.1",
        "test",
    )


@pytest.fixture
def table() -> PolicyTable:
    return PolicyTable()


@pytest.fixture
def messages() -> AuthorizationMessages:
    ring = KeyRing(random_key(), MemoryKeyMaterialStore(), FrozenClock(NOW))
    ring.open()
    return AuthorizationMessages(ring)


@pytest.fixture
def authorizer(table: PolicyTable, messages: AuthorizationMessages) -> PolicyAuthorizer:
    return PolicyAuthorizer(table, FrozenClock(NOW), messages)


def _get(resource: str = SECRET, **kwargs: Any) -> AccessRequest:
    return AccessRequest("secretsmanager:GetSecretValue", resource, **kwargs)


def test_root_is_allowed_without_a_resource_policy(authorizer: PolicyAuthorizer) -> None:
    assert authorizer.decide(_ctx(ROOT), _get()).allowed


def test_ten_thousand_tenants_policies_are_not_parsed_again_on_every_call(
    table: PolicyTable, authorizer: PolicyAuthorizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The article's policy, one text per tenant role: once every tenant has called, the same
    # calls must not parse documents again (an LRU cache smaller than the cycle of texts in
    # use misses every time). A new decision parses its documents: that is once per decision.
    principals = []
    for i in range(10_000):
        principal = _session(f"tenant-{i}", {"customer": f"cust-{i}"})
        resource = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/cust-{i}/*"
        table.by_arn[principal.identity_arn or ""] = Policies(
            [Attached("tenant", _doc(_allow("secretsmanager:GetSecretValue", resource)))]
        )
        principals.append(principal)
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/cust-{{}}/db-AbCdEf"
    for i, principal in enumerate(principals):
        assert authorizer.decide(_ctx(principal), _get(secret.format(i))).allowed
    parses: list[str] = []
    parse = authorizer_module.parse_policy

    def counting_parse(text: str, kind: str) -> Any:
        parses.append(text)
        return parse(text, kind)

    monkeypatch.setattr(authorizer_module, "parse_policy", counting_parse)
    for i, principal in enumerate(principals):
        assert authorizer.decide(_ctx(principal), _get(secret.format(i))).allowed
    assert parses == []


def test_root_is_bound_by_a_key_policy_that_does_not_name_the_account(
    authorizer: PolicyAuthorizer,
) -> None:
    other = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/x"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    default = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    request = AccessRequest("kms:Decrypt", KEY, resource_policy=ResourcePolicy(other, True, "key"))
    assert not authorizer.decide(_ctx(ROOT), request).allowed
    request = AccessRequest(
        "kms:Decrypt", KEY, resource_policy=ResourcePolicy(default, True, "key")
    )
    assert authorizer.decide(_ctx(ROOT), request).allowed


def test_a_user_needs_an_identity_policy(authorizer: PolicyAuthorizer, table: PolicyTable) -> None:
    alice = _user("alice")
    decision = authorizer.decide(_ctx(alice), _get())
    assert not decision.allowed
    assert decision.reason == (
        "because no identity-based policy allows the secretsmanager:GetSecretValue action"
    )
    table.by_arn[alice.arn] = Policies([Attached("p", _doc(_allow("secretsmanager:Get*")))])
    assert authorizer.decide(_ctx(alice), _get()).allowed
    table.by_arn[alice.arn].identity.append(Attached("d", _doc(_deny("secretsmanager:*"))))
    denied = authorizer.decide(_ctx(alice), _get())
    assert not denied.allowed
    assert denied.explicit_deny
    assert denied.reason == "with an explicit deny in an identity-based policy"


def test_a_permissions_boundary_limits_an_allow(
    authorizer: PolicyAuthorizer, table: PolicyTable
) -> None:
    bob = _user("bob")
    table.by_arn[bob.arn] = Policies(
        [Attached("p", _doc(_allow("secretsmanager:*")))],
        boundary=Attached("b", _doc(_allow("kms:*"))),
    )
    decision = authorizer.decide(_ctx(bob), _get())
    assert not decision.allowed
    assert "permissions boundary" in decision.reason


def test_session_policies_narrow_the_role(authorizer: PolicyAuthorizer, table: PolicyTable) -> None:
    narrowed = _session("reader", {}, policies=(_doc(_allow("kms:Decrypt")),))
    table.by_arn[f"arn:aws:iam::{ACCOUNT}:role/reader"] = Policies(
        [Attached("p", _doc(_allow("secretsmanager:GetSecretValue")))]
    )
    decision = authorizer.decide(_ctx(narrowed), _get())
    assert not decision.allowed
    assert "session policy" in decision.reason
    assert authorizer.decide(_ctx(_session("reader", {})), _get()).allowed


def test_abac_uses_principal_and_resource_tags(
    authorizer: PolicyAuthorizer, table: PolicyTable
) -> None:
    condition = {
        "StringEquals": {"secretsmanager:ResourceTag/customer": "${aws:PrincipalTag/customer}"}
    }
    table.by_arn[f"arn:aws:iam::{ACCOUNT}:role/fetcher"] = Policies(
        [Attached("abac", _doc(_allow("secretsmanager:GetSecretValue", Condition=condition)))]
    )
    session = _session("fetcher", {"customer": "cust-1"})
    own = _get(resource_tags={"customer": "cust-1"}, resource_tenant="cust-1")
    assert authorizer.decide(_ctx(session), own).allowed
    untagged = _get(resource_tags={})
    assert not authorizer.decide(_ctx(session), untagged).allowed


@pytest.mark.parametrize(
    "request_",
    [
        _get(resource_tenant="cust-12"),
        _get(resource_tenant="CUST-1"),
        AccessRequest("kms:Decrypt", KEY, request_tenants=frozenset({"cust-12"})),
        AccessRequest(
            "secretsmanager:TagResource", SECRET, tag_keys_written=frozenset({"Customer"})
        ),
    ],
)
def test_the_tenant_guard_beats_any_policy(
    authorizer: PolicyAuthorizer, table: PolicyTable, request_: AccessRequest
) -> None:
    admin = _user("cust-1-admin", {"customer": "cust-1"}, tenant="cust-1")
    table.by_arn[admin.arn] = Policies([Attached("all", _doc(_allow("*")))])
    decision = authorizer.decide(_ctx(admin), request_)
    assert not decision.allowed
    assert decision.tenant_guard
    # The same request for its own tenant passes the guard.
    assert authorizer.decide(_ctx(admin), _get(resource_tenant="cust-1")).allowed


def test_a_grant_adds_access_but_never_beats_a_deny(
    authorizer: PolicyAuthorizer, table: PolicyTable
) -> None:
    carol = _user("carol")
    default = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    policy = ResourcePolicy(default, True, "key")
    request = AccessRequest("kms:Decrypt", KEY, resource_policy=policy, allowed_by_grant=True)
    assert authorizer.decide(_ctx(carol), request).allowed
    table.by_arn[carol.arn] = Policies([Attached("d", _doc(_deny("kms:Decrypt")))])
    assert not authorizer.decide(_ctx(carol), request).allowed


def test_denials_speak_aws_and_carry_an_encoded_message(
    authorizer: PolicyAuthorizer, messages: AuthorizationMessages
) -> None:
    alice = _user("alice")
    with pytest.raises(AccessDeniedException) as denied:
        authorizer.authorize(
            _ctx(alice), _get(context={"secretsmanager:Name": "/customer/cust-1/db"})
        )
    message = denied.value.message
    assert message.startswith(
        f"User: {alice.arn} is not authorized to perform: secretsmanager:GetSecretValue "
        f"on resource: {SECRET} because no identity-based policy allows"
    )
    encoded = re.search(r"Encoded authorization failure message: (\S+)$", message)
    assert encoded is not None
    details = json.loads(messages.decode(encoded.group(1)))
    assert details["allowed"] is False
    assert details["context"]["action"] == "secretsmanager:GetSecretValue"
    assert details["context"]["principal"]["arn"] == alice.arn
    with pytest.raises(AccessDenied):
        authorizer.authorize(_ctx(alice), AccessRequest("iam:CreateUser", "*"))


@pytest.mark.parametrize("text", ["", "not-base64!", "QUJD", "A" * 20_000])
def test_foreign_encoded_messages_are_refused(messages: AuthorizationMessages, text: str) -> None:
    with pytest.raises(InvalidAuthorizationMessageException):
        messages.decode(text)


def test_the_lazy_key_lookup_agrees_with_the_full_context(authorizer: PolicyAuthorizer) -> None:
    """The decision cache reads only the keys a policy mentions; each must be exactly what
    the full condition context holds, or a cached decision could differ from a fresh one."""
    session = _session("fetcher", {"Customer": "cust-1", "team": "a"})
    requests = [
        _get(resource_tags={"customer": "cust-1", "Env": "prod"}),
        AccessRequest(
            "kms:Decrypt",
            KEY,
            context={
                "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                "aws:SourceIp": "x",
            },
            resource_tags={"customer": "cust-2"},
        ),
        AccessRequest("iam:CreateUser", "*", context={"aws:TagKeys": ("a", "b")}),
    ]
    for principal in (ROOT, _user("alice", {"customer": "cust-9"}), session):
        for request in requests:
            full = authorizer._condition_keys(_ctx(principal), request)
            names = [*full, "aws:principaltag/missing", "kms:encryptioncontextkeys", "x:y"]
            for name in names:
                assert authorizer._key_value(_ctx(principal), request, name) == full.get(name), name
