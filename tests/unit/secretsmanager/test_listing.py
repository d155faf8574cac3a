"""ListSecrets filters and pagination tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strongroom.errors import InvalidNextTokenException, InvalidParameterException
from strongroom.secretsmanager import listing
from strongroom.secretsmanager.ports import SecretRecord
from strongroom.secretsmanager.shapes import Filter

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def secret(
    name: str, description: str = "", tags: tuple[tuple[str, str], ...] = ()
) -> SecretRecord:
    return SecretRecord(
        id=1,
        arn=f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
        name=name,
        region="us-east-1",
        created_at=NOW,
        last_changed_at=NOW,
        row_version=1,
        description=description,
        tags=tags,
    )


DB = secret("/customer/cust-1/db", "Primary Database", (("team", "payments"),))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([Filter("name", ("/customer/cust-1/",))], True),
        ([Filter("name", ("/CUSTOMER",))], False),
        ([Filter("description", ("primary",))], True),
        ([Filter("tag-key", ("tea",))], True),
        ([Filter("tag-value", ("Pay",))], False),
        ([Filter("tag-key", ("!team",))], False),
        ([Filter("name", ("nope", "/customer"))], True),
        ([Filter("name", ("/customer",)), Filter("description", ("other",))], False),
        ([Filter("all", ("DATABASE payments",))], True),
        ([Filter("all", ("cust",))], True),
        ([Filter("owning-service", ("rds",))], False),
        ([Filter("primary-region", ("us-east",))], True),
    ],
)
def test_filter_semantics(filters: list[Filter], expected: bool) -> None:
    assert listing.matches(DB, filters) is expected


def test_tenant_prefix_needs_the_trailing_slash_to_be_exact() -> None:
    other = secret("/customer/cust-12/db")
    assert listing.matches(other, [Filter("name", ("/customer/cust-1",))])
    assert not listing.matches(other, [Filter("name", ("/customer/cust-1/",))])


@pytest.mark.parametrize(
    "bad", [Filter(None, ("x",)), Filter("colour", ("x",)), Filter("name", ()), Filter("name")]
)
def test_invalid_filters_are_refused(bad: Filter) -> None:
    with pytest.raises(InvalidParameterException):
        listing.validate_filters([bad])


def test_tokens_are_bound_to_their_query() -> None:
    token = listing.encode_token(40, "query-a")
    assert listing.decode_token(token, "query-a") == 40
    for wrong in ("query-b",):
        with pytest.raises(InvalidNextTokenException):
            listing.decode_token(token, wrong)
    for garbage in ("", "!!!", "e30=", "bm90IGpzb24=", "\u2603"):
        with pytest.raises(InvalidNextTokenException):
            listing.decode_token(garbage, "query-a")
