"""SigV4 verifier: the AWS suite, botocore-signed requests, single-field mutations, skew, scope."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import random
import string
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlencode

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.errors import (
    AuthError,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from strongroom.server import sigv4
from strongroom.server.sigv4 import (
    MSG_SIGNATURE_MISMATCH,
    Authorization,
    SignedRequest,
    SigV4Verifier,
    VerifiedSignature,
    canonical_request,
    derive_signing_key,
    parse_authorization,
    string_to_sign,
)

# --------------------------------------------------------------------------------------------
# The AWS SigV4 test suite (tests/vectors/sigv4, copied unchanged from the AWS suite).

SUITE_DIR = Path(__file__).resolve().parents[2] / "vectors" / "sigv4"
SUITE_KEY_ID = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_CASES = sorted(path.parent for path in SUITE_DIR.rglob("*.req"))

# The suite's .req lacks the X-Amz-Security-Token header that its .creq signs (the token is
# only in .sreq), and its .sreq carries get-vanilla's Signature (5fa00fa3...) instead of the
# one in its own .authz (07ec1639...). Handled explicitly in test_aws_suite_case.
SESSION_TOKEN_ERRATUM = "get-vanilla-with-session-token"

# botocore's harness skips these four because its request parser cannot express them (a raw
# space in the request target; repeated query keys). Ours is not an HTTP parser, so they run
# like every other case; test_suite_includes_cases_botocore_cannot_express pins that.
BOTOCORE_SKIPS = (
    "get-space",
    "get-vanilla-query-order-key",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-value",
)


class DictLookup:
    """A CredentialLookup over a dict, counting calls."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.calls = 0

    def secret_access_key(self, access_key_id: str) -> str | None:
        self.calls += 1
        return self.secrets.get(access_key_id)


def parse_http(raw: bytes) -> SignedRequest:
    """Parse a suite .req/.sreq file: request line, headers (obs-fold lines continue the
    previous value), blank line, body. The target is split at the last space so that
    ``GET /example space/ HTTP/1.1`` keeps its space."""
    head, _, body = raw.decode("utf-8").partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target, _, _version = rest.rpartition(" ")
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        if line[:1] in (" ", "\t"):
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return SignedRequest(method, path, query, tuple(headers), body.encode("utf-8"))


def authorization_of(request: SignedRequest) -> str:
    (value,) = [v for n, v in request.headers if n.lower() == "authorization"]
    return value


def with_authorization(request: SignedRequest, value: str | None) -> SignedRequest:
    headers = [(n, v) for n, v in request.headers if n.lower() != "authorization"]
    if value is not None:
        headers.append(("Authorization", value))
    return dataclasses.replace(request, headers=tuple(headers))


def format_authorization(auth: Authorization) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={auth.access_key_id}/{auth.scope}, "
        f"SignedHeaders={';'.join(auth.signed_headers)}, Signature={auth.signature}"
    )


def only_us_east_1(region: str) -> bool:
    return region == "us-east-1"


def suite_verifier() -> SigV4Verifier:
    return SigV4Verifier(DictLookup({SUITE_KEY_ID: SUITE_SECRET}))


def verify_suite_request(
    request: SignedRequest,
    *,
    verifier: SigV4Verifier | None = None,
    now: datetime = SUITE_TIME,
    expected_service: str | None = "service",
) -> VerifiedSignature:
    return (verifier or suite_verifier()).verify(
        request, now=now, expected_service=expected_service, region_allowed=only_us_east_1
    )


def suite_request(name: str = "get-vanilla") -> SignedRequest:
    return parse_http((SUITE_DIR / name / f"{name}.sreq").read_bytes())


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_ourselves(
    request: SignedRequest,
    *,
    amz_date: str,
    scope_date: str | None = None,
    region: str = "us-east-1",
    service: str = "service",
    key_id: str = SUITE_KEY_ID,
    secret: str = SUITE_SECRET,
) -> SignedRequest:
    """Sign with this module's helpers (checked against the suite and botocore elsewhere),
    for requests botocore cannot produce, such as a scope date that differs from X-Amz-Date."""
    headers = [
        (n, v) for n, v in request.headers if n.lower() not in ("authorization", "x-amz-date")
    ]
    headers.append(("X-Amz-Date", amz_date))
    unsigned = dataclasses.replace(request, headers=tuple(headers))
    names = tuple(sorted({n.lower() for n, _ in headers}))
    scope = f"{scope_date or amz_date[:8]}/{region}/{service}/aws4_request"
    creq = canonical_request(unsigned, names)
    key = derive_signing_key(secret, scope_date or amz_date[:8], region, service)
    signature = hmac_hex(key, string_to_sign(amz_date, scope, creq))
    value = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return with_authorization(unsigned, value)


def test_suite_is_complete() -> None:
    assert len(SUITE_CASES) == 34, [case.name for case in SUITE_CASES]
    assert {case.parent.name for case in SUITE_CASES} >= {"normalize-path", "post-sts-token"}
    for name in ("LICENSE", "NOTICE"):
        assert (SUITE_DIR / name).is_file()


def test_suite_includes_cases_botocore_cannot_express() -> None:
    assert set(BOTOCORE_SKIPS) <= {case.name for case in SUITE_CASES}


