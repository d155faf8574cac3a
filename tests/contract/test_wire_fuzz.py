"""Bad input never yields a 500: every Secrets Manager operation, fuzzed on the wire."""

# Requests are built by hand and signed with botocore's SigV4Auth (boto3 would refuse most of
# them client-side), then sent on one keep-alive connection. For every operation in botocore's
# secretsmanager model, including those the server does not build yet, hypothesis generates
#   * documents using the operation's real member names: two in three "tame" (required members
#     present, every value of the model's type, with lengths and numbers at and around the
#     model's min/max, aimed at the fuzz's own secret and its versions) to reach the service
#     code; one in three "wild" (any member may be any JSON value of any type and size, plus
#     random extra members) to exercise deserialization and validation,
#   * raw bodies that are not JSON documents at all (bytes, broken JSON, deep nesting, NaN, ...).
# Every answer must be a 200 that botocore parses against the output shape, or a 4xx that every
# SDK can read (__type, message, x-amzn-ErrorType, x-amzn-RequestId), never a 5xx, and no
# error may echo a value sent in a sensitive member (SecretString, SecretBinary, RotationToken).
#
# Safety of the shared session server: generated names are "fuzz-..." or random strings, so
# no request can name another test's secret; the one real secret the fuzz aims at is its own.

from __future__ import annotations

import base64
import json
import string
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.raw_http import (
    RawConnection,
    RawResponse,
    assert_aws_error,
    botocore_parse,
    sign,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract

MODEL = botocore.session.get_session().get_service_model("secretsmanager")
OPERATIONS = sorted(MODEL.operation_names)
TARGET_PREFIX = MODEL.metadata["targetPrefix"]
SENSITIVE_CANARY = "fuzz-sensitive-"
MAX_BODY_BYTES = 1024 * 1024
# Version ids the fuzz's secret is created with and PutSecretValue may reuse, so that
# UpdateSecretVersionStage and GetSecretValue(VersionId) meet versions that exist.
VERSION_POOL = [str(uuid.UUID(int=n)) for n in range(1, 5)]
NAME_MEMBERS = frozenset({"Name", "SecretId", "SecretIdList"})

# Default run (CI-sized): about 30 s for the whole module on a laptop, one worker of two.
# The long fuzz, ten times the documents and seven times the raw bodies: -m slow.
DOCUMENT_EXAMPLES = 50  # per operation, 26 operations
RAW_BODY_EXAMPLES = 400
SLOW_DOCUMENT_EXAMPLES = 500
SLOW_RAW_BODY_EXAMPLES = 3000

FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
}


# -- strategies -------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=64)
    | st.integers(min_value=0, max_value=70_000).map(lambda n: "x" * n)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=16), children, max_size=8)
    ),
    max_leaves=40,
)


def _lengths_around(shape: Shape, ceiling: int) -> st.SearchStrategy[int]:
    """Lengths at and either side of the model's min and max, and anything in between."""
    low = int(shape.metadata.get("min", 0))
    high = int(shape.metadata.get("max", ceiling))
    edges = {n for n in (low - 1, low, low + 1, high - 1, high, high + 1) if 0 <= n <= ceiling}
    return st.sampled_from(sorted(edges)) | st.integers(0, min(high + 1, ceiling))


def _string(shape: Shape, member: str, fuzz_name: str) -> st.SearchStrategy[str]:
    enum = getattr(shape, "enum", None) or []
    if shape.metadata.get("sensitive"):
        base = st.text(max_size=64).map(lambda s: SENSITIVE_CANARY + s)
        pad = len(SENSITIVE_CANARY)
        sized = _lengths_around(shape, 70_000).map(
            lambda n: SENSITIVE_CANARY + "s" * max(0, n - pad)
        )
        return base | sized
    if member in NAME_MEMBERS:
        # Only the fuzz's own secret, or names no other test can own.
        arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{fuzz_name}"
        return st.one_of(
            st.sampled_from([fuzz_name, fuzz_name, arn]),
            st.sampled_from([fuzz_name, arn]),
            st.text(max_size=40).map(lambda s: f"fuzz-{s}"),
            _lengths_around(shape, 4096).map(lambda n: ("fuzz-" + "n" * n)[: max(n, 5)]),
        )
    texts = st.text(max_size=80) | _lengths_around(shape, 70_000).map(lambda n: "v" * n)
    if member in ("VersionId", "ClientRequestToken", "MoveToVersionId", "RemoveFromVersionId"):
        texts = texts | st.uuids().map(str) | st.sampled_from(VERSION_POOL)
    if member in ("VersionStage", "VersionStages"):
        texts = texts | st.sampled_from(["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"])
    return st.sampled_from(enum) | texts if enum else texts


