"""Access keys the server issued: lookup for SigV4, and the account root's key provisioning."""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from strongroom.clock import Clock
from strongroom.context import Principal
from strongroom.kms.keyring import KeyRing

ACCESS_KEY_SECRET_LABEL = b"strongroom/access-key-secret/v1"
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + "234567"


@dataclass(frozen=True, slots=True)
class StoredAccessKey:
    access_key_id: str
    principal_arn: str
    status: str
    created_at: datetime
    wrapped_secret: bytes = field(repr=False)


class AccessKeyStore(Protocol):
    def get(self, access_key_id: str) -> StoredAccessKey | None: ...

    def for_principal(self, principal_arn: str) -> list[StoredAccessKey]: ...

    def put(self, key: StoredAccessKey) -> None:
        """Insert, or replace the key with the same id."""
        ...

    def delete_for_principal(self, principal_arn: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)


def new_access_key_id(prefix: str = "AKIA") -> str:
    """An AWS-shaped access key id: AKIA + 16 base32 characters."""
    return prefix + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)[:40]


def root_principal(partition: str, account_id: str, access_key_id: str) -> Principal:
    return Principal(
        arn=f"arn:{partition}:iam::{account_id}:root",
        principal_id=account_id,
        access_key_id=access_key_id,
        kind="Root",
    )


class CredentialDirectory:
    """Resolves access key ids to their secret (for SigV4) and their principal."""

    def __init__(self, store: AccessKeyStore, keyring: KeyRing, clock: Clock) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, str]] = {}

    def secret_access_key(self, access_key_id: str) -> str | None:
        """The secret for an active key, or None for a key this server did not issue."""
        cached = self._cache.get(access_key_id)
        if cached is not None:
            return cached[0]
        stored = self._store.get(access_key_id)
        if stored is None or stored.status != "Active":
            return None
        secret = self._keyring.unwrap_secret(
            stored.wrapped_secret, ACCESS_KEY_SECRET_LABEL, access_key_id.encode()
        ).decode()
        with self._lock:
            self._cache[access_key_id] = (secret, stored.principal_arn)
        return secret

    def principal_arn(self, access_key_id: str) -> str | None:
        if self.secret_access_key(access_key_id) is None:
            return None
        return self._cache[access_key_id][1]

    def ensure_root_credentials(
        self, root_arn: str, wanted: IssuedCredentials | None
    ) -> IssuedCredentials:
        """Make ``wanted`` the root's only key, or keep (or create) the one it has."""
        existing = self._store.for_principal(root_arn)
        if wanted is None and existing:
            key = existing[0]
            secret = self._keyring.unwrap_secret(
                key.wrapped_secret, ACCESS_KEY_SECRET_LABEL, key.access_key_id.encode()
            ).decode()
            return IssuedCredentials(key.access_key_id, secret)
        issued = wanted or IssuedCredentials(new_access_key_id(), new_secret_access_key())
        if any(k.access_key_id == issued.access_key_id for k in existing) and len(existing) == 1:
            current = self.secret_access_key(issued.access_key_id)
            if current is not None and secrets.compare_digest(current, issued.secret_access_key):
                return issued
        self._store.delete_for_principal(root_arn)
        self._store.put(
            StoredAccessKey(
                access_key_id=issued.access_key_id,
                principal_arn=root_arn,
                status="Active",
                created_at=self._clock.now(),
                wrapped_secret=self._keyring.wrap_secret(
                    issued.secret_access_key.encode(),
                    ACCESS_KEY_SECRET_LABEL,
                    issued.access_key_id.encode(),
                ),
            )
        )
        with self._lock:
            self._cache.clear()
        return issued