@pytest.mark.parametrize(
    "case", SUITE_CASES, ids=[str(case.relative_to(SUITE_DIR)) for case in SUITE_CASES]
)
def test_aws_suite_case(case: Path) -> None:
    name = case.name
    request = parse_http((case / f"{name}.req").read_bytes())
    signed = parse_http((case / f"{name}.sreq").read_bytes())
    authz_text = (case / f"{name}.authz").read_text()
    authz = parse_authorization(authz_text)
    assert authz.access_key_id == SUITE_KEY_ID
    assert authz.scope == "20150830/us-east-1/service/aws4_request"

    if name == SESSION_TOKEN_ERRATUM:
        with pytest.raises(ValueError, match="x-amz-security-token"):
            canonical_request(request, authz.signed_headers)
        request = with_authorization(signed, None)
    creq = canonical_request(request, authz.signed_headers)
    assert creq == (case / f"{name}.creq").read_text()
    sts = string_to_sign("20150830T123600Z", authz.scope, creq)
    assert sts == (case / f"{name}.sts").read_text()
    key = derive_signing_key(SUITE_SECRET, "20150830", "us-east-1", "service")
    assert hmac_hex(key, sts) == authz.signature

    if name == SESSION_TOKEN_ERRATUM:
        assert authorization_of(signed).strip() != authz_text
        with pytest.raises(InvalidSignatureException) as excinfo:
            verify_suite_request(signed)
        assert excinfo.value.message == MSG_SIGNATURE_MISMATCH
        signed = with_authorization(signed, authz_text)
    assert authorization_of(signed).strip() == authz_text
    assert verify_suite_request(signed) == VerifiedSignature(
        access_key_id=SUITE_KEY_ID,
        date="20150830",
        region="us-east-1",
        service="service",
        signed_headers=authz.signed_headers,
        request_time=SUITE_TIME,
    )


def test_derive_signing_key_matches_aws_documentation_example() -> None:
    # IAM User Guide, "Derive a signing key for SigV4" example.
    key = derive_signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


# --------------------------------------------------------------------------------------------
# Differential: botocore's real signer signs random JSON 1.1 requests; every one must verify.

JSON_REQUIRED = frozenset({"host", "x-amz-date", "x-amz-target"})
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-south-2",
    "ap-southeast-2",
    "ap-northeast-3",
    "sa-east-1",
    "ca-central-1",
    "me-south-1",
    "af-south-1",
    "il-central-1",
    "us-gov-west-1",
    "cn-north-1",
)
TARGETS = {
    "secretsmanager": (
        "secretsmanager.GetSecretValue",
        "secretsmanager.PutSecretValue",
        "secretsmanager.DeleteSecret",
        "secretsmanager.ListSecrets",
    ),
    "kms": ("TrentService.Encrypt", "TrentService.Decrypt", "TrentService.GenerateDataKey"),
}
VALUE_ALPHABET = string.ascii_letters + string.digits + " -_.;:,/=\"'()[]{}<>?@!#$%^&*+|~`\t\xa0é"
_KEY_RNG = random.Random(1)
KEYS = {
    "AKIA" + "".join(_KEY_RNG.choices(string.ascii_uppercase + string.digits, k=16)): "".join(
        _KEY_RNG.choices(string.ascii_letters + string.digits + "+/", k=40)
    )
    for _ in range(20)
}
KEY_IDS = tuple(KEYS)


@dataclasses.dataclass(frozen=True)
class BotocoreSigned:
    request: SignedRequest
    access_key_id: str
    region: str
    service: str
    signed_at: datetime
    now: datetime


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return rng.randint(-(2**40), 2**40)
    if kind == 1:
        return rng.random() * 1e6
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        return "".join(
            rng.choice("abc xyz/+=%\u00e9\u4e2d\U0001f512\\\"'") for _ in range(rng.randrange(12))
        )
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": random_json(rng, depth + 1) for i in range(rng.randrange(5))}


def random_header_value(rng: random.Random) -> str:
    return "".join(rng.choice(VALUE_ALPHABET) for _ in range(rng.randrange(30)))


def random_case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def botocore_clock(at: datetime) -> contextlib.AbstractContextManager[Any]:
    """botocore's signer takes the time from botocore.auth.get_current_datetime (naive UTC)."""
    return mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=at.replace(tzinfo=None)
    )


