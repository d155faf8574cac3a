"""HMAC generation and constant-time verification for HMAC_* KMS keys."""

from __future__ import annotations

import hmac
from typing import Final

from strongroom.crypto.asymmetric import IncompatibleAlgorithm, _require_spec
from strongroom.crypto.key_material import KeyMaterial

# Each HMAC key spec allows exactly one MAC algorithm: (AWS algorithm, hashlib name).
_ALGORITHMS: Final[dict[str, tuple[str, str]]] = {
    "HMAC_224": ("HMAC_SHA_224", "sha224"),
    "HMAC_256": ("HMAC_SHA_256", "sha256"),
    "HMAC_384": ("HMAC_SHA_384", "sha384"),
    "HMAC_512": ("HMAC_SHA_512", "sha512"),
}


def generate_mac(spec: str, key: KeyMaterial, algorithm: str, message: bytes) -> bytes:
    """HMAC of ``message`` under ``key`` (KMS GenerateMac)."""
    return hmac.digest(key.expose_secret_bytes(), message, _digest_name(spec, algorithm))


def verify_mac(spec: str, key: KeyMaterial, algorithm: str, message: bytes, mac: bytes) -> bool:
    """Whether ``mac`` is the HMAC of ``message``, compared in constant time (KMS VerifyMac)."""
    return hmac.compare_digest(generate_mac(spec, key, algorithm, message), mac)


def _digest_name(spec: str, algorithm: str) -> str:
    _require_spec(spec)
    allowed = _ALGORITHMS.get(spec)
    if allowed is None or allowed[0] != algorithm:
        raise IncompatibleAlgorithm
    return allowed[1]
