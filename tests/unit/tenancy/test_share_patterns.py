"""Share patterns: what may be shared, what a pattern covers, which calls a share opens."""

from __future__ import annotations

import pytest

from strongroom.tenancy.share_patterns import (
    InvalidShare,
    normalised_actions,
    opened_by,
    parse_pattern,
)


@pytest.mark.parametrize(
    "pattern",
    [
        "/shared/vendor/stripe/api-key",
        "/shared/vendor/stripe/*",
        "/shared/vendor/stripe-*",
        "/shared/*",
        "/shared/a",
        "/shared/a..b/c",
        "/shared/" + "x" * 504,
    ],
)
def test_valid_patterns(pattern: str) -> None:
    assert parse_pattern(pattern).text == pattern


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "must start with /shared/"),
        ("/shared", "must start with /shared/"),
        ("/shared*", "must start with /shared/"),
        ("/customer/cust-1/*", "must start with /shared/"),
        ("shared/vendor/*", "must start with /shared/"),
        ("/Shared/vendor/*", "must start with /shared/"),
        ("/shared/", "empty path segments"),
        ("/shared/vendor/", "empty path segments"),
        ("/shared//*", "empty path segments"),
        ("/shared/a//b", "empty path segments"),
        ("/shared/../customer/cust-1/*", '"." or ".."'),
        ("/shared/vendor/..", '"." or ".."'),
        ("/shared/vendor/./x", '"." or ".."'),
        ("/shared/vendor/.*", '"." or ".."'),
        ("/shared/*/api-key", "only as its last character"),
        ("/shared/vendor/**", "only as its last character"),
        ("/shared/ven*dor", "only as its last character"),
        ("/shared/vendor/?", "alphanumeric"),
        ("/shared/vendor/strípe", "alphanumeric"),
        ("/shared/vendor/a b", "alphanumeric"),
        ("/shared/" + "x" * 505, "between 1 and 512"),
    ],
)
def test_invalid_patterns_are_refused_with_the_rule(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidShare) as refused:
        parse_pattern(pattern)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("pattern", "name", "covered"),
    [
        ("/shared/vendor/stripe/api-key", "/shared/vendor/stripe/api-key", True),
        ("/shared/vendor/stripe/api-key", "/shared/vendor/stripe/api-key2", False),
        ("/shared/vendor/stripe/api-key", "/shared/vendor/Stripe/api-key", False),
        ("/shared/vendor/stripe/*", "/shared/vendor/stripe/api-key", True),
        ("/shared/vendor/stripe/*", "/shared/vendor/stripe/live/api-key", True),
        ("/shared/vendor/stripe/*", "/shared/vendor/stripe", False),
        ("/shared/vendor/stripe/*", "/shared/vendor/stripe-test/api-key", False),
        ("/shared/vendor/stripe/*", "/shared/vendor/twilio/api-key", False),
        ("/shared/vendor/stripe*", "/shared/vendor/stripe", True),
        ("/shared/vendor/stripe*", "/shared/vendor/stripe-test/api-key", True),
        ("/shared/*", "/shared/vendor/twilio/api-key", True),
        ("/shared/*", "/customer/cust-1/db", False),
    ],
)
def test_what_a_pattern_covers(pattern: str, name: str, covered: bool) -> None:
    assert parse_pattern(pattern).covers(name) is covered


def test_actions_default_to_read_and_are_sorted_without_repeats() -> None:
    assert normalised_actions(None) == ("READ",)
    assert normalised_actions(["READ", "DESCRIBE", "READ"]) == ("DESCRIBE", "READ")
    with pytest.raises(InvalidShare, match="at least one action"):
        normalised_actions([])
    with pytest.raises(InvalidShare, match="Unknown share action 'WRITE'"):
        normalised_actions(["READ", "WRITE"])


def test_read_opens_reads_and_describe_opens_metadata_and_nothing_opens_a_write() -> None:
    read = opened_by(["READ"])
    describe = opened_by(["DESCRIBE"])
    assert read == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:GetResourcePolicy",
    }
    assert describe == {"secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"}
    assert "secretsmanager:GetSecretValue" not in describe
    writes = {
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:TagResource",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:UpdateSecretVersionStage",
    }
    assert not (opened_by(["READ", "DESCRIBE"]) & writes)
    assert opened_by([]) == frozenset()
