"""Asymmetric KMS keys sign, encrypt and agree as AWS KMS does, cross-checked by `cryptography`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from strongroom.crypto import asymmetric
from strongroom.crypto.asymmetric import (
    DecryptionFailed,
    IncompatibleAlgorithm,
    InvalidKeyMaterial,
    InvalidPublicKey,
    MessageTooLong,
    UnsupportedKeySpec,
    UnsupportedMessageType,
)
from strongroom.crypto.key_material import KeyMaterial

RSA_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
ECDH_SPECS = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")
EC_SPECS = (*ECDH_SPECS, "ECC_SECG_P256K1")
PAIR_SPECS = (*RSA_SPECS, *EC_SPECS, "ECC_NIST_EDWARDS25519")
HMAC_SPECS = ("HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512")
RSA_SIGNING = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
SIGNING: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(RSA_SPECS, RSA_SIGNING),
    "ECC_NIST_P256": ("ECDSA_SHA_256",),
    "ECC_NIST_P384": ("ECDSA_SHA_384",),
    "ECC_NIST_P521": ("ECDSA_SHA_512",),
    "ECC_SECG_P256K1": ("ECDSA_SHA_256",),
    "ECC_NIST_EDWARDS25519": ("ED25519_SHA_512",),
}
SPEC_ALGORITHM = [(spec, alg) for spec, algs in SIGNING.items() for alg in algs]
HASHES: dict[str, hashes.HashAlgorithm] = {
    "256": hashes.SHA256(),
    "384": hashes.SHA384(),
    "512": hashes.SHA512(),
}
CURVES: dict[str, ec.EllipticCurve] = {
    "ECC_NIST_P256": ec.SECP256R1(),
    "ECC_NIST_P384": ec.SECP384R1(),
    "ECC_NIST_P521": ec.SECP521R1(),
    "ECC_SECG_P256K1": ec.SECP256K1(),
}
MESSAGE = b"the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def keys() -> dict[str, KeyMaterial]:
    """One generated key per spec for the whole module: RSA key generation is slow."""
    return {spec: asymmetric.generate(spec) for spec in (*PAIR_SPECS, *HMAC_SPECS)}


@pytest.fixture(scope="module")
def references(keys: dict[str, KeyMaterial]) -> dict[str, PrivateKeyTypes]:
    """The same keys parsed by `cryptography` alone, to check our results against."""
    return {
        spec: serialization.load_der_private_key(
            keys[spec].expose_secret_bytes(), None, unsafe_skip_rsa_key_validation=True
        )
        for spec in PAIR_SPECS
    }


def hash_of(algorithm: str) -> hashes.HashAlgorithm:
    return HASHES[algorithm.rsplit("_", 1)[1]]


def pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def spki(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def reference_verify(public: PublicKeyTypes, algorithm: str, message: bytes, sig: bytes) -> None:
    """Verify a KMS-style signature over a RAW message with `cryptography` alone."""
    if isinstance(public, rsa.RSAPublicKey):
        digest = hash_of(algorithm)
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            if algorithm.startswith("RSASSA_PSS_")
            else padding.PKCS1v15()
        )
        public.verify(sig, message, pad, digest)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(sig, message, ec.ECDSA(hash_of(algorithm)))
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(sig, message)


def digest_of(algorithm: str, message: bytes) -> bytes:
    h = hashes.Hash(hash_of(algorithm))
    h.update(message)
    return h.finalize()


# --- generation and public keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "length"), [("HMAC_224", 28), ("HMAC_256", 32), ("HMAC_384", 48), ("HMAC_512", 64)]
)
def test_hmac_keys_have_aws_lengths(keys: dict[str, KeyMaterial], spec: str, length: int) -> None:
    assert len(keys[spec]) == length
    assert asymmetric.generate(spec) != keys[spec]


@pytest.mark.parametrize("spec", PAIR_SPECS)
def test_generated_keys_are_pkcs8_of_the_spec(keys: dict[str, KeyMaterial], spec: str) -> None:
    der = keys[spec].expose_secret_bytes()
    key = serialization.load_der_private_key(der, password=None)
    assert pkcs8(key) == der
    if spec in RSA_SPECS:
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == int(spec[4:])
        assert key.public_key().public_numbers().e == 65537
    elif spec in CURVES:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == CURVES[spec].name
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert asymmetric.public_key_der(spec, keys[spec]) == spki(key)


@pytest.mark.parametrize("spec", [s for s in PAIR_SPECS if s not in ("RSA_3072", "RSA_4096")])
def test_data_key_pairs_match(spec: str) -> None:
    private, public = asymmetric.generate_data_key_pair(spec)
    key = serialization.load_der_private_key(private.expose_secret_bytes(), password=None)
    assert pkcs8(key) == private.expose_secret_bytes()
    assert spki(key) == public
    assert asymmetric.public_key_der(spec, private) == public


@pytest.mark.parametrize("spec", [*HMAC_SPECS, "SYMMETRIC_DEFAULT", "SM2", "RSA_1024", ""])
def test_data_key_pairs_and_public_keys_need_a_key_pair_spec(
    keys: dict[str, KeyMaterial], spec: str
) -> None:
    with pytest.raises(UnsupportedKeySpec):
        asymmetric.generate_data_key_pair(spec)
    with pytest.raises(UnsupportedKeySpec):
        asymmetric.public_key_der(spec, keys["ECC_NIST_P256"])


CALLS: dict[str, Callable[[str, KeyMaterial], Any]] = {
    "generate": lambda spec, _: asymmetric.generate(spec),
    "sign": lambda spec, k: asymmetric.sign(spec, k, "ECDSA_SHA_256", b"m", "RAW"),
    "verify": lambda spec, k: asymmetric.verify(spec, k, "ECDSA_SHA_256", b"m", "RAW", b"s"),
    "rsa_encrypt": lambda spec, k: asymmetric.rsa_encrypt(spec, k, "RSAES_OAEP_SHA_256", b"m"),
    "rsa_decrypt": lambda spec, k: asymmetric.rsa_decrypt(spec, k, "RSAES_OAEP_SHA_256", b"c"),
    "derive_shared_secret": lambda spec, k: asymmetric.derive_shared_secret(spec, k, b"p"),
    "normalize_imported": lambda spec, _: asymmetric.normalize_imported(spec, b"x" * 32),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "SM2", "ML_DSA_44", "RSA_1024", "rsa_2048"])
def test_unknown_specs_are_unsupported(keys: dict[str, KeyMaterial], call: str, spec: str) -> None:
    with pytest.raises(UnsupportedKeySpec):
        CALLS[call](spec, keys["ECC_NIST_P256"])


def test_private_keys_are_parsed_once_per_key_material(
    keys: dict[str, KeyMaterial], monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[bytes] = []
    real = serialization.load_der_private_key

    def counting(der: bytes, **kwargs: Any) -> PrivateKeyTypes:
        parses.append(der)
        return real(der, **kwargs)

    monkeypatch.setattr(asymmetric, "load_der_private_key", counting)
    key = KeyMaterial(keys["ECC_NIST_P256"].expose_secret_bytes())
    signature = asymmetric.sign("ECC_NIST_P256", key, "ECDSA_SHA_256", MESSAGE, "RAW")
    assert asymmetric.verify("ECC_NIST_P256", key, "ECDSA_SHA_256", MESSAGE, "RAW", signature)
    asymmetric.public_key_der("ECC_NIST_P256", key)
    asymmetric.derive_shared_secret(
        "ECC_NIST_P256", key, asymmetric.public_key_der("ECC_NIST_P256", keys["ECC_NIST_P256"])
    )
    assert len(parses) == 1


def test_material_of_another_spec_is_refused(keys: dict[str, KeyMaterial]) -> None:
    with pytest.raises(InvalidKeyMaterial):
        asymmetric.sign("ECC_NIST_P384", keys["ECC_NIST_P256"], "ECDSA_SHA_384", MESSAGE, "RAW")
    with pytest.raises(InvalidKeyMaterial):
        asymmetric.public_key_der("RSA_3072", keys["RSA_2048"])
    with pytest.raises(InvalidKeyMaterial):
        asymmetric.public_key_der("ECC_NIST_P256", KeyMaterial(b"not a key"))


# --- signing ------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "algorithm"), SPEC_ALGORITHM)
def test_raw_signatures_round_trip_and_verify_with_cryptography(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    signature = asymmetric.sign(spec, keys[spec], algorithm, MESSAGE, "RAW")
    assert asymmetric.verify(spec, keys[spec], algorithm, MESSAGE, "RAW", signature)
    public = serialization.load_der_public_key(asymmetric.public_key_der(spec, keys[spec]))
    reference_verify(public, algorithm, MESSAGE, signature)


@pytest.mark.parametrize(("spec", "algorithm"), SPEC_ALGORITHM)
def test_digest_signatures_equal_raw_signatures_of_the_message(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    if spec == "ECC_NIST_EDWARDS25519":
        with pytest.raises(UnsupportedMessageType):
            asymmetric.sign(spec, keys[spec], algorithm, digest_of(algorithm, MESSAGE), "DIGEST")
        return
    digest = digest_of(algorithm, MESSAGE)
    assert len(digest) == asymmetric.digest_size(algorithm)
    signature = asymmetric.sign(spec, keys[spec], algorithm, digest, "DIGEST")
    assert asymmetric.verify(spec, keys[spec], algorithm, digest, "DIGEST", signature)
    assert asymmetric.verify(spec, keys[spec], algorithm, MESSAGE, "RAW", signature)
    raw_signature = asymmetric.sign(spec, keys[spec], algorithm, MESSAGE, "RAW")
    assert asymmetric.verify(spec, keys[spec], algorithm, digest, "DIGEST", raw_signature)
    public = serialization.load_der_public_key(asymmetric.public_key_der(spec, keys[spec]))
    reference_verify(public, algorithm, MESSAGE, signature)


@pytest.mark.parametrize(("spec", "algorithm"), SPEC_ALGORITHM)
def test_tampered_or_malformed_signatures_are_false(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    signature = asymmetric.sign(spec, keys[spec], algorithm, MESSAGE, "RAW")
    flipped = bytes([signature[0] ^ 0x01]) + signature[1:]
    last_flipped = signature[:-1] + bytes([signature[-1] ^ 0x80])
    for bad in (flipped, last_flipped, signature[:-1], signature + b"\x00", b"", b"\x30" * 9):
        assert not asymmetric.verify(spec, keys[spec], algorithm, MESSAGE, "RAW", bad)
    assert not asymmetric.verify(spec, keys[spec], algorithm, MESSAGE + b"!", "RAW", signature)


def test_pss_uses_a_digest_length_salt(keys: dict[str, KeyMaterial]) -> None:
    signature = asymmetric.sign("RSA_2048", keys["RSA_2048"], "RSASSA_PSS_SHA_256", MESSAGE, "RAW")
    public = serialization.load_der_public_key(
        asymmetric.public_key_der("RSA_2048", keys["RSA_2048"])
    )
    assert isinstance(public, rsa.RSAPublicKey)
    longer_salt = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=33)
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE, longer_salt, hashes.SHA256())


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_384"),
        ("ECC_NIST_P384", "ECDSA_SHA_256"),
        ("ECC_NIST_P521", "ECDSA_SHA_384"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_512"),
        ("ECC_NIST_P256", "RSASSA_PSS_SHA_256"),
        ("RSA_2048", "ECDSA_SHA_256"),
        ("RSA_2048", "RSAES_OAEP_SHA_256"),
        ("RSA_2048", "ED25519_SHA_512"),
        ("ECC_NIST_EDWARDS25519", "ECDSA_SHA_512"),
        ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512"),
        ("HMAC_256", "HMAC_SHA_256"),
        ("HMAC_256", "RSASSA_PSS_SHA_256"),
        ("ECC_NIST_P256", "SM2DSA"),
    ],
)
def test_algorithms_outside_the_spec_are_incompatible(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.sign(spec, keys[spec], algorithm, MESSAGE, "RAW")
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.verify(spec, keys[spec], algorithm, MESSAGE, "RAW", b"sig")


@pytest.mark.parametrize(
    ("spec", "algorithm"), [p for p in SPEC_ALGORITHM if "ED25519" not in p[1]]
)
def test_digests_of_the_wrong_length_are_too_long(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    size = asymmetric.digest_size(algorithm)
    for length in (0, size - 1, size + 1, 2 * size):
        with pytest.raises(MessageTooLong):
            asymmetric.sign(spec, keys[spec], algorithm, b"d" * length, "DIGEST")
        with pytest.raises(MessageTooLong):
            asymmetric.verify(spec, keys[spec], algorithm, b"d" * length, "DIGEST", b"s")


@pytest.mark.parametrize("message_type", ["raw", "Digest", "", "EXTERNAL_MU"])
def test_unknown_message_types_are_refused(keys: dict[str, KeyMaterial], message_type: str) -> None:
    with pytest.raises(UnsupportedMessageType):
        asymmetric.sign("ECC_NIST_P256", keys["ECC_NIST_P256"], "ECDSA_SHA_256", b"m", message_type)
    with pytest.raises(UnsupportedMessageType):
        asymmetric.verify(
            "ECC_NIST_P256", keys["ECC_NIST_P256"], "ECDSA_SHA_256", b"m", message_type, b"s"
        )


def test_ed25519_refuses_digest_messages_in_verify(keys: dict[str, KeyMaterial]) -> None:
    with pytest.raises(UnsupportedMessageType):
        asymmetric.verify(
            "ECC_NIST_EDWARDS25519",
            keys["ECC_NIST_EDWARDS25519"],
            "ED25519_SHA_512",
            bytes(64),
            "DIGEST",
            bytes(64),
        )


@pytest.mark.parametrize(
    ("algorithm", "size"),
    [
        ("RSASSA_PSS_SHA_256", 32),
        ("RSASSA_PSS_SHA_384", 48),
        ("RSASSA_PSS_SHA_512", 64),
        ("RSASSA_PKCS1_V1_5_SHA_256", 32),
        ("RSASSA_PKCS1_V1_5_SHA_384", 48),
        ("RSASSA_PKCS1_V1_5_SHA_512", 64),
        ("ECDSA_SHA_256", 32),
        ("ECDSA_SHA_384", 48),
        ("ECDSA_SHA_512", 64),
        ("ED25519_SHA_512", 64),
    ],
)
def test_digest_sizes(algorithm: str, size: int) -> None:
    assert asymmetric.digest_size(algorithm) == size


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "HMAC_SHA_256", "SHA_256", ""])
def test_digest_size_of_a_non_signing_algorithm(algorithm: str) -> None:
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.digest_size(algorithm)


# --- RSA encryption -----------------------------------------------------------------------

OAEP_LIMITS = [
    ("RSA_2048", "RSAES_OAEP_SHA_1", 214),
    ("RSA_2048", "RSAES_OAEP_SHA_256", 190),
    ("RSA_3072", "RSAES_OAEP_SHA_1", 342),
    ("RSA_3072", "RSAES_OAEP_SHA_256", 318),
    ("RSA_4096", "RSAES_OAEP_SHA_1", 470),
    ("RSA_4096", "RSAES_OAEP_SHA_256", 446),
]


def oaep(algorithm: str) -> padding.OAEP:
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()  # noqa: S303
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


@pytest.mark.parametrize(("spec", "algorithm", "limit"), OAEP_LIMITS)
def test_oaep_round_trips_up_to_the_limit(
    keys: dict[str, KeyMaterial],
    references: dict[str, PrivateKeyTypes],
    spec: str,
    algorithm: str,
    limit: int,
) -> None:
    for plaintext in (b"", b"x", bytes(range(256)) * 2):
        plaintext = plaintext[:limit]
        ciphertext = asymmetric.rsa_encrypt(spec, keys[spec], algorithm, plaintext)
        assert len(ciphertext) == int(spec[4:]) // 8
        assert asymmetric.rsa_decrypt(spec, keys[spec], algorithm, ciphertext) == plaintext
        reference = references[spec]
        assert isinstance(reference, rsa.RSAPrivateKey)
        assert reference.decrypt(ciphertext, oaep(algorithm)) == plaintext
        from_client = reference.public_key().encrypt(plaintext, oaep(algorithm))
        assert asymmetric.rsa_decrypt(spec, keys[spec], algorithm, from_client) == plaintext
    assert len(plaintext) == limit
    with pytest.raises(MessageTooLong):
        asymmetric.rsa_encrypt(spec, keys[spec], algorithm, b"x" * (limit + 1))


@pytest.mark.parametrize("spec", RSA_SPECS)
def test_rsa_decryption_failures_say_nothing(keys: dict[str, KeyMaterial], spec: str) -> None:
    key = keys[spec]
    ciphertext = asymmetric.rsa_encrypt(spec, key, "RSAES_OAEP_SHA_256", b"secret")
    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
    for bad in (tampered, ciphertext[1:], ciphertext + b"\x00", b"", b"\xff" * len(ciphertext)):
        with pytest.raises(DecryptionFailed) as info:
            asymmetric.rsa_decrypt(spec, key, "RSAES_OAEP_SHA_256", bad)
        assert str(info.value) == ""
        assert info.value.__cause__ is None
    with pytest.raises(DecryptionFailed):
        asymmetric.rsa_decrypt(spec, key, "RSAES_OAEP_SHA_1", ciphertext)


def test_rsa_decryption_under_another_key_fails(keys: dict[str, KeyMaterial]) -> None:
    ciphertext = asymmetric.rsa_encrypt("RSA_2048", keys["RSA_2048"], "RSAES_OAEP_SHA_1", b"s")
    other = asymmetric.generate("RSA_2048")
    with pytest.raises(DecryptionFailed):
        asymmetric.rsa_decrypt("RSA_2048", other, "RSAES_OAEP_SHA_1", ciphertext)


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("RSA_2048", "RSASSA_PSS_SHA_256"),
        ("RSA_2048", "RSAES_PKCS1_V1_5"),
        ("RSA_2048", "SYMMETRIC_DEFAULT"),
        ("ECC_NIST_P256", "RSAES_OAEP_SHA_256"),
        ("ECC_NIST_EDWARDS25519", "RSAES_OAEP_SHA_1"),
        ("HMAC_256", "RSAES_OAEP_SHA_256"),
    ],
)
def test_rsa_encryption_needs_rsa_and_oaep(
    keys: dict[str, KeyMaterial], spec: str, algorithm: str
) -> None:
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.rsa_encrypt(spec, keys[spec], algorithm, b"m")
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.rsa_decrypt(spec, keys[spec], algorithm, b"c")


# --- key agreement ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ECDH_SPECS)
def test_ecdh_agrees_with_the_peer(
    keys: dict[str, KeyMaterial], references: dict[str, PrivateKeyTypes], spec: str
) -> None:
    peer = ec.generate_private_key(CURVES[spec])
    ours = asymmetric.derive_shared_secret(spec, keys[spec], spki(peer))
    our_public = serialization.load_der_public_key(asymmetric.public_key_der(spec, keys[spec]))
    assert isinstance(our_public, ec.EllipticCurvePublicKey)
    assert ours == peer.exchange(ec.ECDH(), our_public)
    reference = references[spec]
    assert isinstance(reference, ec.EllipticCurvePrivateKey)
    assert ours == reference.exchange(ec.ECDH(), peer.public_key())
    assert len(ours) == (CURVES[spec].key_size + 7) // 8


@pytest.mark.parametrize("spec", ECDH_SPECS)
def test_ecdh_refuses_unusable_peer_keys(keys: dict[str, KeyMaterial], spec: str) -> None:
    other_curve = "ECC_NIST_P384" if spec == "ECC_NIST_P256" else "ECC_NIST_P256"
    good = spki(ec.generate_private_key(CURVES[spec]))
    unusable = [
        asymmetric.public_key_der(other_curve, keys[other_curve]),
        asymmetric.public_key_der("ECC_SECG_P256K1", keys["ECC_SECG_P256K1"]),
        asymmetric.public_key_der("RSA_2048", keys["RSA_2048"]),
        asymmetric.public_key_der("ECC_NIST_EDWARDS25519", keys["ECC_NIST_EDWARDS25519"]),
        b"",
        b"garbage",
        good[:-1],
        good + b"\x00",
        keys[spec].expose_secret_bytes(),
    ]
    for der in unusable:
        with pytest.raises(InvalidPublicKey):
            asymmetric.derive_shared_secret(spec, keys[spec], der)


@pytest.mark.parametrize(
    "spec", ["ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "RSA_2048", "HMAC_256"]
)
def test_ecdh_needs_a_nist_curve(keys: dict[str, KeyMaterial], spec: str) -> None:
    with pytest.raises(IncompatibleAlgorithm):
        asymmetric.derive_shared_secret(
            spec, keys[spec], asymmetric.public_key_der("ECC_NIST_P256", keys["ECC_NIST_P256"])
        )


# --- import -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", PAIR_SPECS)
def test_imports_of_the_right_spec_are_accepted(keys: dict[str, KeyMaterial], spec: str) -> None:
    der = keys[spec].expose_secret_bytes()
    imported = asymmetric.normalize_imported(spec, der)
    assert imported == keys[spec]
    assert asymmetric.public_key_der(spec, imported) == asymmetric.public_key_der(spec, keys[spec])


@pytest.mark.parametrize(
    ("spec", "make"),
    [
        ("ECC_NIST_P384", lambda: ec.generate_private_key(ec.SECP384R1())),
        ("ECC_SECG_P256K1", lambda: ec.generate_private_key(ec.SECP256K1())),
        ("ECC_NIST_EDWARDS25519", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_keys_made_by_the_client_import(spec: str, make: Callable[[], PrivateKeyTypes]) -> None:
    key = make()
    imported = asymmetric.normalize_imported(spec, pkcs8(key))
    assert imported.expose_secret_bytes() == pkcs8(key)
    assert asymmetric.public_key_der(spec, imported) == spki(key)


@pytest.mark.parametrize(
    ("spec", "other"),
    [
        ("RSA_2048", "RSA_3072"),
        ("RSA_3072", "RSA_2048"),
        ("RSA_4096", "RSA_3072"),
        ("RSA_2048", "ECC_NIST_P256"),
        ("ECC_NIST_P256", "ECC_NIST_P384"),
        ("ECC_NIST_P256", "ECC_SECG_P256K1"),
        ("ECC_NIST_P384", "ECC_NIST_P521"),
        ("ECC_NIST_P521", "ECC_NIST_P256"),
        ("ECC_SECG_P256K1", "ECC_NIST_P256"),
        ("ECC_NIST_EDWARDS25519", "ECC_NIST_P256"),
        ("ECC_NIST_P256", "ECC_NIST_EDWARDS25519"),
        ("ECC_NIST_P256", "RSA_2048"),
    ],
)
def test_imports_of_another_spec_are_refused(
    keys: dict[str, KeyMaterial], spec: str, other: str
) -> None:
    with pytest.raises(InvalidKeyMaterial):
        asymmetric.normalize_imported(spec, keys[other].expose_secret_bytes())


def test_imports_that_are_not_pkcs8_der_are_refused(
    keys: dict[str, KeyMaterial], references: dict[str, PrivateKeyTypes]
) -> None:
    rsa_key = references["RSA_2048"]
    ec_key = references["ECC_NIST_P256"]
    good = keys["RSA_2048"].expose_secret_bytes()
    refused = {
        "RSA_2048": [
            rsa_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
            rsa_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"password"),
            ),
            rsa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            asymmetric.public_key_der("RSA_2048", keys["RSA_2048"]),
            good[:-1],
            good + b"\x00",
            b"",
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff\x02\x01\x00\x30\x00",
            b"garbage",
        ],
        "ECC_NIST_P256": [
            ec_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
            bytes(32),
        ],
        "ECC_NIST_EDWARDS25519": [
            keys["ECC_NIST_EDWARDS25519"].expose_secret_bytes()[-32:],
        ],
    }
    for spec, materials in refused.items():
        for material in materials:
            with pytest.raises(InvalidKeyMaterial) as info:
                asymmetric.normalize_imported(spec, material)
            assert str(info.value) == ""


@pytest.mark.parametrize(
    ("spec", "shortest", "longest"),
    [("HMAC_224", 28, 64), ("HMAC_256", 32, 64), ("HMAC_384", 48, 128), ("HMAC_512", 64, 128)],
)
def test_hmac_imports_within_aws_lengths(spec: str, shortest: int, longest: int) -> None:
    for length in (shortest, (shortest + longest) // 2, longest):
        material = bytes(range(length))
        assert asymmetric.normalize_imported(spec, material).expose_secret_bytes() == material
    for length in (0, shortest - 1, longest + 1):
        with pytest.raises(InvalidKeyMaterial):
            asymmetric.normalize_imported(spec, bytes(length))


def test_inconsistent_rsa_imports_are_refused(references: dict[str, PrivateKeyTypes]) -> None:
    key = references["RSA_2048"]
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d + 2,
        dmp1=numbers.dmp1,
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    with pytest.raises(InvalidKeyMaterial):
        asymmetric.normalize_imported("RSA_2048", pkcs8(broken))
