"""KMS aliases: create, retarget, delete and list friendly names for keys."""

from __future__ import annotations

from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from strongroom.kms import markers, shapes
from strongroom.kms.filtered_pages import visible_page
from strongroom.kms.key_access import (
    KeyAccess,
    require_customer_managed,
    require_not_pending_deletion,
)
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_directory import (
    ALIAS_NAME_PATTERN,
    AWS_MANAGED_ALIAS_PREFIX,
    AWS_MANAGED_ALIASES,
)
from strongroom.kms.key_specs import GENERATE_VERIFY_MAC, SYMMETRIC_DEFAULT
from strongroom.kms.ports import AliasExists, AliasRecord, KmsKeyRecord

DEFAULT_LIST_LIMIT = 100


def _check_name(alias_name: str) -> None:
    if not alias_name.startswith("alias/"):
        raise ValidationException('Alias must start with the prefix "alias/".')
    if alias_name.startswith(AWS_MANAGED_ALIAS_PREFIX):
        raise NotAuthorizedException("Cannot create alias with prefix 'alias/aws/'")
    if ALIAS_NAME_PATTERN.match(alias_name) is None:
        raise InvalidAliasNameException(
            f"Alias {alias_name} must contain only alphanumeric characters, forward slashes "
            "(/), underscores (_), and dashes (-) after alias/."
        )


def _key_kind(record: KmsKeyRecord) -> str:
    if record.key_spec == SYMMETRIC_DEFAULT:
        return "symmetric"
    if record.key_usage == GENERATE_VERIFY_MAC:
        return "HMAC"
    return "asymmetric"


class AliasAdministration:
    """One method per KMS alias operation."""

    def __init__(self, access: KeyAccess, clock: Clock, authorization: KeyAuthorization) -> None:
        self._access = access
        self._clock = clock
        self._authorization = authorization
        self._directory = access.directory
        self._store = access.directory.store

    @staticmethod
    def _require_target(record: KmsKeyRecord) -> None:
        require_customer_managed(record, "create an alias for")
        require_not_pending_deletion(record)

    def _forget(self, ctx: CallContext, alias_name: str, *keys: KmsKeyRecord) -> None:
        self._directory.invalidate_alias(ctx.region, alias_name)
        for key in keys:
            self._directory.invalidate(key.key_id)

    def create_alias(self, ctx: CallContext, request: shapes.CreateAliasRequest) -> None:
        """Authorized on the alias (identity policies) and on the key (its key policy)."""
        _check_name(request.alias_name)
        target = self._access.find(ctx, request.target_key_id, allow_alias=False)
        self._authorization.alias(ctx, "CreateAlias", request.alias_name)
        self._authorization.key(ctx, "CreateAlias", target)
        self._require_target(target)
        now = self._clock.now()
        try:
            self._store.insert_alias(
                AliasRecord(ctx.region, request.alias_name, target.key_id, now, now)
            )
        except AliasExists as exc:
            arn = self._directory.alias_arn(ctx.partition, ctx.region, request.alias_name)
            raise AlreadyExistsException(f"An alias with the name {arn} already exists") from exc
        self._forget(ctx, request.alias_name, target)

    def _existing(self, ctx: CallContext, alias_name: str) -> KmsKeyRecord:
        _check_name(alias_name)
        current = self._store.key_by_alias(ctx.region, alias_name)
        if current is None:
            arn = self._directory.alias_arn(ctx.partition, ctx.region, alias_name)
            raise NotFoundException(f"Alias {arn} is not found.")
        return current

    def update_alias(self, ctx: CallContext, request: shapes.UpdateAliasRequest) -> None:
        """Authorized on the alias, the key it names now and the key it will name."""
        current = self._existing(ctx, request.alias_name)
        target = self._access.find(ctx, request.target_key_id, allow_alias=False)
        self._authorization.alias(ctx, "UpdateAlias", request.alias_name)
        self._authorization.key(ctx, "UpdateAlias", current)
        self._authorization.key(ctx, "UpdateAlias", target)
        self._require_target(target)
        if _key_kind(current) != _key_kind(target) or current.key_usage != target.key_usage:
            raise ValidationException(
                f"{target.arn} cannot replace {current.arn} as the target of "
                f"{request.alias_name}: both must be {_key_kind(current)} keys with key usage "
                f"{current.key_usage}."
            )
        if not self._store.retarget_alias(
            ctx.region, request.alias_name, target.key_id, self._clock.now()
        ):
            arn = self._directory.alias_arn(ctx.partition, ctx.region, request.alias_name)
            raise NotFoundException(f"Alias {arn} is not found.")
        self._forget(ctx, request.alias_name, current, target)

    def delete_alias(self, ctx: CallContext, request: shapes.DeleteAliasRequest) -> None:
        """Authorized on the alias and on the key it names."""
        current = self._existing(ctx, request.alias_name)
        self._authorization.alias(ctx, "DeleteAlias", request.alias_name)
        self._authorization.key(ctx, "DeleteAlias", current)
        self._store.delete_alias(ctx.region, request.alias_name)
        self._forget(ctx, request.alias_name, current)

    def list_aliases(
        self, ctx: CallContext, request: shapes.ListAliasesRequest
    ) -> shapes.ListAliasesResult:
        """Aliases of keys the caller may DescribeKey (beyond AWS, which lists all)."""
        limit = request.limit or DEFAULT_LIST_LIMIT
        after = markers.decode("aliases", request.marker)
        key_id = None
        if request.key_id is not None:
            key_id = self._access.find(ctx, request.key_id, allow_alias=False).key_id
        self._authorization.account(ctx, "ListAliases")

        def visible(alias: AliasRecord) -> bool:
            record = self._directory.load(alias.key_id)
            return record is not None and self._authorization.may(ctx, "DescribeKey", record)

        rows, next_after = visible_page(
            lambda cursor, count: self._store.list_aliases(ctx.region, key_id, cursor, count),
            lambda alias: alias.alias_name,
            visible,
            after,
            limit,
        )
        entries = [
            shapes.AliasListEntry(
                alias_name=r.alias_name,
                alias_arn=self._directory.alias_arn(ctx.partition, ctx.region, r.alias_name),
                target_key_id=r.key_id,
                creation_date=r.created_at,
                last_updated_date=r.updated_at,
            )
            for r in rows
        ]
        if key_id is None:
            entries = self._with_unused_aws_aliases(ctx, entries, after, next_after)
        if len(entries) > limit:
            entries = entries[:limit]
            next_after = str(entries[-1].alias_name)
        return shapes.ListAliasesResult(
            aliases=tuple(entries),
            next_marker=None if next_after is None else markers.encode("aliases", next_after),
            truncated=next_after is not None,
        )

    def _with_unused_aws_aliases(
        self,
        ctx: CallContext,
        entries: list[shapes.AliasListEntry],
        after: str | None,
        upper: str | None,
    ) -> list[shapes.AliasListEntry]:
        """KMS lists AWS-managed aliases even before their key exists (without a target)."""
        # Only names inside this page's window (after, upper] belong here; later ones come
        # on later pages.
        for name in AWS_MANAGED_ALIASES:
            if after is not None and name <= after:
                continue
            if upper is not None and name > upper:
                continue
            if any(e.alias_name == name for e in entries):
                continue
            if self._store.key_by_alias(ctx.region, name) is not None:
                continue
            entries.append(
                shapes.AliasListEntry(
                    alias_name=name,
                    alias_arn=self._directory.alias_arn(ctx.partition, ctx.region, name),
                )
            )
        return sorted(entries, key=lambda e: str(e.alias_name))