def sign_with_botocore(rng: random.Random) -> BotocoreSigned:
    service = rng.choice(tuple(TARGETS))
    region = rng.choice(REGIONS)
    key_id = rng.choice(KEY_IDS)
    token = "".join(rng.choices(string.ascii_letters, k=40)) if rng.random() < 0.25 else None
    host = rng.choice(("127.0.0.1", "localhost"))
    port = rng.randint(1024, 65535)
    body = (
        b""
        if rng.random() < 0.05
        else json.dumps(random_json(rng), ensure_ascii=rng.random() < 0.5).encode("utf-8")
    )
    aws_request = AWSRequest(
        method="POST",
        url=f"http://{host}:{port}/",
        data=body,
        headers={
            "X-Amz-Target": rng.choice(TARGETS[service]),
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    for _ in range(rng.randrange(5)):
        name = "X-Test-" + "".join(rng.choices(string.ascii_lowercase + string.digits + "-", k=6))
        aws_request.headers[random_case(rng, name)] = random_header_value(rng)
        if rng.random() < 0.3:  # a repeated header, possibly in another case
            aws_request.headers[random_case(rng, name)] = random_header_value(rng)
    if rng.random() < 0.5:  # botocore never signs these
        aws_request.headers["User-Agent"] = (
            "Boto3/1.34.0 md/Botocore#1.34.0 " + random_header_value(rng)
        )
        aws_request.headers["X-Amzn-Trace-Id"] = "Root=1-" + random_header_value(rng)
    # Mostly around now, sometimes a second before midnight, to cross days with the skew.
    signed_at = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(10 * 365 * 86400)
    )
    if rng.random() < 0.1:
        signed_at = signed_at.replace(hour=23, minute=59, second=59)
    with botocore_clock(signed_at):
        SigV4Auth(Credentials(key_id, KEYS[key_id], token), service, region).add_auth(aws_request)
    headers = list(aws_request.headers.items())
    assert headers.count(("X-Amz-Date", signed_at.strftime("%Y%m%dT%H%M%SZ"))) == 1
    # What the HTTP client adds after signing, at random positions.
    for extra in (
        ("Host", f"{host}:{port}"),
        ("Content-Length", str(len(body))),
        ("Accept-Encoding", "identity"),
    ):
        headers.insert(rng.randint(0, len(headers)), extra)
    if rng.random() < 0.5:  # ASGI servers hand over lowercase names
        headers = [(name.lower(), value) for name, value in headers]
    skew = timedelta(microseconds=rng.randint(-300_000_000, 300_000_000))
    return BotocoreSigned(
        request=SignedRequest("POST", "/", "", tuple(headers), body),
        access_key_id=key_id,
        region=region,
        service=service,
        signed_at=signed_at,
        now=signed_at + skew,
    )


def json_verifier(lookup: DictLookup | None = None) -> SigV4Verifier:
    return SigV4Verifier(lookup or DictLookup(dict(KEYS)), required_signed_headers=JSON_REQUIRED)


def verify_signed(
    verifier: SigV4Verifier, signed: BotocoreSigned, request: SignedRequest | None = None
) -> VerifiedSignature:
    return verifier.verify(
        request or signed.request,
        now=signed.now,
        expected_service=signed.service,
        region_allowed=set(REGIONS).__contains__,
    )


def test_botocore_signed_requests_verify() -> None:
    rng = random.Random(20240509)
    verifier = json_verifier()
    failures = []
    seen: Counter[str] = Counter()
    for index in range(2000):
        signed = sign_with_botocore(rng)
        names = [name.lower() for name, _ in signed.request.headers]
        seen["session token"] += "x-amz-security-token" in names
        seen["repeated header"] += any(names.count(name) > 1 for name in names)
        seen["empty body"] += not signed.request.body
        seen["other day"] += signed.now.date() != signed.signed_at.date()
        try:
            result = verify_signed(verifier, signed)
        except AuthError as exc:
            failures.append(f"#{index}: {type(exc).__name__}: {exc.message}\n{signed.request}")
            continue
        assert result.access_key_id == signed.access_key_id
        assert result.region == signed.region
        assert result.service == signed.service
        assert result.request_time == signed.signed_at
        assert result.date == signed.signed_at.strftime("%Y%m%d")
        assert set(result.signed_headers) >= JSON_REQUIRED
    assert not failures, "\n\n".join(failures[:5])
    assert min(seen.values()) >= 20, seen


# --------------------------------------------------------------------------------------------
# Single-field mutations of botocore-signed requests: every one is rejected, with the right class.

Mutation = tuple[str, SignedRequest, type[AuthError]]


def replace_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = [(n, v) for n, v in request.headers if n.lower() != name]
    if value is not None:
        headers.append((name, value))
    return dataclasses.replace(request, headers=tuple(headers))


def header_value(request: SignedRequest, name: str) -> str:
    (value,) = [v for n, v in request.headers if n.lower() == name]
    return value


def mutations(signed: BotocoreSigned) -> Iterator[Mutation]:
    request = signed.request
    auth = parse_authorization(authorization_of(request))
    body = request.body

    def with_auth(**changes: Any) -> SignedRequest:
        return with_authorization(request, format_authorization(auth._replace(**changes)))

    yield "method", dataclasses.replace(request, method="PUT"), InvalidSignatureException
    yield "method case", dataclasses.replace(request, method="post"), InvalidSignatureException
    yield "path", dataclasses.replace(request, path="/x"), InvalidSignatureException
    yield "path %2F", dataclasses.replace(request, path="/%2F"), InvalidSignatureException
    yield "query added", dataclasses.replace(request, query_string="a=b"), InvalidSignatureException
    for name in auth.signed_headers:
        # X-Amz-Date made unparsable or absent is a parse error; a valid other time is the
        # ±1 s case below.
        expected: type[AuthError] = (
            IncompleteSignatureException if name == "x-amz-date" else InvalidSignatureException
        )
        values = [v for n, v in request.headers if n.lower() == name]
        changed_request = replace_header(request, name, ",".join(values) + "x")
        yield f"{name} changed", changed_request, expected
        yield f"{name} removed", replace_header(request, name, None), expected
        duplicate = (name.upper(), "another value")
        yield (
            f"{name} duplicated",
            dataclasses.replace(request, headers=(*request.headers, duplicate)),
            InvalidSignatureException,
        )
    flipped = bytes([body[0] ^ 1]) + body[1:] if body else b"x"
    yield "body byte flipped", dataclasses.replace(request, body=flipped), InvalidSignatureException
    yield "body appended", dataclasses.replace(request, body=body + b" "), InvalidSignatureException
    if body:
        yield (
            "body truncated",
            dataclasses.replace(request, body=body[:-1]),
            InvalidSignatureException,
        )
    for seconds in (-1, 1):
        moved = (signed.signed_at + timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%SZ")
        yield (
            f"x-amz-date {seconds:+d}s",
            replace_header(request, "x-amz-date", moved),
            InvalidSignatureException,
        )
    other_key = next(k for k in KEY_IDS if k != auth.access_key_id)
    yield (
        "access key unknown",
        with_auth(access_key_id="AKIAUNKNOWNUNKNOWN00"),
        UnrecognizedClientException,
    )
    yield (
        "access key of someone else",
        with_auth(access_key_id=other_key),
        InvalidSignatureException,
    )
    day_before = (signed.signed_at - timedelta(days=1)).strftime("%Y%m%d")
    yield "scope date", with_auth(date=day_before), InvalidSignatureException
    other_region = next(r for r in REGIONS if r != auth.region)
    yield "scope region (allowed)", with_auth(region=other_region), InvalidSignatureException
    yield "scope region (not allowed)", with_auth(region="xx-nowhere-9"), InvalidSignatureException
    other_service = next(s for s in TARGETS if s != auth.service)
    yield "scope service", with_auth(service=other_service), InvalidSignatureException
    yield "scope terminator", with_auth(terminator="aws4_requesx"), InvalidSignatureException
    for name in auth.signed_headers:
        fewer = tuple(n for n in auth.signed_headers if n != name)
        yield (
            f"SignedHeaders without {name}",
            with_auth(signed_headers=fewer),
            InvalidSignatureException,
        )
    for position in range(64):
        digit = auth.signature[position]
        other = "0123456789abcdef"[("0123456789abcdef".index(digit) + 1) % 16]
        signature = auth.signature[:position] + other + auth.signature[position + 1 :]
        yield (
            f"signature digit {position}",
            with_auth(signature=signature),
            InvalidSignatureException,
        )
    yield (
        "signature uppercase",
        with_auth(signature=auth.signature.upper()),
        IncompleteSignatureException,
    )


def test_every_single_field_mutation_is_rejected() -> None:
    rng = random.Random(7)
    verifier = json_verifier()
    failures = []
    labels = set()
    for sample in range(30):
        signed = sign_with_botocore(rng)
        verify_signed(verifier, signed)  # the unmutated request is fine
        for label, mutated, expected in mutations(signed):
            labels.add(label)
            try:
                verify_signed(verifier, signed, mutated)
            except AuthError as exc:
                if type(exc) is not expected:
                    failures.append(
                        f"sample {sample}, {label}: {type(exc).__name__} ({exc.message})"
                    )
            else:
                failures.append(f"sample {sample}, {label}: accepted")
    assert not failures, "\n".join(failures[:20])
    # The samples covered the interesting signed headers, not just the always-present ones.
    assert {
        "x-amz-security-token changed",
        "x-amz-target duplicated",
        "content-type removed",
        "body truncated",
    } <= labels


# --------------------------------------------------------------------------------------------
# Time, scope, credentials, payload, and the order in which they are checked.


@pytest.mark.parametrize(
    "offset", [timedelta(0), timedelta(minutes=5), -timedelta(minutes=5)], ids=str
)
def test_skew_up_to_five_minutes_is_accepted(offset: timedelta) -> None:
    assert verify_suite_request(suite_request(), now=SUITE_TIME + offset).request_time == SUITE_TIME


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (
            datetime(2015, 8, 30, 12, 46, tzinfo=UTC),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
            "(20150830T124600Z - 5 min.)",
        ),
        (
            datetime(2015, 8, 30, 12, 41, 1, tzinfo=UTC),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
            "(20150830T124101Z - 5 min.)",
        ),
        (
            datetime(2015, 8, 30, 12, 41, 0, 1, tzinfo=UTC),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123600Z "
            "(20150830T124100Z - 5 min.)",
        ),
        (
            datetime(2015, 8, 30, 12, 30, 59, tzinfo=UTC),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z "
            "(20150830T123059Z + 5 min.)",
        ),
        (
            datetime(2015, 8, 30, 12, 26, tzinfo=UTC),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123100Z "
            "(20150830T122600Z + 5 min.)",
        ),
    ],
)
def test_skew_beyond_five_minutes_is_rejected_with_aws_text(now: datetime, message: str) -> None:
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(suite_request(), now=now)
    assert excinfo.value.message == message


