"""What the KMS layer needs from storage: the keystore (wrapped material) and key metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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


class KeyDirectoryStore(Protocol):
    """Key metadata and aliases; each call is its own transaction."""

    def key(self, key_id: str) -> KmsKeyRecord | None: ...

    def alias_target(self, region: str, alias_name: str) -> str | None: ...

    def insert_key_with_alias(self, record: KmsKeyRecord, alias_name: str | None) -> KmsKeyRecord:
        """Insert the key and its alias together; if the alias exists already, insert
        nothing and return the key the alias names."""
        ...

    def reset(self) -> None: ...
