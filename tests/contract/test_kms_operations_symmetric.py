"""KMS symmetric cryptography through real boto3: encrypt, decrypt, data keys, states, DryRun."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"


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


def flip_bit(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


def import_material(kms: Any, key_id: str, material: bytes) -> None:
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    public = load_der_public_key(params["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=public.encrypt(material, oaep),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )


# -- Encrypt and Decrypt ----------------------------------------------------------------


def test_encrypt_decrypt_round_trip(kms: Any) -> None:
    key_id = new_key(kms)
    encrypted = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn")
    assert encrypted["KeyId"] == key_arn(key_id)
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"attack at dawn" not in encrypted["CiphertextBlob"]
    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    assert decrypted["Plaintext"] == b"attack at dawn"
    assert decrypted["KeyId"] == key_arn(key_id)
    assert decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    current = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert decrypted["KeyMaterialId"] == current


def test_encrypting_twice_gives_different_ciphertexts(kms: Any) -> None:
    key_id = new_key(kms)
    first = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    second = kms.encrypt(KeyId=key_id, Plaintext=b"same")["CiphertextBlob"]
    assert first != second


def test_encrypt_accepts_every_key_id_form(kms: Any, unique: str) -> None:
    key_id = new_key(kms)
    alias = f"alias/enc-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    forms = (key_id, key_arn(key_id), alias, f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}")
    for identifier in forms:
        encrypted = kms.encrypt(KeyId=identifier, Plaintext=b"forms")
        assert encrypted["KeyId"] == key_arn(key_id)
        decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], KeyId=identifier)
        assert decrypted["Plaintext"] == b"forms"


def test_generate_data_key_accepts_every_key_id_form(kms: Any, unique: str) -> None:
    key_id = new_key(kms)
    alias = f"alias/gdk-{unique}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    forms = (key_id, key_arn(key_id), alias, f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}")
    for identifier in forms:
        assert kms.generate_data_key(KeyId=identifier, KeySpec="AES_256")["KeyId"] == key_arn(
            key_id
        )


def test_encrypt_with_unknown_key_is_not_found(kms: Any, unique: str) -> None:
    for identifier in (str(uuid.uuid4()), f"alias/missing-{unique}"):
        expect_error("NotFoundException", kms.encrypt, KeyId=identifier, Plaintext=b"x")


def test_largest_plaintext_is_accepted_and_one_byte_more_is_not(kms: Any) -> None:
    key_id = new_key(kms)
    largest = os.urandom(4096)
    blob = kms.encrypt(KeyId=key_id, Plaintext=largest)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == largest
    expect_error("ValidationException", kms.encrypt, KeyId=key_id, Plaintext=os.urandom(4097))


def test_encryption_context_must_match(kms: Any) -> None:
    key_id = new_key(kms)
    context = {"tenant": "acme", "purpose": "db"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"ctx", EncryptionContext=context)["CiphertextBlob"]
    reordered = {"purpose": "db", "tenant": "acme"}
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"ctx"
    for wrong in ({"tenant": "other", "purpose": "db"}, {"tenant": "acme"}, None):
        kwargs = {} if wrong is None else {"EncryptionContext": wrong}
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob, **kwargs)


def test_context_given_only_at_decrypt_is_refused(kms: Any) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"no ctx")["CiphertextBlob"]
    expect_error(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=blob,
        EncryptionContext={"a": "b"},
    )


def test_decrypt_with_another_key_id_is_incorrect_key(kms: Any) -> None:
    key_id = new_key(kms)
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"mine")["CiphertextBlob"]
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=blob, KeyId=other)


def test_random_bytes_are_invalid_ciphertext(kms: Any) -> None:
    for size in (1, 16, 200):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=os.urandom(size))


def test_truncated_ciphertext_is_invalid(kms: Any) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"truncate me please")["CiphertextBlob"]
    for cut in (1, 16, len(blob) // 2):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob[:-cut])
        expect_error(
            "InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob[:-cut], KeyId=key_id
        )


def test_ciphertext_with_one_flipped_bit_is_invalid(kms: Any) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=os.urandom(200))["CiphertextBlob"]
    for index in (len(blob) - 1, len(blob) - 40, len(blob) - 150):
        expect_error(
            "InvalidCiphertextException",
            kms.decrypt,
            CiphertextBlob=flip_bit(blob, index),
            KeyId=key_id,
        )


def test_symmetric_key_refuses_rsa_encryption_algorithm(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "InvalidKeyUsageException",
        kms.encrypt,
        KeyId=key_id,
        Plaintext=b"x",
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )


@pytest.mark.parametrize(
    "create",
    [
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ],
)
def test_encrypt_with_a_non_encryption_key_is_invalid_key_usage(
    kms: Any, create: dict[str, str]
) -> None:
    key_id = new_key(kms, **create)
    expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=key_id, Plaintext=b"x")


# -- ReEncrypt --------------------------------------------------------------------------


def test_re_encrypt_moves_ciphertext_to_another_key_and_context(kms: Any) -> None:
    source = new_key(kms)
    destination = new_key(kms)
    blob = kms.encrypt(KeyId=source, Plaintext=b"move me", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=destination,
        DestinationEncryptionContext={"b": "2"},
    )
    assert moved["SourceKeyId"] == key_arn(source)
    assert moved["KeyId"] == key_arn(destination)
    assert moved["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    decrypted = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert decrypted["Plaintext"] == b"move me"
    assert decrypted["KeyId"] == key_arn(destination)


def test_re_encrypt_with_wrong_source_context_or_key(kms: Any) -> None:
    source = new_key(kms)
    destination = new_key(kms)
    blob = kms.encrypt(KeyId=source, Plaintext=b"x", EncryptionContext={"a": "1"})["CiphertextBlob"]
    expect_error(
        "InvalidCiphertextException",
        kms.re_encrypt,
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "2"},
        DestinationKeyId=destination,
    )
    expect_error(
        "IncorrectKeyException",
        kms.re_encrypt,
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        SourceKeyId=destination,
        DestinationKeyId=destination,
    )


# -- GenerateDataKey and GenerateDataKeyWithoutPlaintext --------------------------------


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 64}, 64)],
)
def test_generate_data_key_sizes(kms: Any, kwargs: dict[str, Any], size: int) -> None:
    key_id = new_key(kms)
    generated = kms.generate_data_key(KeyId=key_id, EncryptionContext={"k": "v"}, **kwargs)
    assert len(generated["Plaintext"]) == size
    assert generated["KeyId"] == key_arn(key_id)
    decrypted = kms.decrypt(
        CiphertextBlob=generated["CiphertextBlob"], EncryptionContext={"k": "v"}
    )
    assert decrypted["Plaintext"] == generated["Plaintext"]


def test_generate_data_key_needs_exactly_one_size(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error("ValidationException", kms.generate_data_key, KeyId=key_id)
    expect_error(
        "ValidationException",
        kms.generate_data_key,
        KeyId=key_id,
        KeySpec="AES_256",
        NumberOfBytes=32,
    )


def test_generate_data_key_number_of_bytes_upper_bound(kms: Any) -> None:
    key_id = new_key(kms)
    assert len(kms.generate_data_key(KeyId=key_id, NumberOfBytes=1024)["Plaintext"]) == 1024
    expect_error("ValidationException", kms.generate_data_key, KeyId=key_id, NumberOfBytes=1025)


def test_generate_data_key_without_plaintext(kms: Any) -> None:
    key_id = new_key(kms)
    generated = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert "Plaintext" not in generated
    assert generated["KeyId"] == key_arn(key_id)
    assert len(kms.decrypt(CiphertextBlob=generated["CiphertextBlob"])["Plaintext"]) == 32


@pytest.mark.parametrize(
    "create",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ],
)
def test_generate_data_key_with_a_non_symmetric_key_is_invalid_key_usage(
    kms: Any, create: dict[str, str]
) -> None:
    key_id = new_key(kms, **create)
    expect_error("InvalidKeyUsageException", kms.generate_data_key, KeyId=key_id, KeySpec="AES_256")
    expect_error(
        "InvalidKeyUsageException",
        kms.generate_data_key_without_plaintext,
        KeyId=key_id,
        KeySpec="AES_256",
    )


# -- GenerateRandom ---------------------------------------------------------------------


def test_generate_random_lengths(kms: Any) -> None:
    for size in (1, 32, 1024):
        assert len(kms.generate_random(NumberOfBytes=size)["Plaintext"]) == size
    assert kms.generate_random(NumberOfBytes=32) != kms.generate_random(NumberOfBytes=32)


def test_generate_random_out_of_range(server: Any, kms: Any) -> None:
    expect_error("ValidationException", kms.generate_random, NumberOfBytes=1025)
    unchecked = server.client("kms", parameter_validation=False)
    expect_error("ValidationException", unchecked.generate_random, NumberOfBytes=0)


# -- Key states -------------------------------------------------------------------------

CREATE_FOR = {
    "Encrypt": {},
    "Decrypt": {},
    "GenerateDataKey": {},
    "Sign": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
    "GenerateMac": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
}


def crypto_call(kms: Any, operation: str, key_id: str, blob: bytes | None) -> Callable[..., Any]:
    calls: dict[str, Callable[..., Any]] = {
        "Encrypt": lambda **kw: kms.encrypt(KeyId=key_id, Plaintext=b"x", **kw),
        "Decrypt": lambda **kw: kms.decrypt(CiphertextBlob=blob, KeyId=key_id, **kw),
        "GenerateDataKey": lambda **kw: kms.generate_data_key(
            KeyId=key_id, KeySpec="AES_256", **kw
        ),
        "Sign": lambda **kw: kms.sign(
            KeyId=key_id, Message=b"m", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256", **kw
        ),
        "GenerateMac": lambda **kw: kms.generate_mac(
            KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256", **kw
        ),
    }
    return calls[operation]


@pytest.mark.parametrize("operation", list(CREATE_FOR))
@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Disabled", "DisabledException"),
        ("PendingDeletion", "KMSInvalidStateException"),
        ("PendingImport", "KMSInvalidStateException"),
    ],
)
def test_crypto_operation_on_an_unusable_key(
    kms: Any, operation: str, state: str, expected: str
) -> None:
    origin = "EXTERNAL" if state == "PendingImport" else "AWS_KMS"
    key_id = new_key(kms, Origin=origin, **CREATE_FOR[operation])
    blob = None
    if operation == "Decrypt":
        if origin == "EXTERNAL":
            import_material(kms, key_id, os.urandom(32))
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    if state == "Disabled":
        kms.disable_key(KeyId=key_id)
    elif state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    elif operation == "Decrypt":
        kms.delete_imported_key_material(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == state
    with pytest.raises(ClientError) as excinfo:
        crypto_call(kms, operation, key_id, blob)()
    assert error_code(excinfo) == expected, excinfo.value.response["Error"]


def test_decrypt_on_disabled_key_works_again_after_enable(kms: Any) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"later")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=blob)
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"later"


# -- DryRun -----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(CREATE_FOR))
def test_dry_run_of_a_call_that_would_succeed(kms: Any, operation: str) -> None:
    key_id = new_key(kms, **CREATE_FOR[operation])
    blob = None
    if operation == "Decrypt":
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"dry")["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        crypto_call(kms, operation, key_id, blob)(DryRun=True)
    assert error_code(excinfo) == "DryRunOperationException", excinfo.value.response["Error"]


@pytest.mark.parametrize("operation", list(CREATE_FOR))
def test_dry_run_of_a_call_that_would_fail_reports_the_real_error(kms: Any, operation: str) -> None:
    key_id = new_key(kms, **CREATE_FOR[operation])
    blob = None
    if operation == "Decrypt":
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"dry")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        crypto_call(kms, operation, key_id, blob)(DryRun=True)
    assert error_code(excinfo) == "DisabledException", excinfo.value.response["Error"]


def test_dry_run_decrypt_with_wrong_context_reports_invalid_ciphertext(kms: Any) -> None:
    key_id = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"a": "1"})["CiphertextBlob"]
    expect_error(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=blob,
        EncryptionContext={"a": "2"},
        DryRun=True,
    )


def test_dry_run_encrypt_leaves_no_usage_record(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error("DryRunOperationException", kms.encrypt, KeyId=key_id, Plaintext=b"x", DryRun=True)
    assert "Operation" not in kms.get_key_last_usage(KeyId=key_id).get("KeyLastUsage", {})


def test_dry_run_decrypt_ignoring_ciphertext_checks_only_the_key(kms: Any) -> None:
    key_id = new_key(kms)
    expect_error(
        "DryRunOperationException",
        kms.decrypt,
        CiphertextBlob=os.urandom(64),
        KeyId=key_id,
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )
