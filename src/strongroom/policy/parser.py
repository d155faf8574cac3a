"""parse_policy: IAM JSON policy text to a PolicyDocument, refusing what IAM refuses."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from strongroom.policy.conditions import check_values, parse_operator
from strongroom.policy.document import (
    PRINCIPAL_TYPES,
    Condition,
    PolicyDocument,
    PolicyKind,
    Principal,
    PrincipalMap,
    Statement,
)
from strongroom.policy.errors import PolicyDocumentError, excerpt
from strongroom.policy.variables import parse_template

VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"
SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"

_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_WHITESPACE = re.compile(r"\s+")
_SID = re.compile(r"\A[0-9A-Za-z]*\Z")
_IAM_KINDS = frozenset({"identity", "session", "trust"})
_ACTION = re.compile(r"\A(?:\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)\Z")
_ACCOUNT = re.compile(r"\A[0-9]{12}\Z")
# Tag keys inside condition keys may hold any Unicode letter and spaces: refuse only
# control characters and overlong keys.
_CONDITION_KEY = re.compile(r"\A[^\x00-\x1f\x7f]{1,256}\Z")
# Principal ARNs: arn:partition:service:region:account:resource, no wildcards.
_PRINCIPAL_ARN = re.compile(r"\Aarn:[a-z0-9-]+:[a-z0-9-]+:[^:*?]*:[0-9]*:[^*?]+\Z")


class _Number(str):
    """A JSON number, kept as its text: only condition values may be numbers."""

    __slots__ = ()


def _fail(message: str = SYNTAX) -> NoReturn:
    raise PolicyDocumentError(message)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers choosing different duplicates is how policy bypasses happen: refuse.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(f"{SYNTAX} Duplicate key {excerpt(key)}")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    _fail()


def parse_policy(text: str, kind: PolicyKind, *, max_bytes: int | None = None) -> PolicyDocument:
    """Parse and validate a policy of ``kind``; raise PolicyDocumentError as IAM would.

    ``max_bytes`` is the caller's size quota, counted as IAM counts it: without whitespace.
    Pure: the same text gives an equal document, so callers may cache by text.
    """
    if max_bytes is not None and len(_WHITESPACE.sub("", text)) > max_bytes:
        _fail(f"Cannot exceed quota for PolicySize: {max_bytes}")
    try:
        raw = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        _fail()
    if not isinstance(raw, dict):
        _fail()
    unknown = set(raw) - _TOP_LEVEL
    if unknown:
        _fail(f"{SYNTAX} Unknown field {excerpt(sorted(unknown)[0])}")
    version = raw.get("Version", DEFAULT_VERSION)
    if not isinstance(version, str) or isinstance(version, _Number):
        _fail()
    if version not in VERSIONS:
        _fail()
    policy_id = raw.get("Id")
    if policy_id is not None and (not isinstance(policy_id, str) or isinstance(policy_id, _Number)):
        _fail()
    if "Statement" not in raw:
        _fail()
    body = raw["Statement"]
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        _fail()
    variables = version == "2012-10-17"
    statements = tuple(_statement(item, kind, variables) for item in body)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        _fail("Statement IDs (SID) in a single policy must be unique.")
    return PolicyDocument(version, policy_id, statements)


def _statement(raw: object, kind: PolicyKind, variables: bool) -> Statement:
    if not isinstance(raw, dict):
        _fail()
    unknown = set(raw) - _STATEMENT_FIELDS
    if unknown:
        _fail(f"{SYNTAX} Unknown field {excerpt(sorted(unknown)[0])}")
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str) or isinstance(sid, _Number):
            _fail()
        # IAM documents (identity, session, trust) allow only letters and digits; KMS
        # key policies and Secrets Manager resource policies accept any string (AWS's own
        # default key policy says "Enable IAM User Permissions").
        if kind in _IAM_KINDS and _SID.match(sid) is None:
            _fail(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
                "the regular expression [0-9A-Za-z]*"
            )
    effect = raw.get("Effect")
    if (
        not isinstance(effect, str)
        or isinstance(effect, _Number)
        or effect.lower() not in ("allow", "deny")
    ):
        _fail()
    if effect not in ("Allow", "Deny"):
        _fail(LEGACY)  # IAM's grammar check ignores case, its legacy parser does not
    principal, not_principal = _principals(raw, kind)
    action, not_action = _exactly_one(
        raw, "Action", "NotAction", "Policy statement must contain actions."
    )
    for pattern in action or not_action or ():
        if pattern != "*" and ":" not in pattern:
            _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        if pattern.count(":") > 1:
            _fail("Actions/Condition can contain only one colon.")
        if _ACTION.match(pattern) is None:
            _fail("Policy has invalid action")
        if kind == "trust" and not pattern.lower().startswith("sts:"):
            _fail("AssumeRole policy may only specify STS AssumeRole actions.")
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    if kind == "trust":
        for name in ("Resource", "NotResource"):
            if name in raw:
                _fail(f"Has prohibited field {name}")  # a trust policy's resource is its role
    else:
        resource, not_resource = _exactly_one(
            raw, "Resource", "NotResource", "Policy statement must contain resources."
        )
        for pattern in resource or not_resource or ():
            _check_resource(pattern)
    conditions = _conditions(raw.get("Condition"), variables) if "Condition" in raw else ()
    return Statement(
        sid=sid,
        effect=effect,
        action=action,
        not_action=not_action,
        resource=resource,
        not_resource=not_resource,
        principal=principal,
        not_principal=not_principal,
        conditions=conditions,
        variables=variables,
    )


def _strings(value: object) -> tuple[str, ...]:
    """A string or a non-empty list of strings (JSON numbers are not strings here)."""
    if isinstance(value, str) and not isinstance(value, _Number):
        return (value,)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, str) and not isinstance(v, _Number) for v in value)
    ):
        return tuple(value)
    _fail()


def _exactly_one(
    raw: Mapping[str, object], name: str, negated: str, missing: str
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if name in raw and negated in raw:
        _fail(f"{SYNTAX} Statement has both {name} and {negated}")
    if name in raw:
        if raw[name] == []:
            _fail(missing)
        return _strings(raw[name]), None
    if negated in raw:
        if raw[negated] == []:
            _fail(missing)
        return None, _strings(raw[negated])
    _fail(missing)


def _check_resource(pattern: str) -> None:
    if pattern == "*":
        return
    parts = pattern.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[5]:
        _fail(f'Resource {excerpt(pattern)} must be in ARN format or "*".')
    service = parts[2]
    if not service or "*" in service or "?" in service:
        _fail("Resource vendor must be fully qualified and cannot contain regexes.")


def _principals(
    raw: Mapping[str, object], kind: PolicyKind
) -> tuple[Principal | None, Principal | None]:
    present = [name for name in ("Principal", "NotPrincipal") if name in raw]
    if kind == "identity":
        if present:
            _fail("Policy document should not specify a principal.")
        return None, None
    if kind == "session":
        if present:
            _fail(f"Has prohibited field {present[0]}")
        return None, None
    if not present:
        _fail("Missing required field Principal")
    if len(present) == 2:
        _fail(f"{SYNTAX} Statement has both Principal and NotPrincipal")
    parsed = _principal(raw[present[0]])
    return (parsed, None) if present[0] == "Principal" else (None, parsed)


def _principal(value: object) -> Principal:
    if value == "*" and not isinstance(value, _Number):
        return "*"
    if not isinstance(value, dict) or not value:
        _fail("Invalid principal in policy")
    entries: dict[str, tuple[str, ...]] = {}
    for name, listed in value.items():
        if name not in PRINCIPAL_TYPES:
            _fail("Invalid principal in policy")
        values = _strings(listed)
        for item in values:
            if not _valid_principal(name, item):
                _fail(f'Invalid principal in policy: "{name}":"{excerpt(item)}"')
        entries[name] = values
    return PrincipalMap(entries)


def _valid_principal(name: str, value: str) -> bool:
    if not value or value != value.strip():
        return False
    if value == "*":
        return True
    if "*" in value or "?" in value:
        # IAM allows no wildcard in a principal except the bare "*".
        return False
    if name == "AWS":
        return bool(_ACCOUNT.match(value) or _PRINCIPAL_ARN.match(value))
    return True


def _conditions(raw: object, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        _fail()
    conditions: list[Condition] = []
    for operator_name, block in raw.items():
        spec = parse_operator(operator_name)
        if not isinstance(block, dict) or not block:
            _fail()
        for key, listed in block.items():
            if _CONDITION_KEY.match(key) is None:
                _fail(f"{SYNTAX} Invalid condition key {excerpt(key)}")
            values = _condition_values(listed)
            check_values(spec, [parse_template(v, variables=variables) for v in values])
            conditions.append(Condition(spec.name, key, values, variables))
    return tuple(conditions)


def _condition_values(listed: object) -> tuple[str, ...]:
    items = listed if isinstance(listed, list) else [listed]
    if not items:
        _fail()
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str):
            values.append(str(item))
        else:
            _fail()
    return tuple(values)
