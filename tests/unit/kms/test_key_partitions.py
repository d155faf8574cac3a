"""Partitioned KMS keys through the services: a partition per tenant value, shredded alone."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from strongroom.crypto import ciphertext_blob
from strongroom.errors import (
    InvalidCiphertextException,
    KMSInvalidStateException,
    NotFoundException,
    TagException,
    ValidationException,
)
from strongroom.kms import shapes
from strongroom.kms.key_administration import PARTITION_KEY_TAG
from tests.unit.kms.conftest import ROOT, KmsStack


def partitioned_key(stack: KmsStack, name: str = "tenant_id") -> str:
    metadata = stack.administration.create_key(
        ROOT, shapes.CreateKeyRequest(tags=(shapes.Tag(PARTITION_KEY_TAG, name),))
    ).key_metadata
    assert metadata is not None
    return metadata.key_id


def encrypt(stack: KmsStack, key_id: str, plaintext: bytes, context: dict[str, str]) -> bytes:
    blob = stack.crypto.encrypt(
        ROOT, shapes.EncryptRequest(key_id, plaintext, encryption_context=context)
    ).ciphertext_blob
    assert blob is not None
    return blob


def decrypt(stack: KmsStack, blob: bytes, context: dict[str, str]) -> bytes | None:
    return stack.crypto.decrypt(
        ROOT, shapes.DecryptRequest(ciphertext_blob=blob, encryption_context=context)
    ).plaintext


def partition_of(blob: bytes) -> bytes | None:
    return ciphertext_blob.parse_header(blob)[0].partition_id


A = {"tenant_id": "cust-a", "purpose": "test"}
B = {"tenant_id": "cust-b", "purpose": "test"}


def test_each_value_gets_its_own_partition(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    a1, a2, b1 = (
        encrypt(stack, key_id, b"a1", A),
        encrypt(stack, key_id, b"a2", A),
        encrypt(stack, key_id, b"b1", B),
    )
    assert partition_of(a1) is not None
    assert partition_of(a1) == partition_of(a2) != partition_of(b1)
    assert (decrypt(stack, a1, A), decrypt(stack, b1, B)) == (b"a1", b"b1")
    assert stack.administration.partition_key_name(key_id) == "tenant_id"


def test_another_value_or_no_value_does_not_decrypt(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    blob = encrypt(stack, key_id, b"secret", A)
    for context in (B, {"purpose": "test"}, {**A, "tenant_id": "CUST-A"}, {}):
        with pytest.raises(InvalidCiphertextException):
            decrypt(stack, blob, context)


def test_a_context_without_the_partition_key_uses_the_shared_material(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    blob = encrypt(stack, key_id, b"shared", {"purpose": "test"})
    assert partition_of(blob) is None
    assert decrypt(stack, blob, {"purpose": "test"}) == b"shared"


def test_a_key_without_the_tag_never_partitions(stack: KmsStack) -> None:
    plain = stack.administration.create_key(ROOT, shapes.CreateKeyRequest()).key_metadata
    assert plain is not None
    assert partition_of(encrypt(stack, plain.key_id, b"x", A)) is None
    assert stack.administration.partition_key_name(plain.key_id) is None


def test_partition_key_name_is_any_context_key(stack: KmsStack) -> None:
    key_id = partitioned_key(stack, "customer")
    blob = encrypt(stack, key_id, b"x", {"customer": "c1"})
    assert partition_of(blob) is not None
    assert partition_of(encrypt(stack, key_id, b"x", A)) is None
    assert decrypt(stack, blob, {"customer": "c1"}) == b"x"


def test_data_keys_and_reencrypt_use_partitions(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    generated = stack.crypto.generate_data_key(
        ROOT, shapes.GenerateDataKeyRequest(key_id, encryption_context=A, key_spec="AES_256")
    )
    assert generated.ciphertext_blob is not None
    assert partition_of(generated.ciphertext_blob) is not None
    assert decrypt(stack, generated.ciphertext_blob, A) == generated.plaintext
    moved = stack.crypto.re_encrypt(
        ROOT,
        shapes.ReEncryptRequest(
            destination_key_id=key_id,
            ciphertext_blob=generated.ciphertext_blob,
            source_encryption_context=A,
            destination_encryption_context=B,
        ),
    ).ciphertext_blob
    assert moved is not None
    assert partition_of(moved) not in (None, partition_of(generated.ciphertext_blob))
    assert decrypt(stack, moved, B) == generated.plaintext


@pytest.mark.parametrize("value", ["", "x" * 257, "a\x00b", "tab\there"])
def test_unstorable_partition_values_are_refused(stack: KmsStack, value: str) -> None:
    key_id = partitioned_key(stack)
    with pytest.raises(ValidationException):
        encrypt(stack, key_id, b"x", {"tenant_id": value})


def test_rotation_makes_new_partitions_and_old_ones_keep_decrypting(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    before = encrypt(stack, key_id, b"before", A)
    stack.rotation.rotate_key_on_demand(ROOT, shapes.RotateKeyOnDemandRequest(key_id))
    after = encrypt(stack, key_id, b"after", A)
    old_header = ciphertext_blob.parse_header(before)[0]
    new_header = ciphertext_blob.parse_header(after)[0]
    assert (old_header.key_version, new_header.key_version) == (1, 2)
    assert old_header.partition_id != new_header.partition_id
    assert (decrypt(stack, before, A), decrypt(stack, after, A)) == (b"before", b"after")


def test_destroy_partition_shreds_one_value_in_every_version(
    stack: KmsStack, tmp_path: Path
) -> None:
    key_id = partitioned_key(stack)
    a_old = encrypt(stack, key_id, b"a-old", A)
    b_old = encrypt(stack, key_id, b"b-old", B)
    stack.rotation.rotate_key_on_demand(ROOT, shapes.RotateKeyOnDemandRequest(key_id))
    a_new = encrypt(stack, key_id, b"a-new", A)
    encrypt(stack, key_id, b"a-new-2", A)
    shared = encrypt(stack, key_id, b"shared", {"purpose": "test"})

    destruction = stack.administration.destroy_partition(key_id, "cust-a")

    assert destruction.key_id == key_id
    assert destruction.key_arn.endswith(f"key/{key_id}")
    assert destruction.value == "cust-a"
    assert destruction.versions == (1, 2)
    assert set(destruction.partition_ids) == {
        p.hex() for p in (partition_of(a_old), partition_of(a_new)) if p is not None
    }
    assert destruction.encryptions == 3
    assert destruction.destroyed_at == stack.clock.now()
    for blob in (a_old, a_new):
        with pytest.raises(KMSInvalidStateException, match="destroyed"):
            decrypt(stack, blob, A)
        # Only the right value is told "destroyed"; any other context is just a mismatch.
        with pytest.raises(InvalidCiphertextException):
            decrypt(stack, blob, B)
    assert decrypt(stack, b_old, B) == b"b-old"
    assert decrypt(stack, shared, {"purpose": "test"}) == b"shared"

    again = stack.administration.destroy_partition(key_id, "cust-a")
    assert (again.partition_ids, again.versions, again.encryptions) == ((), (), 0)

    # A new encryption for the value makes a new partition; the old blobs stay dead.
    reborn = encrypt(stack, key_id, b"reborn", A)
    assert partition_of(reborn) not in (partition_of(a_old), partition_of(a_new))
    assert decrypt(stack, reborn, A) == b"reborn"
    with pytest.raises(KMSInvalidStateException):
        decrypt(stack, a_new, A)


def test_destroyed_partition_bytes_leave_the_keystore_files(
    stack: KmsStack, tmp_path: Path
) -> None:
    key_id = partitioned_key(stack)
    encrypt(stack, key_id, b"a", A)
    encrypt(stack, key_id, b"b", B)
    keystore = tmp_path / "keystore.db"
    with sqlite3.connect(keystore) as connection:
        rows = dict(connection.execute("SELECT value, wrapped FROM key_partitions").fetchall())
    connection.close()
    stack.administration.destroy_partition(key_id, "cust-a")
    files = b"".join(p.read_bytes() for p in tmp_path.glob("keystore.db*"))
    assert rows["cust-a"] not in files
    assert rows["cust-b"] in files


def test_destroy_key_now_shreds_versions_and_partitions(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    a = encrypt(stack, key_id, b"a", A)
    encrypt(stack, key_id, b"shared", {"purpose": "test"})
    stack.rotation.rotate_key_on_demand(ROOT, shapes.RotateKeyOnDemandRequest(key_id))
    b = encrypt(stack, key_id, b"b", B)

    destruction = stack.administration.destroy_key_now(key_id, "TenantOffboarding")

    assert destruction.versions == (1, 2)
    assert set(destruction.partition_ids) == {
        p.hex() for p in (partition_of(a), partition_of(b)) if p is not None
    }
    assert destruction.encryptions == 3
    record = stack.store.destruction(key_id)
    assert record is not None
    assert (record.reason, record.versions_destroyed) == ("TenantOffboarding", 2)
    for blob, context in ((a, A), (b, B)):
        with pytest.raises(InvalidCiphertextException):
            decrypt(stack, blob, context)
    again = stack.administration.destroy_key_now(key_id, "TenantOffboarding")
    assert (again.versions, again.partition_ids, again.encryptions) == ((), (), 0)
    assert again.key_arn == destruction.key_arn
    with pytest.raises(NotFoundException):
        stack.administration.partition_key_name(key_id)


def test_the_deletion_reaper_destroys_partitions_too(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    blob = encrypt(stack, key_id, b"a", A)
    stack.administration.schedule_key_deletion(
        ROOT, shapes.ScheduleKeyDeletionRequest(key_id, pending_window_in_days=7)
    )
    stack.clock.advance(timedelta(days=8))
    assert stack.administration.destroy_due_keys() == 1
    record = stack.store.destruction(key_id)
    assert record is not None
    assert record.reason == "ScheduledDeletion"
    with pytest.raises(InvalidCiphertextException):
        decrypt(stack, blob, A)


def test_internal_calls_validate_their_input(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    plain = stack.administration.create_key(ROOT, shapes.CreateKeyRequest()).key_metadata
    assert plain is not None
    with pytest.raises(ValidationException):
        stack.administration.destroy_partition(key_id.upper(), "cust-a")
    with pytest.raises(ValidationException):
        stack.administration.destroy_partition(key_id, "")
    with pytest.raises(ValidationException):
        stack.administration.destroy_partition(plain.key_id, "cust-a")
    with pytest.raises(ValidationException):
        stack.administration.destroy_key_now(key_id, "x" * 33)
    with pytest.raises(NotFoundException):
        stack.administration.destroy_partition(str(uuid.uuid4()), "cust-a")
    with pytest.raises(NotFoundException):
        stack.administration.destroy_key_now(str(uuid.uuid4()), "TenantOffboarding")


def test_the_partition_tag_cannot_be_changed_or_removed(stack: KmsStack) -> None:
    key_id = partitioned_key(stack)
    with pytest.raises(TagException):
        stack.administration.tag_resource(
            ROOT, shapes.TagResourceRequest(key_id, (shapes.Tag(PARTITION_KEY_TAG, "other"),))
        )
    with pytest.raises(TagException):
        stack.administration.untag_resource(
            ROOT, shapes.UntagResourceRequest(key_id, (PARTITION_KEY_TAG,))
        )
    plain = stack.administration.create_key(ROOT, shapes.CreateKeyRequest()).key_metadata
    assert plain is not None
    with pytest.raises(TagException):
        stack.administration.tag_resource(
            ROOT, shapes.TagResourceRequest(plain.key_id, (shapes.Tag(PARTITION_KEY_TAG, "t"),))
        )
    assert stack.administration.partition_key_name(plain.key_id) is None
    assert stack.administration.partition_key_name(key_id) == "tenant_id"


@pytest.mark.parametrize(
    "request_",
    [
        shapes.CreateKeyRequest(
            key_spec="RSA_2048",
            key_usage="ENCRYPT_DECRYPT",
            tags=(shapes.Tag(PARTITION_KEY_TAG, "tenant_id"),),
        ),
        shapes.CreateKeyRequest(
            key_spec="HMAC_256",
            key_usage="GENERATE_VERIFY_MAC",
            tags=(shapes.Tag(PARTITION_KEY_TAG, "tenant_id"),),
        ),
        shapes.CreateKeyRequest(tags=(shapes.Tag(PARTITION_KEY_TAG, ""),)),
    ],
)
def test_only_symmetric_encryption_keys_with_a_name_are_partitioned(
    stack: KmsStack, request_: shapes.CreateKeyRequest
) -> None:
    with pytest.raises(ValidationException):
        stack.administration.create_key(ROOT, request_)
