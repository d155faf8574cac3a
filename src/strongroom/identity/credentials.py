"""Access keys the server issued: lookup for SigV4, and the account root's key provisioning."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from strongroom.clock import Clock
from strongroom.context import ASSUMED_ROLE, IAM_USER, ROOT, Principal, SessionInfo
from strongroom.errors import ExpiredTokenException
from strongroom.identity.changes import CACHE_SECONDS, BriefCache, IdentityChanges
from strongroom.identity.directory import IdentityDirectory
from strongroom.identity.ports import IdentityStore, IdentityTransaction, SessionRecord
from strongroom.kms.keyring import KeyRing

ACCESS_KEY_SECRET_LABEL = b"strongroom/access-key-secret/v1"
SESSION_SECRET_LABEL = b"strongroom/session-secret/v1"
LAST_USED_INTERVAL = 3600.0
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + "234567"


@dataclass(frozen=True, slots=True)
class StoredAccessKey:
    access_key_id: str
    principal_arn: str
    status: str
    created_at: datetime
    wrapped_secret: bytes = field(repr=False)
    # The IAM user owning the key; None for the account root's key.
    user_id: str | None = None


class AccessKeyStore(Protocol):
    def get(self, access_key_id: str) -> StoredAccessKey | None: ...

    def for_principal(self, principal_arn: str) -> list[StoredAccessKey]: ...

    def put(self, key: StoredAccessKey) -> None:
        """Insert, or replace the key with the same id."""
        ...

    def delete_for_principal(self, principal_arn: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)


def new_access_key_id(prefix: str = "AKIA") -> str:
    """An AWS-shaped access key id: AKIA + 16 base32 characters."""
    return prefix + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)[:40]


def root_principal(partition: str, account_id: str, access_key_id: str) -> Principal:
    return Principal(
        arn=f"arn:{partition}:iam::{account_id}:root",
        principal_id=account_id,
        access_key_id=access_key_id,
        kind="Root",
    )


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A key's secret and how to build its principal (cached ≤ 1 s)."""

    secret: str = field(repr=False)
    principal_arn: str
    principal: Principal | None = None
    token_hash: bytes | None = field(default=None, repr=False)
    expires_at: datetime | None = None


def session_token_hash(token: str) -> bytes:
    """Sessions keep only this digest of their token (which has ≥ 512 bits of entropy)."""
    return hashlib.sha256(token.encode()).digest()


