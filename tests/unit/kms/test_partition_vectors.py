"""Partitioned blobs written by earlier releases still decrypt, by hand and through the keyring."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongroom.clock import FrozenClock
from strongroom.crypto import aead, ciphertext_blob, key_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.keyring import (
    DOMAIN_KEY_LABEL,
    KEY_VERSION_LABEL,
    CiphertextUnusable,
    KeyRing,
)
from strongroom.kms.partition_keys import KEY_PARTITION_LABEL, partition_identity
from strongroom.kms.ports import WrappedDomainKey, WrappedKeyVersion, WrappedPartition
from strongroom.storage import engines, migrate
from strongroom.storage.keystore_repository import SqlKeyMaterialStore

VECTOR = json.loads(
    (Path(__file__).parents[2] / "vectors" / "ciphertext" / "partition-v1.json").read_text()
)
AT = datetime(2026, 11, 1, tzinfo=UTC)


def h(name: str) -> bytes:
    return bytes.fromhex(VECTOR[name])


def test_the_chain_unwraps_down_to_the_partition_and_decrypts() -> None:
    domain = key_wrapping.unwrap_key(
        KeyMaterial(h("root_key_hex")),
        h("wrapped_domain_key_hex"),
        DOMAIN_KEY_LABEL,
        h("domain_key_id_hex"),
    )
    version_identity = (
        uuid.UUID(VECTOR["key_id"]).bytes
        + VECTOR["key_version"].to_bytes(4, "big")
        + h("domain_key_id_hex")
    )
    material = key_wrapping.unwrap_key(
        domain, h("wrapped_key_version_hex"), KEY_VERSION_LABEL, version_identity
    )
    assert material.expose_secret_bytes() == h("key_version_material_hex")
    partition = key_wrapping.unwrap_key(
        material,
        h("wrapped_partition_hex"),
        KEY_PARTITION_LABEL,
        partition_identity(
            VECTOR["key_id"],
            VECTOR["key_version"],
            h("partition_id_hex"),
            VECTOR["partition_value"],
        ),
    )
    assert partition.expose_secret_bytes() == h("partition_key_hex")
    header, _ = ciphertext_blob.parse_header(h("blob_hex"))
    assert (str(header.key_id), header.key_version, header.partition_id) == (
        VECTOR["key_id"],
        VECTOR["key_version"],
        h("partition_id_hex"),
    )
    plaintext = ciphertext_blob.open_sealed(partition, h("blob_hex"), VECTOR["encryption_context"])
    assert plaintext.decode() == VECTOR["plaintext_utf8"]
    # Not under the version's material: the partition key is what seals.
    with pytest.raises(aead.AuthenticationFailed):
        ciphertext_blob.open_sealed(material, h("blob_hex"), VECTOR["encryption_context"])


def test_the_keyring_reads_the_stored_rows_of_an_earlier_release(tmp_path: Path) -> None:
    engine = engines.create(f"sqlite+pysqlite:///{tmp_path / 'keystore.db'}")
    try:
        migrate.upgrade(engine, "keystore")
        store = SqlKeyMaterialStore(engine)
        store.insert_domain_key(
            WrappedDomainKey(h("domain_key_id_hex"), AT, h("wrapped_domain_key_hex"))
        )
        store.insert_key_version(
            WrappedKeyVersion(
                key_id=VECTOR["key_id"],
                version=VECTOR["key_version"],
                domain_key_id=h("domain_key_id_hex"),
                created_at=AT,
                encryptions_reserved=0,
                wrapped=h("wrapped_key_version_hex"),
            )
        )
        store.insert_partition(
            WrappedPartition(
                key_id=VECTOR["key_id"],
                version=VECTOR["key_version"],
                value=VECTOR["partition_value"],
                partition_id=h("partition_id_hex"),
                created_at=AT,
                wrapped=h("wrapped_partition_hex"),
            ),
            max_values_per_key=1,
        )
        keyring = KeyRing(KeyMaterial(h("root_key_hex")), store, FrozenClock(AT))
        keyring.open()
        context = VECTOR["encryption_context"]
        name = VECTOR["partition_key_name"]
        assert keyring.decrypt_versioned(h("blob_hex"), context, name) == (
            VECTOR["key_id"],
            VECTOR["key_version"],
            VECTOR["plaintext_utf8"].encode(),
        )
        with pytest.raises(CiphertextUnusable):
            keyring.decrypt_versioned(h("blob_hex"), {**context, name: "cust-99999"}, name)
    finally:
        engine.dispose()
