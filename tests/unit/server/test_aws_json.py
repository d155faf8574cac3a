"""Tests for strongroom.server.aws_json: JSON 1.1 parsing, model-driven validation, encoding."""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import botocore.parsers
import botocore.serialize
import botocore.session
import pytest
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.errors import SerializationException, ValidationException
from strongroom.server.aws_json import (
    MAX_JSON_DEPTH,
    SKIPPED_PATTERNS,
    OperationDecoder,
    compile_service,
    encode_response,
    parse_json_body,
)

_SESSION = botocore.session.get_session()
SM_MODEL: ServiceModel = _SESSION.get_service_model("secretsmanager", "2017-10-17")
KMS_MODEL: ServiceModel = _SESSION.get_service_model("kms", "2014-11-01")
MODELS = {"secretsmanager": SM_MODEL, "kms": KMS_MODEL}
DECODERS = {name: compile_service(model) for name, model in MODELS.items()}
SM = DECODERS["secretsmanager"]
KMS = DECODERS["kms"]
ALL_OPERATIONS = [
    (service, op) for service, model in MODELS.items() for op in model.operation_names
]
CANARY = "CANARY-7f3a"  # placed in sensitive values; must never reach a message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode(decoder: OperationDecoder, document: dict[str, Any]) -> dict[str, Any]:
    """Decode the way the server will: through JSON bytes and parse_json_body."""
    return decoder.decode(parse_json_body(json.dumps(document).encode("utf-8")))


def validation_message(decoder: OperationDecoder, document: dict[str, Any]) -> str:
    with pytest.raises(ValidationException) as caught:
        decode(decoder, document)
    return caught.value.message


def serialization_message(decoder: OperationDecoder, document: dict[str, Any]) -> str:
    with pytest.raises(SerializationException) as caught:
        decoder.decode(document)
    return caught.value.message


def one(path_and_constraint: str) -> str:
    return f"1 validation error detected: {path_and_constraint}"


# --------------------------------------------------------------------------------------------
# parse_json_body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", {}),
        (b"  \r\n\t", {}),
        (b"{}", {}),
        (b'{"SecretId": "a", "n": [1, 2.5, true, null, {"x": "\xc3\xa9"}]}', None),
        (b'{"s": "\\ud83d\\ude00"}', {"s": "\U0001f600"}),
    ],
)
def test_parse_accepts(body: bytes, expected: dict[str, Any] | None) -> None:
    parsed = parse_json_body(body)
    assert parsed == (json.loads(body) if expected is None else expected)


def _nested_objects(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def _nested_lists(depth: int) -> bytes:  # one object holding depth-1 lists
    return ('{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff{}", id="invalid-utf8"),
        pytest.param(b'{"a": "\xc3"}', id="truncated-utf8"),
        pytest.param('{"a": 1}'.encode("utf-16"), id="utf16"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="utf8-bom"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"a": 1} x', id="trailing-garbage"),
        pytest.param(b"{'a': 1}", id="single-quotes"),
        pytest.param(b"[]", id="top-level-list"),
        pytest.param(b'"x"', id="top-level-string"),
        pytest.param(b"1", id="top-level-number"),
        pytest.param(b"null", id="top-level-null"),
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": Infinity}', id="infinity"),
        pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
        pytest.param(b'{"a": 1e400}', id="float-overflow"),
        pytest.param(b'{"a": ' + b"9" * 5000 + b"}", id="int-too-many-digits"),
        pytest.param(b'{"a": 1, "a": 2}', id="duplicate-key"),
        pytest.param(b'{"a": {"b": 1, "b": 1}}', id="nested-duplicate-key"),
        pytest.param(_nested_objects(MAX_JSON_DEPTH + 1), id="objects-33-deep"),
        pytest.param(_nested_lists(MAX_JSON_DEPTH + 1), id="lists-33-deep"),
        pytest.param(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="recursion"),
        pytest.param(b'{"a":' + b"[" * 100_000, id="recursion-unterminated"),
    ],
)
def test_parse_rejects(body: bytes) -> None:
    with pytest.raises(SerializationException):
        parse_json_body(body)


def test_parse_allows_exactly_max_depth() -> None:
    assert parse_json_body(_nested_objects(MAX_JSON_DEPTH))
    assert parse_json_body(_nested_lists(MAX_JSON_DEPTH))


def test_parse_counts_only_real_nesting() -> None:
    """Brackets inside strings do not count toward the depth limit."""
    body = json.dumps({"SecretString": "{[" * 1000, "l": [[{"a": []}]]}).encode()
    assert parse_json_body(body)["SecretString"] == "{[" * 1000


@pytest.mark.parametrize(
    "body",
    [
        b'{"SecretString": "hunter2-SECRET-MARKER", broken}',
        b'{"SecretString": "hunter2-SECRET-MARKER"',
        b'["hunter2-SECRET-MARKER"]',
        b'{"SecretString": "hunter2-SECRET-MARKER", "SecretString": "x"}',
        b'{"SECRET-MARKER": NaN}',
        b'{"SECRET-MARKER": "\xff"}',
    ],
)
def test_parse_errors_never_echo_the_body(body: bytes) -> None:
    with pytest.raises(SerializationException) as caught:
        parse_json_body(body)
    assert "MARKER" not in caught.value.message
    assert "hunter2" not in str(caught.value)


