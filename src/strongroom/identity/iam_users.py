"""IAM users: create, read, list, rename, delete, tag; and their access keys."""

from __future__ import annotations

from strongroom.authorization import Authorizer
from strongroom.clock import Clock
from strongroom.context import ASSUMED_ROLE, IAM_USER, ROOT, CallContext
from strongroom.errors import DeleteConflict, LimitExceeded, NoSuchEntity, ValidationError
from strongroom.identity import iam_shapes as s
from strongroom.identity.changes import IdentityChanges
from strongroom.identity.credentials import (
    ACCESS_KEY_SECRET_LABEL,
    new_access_key_id,
    new_secret_access_key,
)
from strongroom.identity.iam_common import (
    USER_ID_PREFIX,
    IamBase,
    IamSettings,
    entity_arn,
    merge_tags,
    new_entity_id,
    page,
    remove_tags,
)
from strongroom.identity.ports import (
    DuplicateEntity,
    IdentityStore,
    IdentityTransaction,
    Tags,
    UserAccessKey,
    UserRecord,
)
from strongroom.kms.keyring import KeyRing

MAX_ACCESS_KEYS_PER_USER = 2
ACCESS_KEY_STATUSES = ("Active", "Inactive")


def boundary_of(arn: str | None) -> s.AttachedPermissionsBoundary | None:
    if arn is None:
        return None
    return s.AttachedPermissionsBoundary(
        permissions_boundary_type="Policy", permissions_boundary_arn=arn
    )


def tag_shapes(tags: Tags) -> tuple[s.Tag, ...]:
    return tuple(s.Tag(key=k, value=v) for k, v in tags)


def user_shape(user: UserRecord, tags: Tags | None = None) -> s.User:
    return s.User(
        path=user.path,
        user_name=user.name,
        user_id=user.id,
        arn=user.arn,
        create_date=user.created_at,
        permissions_boundary=boundary_of(user.boundary_arn),
        tags=tag_shapes(tags) if tags else None,
    )


def request_tags(tags: tuple[s.Tag, ...] | None) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in tags or ()]


