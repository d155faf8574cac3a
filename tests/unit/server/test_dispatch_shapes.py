"""Request dataclasses match botocore's model: same members, same required members, nested too."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import botocore.session
import pytest

from strongroom.secretsmanager import shapes as sm
from strongroom.server import wire_mapping
from strongroom.server.dispatch import (
    KMS_OPERATIONS,
    KMS_POINT_READS,
    KMS_UNSUPPORTED_OPERATIONS,
    SECRETS_MANAGER_OPERATIONS,
)

MODEL = botocore.session.get_session().get_service_model("secretsmanager")
KMS_MODEL = botocore.session.get_session().get_service_model("kms")


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def _nested_dataclass(tp: Any) -> type[Any] | None:
    """The dataclass a field holds, directly or as tuple elements, if any."""
    for arg in (tp, *typing.get_args(tp)):
        for inner in (arg, *typing.get_args(arg)):
            if dataclasses.is_dataclass(inner) and isinstance(inner, type):
                return inner
    return None


def _compare(cls: type[Any], shape: Any, path: str) -> None:
    fields = {_normal(f.name): f for f in dataclasses.fields(cls)}
    members = {_normal(m): m for m in shape.members}
    assert set(fields) == set(members), f"{path}: members differ"
    required_fields = {
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    required_members = {_normal(m) for m in shape.required_members}
    assert required_fields == required_members, f"{path}: required members differ"
    hints = typing.get_type_hints(cls)
    for normal, field in fields.items():
        nested = _nested_dataclass(hints[field.name])
        if nested is None:
            continue
        member_shape = shape.members[members[normal]]
        if member_shape.type_name == "list":
            member_shape = member_shape.member
        _compare(nested, member_shape, f"{path}.{members[normal]}")


@pytest.mark.parametrize("operation", sorted(SECRETS_MANAGER_OPERATIONS))
def test_request_type_matches_the_model(operation: str) -> None:
    _compare(
        SECRETS_MANAGER_OPERATIONS[operation],
        MODEL.operation_model(operation).input_shape,
        operation,
    )


@pytest.mark.parametrize("operation", sorted(KMS_OPERATIONS))
def test_kms_request_type_matches_the_model(operation: str) -> None:
    _compare(
        KMS_OPERATIONS[operation],
        KMS_MODEL.operation_model(operation).input_shape,
        operation,
    )


def test_every_kms_operation_is_built_or_unsupported() -> None:
    assert set(KMS_OPERATIONS) | KMS_UNSUPPORTED_OPERATIONS == set(KMS_MODEL.operation_names)
    assert not set(KMS_OPERATIONS) & KMS_UNSUPPORTED_OPERATIONS
    assert set(KMS_OPERATIONS) >= KMS_POINT_READS


def test_result_member_names_are_unambiguous() -> None:
    names = wire_mapping.member_names(MODEL)
    assert names["arn"] == "ARN"
    assert names["versionidstostages"] == "VersionIdsToStages"


def test_filter_without_key_is_representable() -> None:
    assert wire_mapping.from_wire(sm.BatchGetSecretValueRequest, {"Filters": [{}]}).filters == (
        sm.Filter(),
    )
