"""Asymmetric and HMAC KMS key material: generate, import, sign, RSA-OAEP and ECDH, as AWS does."""

from __future__ import annotations

import os
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
)

from strongroom.crypto.key_material import KeyMaterial

RAW: Final = "RAW"
DIGEST: Final = "DIGEST"

_RSA_PUBLIC_EXPONENT = 65537

_RSA_BITS: Final[dict[str, int]] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
_EC_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1(),
    "ECC_NIST_P384": ec.SECP384R1(),
    "ECC_NIST_P521": ec.SECP521R1(),
    "ECC_SECG_P256K1": ec.SECP256K1(),
}
_ED25519_SPEC: Final = "ECC_NIST_EDWARDS25519"
_HMAC_KEY_BYTES: Final[dict[str, int]] = {
    "HMAC_224": 28,
    "HMAC_256": 32,
    "HMAC_384": 48,
    "HMAC_512": 64,
}
# AWS accepts imported HMAC keys from the digest size up to the hash's block size.
_HMAC_IMPORT_BYTES: Final[dict[str, tuple[int, int]]] = {
    "HMAC_224": (28, 64),
    "HMAC_256": (32, 64),
    "HMAC_384": (48, 128),
    "HMAC_512": (64, 128),
}
_KEY_PAIR_SPECS: Final = frozenset({*_RSA_BITS, *_EC_CURVES, _ED25519_SPEC})
_SPECS: Final = frozenset({*_KEY_PAIR_SPECS, *_HMAC_KEY_BYTES})
_ECDH_SPECS: Final = frozenset({"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"})

_SIGNING_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "RSASSA_PSS_SHA_256": hashes.SHA256(),
    "RSASSA_PSS_SHA_384": hashes.SHA384(),
    "RSASSA_PSS_SHA_512": hashes.SHA512(),
    "RSASSA_PKCS1_V1_5_SHA_256": hashes.SHA256(),
    "RSASSA_PKCS1_V1_5_SHA_384": hashes.SHA384(),
    "RSASSA_PKCS1_V1_5_SHA_512": hashes.SHA512(),
    "ECDSA_SHA_256": hashes.SHA256(),
    "ECDSA_SHA_384": hashes.SHA384(),
    "ECDSA_SHA_512": hashes.SHA512(),
    "ED25519_SHA_512": hashes.SHA512(),
}
_RSA_SIGNING: Final = frozenset(a for a in _SIGNING_HASHES if a.startswith("RSASSA_"))
# AWS ties each curve to one hash rather than offering every ECDSA variant.
_SIGNING_ALGORITHMS: Final[dict[str, frozenset[str]]] = {
    **dict.fromkeys(_RSA_BITS, _RSA_SIGNING),
    "ECC_NIST_P256": frozenset({"ECDSA_SHA_256"}),
    "ECC_NIST_P384": frozenset({"ECDSA_SHA_384"}),
    "ECC_NIST_P521": frozenset({"ECDSA_SHA_512"}),
    "ECC_SECG_P256K1": frozenset({"ECDSA_SHA_256"}),
    _ED25519_SPEC: frozenset({"ED25519_SHA_512"}),
}
_OAEP_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1(),  # noqa: S303  # AWS still offers OAEP with SHA-1
    "RSAES_OAEP_SHA_256": hashes.SHA256(),
}

_PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class UnsupportedKeySpec(Exception):
    """The key spec is not one this module serves for the requested operation."""


class InvalidKeyMaterial(Exception):
    """Key material that does not parse, or does not match its key spec. Carries no detail."""


class InvalidPublicKey(Exception):
    """A peer public key that cannot be used for key agreement with this key."""


class MessageTooLong(Exception):
    """RSA plaintext too long for the key and algorithm, or a DIGEST of the wrong length."""


class DecryptionFailed(Exception):
    """RSA decryption failed. Carries no detail, so it cannot serve as a padding oracle."""


class IncompatibleAlgorithm(Exception):
    """The algorithm is not one that keys of this spec support."""


class UnsupportedMessageType(Exception):
    """A message type other than RAW or DIGEST, or DIGEST for a pure-Ed25519 key."""


def generate(spec: str) -> KeyMaterial:
    """New key material: PKCS#8 DER for key pairs, random bytes of AWS's length for HMAC."""
    _require_spec(spec)
    if spec in _HMAC_KEY_BYTES:
        return KeyMaterial(os.urandom(_HMAC_KEY_BYTES[spec]))
    return KeyMaterial(_pkcs8(_new_private_key(spec)))


