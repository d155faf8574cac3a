"""KMS key lifecycle: create, describe, list, enable/disable, tag, delete and destroy."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from strongroom.authorization import ConditionValue
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import (
    KMSInvalidStateException,
    LimitExceededException,
    NotFoundException,
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
from strongroom.kms.key_specs import (
    ENCRYPT_DECRYPT,
    KEY_SPECS,
    SYMMETRIC_DEFAULT,
    UNSUPPORTED_KEY_SPECS,
)
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import KeyRing, key_material_id
from strongroom.kms.partition_keys import MAX_PARTITION_VALUE_CHARS, is_valid_partition_value
from strongroom.kms.ports import (
    DestroyedKeyMaterial,
    DestroyedPartition,
    KeyDestructionRecord,
    KeyLimits,
    KmsKeyRecord,
)

log = logging.getLogger(__name__)

MAX_TAGS_PER_KEY = 50
DEFAULT_PENDING_WINDOW_DAYS = 30
MIN_PENDING_WINDOW_DAYS = 7
MAX_PENDING_WINDOW_DAYS = 30
DEFAULT_LIST_LIMIT = 100
DEFAULT_TAG_LIST_LIMIT = 50
_SWEEP_BATCH = 100
# CreateKey with this tag makes a partitioned key; the tag's value is the encryption-context
# key whose values get a partition each. It cannot be changed afterwards.
PARTITION_KEY_TAG = "strongroom:partition-key"
DEFAULT_PARTITION_KEY_NAME = "tenant_id"
MAX_PARTITION_KEY_NAME_CHARS = 128
# kms_key_destructions.reason
MAX_DESTRUCTION_REASON_CHARS = 32


@dataclass(frozen=True, slots=True)
class PartitionDestruction:
    """What :meth:`KeyAdministration.destroy_partition` crypto-shredded: every partition
    of one value of a key's partition context key, in every key version (or, from
    :meth:`KeyAdministration.partition_destruction`, every one the records name)."""

    key_id: str
    key_arn: str
    value: str
    partition_ids: tuple[str, ...]  # 32 hex digits each, as in the blob header
    versions: tuple[int, ...]  # the key version of each partition, in the same order
    encryptions: int  # blobs sealed under these partitions (the ciphertexts they protected)
    destroyed_at: datetime


@dataclass(frozen=True, slots=True)
class KeyDestruction:
    """What :meth:`KeyAdministration.destroy_key_now` crypto-shredded: all of a key (with
    the partitions destroyed before it, which its records name too)."""

    key_id: str
    key_arn: str
    versions: tuple[int, ...]
    partition_ids: tuple[str, ...]
    encryptions: int  # blobs sealed under the versions and under every partition
    destroyed_at: datetime


def _partition_key_name(tags: Sequence[tuple[str, str]], spec: str, usage: str) -> str | None:
    """The partition context key CreateKey's tags ask for, if any, checked."""
    name = dict(tags).get(PARTITION_KEY_TAG)
    if name is None:
        return None
    if not 1 <= len(name) <= MAX_PARTITION_KEY_NAME_CHARS:
        raise ValidationException(
            f"The {PARTITION_KEY_TAG} tag must name an encryption context key of 1 to "
            f"{MAX_PARTITION_KEY_NAME_CHARS} characters."
        )
    if spec != SYMMETRIC_DEFAULT or usage != ENCRYPT_DECRYPT:
        raise ValidationException(
            f"Only {SYMMETRIC_DEFAULT} KMS keys with key usage {ENCRYPT_DECRYPT} can be "
            f"partitioned ({PARTITION_KEY_TAG}); this key is {spec} for {usage}."
        )
    return name


def _refuse_partition_tag(tag_keys: Iterable[str]) -> None:
    if PARTITION_KEY_TAG in tag_keys:
        raise TagException(
            f"The tag {PARTITION_KEY_TAG} is set when a KMS key is created and cannot be "
            "changed or removed."
        )