def _integer(shape: Shape) -> st.SearchStrategy[int]:
    low = int(shape.metadata.get("min", -(2**31)))
    high = int(shape.metadata.get("max", 2**31 - 1))
    edges = [low - 1, low, low + 1, high - 1, high, high + 1, 0, -1, 2**31, 2**63, -(2**63) - 1]
    return st.sampled_from(edges) | st.integers(low - 10, high + 10)


def typed(
    shape: Shape, member: str, fuzz_name: str, wild: bool, depth: int = 0
) -> st.SearchStrategy[Any]:
    """A value shaped as the model says (types right, sizes and ranges anywhere)."""
    kind = shape.type_name
    if kind == "string":
        return _string(shape, member, fuzz_name)
    if kind in ("integer", "long", "short", "byte"):
        return _integer(shape)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        valid = st.binary(max_size=256).map(
            lambda b: base64.b64encode(SENSITIVE_CANARY.encode() + b).decode()
        )
        return valid | st.text(max_size=40).map(lambda s: SENSITIVE_CANARY + s)
    if kind == "timestamp":
        return st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
    if depth > 3:
        return json_values
    if kind == "list":
        item = value_for(shape.member, member, fuzz_name, wild, depth + 1)
        return st.lists(item, max_size=int(shape.metadata.get("max", 20)) + 2)
    if kind == "map":
        return st.dictionaries(
            value_for(shape.key, member, fuzz_name, wild, depth + 1),
            value_for(shape.value, member, fuzz_name, wild, depth + 1),
            max_size=5,
        )
    if kind == "structure":
        return structure(shape, fuzz_name, wild, depth + 1)
    return json_values


def value_for(
    shape: Shape, member: str, fuzz_name: str, wild: bool, depth: int = 0
) -> st.SearchStrategy[Any]:
    """Model-shaped; in a wild document, any JSON value at all a third of the time."""
    shaped = typed(shape, member, fuzz_name, wild, depth)
    return st.one_of(shaped, shaped, json_values) if wild else shaped


