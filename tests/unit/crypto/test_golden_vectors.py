"""Ciphertexts written by earlier releases still decrypt, and any change to them fails."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from strongroom.crypto import aead, ciphertext_blob, envelope, key_wrapping
from strongroom.crypto.key_material import KeyMaterial
from strongroom.kms.keyring import DOMAIN_KEY_LABEL, KEY_VERSION_LABEL

VECTOR = json.loads(
    (Path(__file__).parents[2] / "vectors" / "ciphertext" / "hierarchy-v1.json").read_text()
)


def h(name: str) -> bytes:
    return bytes.fromhex(VECTOR[name])


def version_identity(v: dict[str, Any]) -> bytes:
    return (
        uuid.UUID(v["key_id"]).bytes + v["key_version"].to_bytes(4, "big") + h("domain_key_id_hex")
    )


def test_the_whole_chain_unwraps_and_decrypts() -> None:
    domain = key_wrapping.unwrap_key(
        KeyMaterial(h("root_key_hex")),
        h("wrapped_domain_key_hex"),
        DOMAIN_KEY_LABEL,
        h("domain_key_id_hex"),
    )
    material = key_wrapping.unwrap_key(
        domain, h("wrapped_key_version_hex"), KEY_VERSION_LABEL, version_identity(VECTOR)
    )
    assert material.expose_secret_bytes() == h("key_version_material_hex")
    context = VECTOR["encryption_context"]
    header, _ = ciphertext_blob.parse_header(h("data_key_blob_hex"))
    assert (str(header.key_id), header.key_version, header.partition_id) == (
        VECTOR["key_id"],
        VECTOR["key_version"],
        None,
    )
    data_key = ciphertext_blob.open_sealed(material, h("data_key_blob_hex"), context)
    assert data_key == h("data_key_hex")
    value = envelope.open_value(KeyMaterial(data_key), h("sealed_value_hex"), context)
    assert value.decode() == VECTOR["value_utf8"]


def test_partitioned_blob_names_its_partition() -> None:
    case = VECTOR["partitioned_blob"]
    blob = bytes.fromhex(case["blob_hex"])
    header, _ = ciphertext_blob.parse_header(blob)
    assert header.partition_id == bytes.fromhex(case["partition_id_hex"])
    assert header.key_version == case["key_version"]
    plaintext = ciphertext_blob.open_sealed(
        KeyMaterial(h("key_version_material_hex")), blob, case["context"]
    )
    assert plaintext.decode() == case["plaintext_utf8"]


@pytest.mark.parametrize("index", range(len(VECTOR["data_key_blob_hex"]) // 2))
def test_every_flipped_byte_is_refused(index: int) -> None:
    blob = bytearray(h("data_key_blob_hex"))
    blob[index] ^= 0x01
    with pytest.raises((aead.AuthenticationFailed, ciphertext_blob.MalformedBlob)):
        ciphertext_blob.open_sealed(
            KeyMaterial(h("key_version_material_hex")), bytes(blob), VECTOR["encryption_context"]
        )


def test_every_single_context_change_is_refused() -> None:
    material = KeyMaterial(h("key_version_material_hex"))
    context: dict[str, str] = VECTOR["encryption_context"]
    variants: list[dict[str, str]] = [{}]
    for key in context:
        variants.append({k: v for k, v in context.items() if k != key})
        variants.append({**context, key: context[key] + "x"})
        variants.append(
            {**{k: v for k, v in context.items() if k != key}, key.upper(): context[key]}
        )
    variants.append({**context, "extra": "1"})
    for variant in variants:
        with pytest.raises(aead.AuthenticationFailed):
            ciphertext_blob.open_sealed(material, h("data_key_blob_hex"), variant)


def test_truncated_and_unknown_versions_are_malformed() -> None:
    blob = h("data_key_blob_hex")
    for bad in (b"", blob[:10], blob[:40], b"\x02" + blob[1:], blob[:1] + b"\x80" + blob[2:]):
        with pytest.raises(ciphertext_blob.MalformedBlob):
            ciphertext_blob.parse_header(bad)
