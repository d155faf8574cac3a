"""What a policy is evaluated against: the caller (PrincipalRef) and the request context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class PrincipalRef:
    """The caller as policies name it."""

    # Every ARN the caller answers to, most specific first: a session is
    # ("arn:aws:sts::111:assumed-role/R/s", "arn:aws:iam::111:role/R"), a user
    # ("arn:aws:iam::111:user/path/alice",), the root ("arn:aws:iam::111:root",).
    arns: tuple[str, ...]
    account: str


_EMPTY_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One action on one resource by one principal, with its condition keys."""

    action: str  # "secretsmanager:GetSecretValue"
    resource: str  # an ARN, or "*"
    principal: PrincipalRef
    # Condition keys -> values (single-valued keys are 1-tuples; an absent key is absent).
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY_KEYS)
    # The keys lower-cased once: key names compare case-insensitively. aws:PrincipalArn
    # and aws:PrincipalAccount are derived from the principal when the caller omits them.
    lowered: Mapping[str, tuple[str, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        lowered = {key.lower(): _as_values(values) for key, values in self.keys.items()}
        lowered.setdefault("aws:principalaccount", (self.principal.account,))
        if self.principal.arns:
            # A session's aws:PrincipalArn is its role's ARN: the least specific one.
            lowered.setdefault("aws:principalarn", (self.principal.arns[-1],))
        object.__setattr__(self, "lowered", lowered)


def _as_values(values: object) -> tuple[str, ...]:
    # A bare string would otherwise become a tuple of its characters.
    if isinstance(values, str):
        return (values,)
    if isinstance(values, tuple | list | frozenset | set):
        return tuple(str(v) for v in values)
    return (str(values),)