def generate_data_key_pair(spec: str) -> tuple[KeyMaterial, bytes]:
    """(PKCS#8 DER private key, SubjectPublicKeyInfo DER public key)."""
    if spec not in _KEY_PAIR_SPECS:
        raise UnsupportedKeySpec
    key = _new_private_key(spec)
    return KeyMaterial(_pkcs8(key)), _spki(key)


def public_key_der(spec: str, private: KeyMaterial) -> bytes:
    """The X.509 SubjectPublicKeyInfo DER of a key pair (KMS GetPublicKey)."""
    if spec not in _KEY_PAIR_SPECS:
        raise UnsupportedKeySpec
    return _spki(_private_key(spec, private))


def digest_size(algorithm: str) -> int:
    """Bytes of the hash a signing algorithm uses: the length a DIGEST message must have."""
    digest = _SIGNING_HASHES.get(algorithm)
    if digest is None:
        raise IncompatibleAlgorithm
    return digest.digest_size


def sign(
    spec: str, private: KeyMaterial, algorithm: str, message: bytes, message_type: str
) -> bytes:
    """A KMS-style signature: DER for ECDSA, PSS salt as long as the digest for RSASSA_PSS."""
    key, prehash = _signing_inputs(spec, private, algorithm, message, message_type)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, _rsa_signature_padding(algorithm), prehash)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(prehash))
    return key.sign(message)


def verify(
    spec: str,
    private: KeyMaterial,
    algorithm: str,
    message: bytes,
    message_type: str,
    signature: bytes,
) -> bool:
    """Whether ``signature`` is valid; a wrong or malformed signature is False, never an error."""
    key, prehash = _signing_inputs(spec, private, algorithm, message, message_type)
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            key.public_key().verify(signature, message, _rsa_signature_padding(algorithm), prehash)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            key.public_key().verify(signature, message, ec.ECDSA(prehash))
        else:
            key.public_key().verify(signature, message)
    except InvalidSignature:
        return False
    return True


def rsa_encrypt(spec: str, private: KeyMaterial, algorithm: str, plaintext: bytes) -> bytes:
    """RSA-OAEP (MGF1 with the same hash, no label) under the key's public half."""
    key, oaep, digest = _oaep_inputs(spec, private, algorithm)
    modulus_bytes = (key.key_size + 7) // 8
    if len(plaintext) > modulus_bytes - 2 * digest.digest_size - 2:
        raise MessageTooLong
    return key.public_key().encrypt(plaintext, oaep)


def rsa_decrypt(spec: str, private: KeyMaterial, algorithm: str, ciphertext: bytes) -> bytes:
    """RSA-OAEP decryption; every failure is the same :class:`DecryptionFailed`."""
    key, oaep, _ = _oaep_inputs(spec, private, algorithm)
    try:
        return key.decrypt(ciphertext, oaep)
    except ValueError:
        raise DecryptionFailed from None


def derive_shared_secret(spec: str, private: KeyMaterial, peer_public_der: bytes) -> bytes:
    """ECDH with a peer's SubjectPublicKeyInfo DER; the raw x coordinate, as KMS returns it."""
    _require_spec(spec)
    if spec not in _ECDH_SPECS:
        raise IncompatibleAlgorithm
    key = _private_key(spec, private)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidKeyMaterial
    try:
        peer = load_der_public_key(peer_public_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey from exc
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != key.curve.name:
        raise InvalidPublicKey
    try:
        return key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise InvalidPublicKey from exc


def normalize_imported(spec: str, material: bytes) -> KeyMaterial:
    """Check BYOK material against its spec: PKCS#8 DER re-encoded, or raw HMAC key bytes."""
    _require_spec(spec)
    if spec in _HMAC_IMPORT_BYTES:
        shortest, longest = _HMAC_IMPORT_BYTES[spec]
        if not shortest <= len(material) <= longest:
            raise InvalidKeyMaterial
        return KeyMaterial(material)
    # AWS takes only PKCS#8; cryptography would also take PKCS#1 and SEC1 keys.
    if not _is_pkcs8(material):
        raise InvalidKeyMaterial
    return KeyMaterial(_pkcs8(_checked(spec, _parse_private_key(material, validate=True))))


def _load_private_key(der: bytes) -> PrivateKeyTypes:
    """The one build function handed to ``KeyMaterial.derived`` for PKCS#8 keys.

    Key material reaches a KeyMaterial only from :func:`generate` or, validated, from
    :func:`normalize_imported`, and is stored under authenticated encryption; repeating
    OpenSSL's RSA key check (0.4 s for RSA_4096) on every load would buy nothing.
    """
    return _parse_private_key(der, validate=False)


def _parse_private_key(der: bytes, *, validate: bool) -> PrivateKeyTypes:
    try:
        return load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=not validate)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Dropping the cause keeps parser messages about secret bytes out of tracebacks.
        raise InvalidKeyMaterial from None