def structure(
    shape: Shape, fuzz_name: str, wild: bool, depth: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    values = {
        member.serialization.get("name", name): value_for(member, name, fuzz_name, wild, depth)
        for name, member in shape.members.items()
    }
    # Tame documents always carry the required members; wild ones may leave them out.
    required_names = set() if wild else set(shape.required_members)
    required = {k: v for k, v in values.items() if k in required_names}
    optional = {k: v for k, v in values.items() if k not in required_names}
    members = st.fixed_dictionaries(required, optional=optional)
    if not wild:
        return members
    extra = st.dictionaries(st.text(max_size=24), json_values, max_size=3)
    return st.builds(lambda known, more: {**more, **known}, members, extra)


def documents(operation: OperationModel, fuzz_name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Two in three documents are well typed (to reach the service), one in three is wild."""
    shape = operation.input_shape
    if shape is None:
        return st.dictionaries(st.text(max_size=24), json_values, max_size=5)
    tame = structure(shape, fuzz_name, wild=False)
    return st.one_of(tame, tame, structure(shape, fuzz_name, wild=True))


SPECIAL_BODIES = [
    b"",
    b" \t\r\n",
    b"null",
    b"[]",
    b"0",
    b'"SecretId"',
    b"{}{}",
    b"{",
    b"}",
    b"\xef\xbb\xbf{}",  # UTF-8 byte-order mark
    b"\xff\xfe{\x00}\x00",  # UTF-16
    b'{"SecretId": NaN}',
    b'{"SecretId": Infinity}',
    b'{"PasswordLength": 1e400}',
    b'{"PasswordLength": -1e400}',
    b'{"PasswordLength": 123456789012345678901234567890}',
    b'{"SecretId": "\\ud800"}',
    b'{"SecretId": "fuzz-a", "SecretId": "fuzz-b"}',
    b'{"SecretId": "fuzz-\x00"}',
    b'{"SecretId": "fuzz-a",}',
    b"{'SecretId': 'fuzz-a'}",
    b'{"Tags": [' + b"{}," * 5000 + b"{}]}",
]


def raw_bodies() -> st.SearchStrategy[bytes]:
    depth = st.integers(min_value=1, max_value=200_000)
    mutated = st.tuples(
        st.sampled_from(OPERATIONS).flatmap(
            lambda op: documents(MODEL.operation_model(op), "fuzz-raw")
        ),
        st.integers(min_value=0),
        st.binary(max_size=4),
    ).map(_splice)
    return st.one_of(
        st.sampled_from(SPECIAL_BODIES),
        st.binary(max_size=2048),
        st.text(max_size=512).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.text(alphabet=string.printable, max_size=512).map(str.encode),
        depth.map(lambda n: b"[" * n + b"]" * n),
        depth.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        depth.map(lambda n: b"[" * n),
        mutated,
    )


def _splice(parts: tuple[dict[str, Any], int, bytes]) -> bytes:
    """A valid JSON document with a few bytes replaced: mostly no longer valid JSON."""
    document, position, junk = parts
    text = json.dumps(document).encode()
    cut = position % (len(text) + 1)
    return text[:cut] + junk + text[cut + len(junk) :]


# -- the check --------------------------------------------------------------------------------


class WireChecker:
    """Signs and sends on one connection; checks what comes back."""

    def __init__(self, server: RunningServer) -> None:
        self.endpoint = server.endpoint
        self.connection = RawConnection(server.endpoint)

    def send(self, operation: str, body: bytes) -> RawResponse:
        headers = sign(self.endpoint, body, target=f"{TARGET_PREFIX}.{operation}")
        return self.connection.send("POST", "/", headers, body)

    def revive(self, name: str) -> None:
        """Undo a successful DeleteSecret of the fuzz's own secret, so later examples reach it."""
        restored = self.send("RestoreSecret", json.dumps({"SecretId": name}).encode())
        if restored.status != 200:  # it was force-deleted: make it again
            document = {
                "Name": name,
                "SecretString": "fuzz-revived",
                "ClientRequestToken": VERSION_POOL[0],
            }
            created = self.send("CreateSecret", json.dumps(document).encode())
            assert created.status == 200, created.body

    def check(self, operation: str, body: bytes, sensitive: list[str]) -> RawResponse:
        response = self.send(operation, body)
        assert response.status < 500, (operation, body[:500], response.body)
        expected = (413,) if len(body) > MAX_BODY_BYTES else (200, 400)
        assert response.status in expected, (operation, body[:500], response.body)
        if response.status == 200:
            parsed = botocore_parse(response, MODEL.operation_model(operation).output_shape)
            assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert isinstance(response.json(), dict)
        else:
            assert_aws_error(response, response.status)
            for value in sensitive:
                assert value.encode() not in response.body, (operation, response.body)
            assert SENSITIVE_CANARY.encode() not in response.body, (operation, response.body)
        return response


def sensitive_values(operation: str, document: dict[str, Any]) -> list[str]:
    shape = MODEL.operation_model(operation).input_shape
    if shape is None:
        return []
    found = []
    for name, member in shape.members.items():
        value = document.get(member.serialization.get("name", name))
        if member.metadata.get("sensitive") and isinstance(value, str) and len(value) >= 6:
            found.append(value)
    return found


@pytest.fixture(scope="module")
def fuzz_name(server: RunningServer) -> str:
    """The fuzz's own secret, which model-shaped SecretIds aim at (it may end up deleted)."""
    name = f"fuzz-target-{uuid.uuid4().hex}"
    server.client("secretsmanager").create_secret(
        Name=name, SecretString="fuzz-initial", ClientRequestToken=VERSION_POOL[0]
    )
    return name


@pytest.fixture(scope="module")
def wire(server: RunningServer) -> Iterator[WireChecker]:
    checker = WireChecker(server)
    yield checker
    checker.connection.close()


@pytest.fixture(scope="module")
def log_start(server: RunningServer) -> int:
    """Where the server log stood before this module sent anything."""
    return len(server.log())


# -- tests ------------------------------------------------------------------------------------


def _fuzz_documents(wire: WireChecker, fuzz_name: str, operation: str, data: st.DataObject) -> None:
    document = data.draw(documents(MODEL.operation_model(operation), fuzz_name), label="document")
    body = json.dumps(document).encode()
    response = wire.check(operation, body, sensitive_values(operation, document))
    if operation == "DeleteSecret" and response.status == 200:
        wire.revive(fuzz_name)


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_model_shaped_documents_never_yield_a_5xx(
    log_start: int, wire: WireChecker, fuzz_name: str, operation: str, data: st.DataObject
) -> None:
    _fuzz_documents(wire, fuzz_name, operation, data)


@settings(max_examples=RAW_BODY_EXAMPLES, **FUZZ_SETTINGS)
@given(operation=st.sampled_from(OPERATIONS), body=raw_bodies())
def test_raw_bodies_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, body: bytes
) -> None:
    wire.check(operation, body, [])


@settings(max_examples=100, **FUZZ_SETTINGS)
@given(
    operation=st.text(max_size=40) | st.sampled_from(OPERATIONS).map(str.lower),
    body=st.sampled_from([b"{}", b'{"SecretId": "fuzz-x"}', b"not json"]),
)
def test_unknown_operation_names_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, body: bytes
) -> None:
    # Header values are latin-1 on the wire; anything else cannot be sent at all.
    target_safe = operation.encode("latin-1", "replace").decode("latin-1")
    target_safe = "".join(c for c in target_safe if c.isprintable())
    if target_safe.strip() in OPERATIONS:  # the server strips header whitespace, as HTTP says
        return
    response = wire.check(target_safe, body, [])
    assert response.status == 400
    assert response.json()["__type"] == "UnknownOperationException"


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=SLOW_DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_slow_model_shaped_documents_never_yield_a_5xx(
    log_start: int,
    wire: WireChecker,
    fuzz_name: str,
    operation: str,
    data: st.DataObject,
) -> None:
    _fuzz_documents(wire, fuzz_name, operation, data)


