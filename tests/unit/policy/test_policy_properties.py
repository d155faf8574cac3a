"""Property tests: evaluate against a naive oracle from the AWS docs, and metamorphic laws."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.policy import (
    NamedPolicy,
    PolicyKind,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
    statement_matches,
)

ACCOUNT = "123456789012"
OTHER = "444455556666"
SM = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Tenant"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Tenant/s1"
USER = PrincipalRef((USER_ARN,), ACCOUNT)
SESSION = PrincipalRef((SESSION_ARN, ROLE_ARN), ACCOUNT)
TAG = "aws:PrincipalTag/customer"
VAR = "${aws:PrincipalTag/customer}"

Json = dict[str, Any]
Keys = Mapping[str, tuple[str, ...]]

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Whole scenarios parse up to eight policies per example: fewer examples, same budget.
SCENARIO_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=150)
# The four slowest properties run a third of their examples in the default run; the same
# properties at the counts above are the `slow` tests at the end of this module.
DEFAULT_PROPERTY_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=100)
DEFAULT_SCENARIO_SETTINGS = settings(SCENARIO_SETTINGS, max_examples=50)

# ----------------------------------------------------------------------------------------
# The oracle. Written from the IAM User Guide ("Policy evaluation logic", "Condition
# operators", "Policy variables"), deliberately naive: it reads the raw JSON, matches
# wildcards by backtracking over characters, and never compiles anything.
# ----------------------------------------------------------------------------------------

WILD_STAR, WILD_ONE = object(), object()


def oracle_tokens(text: str, keys: Keys | None) -> list[object] | None:
    """Pattern text as tokens: WILD_STAR, WILD_ONE, or a literal character. With ``keys``
    (Version 2012-10-17), ${...} is substituted and what it yields is literal; None if a
    variable has no value and no default."""
    tokens: list[object] = []
    i = 0
    while i < len(text):
        if keys is not None and text.startswith("${", i) and "}" in text[i:]:
            end = text.index("}", i)
            inner = text[i + 2 : end]
            if inner in ("*", "?", "$"):
                tokens.append(inner)
            else:
                name, _, default = inner.partition(",")
                value = keys.get(name.strip().lower())
                if value is not None and len(value) == 1:
                    tokens.extend(value[0])
                else:
                    default = default.strip()
                    if len(default) >= 2 and default[0] == default[-1] == "'":
                        tokens.extend(default[1:-1])
                    else:
                        return None
            i = end + 1
            continue
        char = text[i]
        tokens.append(WILD_STAR if char == "*" else WILD_ONE if char == "?" else char)
        i += 1
    return tokens


def oracle_like(tokens: list[object], value: str, fold: bool = False) -> bool:
    def eq(a: object, b: str) -> bool:
        return isinstance(a, str) and (a.lower() == b.lower() if fold else a == b)

    def go(t: int, v: int) -> bool:
        if t == len(tokens):
            return v == len(value)
        token = tokens[t]
        if token is WILD_STAR:
            return any(go(t + 1, k) for k in range(v, len(value) + 1))
        if v == len(value):
            return False
        if token is WILD_ONE or eq(token, value[v]):
            return go(t + 1, v + 1)
        return False

    return go(0, 0)


def oracle_literal(text: str, keys: Keys | None) -> str | None:
    tokens = oracle_tokens(text, keys)
    if tokens is None:
        return None
    return "".join("*" if t is WILD_STAR else "?" if t is WILD_ONE else str(t) for t in tokens)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def oracle_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def oracle_value_match(base: str, policy_value: str, value: str, keys: Keys | None) -> bool | None:
    """Does one request value match one policy value? None: request value unreadable."""
    if base in ("StringEquals", "StringNotEquals"):
        return oracle_literal(policy_value, keys) == value
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        resolved = oracle_literal(policy_value, keys)
        return resolved is not None and resolved.casefold() == value.casefold()
    if base in ("StringLike", "StringNotLike"):
        tokens = oracle_tokens(policy_value, keys)
        return tokens is not None and oracle_like(tokens, value)
    if base == "NumericLessThan":
        ours, theirs = (
            oracle_number(value),
            oracle_number(oracle_literal(policy_value, keys) or "x"),
        )
        if ours is None:
            return None
        return theirs is not None and ours < theirs
    if base == "Bool":
        return value.lower() == policy_value.lower()
    raise AssertionError(base)


def oracle_condition(operator: str, key: str, listed: Any, keys: Keys, variables: bool) -> bool:
    qualifier = None
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix, operator[len(prefix) :]
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    present = keys.get(key.lower(), ())
    policy_values = [v if isinstance(v, str) else json.dumps(v) for v in as_list(listed)]
    if base == "Null":
        return any((v == "true") == (not present) for v in policy_values)
    negated = "Not" in base
    if not present:
        # "If the key that you specify in a policy condition is not present in the request
        # context, the values do not match" -- and negated operators are then true.
        if if_exists:
            return True
        if qualifier == "ForAllValues:":
            return True
        if qualifier == "ForAnyValue:":
            return False
        return negated
    sub = keys if variables else None
    results = []
    for value in present:
        found = [oracle_value_match(base, p, value, sub) for p in policy_values]
        results.append(None if None in found else any(found))
    if qualifier == "ForAllValues:":
        return all(r is not None and r != negated for r in results)
    if qualifier == "ForAnyValue:":
        return any(r is not None and r != negated for r in results)
    # A request value that is not of the operator's type (a non-number for Numeric*)
    # matches no policy value; a negated operator never concludes "not equal" from such
    # a value, so it is false if any value is unreadable.
    if negated:
        return all(r is False for r in results)
    return any(r is True for r in results)


def oracle_statement_applies(statement: Json, request: RequestContext, variables: bool) -> bool:
    keys: dict[str, tuple[str, ...]] = {k.lower(): v for k, v in request.keys.items()}
    keys.setdefault("aws:principalaccount", (request.principal.account,))
    keys.setdefault("aws:principalarn", (request.principal.arns[-1],))
    if "Action" in statement:
        hit = any(
            oracle_like(oracle_tokens(a, None) or [], request.action, fold=True)
            for a in as_list(statement["Action"])
        )
    else:
        hit = not any(
            oracle_like(oracle_tokens(a, None) or [], request.action, fold=True)
            for a in as_list(statement["NotAction"])
        )
    if not hit:
        return False
    sub = keys if variables else None
    if "Resource" in statement or "NotResource" in statement:
        patterns = as_list(statement.get("Resource", statement.get("NotResource")))
        matched = False
        for pattern in patterns:
            tokens = oracle_tokens(pattern, sub)
            if tokens is not None and oracle_like(tokens, request.resource):
                matched = True
        if matched != ("Resource" in statement):
            return False
    for operator, block in statement.get("Condition", {}).items():
        for key, listed in block.items():
            if not oracle_condition(operator, key, listed, keys, variables):
                return False
    return True


def oracle_principal(statement: Json, principal: PrincipalRef) -> str:
    def kind(listed: Any) -> str:
        if listed == "*":
            return "direct"
        result = "none"
        for value in as_list(listed.get("AWS", [])):
            if value == "*" or (value in principal.arns and not value.endswith(":root")):
                return "direct"
            if value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
                result = "account"
        return result

    if "Principal" in statement:
        return kind(statement["Principal"])
    # NotPrincipal exempts only the caller's own ARN (the account id standing for the root).
    listed = statement["NotPrincipal"]
    caller = principal.arns[0]
    exempt = listed == "*" or any(
        value in ("*", caller) or caller == f"arn:aws:iam::{value}:root"
        for value in as_list(listed.get("AWS", []))
    )
    return "none" if exempt else "direct"


def oracle_evaluate(
    request: RequestContext,
    identity: list[Json],
    identity_allows_all: bool,
    resource: Json | None,
    resource_required: bool,
    boundary: Json | None,
    session: list[Json] | None,
) -> tuple[str, str | None]:
    def statements(policy: Json) -> list[Json]:
        return as_list(policy["Statement"])

    def applies(policy: Json, effect: str, principal_kinds: tuple[str, ...] = ()) -> bool:
        variables = policy.get("Version") == "2012-10-17"
        for statement in statements(policy):
            if statement["Effect"] != effect:
                continue
            applies_to = oracle_principal(statement, request.principal) if principal_kinds else ""
            if boundary is not None and effect == "Deny" and "NotPrincipal" in statement:
                applies_to = "direct"  # a NotPrincipal Deny always denies a bounded principal
            if principal_kinds and applies_to not in principal_kinds:
                continue
            if oracle_statement_applies(statement, request, variables):
                return True
        return False

    # 1. An explicit deny in any policy wins.
    if any(applies(p, "Deny") for p in identity):
        return "ExplicitDeny", "identity-based policy"
    if resource is not None and applies(resource, "Deny", ("direct", "account")):
        return "ExplicitDeny", "resource-based policy"
    if boundary is not None and applies(boundary, "Deny"):
        return "ExplicitDeny", "permissions boundary"
    if session is not None and any(applies(p, "Deny") for p in session):
        return "ExplicitDeny", "session policy"
    # 2. Allows.
    identity_allows = identity_allows_all or any(applies(p, "Allow") for p in identity)
    direct = resource is not None and applies(resource, "Allow", ("direct",))
    by_account = resource is not None and applies(resource, "Allow", ("account",))
    if resource_required:
        if not direct and not by_account:
            return "ImplicitDeny", "resource-based policy"
        if not direct and not identity_allows:
            return "ImplicitDeny", "identity-based policy"
    elif not identity_allows and not direct:
        return "ImplicitDeny", "identity-based policy"
    # 3. Boundaries and session policies limit everything except a resource-policy grant
    # naming the caller's own user or session ARN.
    exempt = False
    if resource is not None:
        for statement in statements(resource):
            listed = statement.get("Principal")
            if statement["Effect"] == "Allow" and isinstance(listed, dict):
                named = request.principal.arns[0] in as_list(listed.get("AWS", []))
                variables = resource.get("Version") == "2012-10-17"
                if named and oracle_statement_applies(statement, request, variables):
                    exempt = True
    if not exempt:
        if boundary is not None and not applies(boundary, "Allow"):
            return "ImplicitDeny", "permissions boundary"
        if session is not None and not any(applies(p, "Allow") for p in session):
            return "ImplicitDeny", "session policy"
    return "Allow", None


# ----------------------------------------------------------------------------------------
# Generators.
# ----------------------------------------------------------------------------------------

# Small alphabets, so that generated values often collide with generated patterns (and
# differ from them only by case, or by a wildcard character).
PATTERN_PIECES = ["a", "A", "b", "/", "*", "?", VAR, VAR, "${aws:PrincipalTag/customer, 'a'}"]
PATTERN_PIECES += ["${*}", "${?}", "${$}", "${aws:username}"]
pattern_text = st.lists(st.sampled_from(PATTERN_PIECES), max_size=4).map("".join)
condition_text = st.lists(st.sampled_from(PATTERN_PIECES), min_size=1, max_size=3).map("".join)
value_text = st.lists(st.sampled_from(["a", "A", "b", "/", "*", "?"]), max_size=3).map("".join)

POLICY_ACTIONS = [
    "*",
    "secretsmanager:*",
    "secretsmanager:Get*",
    "secretsmanager:GetSecretValue",
    "SecretsManager:getsecretvalue",
    "secretsmanager:?escribeSecret",
    "kms:*",
    "kms:Decrypt",
]
REQUEST_ACTIONS = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "kms:Decrypt",
    "kms:Encrypt",
]
STRING_OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
]
CONDITION_KEYS = ["test:k1", "TEST:K1", TAG, "test:k2"]


@st.composite
def conditions(draw: st.DrawFn) -> Json:
    block: Json = {}
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["string", "string", "string", "numeric", "bool", "null"]))
        if kind == "string":
            base = draw(st.sampled_from(STRING_OPERATORS))
            qualifier = draw(st.sampled_from(["", "", "ForAllValues:", "ForAnyValue:"]))
            values: Any = draw(st.lists(condition_text, min_size=1, max_size=2))
        elif kind == "numeric":
            base, qualifier = "NumericLessThan", draw(st.sampled_from(["", "ForAnyValue:"]))
            values = draw(
                st.lists(st.sampled_from(["1", "5", "10.5", "-3"]), min_size=1, max_size=2)
            )
        elif kind == "bool":
            base, qualifier = "Bool", ""
            values = draw(st.sampled_from(["true", "false", True]))
        else:
            base, qualifier = "Null", ""
            values = draw(st.sampled_from(["true", "false"]))
        suffix = "IfExists" if base != "Null" and draw(st.booleans()) else ""
        key = draw(st.sampled_from([*CONDITION_KEYS, "test:n", "test:b"]))
        block.setdefault(f"{qualifier}{base}{suffix}", {})[key] = values
    return block


def principal_block(draw: st.DrawFn) -> Any:
    choices = ["*", {"AWS": "*"}]
    single = [USER_ARN, ROLE_ARN, SESSION_ARN, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"]
    single += [f"arn:aws:iam::{OTHER}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/bob"]
    listed = draw(st.lists(st.sampled_from(single), min_size=1, max_size=3, unique=True))
    return draw(st.sampled_from([*choices, {"AWS": listed}, {"AWS": listed}, {"AWS": listed}]))


@st.composite
def statements(draw: st.DrawFn, kind: PolicyKind, effect: str | None = None) -> Json:
    statement: Json = {"Effect": effect or draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(POLICY_ACTIONS), min_size=1, max_size=2))
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = draw(
        st.lists(
            st.one_of(st.just("*"), pattern_text.map(lambda t: SM + t)), min_size=1, max_size=2
        )
    )
    statement["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    block = draw(conditions())
    if block:
        statement["Condition"] = block
    if kind in ("resource", "key"):
        name = "NotPrincipal" if draw(st.integers(0, 5)) == 0 else "Principal"
        statement[name] = principal_block(draw)
    return statement


@st.composite
def policies(draw: st.DrawFn, kind: PolicyKind) -> Json:
    policy: Json = {"Statement": draw(st.lists(statements(kind), min_size=1, max_size=3))}
    if draw(st.integers(0, 4)):
        policy["Version"] = "2012-10-17"
    return policy


@st.composite
def requests(draw: st.DrawFn) -> RequestContext:
    principal = draw(st.sampled_from([USER, SESSION]))
    action = draw(st.sampled_from(REQUEST_ACTIONS))
    resource = draw(st.one_of(st.just("*"), value_text.map(lambda t: SM + t)))
    keys: dict[str, tuple[str, ...]] = {}
    if draw(st.booleans()):
        keys[TAG] = (draw(value_text),)
    if draw(st.integers(0, 3)):
        keys["test:k1"] = tuple(draw(st.lists(value_text, max_size=2)))
    if draw(st.booleans()):
        keys["Test:K2"] = (draw(value_text),)
    if draw(st.booleans()):
        keys["test:n"] = (draw(st.sampled_from(["0", "5", "7.25", "-10", "x", "1e1"])),)
    if draw(st.booleans()):
        keys["test:b"] = (draw(st.sampled_from(["true", "false", "TRUE", "maybe"])),)
    if principal is USER and draw(st.booleans()):
        keys["aws:username"] = ("alice",)
    return RequestContext(action, resource, principal, keys)


def parsed(name: str, policy: Json, kind: PolicyKind) -> NamedPolicy:
    return NamedPolicy(name, parse_policy(json.dumps(policy), kind))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "identity": draw(st.lists(policies("identity"), max_size=2)),
        "identity_allows_all": draw(st.integers(0, 9)) == 0,
        "resource": draw(st.none() | policies("resource")),
        "resource_required": draw(st.booleans()),
        "boundary": draw(st.none() | st.none() | policies("identity")),
        "session": draw(st.none() | st.none() | st.lists(policies("session"), max_size=2)),
    }


def run(request: RequestContext, scenario: Mapping[str, Any]) -> tuple[str, str | None]:
    decision = evaluate(
        request,
        identity=[parsed(f"i{n}", p, "identity") for n, p in enumerate(scenario["identity"])],
        identity_allows_all=scenario["identity_allows_all"],
        resource=None
        if scenario["resource"] is None
        else parsed("r", scenario["resource"], "resource"),
        resource_required=scenario["resource_required"],
        boundary=None
        if scenario["boundary"] is None
        else parsed("b", scenario["boundary"], "identity"),
        session=None
        if scenario["session"] is None
        else [parsed(f"s{n}", p, "session") for n, p in enumerate(scenario["session"])],
    )
    return decision.effect, decision.policy_type


# ----------------------------------------------------------------------------------------
# Properties.
# ----------------------------------------------------------------------------------------


@DEFAULT_SCENARIO_SETTINGS
@given(request=requests(), scenario=scenarios())
def test_evaluate_agrees_with_the_oracle(request: RequestContext, scenario: dict[str, Any]) -> None:
    expected = oracle_evaluate(
        request,
        scenario["identity"],
        scenario["identity_allows_all"],
        scenario["resource"],
        scenario["resource_required"],
        scenario["boundary"],
        scenario["session"],
    )
    assert run(request, scenario) == expected


@DEFAULT_PROPERTY_SETTINGS
@given(request=requests(), statement=statements("identity"))
def test_single_statement_agrees_with_the_oracle(request: RequestContext, statement: Json) -> None:
    # The same check concentrated on one statement, so matching bugs are not diluted.
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    scenario = {
        "identity": [policy],
        "identity_allows_all": False,
        "resource": None,
        "resource_required": False,
        "boundary": None,
        "session": None,
    }
    assert run(request, scenario) == oracle_evaluate(
        request, [policy], False, None, False, None, None
    )


def variants(text: str) -> st.SearchStrategy[str]:
    """Strings near a policy value: itself, case changes, wildcards filled or kept."""
    plain = text.replace(VAR, "a").replace("${*}", "*").replace("${?}", "?")
    return st.sampled_from(
        [
            plain,
            plain.swapcase(),
            plain.upper(),
            plain.replace("*", "").replace("?", "b"),
            plain.replace("*", "ab/"),
            plain[:-1],
            plain + "a",
            text,
        ]
    )


def near(values: list[str]) -> st.SearchStrategy[str]:
    if not values:
        return value_text
    return st.one_of(value_text, st.sampled_from(values).flatmap(variants))


def strings_in(block: Json) -> list[str]:
    return sorted(
        {v for inner in block.values() for listed in inner.values() for v in as_list(listed)}
        - {True, False}
    )


@PROPERTY_SETTINGS
@given(block=conditions(), data=st.data(), version=st.sampled_from(["2012-10-17", None]))
def test_conditions_agree_with_the_oracle(
    block: Json, data: st.DataObject, version: str | None
) -> None:
    statement: Json = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": block}
    policy: Json = {"Statement": statement} | ({"Version": version} if version else {})
    parsed_statement = parse_policy(json.dumps(policy), "identity").statements[0]
    nearby = near(strings_in(block))
    keys: dict[str, tuple[str, ...]] = {}
    for key in (TAG, "test:k1", "Test:K2", "test:n", "test:b"):
        if data.draw(st.integers(0, 3)):
            keys[key] = tuple(data.draw(st.lists(nearby, min_size=0, max_size=2)))
    if keys.get(TAG):
        keys[TAG] = keys[TAG][:1]
    request = RequestContext("s3:GetObject", "*", data.draw(st.sampled_from([USER, SESSION])), keys)
    expected = oracle_statement_applies(statement, request, version is not None)
    assert statement_matches(parsed_statement, request) == expected


@PROPERTY_SETTINGS
@given(
    patterns=st.lists(pattern_text, min_size=1, max_size=2),
    negated=st.booleans(),
    version=st.sampled_from(["2012-10-17", None]),
    data=st.data(),
)
def test_resources_agree_with_the_oracle(
    patterns: list[str], negated: bool, version: str | None, data: st.DataObject
) -> None:
    element = "NotResource" if negated else "Resource"
    statement: Json = {"Effect": "Allow", "Action": "*", element: [SM + p for p in patterns]}
    policy: Json = {"Statement": statement} | ({"Version": version} if version else {})
    parsed_statement = parse_policy(json.dumps(policy), "identity").statements[0]
    keys: dict[str, tuple[str, ...]] = {}
    if data.draw(st.integers(0, 3)):
        keys[TAG] = (data.draw(st.one_of(st.sampled_from(["a", "A", "*", "?"]), value_text)),)
    if data.draw(st.booleans()):
        keys["aws:username"] = ("a",)
    resource = SM + data.draw(near(patterns))
    request = RequestContext("s3:GetObject", resource, USER, keys)
    expected = oracle_statement_applies(statement, request, version is not None)
    assert statement_matches(parsed_statement, request) == expected


@st.composite
def simple_policies(draw: st.DrawFn, kind: PolicyKind) -> Json:
    """Policies whose statements match by action alone: the combination logic, not the
    matching, decides."""
    statements_: list[Json] = []
    for _ in range(draw(st.integers(1, 3))):
        statement: Json = {
            "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
            "Action": draw(st.sampled_from(["*", "secretsmanager:*", "kms:*"])),
            "Resource": "*",
        }
        if kind == "resource":
            name = "NotPrincipal" if draw(st.integers(0, 5)) == 0 else "Principal"
            statement[name] = principal_block(draw)
        statements_.append(statement)
    return {"Version": "2012-10-17", "Statement": statements_}


@PROPERTY_SETTINGS
@given(
    principal=st.sampled_from([USER, SESSION]),
    action=st.sampled_from(["secretsmanager:GetSecretValue", "kms:Decrypt"]),
    identity=st.lists(simple_policies("identity"), max_size=2),
    identity_allows_all=st.booleans(),
    resource=st.none() | simple_policies("resource"),
    resource_required=st.booleans(),
    boundary=st.none() | simple_policies("identity"),
    session=st.none() | st.lists(simple_policies("session"), max_size=2),
)
def test_combination_agrees_with_the_oracle(
    principal: PrincipalRef,
    action: str,
    identity: list[Json],
    identity_allows_all: bool,
    resource: Json | None,
    resource_required: bool,
    boundary: Json | None,
    session: list[Json] | None,
) -> None:
    request = RequestContext(action, SM + "s", principal, {})
    scenario = {
        "identity": identity,
        "identity_allows_all": identity_allows_all,
        "resource": resource,
        "resource_required": resource_required,
        "boundary": boundary,
        "session": session,
    }
    expected = oracle_evaluate(
        request, identity, identity_allows_all, resource, resource_required, boundary, session
    )
    assert run(request, scenario) == expected


def add_statement(scenario: dict[str, Any], where: str, statement: Json) -> dict[str, Any]:
    changed = dict(scenario)
    if where == "identity":
        changed["identity"] = [
            *scenario["identity"],
            {"Version": "2012-10-17", "Statement": [statement]},
        ]
    else:
        base = scenario[where] or {"Version": "2012-10-17", "Statement": []}
        changed[where] = {**base, "Statement": [*as_list(base["Statement"]), statement]}
    return changed


# A statement added to one policy of a scenario, where it may go; shared by the default
# properties below and their slow reruns at full example counts.
ADDED_ALLOW_CASES: dict[str, st.SearchStrategy[Any]] = {
    "request": requests(),
    "scenario": scenarios(),
    "data": st.data(),
    "where": st.sampled_from(["identity", "resource"]),
}
ADDED_DENY_CASES = {
    **ADDED_ALLOW_CASES,
    "where": st.sampled_from(["identity", "resource", "boundary"]),
}


@DEFAULT_SCENARIO_SETTINGS
@given(**ADDED_DENY_CASES)
def test_adding_a_deny_never_adds_an_allow(
    request: RequestContext, scenario: dict[str, Any], data: st.DataObject, where: str
) -> None:
    kind: PolicyKind = "resource" if where == "resource" else "identity"
    extra = data.draw(statements(kind, effect="Deny"))
    before = run(request, scenario)[0] == "Allow"
    after = run(request, add_statement(scenario, where, extra))[0] == "Allow"
    assert before or not after


@DEFAULT_SCENARIO_SETTINGS
@given(**ADDED_ALLOW_CASES)
def test_adding_an_allow_never_removes_one(
    request: RequestContext, scenario: dict[str, Any], data: st.DataObject, where: str
) -> None:
    kind: PolicyKind = "resource" if where == "resource" else "identity"
    extra = data.draw(statements(kind, effect="Allow"))
    before = run(request, scenario)[0] == "Allow"
    after = run(request, add_statement(scenario, where, extra))[0] == "Allow"
    assert after or not before


def escaped(value: str) -> str:
    return value.replace("$", "${$}").replace("*", "${*}").replace("?", "${?}")


wild_value = st.lists(st.sampled_from(["a", "b", "*", "?", "/", "$"]), max_size=5).map("".join)


@PROPERTY_SETTINGS
@given(prefix=pattern_text, suffix=pattern_text, tag=wild_value, target=value_text)
def test_substituted_values_never_widen_a_resource_match(
    prefix: str, suffix: str, tag: str, target: str
) -> None:
    def allows(resource_pattern: str, keys: Keys) -> bool:
        policy = {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "*", "Resource": SM + resource_pattern},
        }
        context = RequestContext("s3:GetObject", SM + target, USER, {**keys, TAG: (tag,)})
        return evaluate(context, identity=[parsed("p", policy, "identity")]).allowed

    # Substitution is exactly the escaped literal, and never more than raw text would be.
    via_variable = allows(prefix + VAR + suffix, {})
    assert via_variable == allows(prefix + escaped(tag) + suffix, {})
    if "$" not in tag:
        assert not via_variable or allows(prefix + tag + suffix, {})


@PROPERTY_SETTINGS
@given(
    operator=st.sampled_from(["StringLike", "StringEquals", "ForAnyValue:StringLike"]),
    prefix=pattern_text,
    tag=wild_value,
    targets=st.lists(value_text, min_size=1, max_size=2),
)
def test_substituted_values_never_widen_a_condition_match(
    operator: str, prefix: str, tag: str, targets: list[str]
) -> None:
    def allows(condition_value: str) -> bool:
        policy = {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {operator: {"test:k": condition_value}},
            },
        }
        keys = {TAG: (tag,), "test:k": tuple(targets)}
        context = RequestContext("s3:GetObject", "*", USER, keys)
        return evaluate(context, identity=[parsed("p", policy, "identity")]).allowed

    via_variable = allows(prefix + VAR)
    assert via_variable == allows(prefix + escaped(tag))
    if "Like" in operator and "$" not in tag:
        assert not via_variable or allows(prefix + tag)


# -- the four slowest properties above at their full example counts (`make test-slow`) -------


def body(test: Callable[..., None]) -> Callable[..., None]:
    """The function under a @given test, to run it again under other settings."""
    inner: Callable[..., None] = test.hypothesis.inner_test  # type: ignore[attr-defined]
    return inner


@pytest.mark.slow
@SCENARIO_SETTINGS
@given(request=requests(), scenario=scenarios())
def test_slow_evaluate_agrees_with_the_oracle(
    request: RequestContext, scenario: dict[str, Any]
) -> None:
    body(test_evaluate_agrees_with_the_oracle)(request, scenario)


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(request=requests(), statement=statements("identity"))
def test_slow_single_statement_agrees_with_the_oracle(
    request: RequestContext, statement: Json
) -> None:
    body(test_single_statement_agrees_with_the_oracle)(request, statement)


@pytest.mark.slow
@SCENARIO_SETTINGS
@given(**ADDED_DENY_CASES)
def test_slow_adding_a_deny_never_adds_an_allow(
    request: RequestContext, scenario: dict[str, Any], data: st.DataObject, where: str
) -> None:
    body(test_adding_a_deny_never_adds_an_allow)(request, scenario, data, where)


@pytest.mark.slow
@SCENARIO_SETTINGS
@given(**ADDED_ALLOW_CASES)
def test_slow_adding_an_allow_never_removes_one(
    request: RequestContext, scenario: dict[str, Any], data: st.DataObject, where: str
) -> None:
    body(test_adding_an_allow_never_removes_one)(request, scenario, data, where)