# --------------------------------------------------------------------------------------------
# Compilation


def test_every_operation_of_both_models_compiles() -> None:
    for service, model in MODELS.items():
        decoders = DECODERS[service]
        assert sorted(decoders) == sorted(model.operation_names)
        assert all(isinstance(decoder, OperationDecoder) for decoder in decoders.values())
    assert len(SM) == 26
    assert len(KMS) >= 50


def _all_patterns(model: ServiceModel) -> set[str]:
    patterns = set()
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern is not None:
            patterns.add(pattern)
    return patterns


@pytest.mark.parametrize("service", sorted(MODELS))
def test_every_model_pattern_compiles_or_is_listed_as_skipped(service: str) -> None:
    patterns = _all_patterns(MODELS[service])
    assert patterns
    for pattern in patterns:
        if pattern in SKIPPED_PATTERNS:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # FutureWarning = Python would read it differently
            re.compile(pattern, re.ASCII)


def test_skipped_patterns_are_patterns_of_the_models() -> None:
    """The explicit list holds no stale entries."""
    assert set(SKIPPED_PATTERNS) <= _all_patterns(SM_MODEL) | _all_patterns(KMS_MODEL)


# --------------------------------------------------------------------------------------------
# Types: a wrong JSON type is a SerializationException with AWS's text


NOT_STRUCT = "Start of structure or map found where not expected."
NOT_LIST = "Start of list found where not expected."


@pytest.mark.parametrize(
    ("decoder", "document", "message"),
    [
        # string
        (SM["GetSecretValue"], {"SecretId": 5}, "NUMBER_VALUE can not be converted to a String"),
        (SM["GetSecretValue"], {"SecretId": 1.5}, "DECIMAL_VALUE can not be converted to a String"),
        (SM["GetSecretValue"], {"SecretId": True}, "TRUE_VALUE can not be converted to a String"),
        (SM["GetSecretValue"], {"SecretId": False}, "FALSE_VALUE can not be converted to a String"),
        (SM["GetSecretValue"], {"SecretId": {}}, NOT_STRUCT),
        (SM["GetSecretValue"], {"SecretId": ["a"]}, NOT_LIST),
        (SM["GetSecretValue"], {"SecretId": "\ud800"}, "Invalid Unicode string value."),
        # integer (bool is not an integer)
        (KMS["ListKeys"], {"Limit": "5"}, "STRING_VALUE can not be converted to an Integer"),
        (KMS["ListKeys"], {"Limit": True}, "TRUE_VALUE can not be converted to an Integer"),
        (KMS["ListKeys"], {"Limit": False}, "FALSE_VALUE can not be converted to an Integer"),
        (KMS["ListKeys"], {"Limit": 5.0}, "DECIMAL_VALUE can not be converted to an Integer"),
        (KMS["ListKeys"], {"Limit": 2**31}, "NUMBER_VALUE can not be converted to an Integer"),
        (
            KMS["ListKeys"],
            {"Limit": -(2**31) - 1},
            "NUMBER_VALUE can not be converted to an Integer",
        ),
        (KMS["ListKeys"], {"Limit": [1]}, NOT_LIST),
        (KMS["ListKeys"], {"Limit": {"a": 1}}, NOT_STRUCT),
        # long
        (
            SM["DeleteSecret"],
            {"SecretId": "s", "RecoveryWindowInDays": 2**63},
            "NUMBER_VALUE can not be converted to a Long",
        ),
        (
            SM["DeleteSecret"],
            {"SecretId": "s", "RecoveryWindowInDays": "7"},
            "STRING_VALUE can not be converted to a Long",
        ),
        # boolean
        (
            SM["DeleteSecret"],
            {"SecretId": "s", "ForceDeleteWithoutRecovery": "true"},
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            SM["DeleteSecret"],
            {"SecretId": "s", "ForceDeleteWithoutRecovery": 1},
            "NUMBER_VALUE can not be converted to a Boolean",
        ),
        # blob
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": 5},
            "only base-64-encoded strings are convertible to bytes",
        ),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": True},
            "only base-64-encoded strings are convertible to bytes",
        ),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": ["AAAA"]},
            "only base-64-encoded strings are convertible to bytes",
        ),
        (KMS["Encrypt"], {"KeyId": "k", "Plaintext": {}}, NOT_STRUCT),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "abcde"},
            "Base64 encoded length is expected a multiple of 4 bytes but found: 5",
        ),
        (KMS["Encrypt"], {"KeyId": "k", "Plaintext": "ab!="}, "Invalid Base64 character detected."),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "AA\nA"},
            "Invalid Base64 character detected.",
        ),
        (KMS["Encrypt"], {"KeyId": "k", "Plaintext": "ééé="}, "Invalid Base64 character detected."),
        # timestamp
        (
            KMS["ImportKeyMaterial"],
            {"KeyId": "k", "ImportToken": "AA==", "EncryptedKeyMaterial": "AA==", "ValidTo": True},
            "TRUE_VALUE can not be converted to a Timestamp",
        ),
        (
            KMS["ImportKeyMaterial"],
            {
                "KeyId": "k",
                "ImportToken": "AA==",
                "EncryptedKeyMaterial": "AA==",
                "ValidTo": "soon",
            },
            "STRING_VALUE can not be converted to a Timestamp",
        ),
        (
            KMS["ImportKeyMaterial"],
            {"KeyId": "k", "ImportToken": "AA==", "EncryptedKeyMaterial": "AA==", "ValidTo": 1e300},
            "DECIMAL_VALUE can not be converted to a Timestamp",
        ),
        (
            KMS["ImportKeyMaterial"],
            {"KeyId": "k", "ImportToken": "AA==", "EncryptedKeyMaterial": "AA==", "ValidTo": []},
            NOT_LIST,
        ),
        # list
        (SM["ListSecrets"], {"Filters": "name"}, "Unexpected field type"),
        (SM["ListSecrets"], {"Filters": 3}, "Unexpected field type"),
        (SM["ListSecrets"], {"Filters": {"Key": "name"}}, NOT_STRUCT),
        (SM["ListSecrets"], {"Filters": [5]}, "Unexpected field type"),
        (SM["ListSecrets"], {"Filters": [[]]}, NOT_LIST),
        (
            SM["ListSecrets"],
            {"Filters": [{"Key": "name", "Values": [7]}]},
            "NUMBER_VALUE can not be converted to a String",
        ),
        # map
        (KMS["Encrypt"], {"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": []}, NOT_LIST),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": "a=b"},
            "Unexpected field type",
        ),
        (
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": {"a": 1}},
            "NUMBER_VALUE can not be converted to a String",
        ),
        # structure
        (SM["RotateSecret"], {"SecretId": "s", "RotationRules": "daily"}, "Unexpected field type"),
        (SM["RotateSecret"], {"SecretId": "s", "RotationRules": []}, NOT_LIST),
    ],
)
def test_wrong_json_type_is_a_serialization_exception(
    decoder: OperationDecoder, document: dict[str, Any], message: str
) -> None:
    assert serialization_message(decoder, document) == message


