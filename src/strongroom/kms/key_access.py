"""Finding a key for an operation: reference → record, KMS's errors for each key state.

Services find a key, authorize the call on it (key_authorization), then check its state:
KMS answers NotFoundException, then AccessDeniedException, then the state's error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.context import CallContext
from strongroom.errors import (
    ConflictException,
    DisabledException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
)
from strongroom.kms.key_directory import KeyDirectory, KeyNotFound
from strongroom.kms.ports import KmsKeyRecord, StaleKeyRecord

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
PENDING_IMPORT = "PendingImport"

_STATE_WORDS = {
    PENDING_DELETION: "pending deletion",
    PENDING_IMPORT: "pending import",
    "Unavailable": "unavailable",
}


class KeyAccess:
    """The one way services find a key: resolution plus the state checks KMS makes."""

    def __init__(self, directory: KeyDirectory) -> None:
        self._directory = directory

    @property
    def directory(self) -> KeyDirectory:
        return self._directory

    def find(self, ctx: CallContext, reference: str, *, allow_alias: bool = True) -> KmsKeyRecord:
        """The key, in whatever state; NotFoundException if there is none."""
        try:
            return self._directory.resolve(
                ctx.region, ctx.partition, reference, allow_alias=allow_alias
            )
        except KeyNotFound as exc:
            raise NotFoundException(exc.message) from exc

    def update(self, record: KmsKeyRecord, changes: Mapping[str, Any]) -> KmsKeyRecord:
        """Write changes to a key read in this request (compare-and-set on its row)."""
        try:
            updated = self._directory.store.update_key(record.key_id, record.row_version, changes)
        except StaleKeyRecord as exc:
            raise ConflictException(
                f"{record.arn} was changed by a concurrent request. Retry the request."
            ) from exc
        finally:
            self._directory.invalidate(record.key_id)
        return updated

    def fresh(self, ctx: CallContext, reference: str) -> KmsKeyRecord:
        """The key straight from storage (for read-modify-write), never from the cache."""
        record = self.find(ctx, reference)
        self._directory.invalidate(record.key_id)
        return self.find(ctx, record.key_id)


def require_enabled(record: KmsKeyRecord) -> None:
    if record.key_state == ENABLED:
        return
    if record.key_state == DISABLED:
        raise DisabledException(f"{record.arn} is disabled.")
    raise_invalid_state(record)


def require_not_pending_deletion(record: KmsKeyRecord) -> None:
    if record.key_state == PENDING_DELETION:
        raise_invalid_state(record)


def raise_invalid_state(record: KmsKeyRecord) -> None:
    words = _STATE_WORDS.get(record.key_state, record.key_state)
    raise KMSInvalidStateException(f"{record.arn} is {words}.")


def require_customer_managed(record: KmsKeyRecord, action: str) -> None:
    if record.key_manager == "AWS":
        raise UnsupportedOperationException(
            f"{record.arn} is an AWS managed key. You cannot {action} an AWS managed key."
        )
