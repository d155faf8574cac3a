"""The parsed policy: PolicyDocument, Statement and Condition, frozen and hashable."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from strongroom.policy.conditions import ConditionTest, parse_operator
from strongroom.policy.variables import Template, parse_template
from strongroom.policy.wildcards import compile_any, compile_source

PolicyKind = Literal["identity", "resource", "trust", "session", "key"]
PrincipalType = Literal["AWS", "Service", "Federated", "CanonicalUser"]
PRINCIPAL_TYPES: tuple[str, ...] = ("AWS", "Service", "Federated", "CanonicalUser")


class PrincipalMap(Mapping[str, tuple[str, ...]]):
    """An immutable, hashable principal block: {"AWS": ("arn:...",), "Service": (...)}."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, tuple[str, ...]]) -> None:
        self._items: tuple[tuple[str, tuple[str, ...]], ...] = tuple(sorted(items.items()))

    def __getitem__(self, key: str) -> tuple[str, ...]:
        for name, values in self._items:
            if name == key:
                return values
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PrincipalMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"PrincipalMap({dict(self._items)!r})"


Principal = PrincipalMap | Literal["*"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One operator/key pair; values are strings (JSON true -> "true", 5 -> "5")."""

    operator: str  # canonical spelling, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written; compared case-insensitively
    values: tuple[str, ...]
    variables: bool = False  # whether ${...} in values is substituted (Version 2012-10-17)
    test: ConditionTest = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        templates = tuple(parse_template(v, variables=self.variables) for v in self.values)
        object.__setattr__(
            self, "test", ConditionTest.compile(parse_operator(self.operator), self.key, templates)
        )


@dataclass(frozen=True, slots=True)
class ResourcePatterns:
    """Precompiled Resource/NotResource patterns: one regex for the patterns without
    variables, templates for those with (substituted per request)."""

    static: re.Pattern[str] | None
    templates: tuple[Template, ...]


def compile_resources(patterns: tuple[str, ...], *, variables: bool) -> ResourcePatterns:
    templates = [parse_template(p, variables=variables) for p in patterns]
    static = sorted({s for t in templates if not t.has_variables and (s := t.pattern_source({}))})
    dynamic = tuple(t for t in templates if t.has_variables)
    regex = compile_source("|".join(f"(?:{s})" for s in static)) if static else None
    return ResourcePatterns(regex, dynamic)


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str | None
    effect: str  # "Allow" or "Deny"
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    principal: Principal | None = None
    not_principal: Principal | None = None
    conditions: tuple[Condition, ...] = ()
    variables: bool = False  # Version 2012-10-17: ${...} in Resource is substituted
    actions_regex: re.Pattern[str] = field(init=False, compare=False, hash=False, repr=False)
    resources: ResourcePatterns | None = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        actions = self.action if self.action is not None else self.not_action
        object.__setattr__(self, "actions_regex", compile_any(actions or (), ignore_case=True))
        patterns = self.resource if self.resource is not None else self.not_resource
        compiled = None
        if patterns is not None:
            compiled = compile_resources(patterns, variables=self.variables)
        object.__setattr__(self, "resources", compiled)


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    version: str  # "2012-10-17" or "2008-10-17"
    id: str | None
    statements: tuple[Statement, ...]
