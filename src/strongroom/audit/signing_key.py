"""The deployment signing key: one Ed25519 key per deployment, made once, kept wrapped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from strongroom.clock import Clock
from strongroom.crypto.signing import Ed25519Signer

DEPLOYMENT_KEY = "deployment"
ALGORITHM = "Ed25519"
_WRAP_LABEL = b"strongroom/signing-key/v1"


@dataclass(frozen=True, slots=True)
class StoredSigningKey:
    """A signing key as the keystore holds it: the private key wrapped, the public key clear."""

    name: str
    created_at: datetime
    algorithm: str
    public_key_pem: bytes
    wrapped: bytes


class SigningKeyStore(Protocol):
    def signing_key(self, name: str) -> StoredSigningKey | None: ...

    def insert_signing_key(self, key: StoredSigningKey) -> bool:
        """Store the key unless one of that name exists; True if this one was stored."""
        ...


class SecretWrapper(Protocol):
    """The domain key's wrapping (the KeyRing provides it)."""

    def wrap_secret(self, secret: bytes, label: bytes, identity: bytes) -> bytes: ...

    def unwrap_secret(self, wrapped: bytes, label: bytes, identity: bytes) -> bytes: ...


class SigningKeyMismatch(Exception):
    """The stored public key is not the wrapped private key's: the keystore was tampered with."""


def deployment_signer(
    store: SigningKeyStore, wrapper: SecretWrapper, clock: Clock, name: str = DEPLOYMENT_KEY
) -> Ed25519Signer:
    """The deployment's signing key, generated and stored on first use. When two servers
    start together, the first insert wins and both use it."""
    stored = store.signing_key(name)
    if stored is None:
        fresh = Ed25519Signer.generate()
        store.insert_signing_key(
            StoredSigningKey(
                name=name,
                created_at=clock.now(),
                algorithm=ALGORITHM,
                public_key_pem=fresh.public_key_pem(),
                wrapped=wrapper.wrap_secret(fresh.private_bytes(), _WRAP_LABEL, name.encode()),
            )
        )
        stored = store.signing_key(name)
        if stored is None:
            raise RuntimeError("the signing key was not stored")
    signer = Ed25519Signer(wrapper.unwrap_secret(stored.wrapped, _WRAP_LABEL, name.encode()))
    if signer.public_key_pem() != stored.public_key_pem:
        raise SigningKeyMismatch(f"the stored public key of signing key {name!r} is not its own")
    return signer


def public_key_pem(store: SigningKeyStore, name: str = DEPLOYMENT_KEY) -> bytes | None:
    """The public key (PEM), readable without the root key; None before the first start."""
    stored = store.signing_key(name)
    return None if stored is None else stored.public_key_pem
