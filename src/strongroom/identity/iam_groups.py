"""IAM groups and their members."""

from __future__ import annotations

from strongroom.context import CallContext
from strongroom.errors import DeleteConflict, LimitExceeded, NoSuchEntity
from strongroom.identity import iam_shapes as s
from strongroom.identity.iam_common import (
    GROUP_ID_PREFIX,
    IamBase,
    entity_arn,
    new_entity_id,
    page,
)
from strongroom.identity.iam_users import user_shape
from strongroom.identity.ports import DuplicateEntity, GroupRecord

MAX_GROUPS_PER_USER = 10


def group_shape(group: GroupRecord) -> s.Group:
    return s.Group(
        path=group.path,
        group_name=group.name,
        group_id=group.id,
        arn=group.arn,
        create_date=group.created_at,
    )


class IamGroups(IamBase):
    """Group operations."""

    def create_group(
        self, ctx: CallContext, request: s.CreateGroupRequest
    ) -> s.CreateGroupResponse:
        path = request.path or "/"
        arn = entity_arn(ctx, "group", path, request.group_name)
        self._authorize(ctx, "CreateGroup", arn)
        group = GroupRecord(
            id=new_entity_id(GROUP_ID_PREFIX),
            name=request.group_name,
            path=path,
            arn=arn,
            created_at=self._clock.now(),
        )
        with self._writing() as tx:
            if tx.group_by_name(group.name) is not None:
                raise self._duplicate("Group", group.name)
            try:
                tx.insert_group(group)
            except DuplicateEntity as exc:
                raise self._duplicate("Group", group.name) from exc
        return s.CreateGroupResponse(group=group_shape(group))

    def get_group(self, ctx: CallContext, request: s.GetGroupRequest) -> s.GetGroupResponse:
        with self._reading() as tx:
            group = self._group(tx, request.group_name)
            members = tx.members(group.id)
        self._authorize(ctx, "GetGroup", group.arn)
        chosen, marker = page(members, lambda u: u.name.lower(), request.marker, request.max_items)
        return s.GetGroupResponse(
            group=group_shape(group),
            users=tuple(user_shape(u) for u in chosen),
            is_truncated=marker is not None,
            marker=marker,
        )

    def list_groups(self, ctx: CallContext, request: s.ListGroupsRequest) -> s.ListGroupsResponse:
        self._authorize(ctx, "ListGroups", "*")
        prefix = request.path_prefix or "/"
        with self._reading() as tx:
            groups = [g for g in tx.groups() if g.path.startswith(prefix)]
        chosen, marker = page(groups, lambda g: g.name.lower(), request.marker, request.max_items)
        return s.ListGroupsResponse(
            groups=tuple(group_shape(g) for g in chosen),
            is_truncated=marker is not None,
            marker=marker,
        )

    def delete_group(self, ctx: CallContext, request: s.DeleteGroupRequest) -> None:
        with self._writing() as tx:
            group = self._group(tx, request.group_name)
            self._authorize(ctx, "DeleteGroup", group.arn)
            if tx.members(group.id):
                raise DeleteConflict("Cannot delete entity, must remove users from group first.")
            if tx.inline_policies("group", group.id):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if tx.attached("group", group.id):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            tx.delete_group(group.id)

    def add_user_to_group(self, ctx: CallContext, request: s.AddUserToGroupRequest) -> None:
        with self._writing() as tx:
            group = self._group(tx, request.group_name)
            user = self._user(tx, request.user_name)
            self._authorize(ctx, "AddUserToGroup", group.arn)
            groups = tx.groups_of_user(user.id)
            if all(g.id != group.id for g in groups) and len(groups) >= MAX_GROUPS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
            tx.add_member(group.id, user.id)

    def remove_user_from_group(
        self, ctx: CallContext, request: s.RemoveUserFromGroupRequest
    ) -> None:
        with self._writing() as tx:
            group = self._group(tx, request.group_name)
            user = self._user(tx, request.user_name)
            self._authorize(ctx, "RemoveUserFromGroup", group.arn)
            if not tx.remove_member(group.id, user.id):
                raise NoSuchEntity(
                    f"The user with name {user.name} cannot be found in group {group.name}."
                )

    def list_groups_for_user(
        self, ctx: CallContext, request: s.ListGroupsForUserRequest
    ) -> s.ListGroupsForUserResponse:
        with self._reading() as tx:
            user = self._user(tx, request.user_name)
            tags = tx.tags("user", user.id)
            groups = tx.groups_of_user(user.id)
        self._authorize(ctx, "ListGroupsForUser", user.arn, tags=tags)
        chosen, marker = page(groups, lambda g: g.name.lower(), request.marker, request.max_items)
        return s.ListGroupsForUserResponse(
            groups=tuple(group_shape(g) for g in chosen),
            is_truncated=marker is not None,
            marker=marker,
        )
