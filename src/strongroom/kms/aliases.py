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
from strongroom.kms.key_access import (
    KeyAccess,
    require_customer_managed,
    require_not_pending_deletion,
)
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

    def __init__(self, access: KeyAccess, clock: Clock) -> None:
        self._access = access
        self._clock = clock
        self._directory = access.directory
        self._store = access.directory.store

    def _target(self, ctx: CallContext, reference: str) -> KmsKeyRecord:
        record = self._access.find(ctx, reference, allow_alias=False)
        require_customer_managed(record, "create an alias for")
        require_not_pending_deletion(record)
        return record

    def create_alias(self, ctx: CallContext, request: shapes.CreateAliasRequest) -> None:
        _check_name(request.alias_name)
        target = self._target(ctx, request.target_key_id)
        now = self._clock.now()
        try:
            self._store.insert_alias(
                AliasRecord(ctx.region, request.alias_name, target.key_id, now, now)
            )
        except AliasExists as exc:
            arn = self._directory.alias_arn(ctx.partition, ctx.region, request.alias_name)
            raise AlreadyExistsException(f"An alias with the name {arn} already exists") from exc
        self._directory.invalidate_alias(ctx.region, request.alias_name)

    def _existing(self, ctx: CallContext, alias_name: str) -> KmsKeyRecord:
        _check_name(alias_name)
        current = self._store.key_by_alias(ctx.region, alias_name)
        if current is None:
            arn = self._directory.alias_arn(ctx.partition, ctx.region, alias_name)
            raise NotFoundException(f"Alias {arn} is not found.")
        return current

    def update_alias(self, ctx: CallContext, request: shapes.UpdateAliasRequest) -> None:
        current = self._existing(ctx, request.alias_name)
        target = self._target(ctx, request.target_key_id)
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
        self._directory.invalidate_alias(ctx.region, request.alias_name)

    def delete_alias(self, ctx: CallContext, request: shapes.DeleteAliasRequest) -> None:
        self._existing(ctx, request.alias_name)
        self._store.delete_alias(ctx.region, request.alias_name)
        self._directory.invalidate_alias(ctx.region, request.alias_name)

    def list_aliases(
        self, ctx: CallContext, request: shapes.ListAliasesRequest
    ) -> shapes.ListAliasesResult:
        limit = request.limit or DEFAULT_LIST_LIMIT
        after = markers.decode("aliases", request.marker)
        key_id = None
        if request.key_id is not None:
            key_id = self._access.find(ctx, request.key_id, allow_alias=False).key_id
        rows = self._store.list_aliases(ctx.region, key_id, after, limit + 1)
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
            entries = self._with_unused_aws_aliases(ctx, entries, after, limit)
        page = entries[:limit]
        truncated = len(entries) > limit
        return shapes.ListAliasesResult(
            aliases=tuple(page),
            next_marker=markers.encode("aliases", str(page[-1].alias_name)) if truncated else None,
            truncated=truncated,
        )

    def _with_unused_aws_aliases(
        self,
        ctx: CallContext,
        entries: list[shapes.AliasListEntry],
        after: str | None,
        limit: int,
    ) -> list[shapes.AliasListEntry]:
        """KMS lists AWS-managed aliases even before their key exists (without a target)."""
        # Only names inside this page's window belong here; later ones come on later pages.
        upper = str(entries[limit].alias_name) if len(entries) > limit else None
        for name in AWS_MANAGED_ALIASES:
            if after is not None and name <= after:
                continue
            if upper is not None and name >= upper:
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
