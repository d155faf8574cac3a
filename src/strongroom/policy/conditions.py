"""Condition operators: parsing their names, checking their values, and testing a request."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from strongroom.policy.errors import PolicyDocumentError, excerpt
from strongroom.policy.variables import Escaped, Template, lookup
from strongroom.policy.wildcards import Token, compile_source, pattern_tokens, tokens_source

Keys = Mapping[str, tuple[str, ...]]
# A matcher answers for one request value: True (matches one of the policy values), False,
# or None when the request value cannot be read as the operator's type (not a number,
# not a date, ...), which makes the whole condition false.
Matcher = Callable[[str], bool | None]

_Compare = Callable[[Decimal, Decimal], bool]

# base operator (lower case) -> (canonical name, family, negated)
_OPERATORS: dict[str, tuple[str, str, bool]] = {
    name.lower(): (name, family, negated)
    for name, family, negated in (
        ("StringEquals", "string", False),
        ("StringNotEquals", "string", True),
        ("StringEqualsIgnoreCase", "string-ignore-case", False),
        ("StringNotEqualsIgnoreCase", "string-ignore-case", True),
        ("StringLike", "string-like", False),
        ("StringNotLike", "string-like", True),
        ("NumericEquals", "numeric-eq", False),
        ("NumericNotEquals", "numeric-eq", True),
        ("NumericLessThan", "numeric-lt", False),
        ("NumericLessThanEquals", "numeric-le", False),
        ("NumericGreaterThan", "numeric-gt", False),
        ("NumericGreaterThanEquals", "numeric-ge", False),
        ("DateEquals", "date-eq", False),
        ("DateNotEquals", "date-eq", True),
        ("DateLessThan", "date-lt", False),
        ("DateLessThanEquals", "date-le", False),
        ("DateGreaterThan", "date-gt", False),
        ("DateGreaterThanEquals", "date-ge", False),
        ("Bool", "bool", False),
        ("BinaryEquals", "binary", False),
        ("IpAddress", "ip", False),
        ("NotIpAddress", "ip", True),
        ("ArnEquals", "arn", False),
        ("ArnLike", "arn", False),
        ("ArnNotEquals", "arn", True),
        ("ArnNotLike", "arn", True),
        ("Null", "null", False),
    )
}
_QUALIFIERS = {"forallvalues:": ("ForAllValues:", "all"), "foranyvalue:": ("ForAnyValue:", "any")}
_IF_EXISTS = "ifexists"

_COMPARISONS: dict[str, _Compare] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}

_NUMBER = re.compile(r"\A[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_EPOCH = re.compile(r"\A-?\d+(?:\.\d+)?\Z")


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """A parsed operator name: ``ForAnyValue:StringLikeIfExists`` and the like."""

    name: str  # canonical spelling
    family: str
    negated: bool
    qualifier: str | None  # "all" (ForAllValues), "any" (ForAnyValue) or None
    if_exists: bool


def parse_operator(text: str) -> OperatorSpec:
    """Parse a condition operator name (IAM accepts any letter case; we normalise it)."""
    lowered = text.lower()
    prefix, qualifier = "", None
    for key, (spelling, kind) in _QUALIFIERS.items():
        if lowered.startswith(key):
            prefix, qualifier = spelling, kind
            lowered = lowered[len(key) :]
            break
    if_exists = lowered.endswith(_IF_EXISTS) and lowered != _IF_EXISTS
    if if_exists:
        lowered = lowered[: -len(_IF_EXISTS)]
    found = _OPERATORS.get(lowered)
    # Null tests presence itself, so IfExists or a set qualifier on it means nothing.
    if found is None or (found[1] == "null" and (if_exists or qualifier is not None)):
        raise PolicyDocumentError(f"Invalid Condition type : {excerpt(text)}")
    name, family, negated = found
    return OperatorSpec(
        f"{prefix}{name}{'IfExists' if if_exists else ''}", family, negated, qualifier, if_exists
    )


def parse_number(value: str) -> Decimal | None:
    if _NUMBER.match(value) is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None


def parse_date(value: str) -> Decimal | None:
    """Seconds since the epoch, from ISO 8601 (a date, or a date and time) or epoch seconds."""
    if _EPOCH.match(value):
        return Decimal(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Decimal(str(parsed.timestamp()))


def parse_binary(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_bool(value: str) -> str | None:
    lowered = value.lower()
    return lowered if lowered in ("true", "false") else None


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_network(value: str) -> _Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def parse_address(value: str) -> _Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


# How a policy value of each family is checked at parse time (values with variables are
# checked after substitution instead).
_VALUE_PARSERS: dict[str, Callable[[str], object | None]] = {
    "numeric": parse_number,
    "date": parse_date,
    "bool": parse_bool,
    "binary": parse_binary,
    "ip": parse_network,
    "null": parse_bool,
}


def _value_parser(family: str) -> Callable[[str], object | None] | None:
    return _VALUE_PARSERS.get(family.split("-")[0])


def check_values(spec: OperatorSpec, templates: Sequence[Template]) -> None:
    """Refuse a policy value that can never be read as the operator's type."""
    parse = _value_parser(spec.family)
    if parse is None:
        return
    for template in templates:
        if spec.family == "null" and template.has_variables:
            raise PolicyDocumentError(f"Invalid value for {spec.name}")
        if template.has_variables:
            continue
        text = template.resolve({})
        if text is None or parse(text) is None:
            raise PolicyDocumentError(f"Invalid value for {spec.name}: {excerpt(text or '')}")


