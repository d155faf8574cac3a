"""evaluate across policy types, principals, resources and the article's two policies."""

from __future__ import annotations

import json

import pytest

from strongroom.policy import (
    IDENTITY_POLICY,
    PERMISSIONS_BOUNDARY,
    RESOURCE_POLICY,
    SESSION_POLICY,
    Decision,
    MatchedStatement,
    NamedPolicy,
    PolicyKind,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
    principal_match,
    public_statements,
)

ACCOUNT = "123456789012"
OTHER = "444455556666"
SM = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
ALICE = PrincipalRef((f"arn:aws:iam::{ACCOUNT}:user/alice",), ACCOUNT)
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Tenant/s1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Tenant"
SESSION = PrincipalRef((SESSION_ARN, ROLE_ARN), ACCOUNT)
ROOT = PrincipalRef((f"arn:aws:iam::{ACCOUNT}:root",), ACCOUNT)
GET = "secretsmanager:GetSecretValue"

# The two policies of ../shared/reference/article-multi-tenant-secret-storage.txt, verbatim.
ARTICLE_ARN_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret"
      ],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-12345/*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue"
      ],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/shared/*"
    }
  ]
}"""
ARTICLE_TAG_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "secretsmanager:ResourceTag/customer": "${aws:PrincipalTag/customer}"
        }
      }
    }
  ]
}"""


def named(name: str, kind: PolicyKind, *statements: dict[str, object]) -> NamedPolicy:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return NamedPolicy(name, parse_policy(text, kind))


def allow(action: str = GET, resource: str = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource} | extra


def deny(action: str = GET, resource: str = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Deny", "Action": action, "Resource": resource} | extra


def request(
    resource: str = SM + "s",
    action: str = GET,
    principal: PrincipalRef = ALICE,
    **keys: tuple[str, ...],
) -> RequestContext:
    return RequestContext(
        action, resource, principal, {k.replace("__", "/"): v for k, v in keys.items()}
    )


# --- the article's policies -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "action", "allowed"),
    [
        ("/customer/cust-12345/db-password-AbCdEf", GET, True),
        ("/customer/cust-12345/api-key-stripe-AbCdEf", "secretsmanager:DescribeSecret", True),
        ("/customer/cust-12345/a/b/c", GET, True),
        ("/customer/cust-12345/db-password-AbCdEf", "secretsmanager:PutSecretValue", False),
        ("/customer/cust-67890/db-password-AbCdEf", GET, False),
        ("/customer/cust-1234/db-password", GET, False),
        ("/customer/cust-123456/db-password", GET, False),
        ("/customer/cust-12345x/db-password", GET, False),
        ("/customer/cust-12345", GET, False),
        ("/customer/cust-12345/", GET, True),  # the wildcard matches the empty string
        ("/Customer/cust-12345/db", GET, False),
        ("/customer/CUST-12345/db", GET, False),
        ("/customer/cust-12345/../cust-67890/db", GET, True),  # literal: no normalisation
        ("/customer/cust-67890/../cust-12345/db", GET, False),
        ("/customer//cust-12345/db", GET, False),
        ("/customer/cust-12345%2Fdb", GET, False),
        ("/shared/vendor/stripe-AbCdEf", GET, True),
        ("/shared/vendor/stripe-AbCdEf", "secretsmanager:DescribeSecret", False),
        ("/sharedx/db", GET, False),
        ("/Shared/db", GET, False),
    ],
)
def test_article_arn_policy(name: str, action: str, allowed: bool) -> None:
    policy = NamedPolicy("tenant", parse_policy(ARTICLE_ARN_POLICY, "identity"))
    decision = evaluate(request(SM + name, action, SESSION), identity=[policy])
    assert decision.allowed is allowed
    if not allowed:
        assert decision == Decision("ImplicitDeny", IDENTITY_POLICY, ())


def test_article_arn_policy_other_region_or_account() -> None:
    policy = NamedPolicy("tenant", parse_policy(ARTICLE_ARN_POLICY, "identity"))
    for resource in (
        f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:/customer/cust-12345/db",
        f"arn:aws:secretsmanager:us-east-1:{OTHER}:secret:/customer/cust-12345/db",
    ):
        assert not evaluate(request(resource), identity=[policy]).allowed


@pytest.mark.parametrize(
    ("principal_tag", "resource_tag", "allowed"),
    [
        ("cust-1", "cust-1", True),
        ("cust-12", "cust-12", True),
        ("cust-1", "cust-12", False),
        ("cust-12", "cust-1", False),
        ("cust-1", "cust-1x", False),
        ("cust-1", "CUST-1", False),
        ("cust-1", "cust-1 ", False),
        ("cust-1", "cust\u20101", False),  # U+2010 hyphen
        ("cust-*", "cust-1", False),  # a tag value is literal, never a wildcard
        ("*", "cust-1", False),
        ("", "", True),
        (None, "cust-1", False),  # untagged principal
        ("cust-1", None, False),  # untagged secret
        (None, None, False),
    ],
)
def test_article_tag_policy(
    principal_tag: str | None, resource_tag: str | None, allowed: bool
) -> None:
    policy = NamedPolicy("abac", parse_policy(ARTICLE_TAG_POLICY, "identity"))
    keys: dict[str, tuple[str, ...]] = {}
    if principal_tag is not None:
        keys["aws:PrincipalTag/customer"] = (principal_tag,)
    if resource_tag is not None:
        keys["secretsmanager:ResourceTag/customer"] = (resource_tag,)
    context = RequestContext(GET, SM + "x", SESSION, keys)
    assert evaluate(context, identity=[policy]).allowed is allowed
    other_action = RequestContext("secretsmanager:DeleteSecret", SM + "x", SESSION, keys)
    assert not evaluate(other_action, identity=[policy]).allowed


# --- actions and resources ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("*", "kms:Decrypt", True),
        ("secretsmanager:*", "secretsmanager:GetSecretValue", True),
        ("SecretsManager:getsecretvalue", "secretsmanager:GetSecretValue", True),
        ("secretsmanager:Get*", "secretsmanager:GetRandomPassword", True),
        ("secretsmanager:Get*", "secretsmanager:DescribeSecret", False),
        ("secretsmanager:*Secret", "secretsmanager:DescribeSecret", True),
        ("secretsmanager:?etSecretValue", "secretsmanager:GetSecretValue", True),
        ("secretsmanager:?SecretValue", "secretsmanager:GetSecretValue", False),
        ("kms:*", "secretsmanager:GetSecretValue", False),
        ("km?:*", "kms:Decrypt", True),
        ("*:Decrypt", "kms:Decrypt", True),
    ],
)
def test_action_matching(pattern: str, action: str, matches: bool) -> None:
    policy = named("p", "identity", allow(pattern))
    assert evaluate(request(action=action), identity=[policy]).allowed is matches
    not_action = named("p", "identity", {"Effect": "Allow", "NotAction": pattern, "Resource": "*"})
    assert evaluate(request(action=action), identity=[not_action]).allowed is not matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("*", SM + "x", True),
        ("*", "*", True),
        (SM + "*", "*", False),
        (SM + "x", SM + "x", True),
        (SM + "x", SM + "X", False),
        (SM + "x?", SM + "xy", True),
        (SM + "x?", SM + "x", False),
        (SM + "a.b", SM + "aXb", False),
        (SM + "a+", SM + "aa", False),
        (SM + "(a)", SM + "(a)", True),
        (SM + "/a/*", SM + "/a/b/c", True),
        (SM + "/a/*/c", SM + "/a/b/x/c", True),
        ("arn:aws:secretsmanager:*:*:secret:x", SM + "x", True),
        ("arn:aws:secretsmanager:*:*:*", SM + "x", True),
        ("arn:aws:secretsmanager:*:*:*", SM + "a:b/c", True),
        ("arn:aws:kms:*:*:key/*", SM + "x", False),
    ],
)
def test_resource_matching(pattern: str, resource: str, matches: bool) -> None:
    policy = named("p", "identity", allow(resource=pattern))
    assert evaluate(request(resource), identity=[policy]).allowed is matches
    negated = named("p", "identity", {"Effect": "Allow", "Action": GET, "NotResource": pattern})
    assert evaluate(request(resource), identity=[negated]).allowed is not matches


