"""The hash chain's link function and checkpoint statements and signatures."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from strongroom.audit import chain, checkpoints
from strongroom.crypto.signing import Ed25519Signer, verify

WHEN = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_link_is_sha256_of_previous_hash_then_record() -> None:
    previous = bytes(range(32))
    assert chain.link(previous, b'{"a":1}') == hashlib.sha256(previous + b'{"a":1}').digest()


def test_the_first_event_follows_32_zero_bytes() -> None:
    assert bytes(32) == chain.GENESIS_HASH
    first = chain.link(chain.GENESIS_HASH, b"r")
    assert chain.links(chain.GENESIS_HASH, b"r", first)
    assert not chain.links(chain.GENESIS_HASH, b"R", first)
    assert not chain.links(first, b"r", first)


def test_a_previous_hash_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        chain.link(b"short", b"r")
    assert not chain.links(b"short", b"r", bytes(32))


def test_checkpoints_fall_every_interval() -> None:
    interval = checkpoints.CHECKPOINT_INTERVAL
    assert list(checkpoints.due(0, interval - 1)) == []
    assert list(checkpoints.due(0, interval)) == [interval]
    assert list(checkpoints.due(interval, interval)) == []
    assert list(checkpoints.due(interval - 1, 3 * interval + 5)) == [
        interval,
        2 * interval,
        3 * interval,
    ]


def test_a_checkpoint_signature_covers_region_seq_hash_and_time() -> None:
    signer = Ed25519Signer.generate()
    public = signer.public_key_pem()
    made = checkpoints.make(signer, "us-east-1", 1000, bytes(range(32)), WHEN)
    assert checkpoints.is_signed(made, public)
    for changed in (
        replace(made, region="us-west-2"),
        replace(made, seq=1001),
        replace(made, hash=bytes(32)),
        replace(made, created_at=WHEN.replace(microsecond=0)),
        replace(made, signature=bytes(64)),
    ):
        assert not checkpoints.is_signed(changed, public)
    other = Ed25519Signer.generate().public_key_pem()
    assert not checkpoints.is_signed(made, other)


def test_checkpoint_statements_cannot_be_confused_across_regions() -> None:
    # Length-delimited fields: "us-east-1" + seq cannot be read as another region's bytes.
    one = checkpoints.statement("a", 0x3131, bytes(32), WHEN)
    two = checkpoints.statement("a1", 0x31, bytes(32), WHEN)
    assert one != two


def test_signing_keys_round_trip_through_their_private_bytes() -> None:
    signer = Ed25519Signer.generate()
    again = Ed25519Signer(signer.private_bytes())
    assert again.public_key_pem() == signer.public_key_pem()
    assert verify(signer.public_key_pem(), b"m", again.sign(b"m"))
    assert not verify(signer.public_key_pem(), b"n", again.sign(b"m"))
    assert not verify(b"not a key", b"m", again.sign(b"m"))
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519Signer(b"short")
