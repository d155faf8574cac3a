"""KeyMaterial cannot leak through repr, str, pickling or equality, and can be wiped."""

from __future__ import annotations

import copy
import pickle

import pytest

from strongroom.crypto.key_material import KeyMaterial

SECRET = bytes(range(32))


def test_repr_and_str_reveal_nothing() -> None:
    key = KeyMaterial(SECRET)
    for text in (repr(key), str(key), f"{key}", f"{[key]}"):
        assert SECRET.hex() not in text
        assert "redacted" in text


def test_cannot_be_pickled_or_copied() -> None:
    key = KeyMaterial(SECRET)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)


def test_not_hashable_and_compares_by_value() -> None:
    assert KeyMaterial(SECRET) == KeyMaterial(SECRET)
    assert KeyMaterial(SECRET) != KeyMaterial(bytes(32))
    with pytest.raises(TypeError):
        hash(KeyMaterial(SECRET))


def test_wipe_zeroes_and_disables() -> None:
    key = KeyMaterial(SECRET)
    key.aesgcm()
    key.wipe()
    with pytest.raises(ValueError, match="wiped"):
        key.expose_secret_bytes()
    with pytest.raises(ValueError, match="wiped"):
        key.aesgcm()


def test_aes_needs_a_256_bit_key() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        KeyMaterial(b"short").aesgcm()
