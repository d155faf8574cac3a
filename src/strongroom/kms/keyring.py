"""The key hierarchy at run time: root key → domain key → KMS key versions (→ partitions) → blobs.

spec: docs/spec/key-hierarchy.md
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from strongroom.clock import Clock
from strongroom.crypto import aead, asymmetric, ciphertext_blob, key_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.encryption_counts import EncryptionCounts
from strongroom.kms.partition_keys import (
    DEFAULT_MAX_PARTITIONS_PER_KEY,
    DEFAULT_PARTITION_CACHE_LIMIT,
    Partition,
    PartitionKeys,
    PartitionMissing,
)
from strongroom.kms.ports import (
    DestroyedKeyMaterial,
    DestroyedPartition,
    KeyMaterialStore,
    VersionExists,
    WrappedDomainKey,
    WrappedKeyVersion,
)

DOMAIN_KEY_LABEL = b"strongroom/domain-key/v1"
KEY_VERSION_LABEL = b"strongroom/key-version/v1"
# 10% short of 2^32 random-IV encryptions per key (NIST SP 800-38D), as Vault does, leaving
# room for reservations lost in crashes.
DEFAULT_USAGE_BUDGET = 3_865_470_566
DEFAULT_RESERVATION_BLOCK = 1_000
# A reservation is dropped after this long even if unused, so that a rotation made by
# another process is picked up within seconds (unused reservations only over-count).
RESERVATION_LIFETIME_SECONDS = 5.0


class CiphertextUnusable(Exception):
    """A blob is malformed, names unknown material, or fails authentication. No detail."""


class KeyMaterialMissing(Exception):
    """A KMS key has no material in the keystore (never created, or destroyed)."""


class PartitionDestroyed(Exception):
    """A blob names a partition that was destroyed, and its context names that partition's
    value: crypto-shredded, not merely wrong."""


_UNUSABLE = (
    ciphertext_blob.MalformedBlob,
    aead.AuthenticationFailed,
    key_wrapping.UnwrapFailed,
    KeyMaterialMissing,
)


@dataclass(slots=True)
class _Reservation:
    version: int
    remaining: int
    expires: float


T = TypeVar("T")


def _with_partition(
    lookup: Callable[[], Partition], use: Callable[[Partition], T]
) -> tuple[Partition, T]:
    """``use(lookup())``, looking the partition up once more if its cached key was wiped
    (evicted, or destroyed) between the lookup and the use."""
    partition = lookup()
    try:
        return partition, use(partition)
    except ValueError:
        if not partition.material.wiped:
            raise
    partition = lookup()
    return partition, use(partition)


def _with_counts(
    destroyed: Iterable[DestroyedPartition], late: Mapping[tuple[str, bytes], int]
) -> tuple[DestroyedPartition, ...]:
    return tuple(
        replace(p, encryptions=p.encryptions + late.get((p.key_id, p.partition_id), 0))
        for p in destroyed
    )


def _version_identity(key_id: str, version: int, domain_key_id: bytes) -> bytes:
    return uuid.UUID(key_id).bytes + version.to_bytes(4, "big") + domain_key_id


@functools.lru_cache(maxsize=4096)
def _key_id_text(key_id: uuid.UUID) -> str:
    # Few keys, many ciphertexts: the text of a blob's key id is built once per key.
    return str(key_id)


@functools.lru_cache(maxsize=4096)  # asked of every symmetric Decrypt and Encrypt's answer
def key_material_id(key_id: str, version: int) -> str:
    """KMS's KeyMaterialId for a key version: 64 hex digits, stable, derived from the slot
    (not from the material, so it says nothing about the key)."""
    digest = hashlib.sha256(
        b"strongroom/key-material-id/v1\x00" + uuid.UUID(key_id).bytes + version.to_bytes(4, "big")
    )
    return digest.hexdigest()


class KeyRing:
    """Holds unwrapped key material in memory and performs every wrap and unwrap.

    Material is unwrapped once per process and kept as :class:`KeyMaterial`. Each key
    version has a usage budget; encryptions are reserved from the keystore in blocks so
    a crash can only over-count, and an exhausted version is replaced by a new one.

    A partitioned key (one with a partition context key name) seals a blob whose context
    has a value for that name under the partition of (key, version, value) instead of the
    version's material (:class:`PartitionKeys`). Encryptions are counted exactly, per
    version and per partition (:class:`EncryptionCounts`).
    """

    def __init__(
        self,
        root_key: KeyMaterial,
        store: KeyMaterialStore,
        clock: Clock,
        *,
        usage_budget: int = DEFAULT_USAGE_BUDGET,
        reservation_block: int = DEFAULT_RESERVATION_BLOCK,
        max_partitions_per_key: int = DEFAULT_MAX_PARTITIONS_PER_KEY,
        partition_cache_limit: int = DEFAULT_PARTITION_CACHE_LIMIT,
    ) -> None:
        self._root = root_key
        self._store = store
        self._clock = clock
        if usage_budget < 1:
            raise ValueError("the usage budget must be at least 1")
        self._budget = usage_budget
        # A block larger than the budget could never be reserved.
        self._block = min(reservation_block, usage_budget)
        self._lock = threading.Lock()
        self._domain_keys: dict[bytes, KeyMaterial] = {}
        self._active_domain_key_id: bytes | None = None
        self._material: dict[tuple[str, int], KeyMaterial] = {}
        self._reservations: dict[str, _Reservation] = {}
        self._partitions = PartitionKeys(
            store,
            clock,
            max_values_per_key=max_partitions_per_key,
            cache_limit=partition_cache_limit,
        )
        self._counts = EncryptionCounts(store)

    # -- domain key -----------------------------------------------------------------

    def open(self) -> None:
        """Unwrap the domain keys (creating the first one on a new keystore)."""
        with self._lock:
            stored = self._store.domain_keys()
            if not stored:
                key = aead.random_key()
                key_id = os.urandom(16)
                self._store.insert_domain_key(
                    WrappedDomainKey(
                        id=key_id,
                        created_at=self._clock.now(),
                        wrapped=key_wrapping.wrap_key(self._root, key, DOMAIN_KEY_LABEL, key_id),
                    )
                )
                stored = self._store.domain_keys()
            for item in stored:
                try:
                    self._domain_keys[item.id] = key_wrapping.unwrap_key(
                        self._root, item.wrapped, DOMAIN_KEY_LABEL, item.id
                    )
                except key_wrapping.UnwrapFailed as exc:
                    raise RuntimeError(
                        "the root key does not unwrap this keystore's domain key; "
                        "is this the root key the keystore was created with?"
                    ) from exc
            self._active_domain_key_id = max(stored, key=lambda k: k.created_at).id

    def wrap_secret(self, secret: bytes, label: bytes, identity: bytes) -> bytes:
        """Wrap a server-held secret (e.g. an access key's secret) under the domain key."""
        domain_id = self._require_domain_key_id()
        return domain_id + key_wrapping.wrap(self._domain_keys[domain_id], secret, label, identity)

    def unwrap_secret(self, wrapped: bytes, label: bytes, identity: bytes) -> bytes:
        domain_key = self._domain_keys.get(wrapped[:16])
        if domain_key is None:
            raise key_wrapping.UnwrapFailed
        return key_wrapping.unwrap(domain_key, wrapped[16:], label, identity)

    def _require_domain_key_id(self) -> bytes:
        if self._active_domain_key_id is None:
            raise RuntimeError("KeyRing.open() has not been called")
        return self._active_domain_key_id

    # -- key versions ---------------------------------------------------------------

    def create_key_material(self, key_id: str, key_spec: str = "SYMMETRIC_DEFAULT") -> None:
        """Generate version 1 of a new key's backing material."""
        self._create_version(key_id, 1, self._generate(key_spec))

    @staticmethod
    def _generate(key_spec: str) -> KeyMaterial:
        if key_spec == "SYMMETRIC_DEFAULT":
            return aead.random_key()
        return asymmetric.generate(key_spec)

    def import_key_material(self, key_id: str, version: int, material: KeyMaterial) -> bool:
        """Store imported material as ``version``; False if that version exists already."""
        return self._create_version(key_id, version, material)

    def rotate(self, key_id: str) -> int:
        """Add a new version of a symmetric key and encrypt under it from now on."""
        with self._lock:
            versions = self._store.key_versions(key_id)
            if not versions:
                raise KeyMaterialMissing(key_id)
            version = max(v.version for v in versions) + 1
            self._create_version(key_id, version, aead.random_key())
            self._reservations.pop(key_id, None)
            return version

    def versions(self, key_id: str) -> list[int]:
        """The stored version numbers of a key, oldest first (empty once destroyed)."""
        return [v.version for v in self._store.key_versions(key_id)]

    def material(self, key_id: str, version: int) -> KeyMaterial:
        """A version's unwrapped material; :class:`KeyMaterialMissing` if there is none."""
        material = self._material_for(key_id, version)
        if material is None:
            raise KeyMaterialMissing(key_id)
        return material

    def destroy(self, key_id: str) -> int:
        """Delete every version from the keystore, then wipe the cache. Partitions stay:
        they are wrapped under the versions and unwrap again only if the same material is
        imported again (what deleting imported key material means)."""
        count = self._store.destroy_key_versions(key_id)
        self.forget(key_id)
        return count

    def destroy_key_material(self, key_id: str) -> DestroyedKeyMaterial:
        """Crypto-shred a key: every version and every partition, in one keystore
        transaction that records what it destroyed (:meth:`destroyed_key_material`), with
        exact encryption counts (including those not yet flushed). Returns what this call
        destroyed: nothing, if an earlier one did."""
        with self._counts.settled():
            destroyed = self._store.destroy_key_material(key_id, self._clock.now())
        self.forget(key_id)
        late_versions = self._counts.take_versions(key_id)
        late_partitions = self._late_partition_counts(destroyed.partitions)
        # Into the destruction records too, which certificates are made from.
        self._store.add_destroyed_encryption_counts(
            {(key_id, version): n for version, n in late_versions.items()}, late_partitions
        )
        return replace(
            destroyed,
            version_encryptions=destroyed.version_encryptions + sum(late_versions.values()),
            partitions=_with_counts(destroyed.partitions, late_partitions),
        )

    def destroy_partition(self, key_id: str, value: str) -> list[DestroyedPartition]:
        """Crypto-shred one value's partitions of a key, in every version, recording each
        (:meth:`destroyed_partitions`); other values' partitions are untouched. Returns
        what this call destroyed: empty if the value has none (destroyed already)."""
        with self._counts.settled():
            destroyed = self._store.destroy_partitions(key_id, value, self._clock.now())
        self._partitions.forget_value(key_id, value)
        late = self._late_partition_counts(destroyed)
        self._store.add_destroyed_encryption_counts({}, late)
        return list(_with_counts(destroyed, late))

    def destroyed_key_material(self, key_id: str) -> DestroyedKeyMaterial:
        """Everything the keystore records as destroyed of a key, by whichever calls."""
        return self._store.destroyed_key_material(key_id)

    def destroyed_partitions(self, key_id: str, value: str) -> list[DestroyedPartition]:
        """Every destroyed partition of (key, value) the keystore records."""
        return self._store.destroyed_partitions(key_id, value)

    def _late_partition_counts(
        self, destroyed: Iterable[DestroyedPartition]
    ) -> dict[tuple[str, bytes], int]:
        # Encryptions counted while the rows were being deleted are still in memory.
        return {
            (p.key_id, p.partition_id): self._counts.take_partition(p.key_id, p.partition_id)
            for p in destroyed
        }

    def flush_encryption_counts(self) -> None:
        """Add the encryptions counted in memory to the keystore (a periodic job)."""
        self._counts.flush()

    def _create_version(self, key_id: str, version: int, material: KeyMaterial) -> bool:
        domain_id = self._require_domain_key_id()
        wrapped = key_wrapping.wrap_key(
            self._domain_keys[domain_id],
            material,
            KEY_VERSION_LABEL,
            _version_identity(key_id, version, domain_id),
        )
        try:
            self._store.insert_key_version(
                WrappedKeyVersion(
                    key_id=key_id,
                    version=version,
                    domain_key_id=domain_id,
                    created_at=self._clock.now(),
                    encryptions_reserved=0,
                    wrapped=wrapped,
                )
            )
        except VersionExists:
            material.wipe()  # another process won; its material is the one stored
            return False
        self._material[(key_id, version)] = material
        return True

    def _load_versions(self, key_id: str) -> None:
        for item in self._store.key_versions(key_id):
            if (key_id, item.version) in self._material:
                continue
            domain_key = self._domain_keys.get(item.domain_key_id)
            if domain_key is None:
                raise KeyMaterialMissing(key_id)
            self._material[(key_id, item.version)] = key_wrapping.unwrap_key(
                domain_key,
                item.wrapped,
                KEY_VERSION_LABEL,
                _version_identity(key_id, item.version, item.domain_key_id),
            )

    def _material_for(self, key_id: str, version: int) -> KeyMaterial | None:
        material = self._material.get((key_id, version))
        if material is None:
            with self._lock:
                self._load_versions(key_id)
                material = self._material.get((key_id, version))
        return material

    def _primary_version_for_encryption(self, key_id: str) -> int:
        """The version to encrypt under, charging one use against its budget."""
        with self._lock:
            reservation = self._reservations.get(key_id)
            if (
                reservation is None
                or reservation.remaining == 0
                or reservation.expires < time.monotonic()
            ):
                reservation = self._reserve(key_id)
                self._reservations[key_id] = reservation
            reservation.remaining -= 1
            return reservation.version

    def _reserve(self, key_id: str) -> _Reservation:
        versions = self._store.key_versions(key_id)
        if not versions:
            raise KeyMaterialMissing(key_id)
        newest = max(versions, key=lambda v: v.version)
        # The last block of a budget may be smaller than the others.
        count = min(self._block, self._budget - newest.encryptions_reserved)
        if count > 0 and self._store.reserve_encryptions(
            key_id, newest.version, count, self._budget
        ):
            self._load_versions(key_id)
            expires = time.monotonic() + RESERVATION_LIFETIME_SECONDS
            return _Reservation(newest.version, count, expires)
        if count > 0:  # another process reserved in between: look again
            return self._reserve(key_id)
        # The newest version's budget is spent: make a new one and reserve from it.
        self._create_version(key_id, newest.version + 1, aead.random_key())
        return self._reserve(key_id)

    def forget(self, key_id: str) -> None:
        """Drop and wipe a key's cached material (after destruction or for tests)."""
        with self._lock:
            for slot in [s for s in self._material if s[0] == key_id]:
                self._material.pop(slot).wipe()
            self._reservations.pop(key_id, None)
        self._partitions.forget_key(key_id)

    def forget_all(self) -> None:
        """Drop and wipe every cached key version (dev reset)."""
        with self._lock:
            for material in self._material.values():
                material.wipe()
            self._material.clear()
            self._reservations.clear()
        self._partitions.forget_all()
        self._counts.forget_all()

    # -- ciphertexts ----------------------------------------------------------------

    def encrypt(self, key_id: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        return self.encrypt_versioned(key_id, plaintext, context)[1]

    def encrypt_versioned(
        self,
        key_id: str,
        plaintext: bytes,
        context: Mapping[str, str],
        partition_key_name: str | None = None,
    ) -> tuple[int, bytes]:
        """(version used, blob) under the key's current version, or under that version's
        partition for ``context[partition_key_name]`` when the context has that key.

        Raises :class:`~strongroom.kms.ports.PartitionLimitReached` for a value that would
        be one partition value too many."""
        version = self._primary_version_for_encryption(key_id)
        material = self._material_for(key_id, version)
        if material is None:
            raise KeyMaterialMissing(key_id)
        value = None if partition_key_name is None else context.get(partition_key_name)
        if value is None:
            header = ciphertext_blob.BlobHeader(uuid.UUID(key_id), version)
            blob = ciphertext_blob.seal(material, header, plaintext, context)
            self._counts.count_version(key_id, version)
            return version, blob

        def seal(partition: Partition) -> bytes:
            header = ciphertext_blob.BlobHeader(uuid.UUID(key_id), version, partition.partition_id)
            return ciphertext_blob.seal(partition.material, header, plaintext, context)

        partition, blob = _with_partition(
            lambda: self._partitions.for_encryption(key_id, version, value, material), seal
        )
        self._counts.count_partition(key_id, partition.partition_id)
        return version, blob

    def key_id_of(self, blob: bytes) -> str:
        """The key a blob names, without decrypting it."""
        try:
            header, _ = ciphertext_blob.parse_header(blob)
        except ciphertext_blob.MalformedBlob as exc:
            raise CiphertextUnusable from exc
        return _key_id_text(header.key_id)

    def decrypt(self, blob: bytes, context: Mapping[str, str]) -> tuple[str, bytes]:
        """(key id, plaintext); :class:`CiphertextUnusable` for any failure at all."""
        key_id, _, plaintext = self.decrypt_versioned(blob, context)
        return key_id, plaintext

    def decrypt_versioned(
        self, blob: bytes, context: Mapping[str, str], partition_key_name: str | None = None
    ) -> tuple[str, int, bytes]:
        """(key id, key version, plaintext); :class:`CiphertextUnusable` for any failure,
        except :class:`PartitionDestroyed` for a blob of a destroyed partition whose
        context names that partition's value under ``partition_key_name``."""
        try:
            header, offset = ciphertext_blob.parse_header(blob)
            key_id = _key_id_text(header.key_id)
            material = self._material_for(key_id, header.key_version)
            if material is None:
                raise CiphertextUnusable
            if header.partition_id is None:
                plaintext = ciphertext_blob.open_parsed(material, blob, offset, context)
            else:
                value = None if partition_key_name is None else context.get(partition_key_name)
                if value is None:
                    raise CiphertextUnusable
                plaintext = self._open_partitioned(
                    key_id, header.key_version, header.partition_id, material, value, blob, context
                )
            return key_id, header.key_version, plaintext
        except _UNUSABLE as exc:
            raise CiphertextUnusable from exc

    def _open_partitioned(
        self,
        key_id: str,
        version: int,
        partition_id: bytes,
        kek: KeyMaterial,
        value: str,
        blob: bytes,
        context: Mapping[str, str],
    ) -> bytes:
        def lookup() -> Partition:
            try:
                return self._partitions.for_decryption(key_id, version, partition_id, kek)
            except PartitionMissing as exc:
                destroyed = self._partitions.destroyed(key_id, partition_id)
                if (
                    destroyed is not None
                    and destroyed.version == version
                    and destroyed.value == value
                ):
                    raise PartitionDestroyed(key_id) from exc
                raise CiphertextUnusable from exc

        def open_blob(partition: Partition) -> bytes:
            # The value is bound in the AAD already; checking it first says so plainly.
            if partition.value != value:
                raise CiphertextUnusable
            return ciphertext_blob.open_sealed(partition.material, blob, context)

        return _with_partition(lookup, open_blob)[1]

    def generate_data_key(
        self, key_id: str, context: Mapping[str, str]
    ) -> tuple[KeyMaterial, bytes]:
        """A fresh 256-bit data key and its blob under ``key_id``."""
        data_key = aead.random_key()
        return data_key, self.encrypt(key_id, data_key.expose_secret_bytes(), context)

    def decrypt_data_key(self, blob: bytes, context: Mapping[str, str]) -> KeyMaterial:
        _, plaintext = self.decrypt(blob, context)
        return KeyMaterial(plaintext)
