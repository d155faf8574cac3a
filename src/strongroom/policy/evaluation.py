"""evaluate: AWS's same-account evaluation logic, and the statement and principal matching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from strongroom.policy.document import PolicyDocument, Principal, Statement
from strongroom.policy.request import PrincipalRef, RequestContext
from strongroom.policy.wildcards import compile_source

IDENTITY_POLICY = "identity-based policy"
RESOURCE_POLICY = "resource-based policy"
PERMISSIONS_BOUNDARY = "permissions boundary"
SESSION_POLICY = "session policy"

PrincipalMatch = Literal["direct", "account", "none"]


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A parsed policy and how to cite it ("arn:...:policy/P", "user/alice/inline/p1", ...)."""

    name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    policy_name: str
    sid: str | None
    index: int  # the statement's position in its policy
    effect: str


@dataclass(frozen=True, slots=True)
class Decision:
    effect: Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
    # For a denial, the kind of policy AWS names in its AccessDenied message; None if allowed.
    policy_type: str | None
    # The allow statements that granted it, or the deny statements that denied it.
    statements: tuple[MatchedStatement, ...]

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"


def statement_matches(statement: Statement, request: RequestContext) -> bool:
    """Whether Action/NotAction, Resource/NotResource and Condition all match (not Principal)."""
    action_hit = statement.actions_regex.fullmatch(request.action) is not None
    if action_hit is (statement.action is None):
        return False
    resources = statement.resources
    if resources is not None:
        resource = request.resource
        hit = resources.static is not None and resources.static.fullmatch(resource) is not None
        if not hit:
            for template in resources.templates:
                # Substituted values are escaped: a tag value holding `*` stays literal.
                source = template.pattern_source(request.lowered)
                if source is not None and compile_source(source).fullmatch(resource):
                    hit = True
                    break
        if hit is (statement.resource is None):
            return False
    keys = request.lowered
    return all(condition.test.holds(keys) for condition in statement.conditions)


def _is_account_root(value: str, account: str) -> bool:
    parts = value.split(":")
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "iam"
        and parts[3] == ""
        and parts[4] == account
        and parts[5] == "root"
    )


def _match_listed(listed: Principal, principal: PrincipalRef) -> PrincipalMatch:
    if listed == "*":
        return "direct"
    result: PrincipalMatch = "none"
    for value in listed.get("AWS", ()):
        if value == "*":
            return "direct"
        if value == principal.account or _is_account_root(value, principal.account):
            # The account (or its root ARN) delegates to the account's IAM policies.
            result = "account"
        elif value in principal.arns:
            return "direct"
    return result


def _exempted(listed: Principal, principal: PrincipalRef) -> bool:
    """Whether a NotPrincipal list names the caller itself.

    AWS applies a NotPrincipal statement to "all principals except the ones specified":
    only the caller's most specific ARN (its user, session or root ARN, the account id
    standing for the root) exempts it. Listing a session's role, or a user's account
    (which AWS advises adding alongside), exempts neither; NotPrincipal must name the
    session itself.
    """
    if listed == "*":
        return True
    if not principal.arns:
        return False
    caller = principal.arns[0]
    return any(
        value in ("*", caller)
        or (value == principal.account and _is_account_root(caller, principal.account))
        for value in listed.get("AWS", ())
    )


def principal_match(statement: Statement, principal: PrincipalRef) -> PrincipalMatch:
    """How a resource-policy statement's Principal/NotPrincipal applies to the caller.

    "direct": named by "*", by one of its ARNs (a role ARN also covers its sessions, since
    a session's ``arns`` include its role), or not exempted by a NotPrincipal; "account":
    only by its account, which hands the decision to identity policies; "none": the
    statement does not apply.
    """
    if statement.principal is not None:
        return _match_listed(statement.principal, principal)
    if statement.not_principal is not None:
        return "none" if _exempted(statement.not_principal, principal) else "direct"
    return "none"