def test_skew_text_follows_max_skew() -> None:
    verifier = SigV4Verifier(
        DictLookup({SUITE_KEY_ID: SUITE_SECRET}), max_skew=timedelta(minutes=15)
    )
    assert verify_suite_request(
        suite_request(), verifier=verifier, now=SUITE_TIME + timedelta(minutes=15)
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(
            suite_request(), verifier=verifier, now=SUITE_TIME + timedelta(minutes=16)
        )
    assert excinfo.value.message == (
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
        "(20150830T125200Z - 15 min.)"
    )


def test_scope_date_must_be_the_day_of_x_amz_date() -> None:
    # Correctly signed with a key for the day before: a key derived for one day must not
    # authenticate requests stamped with another (the signing key binds only the date).
    request = sign_ourselves(suite_request(), amz_date="20150830T000010Z", scope_date="20150829")
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(request, now=datetime(2015, 8, 30, 0, 0, 10, tzinfo=UTC))
    assert excinfo.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20150829' != '20150830', from '20150830T000010Z'. "
    )
    same_day = sign_ourselves(suite_request(), amz_date="20150830T000010Z")
    assert verify_suite_request(same_day, now=datetime(2015, 8, 30, 0, 0, 10, tzinfo=UTC))


def test_wrong_service_is_rejected() -> None:
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(suite_request(), expected_service="secretsmanager")
    assert (
        excinfo.value.message
        == "Credential should be scoped to correct service: 'secretsmanager'. "
    )
    assert verify_suite_request(suite_request(), expected_service=None).service == "service"