def _arn_source(template: Template, keys: Keys) -> str | None:
    """Regex source for an ARN pattern: `*` and `?` stay inside one of the first five
    colon-separated segments; in the sixth (the resource) `*` spans everything."""
    if template.parts == ("*",):
        return ".*"
    segments: list[list[Token]] = [[]]
    for part in template.parts:
        if isinstance(part, str):
            # Only the policy's own colons separate segments; a substituted one is literal.
            for index, piece in enumerate(part.split(":")):
                if index:
                    segments.append([])
                segments[-1].extend(pattern_tokens(piece))
        elif isinstance(part, Escaped):
            segments[-1].append(part.text)
        else:
            value = lookup(part, keys)
            if value is None:
                return None
            segments[-1].append(value)
    head = [tokens_source(s, star="[^:]*", question="[^:]") for s in segments[:5]]
    rest: list[Token] = []
    for index, segment in enumerate(segments[5:]):
        if index:
            rest.append(":")
        rest.extend(segment)
    return ":".join([*head, tokens_source(rest)] if len(segments) > 5 else head)


def _regex_matcher(sources: list[str]) -> Matcher:
    if not sources:
        return _never
    pattern = compile_source("|".join(f"(?:{s})" for s in sorted(set(sources))))
    fullmatch = pattern.fullmatch

    def match(value: str) -> bool:
        return fullmatch(value) is not None

    return match


def _never(value: str) -> bool:
    return False


def _set_matcher(accepted: frozenset[object], convert: Callable[[str], object | None]) -> Matcher:
    def match(value: str) -> bool | None:
        converted = convert(value)
        if converted is None:
            return None
        return converted in accepted

    return match


def _ordered_matcher(
    bounds: list[Decimal], compare: _Compare, convert: Callable[[str], Decimal | None]
) -> Matcher:
    def match(value: str) -> bool | None:
        converted = convert(value)
        if converted is None:
            return None
        return any(compare(converted, bound) for bound in bounds)

    return match


def _ip_matcher(networks: list[_Network]) -> Matcher:
    def match(value: str) -> bool | None:
        address = parse_address(value)
        if address is None:
            return None
        return any(address in network for network in networks)

    return match


def _identity(value: str) -> str:
    return value


def _casefold(value: str) -> str:
    return value.casefold()


def build_matcher(family: str, templates: Sequence[Template], keys: Keys) -> Matcher:
    """A matcher for one request value against the policy values, variables substituted.

    A variable with no value and no default resolves to nothing: AWS treats it as null,
    which equals no request value (so a positive operator cannot match through it and a
    negated one is not stopped by it).
    """
    if family == "string-like":
        like = [s for t in templates if (s := t.pattern_source(keys)) is not None]
        return _regex_matcher(like)
    if family == "arn":
        return _regex_matcher([s for t in templates if (s := _arn_source(t, keys)) is not None])
    resolved = [v for t in templates if (v := t.resolve(keys)) is not None]
    if family == "string":
        return _set_matcher(frozenset(resolved), _identity)
    if family == "string-ignore-case":
        return _set_matcher(frozenset(v.casefold() for v in resolved), _casefold)
    if family == "bool":
        return _set_matcher(frozenset(filter(None, map(parse_bool, resolved))), parse_bool)
    if family == "binary":
        return _set_matcher(frozenset(filter(None, map(parse_binary, resolved))), parse_binary)
    if family == "ip":
        return _ip_matcher([n for v in resolved if (n := parse_network(v)) is not None])
    kind, comparison = family.split("-")
    convert = parse_number if kind == "numeric" else parse_date
    bounds = [b for v in resolved if (b := convert(v)) is not None]
    return _ordered_matcher(bounds, _COMPARISONS[comparison], convert)


@dataclass(frozen=True, slots=True)
class ConditionTest:
    """One (operator, key, values) triple, precompiled for evaluation."""

    spec: OperatorSpec
    key: str  # lower-cased
    templates: tuple[Template, ...]
    _static: Matcher | None = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def compile(
        cls, spec: OperatorSpec, key: str, templates: tuple[Template, ...]
    ) -> ConditionTest:
        static = None
        if spec.family != "null" and not any(t.has_variables for t in templates):
            static = build_matcher(spec.family, templates, {})
        return cls(spec, key.lower(), templates, static)

    def holds(self, keys: Keys) -> bool:
        """Whether the request satisfies this condition."""
        spec = self.spec
        values = keys.get(self.key)
        if not values:
            # An absent key (or an empty set of values): IAM documents that "if the key
            # that you specify in a policy condition is not present in the request context,
            # the values do not match", so positive operators are false and negated ones
            # true; ...IfExists is true; ForAllValues is true and ForAnyValue false on an
            # empty set; Null tests exactly this absence.
            if spec.family == "null":
                return self._null_expects("true")
            if spec.if_exists or spec.qualifier == "all":
                return True
            if spec.qualifier == "any":
                return False
            return spec.negated
        if spec.family == "null":
            return self._null_expects("false")
        match = self._static or build_matcher(spec.family, self.templates, keys)
        results = [match(v) for v in values]
        negated = spec.negated
        if spec.qualifier == "all":
            return all(r is not None and r != negated for r in results)
        if spec.qualifier == "any":
            return any(r is not None and r != negated for r in results)
        if negated:
            return all(r is False for r in results)
        return any(r is True for r in results)

    def _null_expects(self, wanted: str) -> bool:
        return any((t.resolve({}) or "").lower() == wanted for t in self.templates)
