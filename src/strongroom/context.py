"""The CallContext: who is calling, in which account and region, and under which request id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from strongroom.ids import AccountId, Partition, Region

ROOT = "Root"
IAM_USER = "IAMUser"
ASSUMED_ROLE = "AssumedRole"

_NO_TAGS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What an STS session adds to its role: tags, policies, source identity, lifetime."""

    role_arn: str
    role_name: str
    session_name: str
    issued_at: datetime
    expires_at: datetime
    # Session tags as given to AssumeRole (plus transitive tags of a role-chained parent).
    tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)
    transitive_tag_keys: frozenset[str] = frozenset()
    source_identity: str | None = None
    # Session policies: the inline Policy document and the documents of PolicyArns, as
    # parsed-and-validated JSON text. A session is allowed only what these also allow.
    policies: tuple[str, ...] = ()
    has_session_policies: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the account root, an IAM user, or an assumed-role session.

    ``arn`` is the caller as AWS names it (for a session ``arn:…:sts::…:assumed-role/R/s``);
    ``identity_arn`` is the IAM entity whose policies apply (the role for a session).
    ``tags`` are the principal tags policies see as ``aws:PrincipalTag/…``: the user's
    or role's tags, overridden by session tags. ``tenant`` is the tenant the principal is
    bound to (the value of the tenant tag), which the tenant guard enforces.
    """

    arn: str
    principal_id: str
    access_key_id: str
    kind: str = ROOT
    name: str = ""
    identity_arn: str = ""
    tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)
    tenant: str | None = None
    session: SessionInfo | None = None

    @property
    def is_root(self) -> bool:
        return self.kind == ROOT


@dataclass(frozen=True, slots=True)
class CallContext:
    """Everything a service needs to know about the call besides its parameters."""

    principal: Principal
    account_id: AccountId
    region: Region
    partition: Partition
    request_id: str
    source_ip: str
    user_agent: str