class CredentialDirectory:
    """Resolves access key ids to their secret (for SigV4) and their principal.

    Covers the account root's key, IAM users' active keys (AKIA…) and STS sessions
    (ASIA… with their session token). Lookups are cached at most a second and dropped
    on every IAM write in this process, so a disabled key stops working at once.
    """

    def __init__(
        self,
        store: AccessKeyStore,
        keyring: KeyRing,
        clock: Clock,
        identities: IdentityStore | None = None,
        changes: IdentityChanges | None = None,
        tenant_tag_key: str = "customer",
        *,
        cache_seconds: float = CACHE_SECONDS,
        policies: IdentityDirectory | None = None,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._identities = identities
        self._changes = changes or IdentityChanges()
        self._tenant_tag_key = tenant_tag_key
        # Given, the policies of the user or role behind a principal not cached are read
        # in the same transaction as the principal, and kept for the authorizer.
        self._policies = policies
        self._cache: BriefCache[str, _Resolved | None] = BriefCache(self._changes, cache_seconds)
        self._last_recorded: dict[str, float] = {}

    def _resolve(self, access_key_id: str) -> _Resolved | None:
        cached = self._cache.get(access_key_id)
        if cached is not None:
            return cached
        generation = self._changes.generation
        resolved = (
            self._resolve_session(access_key_id, generation)
            if access_key_id.startswith("ASIA")
            else self._resolve_key(access_key_id, generation)
        )
        if resolved is not None:
            self._cache.put(access_key_id, resolved, generation)
        return resolved

    def _resolve_key(self, access_key_id: str, generation: int) -> _Resolved | None:
        stored = self._store.get(access_key_id)
        if stored is None or stored.status != "Active":
            return None
        secret = self._keyring.unwrap_secret(
            stored.wrapped_secret, ACCESS_KEY_SECRET_LABEL, access_key_id.encode()
        ).decode()
        principal = None
        if stored.user_id is not None:
            if self._identities is None:
                return None
            with self._identities.transaction(write=False) as tx:
                principal = self._user_principal(tx, stored.user_id, access_key_id, generation)
            if principal is None:
                return None
        return _Resolved(secret, stored.principal_arn, principal)

    def _resolve_session(self, access_key_id: str, generation: int) -> _Resolved | None:
        if self._identities is None:
            return None
        # The session and the identity it speaks for, in one read: this runs for every
        # principal not cached, which with many tenants is most calls of a quiet one.
        with self._identities.transaction(write=False) as tx:
            session = tx.session(access_key_id)
            principal = (
                None if session is None else self._session_principal(tx, session, generation)
            )
        if session is None or principal is None:
            return None
        secret = self._keyring.unwrap_secret(
            session.wrapped_secret, SESSION_SECRET_LABEL, access_key_id.encode()
        ).decode()
        return _Resolved(secret, principal.arn, principal, session.token_hash, session.expires_at)

    def _user_principal(
        self, tx: IdentityTransaction, user_id: str, access_key_id: str, generation: int
    ) -> Principal | None:
        user = tx.user_by_id(user_id)
        if user is None:
            return None
        tags = tx.tags("user", user.id)
        if self._policies is not None:
            self._policies.remember(tx, "user", user.id, user.arn, user.boundary_arn, generation)
        return Principal(
            arn=user.arn,
            principal_id=user.id,
            access_key_id=access_key_id,
            kind=IAM_USER,
            name=user.name,
            identity_arn=user.arn,
            tags=MappingProxyType(dict(tags)),
            tenant=self._tenant(tags),
        )

    def _tenant(self, tags: Sequence[tuple[str, str]]) -> str | None:
        wanted = self._tenant_tag_key.lower()
        return next((v for k, v in tags if k.lower() == wanted), None)

    def _session_principal(
        self, tx: IdentityTransaction, session: SessionRecord, generation: int
    ) -> Principal | None:
        if session.owner_kind == "root":
            return Principal(
                arn=session.owner_id,
                principal_id=session.owner_id.split(":")[4],
                access_key_id=session.access_key_id,
                kind=ROOT,
            )
        if session.owner_kind == "user":
            return self._user_principal(tx, session.owner_id, session.access_key_id, generation)
        role = tx.role_by_id(session.owner_id)
        if role is None or session.issued_at is None or session.expires_at is None:
            return None
        role_tags = tx.tags("role", role.id)
        if self._policies is not None:
            self._policies.remember(tx, "role", role.id, role.arn, role.boundary_arn, generation)
        # Session tags override the role's tags with the same key (compared case-insensitively).
        overridden = {k.lower() for k, _ in session.tags}
        tags = [(k, v) for k, v in role_tags if k.lower() not in overridden] + list(session.tags)
        arn_prefix = role.arn.split(":role/", 1)[0].replace(":iam::", ":sts::")
        return Principal(
            arn=f"{arn_prefix}:assumed-role/{role.name}/{session.session_name}",
            principal_id=f"{role.id}:{session.session_name}",
            access_key_id=session.access_key_id,
            kind=ASSUMED_ROLE,
            name=session.session_name,
            identity_arn=role.arn,
            tags=MappingProxyType(dict(tags)),
            tenant=self._tenant(tags),
            session=SessionInfo(
                role_arn=role.arn,
                role_name=role.name,
                session_name=session.session_name,
                issued_at=session.issued_at,
                expires_at=session.expires_at,
                tags=MappingProxyType(dict(session.tags)),
                transitive_tag_keys=frozenset(session.transitive_tag_keys),
                source_identity=session.source_identity,
                policies=session.policies,
                has_session_policies=bool(session.policies),
            ),
        )

    def secret_access_key(self, access_key_id: str) -> str | None:
        """The secret of an active key or a stored session; None for keys this server did
        not issue (an expired session still answers, so the edge can say it expired)."""
        resolved = self._resolve(access_key_id)
        return None if resolved is None else resolved.secret

    def principal_arn(self, access_key_id: str) -> str | None:
        resolved = self._resolve(access_key_id)
        return None if resolved is None else resolved.principal_arn

    def principal(
        self, access_key_id: str, session_token: str | None, partition: str
    ) -> Principal | None:
        """The principal behind a verified key (the edge's PrincipalLookup).

        None for an unknown or inactive key, a session key without its token or with a
        wrong one, or a token sent with a long-term key; ExpiredTokenException for an
        expired session.
        """
        resolved = self._resolve(access_key_id)
        if resolved is None:
            return None
        if resolved.token_hash is not None:
            if session_token is None or not hmac.compare_digest(
                session_token_hash(session_token), resolved.token_hash
            ):
                return None
            if resolved.expires_at is not None and self._clock.now() >= resolved.expires_at:
                raise ExpiredTokenException("The security token included in the request is expired")
            return resolved.principal
        if session_token is not None:
            return None
        if resolved.principal is None:
            if not resolved.principal_arn.endswith(":root"):
                return None
            account = resolved.principal_arn.split(":")[4]
            return root_principal(partition, account, access_key_id)
        self._note_use(access_key_id)
        return resolved.principal

    def _note_use(self, access_key_id: str) -> None:
        """Record a user key's last use, at most once an hour per key and process."""
        if self._identities is None:
            return
        now = time.monotonic()
        if now - self._last_recorded.get(access_key_id, -LAST_USED_INTERVAL) < LAST_USED_INTERVAL:
            return
        self._last_recorded[access_key_id] = now
        self._identities.record_key_use(access_key_id, self._clock.now())

    def forget_cached(self) -> None:
        self._cache.clear()

    def ensure_root_credentials(
        self, root_arn: str, wanted: IssuedCredentials | None
    ) -> IssuedCredentials:
        """Make ``wanted`` the root's only key, or keep (or create) the one it has."""
        existing = self._store.for_principal(root_arn)
        if wanted is None and existing:
            key = existing[0]
            secret = self._keyring.unwrap_secret(
                key.wrapped_secret, ACCESS_KEY_SECRET_LABEL, key.access_key_id.encode()
            ).decode()
            return IssuedCredentials(key.access_key_id, secret)
        issued = wanted or IssuedCredentials(new_access_key_id(), new_secret_access_key())
        if any(k.access_key_id == issued.access_key_id for k in existing) and len(existing) == 1:
            current = self.secret_access_key(issued.access_key_id)
            if current is not None and secrets.compare_digest(current, issued.secret_access_key):
                return issued
        self._store.delete_for_principal(root_arn)
        self._store.put(
            StoredAccessKey(
                access_key_id=issued.access_key_id,
                principal_arn=root_arn,
                status="Active",
                created_at=self._clock.now(),
                wrapped_secret=self._keyring.wrap_secret(
                    issued.secret_access_key.encode(),
                    ACCESS_KEY_SECRET_LABEL,
                    issued.access_key_id.encode(),
                ),
            )
        )
        self._cache.clear()
        return issued
