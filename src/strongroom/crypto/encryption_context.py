"""The canonical, unambiguous byte encoding of an encryption context (bound as AAD).

spec: docs/spec/encryption-context.md
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

MAX_PAIRS = 0xFFFF
MAX_FIELD_BYTES = 0xFFFF


def encode(context: Mapping[str, str]) -> bytes:
    """count (u16) then pairs sorted by key bytes, each key and value as u16 length + UTF-8.

    The empty context encodes to two zero bytes, so "no context" and "{}" are the same.
    """
    pairs = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    if len(pairs) > MAX_PAIRS:
        raise ValueError("too many encryption context pairs")
    out = bytearray(struct.pack(">H", len(pairs)))
    for key, value in pairs:
        if len(key) > MAX_FIELD_BYTES or len(value) > MAX_FIELD_BYTES:
            raise ValueError("encryption context field too long")
        out += struct.pack(">H", len(key)) + key + struct.pack(">H", len(value)) + value
    return bytes(out)
