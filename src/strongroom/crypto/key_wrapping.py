"""Wrapping one key (or credential) under another, with the wrapped thing's identity as AAD.

spec: docs/spec/key-hierarchy.md
"""

from __future__ import annotations

from strongroom.crypto import aead
from strongroom.crypto.key_material import KeyMaterial

WRAP_FORMAT_V1 = 0x01


class UnwrapFailed(Exception):
    """The wrapped bytes, the wrapping key or the bound identity did not match."""


def wrap(kek: KeyMaterial, secret: bytes, label: bytes, identity: bytes) -> bytes:
    """version || iv || ciphertext || tag; AAD = label || NUL || identity.

    ``label`` names what is wrapped (e.g. ``b"strongroom/domain-key/v1"``) and ``identity``
    binds it to its slot (key id and version), so a wrapped key cannot be moved to another
    row and still unwrap.
    """
    iv, sealed = aead.encrypt(kek, secret, label + b"\x00" + identity)
    return bytes([WRAP_FORMAT_V1]) + iv + sealed


def unwrap(kek: KeyMaterial, wrapped: bytes, label: bytes, identity: bytes) -> bytes:
    if len(wrapped) < 1 + aead.IV_BYTES + aead.TAG_BYTES or wrapped[0] != WRAP_FORMAT_V1:
        raise UnwrapFailed
    iv = wrapped[1 : 1 + aead.IV_BYTES]
    try:
        return aead.decrypt(kek, iv, wrapped[1 + aead.IV_BYTES :], label + b"\x00" + identity)
    except aead.AuthenticationFailed as exc:
        raise UnwrapFailed from exc


def wrap_key(kek: KeyMaterial, key: KeyMaterial, label: bytes, identity: bytes) -> bytes:
    return wrap(kek, key.expose_secret_bytes(), label, identity)


def unwrap_key(kek: KeyMaterial, wrapped: bytes, label: bytes, identity: bytes) -> KeyMaterial:
    return KeyMaterial(unwrap(kek, wrapped, label, identity))
