"""IAM users, roles, groups, policies, user access keys and STS sessions in the data database."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.identity.ports import (
    DuplicateEntity,
    EntityKind,
    GroupRecord,
    InlinePolicyRecord,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    RoleRecord,
    SessionOwner,
    SessionRecord,
    Tags,
    UserAccessKey,
    UserRecord,
)
from strongroom.storage import engines
from strongroom.storage.schema import (
    access_keys,
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_policies,
    iam_policy_versions,
    iam_roles,
    iam_sessions,
    iam_tags,
    iam_users,
)


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=row.id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        created_at=row.created_at,
        boundary_arn=row.boundary_arn,
    )


def _role(row: Any) -> RoleRecord:
    return RoleRecord(
        id=row.id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        created_at=row.created_at,
        max_session_duration=row.max_session_duration,
        trust_policy=row.trust_policy,
        description=row.description,
        boundary_arn=row.boundary_arn,
        last_used_at=row.last_used_at,
        last_used_region=row.last_used_region,
    )


def _group(row: Any) -> GroupRecord:
    return GroupRecord(
        id=row.id, name=row.name, path=row.path, arn=row.arn, created_at=row.created_at
    )


def _policy(row: Any) -> ManagedPolicyRecord:
    return ManagedPolicyRecord(
        id=row.id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        created_at=row.created_at,
        updated_at=row.updated_at,
        default_version=row.default_version,
        next_version=row.next_version,
        description=row.description,
    )


def _key(row: Any) -> UserAccessKey:
    return UserAccessKey(
        access_key_id=row.access_key_id,
        user_id=row.user_id,
        status=row.status,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _session(row: Any) -> SessionRecord:
    detail = json.loads(row.detail)
    return SessionRecord(
        access_key_id=row.access_key_id,
        token_hash=bytes(row.token_hash),
        wrapped_secret=bytes(row.wrapped_secret),
        owner_kind=row.entity_kind,
        owner_id=row.entity_id,
        session_name=row.session_name,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        source_identity=row.source_identity,
        tags=tuple((str(k), str(v)) for k, v in detail.get("tags", [])),
        transitive_tag_keys=tuple(detail.get("transitive_tag_keys", [])),
        policies=tuple(detail.get("policies", [])),
    )


# The reads that resolve a principal not cached (every call of a quiet tenant's session),
# built once: SQLAlchemy then skips building the statement and its cache key on each call
# (72 against 27 us a query on SQLite).
_USER_BY_ID = select(iam_users).where(iam_users.c.id == bindparam("id"))
_ROLE_BY_ID = select(iam_roles).where(iam_roles.c.id == bindparam("id"))
_SESSION = select(iam_sessions).where(iam_sessions.c.access_key_id == bindparam("key"))
_TAGS = (
    select(iam_tags.c.key, iam_tags.c.value)
    .where(
        and_(iam_tags.c.entity_kind == bindparam("kind"), iam_tags.c.entity_id == bindparam("id"))
    )
    .order_by(iam_tags.c.position)
)
_INLINE_POLICIES = (
    select(iam_inline_policies.c.policy_name, iam_inline_policies.c.document)
    .where(
        and_(
            iam_inline_policies.c.entity_kind == bindparam("kind"),
            iam_inline_policies.c.entity_id == bindparam("id"),
        )
    )
    .order_by(iam_inline_policies.c.policy_name)
)
_ATTACHED = (
    select(iam_policies)
    .join(iam_attachments, iam_attachments.c.policy_id == iam_policies.c.id)
    .where(
        and_(
            iam_attachments.c.entity_kind == bindparam("kind"),
            iam_attachments.c.entity_id == bindparam("id"),
        )
    )
    .order_by(iam_policies.c.name_key)
)


class SqlIdentityTransaction:
    """Identity reads and writes on one connection inside one transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def _insert(self, statement: Any) -> None:
        # The savepoint keeps the transaction usable on PostgreSQL after a failed insert.
        try:
            with self._c.begin_nested():
                self._c.execute(statement)
        except IntegrityError as exc:
            raise DuplicateEntity from exc

    # Users

    def user_by_name(self, name: str) -> UserRecord | None:
        row = self._c.execute(select(iam_users).where(iam_users.c.name_key == name.lower())).first()
        return None if row is None else _user(row)

    def user_by_id(self, user_id: str) -> UserRecord | None:
        row = self._c.execute(_USER_BY_ID, {"id": user_id}).first()
        return None if row is None else _user(row)

    def users(self) -> list[UserRecord]:
        rows = self._c.execute(select(iam_users).order_by(iam_users.c.name_key))
        return [_user(r) for r in rows]

    def insert_user(self, user: UserRecord) -> None:
        self._insert(
            insert(iam_users).values(
                id=user.id,
                name=user.name,
                name_key=user.name.lower(),
                path=user.path,
                arn=user.arn,
                created_at=user.created_at,
                boundary_arn=user.boundary_arn,
            )
        )

    def update_user(self, user: UserRecord) -> None:
        try:
            with self._c.begin_nested():
                self._c.execute(
                    update(iam_users)
                    .where(iam_users.c.id == user.id)
                    .values(
                        name=user.name,
                        name_key=user.name.lower(),
                        path=user.path,
                        arn=user.arn,
                        boundary_arn=user.boundary_arn,
                    )
                )
        except IntegrityError as exc:
            raise DuplicateEntity from exc

    def delete_user(self, user_id: str) -> None:
        self._delete_entity_rows("user", user_id)
        self._c.execute(delete(iam_users).where(iam_users.c.id == user_id))

    def _delete_entity_rows(self, kind: EntityKind, entity_id: str) -> None:
        for table in (iam_tags, iam_inline_policies, iam_attachments):
            self._c.execute(
                delete(table).where(
                    and_(table.c.entity_kind == kind, table.c.entity_id == entity_id)
                )
            )

    # Roles

    def role_by_name(self, name: str) -> RoleRecord | None:
        row = self._c.execute(select(iam_roles).where(iam_roles.c.name_key == name.lower())).first()
        return None if row is None else _role(row)

    def role_by_id(self, role_id: str) -> RoleRecord | None:
        row = self._c.execute(_ROLE_BY_ID, {"id": role_id}).first()
        return None if row is None else _role(row)

    def roles(self) -> list[RoleRecord]:
        return [_role(r) for r in self._c.execute(select(iam_roles).order_by(iam_roles.c.name_key))]

    def insert_role(self, role: RoleRecord) -> None:
        self._insert(
            insert(iam_roles).values(
                id=role.id,
                name=role.name,
                name_key=role.name.lower(),
                path=role.path,
                arn=role.arn,
                created_at=role.created_at,
                description=role.description,
                max_session_duration=role.max_session_duration,
                trust_policy=role.trust_policy,
                boundary_arn=role.boundary_arn,
            )
        )

    def update_role(self, role: RoleRecord) -> None:
        self._c.execute(
            update(iam_roles)
            .where(iam_roles.c.id == role.id)
            .values(
                description=role.description,
                max_session_duration=role.max_session_duration,
                trust_policy=role.trust_policy,
                boundary_arn=role.boundary_arn,
            )
        )

    def delete_role(self, role_id: str) -> None:
        self._delete_entity_rows("role", role_id)
        self._c.execute(delete(iam_roles).where(iam_roles.c.id == role_id))

    def mark_role_used(self, role_id: str, when: datetime, region: str) -> None:
        self._c.execute(
            update(iam_roles)
            .where(iam_roles.c.id == role_id)
            .values(last_used_at=when, last_used_region=region)
        )

    # Groups

    def group_by_name(self, name: str) -> GroupRecord | None:
        row = self._c.execute(
            select(iam_groups).where(iam_groups.c.name_key == name.lower())
        ).first()
        return None if row is None else _group(row)

    def groups(self) -> list[GroupRecord]:
        rows = self._c.execute(select(iam_groups).order_by(iam_groups.c.name_key))
        return [_group(r) for r in rows]

    def insert_group(self, group: GroupRecord) -> None:
        self._insert(
            insert(iam_groups).values(
                id=group.id,
                name=group.name,
                name_key=group.name.lower(),
                path=group.path,
                arn=group.arn,
                created_at=group.created_at,
            )
        )

    def delete_group(self, group_id: str) -> None:
        self._delete_entity_rows("group", group_id)
        self._c.execute(delete(iam_groups).where(iam_groups.c.id == group_id))

    def add_member(self, group_id: str, user_id: str) -> None:
        exists = self._c.execute(
            select(iam_group_members.c.user_id).where(
                and_(
                    iam_group_members.c.group_id == group_id,
                    iam_group_members.c.user_id == user_id,
                )
            )
        ).first()
        if exists is None:
            self._c.execute(insert(iam_group_members).values(group_id=group_id, user_id=user_id))

    def remove_member(self, group_id: str, user_id: str) -> bool:
        result = self._c.execute(
            delete(iam_group_members).where(
                and_(
                    iam_group_members.c.group_id == group_id,
                    iam_group_members.c.user_id == user_id,
                )
            )
        )
        return bool(result.rowcount)

    def members(self, group_id: str) -> list[UserRecord]:
        rows = self._c.execute(
            select(iam_users)
            .join(iam_group_members, iam_group_members.c.user_id == iam_users.c.id)
            .where(iam_group_members.c.group_id == group_id)
            .order_by(iam_users.c.name_key)
        )
        return [_user(r) for r in rows]

    def groups_of_user(self, user_id: str) -> list[GroupRecord]:
        rows = self._c.execute(
            select(iam_groups)
            .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.id)
            .where(iam_group_members.c.user_id == user_id)
            .order_by(iam_groups.c.name_key)
        )
        return [_group(r) for r in rows]

    # Tags

    def tags(self, kind: EntityKind, entity_id: str) -> Tags:
        rows = self._c.execute(_TAGS, {"kind": kind, "id": entity_id})
        return tuple((r.key, r.value) for r in rows)

    def tags_of_kind(self, kind: EntityKind) -> dict[str, Tags]:
        found: dict[str, list[tuple[str, str]]] = {}
        rows = self._c.execute(
            select(iam_tags.c.entity_id, iam_tags.c.key, iam_tags.c.value)
            .where(iam_tags.c.entity_kind == kind)
            .order_by(iam_tags.c.entity_id, iam_tags.c.position)
        )
        for r in rows:
            found.setdefault(r.entity_id, []).append((r.key, r.value))
        return {k: tuple(v) for k, v in found.items()}

    def replace_tags(
        self, kind: EntityKind, entity_id: str, tags: Sequence[tuple[str, str]]
    ) -> None:
        self._c.execute(
            delete(iam_tags).where(
                and_(iam_tags.c.entity_kind == kind, iam_tags.c.entity_id == entity_id)
            )
        )
        if tags:
            self._c.execute(
                insert(iam_tags),
                [
                    {
                        "entity_kind": kind,
                        "entity_id": entity_id,
                        "key_lower": key.lower(),
                        "key": key,
                        "value": value,
                        "position": position,
                    }
                    for position, (key, value) in enumerate(tags)
                ],
            )

    # Inline policies

    def inline_policies(self, kind: EntityKind, entity_id: str) -> list[InlinePolicyRecord]:
        rows = self._c.execute(_INLINE_POLICIES, {"kind": kind, "id": entity_id})
        return [InlinePolicyRecord(r.policy_name, r.document) for r in rows]

    def put_inline_policy(self, kind: EntityKind, entity_id: str, name: str, document: str) -> None:
        self.delete_inline_policy(kind, entity_id, name)
        self._c.execute(
            insert(iam_inline_policies).values(
                entity_kind=kind, entity_id=entity_id, policy_name=name, document=document
            )
        )

    def delete_inline_policy(self, kind: EntityKind, entity_id: str, name: str) -> bool:
        result = self._c.execute(
            delete(iam_inline_policies).where(
                and_(
                    iam_inline_policies.c.entity_kind == kind,
                    iam_inline_policies.c.entity_id == entity_id,
                    iam_inline_policies.c.policy_name == name,
                )
            )
        )
        return bool(result.rowcount)

    # Managed policies

    def policy_by_arn(self, arn: str) -> ManagedPolicyRecord | None:
        row = self._c.execute(select(iam_policies).where(iam_policies.c.arn == arn)).first()
        return None if row is None else _policy(row)

    def policy_by_name(self, name: str) -> ManagedPolicyRecord | None:
        row = self._c.execute(
            select(iam_policies).where(iam_policies.c.name_key == name.lower())
        ).first()
        return None if row is None else _policy(row)

    def policies(self) -> list[ManagedPolicyRecord]:
        rows = self._c.execute(select(iam_policies).order_by(iam_policies.c.name_key))
        return [_policy(r) for r in rows]

    def insert_policy(self, policy: ManagedPolicyRecord, first: PolicyVersionRecord) -> None:
        self._insert(
            insert(iam_policies).values(
                id=policy.id,
                name=policy.name,
                name_key=policy.name.lower(),
                path=policy.path,
                arn=policy.arn,
                description=policy.description,
                created_at=policy.created_at,
                updated_at=policy.updated_at,
                default_version=policy.default_version,
                next_version=policy.next_version,
            )
        )
        self.insert_version(first)

    def update_policy(self, policy: ManagedPolicyRecord) -> None:
        self._c.execute(
            update(iam_policies)
            .where(iam_policies.c.id == policy.id)
            .values(
                default_version=policy.default_version,
                next_version=policy.next_version,
                updated_at=policy.updated_at,
            )
        )

    def delete_policy(self, policy_id: str) -> None:
        self._c.execute(
            delete(iam_tags).where(
                and_(iam_tags.c.entity_kind == "policy", iam_tags.c.entity_id == policy_id)
            )
        )
        self._c.execute(
            delete(iam_policy_versions).where(iam_policy_versions.c.policy_id == policy_id)
        )
        self._c.execute(delete(iam_policies).where(iam_policies.c.id == policy_id))

    def versions(self, policy_id: str) -> list[PolicyVersionRecord]:
        rows = self._c.execute(
            select(iam_policy_versions)
            .where(iam_policy_versions.c.policy_id == policy_id)
            .order_by(iam_policy_versions.c.created_at, iam_policy_versions.c.version_id)
        )
        return [
            PolicyVersionRecord(r.policy_id, r.version_id, r.document, r.created_at) for r in rows
        ]

    def insert_version(self, version: PolicyVersionRecord) -> None:
        self._c.execute(
            insert(iam_policy_versions).values(
                policy_id=version.policy_id,
                version_id=version.version_id,
                document=version.document,
                created_at=version.created_at,
            )
        )

    def delete_version(self, policy_id: str, version_id: str) -> None:
        self._c.execute(
            delete(iam_policy_versions).where(
                and_(
                    iam_policy_versions.c.policy_id == policy_id,
                    iam_policy_versions.c.version_id == version_id,
                )
            )
        )

    def default_documents(self, policy_ids: Sequence[str]) -> dict[str, str]:
        if not policy_ids:
            return {}
        rows = self._c.execute(
            select(iam_policies.c.id, iam_policy_versions.c.document)
            .join(
                iam_policy_versions,
                and_(
                    iam_policy_versions.c.policy_id == iam_policies.c.id,
                    iam_policy_versions.c.version_id == iam_policies.c.default_version,
                ),
            )
            .where(iam_policies.c.id.in_(list(policy_ids)))
        )
        return {r.id: r.document for r in rows}

    # Attachments

    def attached(self, kind: EntityKind, entity_id: str) -> list[ManagedPolicyRecord]:
        rows = self._c.execute(_ATTACHED, {"kind": kind, "id": entity_id})
        return [_policy(r) for r in rows]

    def attach(self, kind: EntityKind, entity_id: str, policy_id: str) -> None:
        # Attaching twice is a no-op, as on IAM.
        self.detach(kind, entity_id, policy_id)
        self._c.execute(
            insert(iam_attachments).values(
                entity_kind=kind, entity_id=entity_id, policy_id=policy_id
            )
        )

    def detach(self, kind: EntityKind, entity_id: str, policy_id: str) -> bool:
        result = self._c.execute(
            delete(iam_attachments).where(
                and_(
                    iam_attachments.c.entity_kind == kind,
                    iam_attachments.c.entity_id == entity_id,
                    iam_attachments.c.policy_id == policy_id,
                )
            )
        )
        return bool(result.rowcount)

    def attachments_of(self, policy_id: str) -> list[tuple[EntityKind, str]]:
        rows = self._c.execute(
            select(iam_attachments.c.entity_kind, iam_attachments.c.entity_id).where(
                iam_attachments.c.policy_id == policy_id
            )
        )
        return [(r.entity_kind, r.entity_id) for r in rows]

    def attachment_counts(self) -> dict[str, int]:
        rows = self._c.execute(
            select(iam_attachments.c.policy_id, func.count()).group_by(iam_attachments.c.policy_id)
        )
        return {r[0]: int(r[1]) for r in rows}

    # Access keys of users

    def access_keys_of(self, user_id: str) -> list[UserAccessKey]:
        rows = self._c.execute(
            select(access_keys)
            .where(access_keys.c.user_id == user_id)
            .order_by(access_keys.c.created_at)
        )
        return [_key(r) for r in rows]

    def access_key(self, access_key_id: str) -> UserAccessKey | None:
        row = self._c.execute(
            select(access_keys).where(
                and_(
                    access_keys.c.access_key_id == access_key_id, access_keys.c.user_id.is_not(None)
                )
            )
        ).first()
        return None if row is None else _key(row)

    def insert_access_key(self, key: UserAccessKey, principal_arn: str, wrapped: bytes) -> None:
        self._c.execute(
            insert(access_keys).values(
                access_key_id=key.access_key_id,
                principal_arn=principal_arn,
                status=key.status,
                created_at=key.created_at,
                wrapped_secret=wrapped,
                user_id=key.user_id,
            )
        )

    def set_access_key_status(self, access_key_id: str, status: str) -> None:
        self._c.execute(
            update(access_keys)
            .where(access_keys.c.access_key_id == access_key_id)
            .values(status=status)
        )

    def delete_access_key(self, access_key_id: str) -> None:
        self._c.execute(delete(access_keys).where(access_keys.c.access_key_id == access_key_id))

    def rename_key_owner(self, user_id: str, principal_arn: str) -> None:
        self._c.execute(
            update(access_keys)
            .where(access_keys.c.user_id == user_id)
            .values(principal_arn=principal_arn)
        )

    # Sessions

    def session(self, access_key_id: str) -> SessionRecord | None:
        row = self._c.execute(_SESSION, {"key": access_key_id}).first()
        return None if row is None else _session(row)

    def insert_session(self, session: SessionRecord) -> None:
        self._c.execute(
            insert(iam_sessions).values(
                access_key_id=session.access_key_id,
                token_hash=session.token_hash,
                wrapped_secret=session.wrapped_secret,
                entity_kind=session.owner_kind,
                entity_id=session.owner_id,
                session_name=session.session_name,
                issued_at=session.issued_at,
                expires_at=session.expires_at,
                source_identity=session.source_identity,
                detail=json.dumps(
                    {
                        "tags": [list(t) for t in session.tags],
                        "transitive_tag_keys": list(session.transitive_tag_keys),
                        "policies": list(session.policies),
                    },
                    separators=(",", ":"),
                ),
            )
        )

    def delete_sessions_of(self, kind: SessionOwner, owner_id: str) -> None:
        self._c.execute(
            delete(iam_sessions).where(
                and_(iam_sessions.c.entity_kind == kind, iam_sessions.c.entity_id == owner_id)
            )
        )

    def reset(self) -> None:
        for table in (
            iam_sessions,
            iam_tags,
            iam_inline_policies,
            iam_attachments,
            iam_group_members,
            iam_policy_versions,
            iam_policies,
            iam_groups,
            iam_roles,
            iam_users,
        ):
            self._c.execute(delete(table))
        self._c.execute(delete(access_keys).where(access_keys.c.user_id.is_not(None)))


class SqlIdentityStore:
    """The identity store on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SqlIdentityTransaction]:
        with engines.transaction(self._engine, write=write) as connection:
            yield SqlIdentityTransaction(connection)

    def delete_expired_sessions(self, now: datetime) -> int:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(delete(iam_sessions).where(iam_sessions.c.expires_at <= now))
            return int(result.rowcount)

    def record_key_use(self, access_key_id: str, when: datetime) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(
                update(access_keys)
                .where(access_keys.c.access_key_id == access_key_id)
                .values(last_used_at=when)
            )
