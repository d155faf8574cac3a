"""The questions Secrets Manager asks the Authorizer: action, secret ARN, condition keys, tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from strongroom.authorization import (
    AccessRequest,
    Authorizer,
    ConditionValue,
    ResourcePolicy,
)
from strongroom.context import CallContext
from strongroom.ids import is_shared_secret_name, tenant_of_secret_name

ACTION_PREFIX = "secretsmanager:"
DEFAULT_TENANT_TAG_KEY = "customer"
# Actions with no resource (ListSecrets, GetRandomPassword, BatchGetSecretValue's own check).
NO_RESOURCE = "*"

_NO_KEYS: Mapping[str, ConditionValue] = MappingProxyType({})


def secret_id_key(secret_id: str) -> dict[str, ConditionValue]:
    """secretsmanager:SecretId is the SecretId as the caller wrote it (name, ARN, partial ARN)."""
    return {"secretsmanager:SecretId": secret_id}


def request_tag_keys(tags: Sequence[tuple[str, str]]) -> dict[str, ConditionValue]:
    """aws:RequestTag/k for each tag the request sets, and aws:TagKeys (absent without tags)."""
    keys: dict[str, ConditionValue] = {f"aws:RequestTag/{k}": v for k, v in tags}
    if tags:
        keys["aws:TagKeys"] = tuple(k for k, _ in tags)
    return keys


def flag(value: bool) -> str:
    """Boolean condition values as IAM compares them."""
    return "true" if value else "false"


class SecretAccess:
    """Builds AccessRequests for secrets and asks the Authorizer.

    The tenant that owns a secret is the tenant of its name (``/customer/{id}/…``), or else
    the value of its tenant tag: the tenant guard refuses other tenants' principals either way.
    A secret under ``/shared/`` belongs to no tenant whatever its tags say: the guard lets a
    tenant's principals reach it only through a share naming that tenant.
    """

    def __init__(self, authorizer: Authorizer, tenant_tag_key: str = DEFAULT_TENANT_TAG_KEY):
        self._authorizer = authorizer
        self._tenant_tag_key = tenant_tag_key

    def tenant_of(self, name: str, tags: Mapping[str, str]) -> str | None:
        if is_shared_secret_name(name):
            return None
        return tenant_of_secret_name(name) or tags.get(self._tenant_tag_key)

    def tenants_named(self, tags: Sequence[tuple[str, str]]) -> frozenset[str]:
        """The tenants a request's tags name (a tenant tag it sets)."""
        return frozenset(v for k, v in tags if k == self._tenant_tag_key)

    def on_secret(
        self,
        operation: str,
        *,
        arn: str,
        name: str,
        tags: Sequence[tuple[str, str]],
        resource_policy: str | None,
        context: Mapping[str, ConditionValue] = _NO_KEYS,
        tag_keys_written: frozenset[str] = frozenset(),
        request_tenants: frozenset[str] = frozenset(),
    ) -> AccessRequest:
        """The request for ``secretsmanager:<operation>`` on one secret."""
        tag_map = dict(tags)
        return AccessRequest(
            action=ACTION_PREFIX + operation,
            resource=arn,
            context=context,
            resource_tags=tag_map,
            resource_policy=None if resource_policy is None else ResourcePolicy(resource_policy),
            resource_tenant=self.tenant_of(name, tag_map),
            request_tenants=request_tenants,
            tag_keys_written=tag_keys_written,
            shared_resource_name=name if is_shared_secret_name(name) else None,
        )

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        """Return if allowed; AccessDeniedException (from the Authorizer) otherwise."""
        self._authorizer.authorize(ctx, request)

    def allowed(self, ctx: CallContext, request: AccessRequest) -> bool:
        return self._authorizer.decide(ctx, request).allowed

    def authorize_account_action(self, ctx: CallContext, operation: str) -> None:
        """Actions on no particular secret: ListSecrets, GetRandomPassword, ..."""
        self._authorizer.authorize(ctx, AccessRequest(ACTION_PREFIX + operation, NO_RESOURCE))
