"""The query protocol codec, checked against botocore's own QuerySerializer and QueryParser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any
from urllib.parse import quote_plus

import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.errors import (
    AccessDeniedException,
    InternalError,
    InvalidParameterValue,
    InvalidSignatureException,
    MalformedQueryString,
    ServiceError,
    SignatureExpiredException,
    UnknownOperationException,
    ValidationError,
    ValidationException,
)
from strongroom.server import error_responses, wire_mapping
from strongroom.server.aws_query import QueryCodec, member_names, parse_form, xml_text

SESSION = botocore.session.get_session()
MODELS = {name: SESSION.get_service_model(name) for name in ("iam", "sts")}
CODECS = {name: QueryCodec(model) for name, model in MODELS.items()}
OPERATIONS = [(service, op) for service, model in MODELS.items() for op in model.operation_names]
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WHEN_MS = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Values generated from the model


def _char_from(items: list[tuple[Any, Any]]) -> str:
    """A character of a regex character set, preferring a letter or a digit."""
    allowed: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            allowed.append(chr(arg))
        elif name == "RANGE":
            low, high = arg
            allowed.extend(c for c in "aA1" if low <= ord(c) <= high)
            allowed.append(chr(low))
        elif name == "CATEGORY":
            allowed.append("1" if "DIGIT" in str(arg) else "a" if "WORD" in str(arg) else " ")
        elif name == "NEGATE":
            return "a"
    preferred = [c for c in allowed if c.isalnum() and c.isascii()]
    return (preferred or allowed or ["a"])[0]


def _render(parsed: Any, repeat: int) -> str:
    out: list[str] = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "IN":
            out.append(_char_from(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "NOT_LITERAL":  # [^:] alone
            out.append("b" if arg == ord("a") else "a")
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = max(low, min(repeat, high))
            out.append(_render(sub, repeat) * count)
        elif name == "SUBPATTERN":
            out.append(_render(arg[-1], repeat))
        elif name == "BRANCH":
            out.append(_render(arg[1][0], repeat))
        elif name == "CATEGORY":
            out.append("1" if "DIGIT" in str(arg) else "a")
    return "".join(out)


@cache
def _string_for(pattern: str | None, low: int, high: int, variant: int) -> str:
    if pattern is not None:
        try:
            regex = re.compile(pattern, re.ASCII)
            parsed = sre_parse.parse(pattern, re.ASCII)
        except re.error:  # Java-only syntax (\p{L}): the decoder does not check it
            regex = None
        if regex is not None:
            for repeat in range(variant, variant + 80):
                text = _render(parsed, repeat)
                if low <= len(text) <= high and regex.fullmatch(text):
                    return text
            raise AssertionError(f"no value generated for {pattern!r} ({low}..{high})")
    size = max(low, min(3 + variant, high))
    return ("ab" * size)[:size] if variant == 0 else ("x" * size)


def generate(shape: Shape, variant: int = 0, depth: int = 0) -> Any:
    """A value of ``shape`` that satisfies its constraints; nested containers filled."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if depth > 6:
            return {}
        if getattr(shape, "is_tagged_union", False):  # exactly one member
            name, member = list(shape.members.items())[variant % len(shape.members)]
            return {name: generate(member, variant, depth + 1)}
        return {
            name: generate(member, variant, depth + 1) for name, member in shape.members.items()
        }
    if kind == "list":
        count = max(meta.get("min", 0), min(2, meta.get("max", 2)))
        return [generate(shape.member, variant + i, depth + 1) for i in range(count)]
    if kind == "map":
        count = max(meta.get("min", 0), min(2, meta.get("max", 2)))
        return {
            generate(shape.key, variant + i, depth + 1): generate(shape.value, variant, depth + 1)
            for i in range(count)
        }
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum:
            return enum[variant % len(enum)]
        high = meta.get("max", 64)
        return _string_for(meta.get("pattern"), meta.get("min", 0), high, variant)
    if kind in ("integer", "long"):
        low = meta.get("min", 1)
        return int(min(max(low, 7 + variant), meta.get("max", 2**31 - 1)))
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "timestamp":
        return WHEN if variant % 2 == 0 else WHEN_MS
    if kind == "blob":
        size = max(meta.get("min", 0), min(5, meta.get("max", 5)))
        return bytes(range(250, 250 - size, -1))
    if kind in ("float", "double"):
        return 1.5
    raise AssertionError(f"unexpected shape type {kind}")