def test_resource_variables_are_literal_and_unresolved_ones_never_match() -> None:
    pattern = SM + "/customer/${aws:PrincipalTag/customer}/*"
    policy = named("p", "identity", allow(resource=pattern))
    own = SM + "/customer/cust-1/db"
    tag = "aws:PrincipalTag/customer"
    assert evaluate(
        RequestContext(GET, own, SESSION, {tag: ("cust-1",)}), identity=[policy]
    ).allowed
    assert not evaluate(
        RequestContext(GET, SM + "/customer/cust-12/db", SESSION, {tag: ("cust-1",)}),
        identity=[policy],
    ).allowed
    for hostile in ("*", "cust-?", "cust-1*", ".*"):
        context = RequestContext(GET, own, SESSION, {tag: (hostile,)})
        assert not evaluate(context, identity=[policy]).allowed, hostile
    assert not evaluate(RequestContext(GET, own, SESSION, {}), identity=[policy]).allowed
    with_default = named(
        "p", "identity", allow(resource=SM + "/customer/${aws:PrincipalTag/customer, 'cust-1'}/*")
    )
    assert evaluate(RequestContext(GET, own, SESSION, {}), identity=[with_default]).allowed


def test_username_variable_and_escapes_in_resources() -> None:
    policy = named("p", "identity", allow(resource=SM + "home/${aws:username}/*"))
    keys = {"aws:username": ("alice",)}
    assert evaluate(
        RequestContext(GET, SM + "home/alice/x", ALICE, keys), identity=[policy]
    ).allowed
    assert not evaluate(
        RequestContext(GET, SM + "home/bob/x", ALICE, keys), identity=[policy]
    ).allowed
    star = named("p", "identity", allow(resource=SM + "lit${*}"))
    assert evaluate(request(SM + "lit*"), identity=[star]).allowed
    assert not evaluate(request(SM + "literal"), identity=[star]).allowed