def _canonical_key_id(key_id: str) -> str:
    try:
        canonical = str(uuid.UUID(key_id))
    except ValueError:
        canonical = ""
    if canonical != key_id:
        raise ValidationException(f"{key_id!r} is not a KMS key id.")
    return canonical


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
        *,
        limits: KeyLimits | None = None,
    ) -> None:
        self._access = access
        self._keyring = keyring
        self._usage = usage
        self._clock = clock
        self._authorization = authorization
        self._store = access.directory.store
        # Tenants' key-count quotas (None: no limits); counting and inserting a tenant's
        # key happen under the lock, so this process never overshoots a limit.
        self._limits = limits
        self._quota_lock = threading.Lock()

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
        partition_key_name = _partition_key_name(tags, spec, usage)
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
        # A tenant-bound caller's key belongs to its tenant: tagged so, it counts against the
        # tenant's quota and the tenant guard keeps other tenants off it.
        tenant = tenant or ctx.principal.tenant
        if tenant is not None and self._authorization.tenant_of(dict(tags)) is None:
            tags = [*tags, (self._authorization.tenant_tag_key, tenant)]
            if len(tags) > MAX_TAGS_PER_KEY:
                raise LimitExceededException(
                    f"A KMS key can have at most {MAX_TAGS_PER_KEY} tags, "
                    f"the tenant tag {self._authorization.tenant_tag_key} included."
                )
        with self._tenant_key_slot(tenant):
            if origin == "AWS_KMS":
                # Material first: a crash between the two writes leaves only unreachable
                # material.
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
                partition_key_name=partition_key_name,
            )
            self._store.insert_key(record, tags)
        return shapes.CreateKeyResult(key_metadata=self.metadata(ctx, record))

    @contextmanager
    def _tenant_key_slot(self, tenant: str | None) -> Iterator[None]:
        """Room for one more key of ``tenant`` while it is made (LimitExceededException if
        its quota has none): counting and inserting happen under one lock."""
        limit = None if tenant is None or self._limits is None else self._limits.max_keys(tenant)
        if tenant is None or limit is None:
            yield
            return
        with self._quota_lock:
            if self._store.tenant_key_count(self._authorization.tenant_tag_key, tenant) >= limit:
                raise LimitExceededException(
                    f"Tenant {tenant} already has {limit} KMS keys, the limit of its quota "
                    "(max_keys); keys pending deletion count until they are deleted."
                )
            yield

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
        _refuse_partition_tag(k for k, _ in tags)
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
        _refuse_partition_tag(request.tag_keys)
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
                self.destroy_key_now(record.key_id, "ScheduledDeletion")
                destroyed += 1

    # -- destruction for the tenancy service (internal: not on the wire) -----------------

    def partition_key_name(self, key_id: str) -> str | None:
        """The encryption-context key a key is partitioned by; None if it is not."""
        record = self._access.directory.load(_canonical_key_id(key_id))
        if record is None:
            raise NotFoundException(f"Key '{key_id}' does not exist")
        return record.partition_key_name

    def _gone(self, key_id: str) -> str:
        """The ARN of a key destroyed already; NotFoundException if it never existed."""
        destruction = self._store.destruction(key_id)
        if destruction is None:
            raise NotFoundException(f"Key '{key_id}' does not exist")
        return destruction.arn

    def destroy_partition(self, key_id: str, value: str) -> PartitionDestruction:
        """Crypto-shred one value's partitions of a partitioned key, in every version: its
        blobs stop decrypting (KMSInvalidStateException), other values' blobs do not.
        Destroying again (or after the key) returns an empty destruction; what any call
        destroyed stays recorded (:meth:`partition_destruction`)."""
        key_id = self._checked_partition(key_id, value)
        record = self._store.key(key_id)
        if record is None:
            return PartitionDestruction(
                key_id, self._gone(key_id), value, (), (), 0, self._clock.now()
            )
        if record.partition_key_name is None:
            raise ValidationException(f"{record.arn} is not a partitioned KMS key.")
        destroyed = self._keyring.destroy_partition(key_id, value)
        log.info("destroyed %d partitions of KMS key %s", len(destroyed), key_id)
        return _partition_destruction(key_id, record.arn, value, destroyed, self._clock.now())

    def partition_destruction(self, key_id: str, value: str) -> PartitionDestruction | None:
        """Every partition of one value destroyed so far, from the keystore's records: the
        same answer whichever call destroyed them and however it ended (a caller that
        died before reporting a destruction reports it from here). None if none was."""
        key_id = self._checked_partition(key_id, value)
        destroyed = self._keyring.destroyed_partitions(key_id, value)
        if not destroyed:
            return None
        record = self._store.key(key_id)
        arn = self._gone(key_id) if record is None else record.arn
        return _partition_destruction(key_id, arn, value, destroyed, self._clock.now())

    def _checked_partition(self, key_id: str, value: str) -> str:
        key_id = _canonical_key_id(key_id)
        if not is_valid_partition_value(value):
            raise ValidationException(
                f"A partition value is 1 to {MAX_PARTITION_VALUE_CHARS} characters, "
                "without control characters."
            )
        return key_id

    def destroy_key_now(self, key_id: str, reason: str) -> KeyDestruction:
        """Crypto-shred a key at once, whatever its state: every version and partition of
        its material, then its metadata (a ``kms_key_destructions`` record with ``reason``
        stays). Destroying again returns an empty destruction; completing one that was
        interrupted between the two (material gone, metadata not) reports what it
        destroyed, from the keystore's records (as :meth:`key_destruction` does)."""
        key_id = _canonical_key_id(key_id)
        if not 1 <= len(reason) <= MAX_DESTRUCTION_REASON_CHARS:
            raise ValidationException(
                f"A destruction reason is 1 to {MAX_DESTRUCTION_REASON_CHARS} characters."
            )
        record = self._store.key(key_id)
        if record is None:
            return KeyDestruction(key_id, self._gone(key_id), (), (), 0, self._clock.now())
        # Material first: once it is gone nothing can decrypt, whatever happens next.
        self._keyring.destroy_key_material(key_id)
        material = self._keyring.destroyed_key_material(key_id)
        destroyed_at = material.destroyed_at or self._clock.now()
        self._store.delete_key(
            key_id,
            KeyDestructionRecord(
                key_id=key_id,
                arn=record.arn,
                destroyed_at=destroyed_at,
                versions_destroyed=len(material.versions),
                reason=reason,
            ),
        )
        self._access.directory.invalidate(key_id)
        log.info(
            "destroyed KMS key %s (%d key versions, %d partitions)",
            key_id,
            len(material.versions),
            len(material.partitions),
        )
        return _key_destruction(key_id, record.arn, material, destroyed_at)

    def key_destruction(self, key_id: str) -> KeyDestruction | None:
        """What destroying a key took away, from the records it left (the same answer
        however often it is asked, whichever call destroyed the key); None if the key has
        not been destroyed."""
        key_id = _canonical_key_id(key_id)
        done = self._store.destruction(key_id)
        if done is None:
            return None
        material = self._keyring.destroyed_key_material(key_id)
        return _key_destruction(key_id, done.arn, material, done.destroyed_at)

    def destroy_uncommitted_key(self, key_id: str) -> int:
        """Remove the keystore material of a key whose metadata never committed (made in a
        unit of work that rolled back): nothing names the key, so nothing can use it, but
        its wrapped material would stay in the keystore. A key that exists, or was
        destroyed, is left alone. Returns how many versions went."""
        key_id = _canonical_key_id(key_id)
        if self._store.key(key_id) is not None or self._store.destruction(key_id) is not None:
            return 0
        # A read inside the rolled-back transaction may have cached the record.
        self._access.directory.invalidate(key_id)
        return self._keyring.destroy(key_id)


def _partition_destruction(
    key_id: str,
    key_arn: str,
    value: str,
    destroyed: Sequence[DestroyedPartition],
    otherwise: datetime,
) -> PartitionDestruction:
    return PartitionDestruction(
        key_id=key_id,
        key_arn=key_arn,
        value=value,
        partition_ids=tuple(p.partition_id.hex() for p in destroyed),
        versions=tuple(p.version for p in destroyed),
        encryptions=sum(p.encryptions for p in destroyed),
        destroyed_at=max((p.destroyed_at for p in destroyed), default=otherwise),
    )


def _key_destruction(
    key_id: str, key_arn: str, material: DestroyedKeyMaterial, otherwise: datetime
) -> KeyDestruction:
    return KeyDestruction(
        key_id=key_id,
        key_arn=key_arn,
        versions=material.versions,
        partition_ids=tuple(p.partition_id.hex() for p in material.partitions),
        encryptions=material.version_encryptions + sum(p.encryptions for p in material.partitions),
        destroyed_at=material.destroyed_at or otherwise,
    )
