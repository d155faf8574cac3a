"""What every IAM operation shares: ids, ARNs, lookups, tags, documents, pages, authorization."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

from strongroom.authorization import AccessRequest, Authorizer, ConditionValue
from strongroom.clock import Clock
from strongroom.context import IAM_USER, CallContext
from strongroom.errors import (
    AccessDenied,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
)
from strongroom.identity.changes import IdentityChanges
from strongroom.identity.ports import (
    DuplicateEntity,
    GroupRecord,
    IdentityStore,
    IdentityTransaction,
    ManagedPolicyRecord,
    RoleRecord,
    Tags,
    UserRecord,
)
from strongroom.policy import PolicyDocumentError, parse_policy

T = TypeVar("T")

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
USER_ID_PREFIX, ROLE_ID_PREFIX, GROUP_ID_PREFIX, POLICY_ID_PREFIX = "AIDA", "AROA", "AGPA", "ANPA"
MAX_TAGS = 50
DEFAULT_MAX_ITEMS = 100
# IAM quotas (characters, whitespace not counted), as AWS's defaults.
USER_INLINE_POLICY_BYTES = 2048
GROUP_INLINE_POLICY_BYTES = 5120
ROLE_INLINE_POLICY_BYTES = 10240
MANAGED_POLICY_BYTES = 6144
TRUST_POLICY_BYTES = 2048
MAX_ATTACHED_POLICIES = 10
# The longest document the model lets through; parse_policy never reads beyond it.
_PARSE_LIMIT = 131072
_WHITESPACE = str.maketrans("", "", " \t\r\n")


def new_entity_id(prefix: str) -> str:
    """An IAM unique id: the kind's prefix and 16 characters of base32."""
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(16))


def entity_arn(ctx: CallContext, kind: str, path: str, name: str) -> str:
    """``arn:{partition}:iam::{account}:{kind}{path}{name}``."""
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:{kind}{path}{name}"


def encode_document(document: str) -> str:
    """Policy documents travel URL-encoded in IAM responses (boto3 decodes them)."""
    return quote(document, safe="")


def tag_value(tags: Mapping[str, str] | Tags, key: str) -> str | None:
    """A tag's value by key, compared case-insensitively as IAM compares tag keys."""
    items = tags.items() if isinstance(tags, Mapping) else tags
    wanted = key.lower()
    for k, v in items:
        if k.lower() == wanted:
            return v
    return None