@pytest.mark.slow
@settings(max_examples=SLOW_RAW_BODY_EXAMPLES, **FUZZ_SETTINGS)
@given(operation=st.sampled_from(OPERATIONS), body=raw_bodies())
def test_slow_raw_bodies_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, body: bytes
) -> None:
    wire.check(operation, body, [])


@pytest.mark.parametrize("operation", ["ListSecrets", "BatchGetSecretValue"])
@pytest.mark.parametrize(
    "document",
    [{"Filters": [{}]}, {"Filters": [{"Values": ["fuzz-a"]}]}, {"Filters": [{"Key": None}]}],
    ids=["empty-filter", "filter-without-key", "null-key"],
)
def test_regression_a_filter_without_key_is_a_400_not_a_500(
    log_start: int, wire: WireChecker, operation: str, document: dict[str, Any]
) -> None:
    """Found by this fuzz: Filter.Key is optional in the model, and its absence was a 500."""
    response = wire.check(operation, json.dumps(document).encode(), [])
    assert response.status == 400


def test_the_server_still_answers_after_the_fuzz(
    server: RunningServer, sm: Any, unique: str, log_start: int, wire: WireChecker
) -> None:
    """Runs last in this module: the server is alive, correct, and logged no internal error."""
    assert server.process.poll() is None
    name = f"fuzz-after-{unique}"
    sm.create_secret(Name=name, SecretString="still-here")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "still-here"
    # And on the very connection the fuzz used.
    response = wire.check("GetSecretValue", json.dumps({"SecretId": name}).encode(), [])
    assert response.status == 200
    assert response.json()["SecretString"] == "still-here"
    assert "internal error" not in server.log()[log_start:]
