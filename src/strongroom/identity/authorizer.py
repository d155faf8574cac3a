"""The Authorizer: the tenant guard, then IAM policy evaluation, for every call of every service."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from strongroom.authorization import AccessDecision, AccessRequest, ResourcePolicy, TenantGate
from strongroom.clock import Clock
from strongroom.context import ASSUMED_ROLE, IAM_USER, CallContext, Principal
from strongroom.errors import AccessDenied, AccessDeniedException, AuthError
from strongroom.identity.authorization_messages import AuthorizationMessages
from strongroom.policy import (
    Decision,
    NamedPolicy,
    PolicyDocument,
    PolicyDocumentError,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
)

log = logging.getLogger(__name__)

# A policy variable: ${key} or ${key, 'default'}.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")

DEFAULT_TENANT_TAG_KEY = "customer"
TENANT_GUARD_REASON = "because the tenant guard refuses access across tenants"
NO_SHARE_REASON = (
    "because the tenant guard admits a tenant to shared secrets only through a share, "
    "and no share for tenant {tenant} covers this secret and action"
)
INACTIVE_TENANT_REASON = "because tenant {tenant} is {state}"
SHREDDED_TENANT_REASON = "because tenant {tenant} was shredded and takes no new data"
# Actions that would put new data under a tenant (a new ciphertext under its key or
# partition, a new secret or value): refused for everyone, the root included, once the
# tenant is shredded, so a destroyed tenant's key or partition is never made again.
NEW_TENANT_DATA_ACTIONS = frozenset(
    {
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:ReEncryptTo",
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:RestoreSecret",
    }
)
SHREDDED = "SHREDDED"  # the tenant status (strongroom.tenancy.tenants; a layer above)
# How a refusal words a tenant status that stops every call of the tenant's principals.
_INACTIVE_STATES = {
    "SUSPENDED": "suspended",
    "OFFBOARDING": "being offboarded",
    "SHREDDED": "shredded",
}
# Services whose access-denied error is the query protocol's "AccessDenied".
_QUERY_SERVICES = ("iam:", "sts:")
_PRINCIPAL_TYPES = {IAM_USER: "User", ASSUMED_ROLE: "AssumedRole"}
DECISION_CACHE_SIZE = 65_536
# Every call asks which condition keys its principal's documents mention. Sized for the
# documents in use at once (10,000 tenants, a few roles each): an LRU cache smaller than a
# working set that cycles misses on every call, and each miss parses the documents again.
REFERENCED_KEYS_CACHE_SIZE = 65_536
_RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "secretsmanager:resourcetag/")
_PRINCIPAL_TAG_PREFIX = "aws:principaltag/"
_CHEAP_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:resourceaccount", "aws:requestedregion"}
)


class _AttachedPolicy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def document(self) -> str: ...


class _PrincipalPolicies(Protocol):
    @property
    def identity(self) -> Sequence[_AttachedPolicy]: ...

    @property
    def boundary(self) -> _AttachedPolicy | None: ...


class PolicySource(Protocol):
    """Where the identity-based policies of a principal come from (the IAM directory)."""

    def policies_for(self, principal: Principal) -> _PrincipalPolicies: ...


@lru_cache(maxsize=8192)
def _parsed(text: str, kind: str) -> PolicyDocument:
    # Documents were validated when they were stored; parsing is pure, so one parse per
    # distinct text serves every request.
    return parse_policy(text, kind)  # type: ignore[arg-type]


class _ClosedGate:
    """The TenantGate without tenancy: every tenant active, no shares."""

    def inactive_status(self, tenant: str) -> str | None:
        return None

    def opens(self, tenant: str, shared_name: str, action: str) -> bool:
        return False


class PolicyAuthorizer:
    """Decides each AccessRequest: tenant guard first, then AWS's policy evaluation logic."""

    def __init__(
        self,
        policies: PolicySource,
        clock: Clock,
        messages: AuthorizationMessages,
        *,
        tenant_tag_key: str = DEFAULT_TENANT_TAG_KEY,
        gate: TenantGate | None = None,
    ) -> None:
        self._policies = policies
        self._clock = clock
        self._messages = messages
        self._tenant_tag_key = tenant_tag_key.lower()
        self._gate: TenantGate = gate or _ClosedGate()
        self._decisions: dict[tuple[object, ...], Decision] = {}
        self._now_cache: tuple[int, str, str] = (-1, "", "")

    # -- the port --------------------------------------------------------------------

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        decision = self.decide(ctx, request)
        if decision.allowed:
            return
        raise self._denial(ctx, request, decision)

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        principal = ctx.principal
        if request.action in NEW_TENANT_DATA_ACTIONS:
            shredded = self._shredded_tenant(request)
            if shredded is not None:
                return AccessDecision(
                    False, SHREDDED_TENANT_REASON.format(tenant=shredded), tenant_guard=True
                )
        if principal.tenant is not None:
            # Before the decision cache: a share or a tenant status can change at any time,
            # and no cached allow may outlive it.
            refusal = self._guard(principal.tenant, request)
            if refusal is not None:
                return AccessDecision(False, refusal, tenant_guard=True)
        if principal.is_root and request.resource_policy is None:
            return AccessDecision(True)  # the root's identity side allows everything
        decision = self._evaluate(ctx, request)
        return self._to_access_decision(request, decision)

    # -- the tenant guard ------------------------------------------------------------

    def _guard(self, tenant: str, request: AccessRequest) -> str | None:
        """Why the tenant guard refuses a tenant-bound caller, whatever policies say, or
        None: its tenant is not active; it reaches outside its tenant; or it reaches a
        shared secret that no share of its tenant opens for this action."""
        state = self._gate.inactive_status(tenant)
        if state is not None:
            words = _INACTIVE_STATES.get(state.upper(), state.lower())
            return INACTIVE_TENANT_REASON.format(tenant=tenant, state=words)
        if self._crosses_tenants(tenant, request):
            return TENANT_GUARD_REASON
        shared = request.shared_resource_name
        if shared is not None and not self._gate.opens(tenant, shared, request.action):
            return NO_SHARE_REASON.format(tenant=tenant)
        return None

    def _shredded_tenant(self, request: AccessRequest) -> str | None:
        named = request.request_tenants
        if request.resource_tenant is not None:
            named = named | {request.resource_tenant}
        for tenant in sorted(named):
            if self._gate.inactive_status(tenant) == SHREDDED:
                return tenant
        return None

    def _crosses_tenants(self, tenant: str, request: AccessRequest) -> bool:
        """True if a tenant-bound caller reaches outside its tenant, whatever policies say:
        another tenant's resource, a request naming another tenant (an encryption context,
        a tag value), any change to the tag that defines tenancy (no self-tagging), or any
        change to the shares that open the guard (no self-sharing)."""
        if request.resource_tenant is not None and request.resource_tenant != tenant:
            return True
        if any(named != tenant for named in request.request_tenants):
            return True
        if request.changes_sharing:
            return True
        return any(key.lower() == self._tenant_tag_key for key in request.tag_keys_written)

    # -- policy evaluation -----------------------------------------------------------

    def _evaluate(self, ctx: CallContext, request: AccessRequest) -> Decision:
        principal = ctx.principal
        policy = request.resource_policy
        resource_text = None if policy is None else (policy.document, policy.kind, policy.required)
        identity_names: tuple[str, ...] = ()
        identity_texts: tuple[str, ...] = ()
        boundary_text: str | None = None
        session_texts: tuple[str, ...] | None = None
        if not principal.is_root:
            attached = self._policies.policies_for(principal)
            identity_names = tuple(p.name for p in attached.identity)
            identity_texts = tuple(p.document for p in attached.identity)
            boundary_text = None if attached.boundary is None else attached.boundary.document
            if principal.session is not None and principal.session.has_session_policies:
                session_texts = principal.session.policies
        referenced = _referenced_keys(identity_texts, boundary_text, session_texts, resource_text)
        # The decision is a pure function of the documents, the request and the values of
        # the condition keys the documents mention, so it is cached on exactly those.
        cache_key = (
            principal.is_root,
            principal.arn,
            principal.identity_arn,
            ctx.account_id,
            request.action,
            request.resource,
            identity_texts,
            boundary_text,
            session_texts,
            resource_text,
            self._referenced_values(ctx, request, referenced),
        )
        cached = self._decisions.get(cache_key)
        if cached is not None:
            return cached
        decision = self._evaluate_uncached(
            ctx,
            request,
            self._condition_keys(ctx, request),
            zip(identity_names, identity_texts, strict=True),
            boundary_text,
            session_texts,
        )
        if len(self._decisions) >= DECISION_CACHE_SIZE:
            self._decisions.clear()  # bounded; refilled by the working set at once
        self._decisions[cache_key] = decision
        return decision

    def _evaluate_uncached(
        self,
        ctx: CallContext,
        request: AccessRequest,
        keys: dict[str, tuple[str, ...]],
        identity_policies: Iterable[tuple[str, str]],
        boundary_text: str | None,
        session_texts: tuple[str, ...] | None,
    ) -> Decision:
        context = RequestContext(
            action=request.action,
            resource=request.resource,
            principal=_principal_ref(ctx),
            keys=keys,
        )
        resource = _resource_policy(request.resource_policy)
        if ctx.principal.is_root:
            return evaluate(
                context,
                identity=(),
                identity_allows_all=True,
                resource=resource,
                resource_required=_required(request.resource_policy),
            )
        identity = [_named(name, text, "identity") for name, text in identity_policies]
        boundary = (
            None
            if boundary_text is None
            else _named("permissions boundary", boundary_text, "identity")
        )
        session = (
            None
            if session_texts is None
            else [
                _named(f"session policy {i + 1}", t, "session") for i, t in enumerate(session_texts)
            ]
        )
        return evaluate(
            context,
            identity=[p for p in identity if p is not None],
            resource=resource,
            resource_required=_required(request.resource_policy),
            boundary=boundary,
            session=[p for p in session if p is not None] if session is not None else None,
        )

    @staticmethod
    def _to_access_decision(request: AccessRequest, decision: Decision) -> AccessDecision:
        if decision.effect == "Allow":
            return AccessDecision(True)
        if decision.effect == "ImplicitDeny" and request.granted():
            return AccessDecision(True)  # a KMS grant adds access; it never beats a deny
        policy_type = decision.policy_type or "identity-based policy"
        if decision.effect == "ExplicitDeny":
            article = "an" if policy_type[0] in "aeiou" else "a"
            reason = f"with an explicit deny in {article} {policy_type}"
            return AccessDecision(False, reason, explicit_deny=True)
        return AccessDecision(False, f"because no {policy_type} allows the {request.action} action")

    def _condition_keys(
        self, ctx: CallContext, request: AccessRequest
    ) -> dict[str, tuple[str, ...]]:
        """Every condition key of the request, names lower-cased (they compare so)."""
        principal = ctx.principal
        current_time, epoch_time = self._now_texts()
        keys: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (principal.identity_arn or principal.arn,),
            "aws:principalaccount": (ctx.account_id,),
            "aws:principaltype": (_PRINCIPAL_TYPES.get(principal.kind, "Account"),),
            "aws:userid": (principal.principal_id,),
            "aws:sourceip": (ctx.source_ip,),
            "aws:useragent": (ctx.user_agent,),
            "aws:currenttime": (current_time,),
            "aws:epochtime": (epoch_time,),
            "aws:securetransport": ("false",),
            "aws:requestedregion": (ctx.region,),
            "aws:resourceaccount": (ctx.account_id,),
            "aws:principalisawsservice": ("false",),
            "aws:viaawsservice": ("false",),
        }
        if principal.kind == IAM_USER:
            keys["aws:username"] = (principal.name,)
        for tag, value in principal.tags.items():
            keys[f"aws:principaltag/{tag.lower()}"] = (value,)
        session = principal.session
        if session is not None:
            keys["aws:tokenissuetime"] = (_iso(session.issued_at),)
            keys["aws:multifactorauthpresent"] = ("false",)
            if session.source_identity is not None:
                keys["aws:sourceidentity"] = (session.source_identity,)
        service = request.action.partition(":")[0]
        for tag, value in request.resource_tags.items():
            keys[f"aws:resourcetag/{tag.lower()}"] = (value,)
            if service == "secretsmanager":
                keys[f"secretsmanager:resourcetag/{tag.lower()}"] = (value,)
        for key, given in request.context.items():
            keys[key.lower()] = (given,) if isinstance(given, str) else tuple(given)
        return keys

    def _referenced_values(
        self, ctx: CallContext, request: AccessRequest, referenced: tuple[str, ...]
    ) -> tuple[tuple[str, ...] | None, ...]:
        """The values of just the keys the documents mention: what ``_condition_keys`` would
        give for them, without building every key (most policies mention none or two)."""
        if not referenced:
            return ()
        if all(_is_cheap(name) for name in referenced):
            return tuple(self._key_value(ctx, request, name) for name in referenced)
        keys = self._condition_keys(ctx, request)
        return tuple(keys.get(name) for name in referenced)

    def _key_value(
        self, ctx: CallContext, request: AccessRequest, name: str
    ) -> tuple[str, ...] | None:
        # The request's own keys win, as in _condition_keys (they are applied last).
        for key, given in request.context.items():
            if key.lower() == name:
                return (given,) if isinstance(given, str) else tuple(given)
        if name.startswith(_RESOURCE_TAG_PREFIXES):
            if name.startswith("secretsmanager:") and not request.action.startswith(
                "secretsmanager:"
            ):
                return None
            return _tag_lookup(request.resource_tags, name.split("/", 1)[1])
        if name.startswith(_PRINCIPAL_TAG_PREFIX):
            return _tag_lookup(ctx.principal.tags, name[len(_PRINCIPAL_TAG_PREFIX) :])
        if not name.startswith("aws:"):
            return None  # service keys come only from the request (and tags, above)
        if name == "aws:principalarn":
            return (ctx.principal.identity_arn or ctx.principal.arn,)
        if name in ("aws:principalaccount", "aws:resourceaccount"):
            return (ctx.account_id,)
        if name == "aws:requestedregion":
            return (ctx.region,)
        return self._condition_keys(ctx, request).get(name)

    def _now_texts(self) -> tuple[str, str]:
        """aws:CurrentTime and aws:EpochTime, formatted once per second."""
        second = int(self._clock.now().timestamp())
        cached = self._now_cache
        if cached[0] != second:
            moment = datetime.fromtimestamp(second, tz=UTC)
            cached = (second, _iso(moment), str(second))
            self._now_cache = cached
        return cached[1], cached[2]

    # -- denial ----------------------------------------------------------------------

    def _denial(
        self, ctx: CallContext, request: AccessRequest, decision: AccessDecision
    ) -> AuthError:
        encoded = self._messages.encode(_failure_details(ctx, request, decision))
        message = (
            f"User: {ctx.principal.arn} is not authorized to perform: {request.action} "
            f"on resource: {request.resource} {decision.reason}. "
            f"Encoded authorization failure message: {encoded}"
        )
        if request.action.startswith(_QUERY_SERVICES):
            return AccessDenied(message)
        return AccessDeniedException(message)