def test_serialization_error_wins_over_validation_errors() -> None:
    document = {"SecretId": "", "VersionId": "short", "VersionStage": 5}
    assert (
        serialization_message(SM["GetSecretValue"], document)
        == "NUMBER_VALUE can not be converted to a String"
    )


def test_top_level_must_be_an_object() -> None:
    not_a_dict: Any = ["SecretId"]
    assert serialization_message(SM["GetSecretValue"], not_a_dict) == NOT_LIST


# --------------------------------------------------------------------------------------------
# Decoding of valid documents


def test_decode_get_secret_value() -> None:
    document = {"SecretId": "prod/db", "VersionStage": "AWSCURRENT"}
    assert decode(SM["GetSecretValue"], document) == document


def test_decode_drops_unknown_members_and_nulls() -> None:
    document = {"SecretId": "s", "Unknown": {"deep": [1]}, "VersionId": None, "secretId": 5}
    assert decode(SM["GetSecretValue"], document) == {"SecretId": "s"}


def test_member_names_are_case_sensitive() -> None:
    assert validation_message(SM["GetSecretValue"], {"secretId": "s"}) == one(
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    )


def test_decode_blobs_to_bytes() -> None:
    data = bytes(range(256)) * 4
    result = decode(KMS["Encrypt"], {"KeyId": "k", "Plaintext": b64(data)})
    assert result == {"KeyId": "k", "Plaintext": data}


def test_decode_nested_structures_lists_and_maps() -> None:
    filters = [{"Key": "name", "Values": ["a", "!b"]}, {"Key": "tag-key", "Values": ["x"]}]
    assert decode(SM["ListSecrets"], {"Filters": filters, "MaxResults": 100}) == {
        "Filters": filters,
        "MaxResults": 100,
    }
    context = {"purpose": "test", "": "", "é": "ü"}
    result = decode(
        KMS["Encrypt"], {"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": context}
    )
    assert result["EncryptionContext"] == context


_VALID_TO = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (1700000000, _VALID_TO),
        (1700000000.25, _VALID_TO + timedelta(milliseconds=250)),
        ("2023-11-14T22:13:20Z", _VALID_TO),
        ("2023-11-14T22:13:20.250Z", _VALID_TO + timedelta(milliseconds=250)),
        ("2023-11-14T22:13:20", _VALID_TO),  # no offset: UTC
        ("2023-11-14T23:13:20+01:00", _VALID_TO),
    ],
)
def test_decode_timestamps(wire: float | str, expected: datetime) -> None:
    document = {
        "KeyId": "k",
        "ImportToken": "AA==",
        "EncryptedKeyMaterial": "AA==",
        "ValidTo": wire,
    }
    valid_to = decode(KMS["ImportKeyMaterial"], document)["ValidTo"]
    assert valid_to == expected
    assert valid_to.tzinfo is not None


# --------------------------------------------------------------------------------------------
# Constraints: ValidationException with AWS's texts, every violation, sorted by path


