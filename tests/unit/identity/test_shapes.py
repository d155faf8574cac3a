"""IAM and STS request dataclasses match botocore's models: same members, same required ones."""

from __future__ import annotations

import dataclasses
from typing import Any

import botocore.session
import pytest

from strongroom.identity import iam_shapes, sts_shapes
from strongroom.identity.operations import IAM_OPERATIONS, STS_OPERATIONS
from strongroom.server import aws_query
from tests.unit.server.test_dispatch_shapes import _compare

SESSION = botocore.session.get_session()
IAM_MODEL = SESSION.get_service_model("iam")
STS_MODEL = SESSION.get_service_model("sts")


@pytest.mark.parametrize("operation", sorted(IAM_OPERATIONS))
def test_iam_request_type_matches_the_model(operation: str) -> None:
    _compare(IAM_OPERATIONS[operation], IAM_MODEL.operation_model(operation).input_shape, operation)


@pytest.mark.parametrize("operation", sorted(STS_OPERATIONS))
def test_sts_request_type_matches_the_model(operation: str) -> None:
    _compare(STS_OPERATIONS[operation], STS_MODEL.operation_model(operation).input_shape, operation)


@pytest.mark.parametrize(
    ("model", "operations"), [(IAM_MODEL, IAM_OPERATIONS), (STS_MODEL, STS_OPERATIONS)]
)
def test_every_result_field_has_a_wire_name(model: Any, operations: Any) -> None:
    names = aws_query.member_names(model)
    module = iam_shapes if model is IAM_MODEL else sts_shapes
    for name in operations:
        response = getattr(module, f"{name}Response", None)
        if response is None:
            continue
        for field in dataclasses.fields(response):
            assert field.name.replace("_", "").lower() in names, f"{name}.{field.name}"
