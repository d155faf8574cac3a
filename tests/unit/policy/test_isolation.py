"""Isolation analysis: exact findings for clean, typo'd, shared and administrator principals."""

from __future__ import annotations

import json
from typing import Any

from strongroom.policy import NamedPolicy, parse_policy
from strongroom.policy.isolation import (
    AnalysedPrincipal,
    AnalysedResource,
    analyse,
    probe_secret,
)

ACCOUNT = "123456789012"
SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
TENANTS = ("cust-1", "cust-12", "cust-2")


def _policy(name: str, *statements: dict[str, Any]) -> NamedPolicy:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return NamedPolicy(name, parse_policy(text, "identity"))


def _principal(
    name: str, kind: str, tags: dict[str, str], *policies: NamedPolicy
) -> AnalysedPrincipal:
    arn = f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"
    return AnalysedPrincipal(arn, kind, name, ACCOUNT, tags, tuple(policies))  # type: ignore[arg-type]


def _resources() -> list[AnalysedResource]:
    found = [probe_secret("aws", "us-east-1", ACCOUNT, t, "customer") for t in TENANTS]
    found += [
        AnalysedResource(
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{t}",
            "key",
            t,
            {"customer": t},
            policy=NamedPolicy(
                "key policy",
                parse_policy(
                    json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                    "Action": "kms:*",
                                    "Resource": "*",
                                }
                            ],
                        }
                    ),
                    "key",
                ),
            ),
        )
        for t in TENANTS
    ]
    return found