@pytest.mark.parametrize(
    ("decoder", "document", "message"),
    [
        pytest.param(
            SM["GetSecretValue"],
            {},
            one("Value null at 'secretId' failed to satisfy constraint: Member must not be null"),
            id="required-missing",
        ),
        pytest.param(
            SM["GetSecretValue"],
            {"SecretId": None},
            one("Value null at 'secretId' failed to satisfy constraint: Member must not be null"),
            id="required-null",
        ),
        pytest.param(
            SM["ListSecretVersionIds"],
            {"MaxResults": 0},
            "2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint:"
            " Member must have value greater than or equal to 1; Value null at 'secretId' failed to"
            " satisfy constraint: Member must not be null",
            id="two-errors-sorted-by-path",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"MaxResults": 101},
            one(
                "Value '101' at 'maxResults' failed to satisfy constraint:"
                " Member must have value less than or equal to 100"
            ),
            id="integer-max",
        ),
        pytest.param(
            SM["CreateSecret"],
            {"Name": ""},
            one(
                "Value '' at 'name' failed to satisfy constraint:"
                " Member must have length greater than or equal to 1"
            ),
            id="string-min",
        ),
        pytest.param(
            SM["CreateSecret"],
            {"Name": "n", "Description": "d" * 2049},
            one(
                f"Value '{'d' * 100}...' at 'description' failed to satisfy constraint:"
                " Member must have length less than or equal to 2048"
            ),
            id="string-max-echo-truncated",
        ),
        pytest.param(
            SM["CreateSecret"],
            {"Name": "n", "SecretString": "x" * 65537},
            one(
                "Value at 'secretString' failed to satisfy constraint:"
                " Member must have length less than or equal to 65536"
            ),
            id="sensitive-string-not-echoed",
        ),
        pytest.param(
            SM["CreateSecret"],
            {"Name": "n", "SecretString": "é" * 65537},
            one(
                "Value at 'secretString' failed to satisfy constraint:"
                " Member must have length less than or equal to 65536"
            ),
            id="length-counts-code-points",
        ),
        pytest.param(
            SM["CreateSecret"],
            {"Name": "n", "SecretBinary": b64(b"\0" * 65537)},
            one(
                "Value at 'secretBinary' failed to satisfy constraint:"
                " Member must have length less than or equal to 65536"
            ),
            id="blob-length-counts-bytes",
        ),
        pytest.param(
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": ""},
            one(
                "Value at 'plaintext' failed to satisfy constraint:"
                " Member must have length greater than or equal to 1"
            ),
            id="blob-min",
        ),
        pytest.param(
            KMS["GenerateRandom"],
            {"NumberOfBytes": 1025},
            one(
                "Value '1025' at 'numberOfBytes' failed to satisfy constraint:"
                " Member must have value less than or equal to 1024"
            ),
            id="integer-max-kms",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"SortOrder": "up"},
            one(
                "Value 'up' at 'sortOrder' failed to satisfy constraint:"
                " Member must satisfy enum value set: [asc, desc]"
            ),
            id="enum",
        ),
        pytest.param(
            KMS["CreateAlias"],
            {"AliasName": "alias/bad name", "TargetKeyId": "k"},
            one(
                "Value 'alias/bad name' at 'aliasName' failed to satisfy constraint:"
                " Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            ),
            id="pattern",
        ),
        pytest.param(
            KMS["PutKeyPolicy"],
            {"KeyId": "k", "Policy": "{}", "PolicyName": "défault"},
            one(
                "Value 'défault' at 'policyName' failed to satisfy constraint:"
                " Member must satisfy regular expression pattern: [\\w]+"
            ),
            id="pattern-java-ascii-word",
        ),
        pytest.param(
            KMS["PutKeyPolicy"],
            {"KeyId": "k", "Policy": "{}", "PolicyName": "default\n"},
            one(
                "Value 'default\n' at 'policyName' failed to satisfy constraint:"
                " Member must satisfy regular expression pattern: [\\w]+"
            ),
            id="pattern-is-a-full-match",
        ),
        pytest.param(
            SM["RotateSecret"],
            {"SecretId": "s", "RotationRules": {"Duration": "5d"}},
            one(
                "Value '5d' at 'rotationRules.duration' failed to satisfy constraint:"
                " Member must satisfy regular expression pattern: [0-9]+h"
            ),
            id="nested-member-path",
        ),
        pytest.param(
            SM["RotateSecret"],
            {"SecretId": "s", "RotationRules": {"Duration": "x", "AutomaticallyAfterDays": 0}},
            "3 validation errors detected: Value '0' at 'rotationRules.automaticallyAfterDays'"
            " failed to satisfy constraint: Member must have value greater than or equal to 1;"
            " Value 'x' at 'rotationRules.duration' failed to satisfy constraint:"
            " Member must have length greater than or equal to 2;"
            " Value 'x' at 'rotationRules.duration' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: [0-9]+h",
            id="several-violations-one-member",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"Filters": [{"Key": "bad", "Values": ["ok", "#bad"]}]},
            "2 validation errors detected: Value 'bad' at 'filters.1.member.key' failed to satisfy"
            " constraint: Member must satisfy enum value set: [description, name, tag-key,"
            " tag-value, primary-region, owning-service, all]; Value '[ok, #bad]' at"
            " 'filters.1.member.values' failed to satisfy constraint: Member must satisfy"
            " constraint: [Member must have length less than or equal to 512, Member must satisfy"
            " regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$, Member must"
            " not be null]",
            id="list-of-structures-and-list-of-strings",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"Filters": [{"Key": "name", "Values": []}]},
            one(
                "Value at 'filters.1.member.values' failed to satisfy constraint:"
                " Member must have length greater than or equal to 1"
            ),
            id="list-min",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"Filters": [{"Key": "name"}] * 11},
            one(
                "Value at 'filters' failed to satisfy constraint:"
                " Member must have length less than or equal to 10"
            ),
            id="list-max",
        ),
        pytest.param(
            SM["ListSecrets"],
            {"Filters": [{"Key": "name"}, None]},
            one(
                "Value null at 'filters.2.member' failed to satisfy constraint:"
                " Member must not be null"
            ),
            id="list-null-structure",
        ),
        pytest.param(
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "AA==", "GrantTokens": ["ok", None]},
            one(
                "Value '[ok, null]' at 'grantTokens' failed to satisfy constraint: Member must"
                " satisfy constraint: [Member must have length less than or equal to 8192, Member"
                " must have length greater than or equal to 1, Member must not be null]"
            ),
            id="list-null-string",
        ),
        pytest.param(
            SM["TagResource"],
            {"SecretId": "s", "Tags": [{"Key": "ok"}, {"Key": "", "Value": "v" * 257}]},
            "2 validation errors detected: Value '' at 'tags.2.member.key' failed to satisfy"
            " constraint: Member must have length greater than or equal to 1;"
            f" Value '{'v' * 100}...' at 'tags.2.member.value' failed to satisfy constraint:"
            " Member must have length less than or equal to 256",
            id="tags-paths",
        ),
        pytest.param(
            KMS["TagResource"],
            {"KeyId": "k", "Tags": [{"TagKey": "a", "TagValue": "b"}] * 9 + [{"TagKey": "c"}]},
            one(
                "Value null at 'tags.10.member.tagValue' failed to satisfy constraint:"
                " Member must not be null"
            ),
            id="required-in-list-element",
        ),
        pytest.param(
            KMS["TagResource"],
            {
                "KeyId": "k",
                "Tags": [{"TagKey": ""}] * 2
                + [{"TagKey": "a", "TagValue": "b"}] * 8
                + [{"TagValue": "v"}],
            },
            "5 validation errors detected: Value '' at 'tags.1.member.tagKey' failed to satisfy"
            " constraint: Member must have length greater than or equal to 1; Value null at"
            " 'tags.1.member.tagValue' failed to satisfy constraint: Member must not be null;"
            " Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have"
            " length greater than or equal to 1; Value null at 'tags.2.member.tagValue' failed to"
            " satisfy constraint: Member must not be null; Value null at 'tags.11.member.tagKey'"
            " failed to satisfy constraint: Member must not be null",
            id="list-indexes-sort-numerically",
        ),
        pytest.param(
            KMS["Encrypt"],
            {"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": {"a": "b", "c": None}},
            one(
                "Value at 'encryptionContext' failed to satisfy constraint:"
                " Map value must satisfy constraint: [Member must not be null]"
            ),
            id="map-null-value",
        ),
        pytest.param(
            KMS["CreateCustomKeyStore"],
            {"CustomKeyStoreName": "n", "KeyStorePassword": f"{CANARY[:3]}"},
            one(
                "Value at 'keyStorePassword' failed to satisfy constraint:"
                " Member must have length greater than or equal to 7"
            ),
            id="sensitive-kms-password",
        ),
        pytest.param(
            KMS["CreateCustomKeyStore"],
            {
                "CustomKeyStoreName": "n",
                "XksProxyAuthenticationCredential": {
                    "AccessKeyId": "A" * 20,
                    "RawSecretAccessKey": "!",
                },
            },
            "2 validation errors detected: Value at"
            " 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy constraint:"
            " Member must have length greater than or equal to 43; Value at"
            " 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: ^[a-zA-Z0-9\\/+=]+$",
            id="sensitive-nested-pattern",
        ),
    ],
)
def test_constraint_violations(
    decoder: OperationDecoder, document: dict[str, Any], message: str
) -> None:
    assert validation_message(decoder, document) == message


