"""The encryption-context encoding is canonical and unambiguous."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from strongroom.crypto.encryption_context import encode

VECTORS = Path(__file__).parents[2] / "vectors" / "ciphertext" / "encryption-context.json"
contexts = st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=6)


def test_golden_encodings() -> None:
    for case in json.loads(VECTORS.read_text()):
        assert encode(case["context"]).hex() == case["encoded_hex"], case["context"]


def test_empty_context_is_two_zero_bytes() -> None:
    assert encode({}) == b"\x00\x00"


@given(contexts)
def test_order_of_insertion_does_not_matter(context: dict[str, str]) -> None:
    assert encode(context) == encode(dict(reversed(list(context.items()))))


@given(contexts, contexts)
def test_distinct_contexts_encode_distinctly(a: dict[str, str], b: dict[str, str]) -> None:
    if a != b:
        assert encode(a) != encode(b)


def test_concatenation_tricks_do_not_collide() -> None:
    assert encode({"ab": "c"}) != encode({"a": "bc"})
    assert encode({"a": "b", "c": "d"}) != encode({"a": "b\x00\x01c\x00\x01d"})
