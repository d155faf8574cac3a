"""IAM wildcard patterns (`*` and `?`, everything else literal) compiled to regexes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A pattern is compiled once per distinct regex source; policies with variables produce a
# new source per substituted value (one per tenant, say), so the cache is generous.
_CACHE_SIZE = 16384


class Wildcard:
    """A wildcard token: STAR (any run of characters) or ONE (exactly one character)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


STAR = Wildcard("STAR")
ONE = Wildcard("ONE")
# A pattern as tokens: wildcards, and literal text (str) that never acts as a wildcard.
Token = str | Wildcard


def pattern_tokens(pattern: str) -> list[Token]:
    """Tokens of policy text where `*` and `?` are wildcards."""
    return [STAR if c == "*" else ONE if c == "?" else c for c in pattern]


def tokens_source(tokens: Iterable[Token], *, star: str = ".*", question: str = ".") -> str:
    """Regex source that full-matches what the tokens match, without runaway backtracking.

    For a glob `S0*S1*...*Sk`, committing each middle segment to its leftmost occurrence
    never loses a match (a later occurrence leaves a shorter rest to match), so middle
    segments sit in atomic groups: `*a*a*a*b` against a long string of `a` stays cheap.
    """
    segments: list[str] = []
    current: list[str] = []
    for token in tokens:
        if token is STAR:
            segments.append("".join(current))
            current = []
        elif token is ONE:
            current.append(question)
        else:
            current.append(re.escape(str(token)))
    segments.append("".join(current))
    if len(segments) == 1:
        return segments[0]
    middles = "".join(f"(?>{star}?{s})" for s in segments[1:-1] if s)
    return f"{segments[0]}{middles}{star}{segments[-1]}"


def wildcard_source(pattern: str, *, star: str = ".*", question: str = ".") -> str:
    """Regex source for an IAM wildcard pattern: `*` and `?` are wildcards, the rest literal."""
    if "*" not in pattern and "?" not in pattern:
        return re.escape(pattern)
    return tokens_source(pattern_tokens(pattern), star=star, question=question)


@lru_cache(maxsize=_CACHE_SIZE)
def compile_source(source: str, ignore_case: bool = False) -> re.Pattern[str]:
    """Compile a full-match regex source (DOTALL: `*` spans every character)."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


def compile_any(patterns: tuple[str, ...], *, ignore_case: bool = False) -> re.Pattern[str]:
    """One regex that full-matches a string matching any of the wildcard patterns."""
    sources = sorted({wildcard_source(p) for p in patterns})
    return compile_source("|".join(f"(?:{s})" for s in sources), ignore_case)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches the whole wildcard ``pattern``."""
    compiled = compile_source(wildcard_source(pattern), ignore_case)
    return compiled.fullmatch(value) is not None
