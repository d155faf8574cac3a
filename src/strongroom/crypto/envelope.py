"""Secret values sealed under a one-time data key, with the encryption context as AAD.

spec: docs/spec/ciphertext-blob.md#secret-values
"""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.crypto import aead, encryption_context
from strongroom.crypto.key_material import KeyMaterial

VALUE_FORMAT_V1 = 0x01
_AAD_LABEL = b"strongroom/secret-value/v1\x00"


def seal_value(data_key: KeyMaterial, plaintext: bytes, context: Mapping[str, str]) -> bytes:
    """version || iv || ciphertext || tag."""
    iv, sealed = aead.encrypt(data_key, plaintext, _AAD_LABEL + encryption_context.encode(context))
    return bytes([VALUE_FORMAT_V1]) + iv + sealed


def open_value(data_key: KeyMaterial, sealed: bytes, context: Mapping[str, str]) -> bytes:
    """Raises :class:`aead.AuthenticationFailed` for any mismatch or malformed input."""
    if len(sealed) < 1 + aead.IV_BYTES + aead.TAG_BYTES or sealed[0] != VALUE_FORMAT_V1:
        raise aead.AuthenticationFailed
    iv = sealed[1 : 1 + aead.IV_BYTES]
    aad = _AAD_LABEL + encryption_context.encode(context)
    return aead.decrypt(data_key, iv, sealed[1 + aead.IV_BYTES :], aad)