def form_body(service: str, operation: OperationModel, params: dict[str, Any]) -> bytes:
    """The body boto3 would send: botocore's QuerySerializer, then its form encoding."""
    serialized = create_serializer("query").serialize_to_request(params, operation)
    request = AWSRequest(method="POST", url="https://example.test/", data=serialized["body"])
    body = request.prepare().body
    assert isinstance(body, str | bytes)
    return body.encode() if isinstance(body, str) else body


# --------------------------------------------------------------------------------------------
# (1) Requests: every operation of both models, as botocore serialises them


@pytest.mark.parametrize(("service", "name"), OPERATIONS)
@pytest.mark.parametrize("variant", [0, 1])
def test_every_request_decodes_to_the_params_botocore_serialised(
    service: str, name: str, variant: int
) -> None:
    operation = MODELS[service].operation_model(name)
    params = {} if operation.input_shape is None else generate(operation.input_shape, variant)
    form = parse_form(form_body(service, operation, params))
    assert form["Action"] == name
    assert form["Version"] == MODELS[service].api_version
    assert CODECS[service].decode(name, form) == params


def test_an_empty_list_is_sent_and_read_as_name_equals_nothing() -> None:
    operation = MODELS["sts"].operation_model("AssumeRole")
    params = {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ss", "Tags": []}
    body = form_body("sts", operation, params)
    assert b"Tags=&" in body or body.endswith(b"Tags=")
    assert CODECS["sts"].decode("AssumeRole", parse_form(body)) == params


def test_form_details() -> None:
    # '+' is a space, '%2B' a plus, empty '&&' components are skipped, unknown names ignored.
    params = parse_form(b"A=a+b%2Bc&&B=&Weird.member.x=1")
    assert params == {"A": "a b+c", "B": "", "Weird.member.x": "1"}
    document = CODECS["sts"].decode(
        "AssumeRole",
        parse_form(
            b"RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=ss"
            b"&Unknown=1&Tags.member.x.Key=k&Tags.member.2.Key=b&Tags.member.2.Value=2"
            b"&Tags.member.1.Key=a&Tags.member.1.Value=1&DurationSeconds=%2B900"
        ),
    )
    assert document["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert document["DurationSeconds"] == 900


def test_indexes_sort_as_numbers_and_gaps_close() -> None:
    parts = "&".join(f"TransitiveTagKeys.member.{i}=k{i}" for i in (10, 2, 1, 30))
    body = f"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ss&{parts}".encode()
    document = CODECS["sts"].decode("AssumeRole", parse_form(body))
    assert document["TransitiveTagKeys"] == ["k1", "k2", "k10", "k30"]


def test_a_map_entry_without_value_is_a_null_value() -> None:
    body = (
        b"PolicySourceArn=arn:aws:iam::123456789012:user/u&ActionNames.member.1=s3:Get"
        b"&ContextEntries.member.1.ContextKeyName=aws:x"
        b"&ContextEntries.member.1.ContextKeyType=string"
        b"&ContextEntries.member.1.ContextKeyValues.member.1=v"
    )
    document = CODECS["iam"].decode("SimulatePrincipalPolicy", parse_form(body))
    assert document["ContextEntries"][0]["ContextKeyValues"] == ["v"]


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        (b"RoleArn=short&RoleSessionName=ss", ValidationError, "Value 'short' at 'roleArn'"),
        (b"RoleSessionName=ss", ValidationError, "Value null at 'roleArn' failed"),
        (
            b"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ss&DurationSeconds=1",
            ValidationError,
            "Value '1' at 'durationSeconds' failed to satisfy constraint: "
            "Member must have value greater than or equal to 900",
        ),
        (
            b"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ss&Tags.member.1.Key=k",
            ValidationError,
            "Value null at 'tags.1.member.value' failed",
        ),
        (
            b"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s%20s",
            ValidationError,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ),
        (
            b"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ss&DurationSeconds=1.5",
            InvalidParameterValue,
            "'durationSeconds' is not a valid integer",
        ),
        (
            b"RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ss"
            b"&DurationSeconds=99999999999999",
            InvalidParameterValue,
            "can not be converted to an Integer",
        ),
    ],
)
def test_validation_reuses_the_model_constraints(
    body: bytes, error: type[ServiceError], text: str
) -> None:
    with pytest.raises(error) as raised:
        CODECS["sts"].decode("AssumeRole", parse_form(body))
    assert text in raised.value.message


