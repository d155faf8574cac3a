"""Authorization of KMS calls: each operation's AccessRequest (condition keys, key policy,
tenancy) with the caller's grants, put to the Authorizer port."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from strongroom.authorization import AccessRequest, Authorizer, ConditionValue, ResourcePolicy
from strongroom.context import CallContext
from strongroom.kms.grant_book import GRANT_OPERATIONS, GrantBook, grant_allows
from strongroom.kms.key_directory import KeyDirectory
from strongroom.kms.key_policies import effective_key_policy
from strongroom.kms.ports import GrantRecord, KmsKeyRecord

DEFAULT_TENANT_TAG_KEY = "customer"
DEFAULT_TENANT_CONTEXT_KEY = "tenant_id"
_NO_CONTEXT: Mapping[str, str] = MappingProxyType({})
_NO_CONDITIONS: Mapping[str, ConditionValue] = MappingProxyType({})


def via_secrets_manager(ctx: CallContext) -> str:
    """kms:ViaService when Secrets Manager calls KMS for a caller."""
    return f"secretsmanager.{ctx.region}.amazonaws.com"


def alias_in(reference: str | None) -> str | None:
    """The alias name a KeyId names (alias name or alias ARN), for kms:RequestAlias."""
    if reference is None:
        return None
    if reference.startswith("alias/"):
        return reference
    if reference.startswith("arn:"):
        resource = reference.split(":", 5)[-1]
        if resource.startswith("alias/"):
            return resource
    return None


def context_conditions(context: Mapping[str, str] | None) -> dict[str, ConditionValue]:
    """kms:EncryptionContext:<k> per pair and kms:EncryptionContextKeys (absent if empty)."""
    if not context:
        return {}
    keys: dict[str, ConditionValue] = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    keys["kms:EncryptionContextKeys"] = tuple(context)
    return keys


def tag_conditions(tags: Sequence[tuple[str, str]]) -> dict[str, ConditionValue]:
    """aws:RequestTag/<k> per tag and aws:TagKeys, for requests that set tags."""
    keys: dict[str, ConditionValue] = {f"aws:RequestTag/{k}": v for k, v in tags}
    keys["aws:TagKeys"] = tuple(k for k, _ in tags)
    return keys


def flag(value: bool) -> str:
    return "true" if value else "false"


class KeyAuthorization:
    """Builds the AccessRequest of a KMS call and has the Authorizer decide it.

    Keys carry their tenant in a tag (``tenant_tag_key``); a request names a tenant in its
    encryption context (``tenant_context_key``): both go to the authorizer's tenant guard.
    """

    def __init__(
        self,
        authorizer: Authorizer,
        directory: KeyDirectory,
        grants: GrantBook,
        *,
        tenant_tag_key: str = DEFAULT_TENANT_TAG_KEY,
        tenant_context_key: str = DEFAULT_TENANT_CONTEXT_KEY,
    ) -> None:
        self._authorizer = authorizer
        self._directory = directory
        self._grants = grants
        self._tenant_tag_key = tenant_tag_key.lower()
        self._tenant_context_key = tenant_context_key

    @property
    def grants(self) -> GrantBook:
        return self._grants

    @property
    def tenant_tag_key(self) -> str:
        return self._tenant_tag_key

    def tenant_of(self, tags: Mapping[str, str]) -> str | None:
        for key, value in tags.items():
            if key.lower() == self._tenant_tag_key:
                return value
        return None

    def tenants_named(self, context: Mapping[str, str] | None) -> frozenset[str]:
        if not context or self._tenant_context_key not in context:
            return frozenset()
        return frozenset({context[self._tenant_context_key]})

    # -- operations on a key ------------------------------------------------------------

    def key_request(
        self,
        ctx: CallContext,
        operation: str,
        record: KmsKeyRecord,
        *,
        reference: str | None = None,
        conditions: Mapping[str, ConditionValue] = _NO_CONDITIONS,
        encryption_context: Mapping[str, str] | None = None,
        via_service: bool = False,
        allowed_by_grant: bool | Callable[[], bool] = False,
        tag_keys_written: frozenset[str] = frozenset(),
        request_tenants: frozenset[str] = frozenset(),
    ) -> AccessRequest:
        """The AccessRequest for ``kms:<operation>`` on a key, with AWS's condition keys."""
        keys: dict[str, ConditionValue] = {
            "kms:CallerAccount": ctx.account_id,
            "kms:KeySpec": record.key_spec,
            "kms:KeyUsage": record.key_usage,
            "kms:KeyOrigin": record.origin,
        }
        aliases = self._directory.alias_names(record)
        if aliases:
            keys["kms:ResourceAliases"] = aliases
        requested = alias_in(reference)
        if requested is not None:
            keys["kms:RequestAlias"] = requested
        if via_service:
            keys["kms:ViaService"] = via_secrets_manager(ctx)
        keys.update(context_conditions(encryption_context))
        keys.update(conditions)
        tags = self._directory.tags(record.key_id)
        return AccessRequest(
            action=f"kms:{operation}",
            resource=record.arn,
            context=keys,
            resource_tags=tags,
            resource_policy=ResourcePolicy(
                effective_key_policy(record, ctx.partition, ctx.account_id),
                required=True,
                kind="key",
            ),
            resource_tenant=self.tenant_of(tags),
            request_tenants=request_tenants | self.tenants_named(encryption_context),
            tag_keys_written=tag_keys_written,
            allowed_by_grant=allowed_by_grant,
        )

    def key(
        self,
        ctx: CallContext,
        operation: str,
        record: KmsKeyRecord,
        *,
        reference: str | None = None,
        conditions: Mapping[str, ConditionValue] = _NO_CONDITIONS,
        encryption_context: Mapping[str, str] | None = None,
        grant_tokens: Sequence[str] | None = None,
        grant_check: Callable[[GrantRecord], bool] | None = None,
        allowed_by_grant: bool | None = None,
        via_service: bool = False,
        tag_keys_written: frozenset[str] = frozenset(),
        request_tenants: frozenset[str] = frozenset(),
    ) -> None:
        """Authorize ``kms:<operation>`` on a key, or raise AccessDeniedException.

        A grant of the caller's on the key (or named by a grant token) allows what the
        policies alone do not, unless a policy denies it explicitly. ``allowed_by_grant``
        overrides the grant lookup (RetireGrant decides it from the grant itself)."""
        grant: bool | Callable[[], bool]
        if allowed_by_grant is not None:
            if grant_tokens:
                self._grants.granted_by_tokens(grant_tokens)
            grant = allowed_by_grant
        elif grant_tokens:
            # Now: every token must name a live grant, whatever the policies say.
            grant = self._granted(
                ctx, operation, record, encryption_context, grant_tokens, grant_check
            )
        else:
            # Only if no policy allows the call: a caller the key policy or its own
            # policies allow (most calls) reads no grants.
            def grant() -> bool:
                return self._granted(ctx, operation, record, encryption_context, None, grant_check)

        self._authorizer.authorize(
            ctx,
            self.key_request(
                ctx,
                operation,
                record,
                reference=reference,
                conditions=conditions,
                encryption_context=encryption_context,
                via_service=via_service,
                allowed_by_grant=grant,
                tag_keys_written=tag_keys_written,
                request_tenants=request_tenants,
            ),
        )

    def _granted(
        self,
        ctx: CallContext,
        operation: str,
        record: KmsKeyRecord,
        encryption_context: Mapping[str, str] | None,
        grant_tokens: Sequence[str] | None,
        grant_check: Callable[[GrantRecord], bool] | None,
    ) -> bool:
        if operation not in GRANT_OPERATIONS:
            if grant_tokens:  # still refused if they name no live grant
                self._grants.granted_by_tokens(grant_tokens)
            return False
        grants = self._grants.caller_grants(ctx.principal, record.key_id, grant_tokens)
        context = encryption_context or _NO_CONTEXT
        return any(
            grant_allows(g, operation, context) and (grant_check is None or grant_check(g))
            for g in grants
        )

    def may(self, ctx: CallContext, operation: str, record: KmsKeyRecord) -> bool:
        """Could the caller call ``kms:<operation>`` on this key (for listings)?"""
        decision = self._authorizer.decide(ctx, self.key_request(ctx, operation, record))
        if decision.allowed:
            return True
        if decision.explicit_deny or decision.tenant_guard:
            return False
        if not self._granted(ctx, operation, record, None, None, None):
            return False
        request = self.key_request(ctx, operation, record, allowed_by_grant=True)
        return self._authorizer.decide(ctx, request).allowed

    # -- operations without a key, and aliases ------------------------------------------

    def account(
        self,
        ctx: CallContext,
        operation: str,
        *,
        conditions: Mapping[str, ConditionValue] = _NO_CONDITIONS,
        tag_keys_written: frozenset[str] = frozenset(),
        request_tenants: frozenset[str] = frozenset(),
    ) -> None:
        """Authorize an operation on no key (resource "*"): identity policies only."""
        keys: dict[str, ConditionValue] = {"kms:CallerAccount": ctx.account_id}
        keys.update(conditions)
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action=f"kms:{operation}",
                resource="*",
                context=keys,
                tag_keys_written=tag_keys_written,
                request_tenants=request_tenants,
            ),
        )

    def alias(self, ctx: CallContext, operation: str, alias_name: str) -> None:
        """Authorize an alias operation on the alias itself (identity policies only)."""
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action=f"kms:{operation}",
                resource=self._directory.alias_arn(ctx.partition, ctx.region, alias_name),
                context={"kms:CallerAccount": ctx.account_id},
            ),
        )
