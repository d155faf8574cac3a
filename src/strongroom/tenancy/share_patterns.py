"""Share patterns and share actions: what a share may name, and which calls it opens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from strongroom.ids import SHARED_NAMESPACE, InvalidSecretName, validate_secret_name

READ = "READ"
DESCRIBE = "DESCRIBE"
DEFAULT_ACTIONS = (READ,)
# The Secrets Manager actions each share action lets through the tenant guard. Nothing
# that changes a secret is here: a share never lets a tenant write a shared secret.
# Listings (ListSecrets, BatchGetSecretValue with filters) decide per secret with
# DescribeSecret or GetSecretValue, so they follow these sets.
OPENED_ACTIONS: dict[str, frozenset[str]] = {
    DESCRIBE: frozenset({"secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"}),
    READ: frozenset(
        {
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:ListSecretVersionIds",
            "secretsmanager:GetResourcePolicy",
        }
    ),
}
WILDCARD = "*"


class InvalidShare(ValueError):
    """A share pattern or action list broke a rule; the message says which."""


@dataclass(frozen=True, slots=True)
class SharePattern:
    """A validated pattern: a shared secret's name, or a prefix of names (ending in ``*``)."""

    text: str

    @property
    def is_prefix(self) -> bool:
        return self.text.endswith(WILDCARD)

    @property
    def literal(self) -> str:
        return self.text[:-1] if self.is_prefix else self.text

    def covers(self, name: str) -> bool:
        """Does the pattern match this secret name? Exact, case-sensitive; ``*`` matches
        any rest of the name, ``/`` included, as in an IAM resource pattern."""
        if self.is_prefix:
            return name.startswith(self.literal)
        return name == self.text


def parse_pattern(text: str) -> SharePattern:
    """Validate a share pattern: a secret name under ``/shared/`` by the secret-name rules
    (no ``.``/``..`` or empty segments), optionally ending in one ``*`` that stands for the
    rest of the name: right after a ``/`` (``/shared/vendor/*``) or within the last segment
    (``/shared/vendor/stripe-*``)."""
    if not text.startswith(SHARED_NAMESPACE):
        raise InvalidShare(f"A share pattern must start with {SHARED_NAMESPACE}.")
    if WILDCARD in text[:-1]:
        raise InvalidShare("A share pattern may have a * only as its last character.")
    literal = text[:-1] if text.endswith(WILDCARD) else text
    # "/shared/*": the namespace itself; "/shared/a/*": the names below "/shared/a".
    checked = literal[:-1] if literal.endswith("/") and text.endswith(WILDCARD) else literal
    try:
        validate_secret_name(checked)
    except InvalidSecretName as exc:
        raise InvalidShare(f"Invalid share pattern. {exc}") from exc
    return SharePattern(text)


def normalised_actions(actions: Iterable[str] | None) -> tuple[str, ...]:
    """The share's actions, sorted and without repeats (READ when none are given)."""
    chosen = tuple(actions) if actions is not None else DEFAULT_ACTIONS
    if not chosen:
        raise InvalidShare("A share needs at least one action.")
    unknown = sorted({a for a in chosen if a not in OPENED_ACTIONS})
    if unknown:
        raise InvalidShare(
            f"Unknown share action {unknown[0]!r}; the actions are {', '.join(OPENED_ACTIONS)}."
        )
    return tuple(sorted(set(chosen)))


def opened_by(actions: Iterable[str]) -> frozenset[str]:
    """Every Secrets Manager action the share actions let through the tenant guard."""
    opened: frozenset[str] = frozenset()
    for action in actions:
        opened |= OPENED_ACTIONS.get(action, frozenset())
    return opened