def test_variables_are_literal_text_in_version_2008() -> None:
    text = json.dumps({"Statement": allow(resource=SM + "${aws:username}")})
    policy = NamedPolicy("p", parse_policy(text, "identity"))
    keys = {"aws:username": ("alice",)}
    assert not evaluate(RequestContext(GET, SM + "alice", ALICE, keys), identity=[policy]).allowed
    assert evaluate(
        RequestContext(GET, SM + "${aws:username}", ALICE, keys), identity=[policy]
    ).allowed


# --- deny, allow, implicit deny ------------------------------------------------------------


def test_no_policies_is_implicit_deny() -> None:
    assert evaluate(request(), identity=[]) == Decision("ImplicitDeny", IDENTITY_POLICY, ())


def test_explicit_deny_wins_and_is_cited() -> None:
    policy = named("p1", "identity", allow(Sid="A"), deny(Sid="D"))
    decision = evaluate(request(), identity=[policy])
    assert decision == Decision(
        "ExplicitDeny", IDENTITY_POLICY, (MatchedStatement("p1", "D", 1, "Deny"),)
    )


def test_allow_cites_every_granting_statement() -> None:
    first = named("p1", "identity", allow(Sid="A"), allow(action="kms:*"))
    second = named("p2", "identity", allow(resource=SM + "*"))
    decision = evaluate(request(), identity=[first, second])
    assert decision.statements == (
        MatchedStatement("p1", "A", 0, "Allow"),
        MatchedStatement("p2", None, 0, "Allow"),
    )


def test_root_identity_allows_all_but_deny_still_wins() -> None:
    assert evaluate(request(principal=ROOT), identity=[], identity_allows_all=True).allowed
    resource = named("secret", "resource", deny(Principal="*"))
    decision = evaluate(
        request(principal=ROOT), identity=[], identity_allows_all=True, resource=resource
    )
    assert decision.effect == "ExplicitDeny"
    assert decision.policy_type == RESOURCE_POLICY


# --- resource policies -----------------------------------------------------------------------


