"""The hash chain: each event's hash covers the previous hash and its own record bytes."""

from __future__ import annotations

import hashlib
import hmac

HASH_SIZE = 32
# The previous hash of a region's first event (unless retention left an anchor).
GENESIS_HASH = bytes(HASH_SIZE)


def link(previous_hash: bytes, record: bytes) -> bytes:
    """sha256(previous_hash || record): the hash of the event whose bytes are ``record``."""
    if len(previous_hash) != HASH_SIZE:
        raise ValueError("a chain hash is 32 bytes")
    return hashlib.sha256(previous_hash + record).digest()


def links(previous_hash: bytes, record: bytes, claimed_hash: bytes) -> bool:
    """Whether ``claimed_hash`` is the link of ``record`` after ``previous_hash``."""
    return len(previous_hash) == HASH_SIZE and hmac.compare_digest(
        link(previous_hash, record), claimed_hash
    )
