"""What the KMS layer needs from storage: the keystore (wrapped material) and key metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class WrappedDomainKey:
    """The domain key, wrapped under the root key. Lives in the keystore database."""

    id: bytes
    created_at: datetime
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class WrappedKeyVersion:
    """One version of a KMS key's backing material, wrapped under a domain key."""

    key_id: str
    version: int
    domain_key_id: bytes
    created_at: datetime
    encryptions_reserved: int
    wrapped: bytes = field(repr=False)
    # Exact count of blobs sealed under this version without a partition (flushed in batches).
    encryptions: int = 0


@dataclass(frozen=True, slots=True)
class WrappedPartition:
    """One tenant partition of a KMS key version: a random key per value of the key's
    partition context key, wrapped under that version's material. Lives in the keystore."""

    key_id: str
    version: int
    value: str
    partition_id: bytes
    created_at: datetime
    wrapped: bytes = field(repr=False)
    # Exact count of blobs sealed under this partition (flushed in batches).
    encryptions: int = 0


@dataclass(frozen=True, slots=True)
class DestroyedPartition:
    """What is left of a destroyed partition: enough to say so, nothing to decrypt with."""

    key_id: str
    partition_id: bytes
    version: int
    value: str
    encryptions: int
    destroyed_at: datetime


@dataclass(frozen=True, slots=True)
class DestroyedKeyMaterial:
    """Everything one keystore transaction destroyed for a key; or, read back from the
    keystore's destruction records, everything ever destroyed of it."""

    versions: tuple[int, ...]
    # Blobs sealed under the versions themselves (not under a partition).
    version_encryptions: int
    partitions: tuple[DestroyedPartition, ...]
    # When the material went (the latest record's time); None if none did.
    destroyed_at: datetime | None = None


class PartitionLimitReached(Exception):
    """The key already has as many distinct partition values as it may."""


class KeyMaterialStore(Protocol):
    """The keystore: a database of its own, so a data backup cannot resurrect a key."""

    def domain_keys(self) -> list[WrappedDomainKey]: ...

    def insert_domain_key(self, key: WrappedDomainKey) -> None: ...

    def key_versions(self, key_id: str) -> list[WrappedKeyVersion]: ...

    def insert_key_version(self, version: WrappedKeyVersion) -> None:
        """Raises :class:`VersionExists` if that (key, version) is already stored."""
        ...

    def reserve_encryptions(self, key_id: str, version: int, count: int, budget: int) -> bool:
        """Atomically add ``count`` to the version's reservation unless that passes ``budget``."""
        ...

    def destroy_key_versions(self, key_id: str) -> int:
        """Delete every version of a key and make sure the bytes leave the database files
        (SQLite: secure_delete plus a truncating WAL checkpoint). Returns how many."""
        ...

    # -- partitions --------------------------------------------------------------

    def partition(self, key_id: str, version: int, value: str) -> WrappedPartition | None: ...

    def partition_by_id(self, key_id: str, partition_id: bytes) -> WrappedPartition | None: ...

    def insert_partition(
        self, partition: WrappedPartition, max_values_per_key: int
    ) -> WrappedPartition:
        """Store a new partition and return it; if (key, version, value) has one already,
        return that one instead. Raises :class:`PartitionLimitReached` if the value is new
        to the key and the key has ``max_values_per_key`` distinct values already."""
        ...

    def destroyed_partition(self, key_id: str, partition_id: bytes) -> DestroyedPartition | None:
        """The record a destroyed partition leaves behind, if it was destroyed."""
        ...

    def destroy_partitions(
        self, key_id: str, value: str, destroyed_at: datetime
    ) -> list[DestroyedPartition]:
        """Delete every partition of (key, value), in all versions, leaving a record of
        each; the bytes leave the database files as in :meth:`destroy_key_versions`."""
        ...

    def destroy_key_material(self, key_id: str, destroyed_at: datetime) -> DestroyedKeyMaterial:
        """Delete every version and every partition of a key in one transaction that also
        records each (see :meth:`destroyed_key_material`), the bytes leaving the files as in
        :meth:`destroy_key_versions`. Returns what this transaction destroyed."""
        ...

    def destroyed_key_material(self, key_id: str) -> DestroyedKeyMaterial:
        """What the destruction records say went of a key: the versions
        :meth:`destroy_key_material` destroyed and the partitions either destroy method
        did, with their encryption counts. The records outlive the material, so a caller
        interrupted after destroying can still say what it destroyed."""
        ...

    def destroyed_partitions(self, key_id: str, value: str) -> list[DestroyedPartition]:
        """The destruction records of (key, value)'s partitions, in every version."""
        ...

    def add_destroyed_encryption_counts(
        self,
        versions: Mapping[tuple[str, int], int],
        partitions: Mapping[tuple[str, bytes], int],
    ) -> None:
        """Add encryptions counted while their material was being destroyed to its
        destruction records (records that do not exist are skipped; zero counts cost
        nothing, and no transaction is opened when every count is zero)."""
        ...

    def add_encryption_counts(
        self,
        versions: Mapping[tuple[str, int], int],
        partitions: Mapping[tuple[str, bytes], int],
    ) -> None:
        """Add counted encryptions to versions and partitions (rows gone meanwhile are
        skipped)."""
        ...

    def reset(self) -> None: ...