def test_disallowed_region_is_rejected() -> None:
    with pytest.raises(InvalidSignatureException) as excinfo:
        suite_verifier().verify(
            suite_request(),
            now=SUITE_TIME,
            expected_service="service",
            region_allowed=lambda _: False,
        )
    assert excinfo.value.message == "Credential should be scoped to a valid region. "


def test_all_scope_problems_are_reported_together_in_aws_order() -> None:
    auth = parse_authorization(authorization_of(suite_request()))
    bad = format_authorization(
        auth._replace(date="20150829", region="eu-west-1", terminator="aws5_request")
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(with_authorization(suite_request(), bad), expected_service="kms")
    assert excinfo.value.message == (
        "Credential should be scoped to a valid region. "
        "Credential should be scoped to correct service: 'kms'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20150829' != '20150830', from '20150830T123600Z'. "
    )


def test_unknown_access_key_costs_the_same_hmac_work(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[str] = []
    real = sigv4._compute_signature

    def spy(mac: hmac.HMAC, sts: str) -> str:
        computed.append(sts)
        return real(mac, sts)

    monkeypatch.setattr(sigv4, "_compute_signature", spy)
    lookup = DictLookup({})
    with pytest.raises(UnrecognizedClientException) as excinfo:
        verify_suite_request(suite_request(), verifier=SigV4Verifier(lookup))
    assert excinfo.value.message == "The security token included in the request is invalid."
    assert lookup.calls == 1
    assert computed == [(SUITE_DIR / "get-vanilla" / "get-vanilla.sts").read_text()]


def test_unknown_access_key_is_unrecognized_even_with_the_dummy_secrets_signature() -> None:
    forged = sign_ourselves(
        suite_request(), amz_date="20150830T123600Z", secret=sigv4._UNKNOWN_KEY_SECRET
    )
    with pytest.raises(UnrecognizedClientException):
        verify_suite_request(forged, verifier=SigV4Verifier(DictLookup({})))


def test_missing_authorization_is_missing_authentication_token() -> None:
    with pytest.raises(MissingAuthenticationTokenException) as excinfo:
        verify_suite_request(with_authorization(suite_request(), None))
    assert excinfo.value.message == "Missing Authentication Token"
    assert excinfo.value.status == 403


@pytest.mark.parametrize("with_header", [False, True])
def test_query_string_authentication_is_refused(with_header: bool) -> None:
    request = dataclasses.replace(
        suite_request(), query_string="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x"
    )
    if not with_header:
        request = with_authorization(request, None)
    with pytest.raises(IncompleteSignatureException, match="Query-string authentication"):
        verify_suite_request(request)


def test_unsigned_and_streaming_payloads_are_refused() -> None:
    aws_request = AWSRequest(
        method="POST",
        url="https://example.amazonaws.com/",
        data=b"{}",
        headers={"X-Amz-Target": "secretsmanager.ListSecrets"},
    )
    aws_request.context["payload_signing_enabled"] = False
    with botocore_clock(SUITE_TIME):
        SigV4Auth(Credentials(SUITE_KEY_ID, SUITE_SECRET), "service", "us-east-1").add_auth(
            aws_request
        )
    headers = (*aws_request.headers.items(), ("Host", "example.amazonaws.com"))
    assert ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD") in headers
    request = SignedRequest("POST", "/", "", headers, b"{}")
    with pytest.raises(InvalidSignatureException, match="Unsigned and streaming payloads"):
        verify_suite_request(request)
    streaming = replace_header(
        request, "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    )
    with pytest.raises(InvalidSignatureException, match="Unsigned and streaming payloads"):
        verify_suite_request(streaming)


def test_content_sha256_header_must_be_the_body_hash() -> None:
    body = b'{"SecretId":"a"}'
    base = SignedRequest("POST", "/", "", (("Host", "example.amazonaws.com"),), body)
    good = replace_header(base, "x-amz-content-sha256", hashlib.sha256(body).hexdigest())
    assert verify_suite_request(sign_ourselves(good, amz_date="20150830T123600Z"))
    bad = replace_header(base, "x-amz-content-sha256", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(sign_ourselves(bad, amz_date="20150830T123600Z"))
    assert excinfo.value.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_signature_mismatch_text_and_no_leak() -> None:
    auth = parse_authorization(authorization_of(suite_request()))
    request = with_authorization(
        suite_request(), format_authorization(auth._replace(signature="0" * 64))
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(request)
    assert excinfo.value.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )
    for secret_thing in (auth.signature, SUITE_SECRET, "GET\n/\n"):
        assert secret_thing not in str(excinfo.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Authorization header cannot be empty: ''"),
        ("AWS3-ZZZ Credential=12345", "Unsupported AWS 'algorithm': 'AWS3-ZZZ'."),
        ("Bearer abc.def", "Unsupported AWS 'algorithm': 'Bearer'."),
        (
            "AWS4-HMAC-SHA256 FooBar, BazBurp",
            "'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: "
            "'AWS4-HMAC-SHA256 FooBar, BazBurp'",
        ),
        (
            "AWS4-HMAC-SHA256",
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=AWS4-HMAC-SHA256",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host;x-amz-date, "
            f"Signature={'a' * 64}",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKIDEXAMPLE'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=AKID//us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKID//us-east-1/service/aws4_request'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request/x, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'A/20150830/us-east-1/service/aws4_request/x'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"Credential=B/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}",
            "Authorization header has more than one 'Credential' parameter.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}, Signature={'b' * 64}",
            "Authorization header has more than one 'Signature' parameter.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}, Foo=bar",
            "Unsupported parameter 'Foo' in Authorization header.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=Host;x-amz-date, Signature={'a' * 64}",
            "SignedHeaders must be lowercase header names, sorted, unique and separated by ';', "
            "got 'Host;x-amz-date'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=x-amz-date;host, Signature={'a' * 64}",
            "SignedHeaders must be lowercase header names, sorted, unique and separated by ';', "
            "got 'x-amz-date;host'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;host;x-amz-date, Signature={'a' * 64}",
            "SignedHeaders must be lowercase header names, sorted, unique and separated by ';', "
            "got 'host;host;x-amz-date'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;;x-amz-date, Signature={'a' * 64}",
            "SignedHeaders must be lowercase header names, sorted, unique and separated by ';', "
            "got 'host;;x-amz-date'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=, Signature={'a' * 64}",
            "SignedHeaders must be lowercase header names, sorted, unique and separated by ';', "
            "got ''",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'A' * 64}",
            "Signature must be 64 lowercase hexadecimal characters.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 63}",
            "Signature must be 64 lowercase hexadecimal characters.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=",
            "Signature must be 64 lowercase hexadecimal characters.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=Ä/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'a' * 64}",
            "Authorization header must be ASCII.",
        ),
    ],
)
def test_malformed_authorization_is_incomplete_signature(value: str, message: str) -> None:
    with pytest.raises(IncompleteSignatureException) as excinfo:
        parse_authorization(value)
    assert excinfo.value.message == message
    with pytest.raises(IncompleteSignatureException) as excinfo:
        verify_suite_request(with_authorization(suite_request(), value))
    assert excinfo.value.message == message


def test_authorization_separators_are_commas_or_whitespace() -> None:
    auth = parse_authorization(authorization_of(suite_request()))
    for value in (
        f"AWS4-HMAC-SHA256 Credential={SUITE_KEY_ID}/{auth.scope},SignedHeaders=host;x-amz-date,"
        f"Signature={auth.signature}",
        f"  AWS4-HMAC-SHA256   Signature={auth.signature} ,\tSignedHeaders=host;x-amz-date  "
        f"Credential={SUITE_KEY_ID}/{auth.scope}  ",
    ):
        assert parse_authorization(value) == auth
        assert verify_suite_request(with_authorization(suite_request(), value))


def test_two_authorization_headers_are_refused() -> None:
    request = suite_request()
    request = dataclasses.replace(
        request, headers=(*request.headers, ("authorization", authorization_of(request)))
    )
    with pytest.raises(IncompleteSignatureException, match="Only one Authorization header"):
        verify_suite_request(request)


def test_x_amz_date_is_required_and_date_is_not_enough() -> None:
    request = replace_header(suite_request(), "x-amz-date", None)
    request = replace_header(request, "date", "Sun, 30 Aug 2015 12:36:00 GMT")
    with pytest.raises(IncompleteSignatureException) as excinfo:
        verify_suite_request(request)
    assert excinfo.value.message == (
        "Authorization header requires existence of a 'X-Amz-Date' header. "
        "Authorization=AWS4-HMAC-SHA256"
    )


@pytest.mark.parametrize(
    "value",
    [
        "2015-08-30T12:36:00Z",
        "20150830T123600",
        "20151330T123600Z",
        "20150830T123660Z",
        "\uff120150830T123600Z",
        "x",
    ],
)
def test_x_amz_date_must_be_basic_iso8601(value: str) -> None:
    with pytest.raises(IncompleteSignatureException) as excinfo:
        verify_suite_request(replace_header(suite_request(), "x-amz-date", value))
    assert excinfo.value.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_required_signed_headers_must_be_signed() -> None:
    verifier = SigV4Verifier(
        DictLookup({SUITE_KEY_ID: SUITE_SECRET}), required_signed_headers=JSON_REQUIRED
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(suite_request(), verifier=verifier)
    assert (
        excinfo.value.message == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
    )
    auth = parse_authorization(authorization_of(suite_request()))
    no_host = with_authorization(
        suite_request(), format_authorization(auth._replace(signed_headers=("x-amz-date",)))
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(no_host)
    assert (
        excinfo.value.message
        == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )


def test_signed_header_absent_from_request_is_rejected() -> None:
    auth = parse_authorization(authorization_of(suite_request()))
    extra = auth._replace(signed_headers=("host", "my-header", "x-amz-date"))
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(with_authorization(suite_request(), format_authorization(extra)))
    assert excinfo.value.message == "'My-Header' is a 'SignedHeader' but is not in the request."


def test_required_header_must_appear_once_even_if_the_signature_covers_both() -> None:
    # A signer that signed "x-amz-target:A,B" still cannot get two targets past the verifier.
    base = SignedRequest(
        "POST",
        "/",
        "",
        (("Host", "example.amazonaws.com"), ("X-Amz-Target", "A"), ("X-Amz-Target", "B")),
        b"{}",
    )
    request = sign_ourselves(base, amz_date="20150830T123600Z")
    verifier = SigV4Verifier(
        DictLookup({SUITE_KEY_ID: SUITE_SECRET}), required_signed_headers=JSON_REQUIRED
    )
    with pytest.raises(InvalidSignatureException) as excinfo:
        verify_suite_request(request, verifier=verifier)
    assert excinfo.value.message == "'X-Amz-Target' must appear exactly once in a signed request."


def test_non_ascii_header_name_does_not_fold_onto_a_signed_one() -> None:
    # "\u212a" (KELVIN SIGN).lower() == "k": only ASCII names are case-folded.
    base = SignedRequest("GET", "/", "", (("Host", "example.amazonaws.com"), ("k", "v")), b"")
    request = sign_ourselves(base, amz_date="20150830T123600Z")
    sneaky = dataclasses.replace(request, headers=(*request.headers, ("\u212a", "other")))
    assert verify_suite_request(sneaky)  # the extra header is simply unsigned
    assert canonical_request(sneaky, ("host", "k", "x-amz-date")) == canonical_request(
        request, ("host", "k", "x-amz-date")
    )


def test_checks_run_in_the_documented_order() -> None:
    good = suite_request()
    auth = parse_authorization(authorization_of(good))
    unknown_key = format_authorization(auth._replace(access_key_id="AKIDUNKNOWN"))
    bad_signature = format_authorization(auth._replace(signature="0" * 64))
    late = SUITE_TIME + timedelta(hours=1)

    def error(
        request: SignedRequest,
        *,
        now: datetime = SUITE_TIME,
        service: str = "service",
        required: frozenset[str] = frozenset({"host", "x-amz-date"}),
    ) -> AuthError:
        verifier = SigV4Verifier(
            DictLookup({SUITE_KEY_ID: SUITE_SECRET}), required_signed_headers=required
        )
        with pytest.raises(AuthError) as excinfo:
            verify_suite_request(request, verifier=verifier, now=now, expected_service=service)
        return excinfo.value

    everything_wrong = with_authorization(good, unknown_key)
    # Parse errors beat everything.
    assert isinstance(
        error(with_authorization(good, "AWS4-HMAC-SHA256")), IncompleteSignatureException
    )
    # Missing required signed header beats time, scope, key and signature.
    assert (
        "must be a 'SignedHeader'"
        in error(everything_wrong, now=late, service="kms", required=JSON_REQUIRED).message
    )
    # Time beats scope, key and signature.
    assert error(everything_wrong, now=late, service="kms").message.startswith("Signature expired")
    # Scope beats key and signature.
    assert error(everything_wrong, service="kms").message.startswith("Credential should be scoped")
    # Unknown key beats a bad signature (both are wrong here).
    assert isinstance(error(everything_wrong), UnrecognizedClientException)
    assert error(with_authorization(good, bad_signature)).message == MSG_SIGNATURE_MISMATCH


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_suite_request(suite_request(), now=SUITE_TIME.replace(tzinfo=None))


def test_rotated_secret_never_meets_a_cached_signing_key() -> None:
    lookup = DictLookup({SUITE_KEY_ID: SUITE_SECRET})
    verifier = SigV4Verifier(lookup)
    assert verify_suite_request(suite_request(), verifier=verifier)
    lookup.secrets[SUITE_KEY_ID] = "a-new-secret"
    with pytest.raises(InvalidSignatureException):
        verify_suite_request(suite_request(), verifier=verifier)
    lookup.secrets[SUITE_KEY_ID] = SUITE_SECRET
    assert verify_suite_request(suite_request(), verifier=verifier)


def test_signing_key_cache_is_bounded() -> None:
    lookup = DictLookup({})
    verifier = SigV4Verifier(lookup, key_cache_size=3)
    for i in range(10):
        lookup.secrets[f"AKID{i}"] = f"secret{i}"
        request = sign_ourselves(
            suite_request(), amz_date="20150830T123600Z", key_id=f"AKID{i}", secret=f"secret{i}"
        )
        assert verify_suite_request(request, verifier=verifier)
        assert len(verifier._keys) <= 3


def test_signing_keys_of_ten_thousand_tenants_sessions_stay_cached() -> None:
    # A cache smaller than the keys in use is cleared before most of them come back: every
    # call would derive its signing key again (five HMACs) at 10,000 tenants.
    verifier = SigV4Verifier(DictLookup({}))
    first = verifier._signing_mac("ASIA0", "secret0", "20261204", "us-east-1", "kms")
    for i in range(1, 10_000):
        verifier._signing_mac(f"ASIA{i}", f"secret{i}", "20261204", "us-east-1", "kms")
    assert verifier._signing_mac("ASIA0", "secret0", "20261204", "us-east-1", "kms") is first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"required_signed_headers": frozenset({"host"})}, "must include 'host' and 'x-amz-date'"),
        (
            {"required_signed_headers": frozenset({"x-amz-date"})},
            "must include 'host' and 'x-amz-date'",
        ),
        (
            {"required_signed_headers": frozenset({"host", "x-amz-date", "X-Amz-Target"})},
            "lowercase",
        ),
        ({"max_skew": timedelta(0)}, "max_skew"),
        ({"key_cache_size": 0}, "key_cache_size"),
    ],
)
def test_verifier_configuration_is_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SigV4Verifier(DictLookup({}), **kwargs)