class IamUsers(IamBase):
    """User operations; every write drops the identity caches of this process."""

    def __init__(
        self,
        store: IdentityStore,
        authorizer: Authorizer,
        clock: Clock,
        changes: IdentityChanges,
        keyring: KeyRing,
        settings: IamSettings | None = None,
    ) -> None:
        super().__init__(store, authorizer, clock, changes, settings)
        self._keyring = keyring

    def create_user(self, ctx: CallContext, request: s.CreateUserRequest) -> s.CreateUserResponse:
        path = request.path or "/"
        arn = entity_arn(ctx, "user", path, request.user_name)
        tags = merge_tags((), request_tags(request.tags))
        context = {}
        if request.permissions_boundary is not None:
            context["iam:PermissionsBoundary"] = request.permissions_boundary
        self._authorize(ctx, "CreateUser", arn, request_tags=tags, context=context)
        user = UserRecord(
            id=new_entity_id(USER_ID_PREFIX),
            name=request.user_name,
            path=path,
            arn=arn,
            created_at=self._clock.now(),
            boundary_arn=request.permissions_boundary,
        )
        with self._writing() as tx:
            if request.permissions_boundary is not None:
                self._policy(tx, request.permissions_boundary)
            if tx.user_by_name(user.name) is not None:
                raise self._duplicate("User", user.name)
            try:
                tx.insert_user(user)
            except DuplicateEntity as exc:
                raise self._duplicate("User", user.name) from exc
            tx.replace_tags("user", user.id, tags)
        return s.CreateUserResponse(user=user_shape(user, tags))

    def get_user(self, ctx: CallContext, request: s.GetUserRequest) -> s.GetUserResponse:
        name = request.user_name
        principal = ctx.principal
        if name is None:
            if principal.kind == ROOT:
                self._authorize(ctx, "GetUser", principal.arn)
                return s.GetUserResponse(
                    user=s.User(
                        path="/",
                        user_name="root",
                        user_id=str(ctx.account_id),
                        arn=principal.arn,
                        create_date=self._clock.now(),
                    )
                )
            if principal.kind != IAM_USER:
                raise ValidationError(
                    "Must specify userName when calling with non-User credentials"
                )
            name = principal.name
        with self._reading() as tx:
            user = self._user(tx, name)
            tags = tx.tags("user", user.id)
        self._authorize(ctx, "GetUser", user.arn, tags=tags)
        return s.GetUserResponse(user=user_shape(user, tags))

    def list_users(self, ctx: CallContext, request: s.ListUsersRequest) -> s.ListUsersResponse:
        self._authorize(ctx, "ListUsers", "*")
        prefix = request.path_prefix or "/"
        with self._reading() as tx:
            users = [u for u in tx.users() if u.path.startswith(prefix)]
        chosen, marker = page(users, lambda u: u.name.lower(), request.marker, request.max_items)
        return s.ListUsersResponse(
            users=tuple(user_shape(u) for u in chosen),
            is_truncated=marker is not None,
            marker=marker,
        )

    def update_user(self, ctx: CallContext, request: s.UpdateUserRequest) -> None:
        with self._writing() as tx:
            user = self._user(tx, request.user_name)
            self._authorize(ctx, "UpdateUser", user.arn, tags=tx.tags("user", user.id))
            name = request.new_user_name or user.name
            path = request.new_path or user.path
            if name.lower() != user.name.lower() and tx.user_by_name(name) is not None:
                raise self._duplicate("User", name)
            renamed = UserRecord(
                id=user.id,
                name=name,
                path=path,
                arn=entity_arn(ctx, "user", path, name),
                created_at=user.created_at,
                boundary_arn=user.boundary_arn,
            )
            try:
                tx.update_user(renamed)
            except DuplicateEntity as exc:
                raise self._duplicate("User", name) from exc
            tx.rename_key_owner(user.id, renamed.arn)

    def delete_user(self, ctx: CallContext, request: s.DeleteUserRequest) -> None:
        with self._writing() as tx:
            user = self._user(tx, request.user_name)
            self._authorize(ctx, "DeleteUser", user.arn, tags=tx.tags("user", user.id))
            if tx.access_keys_of(user.id):
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            if tx.inline_policies("user", user.id):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if tx.attached("user", user.id):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if tx.groups_of_user(user.id):
                raise DeleteConflict("Cannot delete entity, must remove users from group first.")
            tx.delete_sessions_of("user", user.id)
            tx.delete_user(user.id)

    def tag_user(self, ctx: CallContext, request: s.TagUserRequest) -> None:
        added = request_tags(request.tags)
        with self._writing() as tx:
            user = self._user(tx, request.user_name)
            current = tx.tags("user", user.id)
            self._authorize(ctx, "TagUser", user.arn, tags=current, request_tags=added)
            tx.replace_tags("user", user.id, merge_tags(current, added))

    def untag_user(self, ctx: CallContext, request: s.UntagUserRequest) -> None:
        with self._writing() as tx:
            user = self._user(tx, request.user_name)
            current = tx.tags("user", user.id)
            self._authorize(
                ctx, "UntagUser", user.arn, tags=current, removed_tag_keys=request.tag_keys
            )
            tx.replace_tags("user", user.id, remove_tags(current, request.tag_keys))

    def list_user_tags(
        self, ctx: CallContext, request: s.ListUserTagsRequest
    ) -> s.ListUserTagsResponse:
        with self._reading() as tx:
            user = self._user(tx, request.user_name)
            tags = tx.tags("user", user.id)
        self._authorize(ctx, "ListUserTags", user.arn, tags=tags)
        chosen, marker = page(tags, lambda t: t[0].lower(), request.marker, request.max_items)
        return s.ListUserTagsResponse(
            tags=tag_shapes(tuple(chosen)), is_truncated=marker is not None, marker=marker
        )

    # Access keys

    def _key_owner(self, ctx: CallContext, tx: IdentityTransaction, name: str | None) -> UserRecord:
        """The named user, or the calling IAM user when no name is given."""
        if name is not None:
            return self._user(tx, name)
        if ctx.principal.kind == IAM_USER:
            return self._user(tx, ctx.principal.name)
        if ctx.principal.kind == ASSUMED_ROLE:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        raise ValidationError("Access keys of the account root are managed by the server.")

    def create_access_key(
        self, ctx: CallContext, request: s.CreateAccessKeyRequest
    ) -> s.CreateAccessKeyResponse:
        access_key_id = new_access_key_id("AKIA")
        secret = new_secret_access_key()
        wrapped = self._keyring.wrap_secret(
            secret.encode(), ACCESS_KEY_SECRET_LABEL, access_key_id.encode()
        )
        now = self._clock.now()
        with self._writing() as tx:
            user = self._key_owner(ctx, tx, request.user_name)
            self._authorize(ctx, "CreateAccessKey", user.arn, tags=tx.tags("user", user.id))
            if len(tx.access_keys_of(user.id)) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
                )
            tx.insert_access_key(
                UserAccessKey(access_key_id, user.id, "Active", now), user.arn, wrapped
            )
        return s.CreateAccessKeyResponse(
            access_key=s.AccessKey(
                user_name=user.name,
                access_key_id=access_key_id,
                status="Active",
                secret_access_key=secret,
                create_date=now,
            )
        )

    def list_access_keys(
        self, ctx: CallContext, request: s.ListAccessKeysRequest
    ) -> s.ListAccessKeysResponse:
        with self._reading() as tx:
            user = self._key_owner(ctx, tx, request.user_name)
            tags = tx.tags("user", user.id)
            keys = tx.access_keys_of(user.id)
        self._authorize(ctx, "ListAccessKeys", user.arn, tags=tags)
        chosen, marker = page(keys, lambda k: k.access_key_id, request.marker, request.max_items)
        return s.ListAccessKeysResponse(
            access_key_metadata=tuple(
                s.AccessKeyMetadata(
                    user_name=user.name,
                    access_key_id=k.access_key_id,
                    status=k.status,
                    create_date=k.created_at,
                )
                for k in chosen
            ),
            is_truncated=marker is not None,
            marker=marker,
        )

    def _owned_key(self, tx: IdentityTransaction, user: UserRecord, key_id: str) -> UserAccessKey:
        key = tx.access_key(key_id)
        if key is None or key.user_id != user.id:
            raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        return key

    def update_access_key(self, ctx: CallContext, request: s.UpdateAccessKeyRequest) -> None:
        with self._writing() as tx:
            user = self._key_owner(ctx, tx, request.user_name)
            self._authorize(ctx, "UpdateAccessKey", user.arn, tags=tx.tags("user", user.id))
            self._owned_key(tx, user, request.access_key_id)
            tx.set_access_key_status(request.access_key_id, request.status)

    def delete_access_key(self, ctx: CallContext, request: s.DeleteAccessKeyRequest) -> None:
        with self._writing() as tx:
            user = self._key_owner(ctx, tx, request.user_name)
            self._authorize(ctx, "DeleteAccessKey", user.arn, tags=tx.tags("user", user.id))
            self._owned_key(tx, user, request.access_key_id)
            tx.delete_access_key(request.access_key_id)

    def get_access_key_last_used(
        self, ctx: CallContext, request: s.GetAccessKeyLastUsedRequest
    ) -> s.GetAccessKeyLastUsedResponse:
        with self._reading() as tx:
            key = tx.access_key(request.access_key_id)
            user = None if key is None else tx.user_by_id(key.user_id)
            tags = () if user is None else tx.tags("user", user.id)
        if key is None or user is None:
            raise NoSuchEntity(f"The Access Key with id {request.access_key_id} cannot be found.")
        self._authorize(ctx, "GetAccessKeyLastUsed", user.arn, tags=tags)
        # The edge resolves the key before it knows the service, so only the date is kept.
        return s.GetAccessKeyLastUsedResponse(
            user_name=user.name,
            access_key_last_used=s.AccessKeyLastUsed(
                last_used_date=key.last_used_at, service_name="N/A", region="N/A"
            ),
        )
