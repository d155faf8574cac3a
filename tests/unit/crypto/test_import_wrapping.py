"""Key material a client wraps for import, the way the AWS docs say to, unwraps exactly."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from strongroom.crypto import asymmetric, import_wrapping
from strongroom.crypto.asymmetric import InvalidKeyMaterial, UnsupportedKeySpec
from strongroom.crypto.import_wrapping import ImportUnwrapFailed, UnsupportedWrappingAlgorithm
from strongroom.crypto.key_material import KeyMaterial

WRAPPING_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
OAEP_ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
AES_ALGORITHMS = ("RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")
Wrapping = tuple[KeyMaterial, rsa.RSAPublicKey]


@pytest.fixture(scope="module")
def wrapping() -> dict[str, Wrapping]:
    """One wrapping key pair per size for the module (the client sees only the public half)."""
    pairs: dict[str, Wrapping] = {}
    for spec in WRAPPING_SPECS:
        private, public_der = import_wrapping.new_wrapping_key(spec)
        public = serialization.load_der_public_key(public_der)
        assert isinstance(public, rsa.RSAPublicKey)
        pairs[spec] = (private, public)
    return pairs


@pytest.fixture(scope="module")
def asymmetric_material() -> bytes:
    """A PKCS#8 private key: too long for RSA-OAEP alone, which is why RSA_AES exists."""
    return ec.generate_private_key(ec.SECP521R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def oaep_hash(algorithm: str) -> hashes.HashAlgorithm:
    return hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()  # noqa: S303


def client_oaep(public: rsa.RSAPublicKey, hash_of: str, plaintext: bytes) -> bytes:
    digest = oaep_hash(hash_of)
    return public.encrypt(
        plaintext, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    )


def client_wrap(public: rsa.RSAPublicKey, algorithm: str, material: bytes) -> bytes:
    """What the AWS docs tell a client to do with the public key from GetParametersForImport."""
    if algorithm in OAEP_ALGORITHMS:
        return client_oaep(public, algorithm, material)
    aes_key = os.urandom(32)
    return client_oaep(public, algorithm, aes_key) + keywrap.aes_key_wrap_with_padding(
        aes_key, material
    )


def test_wrapping_keys_are_rsa_pairs_of_the_spec(wrapping: dict[str, Wrapping]) -> None:
    for spec, (private, public) in wrapping.items():
        key = serialization.load_der_private_key(private.expose_secret_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == int(spec[4:])
        assert key.public_key().public_numbers() == public.public_numbers()


@pytest.mark.parametrize("spec", ["RSA_1024", "ECC_NIST_P256", "SYMMETRIC_DEFAULT", "SM2", ""])
def test_other_wrapping_key_specs_are_unsupported(spec: str) -> None:
    with pytest.raises(UnsupportedKeySpec):
        import_wrapping.new_wrapping_key(spec)


@pytest.mark.parametrize("algorithm", OAEP_ALGORITHMS)
@pytest.mark.parametrize("spec", WRAPPING_SPECS)
def test_oaep_round_trips(wrapping: dict[str, Wrapping], spec: str, algorithm: str) -> None:
    private, public = wrapping[spec]
    longest = public.key_size // 8 - 2 * oaep_hash(algorithm).digest_size - 2
    for material in (os.urandom(32), os.urandom(64), os.urandom(longest)):
        encrypted = client_wrap(public, algorithm, material)
        unwrapped = import_wrapping.unwrap_imported(private, algorithm, encrypted)
        assert unwrapped.expose_secret_bytes() == material


@pytest.mark.parametrize("algorithm", AES_ALGORITHMS)
@pytest.mark.parametrize("spec", WRAPPING_SPECS)
def test_rsa_aes_key_wrap_round_trips(
    wrapping: dict[str, Wrapping], asymmetric_material: bytes, spec: str, algorithm: str
) -> None:
    private, public = wrapping[spec]
    for material in (os.urandom(32), b"\x01", os.urandom(65), asymmetric_material):
        encrypted = client_wrap(public, algorithm, material)
        assert len(encrypted) > public.key_size // 8
        unwrapped = import_wrapping.unwrap_imported(private, algorithm, encrypted)
        assert unwrapped.expose_secret_bytes() == material


def test_unwrapped_pkcs8_imports(wrapping: dict[str, Wrapping], asymmetric_material: bytes) -> None:
    private, public = wrapping["RSA_2048"]
    encrypted = client_wrap(public, "RSA_AES_KEY_WRAP_SHA_256", asymmetric_material)
    unwrapped = import_wrapping.unwrap_imported(private, "RSA_AES_KEY_WRAP_SHA_256", encrypted)
    imported = asymmetric.normalize_imported("ECC_NIST_P521", unwrapped.expose_secret_bytes())
    assert imported.expose_secret_bytes() == asymmetric_material


def assert_fails(private: KeyMaterial, algorithm: str, encrypted: bytes) -> None:
    with pytest.raises(ImportUnwrapFailed) as info:
        import_wrapping.unwrap_imported(private, algorithm, encrypted)
    assert str(info.value) == ""
    assert info.value.__cause__ is None


@pytest.mark.parametrize("spec", WRAPPING_SPECS)
def test_oaep_failures(wrapping: dict[str, Wrapping], spec: str) -> None:
    private, public = wrapping[spec]
    other_private = wrapping["RSA_3072" if spec == "RSA_2048" else "RSA_2048"][0]
    encrypted = client_wrap(public, "RSAES_OAEP_SHA_256", os.urandom(32))
    assert_fails(private, "RSAES_OAEP_SHA_1", encrypted)
    assert_fails(other_private, "RSAES_OAEP_SHA_256", encrypted)
    for bad in (
        encrypted[:-1] + bytes([encrypted[-1] ^ 1]),
        encrypted[:-1],
        encrypted + b"\x00",
        b"",
        bytes(len(encrypted)),
    ):
        assert_fails(private, "RSAES_OAEP_SHA_256", bad)


@pytest.mark.parametrize("spec", WRAPPING_SPECS)
def test_rsa_aes_key_wrap_failures(wrapping: dict[str, Wrapping], spec: str) -> None:
    private, public = wrapping[spec]
    k = public.key_size // 8
    algorithm = "RSA_AES_KEY_WRAP_SHA_256"
    encrypted = client_wrap(public, algorithm, os.urandom(32))
    assert_fails(private, "RSA_AES_KEY_WRAP_SHA_1", encrypted)
    assert_fails(
        wrapping["RSA_4096" if spec != "RSA_4096" else "RSA_2048"][0], algorithm, encrypted
    )
    for bad in (
        bytes([encrypted[0] ^ 1]) + encrypted[1:],
        encrypted[:-1] + bytes([encrypted[-1] ^ 1]),
        encrypted[:k],
        encrypted[: k + 8],
        encrypted[:-1],
        encrypted + b"\x00",
        encrypted[1:],
        b"",
    ):
        assert_fails(private, algorithm, bad)
    # Material wrapped without the AES step (plain OAEP) is not the two-step format.
    assert_fails(private, algorithm, client_oaep(public, algorithm, os.urandom(32)))
    # AWS's format carries a 256-bit AES key; an AES-128 key is refused, not accepted.
    short_key = os.urandom(16)
    assert_fails(
        private,
        algorithm,
        client_oaep(public, algorithm, short_key)
        + keywrap.aes_key_wrap_with_padding(short_key, os.urandom(32)),
    )


@pytest.mark.parametrize(
    "algorithm",
    ["RSAES_PKCS1_V1_5", "SM2PKE", "RSA_AES_KEY_WRAP_SHA_512", "rsaes_oaep_sha_256", ""],
)
def test_refused_wrapping_algorithms(wrapping: dict[str, Wrapping], algorithm: str) -> None:
    private, public = wrapping["RSA_2048"]
    encrypted = public.encrypt(os.urandom(32), padding.PKCS1v15())
    with pytest.raises(UnsupportedWrappingAlgorithm):
        import_wrapping.unwrap_imported(private, algorithm, encrypted)


def test_a_wrapping_key_that_is_not_rsa_is_refused() -> None:
    private = asymmetric.generate("ECC_NIST_P256")
    with pytest.raises(InvalidKeyMaterial):
        import_wrapping.unwrap_imported(private, "RSAES_OAEP_SHA_256", bytes(256))
