"""What the Secrets Manager service needs from storage: records and a transactional store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from strongroom.context import CallContext
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.cryptographic_operations import DataKey

ValueKind = Literal["string", "binary"]


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """One secret's metadata. ``row_version`` guards label moves and other mutations."""

    id: int
    arn: str
    name: str
    region: str
    created_at: datetime
    last_changed_at: datetime
    row_version: int
    description: str | None = None
    kms_key_id: str | None = None
    last_accessed_at: datetime | None = None
    deleted_at: datetime | None = None
    deletion_date: datetime | None = None
    tenant: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    resource_policy: str | None = None


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version: its value is only ever stored encrypted."""

    secret_id: int
    version_id: str
    created_at: datetime
    kms_key_arn: str
    value_kind: ValueKind
    encrypted_data_key: bytes = field(repr=False)
    encrypted_value: bytes = field(repr=False)
    last_accessed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewVersion:
    version_id: str
    created_at: datetime
    kms_key_arn: str
    value_kind: ValueKind
    encrypted_data_key: bytes = field(repr=False)
    encrypted_value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SecretHead:
    """What a value read needs of a secret: identity, deletion state, labels, and what
    authorization looks at (tags and the resource policy)."""

    id: int
    arn: str
    name: str
    deleted_at: datetime | None
    last_accessed_at: datetime | None
    stages: Mapping[str, str]
    tags: tuple[tuple[str, str], ...] = ()
    resource_policy: str | None = None


class StaleRecord(Exception):
    """The record changed since it was read; the operation is retried from the start."""


class DuplicateName(Exception):
    """A secret with this name already exists in the region."""


class SecretsTransaction(Protocol):
    """One transaction on the data store; every method runs inside it."""

    def secret_by_name(self, region: str, name: str) -> SecretRecord | None: ...

    def secret_by_arn(self, arn: str) -> SecretRecord | None: ...

    def secrets_in_region(self, region: str) -> Iterator[SecretRecord]: ...

    def insert_secret(
        self,
        *,
        arn: str,
        name: str,
        region: str,
        created_at: datetime,
        description: str | None,
        kms_key_id: str | None,
        tenant: str | None,
        tags: Sequence[tuple[str, str]],
    ) -> SecretRecord:
        """Raises :class:`DuplicateName` if the name is taken in the region."""
        ...

    def bump(self, secret: SecretRecord, *, changed_at: datetime | None, **fields: object) -> None:
        """Compare-and-set on ``row_version``; sets ``fields`` (and last_changed_at when
        ``changed_at`` is given). Raises :class:`StaleRecord` if another writer got there
        first."""
        ...

    def replace_tags(self, secret_id: int, tags: Sequence[tuple[str, str]]) -> None: ...

    def delete_secret(self, secret_id: int) -> None:
        """Remove the secret, its versions and labels for good."""
        ...

    def versions(self, secret_id: int) -> list[VersionRecord]: ...

    def version(self, secret_id: int, version_id: str) -> VersionRecord | None: ...

    def insert_version(self, secret_id: int, version: NewVersion) -> None: ...

    def delete_versions(self, secret_id: int, version_ids: Sequence[str]) -> None: ...

    def replace_data_key(
        self, secret_id: int, version_id: str, encrypted_data_key: bytes, kms_key_arn: str
    ) -> None:
        """Store a version's data key re-encrypted under another KMS key."""
        ...

    def stages(self, secret_id: int) -> dict[str, str]:
        """Staging label → version id."""
        ...

    def stages_of_secrets(self, secret_ids: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def set_stage(self, secret_id: int, stage: str, version_id: str | None) -> None:
        """Attach a label to a version (moving it), or detach it when ``version_id`` is None."""
        ...

    def record_access(self, secret_id: int, version_id: str, day: datetime) -> None: ...

    def secrets_due_for_deletion(self, now: datetime) -> list[SecretRecord]: ...

    def tenant_secret_count(self, tenant: str) -> int:
        """How many secrets the tenant has, those pending deletion included."""
        ...

    def version_count(self, secret_id: int) -> int: ...

    def reset(self) -> None:
        """Delete every secret and version (dev mode reset)."""
        ...


class SecretReader(Protocol):
    """The value-read hot path: two statements, each consistent on its own."""

    def secret_head(
        self, region: str, *, name: str | None = None, arn: str | None = None
    ) -> SecretHead | None:
        """The secret and its complete label map, read in one consistent statement."""
        ...

    def version_of(self, secret_id: int, version_id: str) -> VersionRecord | None:
        """One version (immutable once written, so no transaction is needed)."""
        ...


class SecretStore(Protocol):
    """Opens transactions; a write transaction is serialised against other writers."""

    def transaction(self, *, write: bool) -> AbstractContextManager[SecretsTransaction]: ...

    def reader(self) -> AbstractContextManager[SecretReader]:
        """A connection for the value-read hot path (no explicit transaction)."""
        ...


class DataKeys(Protocol):
    """What Secrets Manager asks of KMS: data keys for its values, as KMS makes them."""

    def check_data_key_key(self, ctx: CallContext, reference: str) -> None: ...

    def new_data_key(
        self, ctx: CallContext, reference: str, context: Mapping[str, str]
    ) -> DataKey: ...

    def open_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str]
    ) -> KeyMaterial: ...

    def rewrap_data_key(
        self, ctx: CallContext, blob: bytes, context: Mapping[str, str], destination: str
    ) -> tuple[bytes, str]: ...


class SecretLimits(Protocol):
    """A tenant's count limits on secrets (None: no limit), from its quotas."""

    def max_secrets(self, tenant: str) -> int | None: ...

    def max_secret_versions(self, tenant: str) -> int | None: ...


class TenantKeys(Protocol):
    """The KMS key of each tenant that exists as an object (DESIGN §6: a secret under
    ``/customer/{id}/`` is encrypted under its tenant's key unless it names another)."""

    def key_for(self, tenant_id: str) -> str | None:
        """The tenant's key id, or None when there is no such tenant object."""
        ...
