"""The appender's frames: split right wherever the pipe cuts them, and refused when broken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.storage import audit_appender_protocol as protocol


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
def test_frames_come_out_whole_whatever_the_reads(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(protocol.frame(payload) for payload in payloads)
    reader = protocol.FrameReader()
    read: list[bytes] = []
    offset = 0
    step = 0
    while offset < len(stream):
        size = cuts[step % len(cuts)]
        read.extend(reader.feed(stream[offset : offset + size]))
        offset += size
        step += 1
    assert read == payloads
    assert reader.pending == 0


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from([protocol.OK, protocol.UNAVAILABLE]), max_size=5),
            st.integers(min_value=0, max_value=1000),
        ),
        max_size=6,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_batches_come_out_whole_whatever_the_reads(
    batches: list[tuple[list[int], int]], cut: int
) -> None:
    stream = b"".join(protocol.batch(statuses, events, 0.25) for statuses, events in batches)
    reader = protocol.BatchReader()
    read: list[protocol.Batch] = []
    for offset in range(0, len(stream), cut):
        read.extend(reader.feed(stream[offset : offset + cut]))
    assert [(list(b.statuses), b.events, b.seconds) for b in read] == [
        (statuses, events, 0.25) for statuses, events in batches
    ]


def test_a_frame_longer_than_any_submission_breaks_the_stream() -> None:
    with pytest.raises(protocol.BrokenStream):
        protocol.FrameReader().feed(protocol.LENGTH.pack(protocol.MAX_FRAME_BYTES + 1))


def test_an_unknown_status_breaks_the_stream() -> None:
    with pytest.raises(protocol.BrokenStream):
        protocol.BatchReader().feed(protocol.BATCH_HEADER.pack(1, 1, 0.0) + b"\x07")
