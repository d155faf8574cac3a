"""STS: AssumeRole, GetSessionToken, GetCallerIdentity and DecodeAuthorizationMessage."""

from __future__ import annotations

import base64
import json
import math
import secrets
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from strongroom.authorization import AccessRequest, Authorizer, ConditionValue, ResourcePolicy
from strongroom.clock import Clock
from strongroom.context import ASSUMED_ROLE, IAM_USER, ROOT, CallContext
from strongroom.errors import (
    AccessDenied,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
    ValidationError,
)
from strongroom.identity import sts_shapes as s
from strongroom.identity.changes import IdentityChanges
from strongroom.identity.credentials import (
    SESSION_SECRET_LABEL,
    new_access_key_id,
    new_secret_access_key,
    session_token_hash,
)
from strongroom.identity.iam_common import IamSettings, tag_value
from strongroom.identity.ports import IdentityStore, SessionOwner, SessionRecord
from strongroom.kms.keyring import KeyRing
from strongroom.policy import PolicyDocumentError, parse_policy

MIN_DURATION = 900
DEFAULT_ROLE_DURATION = 3600
CHAINED_MAX_DURATION = 3600
USER_MAX_DURATION, USER_DEFAULT_DURATION = 129600, 43200
ROOT_MAX_DURATION = 3600
MAX_SESSION_TAGS = 50
SESSION_POLICY_BYTES = 2048
# Bytes the packed (compressed) session policies and tags may take: PackedPolicySize is
# the percentage of this budget used, and over 100 the request is refused.
PACKED_BUDGET = 2048
TOKEN_BYTES = 96
# Expired sessions are kept a day, so their callers hear "expired" rather than "invalid".
EXPIRED_SESSION_RETENTION = timedelta(days=1)


