"""Condition operators, one by one: values, case rules, missing keys, set qualifiers."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from strongroom.policy import PrincipalRef, RequestContext, parse_policy, statement_matches

USER = PrincipalRef(("arn:aws:iam::111122223333:user/alice",), "111122223333")
RESOURCE = "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf"


def holds(operator: str, key: str, values: object, context: Mapping[str, tuple[str, ...]]) -> bool:
    statement = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {operator: {key: values}},
    }
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statement}), "identity")
    request = RequestContext("secretsmanager:GetSecretValue", RESOURCE, USER, context)
    return statement_matches(policy.statements[0], request)


def one(value: str) -> dict[str, tuple[str, ...]]:
    return {"test:Key": (value,)}


@pytest.mark.parametrize(
    ("operator", "policy", "request_value", "expected"),
    [
        ("StringEquals", "Cust-1", "Cust-1", True),
        ("StringEquals", "Cust-1", "cust-1", False),
        ("StringEquals", "cust-1", "cust-12", False),
        ("StringEquals", "a*", "abc", False),
        ("StringEquals", ["x", "cust-1"], "cust-1", True),
        ("StringNotEquals", "cust-1", "cust-1", False),
        ("StringNotEquals", "cust-1", "cust-12", True),
        ("StringNotEquals", ["a", "b"], "b", False),
        ("StringEqualsIgnoreCase", "CUST-1", "cust-1", True),
        ("StringEqualsIgnoreCase", "cust-1", "cust-1x", False),
        ("StringNotEqualsIgnoreCase", "CUST-1", "cust-1", False),
        ("StringNotEqualsIgnoreCase", "CUST-1", "cust-2", True),
        ("StringLike", "cust-1*", "cust-12", True),
        ("StringLike", "cust-1/*", "cust-12/x", False),
        ("StringLike", "cust-?", "cust-1", True),
        ("StringLike", "cust-?", "cust-12", False),
        ("StringLike", "Cust*", "cust-1", False),
        ("StringLike", "a.c", "abc", False),
        ("StringLike", "a[bc]", "ab", False),
        ("StringLike", "a[bc]", "a[bc]", True),
        ("StringLike", "*", "", True),
        ("StringLike", "a*", "a\nb", True),
        ("StringNotLike", "cust-1*", "cust-12", False),
        ("StringNotLike", "cust-1/*", "cust-12/x", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", "10", "1e1", True),
        ("NumericEquals", "10", "11", False),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericNotEquals", "10", "10", False),
        ("NumericNotEquals", "10", "ten", False),
        ("NumericLessThan", "10", "9.99", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThan", "-1", "0", True),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", True),
        ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", True),
        ("DateEquals", "1704067200", "2024-01-01T01:00:00+01:00", True),
        ("DateEquals", "2024-01-01", "2024-01-01T00:00:00Z", True),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-06-01T00:00:00.5Z", True),
        ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2023-06-01T00:00:00Z", False),
        ("DateGreaterThan", "2024-01-01T00:00:00Z", "not a date", False),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "not a date", False),
        ("Bool", "true", "true", True),
        ("Bool", "true", "TRUE", True),
        ("Bool", True, "false", False),
        ("Bool", "false", "false", True),
        ("Bool", "true", "yes", False),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWF=", False),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", "not base64!", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "2001:db8::/32", "203.0.113.7", False),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.9", False),
        ("NotIpAddress", "203.0.113.0/24", "garbage", False),
        ("ArnEquals", "arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:role/R", True),
        (
            "ArnEquals",
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:iam::111122223333:role/r",
            False,
        ),
        ("ArnLike", "arn:aws:iam::*:role/R", "arn:aws:iam::444455556666:role/R", True),
        ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::444455556666:role/a/b:c", True),
        # `*` stays inside its segment in the first five: it cannot swallow a colon.
        ("ArnLike", "arn:aws:*:role/R", "arn:aws:iam::1:role/R", False),
        ("ArnLike", "arn:aws:iam::1111????3333:role/R", "arn:aws:iam::111122223333:role/R", True),
        ("ArnLike", "arn:aws:iam::111122223333:role/R", "not-an-arn", False),
        ("ArnLike", "*", "arn:aws:iam::1:role/R", True),
        ("ArnNotEquals", "arn:aws:iam::1:role/R", "arn:aws:iam::1:role/S", True),
        ("ArnNotLike", "arn:aws:iam::*:role/R*", "arn:aws:iam::2:role/Rx", False),
    ],
)
def test_operator(operator: str, policy: object, request_value: str, expected: bool) -> None:
    assert holds(operator, "test:Key", policy, one(request_value)) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        # Positive operators: "If the key that you specify in a policy condition is not
        # present in the request context, the values do not match" (IAM User Guide).
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericEquals", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        ("BinaryEquals", False),
        # Negated operators are true when the key is missing.
        ("StringNotEquals", True),
        ("StringNotEqualsIgnoreCase", True),
        ("StringNotLike", True),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("NotIpAddress", True),
        ("ArnNotEquals", True),
        ("ArnNotLike", True),
        # ...IfExists: true when missing.
        ("StringEqualsIfExists", True),
        ("BoolIfExists", True),
        ("StringNotEqualsIfExists", True),
        # Set qualifiers on a missing key.
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAllValues:StringNotEquals", True),
        ("ForAnyValue:StringNotEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    values = {"Numeric": "1", "Date": "2024-01-01", "Bool": "true", "IpAddress": "10.0.0.0/8"}
    values |= {"NotIpAddress": "10.0.0.0/8", "Arn": "arn:aws:iam::1:role/R", "Binary": "QUJD"}
    value = next((v for k, v in values.items() if k in operator), "x")
    assert holds(operator, "test:Key", value, {}) is expected
    # A present key with no values (aws:TagKeys on an untagged request) reads as missing.
    assert holds(operator, "test:Key", value, {"test:Key": ()}) is expected


def test_if_exists_applies_the_operator_when_present() -> None:
    assert holds("StringEqualsIfExists", "test:Key", "a", one("a"))
    assert not holds("StringEqualsIfExists", "test:Key", "a", one("b"))
    assert not holds("NumericLessThanIfExists", "test:Key", "5", one("7"))


def test_null_tests_presence() -> None:
    assert holds("Null", "test:Key", "true", {})
    assert not holds("Null", "test:Key", "true", one("x"))
    assert holds("Null", "test:Key", "false", one("x"))
    assert not holds("Null", "test:Key", "false", {})
    assert holds("Null", "test:Key", "true", {"test:Key": ()})
    assert holds("Null", "test:Key", True, {})


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    assert holds("StringEquals", "AWS:UserName", "alice", {"aws:username": ("alice",)})
    assert holds("StringEquals", "aws:username", "alice", {"AWS:USERNAME": ("alice",)})
    assert not holds("StringEquals", "aws:username", "alice", {"aws:username": ("Alice",)})


def test_all_operators_and_all_keys_must_hold() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"a": "1", "b": "2"},
            "StringLike": {"c": "x*"},
        },
    }
    policy = parse_policy(json.dumps({"Statement": statement}), "identity")

    def check(keys: dict[str, tuple[str, ...]]) -> bool:
        request = RequestContext("s3:GetObject", "*", USER, keys)
        return statement_matches(policy.statements[0], request)

    assert check({"a": ("1",), "b": ("2",), "c": ("xy",)})
    assert not check({"a": ("1",), "b": ("3",), "c": ("xy",)})
    assert not check({"a": ("1",), "b": ("2",), "c": ("yx",)})
    assert not check({"a": ("1",), "c": ("xy",)})


TAG_KEYS = "aws:TagKeys"


@pytest.mark.parametrize(
    ("operator", "request_values", "expected"),
    [
        ("ForAllValues:StringEquals", ("env", "team"), True),
        ("ForAllValues:StringEquals", ("env",), True),
        ("ForAllValues:StringEquals", ("env", "customer"), False),
        ("ForAllValues:StringEquals", (), True),
        ("ForAnyValue:StringEquals", ("customer", "env"), True),
        ("ForAnyValue:StringEquals", ("customer",), False),
        ("ForAnyValue:StringEquals", (), False),
        ("ForAllValues:StringNotEquals", ("customer", "x"), True),
        ("ForAllValues:StringNotEquals", ("customer", "env"), False),
        ("ForAnyValue:StringNotEquals", ("env", "customer"), True),
        ("ForAnyValue:StringNotEquals", ("env", "team"), False),
        ("ForAllValues:StringLike", ("env", "team-x"), True),
        ("ForAnyValue:StringLike", ("nope", "team-x"), True),
        # Without a qualifier, a multi-valued key matches if any value does, and a negated
        # operator holds only if no value matches.
        ("StringEquals", ("customer", "env"), True),
        ("StringNotEquals", ("customer", "env"), False),
        ("StringNotEquals", ("customer", "other"), True),
    ],
)
def test_set_operators(operator: str, request_values: tuple[str, ...], expected: bool) -> None:
    policy_values = ["env", "team*"] if "Like" in operator else ["env", "team"]
    assert holds(operator, TAG_KEYS, policy_values, {TAG_KEYS: request_values}) is expected


def test_set_operator_on_unparsable_values() -> None:
    assert not holds("ForAllValues:NumericLessThan", "k", "5", {"k": ("1", "x")})
    assert holds("ForAnyValue:NumericLessThan", "k", "5", {"k": ("1", "x")})
    assert not holds("ForAnyValue:NumericLessThan", "k", "5", {"k": ("x",)})


def test_variables_in_condition_values() -> None:
    context = {"aws:PrincipalTag/customer": ("cust-1",), "test:Key": ("cust-1",)}
    assert holds("StringEquals", "test:Key", "${aws:PrincipalTag/customer}", context)
    context["test:Key"] = ("cust-12",)
    assert not holds("StringEquals", "test:Key", "${aws:PrincipalTag/customer}", context)
    assert holds("StringLike", "test:Key", "${aws:PrincipalTag/customer}*", context)
    # A substituted value is literal even in a Like operator.
    wild = {"aws:PrincipalTag/customer": ("cust-*",), "test:Key": ("cust-12",)}
    assert not holds("StringLike", "test:Key", "${aws:PrincipalTag/customer}", wild)
    wild["test:Key"] = ("cust-*",)
    assert holds("StringLike", "test:Key", "${aws:PrincipalTag/customer}", wild)


def test_unresolved_variable_matches_nothing() -> None:
    context = {"test:Key": ("cust-1",)}
    assert not holds("StringEquals", "test:Key", "${aws:PrincipalTag/customer}", context)
    assert holds("StringNotEquals", "test:Key", "${aws:PrincipalTag/customer}", context)
    assert not holds("StringLike", "test:Key", "${aws:PrincipalTag/customer}", context)
    # ...unless it has a default.
    default = "${aws:PrincipalTag/customer, 'cust-1'}"
    assert holds("StringEquals", "test:Key", default, context)
    assert holds("StringEquals", "test:Key", "${aws:PrincipalTag/customer,'cust-1'}", context)


def test_escapes_in_condition_values() -> None:
    assert holds("StringLike", "test:Key", "a${*}b", one("a*b"))
    assert not holds("StringLike", "test:Key", "a${*}b", one("axxb"))
    assert holds("StringLike", "test:Key", "a${?}", one("a?"))
    assert not holds("StringLike", "test:Key", "a${?}", one("ab"))
    assert holds("StringEquals", "test:Key", "${$}{x}", one("${x}"))


def test_typed_operators_with_variables() -> None:
    context = {"aws:EpochTime": ("1704067200",), "test:Key": ("1704067199",)}
    assert holds("NumericLessThan", "test:Key", "${aws:EpochTime}", context)
    assert holds("DateLessThan", "test:Key", "${aws:EpochTime}", context)
    assert not holds("NumericLessThan", "test:Key", "${aws:Missing}", context)
    garbage = {"test:Key": ("5",), "test:Bound": ("lots",)}
    assert not holds("NumericLessThan", "test:Key", "${test:Bound}", garbage)


def test_multi_valued_variable_does_not_substitute() -> None:
    context = {"aws:TagKeys": ("a", "b"), "test:Key": ("a",)}
    assert not holds("StringEquals", "test:Key", "${aws:TagKeys}", context)


def test_principal_arn_and_account_are_derived_when_absent() -> None:
    assert holds("StringEquals", "aws:PrincipalAccount", "111122223333", {})
    assert holds("ArnEquals", "aws:PrincipalArn", USER.arns[0], {})
    assert not holds("StringEquals", "aws:PrincipalAccount", "111122223333", {
        "aws:principalaccount": ("444455556666",)
    })  # fmt: skip
