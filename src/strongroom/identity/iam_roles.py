"""IAM roles: trust policies, session durations, descriptions and tags."""

from __future__ import annotations

from dataclasses import replace

from strongroom.context import CallContext
from strongroom.errors import DeleteConflict, ValidationError
from strongroom.identity import iam_shapes as s
from strongroom.identity.iam_common import (
    ROLE_ID_PREFIX,
    TRUST_POLICY_BYTES,
    IamBase,
    encode_document,
    entity_arn,
    merge_tags,
    new_entity_id,
    page,
    remove_tags,
    validated_document,
)
from strongroom.identity.iam_users import boundary_of, request_tags, tag_shapes
from strongroom.identity.ports import DuplicateEntity, RoleRecord, Tags

MIN_SESSION_DURATION, MAX_SESSION_DURATION, DEFAULT_SESSION_DURATION = 3600, 43200, 3600


def role_shape(role: RoleRecord, tags: Tags | None = None, *, full: bool = False) -> s.Role:
    """A role as IAM answers it; ``full`` adds what GetRole shows beyond ListRoles."""
    return s.Role(
        path=role.path,
        role_name=role.name,
        role_id=role.id,
        arn=role.arn,
        create_date=role.created_at,
        assume_role_policy_document=encode_document(role.trust_policy),
        description=role.description,
        max_session_duration=role.max_session_duration,
        permissions_boundary=boundary_of(role.boundary_arn),
        tags=tag_shapes(tags) if tags else None,
        role_last_used=(
            s.RoleLastUsed(last_used_date=role.last_used_at, region=role.last_used_region)
            if full
            else None
        ),
    )


def _check_duration(seconds: int | None) -> int:
    if seconds is None:
        return DEFAULT_SESSION_DURATION
    if not MIN_SESSION_DURATION <= seconds <= MAX_SESSION_DURATION:
        raise ValidationError(
            f"1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to "
            f"satisfy constraint: Member must have value less than or equal to "
            f"{MAX_SESSION_DURATION}"
            if seconds > MAX_SESSION_DURATION
            else f"1 validation error detected: Value '{seconds}' at 'maxSessionDuration' "
            f"failed to satisfy constraint: Member must have value greater than or equal to "
            f"{MIN_SESSION_DURATION}"
        )
    return seconds


