"""Sharing: ShareSecrets, UnshareSecrets and ListShares, the one door through the tenant guard."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from strongroom.authorization import AccessRequest, Authorizer, ConditionValue
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import (
    InvalidStateException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.tenancy import shapes
from strongroom.tenancy import tenants as t
from strongroom.tenancy.share_book import ShareBook
from strongroom.tenancy.share_patterns import InvalidShare, normalised_actions, parse_pattern
from strongroom.tenancy.sharing_ports import ShareNotFound, ShareRecord, ShareStore, TenantLookup

ACTION_PREFIX = "strongroom:"
# Condition keys a policy may use to bound what an administrator shares.
PATTERN_KEY = "strongroom:SecretPattern"
ACTIONS_KEY = "strongroom:ShareActions"
DEFAULT_PAGE_SIZE = 100
_TOKEN_VERSION = 1


class SecretSharing:
    """Shares: a tenant may reach the ``/shared/…`` secrets a pattern matches, for READ or
    DESCRIBE, if its policies allow the call too. Every change drops this process's
    ShareBook at once; other servers see it within the book's cache lifetime."""

    def __init__(
        self,
        shares: ShareStore,
        tenants: TenantLookup,
        book: ShareBook,
        authorizer: Authorizer,
        clock: Clock,
        *,
        id_rule: t.TenantIdRule | None = None,
    ) -> None:
        self._shares = shares
        self._tenants = tenants
        self._book = book
        self._authorizer = authorizer
        self._clock = clock
        self._id_rule = id_rule or t.TenantIdRule()

    # -- operations -----------------------------------------------------------------------

    def share_secrets(
        self, ctx: CallContext, request: shapes.ShareSecretsRequest
    ) -> shapes.ShareSecretsResult:
        tenant_id = self._checked_id(request.tenant_id)
        try:
            pattern = parse_pattern(request.secret_pattern).text
            actions = normalised_actions(request.actions)
        except InvalidShare as exc:
            raise ValidationException(str(exc)) from exc
        self._authorize(
            ctx,
            "ShareSecrets",
            tenant_id,
            changes_sharing=True,
            context={PATTERN_KEY: pattern, ACTIONS_KEY: actions},
        )
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise ResourceNotFoundException(f"Tenant {tenant_id} does not exist.")
        if tenant.status != t.ACTIVE:
            raise InvalidStateException(
                f"Tenant {tenant_id} is {tenant.status}; only an ACTIVE tenant can be "
                "given a share."
            )
        stored = self._shares.put_share(
            ShareRecord(
                tenant_id=tenant_id,
                secret_pattern=pattern,
                actions=actions,
                created_at=self._clock.now(),
                created_by=ctx.principal.arn,
            )
        )
        self._book.changed()
        return shapes.ShareSecretsResult(share=_share(stored))

    def unshare_secrets(self, ctx: CallContext, request: shapes.UnshareSecretsRequest) -> None:
        tenant_id = self._checked_id(request.tenant_id)
        try:
            pattern = parse_pattern(request.secret_pattern).text
        except InvalidShare as exc:
            raise ValidationException(str(exc)) from exc
        self._authorize(
            ctx,
            "UnshareSecrets",
            tenant_id,
            changes_sharing=True,
            context={PATTERN_KEY: pattern},
        )
        try:
            self._shares.delete_share(tenant_id, pattern)
        except ShareNotFound as exc:
            raise ResourceNotFoundException(
                f"Tenant {tenant_id} has no share for {pattern}."
            ) from exc
        finally:
            self._book.changed()

    def list_shares(
        self, ctx: CallContext, request: shapes.ListSharesRequest
    ) -> shapes.ListSharesResult:
        tenant_id = None if request.tenant_id is None else self._checked_id(request.tenant_id)
        after = None if request.next_token is None else _token_value(request.next_token)
        self._authorize(ctx, "ListShares", tenant_id)
        if tenant_id is None and ctx.principal.tenant is not None:
            # A tenant-bound caller never sees another tenant's shares.
            tenant_id = ctx.principal.tenant
        limit = request.max_results or DEFAULT_PAGE_SIZE
        page = self._shares.shares_page(tenant_id, after, limit + 1)
        more = len(page) > limit
        page = page[:limit]
        last = page[-1] if page else None
        return shapes.ListSharesResult(
            shares=tuple(_share(record) for record in page),
            next_token=_token(last) if more and last is not None else None,
        )

    # -- for offboarding and the dev server -----------------------------------------------

    def revoke_tenant_shares(self, tenant_id: str) -> int:
        """Remove every share of a tenant (offboarding); how many there were. Inside a unit
        of work, call ``ShareBook.changed`` again once it has committed."""
        try:
            return self._shares.delete_tenant_shares(tenant_id)
        finally:
            self._book.changed()

    def reset(self) -> None:
        """Forget every share (the dev server's ResetDevState)."""
        try:
            self._shares.reset()
        finally:
            self._book.changed()

    # -- helpers --------------------------------------------------------------------------

    def _checked_id(self, tenant_id: str) -> str:
        try:
            self._id_rule.check(tenant_id)
        except t.InvalidTenantId as exc:
            raise ValidationException(str(exc)) from exc
        return tenant_id

    def _authorize(
        self,
        ctx: CallContext,
        operation: str,
        tenant_id: str | None,
        *,
        changes_sharing: bool = False,
        context: Mapping[str, ConditionValue] | None = None,
    ) -> None:
        resource = (
            "*"
            if tenant_id is None
            else t.tenant_arn(ctx.partition, ctx.region, ctx.account_id, tenant_id)
        )
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action=ACTION_PREFIX + operation,
                resource=resource,
                context=context or {},
                resource_tenant=tenant_id,
                changes_sharing=changes_sharing,
            ),
        )


def _share(record: ShareRecord) -> shapes.Share:
    return shapes.Share(
        tenant_id=record.tenant_id,
        secret_pattern=record.secret_pattern,
        actions=record.actions,
        created_date=record.created_at,
        created_by=record.created_by,
    )


def _token(last: ShareRecord) -> str:
    document = {"v": _TOKEN_VERSION, "after": [last.tenant_id, last.secret_pattern]}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def _token_value(token: str) -> tuple[str, str]:
    """The (tenant, pattern) a NextToken continues after; ValidationException if it is not
    one this service made."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode()))
        version, after = document["v"], document["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValidationException("The NextToken is not valid.") from exc
    if (
        version != _TOKEN_VERSION
        or not isinstance(after, list)
        or len(after) != 2
        or not all(isinstance(part, str) for part in after)
    ):
        raise ValidationException("The NextToken is not valid.")
    return after[0], after[1]
