"""What the identity services need from storage: records and the store Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

EntityKind = Literal["user", "role", "group", "policy"]
SessionOwner = Literal["role", "user", "root"]
Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    name: str
    path: str
    arn: str
    created_at: datetime
    boundary_arn: str | None = None


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: str
    name: str
    path: str
    arn: str
    created_at: datetime
    max_session_duration: int
    trust_policy: str
    description: str | None = None
    boundary_arn: str | None = None
    last_used_at: datetime | None = None
    last_used_region: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    name: str
    path: str
    arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ManagedPolicyRecord:
    id: str
    name: str
    path: str
    arn: str
    created_at: datetime
    updated_at: datetime
    default_version: str
    next_version: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyVersionRecord:
    policy_id: str
    version_id: str
    document: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InlinePolicyRecord:
    name: str
    document: str


@dataclass(frozen=True, slots=True)
class UserAccessKey:
    access_key_id: str
    user_id: str
    status: str
    created_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """An STS session; the token is kept only as its SHA-256 digest."""

    access_key_id: str
    token_hash: bytes = field(repr=False)
    wrapped_secret: bytes = field(repr=False)
    owner_kind: SessionOwner = "role"
    owner_id: str = ""
    session_name: str = ""
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    source_identity: str | None = None
    tags: Tags = ()
    transitive_tag_keys: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()


class DuplicateEntity(Exception):
    """A concurrent writer created an entity with the same (case-insensitive) name."""


class IdentityTransaction(Protocol):
    """One transaction over identity state; every IAM operation runs in exactly one."""

    # Users
    def user_by_name(self, name: str) -> UserRecord | None: ...

    def user_by_id(self, user_id: str) -> UserRecord | None: ...

    def users(self) -> list[UserRecord]: ...

    def insert_user(self, user: UserRecord) -> None:
        """Raise DuplicateEntity if the name is taken."""
        ...

    def update_user(self, user: UserRecord) -> None:
        """Store name, path, ARN and boundary of ``user`` (by id)."""
        ...

    def delete_user(self, user_id: str) -> None: ...

    # Roles
    def role_by_name(self, name: str) -> RoleRecord | None: ...

    def role_by_id(self, role_id: str) -> RoleRecord | None: ...

    def roles(self) -> list[RoleRecord]: ...

    def insert_role(self, role: RoleRecord) -> None: ...

    def update_role(self, role: RoleRecord) -> None: ...

    def delete_role(self, role_id: str) -> None: ...

    # Groups
    def group_by_name(self, name: str) -> GroupRecord | None: ...

    def groups(self) -> list[GroupRecord]: ...

    def insert_group(self, group: GroupRecord) -> None: ...

    def delete_group(self, group_id: str) -> None: ...

    def add_member(self, group_id: str, user_id: str) -> None: ...

    def remove_member(self, group_id: str, user_id: str) -> bool: ...

    def members(self, group_id: str) -> list[UserRecord]: ...

    def groups_of_user(self, user_id: str) -> list[GroupRecord]: ...

    # Tags (users, roles, managed policies), in insertion order
    def tags(self, kind: EntityKind, entity_id: str) -> Tags: ...

    def tags_of_kind(self, kind: EntityKind) -> dict[str, Tags]: ...

    def replace_tags(
        self, kind: EntityKind, entity_id: str, tags: Sequence[tuple[str, str]]
    ) -> None: ...

    # Inline policies
    def inline_policies(self, kind: EntityKind, entity_id: str) -> list[InlinePolicyRecord]: ...

    def put_inline_policy(
        self, kind: EntityKind, entity_id: str, name: str, document: str
    ) -> None: ...

    def delete_inline_policy(self, kind: EntityKind, entity_id: str, name: str) -> bool: ...

    # Managed policies and their versions
    def policy_by_arn(self, arn: str) -> ManagedPolicyRecord | None: ...

    def policy_by_name(self, name: str) -> ManagedPolicyRecord | None: ...

    def policies(self) -> list[ManagedPolicyRecord]: ...

    def insert_policy(self, policy: ManagedPolicyRecord, first: PolicyVersionRecord) -> None: ...

    def update_policy(self, policy: ManagedPolicyRecord) -> None:
        """Store default_version, next_version and updated_at of ``policy`` (by id)."""
        ...

    def delete_policy(self, policy_id: str) -> None: ...

    def versions(self, policy_id: str) -> list[PolicyVersionRecord]: ...

    def insert_version(self, version: PolicyVersionRecord) -> None: ...

    def delete_version(self, policy_id: str, version_id: str) -> None: ...

    def default_documents(self, policy_ids: Sequence[str]) -> dict[str, str]:
        """policy id → its default version's document."""
        ...

    # Attachments
    def attached(self, kind: EntityKind, entity_id: str) -> list[ManagedPolicyRecord]: ...

    def attach(self, kind: EntityKind, entity_id: str, policy_id: str) -> None: ...

    def detach(self, kind: EntityKind, entity_id: str, policy_id: str) -> bool: ...

    def attachments_of(self, policy_id: str) -> list[tuple[EntityKind, str]]: ...

    def attachment_counts(self) -> dict[str, int]:
        """policy id → how many users, roles and groups it is attached to."""
        ...

    # Access keys of users
    def access_keys_of(self, user_id: str) -> list[UserAccessKey]: ...

    def access_key(self, access_key_id: str) -> UserAccessKey | None: ...

    def insert_access_key(self, key: UserAccessKey, principal_arn: str, wrapped: bytes) -> None: ...

    def set_access_key_status(self, access_key_id: str, status: str) -> None: ...

    def delete_access_key(self, access_key_id: str) -> None: ...

    def rename_key_owner(self, user_id: str, principal_arn: str) -> None:
        """Keep the keys' principal ARN in step when a user is renamed or moved."""
        ...

    # STS sessions
    def session(self, access_key_id: str) -> SessionRecord | None:
        """One session by its access key id (a point read on every uncached request)."""
        ...

    def insert_session(self, session: SessionRecord) -> None: ...

    def delete_sessions_of(self, kind: SessionOwner, owner_id: str) -> None: ...

    def mark_role_used(self, role_id: str, when: datetime, region: str) -> None: ...

    def reset(self) -> None:
        """Delete every user, role, group, policy, session and user access key."""
        ...


class IdentityStore(Protocol):
    def transaction(self, *, write: bool) -> AbstractContextManager[IdentityTransaction]: ...

    def delete_expired_sessions(self, now: datetime) -> int: ...

    def record_key_use(self, access_key_id: str, when: datetime) -> None: ...