def test_model_without_limits_gets_none_invented() -> None:
    """RecoveryWindowInDays has no min/max in the model (AWS checks 7..30 in the service)."""
    for days in (-(2**63), 0, 1, 31, 2**63 - 1):
        document = {"SecretId": "s", "RecoveryWindowInDays": days}
        assert decode(SM["DeleteSecret"], document)["RecoveryWindowInDays"] == days


def test_limits_are_inclusive() -> None:
    assert decode(SM["ListSecrets"], {"MaxResults": 1, "Filters": [{"Key": "all"}] * 10})
    assert decode(SM["ListSecrets"], {"MaxResults": 100})
    secret = "😀" * 65536  # 65536 code points, 262144 UTF-8 bytes
    assert (
        decode(SM["CreateSecret"], {"Name": "n", "SecretString": secret})["SecretString"] == secret
    )
    assert decode(SM["CreateSecret"], {"Name": "n", "SecretBinary": b64(b"\1" * 65536)})


@pytest.mark.parametrize(
    "document",
    [
        {"Name": "n", "SecretString": CANARY * 10000},
        {"Name": CANARY * 100, "SecretString": CANARY * 10000},
        {"Name": "n", "SecretBinary": b64(CANARY.encode() * 10000)},
    ],
)
def test_sensitive_values_never_reach_messages(document: dict[str, Any]) -> None:
    message = validation_message(SM["CreateSecret"], document)
    if "Name" in document and len(document["Name"]) > 512:
        assert "'CANARY" in message  # the name is not sensitive and is echoed (truncated)
        message = message.replace(document["Name"][:100], "")
    assert CANARY not in message
    assert b64(CANARY.encode())[:8] not in message


