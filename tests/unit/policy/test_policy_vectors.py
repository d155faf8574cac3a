"""tests/vectors/policy/: every documented IAM rule there, checked against the engine."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast, get_args

import pytest

from strongroom.policy import (
    IDENTITY_POLICY,
    PERMISSIONS_BOUNDARY,
    RESOURCE_POLICY,
    SESSION_POLICY,
    NamedPolicy,
    PolicyDocumentError,
    PolicyKind,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "policy"
PARSE_FILE = "parse-errors.json"
DECISIONS = ("Allow", "ExplicitDeny", "ImplicitDeny")
POLICY_TYPES = (IDENTITY_POLICY, RESOURCE_POLICY, PERMISSIONS_BOUNDARY, SESSION_POLICY)
ROLES = ("identity", "resource", "boundary", "session")
KINDS: tuple[str, ...] = get_args(PolicyKind)
OPTIONS = ("resource_required", "identity_allows_all")
CASE_FIELDS = {"id", "rule", "source", "policies", "request", "options", "expected", "note"}
PARSE_FIELDS = {"id", "rule", "source", "kind", "document", "text", "max_bytes", "expected"}

Case = dict[str, Any]


def _load() -> dict[str, list[Case]]:
    files: dict[str, list[Case]] = {}
    for path in sorted(VECTORS.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        assert body["topic"] == path.stem, path.name
        files[path.name] = body["cases"]
    return files


FILES = _load()
EVALUATION_CASES = [case for name, cases in FILES.items() if name != PARSE_FILE for case in cases]
PARSE_CASES = FILES.get(PARSE_FILE, [])


def _kind(value: object) -> PolicyKind:
    assert value in KINDS, value
    return cast(PolicyKind, value)


def _named(entry: Mapping[str, Any]) -> NamedPolicy:
    text = json.dumps(entry["document"])
    return NamedPolicy(entry["name"], parse_policy(text, _kind(entry["kind"])))


def _context(raw: Mapping[str, Any]) -> RequestContext:
    principal = raw["principal"]
    keys: dict[str, tuple[str, ...]] = {
        key: tuple(values) for key, values in raw.get("context", {}).items()
    }
    return RequestContext(
        raw["action"],
        raw["resource"],
        PrincipalRef(tuple(principal["arns"]), principal["account"]),
        keys,
    )


def _by_role(policies: Sequence[Mapping[str, Any]], role: str) -> list[NamedPolicy]:
    return [_named(entry) for entry in policies if entry["type"] == role]


def test_the_vectors_are_there_and_well_formed() -> None:
    assert len(EVALUATION_CASES) >= 200
    assert PARSE_CASES
    ids = [case["id"] for cases in FILES.values() for case in cases]
    assert len(ids) == len(set(ids))
    for case in EVALUATION_CASES:
        assert set(case) <= CASE_FIELDS, case["id"]
        assert case["rule"], case["id"]
        assert case["source"], case["id"]
        assert all(entry["type"] in ROLES for entry in case["policies"]), case["id"]
        assert sum(entry["type"] == "resource" for entry in case["policies"]) <= 1, case["id"]
        assert sum(entry["type"] == "boundary" for entry in case["policies"]) <= 1, case["id"]
        assert set(case.get("options", {})) <= set(OPTIONS), case["id"]
        expected = case["expected"]
        assert expected["decision"] in DECISIONS, case["id"]
        if expected["decision"] == "Allow":
            assert "policy_type" not in expected, case["id"]
        else:
            assert expected["policy_type"] in POLICY_TYPES, case["id"]
    for case in PARSE_CASES:
        assert set(case) <= PARSE_FIELDS, case["id"]
        assert case["rule"], case["id"]
        assert case["source"], case["id"]
        assert ("document" in case) != ("text" in case), case["id"]
        assert set(case["expected"]) in ({"error"}, {"valid"}), case["id"]


@pytest.mark.parametrize("case", EVALUATION_CASES, ids=[case["id"] for case in EVALUATION_CASES])
def test_decision(case: Case) -> None:
    policies = case["policies"]
    options = case.get("options", {})
    resources = _by_role(policies, "resource")
    boundaries = _by_role(policies, "boundary")
    sessions = _by_role(policies, "session")
    decision = evaluate(
        _context(case["request"]),
        identity=_by_role(policies, "identity"),
        identity_allows_all=bool(options.get("identity_allows_all", False)),
        resource=resources[0] if resources else None,
        resource_required=bool(options.get("resource_required", False)),
        boundary=boundaries[0] if boundaries else None,
        session=sessions or None,
    )
    expected = case["expected"]
    assert (decision.effect, decision.policy_type) == (
        expected["decision"],
        expected.get("policy_type"),
    ), case["rule"]
    # A denial cites the deny statements, an implicit deny none, an allow its grants (none
    # for the root user, whom no policy needs to allow).
    if expected["decision"] == "ImplicitDeny":
        assert decision.statements == ()
    elif expected["decision"] == "ExplicitDeny" or not options.get("identity_allows_all"):
        assert decision.statements


@pytest.mark.parametrize("case", PARSE_CASES, ids=[case["id"] for case in PARSE_CASES])
def test_parse(case: Case) -> None:
    text = case["text"] if "text" in case else json.dumps(case["document"])
    kind = _kind(case["kind"])
    max_bytes = case.get("max_bytes")
    expected = case["expected"]
    if expected.get("valid"):
        assert parse_policy(text, kind, max_bytes=max_bytes).statements
        return
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy(text, kind, max_bytes=max_bytes)
    # IAM appends detail to some messages ('Invalid principal in policy: "AWS":"..."').
    assert str(caught.value).startswith(expected["error"]), case["rule"]
