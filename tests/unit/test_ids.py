"""Secret-name validation, tenant extraction and partitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.ids import (
    InvalidSecretName,
    partition_of,
    tenant_of_secret_name,
    validate_secret_name,
)


@pytest.mark.parametrize(
    "name",
    ["db", "/customer/cust-12345/db-password", "/shared/vendor/stripe/api-key", "a_b+c=d.e@f-g"],
)
def test_valid_names(name: str) -> None:
    validate_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 513,
        "a//b",
        "a/",
        "a/../b",
        "./a",
        "a b",
        "caf\u00e9",
        "a\x00b",
        "a\nb",
        "arn:aws:secretsmanager:x",
        "/customer/cust-1",
        "/customer/cust-1/",
        "/customer/Cust-1/db",
        "/customer/-cust/db",
        "/customer//db",
    ],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidSecretName):
        validate_secret_name(name)


def test_tenant_of_name() -> None:
    assert tenant_of_secret_name("/customer/cust-1/db") == "cust-1"
    assert tenant_of_secret_name("/customer/cust-12/db") == "cust-12"
    assert tenant_of_secret_name("/shared/x") is None
    assert tenant_of_secret_name("customer/cust-1/db") is None


@given(st.text(min_size=1, max_size=60))
def test_valid_names_never_alias_another_tenant(name: str) -> None:
    try:
        validate_secret_name(name)
    except InvalidSecretName:
        return
    tenant = tenant_of_secret_name(name)
    if tenant is not None:
        assert name.startswith(f"/customer/{tenant}/")
        assert ".." not in name.split("/")


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-3", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_of_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition
