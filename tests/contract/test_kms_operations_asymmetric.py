"""KMS asymmetric and HMAC keys through real boto3, checked locally with `cryptography`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_der_public_key,
)

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1,
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}
CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def expect_error(code: str, call: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    assert error_code(excinfo) == code, excinfo.value.response["Error"]
    return excinfo.value


def new_key(kms: Any, **kwargs: Any) -> str:
    return str(kms.create_key(**kwargs)["KeyMetadata"]["KeyId"])


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"


def public_key_of(kms: Any, key_id: str) -> Any:
    return load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


def spki(public: Any) -> bytes:
    return bytes(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def oaep(hash_name: str) -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(HASHES[hash_name]()), algorithm=HASHES[hash_name](), label=None
    )


@pytest.fixture(scope="module")
def module_kms(server: Any) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def rsa_encryption_key(module_kms: Any) -> str:
    return new_key(module_kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")


@pytest.fixture(scope="module")
def rsa_signing_key(module_kms: Any) -> str:
    return new_key(module_kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")


# -- RSA encryption ---------------------------------------------------------------------


@pytest.mark.parametrize(("algorithm", "largest"), [("SHA_1", 214), ("SHA_256", 190)])
def test_rsa_oaep_round_trip_and_largest_plaintext(
    kms: Any, rsa_encryption_key: str, algorithm: str, largest: int
) -> None:
    name = f"RSAES_OAEP_{algorithm}"
    plaintext = os.urandom(largest)
    encrypted = kms.encrypt(KeyId=rsa_encryption_key, Plaintext=plaintext, EncryptionAlgorithm=name)
    assert encrypted["KeyId"] == key_arn(rsa_encryption_key)
    assert encrypted["EncryptionAlgorithm"] == name
    assert len(encrypted["CiphertextBlob"]) == 256
    decrypted = kms.decrypt(
        CiphertextBlob=encrypted["CiphertextBlob"],
        KeyId=rsa_encryption_key,
        EncryptionAlgorithm=name,
    )
    assert decrypted["Plaintext"] == plaintext
    assert decrypted["EncryptionAlgorithm"] == name
    expect_error(
        "ValidationException",
        kms.encrypt,
        KeyId=rsa_encryption_key,
        Plaintext=os.urandom(largest + 1),
        EncryptionAlgorithm=name,
    )


@pytest.mark.parametrize("algorithm", ["SHA_1", "SHA_256"])
def test_kms_decrypts_what_the_public_key_encrypted_locally(
    kms: Any, rsa_encryption_key: str, algorithm: str
) -> None:
    public = public_key_of(kms, rsa_encryption_key)
    blob = public.encrypt(b"encrypted offline", oaep(algorithm))
    decrypted = kms.decrypt(
        CiphertextBlob=blob,
        KeyId=rsa_encryption_key,
        EncryptionAlgorithm=f"RSAES_OAEP_{algorithm}",
    )
    assert decrypted["Plaintext"] == b"encrypted offline"


def test_rsa_decrypt_with_the_other_oaep_hash_is_invalid_ciphertext(
    kms: Any, rsa_encryption_key: str
) -> None:
    blob = public_key_of(kms, rsa_encryption_key).encrypt(b"x", oaep("SHA_256"))
    expect_error(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=blob,
        KeyId=rsa_encryption_key,
        EncryptionAlgorithm="RSAES_OAEP_SHA_1",
    )


def test_rsa_encryption_key_cannot_sign(kms: Any, rsa_encryption_key: str) -> None:
    expect_error(
        "InvalidKeyUsageException",
        kms.sign,
        KeyId=rsa_encryption_key,
        Message=b"m",
        SigningAlgorithm="RSASSA_PSS_SHA_256",
    )


# -- GetPublicKey -----------------------------------------------------------------------


def test_get_public_key_of_an_encryption_key(kms: Any, rsa_encryption_key: str) -> None:
    got = kms.get_public_key(KeyId=rsa_encryption_key)
    assert got["KeyId"] == key_arn(rsa_encryption_key)
    assert got["KeySpec"] == got["CustomerMasterKeySpec"] == "RSA_2048"
    assert got["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert sorted(got["EncryptionAlgorithms"]) == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert "SigningAlgorithms" not in got
    public = load_der_public_key(got["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


def test_get_public_key_of_a_key_agreement_key(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")
    got = kms.get_public_key(KeyId=key_id)
    assert got["KeyAgreementAlgorithms"] == ["ECDH"]
    public = load_der_public_key(got["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp384r1"


@pytest.mark.parametrize(
    "create",
    [{}, {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}],
)
def test_get_public_key_of_a_secret_key_is_unsupported(kms: Any, create: dict[str, str]) -> None:
    key_id = new_key(kms, **create)
    expect_error("UnsupportedOperationException", kms.get_public_key, KeyId=key_id)


# -- Sign and Verify --------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    ],
)
def test_rsa_signatures_verify_locally(kms: Any, rsa_signing_key: str, algorithm: str) -> None:
    hash_algorithm = HASHES[algorithm[-7:]]()
    message = b"signed by kms " + algorithm.encode()
    signed = kms.sign(
        KeyId=rsa_signing_key, Message=message, MessageType="RAW", SigningAlgorithm=algorithm
    )
    assert signed["KeyId"] == key_arn(rsa_signing_key)
    assert signed["SigningAlgorithm"] == algorithm
    if "PSS" in algorithm:
        scheme: padding.AsymmetricPadding = padding.PSS(
            mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size
        )
    else:
        scheme = padding.PKCS1v15()
    public = public_key_of(kms, rsa_signing_key)
    public.verify(signed["Signature"], message, scheme, hash_algorithm)
    verified = kms.verify(
        KeyId=rsa_signing_key,
        Message=message,
        Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )
    assert verified["SignatureValid"] is True
    assert verified["KeyId"] == key_arn(rsa_signing_key)
    assert verified["SigningAlgorithm"] == algorithm


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "ECDSA_SHA_384"),
        ("ECC_NIST_P521", "ECDSA_SHA_512"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
    ],
)
def test_ecdsa_signatures_verify_locally(kms: Any, spec: str, algorithm: str) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage="SIGN_VERIFY")
    public = public_key_of(kms, key_id)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == CURVES[spec]().name
    hash_algorithm = HASHES[algorithm[-7:]]()
    message = b"ecdsa message"
    raw = kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm=algorithm)
    public.verify(raw["Signature"], message, ec.ECDSA(hash_algorithm))

    digest = hashlib.new(hash_algorithm.name, message).digest()
    signed = kms.sign(
        KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm
    )
    public.verify(signed["Signature"], digest, ec.ECDSA(utils.Prehashed(hash_algorithm)))
    verified = kms.verify(
        KeyId=key_id,
        Message=message,
        MessageType="RAW",
        Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )
    assert verified["SignatureValid"] is True


def test_rsa_digest_signing_matches_raw(kms: Any, rsa_signing_key: str) -> None:
    message = b"digest me"
    digest = hashlib.sha384(message).digest()
    signed = kms.sign(
        KeyId=rsa_signing_key,
        Message=digest,
        MessageType="DIGEST",
        SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_384",
    )
    public_key_of(kms, rsa_signing_key).verify(
        signed["Signature"], message, padding.PKCS1v15(), hashes.SHA384()
    )


def test_ed25519_signature_verifies_locally(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")
    public = public_key_of(kms, key_id)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    signed = kms.sign(
        KeyId=key_id, Message=b"edwards", MessageType="RAW", SigningAlgorithm="ED25519_SHA_512"
    )
    public.verify(signed["Signature"], b"edwards")


def test_verify_rejects_a_bad_signature(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    signature = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    expect_error(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=key_id,
        Message=b"other message",
        Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )


def test_verify_rejects_a_signature_of_another_key(kms: Any) -> None:
    signer = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    other = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    signature = kms.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    expect_error(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=other,
        Message=b"m",
        Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )


def test_sign_with_an_algorithm_the_curve_lacks_is_invalid_key_usage(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    for algorithm in ("ECDSA_SHA_384", "RSASSA_PSS_SHA_256"):
        expect_error(
            "InvalidKeyUsageException",
            kms.sign,
            KeyId=key_id,
            Message=b"m",
            SigningAlgorithm=algorithm,
        )


def test_sign_digest_of_the_wrong_length_is_validation_error(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    expect_error(
        "ValidationException",
        kms.sign,
        KeyId=key_id,
        Message=os.urandom(20),
        MessageType="DIGEST",
        SigningAlgorithm="ECDSA_SHA_256",
    )


def test_sign_and_mac_messages_are_limited_to_4096_bytes(kms: Any) -> None:
    signer = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.sign(KeyId=signer, Message=os.urandom(4096), SigningAlgorithm="ECDSA_SHA_256")
    expect_error(
        "ValidationException",
        kms.sign,
        KeyId=signer,
        Message=os.urandom(4097),
        SigningAlgorithm="ECDSA_SHA_256",
    )
    mac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.generate_mac(KeyId=mac_key, Message=os.urandom(4096), MacAlgorithm="HMAC_SHA_256")
    expect_error(
        "ValidationException",
        kms.generate_mac,
        KeyId=mac_key,
        Message=os.urandom(4097),
        MacAlgorithm="HMAC_SHA_256",
    )


def test_sign_with_a_symmetric_key_is_invalid_key_usage(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "InvalidKeyUsageException",
        kms.sign,
        KeyId=key_id,
        Message=b"m",
        SigningAlgorithm="ECDSA_SHA_256",
    )


# -- DeriveSharedSecret -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"])
def test_derive_shared_secret_matches_local_ecdh(kms: Any, spec: str) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage="KEY_AGREEMENT")
    local = ec.generate_private_key(CURVES[spec]())
    expected = local.exchange(ec.ECDH(), public_key_of(kms, key_id))
    derived = kms.derive_shared_secret(
        KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=spki(local.public_key())
    )
    assert derived["SharedSecret"] == expected
    assert derived["KeyId"] == key_arn(key_id)
    assert derived["KeyAgreementAlgorithm"] == "ECDH"
    assert derived["KeyOrigin"] == "AWS_KMS"


def test_derive_shared_secret_with_a_signing_key_is_invalid_key_usage(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    local = ec.generate_private_key(ec.SECP256R1())
    expect_error(
        "InvalidKeyUsageException",
        kms.derive_shared_secret,
        KeyId=key_id,
        KeyAgreementAlgorithm="ECDH",
        PublicKey=spki(local.public_key()),
    )


def test_derive_shared_secret_dry_run(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
    local = ec.generate_private_key(ec.SECP256R1())
    expect_error(
        "DryRunOperationException",
        kms.derive_shared_secret,
        KeyId=key_id,
        KeyAgreementAlgorithm="ECDH",
        PublicKey=spki(local.public_key()),
        DryRun=True,
    )


# -- GenerateMac and VerifyMac ----------------------------------------------------------


@pytest.mark.parametrize(("bits", "size"), [(224, 28), (256, 32), (384, 48), (512, 64)])
def test_hmac_generate_and_verify(kms: Any, bits: int, size: int) -> None:
    key_id = new_key(kms, KeySpec=f"HMAC_{bits}", KeyUsage="GENERATE_VERIFY_MAC")
    algorithm = f"HMAC_SHA_{bits}"
    generated = kms.generate_mac(KeyId=key_id, Message=b"mac me", MacAlgorithm=algorithm)
    assert generated["KeyId"] == key_arn(key_id)
    assert generated["MacAlgorithm"] == algorithm
    assert len(generated["Mac"]) == size
    again = kms.generate_mac(KeyId=key_id, Message=b"mac me", MacAlgorithm=algorithm)
    assert again["Mac"] == generated["Mac"]
    verified = kms.verify_mac(
        KeyId=key_id, Message=b"mac me", MacAlgorithm=algorithm, Mac=generated["Mac"]
    )
    assert verified["MacValid"] is True
    assert verified["KeyId"] == key_arn(key_id)
    assert verified["MacAlgorithm"] == algorithm
    flipped = bytes([generated["Mac"][0] ^ 0x01]) + generated["Mac"][1:]
    expect_error(
        "KMSInvalidMacException",
        kms.verify_mac,
        KeyId=key_id,
        Message=b"mac me",
        MacAlgorithm=algorithm,
        Mac=flipped,
    )


def test_hmac_keys_are_independent(kms: Any) -> None:
    first = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    second = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=first, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    expect_error(
        "KMSInvalidMacException",
        kms.verify_mac,
        KeyId=second,
        Message=b"m",
        MacAlgorithm="HMAC_SHA_256",
        Mac=mac,
    )


def test_hmac_with_another_algorithm_is_invalid_key_usage(kms: Any) -> None:
    key_id = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    expect_error(
        "InvalidKeyUsageException",
        kms.generate_mac,
        KeyId=key_id,
        Message=b"m",
        MacAlgorithm="HMAC_SHA_384",
    )


def test_generate_mac_with_an_encryption_key_is_invalid_key_usage(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "InvalidKeyUsageException",
        kms.generate_mac,
        KeyId=key_id,
        Message=b"m",
        MacAlgorithm="HMAC_SHA_256",
    )


# -- GenerateDataKeyPair ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "RSA_2048",
        "RSA_3072",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "ECC_NIST_EDWARDS25519",
    ],
)
def test_generate_data_key_pair(kms: Any, spec: str) -> None:
    key_id = new_key(kms)
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec=spec, EncryptionContext={"p": "1"})
    assert pair["KeyId"] == key_arn(key_id)
    assert pair["KeyPairSpec"] == spec
    private = load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert spki(private.public_key()) == pair["PublicKey"]
    if spec in CURVES:
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        assert private.curve.name == CURVES[spec]().name
    elif spec.startswith("RSA_"):
        assert isinstance(private, rsa.RSAPrivateKey)
        assert private.key_size == int(spec[4:])
    else:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
    decrypted = kms.decrypt(
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext={"p": "1"}
    )
    assert decrypted["Plaintext"] == pair["PrivateKeyPlaintext"]


def test_generate_data_key_pair_without_plaintext(kms: Any) -> None:
    key_id = new_key(kms)
    pair = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    assert "PrivateKeyPlaintext" not in pair
    assert pair["KeyId"] == key_arn(key_id)
    assert pair["KeyPairSpec"] == "ECC_NIST_P256"
    private_der = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"]
    private = load_der_private_key(private_der, password=None)
    assert spki(private.public_key()) == pair["PublicKey"]


def test_generate_data_key_pair_sm2_is_unsupported(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "UnsupportedOperationException",
        kms.generate_data_key_pair,
        KeyId=key_id,
        KeyPairSpec="SM2",
    )


def test_generate_data_key_pair_with_an_asymmetric_key_is_invalid_key_usage(
    kms: Any, rsa_encryption_key: str
) -> None:
    expect_error(
        "InvalidKeyUsageException",
        kms.generate_data_key_pair,
        KeyId=rsa_encryption_key,
        KeyPairSpec="ECC_NIST_P256",
    )