def _principal_ref(ctx: CallContext) -> PrincipalRef:
    principal = ctx.principal
    arns = [principal.arn]
    if principal.identity_arn and principal.identity_arn != principal.arn:
        arns.append(principal.identity_arn)
    return PrincipalRef(arns=tuple(arns), account=ctx.account_id)


def _required(policy: ResourcePolicy | None) -> bool:
    return policy is not None and policy.required


def _resource_policy(policy: ResourcePolicy | None) -> NamedPolicy | None:
    if policy is None:
        return None
    name = {"key": "key policy", "trust": "trust policy"}.get(policy.kind, "resource policy")
    return _named(name, policy.document, policy.kind)


def _is_cheap(name: str) -> bool:
    """A key ``_key_value`` finds without building the whole context."""
    return (
        name in _CHEAP_KEYS
        or name.startswith((*_RESOURCE_TAG_PREFIXES, _PRINCIPAL_TAG_PREFIX))
        or (":" in name and not name.startswith("aws:"))
    )


def _tag_lookup(tags: Mapping[str, str], key: str) -> tuple[str, ...] | None:
    # _condition_keys lower-cases tag keys, the last of two spellings winning.
    found: tuple[str, ...] | None = None
    for tag, value in tags.items():
        if tag.lower() == key:
            found = (value,)
    return found