# --------------------------------------------------------------------------------------------
# Properties: canonicalisation agrees with botocore; the fast parser agrees with the slow one;
# no input makes verify raise anything but an AuthError.

BOTOCORE_SIGNER = SigV4Auth(Credentials("a", "b"), "service", "us-east-1")
path_text = st.text(st.sampled_from("/./..abcXYZ019-_~%20 $é中+?=&;:@"), max_size=30)
query_text = st.text(max_size=12)  # no surrogates: botocore cannot encode them


@given(st.just("/") | path_text.map(lambda p: "/" + p))
def test_canonical_path_matches_botocore(path: str) -> None:
    request = SignedRequest("GET", path, "", (("host", "h"),), b"")
    canonical_path = canonical_request(request, ("host",)).split("\n")[1]
    assert canonical_path == BOTOCORE_SIGNER._normalize_url_path(path)


@given(st.lists(st.tuples(query_text, query_text), max_size=6))
def test_canonical_query_matches_botocore_for_params(params: list[tuple[str, str]]) -> None:
    expected = BOTOCORE_SIGNER._canonical_query_string_params(params)
    for wire in (
        urlencode(params),
        "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params),
    ):
        request = SignedRequest("GET", "/", wire, (("host", "h"),), b"")
        assert canonical_request(request, ("host",)).split("\n")[2] == expected


