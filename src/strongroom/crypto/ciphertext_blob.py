"""The self-describing ciphertext blob that KMS-style Encrypt and data-key wrapping return.

spec: docs/spec/ciphertext-blob.md
"""

from __future__ import annotations

import functools
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from strongroom.crypto import aead, encryption_context
from strongroom.crypto.key_material import KeyMaterial

FORMAT_V1 = 0x01
FLAG_PARTITIONED = 0x01
_KNOWN_FLAGS = FLAG_PARTITIONED
_FIXED_HEADER = struct.Struct(">BB16sI")  # version, flags, key id, key version
PARTITION_ID_BYTES = 16
# Domain separation: a blob's AAD can never collide with another structure's AAD.
_AAD_LABEL = b"strongroom/ciphertext-blob/v1\x00"


class MalformedBlob(Exception):
    """The bytes are not a ciphertext blob this release understands. Carries no detail."""


@dataclass(frozen=True, slots=True)
class BlobHeader:
    """What a blob says about itself in the clear (and authenticates as AAD)."""

    key_id: uuid.UUID
    key_version: int
    partition_id: bytes | None = None

    def to_bytes(self) -> bytes:
        flags = FLAG_PARTITIONED if self.partition_id is not None else 0
        out = _FIXED_HEADER.pack(FORMAT_V1, flags, self.key_id.bytes, self.key_version)
        if self.partition_id is not None:
            if len(self.partition_id) != PARTITION_ID_BYTES:
                raise ValueError("partition id must be 16 bytes")
            out += self.partition_id
        return out


def _aad(header_bytes: bytes, context: Mapping[str, str]) -> bytes:
    return _AAD_LABEL + header_bytes + encryption_context.encode(context)


def seal(
    key: KeyMaterial, header: BlobHeader, plaintext: bytes, context: Mapping[str, str]
) -> bytes:
    """header || iv || ciphertext || tag, with header and encryption context as AAD."""
    header_bytes = header.to_bytes()
    iv, sealed = aead.encrypt(key, plaintext, _aad(header_bytes, context))
    return header_bytes + iv + sealed


def parse_header(blob: bytes) -> tuple[BlobHeader, int]:
    """The header and the offset where the IV starts; :class:`MalformedBlob` if unreadable."""
    if len(blob) < _FIXED_HEADER.size:
        raise MalformedBlob
    version, flags, key_id, key_version = _FIXED_HEADER.unpack_from(blob)
    if version != FORMAT_V1 or flags & ~_KNOWN_FLAGS:
        raise MalformedBlob
    offset = _FIXED_HEADER.size
    partition_id: bytes | None = None
    if flags & FLAG_PARTITIONED:
        partition_id = blob[offset : offset + PARTITION_ID_BYTES]
        offset += PARTITION_ID_BYTES
    if len(blob) < offset + aead.IV_BYTES + aead.TAG_BYTES:
        raise MalformedBlob
    return BlobHeader(_key_uuid(key_id), key_version, partition_id), offset


@functools.lru_cache(maxsize=4096)
def _key_uuid(raw: bytes) -> uuid.UUID:
    # Few keys, many ciphertexts: building the UUID costs more than the rest of the header.
    return uuid.UUID(bytes=raw)


def open_sealed(key: KeyMaterial, blob: bytes, context: Mapping[str, str]) -> bytes:
    """Authenticate and decrypt; raises MalformedBlob or aead.AuthenticationFailed."""
    _, offset = parse_header(blob)
    return open_parsed(key, blob, offset, context)


def open_parsed(key: KeyMaterial, blob: bytes, offset: int, context: Mapping[str, str]) -> bytes:
    """:func:`open_sealed` for a blob whose header :func:`parse_header` has read already
    (``offset`` is what it returned): the header is still authenticated, as AAD."""
    iv = blob[offset : offset + aead.IV_BYTES]
    sealed = blob[offset + aead.IV_BYTES :]
    return aead.decrypt(key, iv, sealed, _aad(blob[:offset], context))