# --------------------------------------------------------------------------------------------
# Synthetic models: traits and types the two real models do not exercise


def _synthetic_model(shapes: dict[str, Any]) -> ServiceModel:
    return ServiceModel(
        {
            "metadata": {
                "apiVersion": "2024-01-01",
                "endpointPrefix": "synthetic",
                "jsonVersion": "1.1",
                "protocol": "json",
                "serviceId": "Synthetic",
                "signatureVersion": "v4",
                "targetPrefix": "Synthetic",
            },
            "operations": {
                "Op": {
                    "name": "Op",
                    "http": {"method": "POST", "requestUri": "/"},
                    "input": {"shape": "In"},
                },
                "NoInput": {"name": "NoInput", "http": {"method": "POST", "requestUri": "/"}},
            },
            "shapes": shapes,
        },
        service_name="synthetic",
    )


SYNTHETIC = compile_service(
    _synthetic_model(
        {
            "In": {
                "type": "structure",
                "members": {
                    "Vault": {"shape": "Vault"},
                    "Node": {"shape": "Node"},
                    "Labels": {"shape": "Labels"},
                    "Nested": {"shape": "Nested"},
                    "Ratio": {"shape": "Ratio"},
                    "Renamed": {"shape": "Text", "locationName": "wireName"},
                    "Doc": {"shape": "Doc"},
                },
            },
            "Vault": {
                "type": "structure",
                "sensitive": True,
                "members": {"Note": {"shape": "Short"}, "Codes": {"shape": "Codes"}},
            },
            "Codes": {"type": "list", "member": {"shape": "Short"}},
            "Short": {"type": "string", "max": 3},
            "Text": {"type": "string"},
            "Node": {
                "type": "structure",
                "required": ["Name"],
                "members": {"Name": {"shape": "Short"}, "Child": {"shape": "Node"}},
            },
            "Labels": {
                "type": "map",
                "key": {"shape": "LabelKey"},
                "value": {"shape": "Short"},
                "max": 2,
            },
            "LabelKey": {"type": "string", "min": 2, "pattern": "[a-z]+"},
            "Nested": {"type": "map", "key": {"shape": "Text"}, "value": {"shape": "Node"}},
            "Ratio": {"type": "double", "min": 0, "max": 1},
            "Doc": {"type": "structure", "members": {}, "document": True},
        }
    )
)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"Vault": {"Note": CANARY}},
            one(
                "Value at 'vault.note' failed to satisfy constraint:"
                " Member must have length less than or equal to 3"
            ),
            id="enclosing-structure-sensitive",
        ),
        pytest.param(
            {"Vault": {"Codes": ["ok", CANARY]}},
            one(
                "Value at 'vault.codes' failed to satisfy constraint: Member must satisfy"
                " constraint: [Member must have length less than or equal to 3, Member must not be"
                " null]"
            ),
            id="enclosing-structure-sensitive-list",
        ),
        pytest.param(
            {"Node": {"Name": "a", "Child": {"Child": {"Name": "long"}}}},
            "2 validation errors detected: Value 'long' at 'node.child.child.name' failed to"
            " satisfy constraint: Member must have length less than or equal to 3; Value null"
            " at 'node.child.name' failed to satisfy constraint: Member must not be null",
            id="recursive-shape",
        ),
        pytest.param(
            {"Labels": {"ok": "a", "X": "b", "y": "long"}},
            "3 validation errors detected: Value at 'labels' failed to satisfy constraint: Member"
            " must have length less than or equal to 2; Value at 'labels' failed to satisfy"
            " constraint: Map keys must satisfy constraint: [Member must have length greater than"
            " or equal to 2, Member must satisfy regular expression pattern: [a-z]+]; Value at"
            " 'labels' failed to satisfy constraint: Map value must satisfy constraint: [Member"
            " must have length less than or equal to 3]",
            id="map-keys-and-values",
        ),
        pytest.param(
            {"Nested": {"k1": {}, "k2": {"Name": "long"}}},
            "2 validation errors detected: Value null at 'nested.k1.name' failed to satisfy"
            " constraint: Member must not be null; Value 'long' at 'nested.k2.name' failed to"
            " satisfy constraint: Member must have length less than or equal to 3",
            id="map-of-structures",
        ),
        pytest.param(
            {"Ratio": 1.5},
            one(
                "Value '1.5' at 'ratio' failed to satisfy constraint:"
                " Member must have value less than or equal to 1"
            ),
            id="double-range",
        ),
    ],
)
def test_synthetic_constraints(document: dict[str, Any], message: str) -> None:
    assert validation_message(SYNTHETIC["Op"], document) == message


def test_map_keys_in_paths_sort_without_failing() -> None:
    document: dict[str, Any] = {"Nested": {"\u00b2": {}, "9" * 5000: {}, "10": {}, "9": {}}}
    message = validation_message(SYNTHETIC["Op"], document)
    paths = re.findall(r"at '([^']*)'", message)
    assert paths == [
        "nested.9.name",
        "nested.10.name",
        f"nested.{'9' * 5000}.name",
        "nested.\u00b2.name",
    ]