@lru_cache(maxsize=REFERENCED_KEYS_CACHE_SIZE)
def _document_keys(text: str, kind: str) -> frozenset[str]:
    """The condition keys (lower-cased) a document's conditions and variables mention."""
    try:
        document = _parsed(text, kind)
    except PolicyDocumentError:
        return frozenset()
    found: set[str] = set()
    for statement in document.statements:
        for condition in statement.conditions:
            found.add(condition.key.lower())
            found.update(_variable_keys(condition.values))
        found.update(_variable_keys(statement.resource or ()))
        found.update(_variable_keys(statement.not_resource or ()))
    return frozenset(found)


def _variable_keys(texts: tuple[str, ...]) -> set[str]:
    return {m.group(1).split(",")[0].strip().lower() for t in texts for m in _VARIABLE.finditer(t)}


@lru_cache(maxsize=REFERENCED_KEYS_CACHE_SIZE)
def _referenced_keys(
    identity: tuple[str, ...],
    boundary: str | None,
    session: tuple[str, ...] | None,
    resource: tuple[str, str, bool] | None,
) -> tuple[str, ...]:
    found: set[str] = set()
    for text in identity:
        found |= _document_keys(text, "identity")
    if boundary is not None:
        found |= _document_keys(boundary, "identity")
    for text in session or ():
        found |= _document_keys(text, "session")
    if resource is not None:
        found |= _document_keys(resource[0], resource[1])
    return tuple(sorted(found))


