"""KMS key lookup by id, ARN or alias, and the AWS-managed default keys created on first use."""

from __future__ import annotations

import threading
import uuid

from strongroom.clock import Clock
from strongroom.ids import Arn
from strongroom.kms.keyring import KeyRing
from strongroom.kms.ports import KeyDirectoryStore, KmsKeyRecord

SECRETS_MANAGER_DEFAULT_ALIAS = "alias/aws/secretsmanager"


class KeyNotFound(Exception):
    """No KMS key answers to that reference in this account and region."""


class KeyDirectory:
    """Resolves key references the way KMS does: key id, key ARN, alias name, alias ARN."""

    def __init__(
        self, store: KeyDirectoryStore, keyring: KeyRing, clock: Clock, account_id: str
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._account_id = account_id
        self._lock = threading.Lock()
        self._alias_cache: dict[tuple[str, str], KmsKeyRecord] = {}

    def resolve(self, region: str, partition: str, reference: str) -> KmsKeyRecord:
        """The key a reference names; AWS-managed aliases are created on first use."""
        alias_name: str | None = None
        key_id: str | None = None
        if reference.startswith("alias/"):
            alias_name = reference
        elif reference.startswith("arn:"):
            arn = Arn.parse(reference)
            if arn is None or arn.service != "kms" or arn.region != region:
                raise KeyNotFound
            if arn.account != self._account_id or arn.partition != partition:
                raise KeyNotFound
            if arn.resource.startswith("alias/"):
                alias_name = arn.resource
            elif arn.resource.startswith("key/"):
                key_id = arn.resource[len("key/") :]
            else:
                raise KeyNotFound
        else:
            key_id = reference
        if alias_name is not None:
            return self._by_alias(region, partition, alias_name)
        assert key_id is not None  # noqa: S101 - one of the two branches above set it
        try:
            canonical = str(uuid.UUID(key_id))
        except ValueError as exc:
            raise KeyNotFound from exc
        if canonical != key_id.lower():
            raise KeyNotFound
        record = self._store.key(canonical)
        if record is None or record.region != region:
            raise KeyNotFound
        return record

    def _by_alias(self, region: str, partition: str, alias_name: str) -> KmsKeyRecord:
        cached = self._alias_cache.get((region, alias_name))
        if cached is not None:
            return cached
        target = self._store.alias_target(region, alias_name)
        if target is None:
            if alias_name != SECRETS_MANAGER_DEFAULT_ALIAS:
                raise KeyNotFound
            record = self._create_aws_managed_key(region, partition, alias_name)
        else:
            found = self._store.key(target)
            if found is None:
                raise KeyNotFound
            record = found
        if record.key_manager == "AWS":
            # AWS-managed aliases never move, so they are safe to cache.
            self._alias_cache[(region, alias_name)] = record
        return record

    def _create_aws_managed_key(self, region: str, partition: str, alias_name: str) -> KmsKeyRecord:
        with self._lock:
            existing = self._store.alias_target(region, alias_name)
            if existing is not None:
                found = self._store.key(existing)
                if found is None:
                    raise KeyNotFound
                return found
            key_id = str(uuid.uuid4())
            # Material first: a crash between the two writes leaves only unreachable material.
            self._keyring.create_key_material(key_id)
            record = KmsKeyRecord(
                key_id=key_id,
                arn=str(Arn(partition, "kms", region, self._account_id, f"key/{key_id}")),
                region=region,
                created_at=self._clock.now(),
                key_manager="AWS",
                key_state="Enabled",
                description="Default key that protects my Secrets Manager data when no other "
                "key is defined",
            )
            return self._store.insert_key_with_alias(record, alias_name)

    def forget_cached(self) -> None:
        self._alias_cache.clear()