def _require_spec(spec: str) -> None:
    if spec not in _SPECS:
        raise UnsupportedKeySpec


def _private_key(spec: str, private: KeyMaterial) -> _PrivateKey:
    return _checked(spec, private.derived(_load_private_key))


def _checked(spec: str, key: PrivateKeyTypes) -> _PrivateKey:
    """``key`` if it is of exactly ``spec`` (type, and modulus size or curve)."""
    if spec in _RSA_BITS and isinstance(key, rsa.RSAPrivateKey) and key.key_size == _RSA_BITS[spec]:
        return key
    if (
        spec in _EC_CURVES
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and key.curve.name == _EC_CURVES[spec].name
    ):
        return key
    if spec == _ED25519_SPEC and isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise InvalidKeyMaterial


def _new_private_key(spec: str) -> _PrivateKey:
    if spec in _RSA_BITS:
        return rsa.generate_private_key(_RSA_PUBLIC_EXPONENT, _RSA_BITS[spec])
    if spec in _EC_CURVES:
        return ec.generate_private_key(_EC_CURVES[spec])
    return ed25519.Ed25519PrivateKey.generate()


def _pkcs8(key: _PrivateKey) -> bytes:
    return key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def _spki(key: _PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _signing_inputs(
    spec: str, private: KeyMaterial, algorithm: str, message: bytes, message_type: str
) -> tuple[_PrivateKey, hashes.HashAlgorithm | Prehashed]:
    """Validate a Sign/Verify request and return the key and the hash argument to use."""
    _require_spec(spec)
    if algorithm not in _SIGNING_ALGORITHMS.get(spec, frozenset()):
        raise IncompatibleAlgorithm
    digest = _SIGNING_HASHES[algorithm]
    if message_type not in (RAW, DIGEST) or (message_type == DIGEST and spec == _ED25519_SPEC):
        raise UnsupportedMessageType
    prehash: hashes.HashAlgorithm | Prehashed = digest
    if message_type == DIGEST:
        if len(message) != digest.digest_size:
            raise MessageTooLong
        prehash = Prehashed(digest)
    return _private_key(spec, private), prehash


def _rsa_signature_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS_"):
        digest = _SIGNING_HASHES[algorithm]
        # AWS KMS uses a salt as long as the digest, not the maximum cryptography defaults to.
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    return padding.PKCS1v15()


def _oaep_inputs(
    spec: str, private: KeyMaterial, algorithm: str
) -> tuple[rsa.RSAPrivateKey, padding.OAEP, hashes.HashAlgorithm]:
    _require_spec(spec)
    digest = _OAEP_HASHES.get(algorithm)
    if spec not in _RSA_BITS or digest is None:
        raise IncompatibleAlgorithm
    key = _private_key(spec, private)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidKeyMaterial
    return key, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None), digest


def _der_element(der: bytes, offset: int, tag: int) -> tuple[int, int] | None:
    """(content offset, content length) of the DER element at ``offset`` if it has ``tag``."""
    if offset + 2 > len(der) or der[offset] != tag:
        return None
    first = der[offset + 1]
    if first < 0x80:
        return offset + 2, first
    count = first & 0x7F
    if not 1 <= count <= 4 or offset + 2 + count > len(der):
        return None
    return offset + 2 + count, int.from_bytes(der[offset + 2 : offset + 2 + count], "big")


def _is_pkcs8(der: bytes) -> bool:
    """Whether ``der`` opens like a PrivateKeyInfo: SEQUENCE { INTEGER, SEQUENCE, ... }.

    PKCS#1 and SEC1 keys follow their version INTEGER with an INTEGER or an OCTET STRING, and
    an EncryptedPrivateKeyInfo opens with a SEQUENCE; the full parse happens afterwards.
    """
    outer = _der_element(der, 0, 0x30)
    if outer is None:
        return False
    version = _der_element(der, outer[0], 0x02)
    if version is None:
        return False
    return _der_element(der, version[0] + version[1], 0x30) is not None