def test_boolean_text() -> None:
    base = b"UserName=alice&Password=Secret123&PasswordResetRequired="
    for text, value in ((b"true", True), (b"FALSE", False)):
        document = CODECS["iam"].decode("CreateLoginProfile", parse_form(base + text))
        assert document["PasswordResetRequired"] is value
    with pytest.raises(InvalidParameterValue):
        CODECS["iam"].decode("CreateLoginProfile", parse_form(base + b"yes"))


def test_sensitive_values_are_not_echoed() -> None:
    with pytest.raises(ValidationError) as raised:
        CODECS["iam"].decode("CreateLoginProfile", parse_form(b"UserName=alice&Password="))
    assert "Value at 'password'" in raised.value.message


@pytest.mark.parametrize(
    "body",
    [b"a", b"a=1&a=2", b"=1", b"a=%", b"a=%g0", b"a=\xff", b"a=%ff", b"%ZZ=1", b"a=%ed%a0%80"],
)
def test_malformed_forms(body: bytes) -> None:
    with pytest.raises(MalformedQueryString) as raised:
        parse_form(body)
    assert "1" not in raised.value.message


# --------------------------------------------------------------------------------------------
# (2) Responses: every output shape, read back by botocore's QueryParser


def _parsed(service: str, name: str, body: bytes, status: int = 200) -> dict[str, Any]:
    shape = MODELS[service].operation_model(name).output_shape
    result: dict[str, Any] = create_parser("query").parse(
        {"body": body, "headers": {}, "status_code": status}, shape
    )
    return result


OUTPUTS = [(s, o) for s, o in OPERATIONS if MODELS[s].operation_model(o).output_shape]


@pytest.mark.parametrize(("service", "name"), OUTPUTS)
@pytest.mark.parametrize("variant", [0, 1])
def test_every_result_parses_back_with_botocore(service: str, name: str, variant: int) -> None:
    shape = MODELS[service].operation_model(name).output_shape
    document = generate(shape, variant)
    body = CODECS[service].encode_response(name, document, "req-1")
    parsed = _parsed(service, name, body)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == document


def test_result_envelope_and_no_result_without_output() -> None:
    body = CODECS["sts"].encode_response("GetCallerIdentity", {"Account": "1"}, "r")
    assert body == (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult>"
        b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
        b"</GetCallerIdentityResponse>"
    )
    empty = CODECS["iam"].encode_response("DeleteUser", None, "r")
    assert b"Result" not in empty
    parsed = _parsed("iam", "DeleteUser", empty)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r"
    assert parsed == {}
    # An output shape with nothing in it still has its (empty) Result element.
    parsed = _parsed("iam", "ListUsers", CODECS["iam"].encode_response("ListUsers", None, "r"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r"
    assert parsed == {}


@pytest.mark.parametrize(
    "text",
    ["a<b>&c", "]]>", "q\"uote's", "line\r\nbreak\rcr", "tab\tnl\n", "ünï €𝄞", "  spaced  "],
)
def test_text_survives_escaping(text: str) -> None:
    body = CODECS["iam"].encode_response("GetUserPolicy", {"PolicyDocument": text}, "r")
    assert _parsed("iam", "GetUserPolicy", body)["PolicyDocument"] == text


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    body = CODECS["iam"].encode_response("GetUserPolicy", {"PolicyDocument": "a\x00b\ud800"}, "r")
    assert _parsed("iam", "GetUserPolicy", body)["PolicyDocument"] == "a\ufffdb\ufffd"
    assert xml_text("\x1f<") == "\ufffd&lt;"


def test_timestamps_are_iso8601_utc() -> None:
    body = CODECS["sts"].encode_response(
        "GetSessionToken",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE000000000",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": WHEN_MS,
            }
        },
        "r",
    )
    assert b"<Expiration>2026-01-02T03:04:05.678Z</Expiration>" in body


@dataclass(frozen=True, slots=True)
class Delegation:
    delegation_request_id: str


@dataclass(frozen=True, slots=True)
class ListDelegations:
    delegation_requests: tuple[Delegation, ...]
    marker: str | None
    is_truncated: bool


