"""KMS key lookup by id, ARN or alias, and the AWS-managed default keys created on first use."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta
from typing import TypeVar

from strongroom.clock import Clock
from strongroom.ids import Arn
from strongroom.kms.keyring import KeyRing
from strongroom.kms.ports import KeyDirectoryStore, KmsKeyRecord

SECRETS_MANAGER_DEFAULT_ALIAS = "alias/aws/secretsmanager"
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"
# The AWS-managed aliases a deployment knows about (ListAliases shows them before first use).
AWS_MANAGED_ALIASES = {
    SECRETS_MANAGER_DEFAULT_ALIAS: "Default key that protects my Secrets Manager data when no "
    "other key is defined",
}
ALIAS_NAME_PATTERN = re.compile(r"\Aalias/[a-zA-Z0-9/_-]+\Z")
# Key records and alias targets are cached this long by default. A change made in this
# process is seen at once (the cache entry is dropped); one made by another server process
# within this many seconds: disabling a key takes effect everywhere within a second. A
# server that is its database's only writer (embedded SQLite) may cache for longer.
CACHE_SECONDS = 1.0
# Above 10,000 tenants' keys (and their aliases): see identity.changes.CACHE_LIMIT.
_CACHE_LIMIT = 100_000
# A key id as KMS writes it (a UUID's canonical form; either case is accepted).
_KEY_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE | re.ASCII
)
# kms:ResourceAliases holds at most this many names (AWS's limit of aliases per key).
_MAX_ALIASES = 50

K = TypeVar("K")
V = TypeVar("V")


def _keep(cache: dict[K, tuple[V, float]], key: K, value: V, expires: float) -> None:
    """Cache ``value`` until ``expires``; a full cache starts over."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = (value, expires)


