"""The policies that apply to a principal, and every user and role, for the authorizer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from strongroom.context import ROOT, Principal
from strongroom.identity.changes import CACHE_SECONDS, BriefCache, IdentityChanges
from strongroom.identity.iam_common import tag_value
from strongroom.identity.ports import EntityKind, IdentityStore, IdentityTransaction


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    """A policy document and its citation: the managed policy's ARN, or for an inline
    policy the entity's ARN + "/inline/" + the policy name."""

    name: str
    document: str


@dataclass(frozen=True, slots=True)
class PrincipalPolicies:
    # Inline, attached managed (default versions) and, for users, their groups' policies.
    identity: tuple[AttachedPolicy, ...]
    boundary: AttachedPolicy | None = None


@dataclass(frozen=True, slots=True)
class DirectoryEntity:
    """An IAM user or role with its tags and policies (for the isolation checker)."""

    kind: Literal["user", "role"]
    id: str
    name: str
    arn: str
    tags: Mapping[str, str]
    tenant: str | None
    policies: PrincipalPolicies


NO_POLICIES = PrincipalPolicies(identity=())


def entity_policies(
    tx: IdentityTransaction, kind: EntityKind, entity_id: str, arn: str, boundary_arn: str | None
) -> PrincipalPolicies:
    """Everything that applies to one user, role or group, read in ``tx``."""
    sources: list[tuple[EntityKind, str, str]] = [(kind, entity_id, arn)]
    if kind == "user":
        sources += [("group", g.id, g.arn) for g in tx.groups_of_user(entity_id)]
    inline: list[AttachedPolicy] = []
    managed: dict[str, str] = {}  # policy id → ARN, each policy once
    for source_kind, source_id, source_arn in sources:
        inline += [
            AttachedPolicy(f"{source_arn}/inline/{p.name}", p.document)
            for p in tx.inline_policies(source_kind, source_id)
        ]
        managed.update({p.id: p.arn for p in tx.attached(source_kind, source_id)})
    boundary_policy = None if boundary_arn is None else tx.policy_by_arn(boundary_arn)
    wanted = list(managed) + ([boundary_policy.id] if boundary_policy else [])
    documents = tx.default_documents(wanted)
    attached = [AttachedPolicy(managed[i], documents[i]) for i in managed if i in documents]
    boundary = None
    if boundary_policy is not None and boundary_policy.id in documents:
        boundary = AttachedPolicy(boundary_policy.arn, documents[boundary_policy.id])
    return PrincipalPolicies(identity=(*inline, *attached), boundary=boundary)


class IdentityDirectory:
    """Reads the policies of principals, cached briefly and dropped on every IAM write."""

    def __init__(
        self,
        store: IdentityStore,
        changes: IdentityChanges,
        tenant_tag_key: str = "customer",
        *,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._changes = changes
        self._tenant_tag_key = tenant_tag_key
        self._cache: BriefCache[str, PrincipalPolicies] = BriefCache(changes, cache_seconds)

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        if principal.kind == ROOT:
            return NO_POLICIES
        # A session's id is "AROA…:session"; the role's policies apply to it.
        entity_id = principal.principal_id.split(":", 1)[0]
        cached = self._cache.get(entity_id)
        if cached is not None:
            return cached
        generation = self._changes.generation
        with self._store.transaction(write=False) as tx:
            if entity_id.startswith("AROA"):
                role = tx.role_by_id(entity_id)
                found = (
                    NO_POLICIES
                    if role is None
                    else entity_policies(tx, "role", role.id, role.arn, role.boundary_arn)
                )
            else:
                user = tx.user_by_id(entity_id)
                found = (
                    NO_POLICIES
                    if user is None
                    else entity_policies(tx, "user", user.id, user.arn, user.boundary_arn)
                )
        self._cache.put(entity_id, found, generation)
        return found

    def remember(
        self,
        tx: IdentityTransaction,
        kind: Literal["user", "role"],
        entity_id: str,
        arn: str,
        boundary_arn: str | None,
        generation: int,
    ) -> None:
        """Read and keep an entity's policies in ``tx``, unless they are cached: the
        credential directory, reading the entity for a principal not cached, saves the
        call a read transaction of its own. ``generation`` was taken before ``tx`` began."""
        if self._cache.get(entity_id) is None:
            found = entity_policies(tx, kind, entity_id, arn, boundary_arn)
            self._cache.put(entity_id, found, generation)

    def all_principals(self) -> list[DirectoryEntity]:
        """Every IAM user and role with its tags, tenant and policies."""
        found: list[DirectoryEntity] = []
        with self._store.transaction(write=False) as tx:
            user_tags = tx.tags_of_kind("user")
            for user in tx.users():
                tags = user_tags.get(user.id, ())
                found.append(
                    DirectoryEntity(
                        kind="user",
                        id=user.id,
                        name=user.name,
                        arn=user.arn,
                        tags=MappingProxyType(dict(tags)),
                        tenant=tag_value(tags, self._tenant_tag_key),
                        policies=entity_policies(tx, "user", user.id, user.arn, user.boundary_arn),
                    )
                )
            role_tags = tx.tags_of_kind("role")
            for role in tx.roles():
                tags = role_tags.get(role.id, ())
                found.append(
                    DirectoryEntity(
                        kind="role",
                        id=role.id,
                        name=role.name,
                        arn=role.arn,
                        tags=MappingProxyType(dict(tags)),
                        tenant=tag_value(tags, self._tenant_tag_key),
                        policies=entity_policies(tx, "role", role.id, role.arn, role.boundary_arn),
                    )
                )
        return found

    def trust_policy(self, role_arn: str) -> str | None:
        """The trust policy of the role with this ARN, if there is one."""
        name = role_arn.rsplit("/", 1)[-1]
        with self._store.transaction(write=False) as tx:
            role = tx.role_by_name(name)
        return None if role is None or role.arn != role_arn else role.trust_policy
