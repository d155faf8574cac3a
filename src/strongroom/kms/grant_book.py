"""Which grants let the caller use a key: grantee matching, constraints, grant tokens, a cache."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping, Sequence

from strongroom.context import Principal
from strongroom.crypto.key_wrapping import UnwrapFailed
from strongroom.errors import InvalidGrantTokenException
from strongroom.kms.keyring import KeyRing
from strongroom.kms.ports import GrantRecord, KeyDirectoryStore

# GrantOperation values Strongroom serves (Encapsulate/Decapsulate are not served).
GRANT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "Sign",
        "Verify",
        "GetPublicKey",
        "CreateGrant",
        "RetireGrant",
        "DescribeKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    }
)
# Operations that take an encryption context; a grant's constraints apply only to these.
CONTEXT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
# A grant with constraints may also carry these; the constraints do not apply to them
# (CreateGrant checks the new grant's constraints instead).
CONSTRAINABLE_OPERATIONS = CONTEXT_OPERATIONS | {"CreateGrant", "RetireGrant", "DescribeKey"}

GRANT_ID_PATTERN = re.compile(r"\A[0-9a-f]{64}\Z")
_TOKEN_LABEL = b"strongroom/grant-token/v1"
# Grants of one (key, caller) are cached this long; a grant token skips the cache, so a
# new grant is usable at once by whoever holds its token (AWS's eventual consistency rule).
CACHE_SECONDS = 1.0
# Above 10,000 tenants' (key, caller) pairs: see identity.changes.CACHE_LIMIT.
_CACHE_LIMIT = 100_000


def grantees_of(principal: Principal) -> tuple[str, ...]:
    """The grantee ARNs that name this caller: its own ARN, and its role's for a session."""
    names = [principal.arn]
    if principal.session is not None and principal.session.role_arn not in names:
        names.append(principal.session.role_arn)
    if principal.identity_arn and principal.identity_arn not in names:
        names.append(principal.identity_arn)
    return tuple(names)


def context_satisfies(grant: GrantRecord, context: Mapping[str, str]) -> bool:
    """Do the grant's encryption context constraints hold for this request's context?"""
    if grant.encryption_context_equals is not None:
        return dict(context) == dict(grant.encryption_context_equals)
    if grant.encryption_context_subset is not None:
        return all(context.get(k) == v for k, v in grant.encryption_context_subset.items())
    return True


def grant_allows(grant: GrantRecord, operation: str, context: Mapping[str, str]) -> bool:
    """Does this grant allow ``operation`` with this encryption context?"""
    if operation not in grant.operations:
        return False
    if operation not in CONTEXT_OPERATIONS:
        return True
    return context_satisfies(grant, context)


class GrantBook:
    """Grants as authorization sees them: the caller's grants on a key, and grant tokens."""

    def __init__(
        self, store: KeyDirectoryStore, keyring: KeyRing, *, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self._store = store
        self._keyring = keyring
        # Grant changes made in this process drop entries at once (``forget``); the
        # lifetime bounds how long another server's change can go unseen.
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[list[GrantRecord], float]] = {}

    # -- tokens -------------------------------------------------------------------------

    def token_for(self, grant_id: str) -> str:
        """A new grant token for a grant: its id sealed under the domain key, so only this
        server issues tokens; every call makes a different token for the same grant."""
        sealed = self._keyring.wrap_secret(bytes.fromhex(grant_id), _TOKEN_LABEL, b"")
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def grant_id_of(self, token: str) -> str:
        """The grant id a token names; InvalidGrantTokenException if it is not one of ours."""
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return self._keyring.unwrap_secret(sealed, _TOKEN_LABEL, b"").hex()
        except (binascii.Error, ValueError, UnwrapFailed) as exc:
            raise InvalidGrantTokenException("The grant token is not valid.") from exc

    def grant_of(self, token: str) -> GrantRecord:
        """The live grant a token names (from storage, never from a cache)."""
        grant = self._store.grant(self.grant_id_of(token))
        if grant is None:
            raise InvalidGrantTokenException("The grant token is not valid.")
        return grant

    def granted_by_tokens(self, tokens: Sequence[str] | None) -> list[GrantRecord]:
        """The grants the tokens of a request name; every token must name a live grant."""
        return [self.grant_of(token) for token in tokens or ()]

    # -- the caller's grants ------------------------------------------------------------

    def caller_grants(
        self, principal: Principal, key_id: str, tokens: Sequence[str] | None = None
    ) -> list[GrantRecord]:
        """Grants on ``key_id`` whose grantee is the caller, including those named by tokens."""
        grantees = grantees_of(principal)
        slot = (key_id, grantees)
        now = time.monotonic()
        hit = self._cache.get(slot)
        if hit is not None and hit[1] > now:
            grants = hit[0]
        else:
            grants = self._store.grants_for(key_id, grantees)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[slot] = (grants, now + self._cache_seconds)
        from_tokens = [
            g
            for g in self.granted_by_tokens(tokens)
            if g.key_id == key_id
            and g.grantee_principal in grantees
            and all(g.grant_id != known.grant_id for known in grants)
        ]
        return grants + from_tokens

    def forget(self, key_id: str) -> None:
        """Drop a key's cached grants after this process changed them."""
        for slot in [s for s in self._cache if s[0] == key_id]:
            self._cache.pop(slot, None)

    def forget_all(self) -> None:
        self._cache.clear()