def test_the_articles_policies_are_isolated() -> None:
    arn_form = _policy(
        "arn-form",
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": f"{SECRETS}/customer/cust-1/*",
        },
    )
    abac = _policy(
        "abac",
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "secretsmanager:ResourceTag/customer": "${aws:PrincipalTag/customer}"
                }
            },
        },
    )
    principals = [
        _principal("cust-1-service", "role", {"customer": "cust-1"}, arn_form),
        _principal("fetcher", "role", {}, abac),
    ]
    report = analyse(principals, _resources())
    assert report.findings == ()
    assert report.tenants == TENANTS


def test_a_typo_is_found_and_marked_as_guarded() -> None:
    typo = _policy(
        "typo",
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"{SECRETS}/customer/cust-1*",
        },
    )
    report = analyse(
        [_principal("cust-1-service", "role", {"customer": "cust-1"}, typo)], _resources()
    )
    assert {(f.tenant, f.action) for f in report.findings} == {
        ("cust-12", "secretsmanager:GetSecretValue")
    }
    (finding,) = report.findings
    assert finding.blocked_by_tenant_guard
    assert finding.statements[0].policy_name == "typo"


def test_an_untagged_shared_role_with_a_broad_policy_is_exposed() -> None:
    broad = _policy("broad", {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"})
    report = analyse([_principal("batch", "role", {}, broad)], _resources())
    tenants = {f.tenant for f in report.findings}
    assert tenants == set(TENANTS)
    assert all(not f.blocked_by_tenant_guard for f in report.findings if not f.as_session)


def test_administrators_are_listed_not_reported() -> None:
    admin = _policy("admin", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    ops = _principal("ops", "user", {}, admin)
    report = analyse([ops], _resources())
    assert report.administrators == (ops.arn,)
    assert report.findings == ()
    conditional = _policy(
        "almost",
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
    )
    assert analyse([_principal("x", "user", {}, conditional)], _resources()).administrators == ()


POLICY_SHAPES: list[dict[str, Any]] = [
    {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": f"{SECRETS}/customer/{{t}}/*",
    },
    {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": f"{SECRETS}/customer/{{t}}*",
    },
    {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/customer": "${aws:PrincipalTag/customer}"}},
    },
    {
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/customer": "{t}"}},
    },
    {
        "Effect": "Allow",
        "Action": "secretsmanager:*",
        "Resource": f"{SECRETS}/customer/${{aws:PrincipalTag/customer}}/*",
    },
    {"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{SECRETS}/customer/{{t}}/*"},
    {
        "Effect": "Allow",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/Customer": "{T}"}},
    },
    {
        "Effect": "Allow",
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:ResourceTag/customer": "{t}"}},
    },
]


def test_the_prefilter_never_changes_the_result() -> None:
    """Candidate filtering is an optimisation: over every policy shape, principal kind and
    tagging, the filtered analysis finds exactly what evaluating every pair finds."""
    principals = []
    for n, shape in enumerate(POLICY_SHAPES):
        for tenant in TENANTS:
            text = json.dumps(shape).replace("{t}", tenant).replace("{T}", tenant.upper())
            for kind, tags in (
                ("role", {"customer": tenant}),
                ("role", {}),
                ("user", {"customer": tenant}),
            ):
                principals.append(
                    _principal(
                        f"p{n}-{tenant}-{kind}-{len(tags)}",
                        kind,
                        tags,
                        _policy(f"shape{n}", json.loads(text)),
                    )
                )
    resources = _resources()
    fast = analyse(principals, resources)
    slow = analyse(principals, resources, prefilter=False)
    assert fast.findings == slow.findings
    assert fast.findings  # the shapes include over-broad ones
    assert fast.evaluations < slow.evaluations


def _shared_secret(name: str) -> AnalysedResource:
    return AnalysedResource(f"{SECRETS}{name}-AbCdEf", "secret", None, {}, name=name)


ARTICLE_ARN_FORM = {
    "Effect": "Allow",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": f"{SECRETS}/shared/*",
}


def test_shared_secrets_are_intended_through_a_share_and_blocked_without_one() -> None:
    """A tenant's role allowed /shared/* (the article's policy) reaches what a share of its
    tenant opens; the rest the tenant guard refuses. Neither is a finding."""
    stripe = _shared_secret("/shared/vendor/stripe/api-key")
    twilio = _shared_secret("/shared/vendor/twilio/api-key")
    principals = [
        _principal(
            "cust-1-service", "role", {"customer": "cust-1"}, _policy("p", ARTICLE_ARN_FORM)
        ),
        _principal(
            "cust-2-service", "role", {"customer": "cust-2"}, _policy("p", ARTICLE_ARN_FORM)
        ),
        # Untagged: not bound by the guard, so not in the shared-secret listing at all.
        _principal("fetcher", "role", {}, _policy("p", ARTICLE_ARN_FORM)),
    ]
    asked: list[tuple[str, str, str]] = []

    def share_of(tenant: str, name: str, action: str) -> str | None:
        asked.append((tenant, name, action))
        opened = tenant == "cust-1" and name.startswith("/shared/vendor/stripe/")
        return "/shared/vendor/stripe/*" if opened else None

    resources = [*_resources(), stripe, twilio]
    report = analyse(principals, resources, share_of=share_of)
    assert report.findings == ()
    assert report.tenants == TENANTS  # shared secrets belong to no tenant
    seen = {(a.tenant, a.resource, a.action, a.share) for a in report.shared}
    get = "secretsmanager:GetSecretValue"
    assert seen == {
        ("cust-1", stripe.arn, get, "/shared/vendor/stripe/*"),
        ("cust-1", twilio.arn, get, None),
        ("cust-2", stripe.arn, get, None),
        ("cust-2", twilio.arn, get, None),
    }
    intended = [a for a in report.shared if a.intended]
    assert [(a.tenant, a.resource) for a in intended] == [("cust-1", stripe.arn)]
    assert intended[0].statements[0].policy_name == "p"
    assert ("cust-1", "/shared/vendor/stripe/api-key", get) in asked
    assert analyse(principals, resources, share_of=share_of, prefilter=False).shared == (
        report.shared
    )


def test_without_shares_every_shared_access_is_blocked() -> None:
    report = analyse(
        [_principal("svc", "user", {"customer": "cust-1"}, _policy("p", ARTICLE_ARN_FORM))],
        [_shared_secret("/shared/x")],
    )
    assert report.findings == ()
    assert [(a.tenant, a.intended) for a in report.shared] == [("cust-1", False)]
    assert report.tenants == ()