def merge_tags(current: Tags, added: Sequence[tuple[str, str]]) -> Tags:
    """``current`` with ``added`` set (a key differing only in case replaces the old one)."""
    keys = [k.lower() for k, _ in added]
    if len(set(keys)) != len(keys):
        raise InvalidInput(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    replaced = {k: (key, value) for k, (key, value) in zip(keys, added, strict=True)}
    merged = [replaced.pop(k.lower(), (k, v)) for k, v in current]
    merged.extend(replaced.values())
    if len(merged) > MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return tuple(merged)


def remove_tags(current: Tags, keys: Sequence[str]) -> Tags:
    gone = {k.lower() for k in keys}
    return tuple((k, v) for k, v in current if k.lower() not in gone)


def tag_request_context(tags: Sequence[tuple[str, str]]) -> dict[str, ConditionValue]:
    context: dict[str, ConditionValue] = {f"aws:RequestTag/{k}": v for k, v in tags}
    context["aws:TagKeys"] = tuple(k for k, _ in tags)
    return context


def page(
    items: Sequence[T], key: Callable[[T], str], marker: str | None, max_items: int | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) and the marker of the next, if any.

    A marker is the sort key of the next page's first item, so entities created or
    deleted between calls never make a page repeat or skip the others.
    """
    start = 0
    if marker is not None:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput("Invalid Marker.") from exc
        start = next((i for i, item in enumerate(items) if key(item) >= after), len(items))
    limit = max_items or DEFAULT_MAX_ITEMS
    chosen = list(items[start : start + limit])
    if start + limit < len(items):
        return chosen, base64.urlsafe_b64encode(key(items[start + limit]).encode()).decode()
    return chosen, None


def validated_document(text: str, kind: str, *, limit: int, quota: str) -> str:
    """``text`` if it is a valid policy of ``kind`` within ``limit`` characters."""
    size = len(text.translate(_WHITESPACE))
    if size > limit:
        raise LimitExceeded(f"Cannot exceed quota for {quota}: {limit}")
    try:
        parse_policy(text, kind, max_bytes=_PARSE_LIMIT)  # type: ignore[arg-type]
    except PolicyDocumentError as exc:
        raise MalformedPolicyDocument(str(exc)) from exc
    return text


@dataclass(frozen=True, slots=True)
class IamSettings:
    tenant_tag_key: str = "customer"


class IamBase:
    """The parts of an IAM service object every operation uses."""

    def __init__(
        self,
        store: IdentityStore,
        authorizer: Authorizer,
        clock: Clock,
        changes: IdentityChanges,
        settings: IamSettings | None = None,
    ) -> None:
        self._store = store
        self._authz = authorizer
        self._clock = clock
        self._changes = changes
        self._settings = settings or IamSettings()

    @contextmanager
    def _reading(self) -> Iterator[IdentityTransaction]:
        with self._store.transaction(write=False) as tx:
            yield tx

    @contextmanager
    def _writing(self) -> Iterator[IdentityTransaction]:
        """A write transaction; caches of identities are dropped once it commits."""
        try:
            with self._store.transaction(write=True) as tx:
                yield tx
        finally:
            self._changes.changed()

    def _authorize(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        tags: Tags = (),
        request_tags: Sequence[tuple[str, str]] = (),
        removed_tag_keys: Sequence[str] = (),
        context: Mapping[str, ConditionValue] | None = None,
    ) -> None:
        """Authorize ``iam:{action}`` on ``resource`` (whose tags are ``tags``)."""
        if ctx.principal.kind == IAM_USER and ctx.principal.access_key_id.startswith("ASIA"):
            # GetSessionToken credentials without MFA may not call IAM, as on AWS.
            raise AccessDenied(
                f"User: {ctx.principal.arn} is not authorized to perform: iam:{action} on "
                f"resource: {resource} because no session policy allows the iam:{action} "
                "action with credentials issued without MFA"
            )
        full_context: dict[str, ConditionValue] = dict(context or {})
        if request_tags:
            full_context.update(tag_request_context(request_tags))
        if removed_tag_keys:
            full_context["aws:TagKeys"] = tuple(removed_tag_keys)
        tag_key = self._settings.tenant_tag_key
        request_tenant = tag_value(tuple(request_tags), tag_key)
        self._authz.authorize(
            ctx,
            AccessRequest(
                action=f"iam:{action}",
                resource=resource,
                context=full_context,
                resource_tags=dict(tags),
                resource_tenant=tag_value(tags, tag_key),
                request_tenants=frozenset({request_tenant} if request_tenant else ()),
                tag_keys_written=frozenset([k for k, _ in request_tags] + list(removed_tag_keys)),
            ),
        )

    @staticmethod
    def _duplicate(kind: str, name: str) -> EntityAlreadyExists:
        return EntityAlreadyExists(f"{kind} with name {name} already exists.")

    @staticmethod
    def _user(tx: IdentityTransaction, name: str) -> UserRecord:
        user = tx.user_by_name(name)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return user

    @staticmethod
    def _role(tx: IdentityTransaction, name: str) -> RoleRecord:
        role = tx.role_by_name(name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    @staticmethod
    def _group(tx: IdentityTransaction, name: str) -> GroupRecord:
        group = tx.group_by_name(name)
        if group is None:
            raise NoSuchEntity(f"The group with name {name} cannot be found.")
        return group

    @staticmethod
    def _policy(tx: IdentityTransaction, arn: str) -> ManagedPolicyRecord:
        policy = tx.policy_by_arn(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy


__all__ = ["DuplicateEntity", "IamBase", "IamSettings"]
