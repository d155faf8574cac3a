"""Partitioned KMS keys through boto3: a partition per tenant_id, no client change needed."""

from __future__ import annotations

import os
import struct
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.contract.test_kms_operations_import import import_material
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract

PARTITION_TAG = "strongroom:partition-key"
A = {"tenant_id": "cust-a", "purpose": "contract"}
B = {"tenant_id": "cust-b", "purpose": "contract"}
SHARED = {"purpose": "contract"}


def header(blob: bytes) -> tuple[int, uuid.UUID, int, bytes | None]:
    """(flags, key id, key version, partition id) as docs/spec/ciphertext-blob.md lays out."""
    _, flags, key_id, version = struct.unpack_from(">BB16sI", blob)
    partition = blob[22:38] if flags & 1 else None
    return flags, uuid.UUID(bytes=key_id), version, partition


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def key_id(kms: Any, unique: str) -> str:
    created = kms.create_key(
        Description=f"shared tenant key {unique}",
        Tags=[{"TagKey": PARTITION_TAG, "TagValue": "tenant_id"}],
    )
    return str(created["KeyMetadata"]["KeyId"])


def encrypt(kms: Any, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)
    return bytes(blob["CiphertextBlob"])


def decrypt(kms: Any, blob: bytes, context: dict[str, str]) -> bytes:
    return bytes(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])


def test_each_tenant_encrypts_under_its_own_partition(kms: Any, key_id: str) -> None:
    a = encrypt(kms, key_id, b"for a", A)
    b = encrypt(kms, key_id, b"for b", B)
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=A)
    bare = kms.generate_data_key_without_plaintext(
        KeyId=key_id, NumberOfBytes=32, EncryptionContext=B
    )
    flags_a, blob_key, version, partition_a = header(a)
    assert (flags_a, str(blob_key), version) == (1, key_id, 1)
    partition_b = header(b)[3]
    assert None not in (partition_a, partition_b)
    assert partition_a != partition_b
    assert header(bytes(data_key["CiphertextBlob"]))[3] == partition_a
    assert header(bytes(bare["CiphertextBlob"]))[3] == partition_b
    assert decrypt(kms, a, A) == b"for a"
    assert decrypt(kms, b, B) == b"for b"
    assert decrypt(kms, bytes(data_key["CiphertextBlob"]), A) == bytes(data_key["Plaintext"])
    assert len(decrypt(kms, bytes(bare["CiphertextBlob"]), B)) == 32


def test_another_tenants_value_is_an_invalid_ciphertext(kms: Any, key_id: str) -> None:
    blob = encrypt(kms, key_id, b"for a", A)
    for context in (B, SHARED, {**A, "tenant_id": "cust-a "}):
        with pytest.raises(ClientError) as exc:
            decrypt(kms, blob, context)
        assert error_code(exc) == "InvalidCiphertextException"


def test_a_context_without_tenant_id_is_not_partitioned(kms: Any, key_id: str) -> None:
    blob = encrypt(kms, key_id, b"shared", SHARED)
    assert header(blob)[0] == 0
    assert len(blob) == 22 + 12 + len(b"shared") + 16
    assert decrypt(kms, blob, SHARED) == b"shared"


def test_key_pairs_and_reencrypt_land_in_the_destination_partition(kms: Any, key_id: str) -> None:
    pair = kms.generate_data_key_pair(
        KeyId=key_id, KeyPairSpec="ECC_NIST_P256", EncryptionContext=A
    )
    assert header(bytes(pair["PrivateKeyCiphertextBlob"]))[3] is not None
    moved = kms.re_encrypt(
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"],
        SourceEncryptionContext=A,
        DestinationKeyId=key_id,
        DestinationEncryptionContext=B,
    )
    moved_blob = bytes(moved["CiphertextBlob"])
    assert header(moved_blob)[3] == header(encrypt(kms, key_id, b"b", B))[3]
    assert decrypt(kms, moved_blob, B) == bytes(pair["PrivateKeyPlaintext"])


def test_rotation_starts_new_partitions_and_old_blobs_still_decrypt(kms: Any, key_id: str) -> None:
    before = encrypt(kms, key_id, b"before", A)
    kms.rotate_key_on_demand(KeyId=key_id)
    after = encrypt(kms, key_id, b"after", A)
    assert header(before)[2:] != header(after)[2:]
    assert (header(before)[2], header(after)[2]) == (1, 2)
    assert decrypt(kms, before, A) == b"before"
    assert decrypt(kms, after, A) == b"after"
    data_key = kms.generate_data_key(KeyId=key_id, NumberOfBytes=16, EncryptionContext=B)
    assert header(bytes(data_key["CiphertextBlob"]))[2] == 2


def test_the_partition_tag_is_listed_and_immutable(kms: Any, key_id: str) -> None:
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert {"TagKey": PARTITION_TAG, "TagValue": "tenant_id"} in tags
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyState"] == "Enabled"
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": PARTITION_TAG, "TagValue": "customer"}])
    assert error_code(exc) == "TagException"
    with pytest.raises(ClientError) as exc:
        kms.untag_resource(KeyId=key_id, TagKeys=[PARTITION_TAG])
    assert error_code(exc) == "TagException"
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=plain, Tags=[{"TagKey": PARTITION_TAG, "TagValue": "tenant_id"}])
    assert error_code(exc) == "TagException"
    assert {"TagKey": PARTITION_TAG, "TagValue": "tenant_id"} in kms.list_resource_tags(
        KeyId=key_id
    )["Tags"]


@pytest.mark.parametrize(
    "arguments",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
    ],
)
def test_only_symmetric_encryption_keys_can_be_partitioned(
    kms: Any, arguments: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as exc:
        kms.create_key(Tags=[{"TagKey": PARTITION_TAG, "TagValue": "tenant_id"}], **arguments)
    assert error_code(exc) == "ValidationException"


def test_an_unstorable_tenant_value_is_refused(kms: Any, key_id: str) -> None:
    for value in ("", "x" * 257, "new\nline"):
        with pytest.raises(ClientError) as exc:
            encrypt(kms, key_id, b"x", {"tenant_id": value})
        assert error_code(exc) == "ValidationException"


def test_deleting_the_key_destroys_every_partition(
    server: RunningServer, kms: Any, key_id: str
) -> None:
    a = encrypt(kms, key_id, b"for a", A)
    b = encrypt(kms, key_id, b"for b", B)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    server.advance_clock(8 * 86_400)
    for blob, context in ((a, A), (b, B)):
        with pytest.raises(ClientError) as exc:
            decrypt(kms, blob, context)
        assert error_code(exc) == "InvalidCiphertextException"


def test_imported_material_partitions_come_back_with_the_same_material(kms: Any) -> None:
    key_id = str(
        kms.create_key(
            Origin="EXTERNAL", Tags=[{"TagKey": PARTITION_TAG, "TagValue": "tenant_id"}]
        )["KeyMetadata"]["KeyId"]
    )
    material = os.urandom(32)
    import_material(kms, key_id, material)
    blob = encrypt(kms, key_id, b"for a", A)
    assert header(blob)[3] is not None
    kms.delete_imported_key_material(KeyId=key_id)
    with pytest.raises(ClientError) as exc:
        decrypt(kms, blob, A)
    assert error_code(exc) == "KMSInvalidStateException"
    import_material(kms, key_id, material)
    assert decrypt(kms, blob, A) == b"for a"
    assert header(encrypt(kms, key_id, b"again", A))[3] == header(blob)[3]
