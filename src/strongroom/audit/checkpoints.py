"""Signed checkpoints: the statement a checkpoint signs, making one, and checking one."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Protocol

from strongroom.audit.ports import Checkpoint
from strongroom.crypto import signing

# A checkpoint every this many events of a region (and whenever an operator asks).
CHECKPOINT_INTERVAL = 1000
_DOMAIN = b"strongroom/audit-checkpoint/v1\n"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CheckpointSigner(Protocol):
    """The deployment signing key, as the audit trail uses it."""

    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...


def statement(region: str, seq: int, chain_hash: bytes, created_at: datetime) -> bytes:
    """The exact bytes signed: domain, region, seq, hash and time, each length-delimited."""
    encoded_region = region.encode("utf-8")
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    return (
        _DOMAIN
        + struct.pack(">H", len(encoded_region))
        + encoded_region
        + struct.pack(">Qq", seq, micros)
        + struct.pack(">H", len(chain_hash))
        + chain_hash
    )


def make(
    signer: CheckpointSigner, region: str, seq: int, chain_hash: bytes, created_at: datetime
) -> Checkpoint:
    signature = signer.sign(statement(region, seq, chain_hash, created_at))
    return Checkpoint(region, seq, chain_hash, created_at, signature)


def is_signed(checkpoint: Checkpoint, public_key_pem: bytes) -> bool:
    """Whether the checkpoint's signature is valid under the deployment's public key."""
    message = statement(checkpoint.region, checkpoint.seq, checkpoint.hash, checkpoint.created_at)
    return signing.verify(public_key_pem, message, checkpoint.signature)


def due(previous_seq: int, new_seq: int) -> range:
    """The seqs in (previous_seq, new_seq] at which a periodic checkpoint falls."""
    first = (previous_seq // CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL
    return range(first, new_seq + 1, CHECKPOINT_INTERVAL)