def test_result_dataclasses_through_to_wire_even_with_case_twins() -> None:
    # IAM spells one member 'isTruncated' and every other 'IsTruncated'.
    result = ListDelegations((Delegation("d" * 16),), None, True)
    document = wire_mapping.to_wire(result, member_names(MODELS["iam"]))
    body = CODECS["iam"].encode_response("ListDelegationRequests", document, "r")
    parsed = _parsed("iam", "ListDelegationRequests", body)
    assert parsed["isTruncated"] is True
    assert parsed["DelegationRequests"] == [{"DelegationRequestId": "d" * 16}]


def test_a_member_the_shape_lacks_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        CODECS["sts"].encode_response("GetCallerIdentity", {"Nope": "x"}, "r")


# --------------------------------------------------------------------------------------------
# (3) Errors


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (ValidationException("bad <value> & more"), "ValidationError", 400),
        (ValidationError("bad"), "ValidationError", 400),
        (AccessDeniedException("no"), "AccessDenied", 403),
        (UnknownOperationException("what"), "InvalidAction", 400),
        (InvalidSignatureException("sig"), "SignatureDoesNotMatch", 403),
        (SignatureExpiredException("late"), "RequestExpired", 400),
        (MalformedQueryString("form"), "MalformedQueryString", 400),
        (InternalError("ServiceFailure"), "ServiceFailure", 500),
    ],
)
def test_error_xml_reads_back_with_botocore(error: ServiceError, code: str, status: int) -> None:
    got_status, headers, body = error_responses.encode_query(error, "req-9", "urn:ns")
    assert got_status == status
    assert dict(headers)[b"content-type"] == b"text/xml"
    parsed = _parsed("iam", "GetUser", body, got_status)
    assert parsed["Error"] == {
        "Type": "Receiver" if status >= 500 else "Sender",
        "Code": code,
        "Message": error.message,
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"


def test_json_codes_are_unchanged() -> None:
    assert SignatureExpiredException("late").code == "InvalidSignatureException"
    status, headers, _ = error_responses.encode(SignatureExpiredException("late"), "r")
    assert (status, dict(headers)[b"x-amzn-errortype"]) == (400, b"InvalidSignatureException")


# --------------------------------------------------------------------------------------------
# Fuzz: random form bodies never raise anything but ServiceError subclasses


@cache
def _vocabulary(service: str, name: str) -> tuple[str, ...]:
    """The parameter names botocore sends for a fully populated request."""
    operation = MODELS[service].operation_model(name)
    params = {} if operation.input_shape is None else generate(operation.input_shape)
    return tuple(sorted(parse_form(form_body(service, operation, params))))


_texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "true", "FALSE", "-1", "99999999999", "1e9", "AAAA", "%", "=", "&"]),
)


@st.composite
def form_bodies(draw: st.DrawFn) -> tuple[str, str, bytes]:
    service, name = draw(st.sampled_from(OPERATIONS))
    vocabulary = _vocabulary(service, name)
    keys = draw(
        st.lists(
            st.one_of(
                st.sampled_from(vocabulary),
                st.sampled_from(vocabulary).map(lambda k: re.sub(r"\.\d+", ".0", k)),
                st.sampled_from(vocabulary).map(lambda k: k + ".member.1"),
                st.text(alphabet="Ab.member1entrykeyvalue", max_size=20),
            ),
            max_size=12,
        )
    )
    parts = []
    for key in keys:
        raw = draw(st.booleans())
        value = draw(_texts)
        if raw:
            parts.append(f"{key}={value}".encode("utf-8", "surrogatepass"))
        else:
            parts.append(
                f"{quote_plus(key)}={quote_plus(value.encode('utf-8', 'surrogatepass'))}".encode()
            )
    return service, name, b"&".join(parts)


def check_decodes_or_refuses_cleanly(service: str, name: str, body: bytes) -> None:
    outcome: dict[str, Any] | ServiceError
    try:
        outcome = CODECS[service].decode(name, parse_form(body))
    except ServiceError as error:
        outcome = error
    if isinstance(outcome, ServiceError):
        assert outcome.status == 400
        assert outcome.code in {"MalformedQueryString", "ValidationError", "InvalidParameterValue"}
    else:
        assert isinstance(outcome, dict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form_bodies())
def test_fuzz_model_shaped_forms(case: tuple[str, str, bytes]) -> None:
    service, name, body = case
    check_decodes_or_refuses_cleanly(service, name, body)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPERATIONS), st.binary(max_size=200))
def test_fuzz_raw_bytes(operation: tuple[str, str], body: bytes) -> None:
    service, name = operation
    check_decodes_or_refuses_cleanly(service, name, body)
