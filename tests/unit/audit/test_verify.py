"""verify: every kind of tampering on an in-memory chain is found and named."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from strongroom.audit import chain, checkpoints
from strongroom.audit.events import canonical_json
from strongroom.audit.ports import Checkpoint, StoredEvent
from strongroom.audit.verify import GENESIS, Start, verify_events
from strongroom.crypto.signing import Ed25519Signer

REGION = "us-east-1"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
SIGNER = Ed25519Signer.generate()
PUBLIC = SIGNER.public_key_pem()


def record(n: int, **extra: object) -> bytes:
    return canonical_json({"eventID": f"event-{n}", "eventName": "GetSecretValue", **extra})


def build(count: int, start: Start = GENESIS) -> list[StoredEvent]:
    events = []
    previous = start.hash
    for seq in range(start.seq + 1, start.seq + count + 1):
        body = record(seq)
        digest = chain.link(previous, body)
        events.append(
            StoredEvent(
                REGION, seq, f"event-{seq}", T0 + timedelta(seconds=seq), body, previous, digest
            )
        )
        previous = digest
    return events


def sign(event: StoredEvent) -> Checkpoint:
    return checkpoints.make(SIGNER, REGION, event.seq, event.hash, T0)


def head_of(events: list[StoredEvent]) -> tuple[int, bytes]:
    return events[-1].seq, events[-1].hash


def test_an_untouched_chain_verifies() -> None:
    events = build(50)
    result = verify_events(
        REGION,
        events,
        checkpoint_list=[sign(events[19]), sign(events[39])],
        public_key_pem=PUBLIC,
        head=head_of(events),
    )
    assert result.ok, result.message
    assert result.events_checked == 50
    assert result.first_bad_seq is None
    assert result.kind is None


def test_an_empty_chain_verifies() -> None:
    result = verify_events(REGION, [], head=(0, chain.GENESIS_HASH))
    assert result.ok
    assert result.events_checked == 0


def test_an_edited_record_is_named() -> None:
    events = build(10)
    edited = json.loads(events[4].record)
    edited["eventName"] = "ListSecrets"
    events[4] = replace(events[4], record=canonical_json(edited))
    result = verify_events(REGION, events, head=head_of(events))
    assert not result.ok
    assert (result.kind, result.first_bad_seq, result.event_id) == ("edited", 5, "event-5")
    assert result.events_checked == 4


def test_an_edited_and_rehashed_event_is_named_by_the_broken_link() -> None:
    events = build(10)
    forged = record(5, eventName="ListSecrets")
    events[4] = replace(events[4], record=forged, hash=chain.link(events[4].previous_hash, forged))
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.kind, result.first_bad_seq) == ("edited", 5)


def test_a_removed_event_is_a_gap() -> None:
    events = build(10)
    del events[6]
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.kind, result.first_bad_seq, result.event_id) == ("removed", 7, "event-8")


def test_removed_events_at_the_end_are_caught_by_the_head_and_checkpoints() -> None:
    events = build(10)
    head = head_of(events)
    by_head = verify_events(REGION, events[:8], head=head)
    assert (by_head.kind, by_head.first_bad_seq) == ("removed", 9)
    by_checkpoint = verify_events(REGION, events[:8], checkpoint_list=[sign(events[9])])
    assert (by_checkpoint.kind, by_checkpoint.first_bad_seq) == ("removed", 9)


def test_an_inserted_event_with_a_plausible_hash_is_named() -> None:
    events = build(10)
    # An attacker shifts seq 6.. up by one and slips a forged event in at seq 6, correctly
    # chained to seq 5; seq 7 (the old 6) still chains to seq 5.
    forged_body = record(99, eventName="Forged")
    forged = StoredEvent(
        REGION,
        6,
        "forged",
        T0,
        forged_body,
        events[4].hash,
        chain.link(events[4].hash, forged_body),
    )
    shifted = [replace(e, seq=e.seq + 1) for e in events[5:]]
    tampered = [*events[:5], forged, *shifted]
    result = verify_events(REGION, tampered, head=head_of(events))
    assert (result.kind, result.first_bad_seq, result.event_id) == ("inserted", 6, "forged")


def test_an_event_appended_behind_the_stores_back_is_inserted() -> None:
    events = build(10)
    body = record(11)
    extra = StoredEvent(
        REGION, 11, "extra", T0, body, events[-1].hash, chain.link(events[-1].hash, body)
    )
    result = verify_events(REGION, [*events, extra], head=head_of(events))
    assert (result.kind, result.first_bad_seq) == ("inserted", 11)


def test_a_duplicated_position_is_inserted() -> None:
    events = build(10)
    tampered = [*events[:6], replace(events[5], event_id="copy"), *events[6:]]
    result = verify_events(REGION, tampered, head=head_of(events))
    assert (result.kind, result.first_bad_seq, result.event_id) == ("inserted", 6, "copy")


def test_two_swapped_records_are_reordered() -> None:
    events = build(10)
    events[3], events[4] = (
        replace(events[3], record=events[4].record),
        replace(events[4], record=events[3].record),
    )
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.kind, result.first_bad_seq, result.event_id) == ("reordered", 4, "event-4")


def test_two_swapped_rows_are_reordered() -> None:
    events = build(10)
    first, second = events[3], events[4]
    events[3], events[4] = replace(second, seq=4), replace(first, seq=5)
    result = verify_events(REGION, events, head=head_of(events))
    assert (result.kind, result.first_bad_seq) == ("reordered", 4)


def test_a_checkpoint_that_disagrees_is_an_edit() -> None:
    events = build(10)
    wrong = checkpoints.make(SIGNER, REGION, 7, bytes(32), T0)
    result = verify_events(REGION, events, checkpoint_list=[wrong], public_key_pem=PUBLIC)
    assert (result.kind, result.first_bad_seq, result.event_id) == ("edited", 7, "event-7")


def test_a_forged_checkpoint_signature_is_an_edit() -> None:
    events = build(10)
    forged = replace(sign(events[6]), signature=Ed25519Signer.generate().sign(b"x"))
    result = verify_events(REGION, events, checkpoint_list=[forged], public_key_pem=PUBLIC)
    assert (result.kind, result.first_bad_seq) == ("edited", 7)
    # Without the public key only the hashes are compared, and they agree.
    assert verify_events(REGION, events, checkpoint_list=[forged]).ok


def test_a_rewritten_tail_is_caught_by_the_checkpoint() -> None:
    events = build(10)
    checkpoint = sign(events[7])
    # Rewrite everything from seq 4 on, consistently re-hashed: only the signature knows.
    rewritten = events[:3]
    previous = events[2].hash
    for event in events[3:]:
        body = record(event.seq, eventName="Rewritten")
        digest = chain.link(previous, body)
        rewritten.append(replace(event, record=body, previous_hash=previous, hash=digest))
        previous = digest
    result = verify_events(
        REGION,
        rewritten,
        checkpoint_list=[checkpoint],
        public_key_pem=PUBLIC,
        head=head_of(rewritten),
    )
    assert (result.kind, result.first_bad_seq) == ("edited", 8)


def test_the_first_problem_is_reported() -> None:
    events = build(20)
    events[15] = replace(events[15], record=b"{}")
    del events[4]
    result = verify_events(REGION, events, head=head_of(build(20)))
    assert (result.kind, result.first_bad_seq) == ("removed", 5)


def test_a_range_starts_after_a_trusted_point() -> None:
    events = build(30)
    start = Start(10, events[9].hash, "the checkpoint at seq 10")
    result = verify_events(REGION, events[10:20], start=start, end_seq=20)
    assert result.ok
    assert result.events_checked == 10
    wrong = Start(10, bytes(32), "a wrong anchor")
    broken = verify_events(REGION, events[10:20], start=wrong, end_seq=20)
    assert (broken.kind, broken.first_bad_seq) == ("edited", 11)


@pytest.mark.parametrize("anchor_seq", [1, 25])
def test_a_chain_continues_from_a_pruned_anchor(anchor_seq: int) -> None:
    events = build(40)
    anchor = Start(anchor_seq, events[anchor_seq - 1].hash, "the pruned anchor")
    kept = events[anchor_seq:]
    result = verify_events(REGION, kept, start=anchor, head=head_of(events))
    assert result.ok
    assert result.events_checked == 40 - anchor_seq
    missing_first = verify_events(REGION, kept[1:], start=anchor, head=head_of(events))
    assert (missing_first.kind, missing_first.first_bad_seq) == ("removed", anchor_seq + 1)