def test_optional_resource_policy_grants_directly() -> None:
    resource = named("secret", "resource", allow(Principal={"AWS": ALICE.arns[0]}))
    assert evaluate(request(), identity=[], resource=resource).allowed
    star = named("secret", "resource", allow(Principal="*"))
    assert evaluate(request(), identity=[], resource=star).allowed
    aws_star = named("secret", "resource", allow(Principal={"AWS": "*"}))
    assert evaluate(request(), identity=[], resource=aws_star).allowed


def test_optional_resource_policy_account_grant_gives_nothing_alone() -> None:
    for listed in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        resource = named("secret", "resource", allow(Principal={"AWS": listed}))
        assert principal_match(resource.document.statements[0], ALICE) == "account"
        assert not evaluate(request(), identity=[], resource=resource).allowed
        assert evaluate(
            request(), identity=[named("p", "identity", allow())], resource=resource
        ).allowed


def test_resource_policy_for_someone_else_does_not_apply() -> None:
    bob = named("secret", "resource", allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}))
    assert not evaluate(request(), identity=[], resource=bob).allowed
    deny_bob = named(
        "secret", "resource", deny(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"})
    )
    assert evaluate(
        request(), identity=[named("p", "identity", allow())], resource=deny_bob
    ).allowed
    other = named("secret", "resource", allow(Principal={"AWS": OTHER}))
    assert principal_match(other.document.statements[0], ALICE) == "none"


def test_resource_deny_applies_to_named_principal() -> None:
    resource = named("secret", "resource", deny(Sid="NoAlice", Principal={"AWS": ALICE.arns[0]}))
    decision = evaluate(request(), identity=[named("p", "identity", allow())], resource=resource)
    assert decision == Decision(
        "ExplicitDeny", RESOURCE_POLICY, (MatchedStatement("secret", "NoAlice", 0, "Deny"),)
    )


def test_role_arn_matches_its_sessions_session_arn_only_itself() -> None:
    by_role = named("s", "resource", allow(Principal={"AWS": ROLE_ARN}))
    assert principal_match(by_role.document.statements[0], SESSION) == "direct"
    by_session = named("s", "resource", allow(Principal={"AWS": SESSION_ARN}))
    assert principal_match(by_session.document.statements[0], SESSION) == "direct"
    other_session = PrincipalRef((ROLE_ARN.replace("role/", "x/"), ROLE_ARN + "2"), ACCOUNT)
    assert principal_match(by_role.document.statements[0], other_session) == "none"


def test_not_principal() -> None:
    resource = named(
        "secret",
        "resource",
        deny(NotPrincipal={"AWS": [ROLE_ARN, SESSION_ARN]}),
        allow(Principal="*"),
    )
    assert evaluate(request(principal=SESSION), identity=[], resource=resource).allowed
    assert evaluate(request(), identity=[], resource=resource).effect == "ExplicitDeny"
    statement = resource.document.statements[0]
    assert principal_match(statement, SESSION) == "none"
    assert principal_match(statement, ALICE) == "direct"
    # Listing the account exempts only its root user, not the account's other principals.
    by_account = named("s", "resource", deny(NotPrincipal={"AWS": ACCOUNT}))
    assert principal_match(by_account.document.statements[0], ALICE) == "direct"
    assert principal_match(by_account.document.statements[0], ROOT) == "none"


def test_service_principal_never_matches_iam_callers() -> None:
    resource = named("s", "resource", allow(Principal={"Service": "lambda.amazonaws.com"}))
    assert principal_match(resource.document.statements[0], ALICE) == "none"


def test_required_resource_policy() -> None:
    identity = [named("p", "identity", allow(action="kms:*"))]
    kms = request("arn:aws:kms:us-east-1:123456789012:key/k", "kms:Decrypt")
    assert evaluate(kms, identity=identity, resource_required=True) == Decision(
        "ImplicitDeny", RESOURCE_POLICY, ()
    )
    empty = named("key policy", "key", allow(action="kms:Encrypt", Principal={"AWS": ACCOUNT}))
    assert evaluate(kms, identity=identity, resource=empty, resource_required=True) == Decision(
        "ImplicitDeny", RESOURCE_POLICY, ()
    )
    delegating = named("key policy", "key", allow(action="kms:*", Principal={"AWS": ACCOUNT}))
    decision = evaluate(kms, identity=identity, resource=delegating, resource_required=True)
    assert decision.allowed
    assert decision.statements == (
        MatchedStatement("key policy", None, 0, "Allow"),
        MatchedStatement("p", None, 0, "Allow"),
    )
    # Delegation to the account needs the identity side to allow.
    assert evaluate(kms, identity=[], resource=delegating, resource_required=True) == Decision(
        "ImplicitDeny", IDENTITY_POLICY, ()
    )
    assert evaluate(
        kms, identity=[], identity_allows_all=True, resource=delegating, resource_required=True
    ).allowed
    direct = named("key policy", "key", allow(action="kms:*", Principal={"AWS": ALICE.arns[0]}))
    assert evaluate(kms, identity=[], resource=direct, resource_required=True).allowed


def test_trust_policy() -> None:
    trust = named(
        "trust",
        "trust",
        {"Effect": "Allow", "Principal": {"AWS": ALICE.arns[0]}, "Action": "sts:AssumeRole"},
    )
    assume = request(ROLE_ARN, "sts:AssumeRole")
    assert evaluate(assume, identity=[], resource=trust, resource_required=True).allowed
    bob = PrincipalRef((f"arn:aws:iam::{ACCOUNT}:user/bob",), ACCOUNT)
    decision = evaluate(
        request(ROLE_ARN, "sts:AssumeRole", bob),
        identity=[],
        resource=trust,
        resource_required=True,
    )
    assert decision == Decision("ImplicitDeny", RESOURCE_POLICY, ())


# --- boundaries and session policies -----------------------------------------------------------


def test_boundary_must_also_allow() -> None:
    identity = [named("p", "identity", allow(action="secretsmanager:*"))]
    boundary = named("boundary", "identity", allow(action="secretsmanager:Describe*"))
    assert evaluate(request(), identity=identity, boundary=boundary) == Decision(
        "ImplicitDeny", PERMISSIONS_BOUNDARY, ()
    )
    describe = request(action="secretsmanager:DescribeSecret")
    assert evaluate(describe, identity=identity, boundary=boundary).allowed
    # A boundary alone grants nothing.
    assert not evaluate(describe, identity=[], boundary=boundary).allowed
    denying = named("boundary", "identity", allow(action="*"), deny())
    decision = evaluate(request(), identity=identity, boundary=denying)
    assert (decision.effect, decision.policy_type) == ("ExplicitDeny", PERMISSIONS_BOUNDARY)


def test_boundary_does_not_limit_resource_policy_naming_the_user() -> None:
    boundary = named("boundary", "identity", allow(action="kms:*"))
    by_user = named("secret", "resource", allow(Principal={"AWS": ALICE.arns[0]}))
    assert evaluate(request(), identity=[], resource=by_user, boundary=boundary).allowed
    everyone = named("secret", "resource", allow(Principal="*"))
    assert evaluate(request(), identity=[], resource=everyone, boundary=boundary) == Decision(
        "ImplicitDeny", PERMISSIONS_BOUNDARY, ()
    )
    # A role's boundary still limits a grant to the role ARN; not one to the session ARN.
    by_role = named("secret", "resource", allow(Principal={"AWS": ROLE_ARN}))
    by_session = named("secret", "resource", allow(Principal={"AWS": SESSION_ARN}))
    as_session = request(principal=SESSION)
    assert not evaluate(as_session, identity=[], resource=by_role, boundary=boundary).allowed
    assert evaluate(as_session, identity=[], resource=by_session, boundary=boundary).allowed


def test_session_policies_intersect() -> None:
    identity = [named("role", "identity", allow(action="secretsmanager:*"))]
    session = [named("session", "session", allow(action="secretsmanager:Describe*"))]
    get = request(principal=SESSION)
    assert evaluate(get, identity=identity, session=session) == Decision(
        "ImplicitDeny", SESSION_POLICY, ()
    )
    assert evaluate(get, identity=identity, session=None).allowed
    assert not evaluate(get, identity=identity, session=[]).allowed
    two = [*session, named("managed", "session", allow())]
    assert evaluate(get, identity=identity, session=two).allowed
    by_session = named("secret", "resource", allow(Principal={"AWS": SESSION_ARN}))
    assert evaluate(get, identity=[], resource=by_session, session=session).allowed
    by_role = named("secret", "resource", allow(Principal={"AWS": ROLE_ARN}))
    assert not evaluate(get, identity=[], resource=by_role, session=session).allowed
    denying = [named("session", "session", deny(Sid="No"))]
    decision = evaluate(get, identity=identity, session=denying)
    assert (decision.effect, decision.policy_type) == ("ExplicitDeny", SESSION_POLICY)


# --- public statements ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        (allow(Principal="*"), True),
        (allow(Principal={"AWS": "*"}), True),
        (allow(Principal={"AWS": OTHER}), True),
        (allow(Principal={"AWS": f"arn:aws:iam::{OTHER}:role/R"}), True),
        (allow(Principal={"AWS": [ROLE_ARN, OTHER]}), True),
        (allow(Principal={"AWS": ROLE_ARN}), False),
        (allow(Principal={"AWS": ACCOUNT}), False),
        (allow(Principal={"Service": "lambda.amazonaws.com"}), False),
        (deny(Principal="*"), False),
        (allow(NotPrincipal={"AWS": ROLE_ARN}), True),
        (
            allow(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
            False,
        ),
        (allow(Principal="*", Condition={"StringEquals": {"AWS:SourceAccount": ACCOUNT}}), False),
        (allow(Principal="*", Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}), False),
        (allow(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}}), True),
        (
            allow(
                Principal="*",
                Condition={"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, OTHER]}},
            ),
            True,
        ),
        (allow(Principal="*", Condition={"StringLike": {"aws:PrincipalAccount": "1234*"}}), True),
        (
            allow(Principal="*", Condition={"StringNotEquals": {"aws:PrincipalAccount": OTHER}}),
            True,
        ),
        (
            allow(
                Principal="*", Condition={"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}
            ),
            True,
        ),
        (allow(Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": ROLE_ARN + "*"}}), False),
        (
            allow(
                Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/R"}}
            ),
            True,
        ),
        (
            allow(Principal="*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
            False,
        ),
        (allow(Principal="*", Condition={"StringLike": {"aws:PrincipalOrgID": "o-*"}}), True),
        (
            allow(
                Principal="*",
                Condition={"StringEquals": {"aws:PrincipalAccount": "${aws:PrincipalAccount}"}},
            ),
            True,
        ),
        (allow(Principal="*", Condition={"StringEquals": {"aws:username": "alice"}}), True),
    ],
)
def test_public_statements(statement: dict[str, object], public: bool) -> None:
    policy = named("secret", "resource", statement).document
    found = public_statements(policy, ACCOUNT)
    assert found == ((MatchedStatement("", None, 0, "Allow"),) if public else ())


def test_public_statements_of_an_identity_policy_is_empty() -> None:
    assert public_statements(named("p", "identity", allow()).document, ACCOUNT) == ()


def test_many_wildcards_do_not_backtrack_without_end() -> None:
    # A naive regex (`.*a.*a...b`) needs ~C(4000, 25) steps here; atomic segments need few.
    stars = "*a" * 25 + "*b"
    value = SM + "a" * 4000
    policy = named("p", "identity", allow(resource=SM + stars))
    assert not evaluate(request(value), identity=[policy]).allowed
    assert evaluate(request(value + "b"), identity=[policy]).allowed
    condition = named("p", "identity", allow(Condition={"StringLike": {"test:k": stars}}))
    long_value = RequestContext(GET, SM + "s", ALICE, {"test:k": ("a" * 4000,)})
    assert not evaluate(long_value, identity=[condition]).allowed
    arn = named("p", "identity", allow(Condition={"ArnLike": {"test:k": "arn:aws:s:r:1:" + stars}}))
    long_arn = RequestContext(
        GET, SM + "s", ALICE, {"test:k": ("arn:aws:s:r:1:" + "a" * 4000 + "b",)}
    )
    assert evaluate(long_arn, identity=[arn]).allowed