def test_synthetic_decoding() -> None:
    op = SYNTHETIC["Op"]
    assert decode(op, {"wireName": "x", "Renamed": "ignored"}) == {"Renamed": "x"}
    assert decode(op, {"Doc": {"any": [1, {"thing": None}]}}) == {
        "Doc": {"any": [1, {"thing": None}]}
    }
    assert decode(op, {"Ratio": 1}) == {"Ratio": 1.0}
    assert (
        serialization_message(op, {"Ratio": True}) == "TRUE_VALUE can not be converted to a Double"
    )
    assert (
        serialization_message(op, {"Ratio": 10**400})
        == "NUMBER_VALUE can not be converted to a Double"
    )
    assert SYNTHETIC["NoInput"].decode({"anything": 1}) == {}


def test_recursive_shape_with_deep_document_is_a_serialization_exception() -> None:
    node: dict[str, Any] = {"Name": "a"}
    for _ in range(5000):  # decode() may be handed documents that did not come from parse
        node = {"Name": "a", "Child": node}
    with pytest.raises(SerializationException):
        SYNTHETIC["Op"].decode({"Node": node})


def test_unsupported_shape_type_fails_at_compile_time() -> None:
    model = _synthetic_model(
        {"In": {"type": "structure", "members": {"X": {"shape": "X"}}}, "X": {"type": "bigdecimal"}}
    )
    with pytest.raises(ValueError, match="unsupported type"):
        compile_service(model)


# --------------------------------------------------------------------------------------------
# Generators over the input shapes (botocore parameter form)

_INT_LIMITS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_SINGLE_CLASS = re.compile(r"\^?(\[(?:\\.|[^\]\\])+\])[+*]\$?")


def _string_strategy(shape: Shape) -> st.SearchStrategy[str]:
    meta = shape.metadata
    low = meta.get("min", 0)
    high = min(meta.get("max", low + 40), low + 40)
    if shape.enum:
        return st.sampled_from(shape.enum)
    pattern = meta.get("pattern")
    if pattern is None:
        return st.text(min_size=low, max_size=high)
    regex = re.compile(pattern, re.ASCII)
    single = _SINGLE_CLASS.fullmatch(pattern)
    if single:  # one repeated character class: generate to length directly
        chars = st.from_regex(re.compile(single.group(1), re.ASCII), fullmatch=True)
        base = st.text(alphabet=chars, min_size=max(low, 1), max_size=max(high, 1))
    else:
        base = st.from_regex(regex, fullmatch=True)
    return base.filter(
        lambda s: low <= len(s) <= meta.get("max", len(s)) and bool(regex.fullmatch(s))
    )


def valid_params(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values satisfying every constraint of the shape (the "tiny generator")."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        members = {name: valid_params(member, depth + 1) for name, member in shape.members.items()}
        required = {name: members.pop(name) for name in shape.required_members}
        return st.fixed_dictionaries(required, optional={} if depth > 3 else members)
    if kind == "list":
        low = meta.get("min", 0)
        return st.lists(
            valid_params(shape.member, depth + 1),
            min_size=low,
            max_size=min(meta.get("max", low + 3), low + 3),
        )
    if kind == "map":
        low = meta.get("min", 0)
        return st.dictionaries(
            _string_strategy(shape.key),
            valid_params(shape.value, depth + 1),
            min_size=low,
            max_size=min(meta.get("max", low + 3), low + 3),
        )
    if kind == "string":
        return _string_strategy(shape)
    if kind in _INT_LIMITS:
        smallest, largest = _INT_LIMITS[kind]
        return st.integers(meta.get("min", smallest), meta.get("max", largest))
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        low = meta.get("min", 0)
        return st.binary(min_size=low, max_size=min(meta.get("max", low + 40), low + 40))
    if kind == "timestamp":
        return st.datetimes(
            min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        )
    raise AssertionError(f"no generator for {kind}")


_SERIALIZER = botocore.serialize.create_serializer("json", include_validation=True)
_ROUND_TRIP = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
@_ROUND_TRIP
@given(data=st.data())
def test_botocore_serialized_requests_decode_to_their_params(
    service: str, operation: str, data: st.DataObject
) -> None:
    op_model: OperationModel = MODELS[service].operation_model(operation)
    params = data.draw(valid_params(op_model.input_shape), label="params")
    body = _SERIALIZER.serialize_to_request(params, op_model)["body"]
    assert DECODERS[service][operation].decode(parse_json_body(body)) == params


# --------------------------------------------------------------------------------------------
# Fuzz: arbitrary JSON-ish documents never raise anything but the two protocol errors


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["", "AAAA", "AA==", "=", "x" * 70_000, "é" * 3000, "\ud800", "2024-01-01T00:00:00Z"]
    ),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
) | st.integers(30, 120).map(_deep)


