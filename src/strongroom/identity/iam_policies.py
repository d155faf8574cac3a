"""IAM policies: inline policies, managed policies with versions, attachments, boundaries."""

from __future__ import annotations

from dataclasses import dataclass, replace

from strongroom.context import CallContext
from strongroom.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from strongroom.identity import iam_shapes as s
from strongroom.identity.iam_common import (
    GROUP_INLINE_POLICY_BYTES,
    MANAGED_POLICY_BYTES,
    MAX_ATTACHED_POLICIES,
    POLICY_ID_PREFIX,
    ROLE_INLINE_POLICY_BYTES,
    USER_INLINE_POLICY_BYTES,
    IamBase,
    encode_document,
    entity_arn,
    merge_tags,
    new_entity_id,
    page,
    validated_document,
)
from strongroom.identity.iam_users import request_tags, tag_shapes
from strongroom.identity.ports import (
    DuplicateEntity,
    EntityKind,
    IdentityTransaction,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    Tags,
)

MAX_POLICY_VERSIONS = 5
_INLINE_LIMITS = {
    "user": USER_INLINE_POLICY_BYTES,
    "role": ROLE_INLINE_POLICY_BYTES,
    "group": GROUP_INLINE_POLICY_BYTES,
}
_QUOTA_NAMES = {"user": "PoliciesPerUser", "role": "PoliciesPerRole", "group": "PoliciesPerGroup"}
_WHITESPACE = str.maketrans("", "", " \t\r\n")


@dataclass(frozen=True, slots=True)
class _Entity:
    kind: EntityKind
    id: str
    name: str
    arn: str
    tags: Tags


def _entity(tx: IdentityTransaction, kind: EntityKind, name: str) -> _Entity:
    if kind == "user":
        user = IamBase._user(tx, name)
        return _Entity("user", user.id, user.name, user.arn, tx.tags("user", user.id))
    if kind == "role":
        role = IamBase._role(tx, name)
        return _Entity("role", role.id, role.name, role.arn, tx.tags("role", role.id))
    group = IamBase._group(tx, name)
    return _Entity("group", group.id, group.name, group.arn, ())


def policy_shape(
    policy: ManagedPolicyRecord,
    attachments: int,
    boundary_uses: int,
    tags: Tags | None = None,
) -> s.Policy:
    return s.Policy(
        policy_name=policy.name,
        policy_id=policy.id,
        arn=policy.arn,
        path=policy.path,
        default_version_id=policy.default_version,
        attachment_count=attachments,
        permissions_boundary_usage_count=boundary_uses,
        is_attachable=True,
        description=policy.description,
        create_date=policy.created_at,
        update_date=policy.updated_at,
        tags=tag_shapes(tags) if tags else None,
    )


def version_shape(version: PolicyVersionRecord, default: str, *, document: bool) -> s.PolicyVersion:
    return s.PolicyVersion(
        document=encode_document(version.document) if document else None,
        version_id=version.version_id,
        is_default_version=version.version_id == default,
        create_date=version.created_at,
    )


def _boundary_uses(tx: IdentityTransaction, arn: str) -> int:
    return sum(1 for u in tx.users() if u.boundary_arn == arn) + sum(
        1 for r in tx.roles() if r.boundary_arn == arn
    )


