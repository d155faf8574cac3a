"""Ed25519 signing keys for statements the deployment makes (audit checkpoints, certificates)."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_public_key,
)

PRIVATE_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class Ed25519Signer:
    """One Ed25519 private key; ``private_bytes`` is only for wrapping it into the keystore."""

    def __init__(self, private_bytes: bytes) -> None:
        if len(private_bytes) != PRIVATE_KEY_SIZE:
            raise ValueError("an Ed25519 private key is 32 bytes")
        self._key = ed25519.Ed25519PrivateKey.from_private_bytes(private_bytes)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        key = ed25519.Ed25519PrivateKey.generate()
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def verify(public_key_pem: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is an Ed25519 signature of ``message`` under the PEM key."""
    try:
        key = load_pem_public_key(public_key_pem)
    except ValueError:
        return False
    if not isinstance(key, ed25519.Ed25519PublicKey):
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def public_key_fingerprint(public_key_pem: bytes) -> bytes | None:
    """SHA-256 of the key's SubjectPublicKeyInfo DER, if the PEM is an Ed25519 public key;
    None otherwise (a certificate or statement names its signing key by this)."""
    try:
        key = load_pem_public_key(public_key_pem)
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        return None
    return hashlib.sha256(
        key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).digest()
