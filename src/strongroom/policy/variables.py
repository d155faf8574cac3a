"""Policy variables: `${key}`, `${key, 'default'}` and the `${*}` `${?}` `${$}` escapes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from strongroom.policy.wildcards import Token, pattern_tokens, tokens_source

# `${` ... `}`; the inside is a key, optionally followed by `, 'default'`.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_INNER = re.compile(
    r"\A\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?\Z",
)
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # lower-cased: context keys compare case-insensitively
    default: str | None


# A template is a sequence of parts: a str is policy text (where `*` and `?` may be
# wildcards), an Escaped is text that is never a wildcard (an escape), a Variable is
# substituted, and what it yields is literal too.
@dataclass(frozen=True, slots=True)
class Escaped:
    text: str


Part = str | Escaped | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string with its variables located once, at parse time."""

    parts: tuple[Part, ...]

    @property
    def has_variables(self) -> bool:
        return any(isinstance(p, Variable) for p in self.parts)

    def resolve(self, keys: Mapping[str, tuple[str, ...]]) -> str | None:
        """The plain string with variables substituted; None if a variable has no value."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Escaped):
                out.append(part.text)
            else:
                value = lookup(part, keys)
                if value is None:
                    return None
                out.append(value)
        return "".join(out)

    def tokens(self, keys: Mapping[str, tuple[str, ...]]) -> list[Token] | None:
        """Wildcards from policy text only; escapes and substituted values are literal."""
        out: list[Token] = []
        for part in self.parts:
            if isinstance(part, str):
                out.extend(pattern_tokens(part))
            elif isinstance(part, Escaped):
                out.append(part.text)
            else:
                value = lookup(part, keys)
                if value is None:
                    return None
                out.append(value)
        return out

    def pattern_source(self, keys: Mapping[str, tuple[str, ...]]) -> str | None:
        """Regex source with variables substituted as literals; None if one has no value."""
        tokens = self.tokens(keys)
        return None if tokens is None else tokens_source(tokens)


def lookup(variable: Variable, keys: Mapping[str, tuple[str, ...]]) -> str | None:
    """The single value of the variable's key, else its default, else None.

    A multi-valued key cannot be substituted (AWS: "you can't use a policy variable with
    a multivalued context key"), so it resolves like an absent one.
    """
    values = keys.get(variable.key)
    if values is not None and len(values) == 1:
        return values[0]
    return variable.default


def parse_template(text: str, *, variables: bool) -> Template:
    """Locate variables in ``text``; with ``variables`` False (Version 2008-10-17, or an
    element where IAM does not substitute) the whole text is plain policy text."""
    if not variables or "${" not in text:
        return Template((text,))
    parts: list[Part] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        inner = match.group(1)
        if inner in _ESCAPES:
            parts.append(Escaped(_ESCAPES[inner]))
        else:
            parsed = _INNER.match(inner)
            if parsed is None:
                # Not variable syntax: IAM leaves such text as it is.
                parts.append(match.group(0))
            else:
                parts.append(Variable(parsed.group(1).lower(), parsed.group(2)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts))