class IamPolicies(IamBase):
    """Inline and managed policy operations, attachments and permissions boundaries."""

    # Inline policies of users, roles and groups

    def _put_inline(
        self, ctx: CallContext, kind: EntityKind, name: str, policy_name: str, document: str
    ) -> None:
        limit = _INLINE_LIMITS[kind]
        text = validated_document(document, "identity", limit=limit, quota="PolicySize")
        action = f"Put{kind.capitalize()}Policy"
        with self._writing() as tx:
            entity = _entity(tx, kind, name)
            self._authorize(ctx, action, entity.arn, tags=entity.tags)
            others = [p for p in tx.inline_policies(kind, entity.id) if p.name != policy_name]
            total = sum(len(p.document.translate(_WHITESPACE)) for p in others)
            if total + len(text.translate(_WHITESPACE)) > limit:
                raise LimitExceeded(
                    f"Maximum policy size of {limit} bytes exceeded for {kind} {entity.name}"
                )
            tx.put_inline_policy(kind, entity.id, policy_name, text)

    def _get_inline(
        self, ctx: CallContext, kind: EntityKind, name: str, policy_name: str
    ) -> tuple[_Entity, str]:
        with self._reading() as tx:
            entity = _entity(tx, kind, name)
            found = [p for p in tx.inline_policies(kind, entity.id) if p.name == policy_name]
        self._authorize(ctx, f"Get{kind.capitalize()}Policy", entity.arn, tags=entity.tags)
        if not found:
            raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
        return entity, encode_document(found[0].document)

    def _list_inline(
        self,
        ctx: CallContext,
        kind: EntityKind,
        name: str,
        marker: str | None,
        max_items: int | None,
    ) -> tuple[list[str], str | None]:
        with self._reading() as tx:
            entity = _entity(tx, kind, name)
            names = [p.name for p in tx.inline_policies(kind, entity.id)]
        self._authorize(ctx, f"List{kind.capitalize()}Policies", entity.arn, tags=entity.tags)
        return page(names, lambda n: n, marker, max_items)

    def _delete_inline(
        self, ctx: CallContext, kind: EntityKind, name: str, policy_name: str
    ) -> None:
        with self._writing() as tx:
            entity = _entity(tx, kind, name)
            self._authorize(ctx, f"Delete{kind.capitalize()}Policy", entity.arn, tags=entity.tags)
            if not tx.delete_inline_policy(kind, entity.id, policy_name):
                raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")

    def put_user_policy(self, ctx: CallContext, request: s.PutUserPolicyRequest) -> None:
        self._put_inline(
            ctx, "user", request.user_name, request.policy_name, request.policy_document
        )

    def put_role_policy(self, ctx: CallContext, request: s.PutRolePolicyRequest) -> None:
        self._put_inline(
            ctx, "role", request.role_name, request.policy_name, request.policy_document
        )

    def put_group_policy(self, ctx: CallContext, request: s.PutGroupPolicyRequest) -> None:
        self._put_inline(
            ctx, "group", request.group_name, request.policy_name, request.policy_document
        )

    def get_user_policy(
        self, ctx: CallContext, request: s.GetUserPolicyRequest
    ) -> s.GetUserPolicyResponse:
        entity, document = self._get_inline(ctx, "user", request.user_name, request.policy_name)
        return s.GetUserPolicyResponse(
            user_name=entity.name, policy_name=request.policy_name, policy_document=document
        )

    def get_role_policy(
        self, ctx: CallContext, request: s.GetRolePolicyRequest
    ) -> s.GetRolePolicyResponse:
        entity, document = self._get_inline(ctx, "role", request.role_name, request.policy_name)
        return s.GetRolePolicyResponse(
            role_name=entity.name, policy_name=request.policy_name, policy_document=document
        )

    def get_group_policy(
        self, ctx: CallContext, request: s.GetGroupPolicyRequest
    ) -> s.GetGroupPolicyResponse:
        entity, document = self._get_inline(ctx, "group", request.group_name, request.policy_name)
        return s.GetGroupPolicyResponse(
            group_name=entity.name, policy_name=request.policy_name, policy_document=document
        )

    def list_user_policies(
        self, ctx: CallContext, request: s.ListUserPoliciesRequest
    ) -> s.ListUserPoliciesResponse:
        names, marker = self._list_inline(
            ctx, "user", request.user_name, request.marker, request.max_items
        )
        return s.ListUserPoliciesResponse(
            policy_names=tuple(names), is_truncated=marker is not None, marker=marker
        )

    def list_role_policies(
        self, ctx: CallContext, request: s.ListRolePoliciesRequest
    ) -> s.ListRolePoliciesResponse:
        names, marker = self._list_inline(
            ctx, "role", request.role_name, request.marker, request.max_items
        )
        return s.ListRolePoliciesResponse(
            policy_names=tuple(names), is_truncated=marker is not None, marker=marker
        )

    def list_group_policies(
        self, ctx: CallContext, request: s.ListGroupPoliciesRequest
    ) -> s.ListGroupPoliciesResponse:
        names, marker = self._list_inline(
            ctx, "group", request.group_name, request.marker, request.max_items
        )
        return s.ListGroupPoliciesResponse(
            policy_names=tuple(names), is_truncated=marker is not None, marker=marker
        )

    def delete_user_policy(self, ctx: CallContext, request: s.DeleteUserPolicyRequest) -> None:
        self._delete_inline(ctx, "user", request.user_name, request.policy_name)

    def delete_role_policy(self, ctx: CallContext, request: s.DeleteRolePolicyRequest) -> None:
        self._delete_inline(ctx, "role", request.role_name, request.policy_name)

    def delete_group_policy(self, ctx: CallContext, request: s.DeleteGroupPolicyRequest) -> None:
        self._delete_inline(ctx, "group", request.group_name, request.policy_name)

    # Managed policies

    def create_policy(
        self, ctx: CallContext, request: s.CreatePolicyRequest
    ) -> s.CreatePolicyResponse:
        path = request.path or "/"
        arn = entity_arn(ctx, "policy", path, request.policy_name)
        tags = merge_tags((), request_tags(request.tags))
        self._authorize(ctx, "CreatePolicy", arn, request_tags=tags)
        document = validated_document(
            request.policy_document, "identity", limit=MANAGED_POLICY_BYTES, quota="PolicySize"
        )
        now = self._clock.now()
        policy = ManagedPolicyRecord(
            id=new_entity_id(POLICY_ID_PREFIX),
            name=request.policy_name,
            path=path,
            arn=arn,
            created_at=now,
            updated_at=now,
            default_version="v1",
            next_version=2,
            description=request.description,
        )
        duplicate = (
            f"A policy called {policy.name} already exists. Duplicate names are not allowed."
        )
        with self._writing() as tx:
            if tx.policy_by_name(policy.name) is not None:
                raise EntityAlreadyExists(duplicate)
            try:
                tx.insert_policy(policy, PolicyVersionRecord(policy.id, "v1", document, now))
            except DuplicateEntity as exc:
                raise EntityAlreadyExists(duplicate) from exc
            tx.replace_tags("policy", policy.id, tags)
        return s.CreatePolicyResponse(policy=policy_shape(policy, 0, 0, tags))

    def _existing(self, tx: IdentityTransaction, arn: str) -> ManagedPolicyRecord:
        policy = tx.policy_by_arn(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return policy

    def get_policy(self, ctx: CallContext, request: s.GetPolicyRequest) -> s.GetPolicyResponse:
        with self._reading() as tx:
            policy = self._existing(tx, request.policy_arn)
            attachments = len(tx.attachments_of(policy.id))
            uses = _boundary_uses(tx, policy.arn)
            tags = tx.tags("policy", policy.id)
        self._authorize(ctx, "GetPolicy", policy.arn, tags=tags)
        return s.GetPolicyResponse(policy=policy_shape(policy, attachments, uses, tags))

    def list_policies(
        self, ctx: CallContext, request: s.ListPoliciesRequest
    ) -> s.ListPoliciesResponse:
        self._authorize(ctx, "ListPolicies", "*")
        prefix = request.path_prefix or "/"
        with self._reading() as tx:
            counts = tx.attachment_counts()
            boundaries = [u.boundary_arn for u in tx.users()] + [r.boundary_arn for r in tx.roles()]
            policies = [] if request.scope == "AWS" else tx.policies()
        chosen = [
            p
            for p in policies
            if p.path.startswith(prefix)
            and (not request.only_attached or counts.get(p.id, 0) > 0)
            and (request.policy_usage_filter != "PermissionsBoundary" or p.arn in boundaries)
            and (request.policy_usage_filter != "PermissionsPolicy" or counts.get(p.id, 0) > 0)
        ]
        found, marker = page(chosen, lambda p: p.name.lower(), request.marker, request.max_items)
        return s.ListPoliciesResponse(
            policies=tuple(
                policy_shape(p, counts.get(p.id, 0), boundaries.count(p.arn)) for p in found
            ),
            is_truncated=marker is not None,
            marker=marker,
        )

    def delete_policy(self, ctx: CallContext, request: s.DeletePolicyRequest) -> None:
        with self._writing() as tx:
            policy = self._existing(tx, request.policy_arn)
            self._authorize(ctx, "DeletePolicy", policy.arn, tags=tx.tags("policy", policy.id))
            if tx.attachments_of(policy.id):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            if _boundary_uses(tx, policy.arn):
                raise DeleteConflict("Cannot delete a policy used as a permissions boundary.")
            if len(tx.versions(policy.id)) > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you "
                    "must delete the policy's versions. The default version is deleted with "
                    "the policy."
                )
            tx.delete_policy(policy.id)

    def create_policy_version(
        self, ctx: CallContext, request: s.CreatePolicyVersionRequest
    ) -> s.CreatePolicyVersionResponse:
        document = validated_document(
            request.policy_document, "identity", limit=MANAGED_POLICY_BYTES, quota="PolicySize"
        )
        now = self._clock.now()
        with self._writing() as tx:
            policy = self._existing(tx, request.policy_arn)
            self._authorize(
                ctx, "CreatePolicyVersion", policy.arn, tags=tx.tags("policy", policy.id)
            )
            if len(tx.versions(policy.id)) >= MAX_POLICY_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before "
                    "you create a new version, you must delete an existing version."
                )
            version = PolicyVersionRecord(policy.id, f"v{policy.next_version}", document, now)
            tx.insert_version(version)
            updated = replace(
                policy,
                next_version=policy.next_version + 1,
                updated_at=now,
                default_version=(
                    version.version_id if request.set_as_default else policy.default_version
                ),
            )
            tx.update_policy(updated)
        return s.CreatePolicyVersionResponse(
            policy_version=version_shape(version, updated.default_version, document=False)
        )

    def _version(
        self, tx: IdentityTransaction, policy: ManagedPolicyRecord, version_id: str
    ) -> PolicyVersionRecord:
        for version in tx.versions(policy.id):
            if version.version_id == version_id:
                return version
        raise NoSuchEntity(f"Policy {policy.arn} version {version_id} does not exist.")

    def get_policy_version(
        self, ctx: CallContext, request: s.GetPolicyVersionRequest
    ) -> s.GetPolicyVersionResponse:
        with self._reading() as tx:
            policy = self._existing(tx, request.policy_arn)
            tags = tx.tags("policy", policy.id)
            version = self._version(tx, policy, request.version_id)
        self._authorize(ctx, "GetPolicyVersion", policy.arn, tags=tags)
        return s.GetPolicyVersionResponse(
            policy_version=version_shape(version, policy.default_version, document=True)
        )

    def list_policy_versions(
        self, ctx: CallContext, request: s.ListPolicyVersionsRequest
    ) -> s.ListPolicyVersionsResponse:
        with self._reading() as tx:
            policy = self._existing(tx, request.policy_arn)
            tags = tx.tags("policy", policy.id)
            versions = tx.versions(policy.id)
        self._authorize(ctx, "ListPolicyVersions", policy.arn, tags=tags)
        # Newest first, as IAM lists them.
        ordered = sorted(versions, key=lambda v: int(v.version_id[1:]), reverse=True)
        chosen, marker = page(
            ordered,
            lambda v: f"{1_000_000 - int(v.version_id[1:]):07d}",
            request.marker,
            request.max_items,
        )
        return s.ListPolicyVersionsResponse(
            versions=tuple(
                version_shape(v, policy.default_version, document=False) for v in chosen
            ),
            is_truncated=marker is not None,
            marker=marker,
        )

    def delete_policy_version(
        self, ctx: CallContext, request: s.DeletePolicyVersionRequest
    ) -> None:
        with self._writing() as tx:
            policy = self._existing(tx, request.policy_arn)
            self._authorize(
                ctx, "DeletePolicyVersion", policy.arn, tags=tx.tags("policy", policy.id)
            )
            version = self._version(tx, policy, request.version_id)
            if version.version_id == policy.default_version:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            tx.delete_version(policy.id, version.version_id)

    def set_default_policy_version(
        self, ctx: CallContext, request: s.SetDefaultPolicyVersionRequest
    ) -> None:
        with self._writing() as tx:
            policy = self._existing(tx, request.policy_arn)
            self._authorize(
                ctx, "SetDefaultPolicyVersion", policy.arn, tags=tx.tags("policy", policy.id)
            )
            version = self._version(tx, policy, request.version_id)
            tx.update_policy(
                replace(policy, default_version=version.version_id, updated_at=self._clock.now())
            )

    # Attachments

    def _attach(self, ctx: CallContext, kind: EntityKind, name: str, policy_arn: str) -> None:
        with self._writing() as tx:
            entity = _entity(tx, kind, name)
            self._authorize(
                ctx,
                f"Attach{kind.capitalize()}Policy",
                entity.arn,
                tags=entity.tags,
                context={"iam:PolicyARN": policy_arn},
            )
            policy = self._policy(tx, policy_arn)
            attached = tx.attached(kind, entity.id)
            if all(p.id != policy.id for p in attached) and len(attached) >= MAX_ATTACHED_POLICIES:
                raise LimitExceeded(
                    f"Cannot exceed quota for {_QUOTA_NAMES[kind]}: {MAX_ATTACHED_POLICIES}"
                )
            tx.attach(kind, entity.id, policy.id)

    def _detach(self, ctx: CallContext, kind: EntityKind, name: str, policy_arn: str) -> None:
        with self._writing() as tx:
            entity = _entity(tx, kind, name)
            self._authorize(
                ctx,
                f"Detach{kind.capitalize()}Policy",
                entity.arn,
                tags=entity.tags,
                context={"iam:PolicyARN": policy_arn},
            )
            policy = tx.policy_by_arn(policy_arn)
            if policy is None or not tx.detach(kind, entity.id, policy.id):
                raise NoSuchEntity(f"Policy {policy_arn} was not found.")

    def _list_attached(
        self,
        ctx: CallContext,
        kind: EntityKind,
        name: str,
        path_prefix: str | None,
        marker: str | None,
        max_items: int | None,
    ) -> tuple[tuple[s.AttachedPolicy, ...], str | None]:
        with self._reading() as tx:
            entity = _entity(tx, kind, name)
            policies = [
                p for p in tx.attached(kind, entity.id) if p.path.startswith(path_prefix or "/")
            ]
        self._authorize(
            ctx, f"ListAttached{kind.capitalize()}Policies", entity.arn, tags=entity.tags
        )
        chosen, next_marker = page(policies, lambda p: p.name.lower(), marker, max_items)
        return (
            tuple(s.AttachedPolicy(policy_name=p.name, policy_arn=p.arn) for p in chosen),
            next_marker,
        )

    def attach_user_policy(self, ctx: CallContext, request: s.AttachUserPolicyRequest) -> None:
        self._attach(ctx, "user", request.user_name, request.policy_arn)

    def attach_role_policy(self, ctx: CallContext, request: s.AttachRolePolicyRequest) -> None:
        self._attach(ctx, "role", request.role_name, request.policy_arn)

    def attach_group_policy(self, ctx: CallContext, request: s.AttachGroupPolicyRequest) -> None:
        self._attach(ctx, "group", request.group_name, request.policy_arn)

    def detach_user_policy(self, ctx: CallContext, request: s.DetachUserPolicyRequest) -> None:
        self._detach(ctx, "user", request.user_name, request.policy_arn)

    def detach_role_policy(self, ctx: CallContext, request: s.DetachRolePolicyRequest) -> None:
        self._detach(ctx, "role", request.role_name, request.policy_arn)

    def detach_group_policy(self, ctx: CallContext, request: s.DetachGroupPolicyRequest) -> None:
        self._detach(ctx, "group", request.group_name, request.policy_arn)

    def list_attached_user_policies(
        self, ctx: CallContext, request: s.ListAttachedUserPoliciesRequest
    ) -> s.ListAttachedUserPoliciesResponse:
        found, marker = self._list_attached(
            ctx, "user", request.user_name, request.path_prefix, request.marker, request.max_items
        )
        return s.ListAttachedUserPoliciesResponse(
            attached_policies=found, is_truncated=marker is not None, marker=marker
        )

    def list_attached_role_policies(
        self, ctx: CallContext, request: s.ListAttachedRolePoliciesRequest
    ) -> s.ListAttachedRolePoliciesResponse:
        found, marker = self._list_attached(
            ctx, "role", request.role_name, request.path_prefix, request.marker, request.max_items
        )
        return s.ListAttachedRolePoliciesResponse(
            attached_policies=found, is_truncated=marker is not None, marker=marker
        )

    def list_attached_group_policies(
        self, ctx: CallContext, request: s.ListAttachedGroupPoliciesRequest
    ) -> s.ListAttachedGroupPoliciesResponse:
        found, marker = self._list_attached(
            ctx,
            "group",
            request.group_name,
            request.path_prefix,
            request.marker,
            request.max_items,
        )
        return s.ListAttachedGroupPoliciesResponse(
            attached_policies=found, is_truncated=marker is not None, marker=marker
        )

    def list_entities_for_policy(
        self, ctx: CallContext, request: s.ListEntitiesForPolicyRequest
    ) -> s.ListEntitiesForPolicyResponse:
        prefix = request.path_prefix or "/"
        wanted = request.entity_filter
        entries: list[tuple[str, str, str, str]] = []  # (kind, name, id, path)
        with self._reading() as tx:
            policy = self._existing(tx, request.policy_arn)
            tags = tx.tags("policy", policy.id)
            attached = set(tx.attachments_of(policy.id))
            if request.policy_usage_filter != "PermissionsBoundary":
                entries += [
                    ("user", u.name, u.id, u.path) for u in tx.users() if ("user", u.id) in attached
                ]
                entries += [
                    ("role", r.name, r.id, r.path) for r in tx.roles() if ("role", r.id) in attached
                ]
                entries += [
                    ("group", g.name, g.id, g.path)
                    for g in tx.groups()
                    if ("group", g.id) in attached
                ]
            if request.policy_usage_filter != "PermissionsPolicy":
                entries += [
                    ("user", u.name, u.id, u.path)
                    for u in tx.users()
                    if u.boundary_arn == policy.arn
                ]
                entries += [
                    ("role", r.name, r.id, r.path)
                    for r in tx.roles()
                    if r.boundary_arn == policy.arn
                ]
        self._authorize(ctx, "ListEntitiesForPolicy", policy.arn, tags=tags)
        kinds = {"User": "user", "Role": "role", "Group": "group"}
        entries = sorted(
            {
                e
                for e in entries
                if e[3].startswith(prefix)
                and (
                    wanted in (None, "LocalManagedPolicy", "AWSManagedPolicy")
                    or kinds.get(wanted) == e[0]
                )
            }
        )
        chosen, marker = page(
            entries, lambda e: f"{e[0]}/{e[1].lower()}", request.marker, request.max_items
        )
        return s.ListEntitiesForPolicyResponse(
            policy_users=tuple(
                s.PolicyUser(user_name=n, user_id=i) for k, n, i, _ in chosen if k == "user"
            ),
            policy_roles=tuple(
                s.PolicyRole(role_name=n, role_id=i) for k, n, i, _ in chosen if k == "role"
            ),
            policy_groups=tuple(
                s.PolicyGroup(group_name=n, group_id=i) for k, n, i, _ in chosen if k == "group"
            ),
            is_truncated=marker is not None,
            marker=marker,
        )

    # Permissions boundaries

    def _set_boundary(
        self, ctx: CallContext, kind: EntityKind, name: str, boundary: str | None
    ) -> None:
        verb = "Put" if boundary is not None else "Delete"
        with self._writing() as tx:
            entity = _entity(tx, kind, name)
            context = {} if boundary is None else {"iam:PermissionsBoundary": boundary}
            self._authorize(
                ctx,
                f"{verb}{kind.capitalize()}PermissionsBoundary",
                entity.arn,
                tags=entity.tags,
                context=context,
            )
            if boundary is not None:
                self._policy(tx, boundary)
            if kind == "user":
                user = tx.user_by_id(entity.id)
                assert user is not None  # noqa: S101 - read in this transaction
                tx.update_user(replace(user, boundary_arn=boundary))
            else:
                role = tx.role_by_id(entity.id)
                assert role is not None  # noqa: S101 - read in this transaction
                tx.update_role(replace(role, boundary_arn=boundary))

    def put_user_permissions_boundary(
        self, ctx: CallContext, request: s.PutUserPermissionsBoundaryRequest
    ) -> None:
        self._set_boundary(ctx, "user", request.user_name, request.permissions_boundary)

    def delete_user_permissions_boundary(
        self, ctx: CallContext, request: s.DeleteUserPermissionsBoundaryRequest
    ) -> None:
        self._set_boundary(ctx, "user", request.user_name, None)

    def put_role_permissions_boundary(
        self, ctx: CallContext, request: s.PutRolePermissionsBoundaryRequest
    ) -> None:
        self._set_boundary(ctx, "role", request.role_name, request.permissions_boundary)

    def delete_role_permissions_boundary(
        self, ctx: CallContext, request: s.DeleteRolePermissionsBoundaryRequest
    ) -> None:
        self._set_boundary(ctx, "role", request.role_name, None)