def fuzz_value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly-right values for the shape, mixed with arbitrary JSON at every level."""
    kind = shape.type_name
    if depth > 4:
        return JSON_VALUES
    if kind == "structure":
        members = {name: fuzz_value(member, depth + 1) for name, member in shape.members.items()}
        return JSON_VALUES | st.builds(
            lambda known, unknown: {**unknown, **known},
            st.fixed_dictionaries({}, optional=members),
            st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2),
        )
    if kind == "list":
        return JSON_VALUES | st.lists(fuzz_value(shape.member, depth + 1), max_size=12)
    if kind == "map":
        return JSON_VALUES | st.dictionaries(
            st.text(max_size=8), fuzz_value(shape.value, depth + 1), max_size=4
        )
    meta = shape.metadata
    if kind == "string":
        special = [CANARY * 3, CANARY * 10_000] if meta.get("sensitive") else []
        special += [*shape.enum[:3], "a" * (meta.get("max", 10) + 1)]
        return JSON_VALUES | st.sampled_from(special) | st.text(max_size=meta.get("max", 30) + 2)
    if kind in _INT_LIMITS:
        edges = [
            meta.get("min", 0) - 1,
            meta.get("max", 0) + 1,
            meta.get("min", 0),
            meta.get("max", 1),
        ]
        return JSON_VALUES | st.sampled_from(edges)
    if kind == "blob":
        return JSON_VALUES | st.binary(max_size=meta.get("max", 64) + 2).map(b64)
    if kind == "timestamp":
        return JSON_VALUES | st.floats(-1e12, 1e12) | st.sampled_from(["2024-02-30", "2024-01-01"])
    return JSON_VALUES


def _all_operations_fuzz() -> Iterator[tuple[str, str, st.SearchStrategy[Any]]]:
    for service, operation in ALL_OPERATIONS:
        shape = MODELS[service].operation_model(operation).input_shape
        yield service, operation, fuzz_value(shape)


_FUZZ_CASES = list(_all_operations_fuzz())
_FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize(
    ("service", "operation", "strategy"), _FUZZ_CASES, ids=[f"{s}.{o}" for s, o, _ in _FUZZ_CASES]
)
@_FUZZ
@given(data=st.data())
def test_decode_only_ever_raises_protocol_errors(
    service: str, operation: str, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    document = data.draw(strategy, label="document")
    try:
        result = DECODERS[service][operation].decode(document)
    except ValidationException as error:
        message = error.message
        assert _VALIDATION_MESSAGE.fullmatch(message), message
    except SerializationException as error:
        message = error.message
    else:
        assert isinstance(result, dict)
        message = ""
    assert CANARY not in message


_VALIDATION_MESSAGE = re.compile(
    r"(1 validation error|[1-9][0-9]* validation errors) detected: .+", re.S
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_parse_only_ever_raises_serialization_exception(body: bytes) -> None:
    try:
        result = parse_json_body(body)
    except SerializationException:
        return
    assert isinstance(result, dict)


# --------------------------------------------------------------------------------------------
# encode_response


def test_encode_response_shapes_values() -> None:
    created = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    encoded = encode_response(
        {
            "Name": "prod/db",
            "SecretBinary": b"\x00\xff",
            "CreatedDate": created,
            "Gone": None,
            "Nested": {"Keep": 1, "Drop": None, "Deeper": [{"X": None, "Y": True}]},
            "List": ["a", None, b"b"],
            "Unicode": "é😀",
        }
    )
    assert (
        encoded
        == (
            '{"Name":"prod/db","SecretBinary":"AP8=","CreatedDate":1704164645.678,'
            '"Nested":{"Keep":1,"Deeper":[{"Y":true}]},"List":["a",null,"Yg=="],"Unicode":"é😀"}'
        ).encode()
    )


def test_encode_response_edge_cases() -> None:
    naive = datetime(2024, 1, 1)  # naive means UTC, never local time
    assert encode_response({"T": naive}) == b'{"T":1704067200.0}'
    plus_one = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert encode_response({"T": plus_one}) == b'{"T":1704067200.0}'
    assert encode_response({}) == b"{}"
    assert encode_response({"S": "\ud800x"}) == b'{"S":"\\ud800x"}'
    assert (
        encode_response({"B": bytearray(b"ab"), "M": memoryview(b"cd")})
        == b'{"B":"YWI=","M":"Y2Q="}'
    )
    assert encode_response({"T": (1, 2)}) == b'{"T":[1,2]}'
    with pytest.raises(TypeError):
        encode_response({"X": object()})
    with pytest.raises(ValueError, match="Out of range float"):
        encode_response({"X": float("nan")})


def _botocore_parse(service: str, operation: str, body: bytes) -> dict[str, Any]:
    shape = MODELS[service].operation_model(operation).output_shape
    parser = botocore.parsers.create_parser("json")
    parsed: dict[str, Any] = parser.parse({"status_code": 200, "headers": {}, "body": body}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def test_botocore_parses_encoded_responses() -> None:
    created = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    response = {
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "Name": "prod/db",
        "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "SecretString": '{"username":"admin","password":"hunter2"}',
        "SecretBinary": None,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": created,
    }
    parsed = _botocore_parse("secretsmanager", "GetSecretValue", encode_response(response))
    assert parsed == {key: value for key, value in response.items() if value is not None}
    data = bytes(range(256))
    kms_response = {"KeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "Plaintext": data}
    assert _botocore_parse("kms", "Decrypt", encode_response(kms_response)) == kms_response
