"""What the audit trail needs from storage: an append-only, hash-chained event log per region."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from strongroom.audit.events import AuditEvent
from strongroom.audit.index_fields import IndexFields, LookupCopy


class AuditStoreUnavailable(Exception):
    """The audit store could not make events durable; the call must fail closed."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One chained event as stored: its position, its exact record bytes and hashes."""

    region: str
    seq: int
    event_id: str
    event_time: datetime
    record: bytes  # canonical JSON of the CloudTrail record (AuditEvent.canonical_bytes)
    previous_hash: bytes
    hash: bytes  # sha256(previous_hash || record)
    # The lookup columns and resource rows as stored, when read for verification.
    index: IndexFields | None = None
    # Its copy in the lookup tables, when read for verification and the event has one or
    # should have one (the lookup head is past it).
    lookup_copy: LookupCopy | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the chain head: (region, seq, hash, time) under the
    deployment signing key, so rewriting the chain after it needs that key."""

    region: str
    seq: int
    hash: bytes
    created_at: datetime
    signature: bytes


class AuditStore(Protocol):
    def append(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """Chain and store the events in one transaction; durable when this returns.
        Raises AuditStoreUnavailable if they could not be written."""
        ...

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        """Events of one region's chain in seq order (for verification and export)."""
        ...

    def regions(self) -> list[str]: ...
