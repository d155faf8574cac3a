"""Isolation analysis: which principals' policies let them reach another tenant's secrets or keys.

A bounded-exhaustive check in the spirit of Access Analyzer: every principal is
evaluated, with the engine that enforces requests, against every tenant's resources (the
real ones plus a probe secret standing for the tenant's future secrets) for each
sensitive action. What a policy allows is reported whether or not the tenant guard
would stop it at run time: a finding the guard blocks is still a policy that says more
than its author meant.

Shared secrets (``/shared/…``, no tenant's) are evaluated for each tenant's own
principals too: what a share opens is intended access, listed but not a finding; what
policies allow without a share is listed as blocked by the tenant guard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from strongroom.policy import (
    Decision,
    MatchedStatement,
    NamedPolicy,
    PrincipalRef,
    RequestContext,
    evaluate,
)
from strongroom.policy.document import Condition, PolicyDocument, Statement
from strongroom.policy.variables import parse_template

# "Read any of the tenant's secrets or use its keys".
SECRET_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant")
# Positive operators whose values, once principal variables are substituted, name the
# only tag values a resource can have for the statement to apply.
_NARROWING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase"})
_RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "secretsmanager:resourcetag/")
PROBE_NAME = "isolation-probe"
# A tenant id no real tenant can have (tenant ids are lower case), standing for "some
# other tenant" when a shared role is analysed as assumed with a tenant session tag.
OTHER_TENANT = "Other-Tenant"


@dataclass(frozen=True, slots=True)
class AnalysedPrincipal:
    """An IAM user or role with everything that decides what it may do."""

    arn: str
    kind: Literal["user", "role"]
    name: str
    account: str
    tags: Mapping[str, str]
    policies: tuple[NamedPolicy, ...]
    boundary: NamedPolicy | None = None


@dataclass(frozen=True, slots=True)
class AnalysedResource:
    """A tenant's secret or key, with its tags and its resource or key policy; or, with no
    tenant, a shared secret (``/shared/…``) that tenants reach only through shares."""

    arn: str
    kind: Literal["secret", "key"]
    tenant: str | None
    tags: Mapping[str, str]
    name: str | None = None
    policy: NamedPolicy | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    tenant: str
    principal: str
    resource: str
    action: str
    statements: tuple[MatchedStatement, ...]
    # The principal is bound to another tenant, so the tenant guard refuses this at run
    # time; the policy still grants more than intended.
    blocked_by_tenant_guard: bool
    # Found when the role is assumed with a tenant session tag naming another tenant.
    as_session: bool = False


@dataclass(frozen=True, slots=True)
class SharedAccess:
    """A tenant's principal whose policies allow an action on a shared secret: intended
    if a share of its tenant opens it (``share`` names the share's pattern), else refused
    at run time by the tenant guard for want of a share. Neither is a finding."""

    tenant: str
    principal: str
    resource: str
    action: str
    statements: tuple[MatchedStatement, ...]
    share: str | None

    @property
    def intended(self) -> bool:
        return self.share is not None


# (tenant, shared secret name, action) → the pattern of a share that opens it, or None.
ShareLookup = Callable[[str, str, str], str | None]


def _no_shares(tenant: str, name: str, action: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class IsolationReport:
    findings: tuple[Finding, ...]
    administrators: tuple[str, ...]
    tenants: tuple[str, ...]
    evaluations: int = field(default=0)
    shared: tuple[SharedAccess, ...] = ()


def is_administrator(principal: AnalysedPrincipal) -> bool:
    """An unconditional Allow of every action on every resource (AdministratorAccess)."""
    return any(_grants_everything(p.document) for p in principal.policies) and (
        principal.boundary is None or _grants_everything(principal.boundary.document)
    )


def _grants_everything(document: PolicyDocument) -> bool:
    return any(
        s.effect == "Allow" and s.action == ("*",) and s.resource == ("*",) and not s.conditions
        for s in document.statements
    )


def probe_secret(
    partition: str, region: str, account: str, tenant: str, tag_key: str
) -> AnalysedResource:
    """A secret the tenant does not have yet, named and tagged as its secrets are."""
    name = f"/customer/{tenant}/{PROBE_NAME}"
    return AnalysedResource(
        arn=f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-AbCdEf",
        kind="secret",
        tenant=tenant,
        tags={tag_key: tenant},
        name=name,
    )


def analyse(
    principals: Sequence[AnalysedPrincipal],
    resources: Iterable[AnalysedResource],
    *,
    tenant_tag_key: str = "customer",
    extra_administrators: frozenset[str] = frozenset(),
    current_time: str = "2026-01-01T00:00:00Z",
    prefilter: bool = True,
    share_of: ShareLookup = _no_shares,
) -> IsolationReport:
    """Every (principal, tenant resource, sensitive action) a policy allows across tenants,
    and every (tenant's principal, shared secret, action) a policy allows, with the share
    (``share_of``) that opens it, if any.

    ``prefilter=False`` evaluates every pair (the reference the filtered run must equal)."""
    resources = list(resources)
    admins = tuple(
        p.arn for p in principals if p.arn in extra_administrators or is_administrator(p)
    )
    findings: list[Finding] = []
    shared: list[SharedAccess] = []
    evaluations = 0
    by_tag = _tag_index(resources)
    # Resources whose own policy may grant a principal directly are candidates for all.
    always = [i for i, r in enumerate(resources) if _grants_directly(r.policy)]
    for principal in principals:
        if principal.arn in admins:
            continue
        own = _tenant_of(principal, tenant_tag_key)
        variants: list[tuple[str | None, bool]] = [(own, False)]
        if principal.kind == "role" and own is None:
            variants.append((OTHER_TENANT, True))
        for tenant, as_session in variants:
            tags = dict(principal.tags)
            if tenant is not None:
                tags[tenant_tag_key] = tenant
            candidates = (
                _candidates(principal, tags, resources, by_tag) | set(always)
                if prefilter
                else set(range(len(resources)))
            )
            for index in sorted(candidates):
                resource = resources[index]
                owner = resource.tenant
                if owner == tenant:
                    continue
                actions = SECRET_ACTIONS if resource.kind == "secret" else KEY_ACTIONS
                if owner is None:
                    # A shared secret matters for the principals of a real tenant only: the
                    # guard does not bind the others, and a session's tenant is hypothetical.
                    if tenant is None or as_session:
                        continue
                    for action in actions:
                        evaluations += 1
                        decision = _decide(principal, resource, action, tags, current_time)
                        if decision.effect == "Allow":
                            shared.append(
                                SharedAccess(
                                    tenant=tenant,
                                    principal=principal.arn,
                                    resource=resource.arn,
                                    action=action,
                                    statements=decision.statements,
                                    share=share_of(tenant, resource.name or "", action),
                                )
                            )
                    continue
                for action in actions:
                    evaluations += 1
                    decision = _decide(principal, resource, action, tags, current_time)
                    if decision.effect == "Allow":
                        findings.append(
                            Finding(
                                tenant=owner,
                                principal=principal.arn,
                                resource=resource.arn,
                                action=action,
                                statements=decision.statements,
                                blocked_by_tenant_guard=tenant is not None,
                                as_session=as_session,
                            )
                        )
    tenants = tuple(sorted({r.tenant for r in resources if r.tenant is not None}))
    return IsolationReport(tuple(findings), admins, tenants, evaluations, tuple(shared))


def _decide(
    principal: AnalysedPrincipal,
    resource: AnalysedResource,
    action: str,
    tags: Mapping[str, str],
    current_time: str,
) -> Decision:
    return evaluate(
        _request(principal, resource, action, tags, current_time),
        identity=principal.policies,
        resource=resource.policy,
        resource_required=resource.kind == "key",
        boundary=principal.boundary,
    )


def _tenant_of(principal: AnalysedPrincipal, tag_key: str) -> str | None:
    for key, value in principal.tags.items():
        if key.lower() == tag_key.lower():
            return value
    return None


def _request(
    principal: AnalysedPrincipal,
    resource: AnalysedResource,
    action: str,
    tags: Mapping[str, str],
    current_time: str,
) -> RequestContext:
    arns: tuple[str, ...] = (principal.arn,)
    if principal.kind == "role":
        account_part = principal.arn.split(":role/", 1)[0].replace(":iam::", ":sts::")
        arns = (f"{account_part}:assumed-role/{principal.name}/isolation-check", principal.arn)
    keys: dict[str, tuple[str, ...]] = {
        "aws:PrincipalArn": (principal.arn,),
        "aws:PrincipalAccount": (principal.account,),
        "aws:PrincipalType": ("User" if principal.kind == "user" else "AssumedRole",),
        "aws:CurrentTime": (current_time,),
        "aws:SecureTransport": ("false",),
        "aws:ResourceAccount": (principal.account,),
    }
    if principal.kind == "user":
        keys["aws:username"] = (principal.name,)
    for key, value in tags.items():
        keys[f"aws:PrincipalTag/{key}"] = (value,)
    for key, value in resource.tags.items():
        keys[f"aws:ResourceTag/{key}"] = (value,)
        if resource.kind == "secret":
            keys[f"secretsmanager:ResourceTag/{key}"] = (value,)
    if resource.kind == "secret":
        if resource.name is not None:
            keys["secretsmanager:Name"] = (resource.name,)
        keys["secretsmanager:SecretId"] = (resource.arn,)
    else:
        keys["kms:CallerAccount"] = (principal.account,)
    return RequestContext(
        action=action,
        resource=resource.arn,
        principal=PrincipalRef(arns=arns, account=principal.account),
        keys=keys,
    )


# -- candidate pairs -------------------------------------------------------------------
# Evaluating every principal against every resource is quadratic (1,000 tenants: millions
# of evaluations). A pair can only be allowed if one of the principal's Allow statements
# names the action and matches the resource ARN, and meets its tag conditions; or if the
# resource's own policy names principals directly. Filtering on exactly those necessary
# conditions, then evaluating the survivors in full, keeps the result exact.


def _tag_index(resources: Sequence[AnalysedResource]) -> dict[tuple[str, str], set[int]]:
    index: dict[tuple[str, str], set[int]] = {}
    for i, resource in enumerate(resources):
        for key, value in resource.tags.items():
            index.setdefault((key.lower(), value), set()).add(i)
    return index


def _grants_directly(policy: NamedPolicy | None) -> bool:
    if policy is None:
        return False
    for statement in policy.document.statements:
        if statement.effect != "Allow":
            continue
        if statement.principal is None or statement.not_principal is not None:
            return True
        if statement.principal == "*":
            return True
        for kind, values in statement.principal.items():
            if kind != "AWS" or any(not _is_account(v) for v in values):
                return True
    return False


def _is_account(value: str) -> bool:
    return value.isdigit() or (value.startswith("arn:") and value.endswith(":root"))


def _candidates(
    principal: AnalysedPrincipal,
    tags: Mapping[str, str],
    resources: Sequence[AnalysedResource],
    by_tag: Mapping[tuple[str, str], set[int]],
) -> set[int]:
    keys = {f"aws:principaltag/{k.lower()}": (v,) for k, v in tags.items()}
    keys["aws:principalarn"] = (principal.arn,)
    keys["aws:principalaccount"] = (principal.account,)
    if principal.kind == "user":
        keys["aws:username"] = (principal.name,)
    found: set[int] = set()
    for policy in principal.policies:
        for statement in policy.document.statements:
            if statement.effect != "Allow" or not _names_an_action(statement):
                continue
            found |= _statement_candidates(statement, keys, resources, by_tag)
    return found


def _names_an_action(statement: Statement) -> bool:
    actions = (*SECRET_ACTIONS, *KEY_ACTIONS)
    matched = any(statement.actions_regex.fullmatch(a) for a in actions)
    return (
        matched
        if statement.action is not None
        else not all(statement.actions_regex.fullmatch(a) for a in actions)
    )


def _statement_candidates(
    statement: Statement,
    keys: Mapping[str, tuple[str, ...]],
    resources: Sequence[AnalysedResource],
    by_tag: Mapping[tuple[str, str], set[int]],
) -> set[int]:
    pool: set[int] | None = None
    for condition in statement.conditions:
        if condition.operator not in _NARROWING_OPERATORS:
            continue
        key = condition.key.lower()
        if not key.startswith(_RESOURCE_TAG_PREFIXES):
            continue
        tag = key.split("/", 1)[1]
        values = _substituted(condition, keys)
        if condition.operator == "StringEqualsIgnoreCase":
            wanted = {v.casefold() for v in values}
            narrowed = {
                i
                for (k, v), ids in by_tag.items()
                if k == tag and v.casefold() in wanted
                for i in ids
            }
        else:
            narrowed = {i for v in values for i in by_tag.get((tag, v), ())}
        pool = narrowed if pool is None else pool & narrowed
    indices = range(len(resources)) if pool is None else sorted(pool)
    patterns = statement.resources
    if statement.resource is None or patterns is None:  # NotResource: keep them all
        return set(indices)
    regexes = [patterns.static] if patterns.static is not None else []
    for template in patterns.templates:
        source = template.pattern_source(keys)
        if source is not None:
            regexes.append(re.compile(source))
    return {i for i in indices if any(rx.fullmatch(resources[i].arn) for rx in regexes)}


def _substituted(condition: Condition, keys: Mapping[str, tuple[str, ...]]) -> set[str]:
    """The values a tag may have for the condition to hold, principal variables resolved."""
    values: set[str] = set()
    for value in condition.values:
        if not condition.variables or "${" not in value:
            values.add(value)
            continue
        resolved = parse_template(value, variables=True).resolve(keys)
        if resolved is not None:  # an unresolvable variable matches nothing
            values.add(resolved)
    return values
