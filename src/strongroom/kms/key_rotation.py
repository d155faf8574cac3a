"""KMS key rotation: automatic rotation settings, on-demand rotation, history, the scheduler."""

from __future__ import annotations

import logging
from datetime import timedelta

from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import LimitExceededException, UnsupportedOperationException
from strongroom.kms import markers, shapes
from strongroom.kms.key_access import KeyAccess, require_customer_managed, require_enabled
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_specs import KEY_SPECS
from strongroom.kms.keyring import KeyRing, key_material_id
from strongroom.kms.ports import KeyRotationRecord, KmsKeyRecord, StaleKeyRecord

log = logging.getLogger(__name__)

DEFAULT_ROTATION_PERIOD_DAYS = 365
ON_DEMAND_ROTATION_LIMIT = 25
DEFAULT_LIST_LIMIT = 100
_SWEEP_BATCH = 100


def _require_rotatable(record: KmsKeyRecord, what: str) -> None:
    if not KEY_SPECS[record.key_spec].rotatable:
        raise UnsupportedOperationException(
            f"{record.arn} key spec is {record.key_spec}; {what} is supported only for "
            "symmetric encryption KMS keys."
        )


class KeyRotation:
    """One method per KMS rotation operation, and the job that rotates keys when due."""

    def __init__(
        self, access: KeyAccess, keyring: KeyRing, clock: Clock, authorization: KeyAuthorization
    ) -> None:
        self._access = access
        self._keyring = keyring
        self._clock = clock
        self._authorization = authorization
        self._store = access.directory.store

    def _rotation_target(
        self,
        ctx: CallContext,
        reference: str,
        operation: str,
        what: str,
        conditions: dict[str, str] | None = None,
    ) -> KmsKeyRecord:
        record = self._access.fresh(ctx, reference)
        self._authorization.key(
            ctx, operation, record, reference=reference, conditions=conditions or {}
        )
        require_customer_managed(record, what)
        _require_rotatable(record, what)
        if record.origin != "AWS_KMS":
            raise UnsupportedOperationException(
                f"{record.arn} has imported key material; {what} is not supported for it."
            )
        require_enabled(record)
        return record

    def enable_key_rotation(
        self, ctx: CallContext, request: shapes.EnableKeyRotationRequest
    ) -> None:
        period = request.rotation_period_in_days or DEFAULT_ROTATION_PERIOD_DAYS
        record = self._rotation_target(
            ctx,
            request.key_id,
            "EnableKeyRotation",
            "automatic rotation",
            {"kms:RotationPeriodInDays": str(period)},
        )
        self._access.update(
            record,
            {
                "rotation_period_days": period,
                "next_rotation_date": self._clock.now() + timedelta(days=period),
            },
        )

    def disable_key_rotation(
        self, ctx: CallContext, request: shapes.DisableKeyRotationRequest
    ) -> None:
        record = self._rotation_target(
            ctx, request.key_id, "DisableKeyRotation", "automatic rotation"
        )
        self._access.update(record, {"rotation_period_days": None, "next_rotation_date": None})

    def get_key_rotation_status(
        self, ctx: CallContext, request: shapes.GetKeyRotationStatusRequest
    ) -> shapes.GetKeyRotationStatusResult:
        record = self._access.find(ctx, request.key_id)
        self._authorization.key(ctx, "GetKeyRotationStatus", record, reference=request.key_id)
        _require_rotatable(record, "key rotation")
        enabled = record.rotation_period_days is not None
        return shapes.GetKeyRotationStatusResult(
            key_rotation_enabled=enabled,
            key_id=record.arn,
            rotation_period_in_days=record.rotation_period_days,
            next_rotation_date=record.next_rotation_date if enabled else None,
        )

    def rotate_key_on_demand(
        self, ctx: CallContext, request: shapes.RotateKeyOnDemandRequest
    ) -> shapes.RotateKeyOnDemandResult:
        record = self._rotation_target(
            ctx, request.key_id, "RotateKeyOnDemand", "on-demand rotation"
        )
        on_demand = [
            r for r in self._store.rotations(record.key_id) if r.rotation_type == "ON_DEMAND"
        ]
        if len(on_demand) >= ON_DEMAND_ROTATION_LIMIT:
            raise LimitExceededException(
                f"{record.arn} has reached the limit of {ON_DEMAND_ROTATION_LIMIT} on-demand "
                "rotations."
            )
        self._rotate(record, "ON_DEMAND")
        return shapes.RotateKeyOnDemandResult(key_id=record.key_id)

    def _rotate(self, record: KmsKeyRecord, rotation_type: str) -> int:
        version = self._keyring.rotate(record.key_id)
        self._store.insert_rotation(
            KeyRotationRecord(record.key_id, version, self._clock.now(), rotation_type)
        )
        log.info("rotated KMS key %s to version %d (%s)", record.key_id, version, rotation_type)
        return version

    def list_key_rotations(
        self, ctx: CallContext, request: shapes.ListKeyRotationsRequest
    ) -> shapes.ListKeyRotationsResult:
        record = self._access.find(ctx, request.key_id)
        self._authorization.key(ctx, "ListKeyRotations", record, reference=request.key_id)
        _require_rotatable(record, "key rotation")
        limit = request.limit or DEFAULT_LIST_LIMIT
        after = markers.decode("rotations", request.marker)
        after_version = int(after) if after is not None and after.isdigit() else 0
        versions = self._keyring.versions(record.key_id)
        current = versions[-1] if versions else None
        rotations = {r.version: r for r in self._store.rotations(record.key_id)}
        if request.include_key_material == "ALL_KEY_MATERIAL":
            # Every version: the original, rotations, and those the usage budget forced.
            listed = versions
        else:
            listed = [v for v in versions if v in rotations]
        entries = [(v, self._entry(record, v, current, rotations.get(v))) for v in listed]
        entries = [e for e in entries if e[0] > after_version]
        page = entries[:limit]
        truncated = len(entries) > limit
        return shapes.ListKeyRotationsResult(
            rotations=tuple(e for _, e in page),
            next_marker=markers.encode("rotations", str(page[-1][0])) if truncated else None,
            truncated=truncated,
        )

    @staticmethod
    def _entry(
        record: KmsKeyRecord, version: int, current: int | None, rotation: KeyRotationRecord | None
    ) -> shapes.RotationsListEntry:
        return shapes.RotationsListEntry(
            key_id=record.key_id,
            key_material_id=key_material_id(record.key_id, version),
            key_material_state="CURRENT" if version == current else "NON_CURRENT",
            rotation_date=None if rotation is None else rotation.rotated_at,
            rotation_type=None if rotation is None else rotation.rotation_type,
        )

    def rotate_due_keys(self) -> int:
        """The scheduler: rotate every key whose automatic rotation is due."""
        rotated = 0
        now = self._clock.now()
        for record in self._store.keys_due_for_rotation(now, _SWEEP_BATCH):
            if record.rotation_period_days is None:
                continue
            # Claim the rotation first, so two server processes never both rotate.
            try:
                self._store.update_key(
                    record.key_id,
                    record.row_version,
                    {"next_rotation_date": now + timedelta(days=record.rotation_period_days)},
                )
            except StaleKeyRecord:
                continue
            self._access.directory.invalidate(record.key_id)
            self._rotate(record, "AUTOMATIC")
            rotated += 1
        return rotated