class KeyNotFound(Exception):
    """No KMS key answers to that reference in this account and region.

    ``message`` is KMS's own wording for the miss (it names what was asked for)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KeyDirectory:
    """Resolves key references the way KMS does: key id, key ARN, alias name, alias ARN."""

    def __init__(
        self,
        store: KeyDirectoryStore,
        keyring: KeyRing,
        clock: Clock,
        account_id: str,
        *,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._keyring = keyring
        self._clock = clock
        self._account_id = account_id
        self._lock = threading.Lock()
        self._records: dict[str, tuple[KmsKeyRecord, float]] = {}
        self._aliases: dict[tuple[str, str], tuple[str, float]] = {}
        # What authorization looks at on every call: a key's tags and its aliases' names.
        self._tags: dict[str, tuple[dict[str, str], float]] = {}
        self._names: dict[str, tuple[tuple[str, ...], float]] = {}

    @property
    def store(self) -> KeyDirectoryStore:
        return self._store

    @property
    def account_id(self) -> str:
        return self._account_id

    def key_arn(self, partition: str, region: str, key_id: str) -> str:
        return str(Arn(partition, "kms", region, self._account_id, f"key/{key_id}"))

    def alias_arn(self, partition: str, region: str, alias_name: str) -> str:
        return str(Arn(partition, "kms", region, self._account_id, alias_name))

    def resolve(
        self, region: str, partition: str, reference: str, *, allow_alias: bool = True
    ) -> KmsKeyRecord:
        """The key a reference names; AWS-managed aliases are created on first use.

        ``allow_alias=False`` for operations where KMS takes only a key id or key ARN."""
        alias_name, key_id = self._parse(region, partition, reference)
        if alias_name is not None:
            if not allow_alias:
                raise KeyNotFound(f"Invalid keyId '{reference}'")
            return self._by_alias(region, partition, alias_name)
        assert key_id is not None  # noqa: S101 - _parse returns exactly one of the two
        if not _KEY_ID.fullmatch(key_id):
            raise KeyNotFound(f"Invalid keyId '{reference}'")
        canonical = key_id.lower()
        record = self.load(canonical)
        if record is None or record.region != region:
            raise KeyNotFound(f"Key '{self.key_arn(partition, region, canonical)}' does not exist")
        return record

    def _parse(self, region: str, partition: str, reference: str) -> tuple[str | None, str | None]:
        if reference.startswith("alias/"):
            return reference, None
        if not reference.startswith("arn:"):
            return None, reference
        arn = Arn.parse(reference)
        if (
            arn is None
            or arn.service != "kms"
            or arn.region != region
            or arn.account != self._account_id
            or arn.partition != partition
        ):
            raise KeyNotFound(f"Invalid arn {reference}")
        if arn.resource.startswith("alias/"):
            return arn.resource, None
        if arn.resource.startswith("key/"):
            return None, arn.resource[len("key/") :]
        raise KeyNotFound(f"Invalid arn {reference}")

    def load(self, key_id: str) -> KmsKeyRecord | None:
        """A key record by canonical id, from the cache if it is fresh."""
        now = time.monotonic()
        hit = self._records.get(key_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        # The tags and alias names that authorizing a call on the key looks at come in
        # the same read: a key not cached costs one read transaction, not three.
        found = self._store.key_for_authorization(key_id, _MAX_ALIASES)
        if found is None:
            self._records.pop(key_id, None)
            return None
        record, tags, names = found
        self._remember(record, now)
        _keep(self._tags, key_id, dict(tags), now + self._cache_seconds)
        _keep(self._names, key_id, tuple(names), now + self._cache_seconds)
        return record

    def _remember(self, record: KmsKeyRecord, now: float) -> None:
        _keep(self._records, record.key_id, record, now + self._cache_seconds)

    def invalidate(self, key_id: str) -> None:
        """Drop a key from the cache after this process changed it."""
        self._records.pop(key_id, None)
        self._tags.pop(key_id, None)
        self._names.pop(key_id, None)

    def invalidate_alias(self, region: str, alias_name: str) -> None:
        target = self._aliases.pop((region, alias_name), None)
        if target is not None:
            self._names.pop(target[0], None)

    def tags(self, key_id: str) -> dict[str, str]:
        """A key's tags (cached like its record)."""
        now = time.monotonic()
        hit = self._tags.get(key_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        tags = dict(self._store.key_tags(key_id))
        _keep(self._tags, key_id, tags, now + self._cache_seconds)
        return tags

    def alias_names(self, record: KmsKeyRecord) -> tuple[str, ...]:
        """The names of the aliases that point at a key (cached like its record)."""
        now = time.monotonic()
        hit = self._names.get(record.key_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        names = tuple(
            a.alias_name
            for a in self._store.list_aliases(record.region, record.key_id, None, _MAX_ALIASES)
        )
        _keep(self._names, record.key_id, names, now + self._cache_seconds)
        return names

    def _by_alias(self, region: str, partition: str, alias_name: str) -> KmsKeyRecord:
        now = time.monotonic()
        target = self._aliases.get((region, alias_name))
        if target is not None and target[1] > now:
            found = self.load(target[0])
            if found is not None:
                return found
        record = self._store.key_by_alias(region, alias_name)
        if record is None:
            if alias_name not in AWS_MANAGED_ALIASES:
                raise KeyNotFound(
                    f"Alias '{self.alias_arn(partition, region, alias_name)}' is not found."
                )
            record = self._create_aws_managed_key(region, partition, alias_name)
        _keep(self._aliases, (region, alias_name), record.key_id, now + self._cache_seconds)
        self._remember(record, now)
        return record

    def _create_aws_managed_key(self, region: str, partition: str, alias_name: str) -> KmsKeyRecord:
        with self._lock:
            existing = self._store.key_by_alias(region, alias_name)
            if existing is not None:
                return existing
            key_id = str(uuid.uuid4())
            # Material first: a crash between the two writes leaves only unreachable material.
            self._keyring.create_key_material(key_id)
            now = self._clock.now()
            record = KmsKeyRecord(
                key_id=key_id,
                arn=self.key_arn(partition, region, key_id),
                region=region,
                created_at=now,
                key_manager="AWS",
                key_state="Enabled",
                description=AWS_MANAGED_ALIASES[alias_name],
                # AWS rotates AWS-managed keys every year, always.
                rotation_period_days=365,
                next_rotation_date=now + timedelta(days=365),
            )
            return self._store.insert_key(record, alias_name=alias_name)

    def forget_cached(self) -> None:
        self._records.clear()
        self._aliases.clear()
        self._tags.clear()
        self._names.clear()