scope_part = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "-_=;.+!~"), min_size=1, max_size=8
)
header_name = st.text(
    st.sampled_from(string.ascii_lowercase + string.digits + "-_.!"), min_size=1, max_size=8
)


@given(
    st.tuples(scope_part, scope_part, scope_part, scope_part, scope_part),
    st.lists(header_name, min_size=1, max_size=5, unique=True),
    st.text(st.sampled_from("0123456789abcdef"), min_size=64, max_size=64),
    st.sampled_from([", ", ","]),
)
def test_fast_and_general_authorization_parsers_agree(
    scope: tuple[str, str, str, str, str], names: list[str], signature: str, separator: str
) -> None:
    value = (
        f"AWS4-HMAC-SHA256 Credential={'/'.join(scope)}{separator}"
        f"SignedHeaders={';'.join(sorted(names))}{separator}Signature={signature}"
    )
    assert sigv4._AUTHORIZATION_RE.fullmatch(value)
    assert parse_authorization(value) == sigv4._parse_authorization_slowly(value)
    assert parse_authorization(value) == Authorization(*scope, tuple(sorted(names)), signature)


def authorization_values() -> st.SearchStrategy[str]:
    good = authorization_of(suite_request())
    pieces = st.sampled_from(
        [
            "AWS4-HMAC-SHA256",
            " ",
            ",",
            "=",
            "/",
            ";",
            "Credential=",
            "SignedHeaders=",
            "Signature=",
            "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            "host;x-amz-date",
            "a" * 64,
            "\t",
            "é",
        ]
    )
    return (
        st.just(good)
        | st.text()
        | st.lists(pieces, max_size=12).map("".join)
        | st.tuples(st.integers(0, len(good)), st.text(max_size=3)).map(
            lambda t: good[: t[0]] + t[1] + good[t[0] :]
        )
    )


any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # surrogates too


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    authorization=authorization_values(),
    method=st.sampled_from(["GET", "POST"]) | any_text,
    path=st.just("/") | any_text,
    query=st.just("") | any_text,
    extra=st.lists(st.tuples(any_text, any_text), max_size=4),
    amz_date=st.just("20150830T123600Z") | any_text,
    body=st.binary(max_size=20),
)
def test_verify_raises_only_auth_errors(
    authorization: str,
    method: str,
    path: str,
    query: str,
    extra: list[tuple[str, str]],
    amz_date: str,
    body: bytes,
) -> None:
    headers = (
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", amz_date),
        ("Authorization", authorization),
        *extra,
    )
    request = SignedRequest(method, path, query, headers, body)
    with contextlib.suppress(AuthError):
        verify_suite_request(request)
