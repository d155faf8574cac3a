"""GetRandomPassword's character classes and limits."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.errors import InvalidParameterException
from strongroom.secretsmanager.random_password import PUNCTUATION, generate


@given(st.integers(min_value=5, max_value=200))
def test_each_included_type_appears(length: int) -> None:
    password = generate(length)
    assert len(password) == length
    for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, PUNCTUATION):
        assert any(c in chars for c in password)
    assert " " not in password


def test_exclusions_hold() -> None:
    password = generate(500, exclude_characters="abc123!", exclude_uppercase=True)
    assert not set(password) & set("abc123!" + string.ascii_uppercase)


def test_everything_excluded_is_refused() -> None:
    with pytest.raises(InvalidParameterException):
        generate(
            10,
            exclude_lowercase=True,
            exclude_uppercase=True,
            exclude_numbers=True,
            exclude_punctuation=True,
        )


def test_too_short_for_every_type_is_refused_unless_not_required() -> None:
    with pytest.raises(InvalidParameterException):
        generate(3)
    assert len(generate(3, require_each_included_type=False)) == 3
