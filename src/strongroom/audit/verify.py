"""Chain verification: recompute every hash, check seq continuity, checkpoints and the lookup
columns each record determines; name the first event edited, removed, inserted or reordered."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from strongroom.audit import chain, checkpoints, index_fields
from strongroom.audit.ports import Checkpoint, StoredEvent

Kind = Literal["edited", "removed", "inserted", "reordered"]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome for one region: ok, or the first problem found and what kind it is."""

    region: str
    ok: bool
    events_checked: int
    message: str
    first_bad_seq: int | None = None
    event_id: str | None = None
    kind: Kind | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """Where verification starts: after ``seq``, whose hash is ``hash`` (genesis, a pruned
    anchor, or a checkpoint)."""

    seq: int
    hash: bytes
    description: str


GENESIS = Start(0, chain.GENESIS_HASH, "the start of the chain")


class _Problem(Exception):
    def __init__(self, seq: int, event_id: str | None, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.event_id = event_id
        self.kind = kind
        self.message = message


class _Peekable:
    def __init__(self, events: Iterable[StoredEvent]) -> None:
        self._iterator: Iterator[StoredEvent] = iter(events)
        self._next: StoredEvent | None = None
        self._done = False

    def peek(self) -> StoredEvent | None:
        if self._next is None and not self._done:
            self._next = next(self._iterator, None)
            self._done = self._next is None
        return self._next

    def pop(self) -> StoredEvent | None:
        event = self.peek()
        self._next = None
        return event


def verify_events(
    region: str,
    events: Iterable[StoredEvent],
    *,
    start: Start = GENESIS,
    end_seq: int | None = None,
    checkpoint_list: Sequence[Checkpoint] = (),
    public_key_pem: bytes | None = None,
    head: tuple[int, bytes] | None = None,
) -> VerifyResult:
    """Check ``events`` (seq order) as the chain after ``start``, up to ``end_seq``.

    ``checkpoint_list``: the region's checkpoints in the range; each must be signed (when a
    public key is given) and agree with the event at its seq. ``head``: the chain head
    row, which the last event must match (give it when the chain up to it is given).
    An event read with its lookup columns and resource rows (``StoredEvent.index``) must
    have exactly those its record determines.
    """
    pending = sorted(
        (c for c in checkpoint_list if c.seq > start.seq and (end_seq is None or c.seq <= end_seq)),
        key=lambda c: c.seq,
    )
    stream = _Peekable(events)
    expected_seq = start.seq + 1
    previous = start.hash
    checked = 0
    last: StoredEvent | None = None
    try:
        while (event := stream.pop()) is not None:
            if end_seq is not None and event.seq > end_seq:
                break
            following = stream.peek()
            _check_position_then_index(event, following, expected_seq, previous, last)
            _check_link(event, following, previous)
            checked += 1
            while pending and pending[0].seq <= event.seq:
                _check_checkpoint(pending.pop(0), event, public_key_pem)
            previous = event.hash
            expected_seq = event.seq + 1
            last = event
        if last is not None:
            _check_index(last)
        if pending:
            missing = pending[0]
            _check_signature(missing, public_key_pem)
            raise _Problem(
                expected_seq,
                None,
                "removed",
                f"events from seq {expected_seq} are missing: a signed checkpoint covers "
                f"seq {missing.seq}",
            )
        if head is not None:
            _check_head(head, expected_seq - 1, previous, last)
    except _Problem as problem:
        return VerifyResult(
            region=region,
            ok=False,
            events_checked=checked,
            message=f"{region}: seq {problem.seq}: {problem.message}",
            first_bad_seq=problem.seq,
            event_id=problem.event_id,
            kind=problem.kind,
        )
    through = f" through seq {expected_seq - 1}" if checked else ""
    return VerifyResult(
        region=region,
        ok=True,
        events_checked=checked,
        message=f"{region}: {checked} events verified from {start.description}{through}",
    )


def _check_signature(checkpoint: Checkpoint, public_key_pem: bytes | None) -> None:
    if public_key_pem is not None and not checkpoints.is_signed(checkpoint, public_key_pem):
        raise _Problem(
            checkpoint.seq,
            None,
            "edited",
            "the checkpoint at this seq does not carry a valid signature",
        )


def _check_position_then_index(
    event: StoredEvent,
    following: StoredEvent | None,
    expected_seq: int,
    previous: bytes,
    last: StoredEvent | None,
) -> None:
    """The event's position, then the previous event's lookup columns: whether that one was
    inserted (or edited and re-hashed) shows only here, and is the better account of it;
    a problem at a later seq comes after the previous event's own."""
    try:
        _check_position(event, following, expected_seq, previous, last)
    except _Problem as problem:
        if last is not None and problem.seq > last.seq:
            _check_index(last)
        raise
    if last is not None:
        _check_index(last)


def _check_position(
    event: StoredEvent,
    following: StoredEvent | None,
    expected_seq: int,
    previous: bytes,
    last: StoredEvent | None,
) -> None:
    if event.seq < expected_seq:
        raise _Problem(
            event.seq,
            event.event_id,
            "inserted",
            "a second event at an already used position",
        )
    if event.seq > expected_seq:
        missing = (
            f"seq {expected_seq}"
            if event.seq == expected_seq + 1
            else f"seqs {expected_seq}-{event.seq - 1}"
        )
        raise _Problem(
            expected_seq,
            event.event_id,
            "removed",
            f"{missing} missing before event {event.event_id}",
        )
    if event.previous_hash == previous:
        return
    # The link to the previous event is broken. Which story restores the chain?
    if (
        following is not None
        and following.seq == event.seq + 1
        and following.previous_hash == previous
        and chain.links(previous, following.record, following.hash)
        and chain.links(following.hash, event.record, event.hash)
        and event.previous_hash == following.hash
    ):
        raise _Problem(
            event.seq,
            event.event_id,
            "reordered",
            f"events at seq {event.seq} and {following.seq} were swapped",
        )
    if last is not None and event.previous_hash == last.previous_hash:
        # The event before this one is not the one this event was chained after: it was
        # slipped in between (with a plausible hash of its own).
        raise _Problem(
            last.seq,
            last.event_id,
            "inserted",
            f"event {last.event_id} was inserted: the next event chains to its predecessor",
        )
    if last is not None:
        raise _Problem(
            last.seq,
            last.event_id,
            "edited",
            "this event's hash is not the one the next event was chained to: it was "
            "edited and re-hashed (or the events after it were removed and renumbered)",
        )
    raise _Problem(
        event.seq,
        event.event_id,
        "edited",
        "this event is not chained to the trusted start of the range",
    )


def _check_link(event: StoredEvent, following: StoredEvent | None, previous: bytes) -> None:
    if chain.links(previous, event.record, event.hash):
        return
    if (
        following is not None
        and following.seq == event.seq + 1
        and following.previous_hash == event.hash
        and chain.links(previous, following.record, event.hash)
        and chain.links(event.hash, event.record, following.hash)
    ):
        raise _Problem(
            event.seq,
            event.event_id,
            "reordered",
            f"the records at seq {event.seq} and {following.seq} were swapped",
        )
    raise _Problem(
        event.seq,
        event.event_id,
        "edited",
        f"the record of event {event.event_id} does not hash to its stored hash",
    )


def _check_index(event: StoredEvent) -> None:
    """The lookup columns and resource rows are what LookupEvents and exports search: an
    edit there hides an event as surely as deleting it, so each must be the record's."""
    if event.index is None:
        return
    try:
        derived = index_fields.of_record(json.loads(event.record))
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise _Problem(
            event.seq,
            event.event_id,
            "edited",
            f"the record of event {event.event_id} is not a CloudTrail record "
            f"({type(exc).__name__})",
        ) from exc
    if event.index == derived:
        _check_lookup_copy(event, derived)
        return
    columns = index_fields.differences(event.index, derived)
    detail = ""
    if index_fields.RESOURCES in columns:
        detail = f" ({index_fields.resource_differences(event.index, derived)})"
    raise _Problem(
        event.seq,
        derived.event_id,
        "edited",
        f"event {derived.event_id}: {', '.join(columns)} not what its record says{detail}",
    )


def _check_lookup_copy(event: StoredEvent, derived: index_fields.IndexFields) -> None:
    """The event's copy in the lookup tables, which LookupEvents reads up to the lookup
    head: it must be there and be the record's, and nothing may be copied beyond it (a
    row there would stop the copying at that seq)."""
    copy = event.lookup_copy
    if copy is None:
        return
    if copy.missing:
        message = f"event {derived.event_id} is missing from the lookup tables"
    elif copy.beyond_head:
        message = f"event {derived.event_id} has a lookup row beyond the lookup head"
    else:
        columns = index_fields.copy_differences(copy, derived)
        if not columns:
            return
        listed = ", ".join(columns)
        message = f"event {derived.event_id}: lookup copy of {listed} not what its record says"
    raise _Problem(event.seq, derived.event_id, "edited", message)


def _check_checkpoint(
    checkpoint: Checkpoint, event: StoredEvent, public_key_pem: bytes | None
) -> None:
    _check_signature(checkpoint, public_key_pem)
    if checkpoint.seq != event.seq:
        raise _Problem(
            checkpoint.seq,
            None,
            "removed",
            "the event a signed checkpoint covers is missing",
        )
    if checkpoint.hash != event.hash:
        raise _Problem(
            event.seq,
            event.event_id,
            "edited",
            "the chain here disagrees with the signed checkpoint at this seq",
        )


def _check_head(
    head: tuple[int, bytes], last_seq: int, last_hash: bytes, last: StoredEvent | None
) -> None:
    head_seq, head_hash = head
    if head_seq > last_seq:
        raise _Problem(
            last_seq + 1,
            None,
            "removed",
            f"the chain head is at seq {head_seq} but the events end at seq {last_seq}",
        )
    if head_seq < last_seq:
        raise _Problem(
            head_seq + 1,
            None,
            "inserted",
            f"events after the chain head (seq {head_seq}) were added outside the store",
        )
    if last is not None and head_hash != last_hash:
        raise _Problem(
            last.seq,
            last.event_id,
            "edited",
            "the last event's hash is not the chain head's",
        )


class Anchor(Protocol):
    """Where retention cut a chain: the last pruned event's seq and hash."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> bytes: ...


class ChainSource(Protocol):
    """What verification reads from a store."""

    def anchor(self, region: str) -> Anchor | None: ...

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]: ...

    def scan_indexed(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]:
        """``scan`` with each event's lookup columns and resource rows (``index``)."""
        ...

    def head(self, region: str) -> tuple[int, bytes] | None: ...

    def checkpoints(
        self, region: str, start_seq: int = 0, end_seq: int | None = None
    ) -> list[Checkpoint]: ...


def verify_region(
    source: ChainSource,
    region: str,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    public_key_pem: bytes | None = None,
) -> VerifyResult:
    """Verify a region's chain, or the range [from_seq, to_seq]: the check starts at the
    nearest trusted point before ``from_seq``: a signed checkpoint, the pruned anchor, or
    the genesis."""
    listed = source.checkpoints(region, 0, to_seq)
    pruned = source.anchor(region)
    anchor = (
        None
        if pruned is None
        else Start(pruned.seq, pruned.hash, f"the pruned anchor at seq {pruned.seq}")
    )
    start = anchor or GENESIS
    if anchor is not None:
        # Retention leaves a signed checkpoint at the anchor: a forged anchor disagrees.
        at_anchor = [c for c in listed if c.seq == anchor.seq]
        for checkpoint in at_anchor:
            if checkpoint.hash != anchor.hash or (
                public_key_pem is not None and not checkpoints.is_signed(checkpoint, public_key_pem)
            ):
                return VerifyResult(
                    region=region,
                    ok=False,
                    events_checked=0,
                    message=f"{region}: seq {anchor.seq}: the pruned anchor disagrees with "
                    "the signed checkpoint at its seq",
                    first_bad_seq=anchor.seq,
                    kind="edited",
                )
    if from_seq is not None and from_seq - 1 > start.seq:
        usable = [
            c
            for c in listed
            if start.seq < c.seq <= from_seq - 1
            and (public_key_pem is None or checkpoints.is_signed(c, public_key_pem))
        ]
        if usable:
            nearest = usable[-1]
            start = Start(nearest.seq, nearest.hash, f"the checkpoint at seq {nearest.seq}")
    # To the end: up to the head as read now, so events appended meanwhile (a live
    # server) are not mistaken for events added behind the store's back.
    head = source.head(region) if to_seq is None else None
    end_seq = to_seq if head is None else head[0]
    result = verify_events(
        region,
        source.scan_indexed(region, start.seq + 1, end_seq),
        start=start,
        end_seq=end_seq,
        checkpoint_list=[c for c in listed if c.seq > start.seq],
        public_key_pem=public_key_pem,
        head=head,
    )
    if result.ok and head is not None:
        beyond = next(iter(source.scan(region, head[0] + 1, head[0] + 1)), None)
        fresh = source.head(region)
        if beyond is not None and (fresh is None or fresh[0] < beyond.seq):
            return VerifyResult(
                region=region,
                ok=False,
                events_checked=result.events_checked,
                message=f"{region}: seq {beyond.seq}: events after the chain head (seq "
                f"{head[0]}) were added outside the store",
                first_bad_seq=beyond.seq,
                event_id=beyond.event_id,
                kind="inserted",
            )
    return result