class VersionExists(Exception):
    """Another process created this key version first."""


@dataclass(frozen=True, slots=True)
class KmsKeyRecord:
    """A KMS key's metadata (data database); its material is in the keystore."""

    key_id: str
    arn: str
    region: str
    created_at: datetime
    key_manager: str
    key_state: str
    description: str = ""
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    origin: str = "AWS_KMS"
    # Set while the key is PendingDeletion.
    deletion_date: datetime | None = None
    pending_deletion_window_days: int | None = None
    # Automatic rotation: a period means enabled.
    rotation_period_days: int | None = None
    next_rotation_date: datetime | None = None
    # Imported material (Origin EXTERNAL).
    expiration_model: str | None = None
    valid_to: datetime | None = None
    # SHA-256 of the imported material, so a re-import can be checked for sameness.
    imported_material_digest: bytes | None = field(default=None, repr=False)
    # The key policy document as given; enforced by the identity and policy layer.
    policy: str | None = None
    # Bumped by every update; updates compare-and-set on it.
    row_version: int = 1
    # The encryption-context key whose values get a partition each (set at creation only).
    partition_key_name: str | None = None


@dataclass(frozen=True, slots=True)
class AliasRecord:
    region: str
    alias_name: str
    key_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KeyRotationRecord:
    """One completed rotation: the key version it created, when and how."""

    key_id: str
    version: int
    rotated_at: datetime
    rotation_type: str  # AUTOMATIC | ON_DEMAND


@dataclass(frozen=True, slots=True)
class KeyUsageRecord:
    """The last cryptographic use of a key, as GetKeyLastUsage reports it."""

    key_id: str
    used_at: datetime
    operation: str
    request_id: str


@dataclass(frozen=True, slots=True)
class KeyDestructionRecord:
    """What a deletion destroyed; kept after the key itself is gone."""

    key_id: str
    arn: str
    destroyed_at: datetime
    versions_destroyed: int
    reason: str  # ScheduledDeletion (imported material can be re-imported: no record)


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A KMS grant: a grantee may call these operations on this key, within constraints."""

    grant_id: str
    key_id: str
    grantee_principal: str
    issuing_account: str
    operations: tuple[str, ...]
    created_at: datetime
    name: str | None = None
    retiring_principal: str | None = None
    # At most one of the two constraints is set (CreateGrant refuses both).
    encryption_context_subset: Mapping[str, str] | None = None
    encryption_context_equals: Mapping[str, str] | None = None


class GrantLimitExceeded(Exception):
    """The key already carries as many grants as it may."""


class StaleKeyRecord(Exception):
    """An update's expected row version was not the stored one (a concurrent change)."""


class AliasExists(Exception):
    """The alias name is taken in this region."""


