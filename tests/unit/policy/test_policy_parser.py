"""parse_policy: the grammar IAM accepts, and IAM's messages for what it refuses."""

from __future__ import annotations

import json

import pytest

from strongroom.policy import (
    Condition,
    PolicyDocument,
    PolicyDocumentError,
    PolicyKind,
    PrincipalRef,
    RequestContext,
    parse_policy,
    statement_matches,
)

ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:/customer/cust-1/*"


def doc(*statements: dict[str, object], version: str | None = "2012-10-17") -> str:
    body: dict[str, object] = {"Statement": list(statements)}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


def allow(**extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": ARN} | extra


def refused(text: str, kind: PolicyKind = "identity", **kwargs: int) -> str:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy(text, kind, **kwargs)
    return str(caught.value)


def test_parses_a_full_statement() -> None:
    text = doc(
        {
            "Sid": "Read1",
            "Effect": "Deny",
            "NotAction": ["kms:*", "secretsmanager:Get*"],
            "NotResource": "*",
            "Condition": {
                "StringEquals": {"aws:username": ["alice", "bob"]},
                "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                "Bool": {"aws:SecureTransport": True},
            },
        }
    )
    policy = parse_policy(text, "identity")
    assert policy.version == "2012-10-17"
    assert policy.id is None
    (statement,) = policy.statements
    assert statement.sid == "Read1"
    assert statement.effect == "Deny"
    assert statement.action is None
    assert statement.not_action == ("kms:*", "secretsmanager:Get*")
    assert statement.resource is None
    assert statement.not_resource == ("*",)
    assert statement.conditions == (
        Condition("StringEquals", "aws:username", ("alice", "bob"), variables=True),
        Condition("NumericLessThan", "aws:MultiFactorAuthAge", ("3600",), variables=True),
        Condition("Bool", "aws:SecureTransport", ("true",), variables=True),
    )


def test_numbers_keep_their_json_text() -> None:
    text = doc(allow(Condition={"NumericEquals": {"k": "PLACEHOLDER"}}))
    text = text.replace('"PLACEHOLDER"', "[1.50, 10, -2e3]")
    (condition,) = parse_policy(text, "identity").statements[0].conditions
    assert condition.values == ("1.50", "10", "-2e3")


def test_version_defaults_to_2008_and_disables_variables() -> None:
    policy = parse_policy(doc(allow(), version=None), "identity")
    assert policy.version == "2008-10-17"
    assert policy.statements[0].variables is False
    assert parse_policy(doc(allow()), "identity").statements[0].variables is True


def test_single_statement_object_and_id() -> None:
    text = json.dumps({"Version": "2012-10-17", "Id": "p-1", "Statement": allow()})
    policy = parse_policy(text, "identity")
    assert policy.id == "p-1"
    assert len(policy.statements) == 1


def test_parse_is_pure_and_documents_are_hashable() -> None:
    text = doc(allow(Sid="A"), allow(Sid="B", Condition={"StringLike": {"k": "a*"}}))
    first, second = parse_policy(text, "identity"), parse_policy(text, "identity")
    assert first == second
    assert hash(first) == hash(second)
    assert isinstance(first, PolicyDocument)
    assert {first: 1}[second] == 1


def test_resource_kinds_require_principal_and_parse_it() -> None:
    text = doc(
        allow(Principal={"AWS": ["arn:aws:iam::111122223333:role/R", "444455556666"]}),
        allow(Sid="Everyone", Principal="*"),
        allow(Sid="Svc", Principal={"Service": "lambda.amazonaws.com"}),
        allow(Sid="Not", NotPrincipal={"AWS": "arn:aws:iam::111122223333:user/bob"}),
    )
    policy = parse_policy(text, "resource")
    first = policy.statements[0].principal
    assert first is not None
    assert first != "*"
    assert dict(first) == {"AWS": ("arn:aws:iam::111122223333:role/R", "444455556666")}
    assert policy.statements[1].principal == "*"
    assert policy.statements[3].not_principal == {"AWS": ("arn:aws:iam::111122223333:user/bob",)}
    assert parse_policy(text, "key") == policy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "Syntax errors in policy."),
        ("[]", "Syntax errors in policy."),
        ('"x"', "Syntax errors in policy."),
        ('{"Version": "2012-10-17"}', "Syntax errors in policy."),
        ('{"Statement": []}', "Syntax errors in policy."),
        ('{"Statement": "x"}', "Syntax errors in policy."),
        ('{"Statement": ["x"]}', "Syntax errors in policy."),
        ('{"Statement": [{"Effect": "Allow"}], "Extra": 1}', "Syntax errors in policy."),
        ('{"Version": "2012-10-18", "Statement": []}', "Syntax errors in policy."),
        ('{"Version": 2012, "Statement": []}', "Syntax errors in policy."),
        ('{"Id": 5, "Statement": [{}]}', "Syntax errors in policy."),
        (doc(allow(Effect="allow")), "The policy failed legacy parsing"),
        (doc(allow(Effect="Permit")), "Syntax errors in policy."),
        (doc({"Action": "s3:GetObject", "Resource": "*"}), "Syntax errors in policy."),
        (doc(allow(Action=[])), "Policy statement must contain actions."),
        (
            doc({"Effect": "Allow", "Resource": "*"}),
            "Policy statement must contain actions.",
        ),
        (doc({"Effect": "Allow", "Action": "s3:Get"}), "Policy statement must contain resources."),
        (doc(allow(NotAction="s3:Get")), "Syntax errors in policy."),
        (doc(allow(NotResource="*")), "Syntax errors in policy."),
        (doc(allow(Action="GetSecretValue")), "Actions/Conditions must be prefaced by a vendor"),
        (doc(allow(Action="s3:a:b")), "Actions/Condition can contain only one colon."),
        (doc(allow(Action="secretsmanager:Get Secret")), "Policy has invalid action"),
        (doc(allow(Action="${aws:username}:Get")), "Actions/Condition can contain only one"),
        (doc(allow(Action=5)), "Syntax errors in policy."),
        (doc(allow(Action=["s3:Get", 5])), "Syntax errors in policy."),
        (doc(allow(Resource="bucket")), 'Resource bucket must be in ARN format or "*".'),
        (doc(allow(Resource="arn:aws:s3:::")), "Resource arn:aws:s3::: must be in ARN format or"),
        (
            doc(allow(Resource="arn:aws:*:us-east-1:1:x")),
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (doc(allow(Sid="has space")), "Statement IDs (SID) must be alpha-numeric."),
        (doc(allow(Sid="A"), allow(Sid="A")), "Statement IDs (SID) in a single policy must be"),
        (doc(allow(Sid=1)), "Syntax errors in policy."),
        (doc(allow(Principal="*")), "Policy document should not specify a principal."),
        (doc(allow(NotPrincipal="*")), "Policy document should not specify a principal."),
        (doc(allow(Unknown=1)), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEqual": {"k": "v"}})), "Invalid Condition type : StringEqual"),
        (doc(allow(Condition={"NullIfExists": {"k": "true"}})), "Invalid Condition type"),
        (doc(allow(Condition={"ForAnyValue:Null": {"k": "true"}})), "Invalid Condition type"),
        (doc(allow(Condition={"IfExists": {"k": "v"}})), "Invalid Condition type"),
        (doc(allow(Condition={"StringEquals": {}})), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEquals": "v"})), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEquals": {"k": []}})), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEquals": {"k": None}})), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEquals": {"k": {"a": "b"}}})), "Syntax errors in policy."),
        (doc(allow(Condition={"StringEquals": {"": "v"}})), "Syntax errors in policy."),
        (doc(allow(Condition=[])), "Syntax errors in policy."),
        (doc(allow(Condition={"NumericEquals": {"k": "ten"}})), "Invalid value for NumericEquals"),
        (doc(allow(Condition={"DateLessThan": {"k": "tomorrow"}})), "Invalid value for DateLess"),
        (doc(allow(Condition={"Bool": {"k": "yes"}})), "Invalid value for Bool"),
        (doc(allow(Condition={"Null": {"k": "maybe"}})), "Invalid value for Null"),
        (doc(allow(Condition={"IpAddress": {"k": "10.0.0.300/8"}})), "Invalid value for IpAddress"),
        (doc(allow(Condition={"BinaryEquals": {"k": "!!"}})), "Invalid value for BinaryEquals"),
        ('{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}', "Syntax errors in policy."),
        ('{"Statement": [], "Version": NaN}', "Syntax errors in policy."),
        ("[" * 100000, "Syntax errors in policy."),
    ],
)
def test_refused_with_iam_message(text: str, message: str) -> None:
    assert refused(text).startswith(message)


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        ("session", {"Principal": "*"}, "Has prohibited field Principal"),
        ("session", {"NotPrincipal": "*"}, "Has prohibited field NotPrincipal"),
        ("resource", {}, "Missing required field Principal"),
        ("key", {}, "Missing required field Principal"),
        ("trust", {}, "Missing required field Principal"),
        ("resource", {"Principal": "*", "NotPrincipal": "*"}, "Syntax errors in policy."),
        (
            "resource",
            {"Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}},
            "Invalid principal",
        ),
        ("resource", {"Principal": {"AWS": "arn:aws:iam::1111*:root"}}, "Invalid principal"),
        ("resource", {"Principal": {"AWS": "alice"}}, "Invalid principal"),
        ("resource", {"Principal": {"AWS": " 111122223333"}}, "Invalid principal"),
        ("resource", {"Principal": {"Users": "x"}}, "Invalid principal"),
        ("resource", {"Principal": {}}, "Invalid principal"),
        ("resource", {"Principal": "alice"}, "Invalid principal"),
        ("resource", {"Principal": {"AWS": []}}, "Syntax errors in policy."),
    ],
)
def test_principal_rules_per_kind(kind: PolicyKind, extra: dict[str, object], message: str) -> None:
    assert refused(doc(allow(**extra)), kind).startswith(message)


def test_trust_policy_has_no_resource_and_only_sts_actions() -> None:
    principal = {"AWS": "arn:aws:iam::111122223333:root"}
    trust: dict[str, object] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["sts:AssumeRole", "sts:Tag*"],
    }
    (statement,) = parse_policy(doc(trust), "trust").statements
    assert statement.resource is None
    assert statement.not_resource is None
    bad = trust | {"Action": "secretsmanager:GetSecretValue"}
    assert (
        refused(doc(bad), "trust") == "AssumeRole policy may only specify STS AssumeRole actions."
    )
    assert refused(doc(trust), "resource") == "Policy statement must contain resources."
    assert refused(doc(trust | {"Resource": "*"}), "trust") == "Has prohibited field Resource"
    assert refused(doc(trust | {"NotResource": "*"}), "trust") == "Has prohibited field NotResource"


def test_size_quota_ignores_whitespace() -> None:
    text = doc(allow())
    size = len("".join(text.split()))
    spaced = text.replace(",", " ,\n\t ")
    assert parse_policy(spaced, "identity", max_bytes=size).statements
    message = refused(spaced, max_bytes=size - 1)
    assert message == f"Cannot exceed quota for PolicySize: {size - 1}"


def test_messages_never_echo_large_fragments() -> None:
    huge = "x" * 5000
    for text in (
        doc(allow(Resource=huge)),
        doc(allow(Effect=huge)),
        doc(allow(Condition={huge: {"k": "v"}})),
        doc(allow(Condition={"StringEquals": {huge: "v"}})),
        json.dumps({"Statement": [allow()], huge: 1}),
    ):
        assert len(refused(text)) < 120


def test_operators_accept_every_iam_form_and_are_canonicalised() -> None:
    names = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
        "ArnLike", "ArnNotEquals", "ArnNotLike",
    ]  # fmt: skip
    sample = {"Numeric": "1", "Date": "2024-01-01T00:00:00Z", "Bool": "true", "Binary": "QUJD"}
    sample |= {"IpAddress": "10.0.0.0/8", "NotIpAddress": "::1"}
    for name in names:
        value = next((v for k, v in sample.items() if name.startswith(k)), "v")
        for form in (
            name,
            f"{name}IfExists",
            f"ForAllValues:{name}",
            f"ForAnyValue:{name}IfExists",
        ):
            text = doc(allow(Condition={form.lower(): {"Key": value}}))
            (condition,) = parse_policy(text, "identity").statements[0].conditions
            assert condition.operator == form
    null = parse_policy(doc(allow(Condition={"Null": {"k": "false"}})), "identity")
    assert null.statements[0].conditions[0].operator == "Null"


def test_variables_are_allowed_in_typed_values_and_checked_later() -> None:
    text = doc(allow(Condition={"NumericLessThan": {"k": "${aws:EpochTime}"}}))
    assert parse_policy(text, "identity").statements
    assert refused(doc(allow(Condition={"Null": {"k": "${aws:x}"}}))).startswith("Invalid value")
    # Without Version 2012-10-17 the same text is a literal, not a number.
    assert refused(text.replace("2012-10-17", "2008-10-17")).startswith("Invalid value")


KMS_DEFAULT_KEY_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""


def test_kms_default_key_policy_parses() -> None:
    policy = parse_policy(KMS_DEFAULT_KEY_POLICY, "key", max_bytes=32768)
    assert policy.id == "key-default-1"
    assert policy.statements[0].sid == "Enable IAM User Permissions"


@pytest.mark.parametrize(
    ("kind", "accepted"),
    [("resource", True), ("key", True), ("identity", False), ("session", False), ("trust", False)],
)
def test_free_form_sids_only_outside_iam(kind: PolicyKind, accepted: bool) -> None:
    statement: dict[str, object] = {"Sid": "Allow reads, please", "Effect": "Allow"}
    statement |= {"Action": "sts:AssumeRole", "Resource": "*"}
    if kind in ("resource", "key", "trust"):
        statement["Principal"] = "*"
    if accepted:
        assert parse_policy(doc(statement), kind).statements[0].sid == "Allow reads, please"
    else:
        assert refused(doc(statement), kind).startswith("Statement IDs (SID) must be alpha-numeric")


def test_unicode_tag_keys_in_conditions_and_variables() -> None:
    text = doc(
        allow(Condition={"StringEquals": {"aws:ResourceTag/Kunde Nr": "${aws:PrincipalTag/ключ}"}})
    )
    (statement,) = parse_policy(text, "identity").statements
    principal = PrincipalRef(("arn:aws:iam::111122223333:user/a",), "111122223333")
    keys = {"aws:PrincipalTag/КЛЮЧ": ("k-1",), "AWS:resourcetag/kunde nr": ("k-1",)}
    assert statement_matches(
        statement, RequestContext("secretsmanager:GetSecretValue", ARN, principal, keys)
    )
    keys["AWS:resourcetag/kunde nr"] = ("k-2",)
    assert not statement_matches(
        statement, RequestContext("secretsmanager:GetSecretValue", ARN, principal, keys)
    )
    assert refused(doc(allow(Condition={"StringEquals": {"a\nb": "v"}}))).startswith("Syntax")
