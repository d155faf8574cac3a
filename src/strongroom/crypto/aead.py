"""AES-256-GCM with random 96-bit IVs generated here, never by callers."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag

from strongroom.crypto.key_material import KeyMaterial

IV_BYTES = 12
TAG_BYTES = 16


class AuthenticationFailed(Exception):
    """The ciphertext, its associated data or the key did not match. Carries no detail."""


def encrypt(key: KeyMaterial, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Encrypt under a fresh random IV; returns (iv, ciphertext || tag)."""
    iv = os.urandom(IV_BYTES)
    return iv, key.aesgcm().encrypt(iv, plaintext, aad)


def decrypt(key: KeyMaterial, iv: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt and authenticate; any mismatch is :class:`AuthenticationFailed`."""
    if len(iv) != IV_BYTES or len(sealed) < TAG_BYTES:
        raise AuthenticationFailed
    try:
        return key.aesgcm().decrypt(iv, sealed, aad)
    except InvalidTag as exc:
        raise AuthenticationFailed from exc


def random_key() -> KeyMaterial:
    """A fresh 256-bit key from the OS CSPRNG."""
    return KeyMaterial(os.urandom(32))