def _named(name: str, text: str, kind: str) -> NamedPolicy | None:
    try:
        return NamedPolicy(name=name, document=_parsed(text, kind))
    except PolicyDocumentError:
        # Stored documents were validated on the way in; one that no longer parses (a
        # stricter parser after an upgrade) grants nothing rather than failing the call.
        log.warning("a stored %s no longer parses and is ignored", kind)
        return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _failure_details(
    ctx: CallContext, request: AccessRequest, decision: AccessDecision
) -> dict[str, Any]:
    """What DecodeAuthorizationMessage reveals: AWS's document shape, no secret values
    (requests carry names, tags and encryption contexts, never values or plaintexts)."""
    conditions: Mapping[str, Any] = {
        key: [value] if isinstance(value, str) else list(value)
        for key, value in request.context.items()
    }
    return {
        "allowed": False,
        "explicitDeny": decision.explicit_deny,
        "tenantGuard": decision.tenant_guard,
        "reason": decision.reason,
        "context": {
            "principal": {"id": ctx.principal.principal_id, "arn": ctx.principal.arn},
            "action": request.action,
            "resource": request.resource,
            "conditions": {
                "items": [
                    {"key": key, "values": {"items": [{"value": v} for v in values]}}
                    for key, values in sorted(conditions.items())
                ]
            },
        },
    }
