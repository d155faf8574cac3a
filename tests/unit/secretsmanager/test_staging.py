"""Staging-label rules, as pure functions."""

from __future__ import annotations

import pytest

from strongroom.errors import InvalidParameterException, LimitExceededException
from strongroom.secretsmanager import staging


def test_attaching_current_hands_previous_to_the_old_current() -> None:
    changes = staging.attach({"AWSCURRENT": "v1", "AWSPREVIOUS": "v0"}, "v2", ["AWSCURRENT"])
    assert changes == {"AWSCURRENT": "v2", "AWSPREVIOUS": "v1"}


def test_first_current_creates_no_previous() -> None:
    assert staging.attach({}, "v1", ["AWSCURRENT"]) == {"AWSCURRENT": "v1"}


def test_attaching_a_label_already_there_changes_nothing() -> None:
    assert staging.attach({"AWSCURRENT": "v1"}, "v1", ["AWSCURRENT"]) == {}


def test_move_requires_naming_the_current_holder() -> None:
    with pytest.raises(InvalidParameterException, match="RemoveFromVersionId"):
        staging.move({"X": "v1"}, "X", remove_from=None, move_to="v2")
    with pytest.raises(InvalidParameterException):
        staging.move({"X": "v1"}, "X", remove_from="v9", move_to="v2")
    assert staging.move({"X": "v1"}, "X", remove_from="v1", move_to="v2") == {"X": "v2"}


def test_current_can_be_moved_but_not_removed() -> None:
    with pytest.raises(InvalidParameterException):
        staging.move({"AWSCURRENT": "v1"}, "AWSCURRENT", remove_from="v1", move_to=None)
    assert staging.move({"AWSCURRENT": "v1"}, "AWSCURRENT", remove_from="v1", move_to="v2") == {
        "AWSCURRENT": "v2",
        "AWSPREVIOUS": "v1",
    }


def test_removing_a_custom_label_detaches_it() -> None:
    assert staging.move({"X": "v1"}, "X", remove_from="v1", move_to=None) == {"X": None}


def test_apply_enforces_twenty_labels_per_version() -> None:
    stages = {f"l{i}": "v1" for i in range(20)}
    with pytest.raises(LimitExceededException):
        staging.apply(stages, {"one-more": "v1"})
    assert staging.apply(stages, {"l0": None})["l1"] == "v1"


def test_labels_by_version_is_sorted() -> None:
    assert staging.labels_by_version({"b": "v1", "a": "v1", "AWSCURRENT": "v2"}) == {
        "v1": ("a", "b"),
        "v2": ("AWSCURRENT",),
    }
