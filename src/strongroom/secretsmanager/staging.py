"""Staging-label rules: which labels move where when a version is added or a label is moved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from strongroom.errors import InvalidParameterException, LimitExceededException

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"
AWS_LABELS = frozenset({AWSCURRENT, AWSPREVIOUS, AWSPENDING})
MAX_LABELS_PER_VERSION = 20

LabelChanges = dict[str, str | None]
"""label → version id it must be attached to (None: detached)."""


def attach(stages: Mapping[str, str], version_id: str, labels: Iterable[str]) -> LabelChanges:
    """Attach ``labels`` to ``version_id``, moving them from wherever they are.

    Moving AWSCURRENT off a version hands that version AWSPREVIOUS, as AWS does.
    """
    changes: LabelChanges = {}
    for label in labels:
        if stages.get(label) == version_id:
            continue
        changes[label] = version_id
        if label == AWSCURRENT:
            old_current = stages.get(AWSCURRENT)
            if old_current is not None and old_current != version_id:
                changes[AWSPREVIOUS] = old_current
    return changes


def move(
    stages: Mapping[str, str],
    label: str,
    *,
    remove_from: str | None,
    move_to: str | None,
) -> LabelChanges:
    """UpdateSecretVersionStage's rules; the version ids must already be known to exist."""
    current = stages.get(label)
    if move_to is not None and move_to == current:
        return {}
    if current is not None and remove_from is None:
        raise InvalidParameterException(
            f"The parameter RemoveFromVersionId can't be empty. Staging label {label} is "
            f"currently attached to version {current}, so you must explicitly reference that "
            "version in RemoveFromVersionId."
        )
    if remove_from is not None and remove_from != current:
        raise InvalidParameterException(
            f"The staging label {label} is not attached to version {remove_from}, so you "
            "can't remove it from that version."
        )
    if move_to is None:
        if label == AWSCURRENT:
            raise InvalidParameterException(
                "You can't remove the staging label AWSCURRENT from a version without "
                "moving it to another version; specify MoveToVersionId."
            )
        return {label: None}
    return attach(stages, move_to, [label])


def apply(stages: Mapping[str, str], changes: LabelChanges) -> dict[str, str]:
    """The label map after ``changes``; refuses more than 20 labels on one version."""
    result = dict(stages)
    for label, version_id in changes.items():
        if version_id is None:
            result.pop(label, None)
        else:
            result[label] = version_id
    per_version: dict[str, int] = {}
    for version_id in result.values():
        per_version[version_id] = per_version.get(version_id, 0) + 1
        if per_version[version_id] > MAX_LABELS_PER_VERSION:
            raise LimitExceededException(
                f"A version can have at most {MAX_LABELS_PER_VERSION} staging labels."
            )
    return result


def labels_by_version(stages: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """version id → its labels, sorted for stable output."""
    out: dict[str, list[str]] = {}
    for label, version_id in stages.items():
        out.setdefault(version_id, []).append(label)
    return {v: tuple(sorted(labels)) for v, labels in out.items()}