class MessageDecoder(Protocol):
    def decode(self, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class _Issued:
    credentials: s.Credentials
    record: SessionRecord


class StsService:
    """Temporary credentials, stored so a restart (or another process) keeps them."""

    def __init__(
        self,
        store: IdentityStore,
        authorizer: Authorizer,
        clock: Clock,
        changes: IdentityChanges,
        keyring: KeyRing,
        messages: MessageDecoder,
        settings: IamSettings | None = None,
    ) -> None:
        self._store = store
        self._authz = authorizer
        self._clock = clock
        self._changes = changes
        self._keyring = keyring
        self._messages = messages
        self._settings = settings or IamSettings()

    def _issue(
        self,
        owner_kind: SessionOwner,
        owner_id: str,
        session_name: str,
        seconds: int,
        *,
        tags: tuple[tuple[str, str], ...] = (),
        transitive: tuple[str, ...] = (),
        source_identity: str | None = None,
        policies: tuple[str, ...] = (),
    ) -> _Issued:
        access_key_id = new_access_key_id("ASIA")
        secret = new_secret_access_key()
        token = base64.b64encode(secrets.token_bytes(TOKEN_BYTES)).decode()
        now = self._clock.now()
        expires = now + timedelta(seconds=seconds)
        record = SessionRecord(
            access_key_id=access_key_id,
            token_hash=session_token_hash(token),
            wrapped_secret=self._keyring.wrap_secret(
                secret.encode(), SESSION_SECRET_LABEL, access_key_id.encode()
            ),
            owner_kind=owner_kind,
            owner_id=owner_id,
            session_name=session_name,
            issued_at=now,
            expires_at=expires,
            source_identity=source_identity,
            tags=tags,
            transitive_tag_keys=transitive,
            policies=policies,
        )
        return _Issued(
            s.Credentials(
                access_key_id=access_key_id,
                secret_access_key=secret,
                session_token=token,
                expiration=expires,
            ),
            record,
        )

    def assume_role(self, ctx: CallContext, request: s.AssumeRoleRequest) -> s.AssumeRoleResponse:
        caller = ctx.principal
        parent = caller.session if caller.kind == ASSUMED_ROLE else None
        requested = [(t.key, t.value) for t in request.tags or ()]
        tags = list(requested)
        transitive = list(request.transitive_tag_keys or ())
        keys = [k.lower() for k, _ in tags]
        if len(tags) > MAX_SESSION_TAGS:
            raise ValidationError(
                f"1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_SESSION_TAGS}"
            )
        if len(set(keys)) != len(keys):
            raise ValidationError(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        if any(k.lower() not in keys for k in transitive):
            raise ValidationError(
                "The specified transitive tag key must be included in the requested tags."
            )
        if parent is not None:
            # Role chaining: the parent's transitive tags carry over and cannot be overridden.
            # Tag keys are case-insensitive: TransitiveTagKeys=["customer"] covers "Customer".
            carried = {k.lower() for k in parent.transitive_tag_keys}
            inherited = [(k, v) for k, v in parent.tags.items() if k.lower() in carried]
            for key, _ in inherited:
                if key.lower() in keys:
                    raise ValidationError(
                        f"One or more of the specified transitive tag keys ({key}) cannot be "
                        "overridden in a role chain."
                    )
            tags = inherited + tags
            transitive = [k for k, _ in inherited] + transitive
        source_identity = request.source_identity
        if parent is not None and parent.source_identity is not None:
            if source_identity is not None and source_identity != parent.source_identity:
                raise AccessDenied(
                    "The source identity of a role session cannot be changed once it is set."
                )
            source_identity = parent.source_identity

        seconds = request.duration_seconds or DEFAULT_ROLE_DURATION
        role_arn = request.role_arn
        name = role_arn.rsplit("/", 1)[-1]
        with self._store.transaction(write=False) as tx:
            role = tx.role_by_name(name) if ":role/" in role_arn else None
            if role is not None and role.arn != role_arn:
                role = None
            session_documents: list[str] = []
            for descriptor in request.policy_arns or ():
                policy = None if descriptor.arn is None else tx.policy_by_arn(descriptor.arn)
                document = (
                    None if policy is None else tx.default_documents([policy.id]).get(policy.id)
                )
                if document is None:
                    raise ValidationError(
                        f"Policy {descriptor.arn} does not exist or is not attachable."
                    )
                session_documents.append(document)
        if role is None:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn}"
            )
        if parent is not None and seconds > CHAINED_MAX_DURATION:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        if seconds < MIN_DURATION:
            raise ValidationError(
                f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed "
                f"to satisfy constraint: Member must have value greater than or equal to "
                f"{MIN_DURATION}"
            )
        if seconds > role.max_session_duration:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        if request.policy is not None:
            try:
                parse_policy(request.policy, "session", max_bytes=SESSION_POLICY_BYTES)
            except PolicyDocumentError as exc:
                raise MalformedPolicyDocument(str(exc)) from exc
            session_documents.insert(0, request.policy)
        packed = _packed_percent(
            request.policy, tuple(d.arn or "" for d in request.policy_arns or ()), tags
        )
        if packed > 100:
            raise PackedPolicyTooLarge(
                f"Packed policy consumes {packed}% of allotted space, please use smaller policy."
            )

        context: dict[str, ConditionValue] = {
            "sts:RoleSessionName": request.role_session_name,
        }
        if request.external_id is not None:
            context["sts:ExternalId"] = request.external_id
        if source_identity is not None:
            context["sts:SourceIdentity"] = source_identity
        # Only what this request sets: tags inherited in a role chain are not written by it.
        if requested:
            context.update({f"aws:RequestTag/{k}": v for k, v in requested})
            context["aws:TagKeys"] = tuple(k for k, _ in requested)
        if transitive:
            context["sts:TransitiveTagKeys"] = tuple(transitive)
        tag_key = self._settings.tenant_tag_key
        request_tenant = tag_value(tuple(requested), tag_key)
        with self._store.transaction(write=False) as tx:
            role_tags = tx.tags("role", role.id)
        trust = ResourcePolicy(role.trust_policy, required=True, kind="trust")
        actions = ["sts:AssumeRole"]
        if request.tags:
            actions.append("sts:TagSession")
        if request.source_identity is not None:
            actions.append("sts:SetSourceIdentity")
        for action in actions:
            self._authz.authorize(
                ctx,
                AccessRequest(
                    action=action,
                    resource=role.arn,
                    context=context,
                    resource_tags=dict(role_tags),
                    resource_policy=trust,
                    resource_tenant=tag_value(role_tags, tag_key),
                    request_tenants=frozenset({request_tenant} if request_tenant else ()),
                    tag_keys_written=frozenset(k for k, _ in requested),
                ),
            )

        issued = self._issue(
            "role",
            role.id,
            request.role_session_name,
            seconds,
            tags=tuple(tags),
            transitive=tuple(dict.fromkeys(transitive)),
            source_identity=source_identity,
            policies=tuple(session_documents),
        )
        with self._store.transaction(write=True) as tx:
            tx.insert_session(issued.record)
            tx.mark_role_used(role.id, self._clock.now(), str(ctx.region))
        self._changes.changed()
        arn_prefix = role.arn.split(":role/", 1)[0].replace(":iam::", ":sts::")
        return s.AssumeRoleResponse(
            credentials=issued.credentials,
            assumed_role_user=s.AssumedRoleUser(
                assumed_role_id=f"{role.id}:{request.role_session_name}",
                arn=f"{arn_prefix}:assumed-role/{role.name}/{request.role_session_name}",
            ),
            packed_policy_size=packed if (request.policy or request.policy_arns or tags) else None,
            source_identity=source_identity,
        )

    def get_caller_identity(
        self, ctx: CallContext, request: s.GetCallerIdentityRequest
    ) -> s.GetCallerIdentityResponse:
        # Always allowed, as on AWS: no policy can deny it.
        return s.GetCallerIdentityResponse(
            user_id=ctx.principal.principal_id, account=str(ctx.account_id), arn=ctx.principal.arn
        )

    def get_session_token(
        self, ctx: CallContext, request: s.GetSessionTokenRequest
    ) -> s.GetSessionTokenResponse:
        caller = ctx.principal
        if caller.access_key_id.startswith("ASIA") or caller.kind not in (ROOT, IAM_USER):
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        maximum = ROOT_MAX_DURATION if caller.kind == ROOT else USER_MAX_DURATION
        seconds = request.duration_seconds or min(USER_DEFAULT_DURATION, maximum)
        if not MIN_DURATION <= seconds <= maximum:
            raise ValidationError(
                f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value between {MIN_DURATION} and {maximum}"
            )
        if caller.kind == ROOT:
            issued = self._issue("root", caller.arn, "root", seconds)
        else:
            issued = self._issue("user", caller.principal_id, caller.name, seconds)
        with self._store.transaction(write=True) as tx:
            tx.insert_session(issued.record)
        return s.GetSessionTokenResponse(credentials=issued.credentials)

    def decode_authorization_message(
        self, ctx: CallContext, request: s.DecodeAuthorizationMessageRequest
    ) -> s.DecodeAuthorizationMessageResponse:
        self._authz.authorize(
            ctx, AccessRequest(action="sts:DecodeAuthorizationMessage", resource="*")
        )
        return s.DecodeAuthorizationMessageResponse(
            decoded_message=self._messages.decode(request.encoded_message)
        )

    def purge_expired_sessions(self) -> None:
        """Drop sessions a day past their expiry (a scheduled job)."""
        if self._store.delete_expired_sessions(self._clock.now() - EXPIRED_SESSION_RETENTION):
            self._changes.changed()


def _packed_percent(
    policy: str | None, policy_arns: tuple[str, ...], tags: list[tuple[str, str]]
) -> int:
    """How much of the packed budget the session policies and tags use, in percent."""
    packed = json.dumps(
        {
            "p": "" if policy is None else json.dumps(json.loads(policy), separators=(",", ":")),
            "a": policy_arns,
            "t": tags,
        },
        separators=(",", ":"),
    ).encode()
    return math.ceil(100 * len(zlib.compress(packed, 9)) / PACKED_BUDGET)