class KeyDirectoryStore(Protocol):
    """Key metadata, aliases, tags, rotations and usage; each call is its own transaction."""

    def key(self, key_id: str) -> KmsKeyRecord | None: ...

    def key_for_authorization(
        self, key_id: str, max_aliases: int
    ) -> tuple[KmsKeyRecord, list[tuple[str, str]], list[str]] | None:
        """A key with its tags (ordered by tag key) and up to ``max_aliases`` names of its
        aliases (ordered by name), in one read: what authorizing a call on it looks at."""
        ...

    def key_by_alias(self, region: str, alias_name: str) -> KmsKeyRecord | None:
        """The key an alias names (one query)."""
        ...

    def insert_key(
        self,
        record: KmsKeyRecord,
        tags: Sequence[tuple[str, str]] = (),
        alias_name: str | None = None,
    ) -> KmsKeyRecord:
        """Insert a key with its tags (and alias). If the alias exists already, insert
        nothing and return the key the alias names (how AWS-managed keys are created)."""
        ...

    def update_key(
        self, key_id: str, expected_row_version: int, changes: Mapping[str, Any]
    ) -> KmsKeyRecord:
        """Apply ``changes`` (KmsKeyRecord field names) and bump the row version.

        Raises :class:`StaleKeyRecord` if the row version moved or the key is gone."""
        ...

    def list_keys(self, region: str, after_key_id: str | None, limit: int) -> list[KmsKeyRecord]:
        """Keys of a region ordered by key id, starting after ``after_key_id``."""
        ...

    def delete_key(self, key_id: str, destruction: KeyDestructionRecord) -> None:
        """Remove a key with its aliases, tags, rotations and usage; keep the record."""
        ...

    def destruction(self, key_id: str) -> KeyDestructionRecord | None: ...

    # -- aliases -------------------------------------------------------------------

    def insert_alias(self, alias: AliasRecord) -> None:
        """Raises :class:`AliasExists`."""
        ...

    def retarget_alias(self, region: str, alias_name: str, key_id: str, at: datetime) -> bool:
        """Point an existing alias at another key; False if the alias does not exist."""
        ...

    def delete_alias(self, region: str, alias_name: str) -> bool: ...

    def list_aliases(
        self, region: str, key_id: str | None, after_alias: str | None, limit: int
    ) -> list[AliasRecord]:
        """Aliases ordered by name, optionally only those naming ``key_id``."""
        ...

    # -- tags ----------------------------------------------------------------------

    def key_tags(self, key_id: str) -> list[tuple[str, str]]:
        """(key, value) ordered by tag key."""
        ...

    def put_key_tags(self, key_id: str, tags: Sequence[tuple[str, str]], limit: int) -> bool:
        """Add or overwrite tags; False (and nothing written) if the key would then carry
        more than ``limit`` tags."""
        ...

    def remove_key_tags(self, key_id: str, tag_keys: Sequence[str]) -> None: ...

    # -- rotations -----------------------------------------------------------------

    def insert_rotation(self, rotation: KeyRotationRecord) -> None: ...

    def rotations(self, key_id: str) -> list[KeyRotationRecord]:
        """Ordered by version."""
        ...

    def keys_due_for_rotation(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        """Enabled keys with automatic rotation whose next rotation date has passed."""
        ...

    def keys_due_for_deletion(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        """PendingDeletion keys whose deletion date has passed."""
        ...

    def keys_with_expired_material(self, now: datetime, limit: int) -> list[KmsKeyRecord]:
        """EXTERNAL keys whose imported material has a ValidTo that has passed."""
        ...

    # -- grants --------------------------------------------------------------------

    def insert_grant(self, grant: GrantRecord, limit: int) -> GrantRecord:
        """Insert a grant, or, if it has a name and the key has a grant of that name with
        the same parameters, return that one instead (CreateGrant's idempotency).

        Raises :class:`GrantLimitExceeded` if the key has ``limit`` grants already."""
        ...

    def grant(self, grant_id: str) -> GrantRecord | None: ...

    def grants_for(self, key_id: str, grantees: Sequence[str]) -> list[GrantRecord]:
        """The key's grants whose grantee is one of ``grantees``."""
        ...

    def list_grants(
        self,
        key_id: str,
        grant_id: str | None,
        grantee: str | None,
        after_grant_id: str | None,
        limit: int,
    ) -> list[GrantRecord]:
        """A key's grants ordered by grant id, optionally filtered, after a grant id."""
        ...

    def list_retirable_grants(
        self, region: str, retiring_principal: str, after_grant_id: str | None, limit: int
    ) -> list[GrantRecord]:
        """Grants on keys of ``region`` that name ``retiring_principal``, by grant id."""
        ...

    def delete_grant(self, grant_id: str) -> bool: ...

    # -- usage ---------------------------------------------------------------------

    def record_usage(self, usages: Sequence[KeyUsageRecord]) -> None:
        """Upsert the last use of each key (newer wins)."""
        ...

    def last_usage(self, key_id: str) -> KeyUsageRecord | None: ...

    def reset(self) -> None: ...

    def tenant_key_count(self, tenant_tag_key: str, tenant: str) -> int:
        """How many keys (pending deletion included) carry the tenant tag with the value
        ``tenant``; ``tenant_tag_key`` is in lower case and matched case-insensitively."""
        ...


class KeyLimits(Protocol):
    """A tenant's limit on KMS keys (None: no limit), from its quotas."""

    def max_keys(self, tenant: str) -> int | None: ...
