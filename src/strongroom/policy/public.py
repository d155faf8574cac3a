"""public_statements: Allow statements that open a resource beyond its own account."""

from __future__ import annotations

from strongroom.policy.document import Condition, PolicyDocument, Principal, Statement
from strongroom.policy.evaluation import MatchedStatement

# Condition keys that, pinned to the account, keep a Principal "*" statement in-account.
_ACCOUNT_KEYS = frozenset({"aws:principalaccount", "aws:sourceaccount", "kms:calleraccount"})
_ARN_KEYS = frozenset({"aws:principalarn"})
_ORG_KEYS = frozenset({"aws:principalorgid"})
_PINNING_FAMILIES = frozenset({"string", "string-ignore-case", "string-like", "arn"})


def public_statements(policy: PolicyDocument, account_id: str) -> tuple[MatchedStatement, ...]:
    """Allow statements granting to anyone outside ``account_id`` (policy_name is "")."""
    found: list[MatchedStatement] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow":
            continue
        if _reaches_outside(statement, account_id) and not _pinned(statement, account_id):
            found.append(MatchedStatement("", statement.sid, index, statement.effect))
    return tuple(found)


def _reaches_outside(statement: Statement, account_id: str) -> bool:
    if statement.not_principal is not None:
        return True  # everyone except a few
    listed: Principal | None = statement.principal
    if listed is None:
        return False
    if listed == "*":
        return True
    return any(_outside(value, account_id) for value in listed.get("AWS", ()))


def _outside(value: str, account_id: str) -> bool:
    if value == "*":
        return True
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        return len(parts) < 6 or parts[4] != account_id
    return value != account_id


def _pinned(statement: Statement, account_id: str) -> bool:
    return any(_pins(condition, account_id) for condition in statement.conditions)


def _pins(condition: Condition, account_id: str) -> bool:
    """Whether this condition alone confines the statement to principals of the account."""
    spec = condition.test.spec
    key = condition.test.key
    if (
        spec.negated
        or spec.if_exists
        or spec.qualifier == "all"  # true for an empty or missing set
        or spec.family not in _PINNING_FAMILIES
        or not condition.values
        or (condition.variables and any("${" in v for v in condition.values))
    ):
        return False
    if key in _ACCOUNT_KEYS:
        return all(v == account_id for v in condition.values)
    if key in _ARN_KEYS:
        return all(_arn_in_account(v, account_id) for v in condition.values)
    if key in _ORG_KEYS:
        return all(v and "*" not in v and "?" not in v for v in condition.values)
    return False


def _arn_in_account(value: str, account_id: str) -> bool:
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[4] == account_id