def _names_exactly(statement: Statement, arn: str) -> bool:
    """Whether the statement's Principal lists exactly this (user or session) ARN."""
    listed = statement.principal
    return listed is not None and listed != "*" and arn in listed.get("AWS", ())


def _scan(
    policy: NamedPolicy,
    request: RequestContext,
    denies: list[MatchedStatement],
    allows: list[MatchedStatement],
) -> None:
    for index, statement in enumerate(policy.document.statements):
        if statement_matches(statement, request):
            matched = MatchedStatement(policy.name, statement.sid, index, statement.effect)
            (denies if statement.effect == "Deny" else allows).append(matched)


def _implicit(policy_type: str) -> Decision:
    return Decision("ImplicitDeny", policy_type, ())


def evaluate(
    request: RequestContext,
    *,
    identity: Sequence[NamedPolicy],
    identity_allows_all: bool = False,
    resource: NamedPolicy | None = None,
    resource_required: bool = False,
    boundary: NamedPolicy | None = None,
    session: Sequence[NamedPolicy] | None = None,
) -> Decision:
    """Decide one request as AWS does within one account.

    Explicit deny anywhere wins; then an allow is needed (from identity policies, or from
    the resource policy naming the caller; with ``resource_required`` the resource policy
    must allow, directly or by delegating to the account); then the permissions boundary
    and the session policies must also allow, unless the allow came from a resource
    policy naming the caller's exact user or session ARN. ``session=[]`` (session
    policies passed, none allowing) allows nothing; ``None`` means no session policies.
    """
    denies: list[tuple[str, MatchedStatement]] = []
    identity_allows: list[MatchedStatement] = []
    identity_denies: list[MatchedStatement] = []
    for policy in identity:
        _scan(policy, request, identity_denies, identity_allows)
    denies.extend((IDENTITY_POLICY, m) for m in identity_denies)

    direct: list[MatchedStatement] = []
    account: list[MatchedStatement] = []
    exempt = False
    if resource is not None:
        caller = request.principal
        most_specific = caller.arns[0] if caller.arns else None
        for index, statement in enumerate(resource.document.statements):
            applies = principal_match(statement, caller)
            if boundary is not None and statement.not_principal and statement.effect == "Deny":
                # AWS: a NotPrincipal Deny always denies a principal that has a permissions
                # boundary, whatever the NotPrincipal element lists.
                applies = "direct"
            if applies == "none" or not statement_matches(statement, request):
                continue
            matched = MatchedStatement(resource.name, statement.sid, index, statement.effect)
            if statement.effect == "Deny":
                denies.append((RESOURCE_POLICY, matched))
            elif applies == "direct":
                direct.append(matched)
                if most_specific is not None and _names_exactly(statement, most_specific):
                    exempt = True
            else:
                account.append(matched)

    boundary_allows: list[MatchedStatement] = []
    if boundary is not None:
        boundary_denies: list[MatchedStatement] = []
        _scan(boundary, request, boundary_denies, boundary_allows)
        denies.extend((PERMISSIONS_BOUNDARY, m) for m in boundary_denies)
    session_allows: list[MatchedStatement] = []
    if session is not None:
        session_denies: list[MatchedStatement] = []
        for policy in session:
            _scan(policy, request, session_denies, session_allows)
        denies.extend((SESSION_POLICY, m) for m in session_denies)

    if denies:
        return Decision("ExplicitDeny", denies[0][0], tuple(m for _, m in denies))

    identity_ok = identity_allows_all or bool(identity_allows)
    if resource_required:
        if not direct and not account:
            return _implicit(RESOURCE_POLICY)
        granted = list(direct)
        if identity_ok and account:
            granted += account + identity_allows
        elif not direct:
            return _implicit(IDENTITY_POLICY)
    else:
        if not identity_ok and not direct:
            return _implicit(IDENTITY_POLICY)
        granted = identity_allows + direct

    if not exempt:
        if boundary is not None and not boundary_allows:
            return _implicit(PERMISSIONS_BOUNDARY)
        if session is not None and not session_allows:
            return _implicit(SESSION_POLICY)
    return Decision("Allow", None, tuple(granted))
