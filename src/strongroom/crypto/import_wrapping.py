"""Unwrapping key material a client encrypted for BYOK import (KMS ImportKeyMaterial)."""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from strongroom.crypto.asymmetric import (
    InvalidKeyMaterial,
    UnsupportedKeySpec,
    _load_private_key,
    generate_data_key_pair,
)
from strongroom.crypto.key_material import KeyMaterial

_WRAPPING_KEY_SPECS: Final = frozenset({"RSA_2048", "RSA_3072", "RSA_4096"})
# AWS still offers SHA-1 for both OAEP-based wrapping algorithms.
_RSA_OAEP: Final[dict[str, hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1(),  # noqa: S303
    "RSAES_OAEP_SHA_256": hashes.SHA256(),
}
_RSA_AES_KEY_WRAP: Final[dict[str, hashes.HashAlgorithm]] = {
    "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1(),  # noqa: S303
    "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256(),
}
_AES_KEY_BYTES = 32


class ImportUnwrapFailed(Exception):
    """The encrypted key material did not decrypt under the wrapping key. Carries no detail."""


class UnsupportedWrappingAlgorithm(Exception):
    """A wrapping algorithm Strongroom refuses (RSAES_PKCS1_V1_5, SM2PKE) or does not know."""


def new_wrapping_key(wrapping_key_spec: str) -> tuple[KeyMaterial, bytes]:
    """(PKCS#8 DER private key, SubjectPublicKeyInfo DER public key) for GetParametersForImport."""
    if wrapping_key_spec not in _WRAPPING_KEY_SPECS:
        raise UnsupportedKeySpec
    return generate_data_key_pair(wrapping_key_spec)


def unwrap_imported(
    wrapping_private: KeyMaterial, wrapping_algorithm: str, encrypted: bytes
) -> KeyMaterial:
    """The key material inside ``encrypted``, as the client wrapped it with our public key.

    RSA_AES_KEY_WRAP_* is RSA-OAEP of a 256-bit AES key (exactly one modulus long) followed
    by the material under that key with AES Key Wrap with Padding (RFC 5649).
    """
    if wrapping_algorithm in _RSA_OAEP:
        key = _wrapping_key(wrapping_private)
        return KeyMaterial(_oaep_decrypt(key, _RSA_OAEP[wrapping_algorithm], encrypted))
    if wrapping_algorithm in _RSA_AES_KEY_WRAP:
        key = _wrapping_key(wrapping_private)
        modulus_bytes = (key.key_size + 7) // 8
        aes_key = _oaep_decrypt(
            key, _RSA_AES_KEY_WRAP[wrapping_algorithm], encrypted[:modulus_bytes]
        )
        if len(aes_key) != _AES_KEY_BYTES:
            raise ImportUnwrapFailed
        try:
            return KeyMaterial(
                keywrap.aes_key_unwrap_with_padding(aes_key, encrypted[modulus_bytes:])
            )
        except (keywrap.InvalidUnwrap, ValueError):
            raise ImportUnwrapFailed from None
    raise UnsupportedWrappingAlgorithm


def _wrapping_key(wrapping_private: KeyMaterial) -> rsa.RSAPrivateKey:
    key = wrapping_private.derived(_load_private_key)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidKeyMaterial
    return key


def _oaep_decrypt(key: rsa.RSAPrivateKey, digest: hashes.HashAlgorithm, ciphertext: bytes) -> bytes:
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    try:
        return key.decrypt(ciphertext, oaep)
    except ValueError:
        raise ImportUnwrapFailed from None
