"""The authorization port: what a service asks before it acts, answered by the identity layer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol

from strongroom.context import CallContext

ConditionValue = str | Sequence[str]
_EMPTY: Mapping[str, str] = MappingProxyType({})
_EMPTY_CONTEXT: Mapping[str, ConditionValue] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """A policy attached to the resource (secret resource policy, key policy, trust policy).

    ``required`` is KMS's and STS's rule: without an allow from this policy (directly, or
    by naming the account, which hands the decision to IAM policies) nothing is allowed.
    A secret's resource policy is optional: it can only add access, or deny it.
    """

    document: str
    required: bool = False
    # Which grammar the document was validated with when it was stored.
    kind: Literal["resource", "key", "trust"] = "resource"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One action on one resource, with everything a policy condition may look at."""

    action: str  # "secretsmanager:GetSecretValue", "kms:Decrypt", "iam:CreateUser", ...
    resource: str  # the resource ARN, or "*" for actions that have none (ListSecrets)
    # Service and request condition keys: "secretsmanager:Name", "kms:EncryptionContext:k",
    # "aws:RequestTag/k", "aws:TagKeys", ... (the authorizer adds the global aws: keys).
    context: Mapping[str, ConditionValue] = field(default_factory=lambda: _EMPTY_CONTEXT)
    # The resource's tags: aws:ResourceTag/k and <service>:ResourceTag/k.
    resource_tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    resource_policy: ResourcePolicy | None = None
    # The tenant that owns the resource (by name or tag), for the tenant guard.
    resource_tenant: str | None = None
    # Tenants the request itself names (an encryption context's tenant id, a tag value).
    request_tenants: frozenset[str] = frozenset()
    # The request sets, changes or removes these tag keys (for the tenant-tag rule).
    tag_keys_written: frozenset[str] = frozenset()
    # KMS: a grant on the key allows this call (grants are checked by the KMS layer). A
    # callable is asked only if no policy allows the call: most calls then read no grants.
    allowed_by_grant: bool | Callable[[], bool] = False
    # The secret's name when it lives in the shared namespace (``/shared/…``): it belongs to
    # no tenant, and a tenant-bound caller reaches it only through a share (TenantGate).
    shared_resource_name: str | None = None
    # The request changes what the tenant guard lets through (shares): a tenant-bound
    # caller may never, or it could open the guard for itself.
    changes_sharing: bool = False

    def granted(self) -> bool:
        """Does a KMS grant allow the call (looked up now if it was left to a callable)?"""
        grant = self.allowed_by_grant
        return grant() if callable(grant) else grant


@dataclass(frozen=True, slots=True)
class AccessDecision:
    allowed: bool
    # Why not, in AWS's words: "because no identity-based policy allows the … action".
    reason: str = ""
    explicit_deny: bool = False
    # Refused by the tenant guard (whatever the policies said).
    tenant_guard: bool = False


class TenantGate(Protocol):
    """What the tenant guard learns from tenancy: whether a tenant may act at all, and
    whether a share opens a shared secret to it. Consulted on every call of a tenant-bound
    caller, before any policy or cached decision, so both answers are cheap lookups."""

    def inactive_status(self, tenant: str) -> str | None:
        """The tenant's status if it may not act ("SUSPENDED", "OFFBOARDING", "SHREDDED");
        None for an active tenant, or for a tenant id with no tenant object."""
        ...

    def opens(self, tenant: str, shared_name: str, action: str) -> bool:
        """Does a share name ``tenant`` and cover the shared secret and the action?"""
        ...


class Authorizer(Protocol):
    """Decides, and enforces, one AccessRequest for the caller in ``ctx``."""

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision: ...

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        """Return if allowed; raise the service's access-denied error otherwise."""
        ...
