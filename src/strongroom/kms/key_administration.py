"""KMS key lifecycle: create, describe, list, enable/disable, tag, schedule deletion."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from strongroom.authorization import ConditionValue
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import (
    KMSInvalidStateException,
    LimitExceededException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import markers, shapes
from strongroom.kms.filtered_pages import visible_page
from strongroom.kms.key_access import (
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    PENDING_IMPORT,
    KeyAccess,
    raise_invalid_state,
    require_customer_managed,
    require_not_pending_deletion,
)
from strongroom.kms.key_authorization import KeyAuthorization, flag, tag_conditions
from strongroom.kms.key_policies import check_lockout, parse_key_policy
from strongroom.kms.key_specs import KEY_SPECS, SYMMETRIC_DEFAULT, UNSUPPORTED_KEY_SPECS
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import KeyRing, key_material_id
from strongroom.kms.ports import KeyDestructionRecord, KmsKeyRecord

log = logging.getLogger(__name__)

MAX_TAGS_PER_KEY = 50
DEFAULT_PENDING_WINDOW_DAYS = 30
MIN_PENDING_WINDOW_DAYS = 7
MAX_PENDING_WINDOW_DAYS = 30
DEFAULT_LIST_LIMIT = 100
DEFAULT_TAG_LIST_LIMIT = 50
_SWEEP_BATCH = 100


def validate_tags(tags: Sequence[shapes.Tag]) -> list[tuple[str, str]]:
    """KMS's tag rules beyond the model's lengths: no ``aws:`` keys, no duplicates."""
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for tag in tags:
        if tag.tag_key.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved.")
        if tag.tag_key in seen:
            raise TagException(f"Duplicate tag keys: {tag.tag_key}")
        seen.add(tag.tag_key)
        pairs.append((tag.tag_key, tag.tag_value))
    if len(pairs) > MAX_TAGS_PER_KEY:
        raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS_PER_KEY} tags.")
    return pairs


class KeyAdministration:
    """One method per KMS key-management operation, and the deletion reaper."""

    def __init__(
        self,
        access: KeyAccess,
        keyring: KeyRing,
        usage: KeyUsageTracker,
        clock: Clock,
        authorization: KeyAuthorization,
    ) -> None:
        self._access = access
        self._keyring = keyring
        self._usage = usage
        self._clock = clock
        self._authorization = authorization
        self._store = access.directory.store

    def _administered(
        self,
        ctx: CallContext,
        reference: str,
        operation: str,
        action_words: str,
        conditions: dict[str, ConditionValue] | None = None,
    ) -> KmsKeyRecord:
        """A customer-managed key read fresh, once the caller may call ``operation`` on it."""
        record = self._access.fresh(ctx, reference)
        self._authorization.key(
            ctx, operation, record, reference=reference, conditions=conditions or {}
        )
        require_customer_managed(record, action_words)
        return record

    # -- create, describe, list ---------------------------------------------------------

    @staticmethod
    def _spec_and_usage(request: shapes.CreateKeyRequest) -> tuple[str, str]:
        if request.key_spec is not None and request.customer_master_key_spec is not None:
            raise ValidationException(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                "CustomerMasterKeySpec is deprecated."
            )
        spec_name = request.key_spec or request.customer_master_key_spec or SYMMETRIC_DEFAULT
        if spec_name in UNSUPPORTED_KEY_SPECS:
            raise UnsupportedOperationException(
                f"KeySpec {spec_name} is not supported by this server."
            )
        spec = KEY_SPECS[spec_name]
        usage = request.key_usage or spec.default_usage
        if usage is None or usage not in spec.usages:
            raise ValidationException(
                f"KeyUsage {usage or 'ENCRYPT_DECRYPT'} is not compatible with KeySpec {spec_name}."
            )
        return spec_name, usage

    def create_key(
        self, ctx: CallContext, request: shapes.CreateKeyRequest
    ) -> shapes.CreateKeyResult:
        if request.custom_key_store_id is not None or request.xks_key_id is not None:
            raise UnsupportedOperationException("Custom key stores are not supported.")
        if request.multi_region:
            raise UnsupportedOperationException("Multi-Region keys are not supported.")
        origin = request.origin or "AWS_KMS"
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise UnsupportedOperationException(f"Origin {origin} is not supported.")
        spec, usage = self._spec_and_usage(request)
        tags = validate_tags(request.tags or ())
        bypass = bool(request.bypass_policy_lockout_safety_check)
        conditions: dict[str, ConditionValue] = {
            "kms:KeySpec": spec,
            "kms:KeyUsage": usage,
            "kms:KeyOrigin": origin,
            "kms:MultiRegion": "false",
            "kms:BypassPolicyLockoutSafetyCheck": flag(bypass),
        }
        if tags:
            conditions.update(tag_conditions(tags))
        tenant = self._authorization.tenant_of(dict(tags))
        self._authorization.account(
            ctx,
            "CreateKey",
            conditions=conditions,
            tag_keys_written=frozenset(k for k, _ in tags),
            request_tenants=frozenset() if tenant is None else frozenset({tenant}),
        )
        key_id = str(uuid.uuid4())
        arn = self._access.directory.key_arn(ctx.partition, ctx.region, key_id)
        if request.policy is not None:
            document = parse_key_policy(request.policy)
            if not bypass:
                check_lockout(ctx, arn, document)
        if origin == "AWS_KMS":
            # Material first: a crash between the two writes leaves only unreachable material.
            self._keyring.create_key_material(key_id, spec)
        record = KmsKeyRecord(
            key_id=key_id,
            arn=arn,
            region=ctx.region,
            created_at=self._clock.now(),
            key_manager="CUSTOMER",
            key_state=ENABLED if origin == "AWS_KMS" else PENDING_IMPORT,
            description=request.description or "",
            key_spec=spec,
            key_usage=usage,
            origin=origin,
            policy=request.policy,
        )
        self._store.insert_key(record, tags)
        return shapes.CreateKeyResult(key_metadata=self.metadata(ctx, record))

    def metadata(self, ctx: CallContext, record: KmsKeyRecord) -> shapes.KeyMetadata:
        """DescribeKey's KeyMetadata for a record."""
        algorithms = KEY_SPECS[record.key_spec].algorithms_for(record.key_usage)
        current_material = None
        if record.key_spec == SYMMETRIC_DEFAULT and record.key_state != PENDING_IMPORT:
            versions = self._keyring.versions(record.key_id)
            if versions:
                current_material = key_material_id(record.key_id, versions[-1])
        return shapes.KeyMetadata(
            aws_account_id=ctx.account_id,
            key_id=record.key_id,
            arn=record.arn,
            creation_date=record.created_at,
            enabled=record.key_state == ENABLED,
            description=record.description,
            key_usage=record.key_usage,
            key_state=record.key_state,
            deletion_date=record.deletion_date,
            valid_to=record.valid_to,
            origin=record.origin,
            expiration_model=record.expiration_model,
            key_manager=record.key_manager,
            customer_master_key_spec=record.key_spec,
            key_spec=record.key_spec,
            multi_region=False,
            pending_deletion_window_in_days=record.pending_deletion_window_days,
            current_key_material_id=current_material,
            encryption_algorithms=algorithms.get("encryption_algorithms"),
            signing_algorithms=algorithms.get("signing_algorithms"),
            mac_algorithms=algorithms.get("mac_algorithms"),
            key_agreement_algorithms=algorithms.get("key_agreement_algorithms"),
        )

    def describe_key(
        self, ctx: CallContext, request: shapes.DescribeKeyRequest
    ) -> shapes.DescribeKeyResult:
        record = self._access.find(ctx, request.key_id)
        self._authorization.key(
            ctx,
            "DescribeKey",
            record,
            reference=request.key_id,
            grant_tokens=request.grant_tokens,
        )
        return shapes.DescribeKeyResult(key_metadata=self.metadata(ctx, record))

    def list_keys(self, ctx: CallContext, request: shapes.ListKeysRequest) -> shapes.ListKeysResult:
        """Keys of the region the caller may DescribeKey (beyond AWS, which lists all)."""
        limit = request.limit or DEFAULT_LIST_LIMIT
        after = markers.decode("keys", request.marker)
        self._authorization.account(ctx, "ListKeys")
        page, next_after = visible_page(
            lambda cursor, count: self._store.list_keys(ctx.region, cursor, count),
            lambda record: record.key_id,
            lambda record: self._authorization.may(ctx, "DescribeKey", record),
            after,
            limit,
        )
        return shapes.ListKeysResult(
            keys=tuple(shapes.KeyListEntry(key_id=r.key_id, key_arn=r.arn) for r in page),
            next_marker=None if next_after is None else markers.encode("keys", next_after),
            truncated=next_after is not None,
        )

    # -- state and description ----------------------------------------------------------

    def enable_key(self, ctx: CallContext, request: shapes.EnableKeyRequest) -> None:
        record = self._administered(ctx, request.key_id, "EnableKey", "enable")
        if record.key_state in (PENDING_DELETION, PENDING_IMPORT):
            raise_invalid_state(record)
        if record.key_state != ENABLED:
            self._access.update(record, {"key_state": ENABLED})

    def disable_key(self, ctx: CallContext, request: shapes.DisableKeyRequest) -> None:
        record = self._administered(ctx, request.key_id, "DisableKey", "disable")
        if record.key_state in (PENDING_DELETION, PENDING_IMPORT):
            raise_invalid_state(record)
        if record.key_state != DISABLED:
            self._access.update(record, {"key_state": DISABLED})

    def update_key_description(
        self, ctx: CallContext, request: shapes.UpdateKeyDescriptionRequest
    ) -> None:
        record = self._administered(
            ctx, request.key_id, "UpdateKeyDescription", "update the description of"
        )
        require_not_pending_deletion(record)
        self._access.update(record, {"description": request.description})

    def get_key_last_usage(
        self, ctx: CallContext, request: shapes.GetKeyLastUsageRequest
    ) -> shapes.GetKeyLastUsageResult:
        record = self._access.find(ctx, request.key_id)
        self._authorization.key(ctx, "GetKeyLastUsage", record, reference=request.key_id)
        last = self._usage.last(record.key_id)
        return shapes.GetKeyLastUsageResult(
            key_id=record.arn,
            key_last_usage=None
            if last is None
            else shapes.KeyLastUsageData(
                operation=last.operation, timestamp=last.used_at, kms_request_id=last.request_id
            ),
            tracking_start_date=record.created_at,
            key_creation_date=record.created_at,
        )

    # -- tags ---------------------------------------------------------------------------

    def tag_resource(self, ctx: CallContext, request: shapes.TagResourceRequest) -> None:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        tags = validate_tags(request.tags)
        tenant = self._authorization.tenant_of(dict(tags))
        self._authorization.key(
            ctx,
            "TagResource",
            record,
            conditions=tag_conditions(tags),
            tag_keys_written=frozenset(k for k, _ in tags),
            request_tenants=frozenset() if tenant is None else frozenset({tenant}),
        )
        require_customer_managed(record, "tag")
        require_not_pending_deletion(record)
        try:
            if not self._store.put_key_tags(record.key_id, tags, MAX_TAGS_PER_KEY):
                raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS_PER_KEY} tags.")
        finally:
            self._access.directory.invalidate(record.key_id)

    def untag_resource(self, ctx: CallContext, request: shapes.UntagResourceRequest) -> None:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(
            ctx,
            "UntagResource",
            record,
            conditions={"aws:TagKeys": tuple(request.tag_keys)},
            tag_keys_written=frozenset(request.tag_keys),
        )
        require_customer_managed(record, "tag")
        require_not_pending_deletion(record)
        try:
            self._store.remove_key_tags(record.key_id, request.tag_keys)
        finally:
            self._access.directory.invalidate(record.key_id)

    def list_resource_tags(
        self, ctx: CallContext, request: shapes.ListResourceTagsRequest
    ) -> shapes.ListResourceTagsResult:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(ctx, "ListResourceTags", record)
        limit = min(request.limit or DEFAULT_TAG_LIST_LIMIT, DEFAULT_TAG_LIST_LIMIT)
        after = markers.decode("tags", request.marker)
        tags = [t for t in self._store.key_tags(record.key_id) if after is None or t[0] > after]
        page = tags[:limit]
        truncated = len(tags) > limit
        return shapes.ListResourceTagsResult(
            tags=tuple(shapes.Tag(tag_key=k, tag_value=v) for k, v in page),
            next_marker=markers.encode("tags", page[-1][0]) if truncated else None,
            truncated=truncated,
        )

    # -- deletion -----------------------------------------------------------------------

    def schedule_key_deletion(
        self, ctx: CallContext, request: shapes.ScheduleKeyDeletionRequest
    ) -> shapes.ScheduleKeyDeletionResult:
        days = request.pending_window_in_days or DEFAULT_PENDING_WINDOW_DAYS
        if not MIN_PENDING_WINDOW_DAYS <= days <= MAX_PENDING_WINDOW_DAYS:
            raise ValidationException(
                f"PendingWindowInDays must be between {MIN_PENDING_WINDOW_DAYS} and "
                f"{MAX_PENDING_WINDOW_DAYS}."
            )
        record = self._administered(
            ctx,
            request.key_id,
            "ScheduleKeyDeletion",
            "schedule deletion of",
            {"kms:ScheduleKeyDeletionPendingWindowInDays": str(days)},
        )
        if record.key_state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{record.arn} is pending deletion.")
        deletion_date = self._clock.now() + timedelta(days=days)
        updated = self._access.update(
            record,
            {
                "key_state": PENDING_DELETION,
                "deletion_date": deletion_date,
                "pending_deletion_window_days": days,
            },
        )
        return shapes.ScheduleKeyDeletionResult(
            key_id=updated.arn,
            deletion_date=deletion_date,
            key_state=PENDING_DELETION,
            pending_window_in_days=days,
        )

    def cancel_key_deletion(
        self, ctx: CallContext, request: shapes.CancelKeyDeletionRequest
    ) -> shapes.CancelKeyDeletionResult:
        record = self._administered(ctx, request.key_id, "CancelKeyDeletion", "cancel deletion of")
        if record.key_state != PENDING_DELETION:
            raise KMSInvalidStateException(f"{record.arn} is not pending deletion.")
        has_material = record.origin != "EXTERNAL" or bool(self._keyring.versions(record.key_id))
        self._access.update(
            record,
            {
                "key_state": DISABLED if has_material else PENDING_IMPORT,
                "deletion_date": None,
                "pending_deletion_window_days": None,
            },
        )
        return shapes.CancelKeyDeletionResult(key_id=record.arn)

    def destroy_due_keys(self) -> int:
        """The reaper: crypto-shred every key whose deletion window has ended."""
        destroyed = 0
        while True:
            due = self._store.keys_due_for_deletion(self._clock.now(), _SWEEP_BATCH)
            if not due:
                return destroyed
            for record in due:
                # Material first: once it is gone nothing can decrypt, whatever happens next.
                count = self._keyring.destroy(record.key_id)
                self._store.delete_key(
                    record.key_id,
                    KeyDestructionRecord(
                        key_id=record.key_id,
                        arn=record.arn,
                        destroyed_at=self._clock.now(),
                        versions_destroyed=count,
                        reason="ScheduledDeletion",
                    ),
                )
                self._access.directory.invalidate(record.key_id)
                log.info("destroyed KMS key %s (%d key versions)", record.key_id, count)
                destroyed += 1