class IamRoles(IamBase):
    """Role operations; trust policies are validated with the trust grammar."""

    def create_role(self, ctx: CallContext, request: s.CreateRoleRequest) -> s.CreateRoleResponse:
        path = request.path or "/"
        arn = entity_arn(ctx, "role", path, request.role_name)
        tags = merge_tags((), request_tags(request.tags))
        context = {}
        if request.permissions_boundary is not None:
            context["iam:PermissionsBoundary"] = request.permissions_boundary
        self._authorize(ctx, "CreateRole", arn, request_tags=tags, context=context)
        trust = validated_document(
            request.assume_role_policy_document,
            "trust",
            limit=TRUST_POLICY_BYTES,
            quota="ACLSizePerRole",
        )
        role = RoleRecord(
            id=new_entity_id(ROLE_ID_PREFIX),
            name=request.role_name,
            path=path,
            arn=arn,
            created_at=self._clock.now(),
            max_session_duration=_check_duration(request.max_session_duration),
            trust_policy=trust,
            description=request.description,
            boundary_arn=request.permissions_boundary,
        )
        with self._writing() as tx:
            if request.permissions_boundary is not None:
                self._policy(tx, request.permissions_boundary)
            if tx.role_by_name(role.name) is not None:
                raise self._duplicate("Role", role.name)
            try:
                tx.insert_role(role)
            except DuplicateEntity as exc:
                raise self._duplicate("Role", role.name) from exc
            tx.replace_tags("role", role.id, tags)
        return s.CreateRoleResponse(role=role_shape(role, tags))

    def get_role(self, ctx: CallContext, request: s.GetRoleRequest) -> s.GetRoleResponse:
        with self._reading() as tx:
            role = self._role(tx, request.role_name)
            tags = tx.tags("role", role.id)
        self._authorize(ctx, "GetRole", role.arn, tags=tags)
        return s.GetRoleResponse(role=role_shape(role, tags, full=True))

    def list_roles(self, ctx: CallContext, request: s.ListRolesRequest) -> s.ListRolesResponse:
        self._authorize(ctx, "ListRoles", "*")
        prefix = request.path_prefix or "/"
        with self._reading() as tx:
            roles = [r for r in tx.roles() if r.path.startswith(prefix)]
        chosen, marker = page(roles, lambda r: r.name.lower(), request.marker, request.max_items)
        return s.ListRolesResponse(
            roles=tuple(role_shape(r) for r in chosen),
            is_truncated=marker is not None,
            marker=marker,
        )

    def update_role(self, ctx: CallContext, request: s.UpdateRoleRequest) -> s.UpdateRoleResponse:
        with self._writing() as tx:
            role = self._role(tx, request.role_name)
            self._authorize(ctx, "UpdateRole", role.arn, tags=tx.tags("role", role.id))
            if request.description is not None:
                role = replace(role, description=request.description)
            if request.max_session_duration is not None:
                role = replace(
                    role, max_session_duration=_check_duration(request.max_session_duration)
                )
            tx.update_role(role)
        return s.UpdateRoleResponse()

    def update_assume_role_policy(
        self, ctx: CallContext, request: s.UpdateAssumeRolePolicyRequest
    ) -> None:
        trust = validated_document(
            request.policy_document, "trust", limit=TRUST_POLICY_BYTES, quota="ACLSizePerRole"
        )
        with self._writing() as tx:
            role = self._role(tx, request.role_name)
            self._authorize(ctx, "UpdateAssumeRolePolicy", role.arn, tags=tx.tags("role", role.id))
            tx.update_role(replace(role, trust_policy=trust))

    def delete_role(self, ctx: CallContext, request: s.DeleteRoleRequest) -> None:
        with self._writing() as tx:
            role = self._role(tx, request.role_name)
            self._authorize(ctx, "DeleteRole", role.arn, tags=tx.tags("role", role.id))
            if tx.inline_policies("role", role.id):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if tx.attached("role", role.id):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            # Its sessions end with it: the credential lookup finds no role for them anyway.
            tx.delete_sessions_of("role", role.id)
            tx.delete_role(role.id)

    def tag_role(self, ctx: CallContext, request: s.TagRoleRequest) -> None:
        added = request_tags(request.tags)
        with self._writing() as tx:
            role = self._role(tx, request.role_name)
            current = tx.tags("role", role.id)
            self._authorize(ctx, "TagRole", role.arn, tags=current, request_tags=added)
            tx.replace_tags("role", role.id, merge_tags(current, added))

    def untag_role(self, ctx: CallContext, request: s.UntagRoleRequest) -> None:
        with self._writing() as tx:
            role = self._role(tx, request.role_name)
            current = tx.tags("role", role.id)
            self._authorize(
                ctx, "UntagRole", role.arn, tags=current, removed_tag_keys=request.tag_keys
            )
            tx.replace_tags("role", role.id, remove_tags(current, request.tag_keys))

    def list_role_tags(
        self, ctx: CallContext, request: s.ListRoleTagsRequest
    ) -> s.ListRoleTagsResponse:
        with self._reading() as tx:
            role = self._role(tx, request.role_name)
            tags = tx.tags("role", role.id)
        self._authorize(ctx, "ListRoleTags", role.arn, tags=tags)
        chosen, marker = page(tags, lambda t: t[0].lower(), request.marker, request.max_items)
        return s.ListRoleTagsResponse(
            tags=tag_shapes(tuple(chosen)), is_truncated=marker is not None, marker=marker
        )
