"""KMS imported key material (BYOK) through real boto3, wrapped locally with `cryptography`."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from cryptography.hazmat.primitives.serialization import load_der_public_key

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
OAEP_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1,
    "SHA_256": hashes.SHA256,
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


def wrap(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """Wrap key material the way the AWS docs tell a client to, for each wrapping algorithm."""
    public = load_der_public_key(public_der)
    assert isinstance(public, rsa.RSAPublicKey)
    hash_algorithm = OAEP_HASHES["SHA_256" if algorithm.endswith("SHA_256") else "SHA_1"]()
    oaep = padding.OAEP(mgf=padding.MGF1(hash_algorithm), algorithm=hash_algorithm, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def parameters(
    kms: Any, key_id: str, algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048"
) -> dict[str, Any]:
    return dict(
        kms.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec
        )
    )


def import_material(
    kms: Any,
    key_id: str,
    material: bytes,
    algorithm: str = "RSAES_OAEP_SHA_256",
    spec: str = "RSA_2048",
    **extra: Any,
) -> dict[str, Any]:
    params = parameters(kms, key_id, algorithm, spec)
    extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return dict(
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
            **extra,
        )
    )


# -- GetParametersForImport -------------------------------------------------------------


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_get_parameters_for_import(kms: Any, spec: str) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256", spec)
    assert params["KeyId"] == key_arn(key_id)
    assert params["ImportToken"]
    public = load_der_public_key(params["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == int(spec[4:])
    expected = datetime.now(UTC) + timedelta(hours=24)
    assert abs(params["ParametersValidTo"] - expected) < timedelta(minutes=5)


def test_get_parameters_for_an_aws_kms_key_is_unsupported(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error("UnsupportedOperationException", parameters, kms=kms, key_id=key_id)


def test_import_into_an_aws_kms_key_is_unsupported(kms: Any) -> None:
    external = new_key(kms, Origin="EXTERNAL")
    params = parameters(kms, external)
    native = new_key(kms)
    expect_error(
        "UnsupportedOperationException",
        kms.import_key_material,
        KeyId=native,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )


# -- ImportKeyMaterial, symmetric -------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "spec"),
    [
        ("RSAES_OAEP_SHA_1", "RSA_2048"),
        ("RSAES_OAEP_SHA_256", "RSA_3072"),
        ("RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"),
        ("RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    ],
)
def test_import_symmetric_material_with_each_wrapping_algorithm(
    kms: Any, algorithm: str, spec: str
) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    imported = import_material(kms, key_id, os.urandom(32), algorithm, spec)
    assert imported["KeyId"].endswith(key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["Origin"] == "EXTERNAL"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "ValidTo" not in metadata
    assert metadata["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"byok")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"byok"


def test_import_with_an_expiry_reports_valid_to(kms: Any) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    valid_to = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    import_material(
        kms, key_id, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to
    )
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert metadata["ValidTo"] == valid_to


def test_wrong_length_symmetric_material_is_refused(kms: Any) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key_id, os.urandom(16))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_import_token_of_another_key_is_invalid(kms: Any) -> None:
    first = new_key(kms, Origin="EXTERNAL")
    second = new_key(kms, Origin="EXTERNAL")
    params = parameters(kms, first)
    expect_error(
        "InvalidImportTokenException",
        kms.import_key_material,
        KeyId=second,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert kms.describe_key(KeyId=second)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_material_wrapped_with_another_public_key_is_refused(kms: Any) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    params = parameters(kms, key_id)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    stranger_der = stranger.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ClientError) as excinfo:
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(stranger_der, "RSAES_OAEP_SHA_256", os.urandom(32)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert error_code(excinfo) == "InvalidCiphertextException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


# -- DeleteImportedKeyMaterial and reimport ---------------------------------------------


def test_delete_imported_material_then_reimport(kms: Any) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    import_material(kms, key_id, material, "RSA_AES_KEY_WRAP_SHA_256")
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"survives", EncryptionContext={"c": "1"})[
        "CiphertextBlob"
    ]

    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted["KeyId"].endswith(key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("PendingImport", False)
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob)

    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key_id, os.urandom(32))
    assert error_code(excinfo) == "IncorrectKeyMaterialException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"

    import_material(kms, key_id, material, "RSAES_OAEP_SHA_1")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    decrypted = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"c": "1"})
    assert decrypted["Plaintext"] == b"survives"


def test_delete_imported_material_of_an_aws_kms_key_is_unsupported(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error("UnsupportedOperationException", kms.delete_imported_key_material, KeyId=key_id)


# -- ImportKeyMaterial, asymmetric ------------------------------------------------------


def test_import_rsa_signing_key_and_verify_kms_signature_locally(kms: Any) -> None:
    local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = local.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_id = new_key(kms, Origin="EXTERNAL", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    import_material(kms, key_id, pkcs8, "RSA_AES_KEY_WRAP_SHA_256")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    local_public = local.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == local_public

    signature = kms.sign(
        KeyId=key_id,
        Message=b"signed with my own key",
        MessageType="RAW",
        SigningAlgorithm="RSASSA_PSS_SHA_256",
    )["Signature"]
    local.public_key().verify(
        signature,
        b"signed with my own key",
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
