"""The Secrets Manager service: one method per operation, AWS semantics, values always encrypted."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from strongroom.authorization import AccessRequest, Authorizer, ConditionValue
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.crypto import aead, envelope
from strongroom.errors import (
    AccessDeniedException,
    ClientError,
    DecryptionFailure,
    EncryptionFailure,
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
    NotFoundException,
    ResourceExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.ids import (
    Arn,
    InvalidSecretName,
    new_secret_arn,
    tenant_of_secret_name,
    validate_secret_name,
)
from strongroom.kms.key_directory import SECRETS_MANAGER_DEFAULT_ALIAS
from strongroom.secretsmanager import listing, random_password, resource_policy, staging
from strongroom.secretsmanager.access import (
    DEFAULT_TENANT_TAG_KEY,
    SecretAccess,
    flag,
    request_tag_keys,
    secret_id_key,
)
from strongroom.secretsmanager.ports import (
    DataKeys,
    DuplicateName,
    NewVersion,
    SecretHead,
    SecretLimits,
    SecretReader,
    SecretRecord,
    SecretStore,
    SecretsTransaction,
    StaleRecord,
    TenantKeys,
    ValueKind,
    VersionRecord,
)
from strongroom.secretsmanager.shapes import (
    APIErrorType,
    BatchGetSecretValueRequest,
    BatchGetSecretValueResult,
    CreateSecretRequest,
    CreateSecretResult,
    DeleteSecretRequest,
    DeleteSecretResult,
    DescribeSecretResult,
    Empty,
    Filter,
    GetRandomPasswordRequest,
    GetRandomPasswordResult,
    GetResourcePolicyResult,
    GetSecretValueRequest,
    ListResourcePoliciesRequest,
    ListResourcePoliciesResult,
    ListSecretsRequest,
    ListSecretsResult,
    ListSecretVersionIdsRequest,
    ListSecretVersionIdsResult,
    PutResourcePolicyRequest,
    PutSecretValueRequest,
    PutSecretValueResult,
    ResourcePolicyRequest,
    ResourcePolicySummary,
    SecretIdRequest,
    SecretListEntry,
    SecretRef,
    SecretValueEntry,
    SecretVersionsListEntry,
    Tag,
    TagResourceRequest,
    UntagResourceRequest,
    UpdateSecretRequest,
    UpdateSecretResult,
    UpdateSecretVersionStageRequest,
    ValidateResourcePolicyRequest,
    ValidateResourcePolicyResult,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TAGS_PER_SECRET = 50
MAX_VERSIONS_KEPT = 100
VERSION_GRACE = timedelta(hours=24)
MIN_RECOVERY_DAYS, MAX_RECOVERY_DAYS, DEFAULT_RECOVERY_DAYS = 7, 30, 30
MAX_WRITE_ATTEMPTS = 8
BATCH_DEFAULT_RESULTS = 20
LIST_DEFAULT_RESULTS = 100
# Authorization-aware listing decides per secret; one page looks at no more than this many
# secrets (the page may come back short, with a NextToken that continues the scan).
MAX_LISTING_DECISIONS = 1000

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


@dataclass(frozen=True, slots=True)
class NewValue:
    """A value a request wants stored, under the version id it will get."""

    version_id: str
    kind: ValueKind
    plaintext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SealedValue:
    """A NewValue encrypted and ready to store."""

    version_id: str
    kind: ValueKind
    encrypted_data_key: bytes
    encrypted_value: bytes
    kms_key_arn: str


def _new_value(
    client_request_token: str | None, secret_string: str | None, secret_binary: bytes | None
) -> NewValue:
    """Exactly one of SecretString and SecretBinary, under the token (or a new version id)."""
    kind, plaintext = _value_kind_and_bytes(secret_string, secret_binary)
    version_id = client_request_token or str(uuid.uuid4())
    _check_version_id(version_id, "clientRequestToken")
    return NewValue(version_id, kind, plaintext)


def _value_kind_and_bytes(
    secret_string: str | None, secret_binary: bytes | None
) -> tuple[ValueKind, bytes]:
    if secret_string is not None and secret_binary is not None:
        raise InvalidParameterException(
            "You can't specify both a binary secret value and a string value in the same secret."
        )
    if secret_binary is not None:
        return "binary", secret_binary
    if secret_string is not None:
        return "string", secret_string.encode("utf-8")
    raise InvalidRequestException("You must provide either SecretString or SecretBinary.")


def _tag_pairs(tags: tuple[Tag, ...]) -> list[tuple[str, str]]:
    """Validated (key, value) pairs: keys present, unique, and not in the reserved "aws:" space."""
    pairs: list[tuple[str, str]] = []
    for tag in tags:
        if tag.key is None or tag.value is None:
            raise InvalidParameterException("Every tag needs a Key and a Value.")
        pairs.append((tag.key, tag.value))
    _check_tag_keys([k for k, _ in pairs])
    return pairs


def _check_tag_keys(keys: list[str]) -> None:
    if len(set(keys)) != len(keys):
        raise InvalidParameterException("You can't specify the same tag key more than once.")
    for key in keys:
        if key.lower().startswith("aws:"):
            raise InvalidParameterException("Tag keys starting with 'aws:' are reserved.")


def _check_version_id(value: str, member: str) -> None:
    # AWS version ids are UUIDs in practice, but ClientRequestToken may be any 32-64 char
    # string; refuse only characters that could never appear in a token we echo back.
    if not value.isascii() or not value.isprintable():
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            "Member must contain only printable ASCII characters"
        )


def _choose_version(
    stages: Mapping[str, str], version_id: str | None, version_stage: str | None
) -> str:
    """GetSecretValue's rules for VersionId and VersionStage (default AWSCURRENT)."""
    if version_id is None:
        stage = version_stage or staging.AWSCURRENT
        chosen = stages.get(stage)
        if chosen is None:
            raise ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for staging label: {stage}"
            )
        return chosen
    if version_stage is not None and stages.get(version_stage) != version_id:
        raise ResourceNotFoundException(
            "Secrets Manager can't find the specified secret value for VersionId: "
            f"{version_id} and staging label: {version_stage}"
        )
    return version_id


class SecretsManagerService:
    """AWS Secrets Manager operations (snake_case AWS names) over a transactional store."""

    def __init__(
        self,
        store: SecretStore,
        kms: DataKeys,
        clock: Clock,
        authorizer: Authorizer,
        *,
        tenant_tag_key: str = DEFAULT_TENANT_TAG_KEY,
        limits: SecretLimits | None = None,
        tenant_keys: TenantKeys | None = None,
    ) -> None:
        self._store = store
        self._kms = kms
        self._clock = clock
        self._access = SecretAccess(authorizer, tenant_tag_key)
        # Tenants' count quotas (None: no limits).
        self._limits = limits
        # Tenants' own keys: a secret under /customer/{id}/ is encrypted under it by default.
        self._tenant_keys = tenant_keys
        self._tenant_tag_key = tenant_tag_key

    # -- plumbing -------------------------------------------------------------------

    def _write(self, operation: Callable[[SecretsTransaction], T]) -> T:
        """Run ``operation`` in a write transaction, retrying when a record went stale."""
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                with self._store.transaction(write=True) as tx:
                    return operation(tx)
            except StaleRecord:
                # Jittered backoff so that racing writers spread out.
                time.sleep(secrets.randbelow(1000) / 1_000_000 * (2**attempt))
        raise InvalidRequestException(
            "The secret is being changed by another request; retry the operation."
        )

    @contextmanager
    def _read(self) -> Iterator[SecretsTransaction]:
        with self._store.transaction(write=False) as tx:
            yield tx

    def _lookup_keys(self, ctx: CallContext, secret_id: str) -> tuple[str | None, str | None]:
        """(arn to try first, name to try next) for a SecretId: a name, a full ARN, or a
        partial ARN without the random suffix. An ARN of another region, account or
        partition names nothing here."""
        if not secret_id.startswith("arn:"):
            return None, secret_id
        arn = Arn.parse(secret_id)
        if (
            arn is None
            or arn.service != "secretsmanager"
            or arn.region != ctx.region
            or arn.account != ctx.account_id
            or arn.partition != ctx.partition
            or not arn.resource.startswith("secret:")
        ):
            raise ResourceNotFoundException(NOT_FOUND)
        return secret_id, arn.resource[len("secret:") :]

    def _resolve(self, tx: SecretsTransaction, ctx: CallContext, secret_id: str) -> SecretRecord:
        arn, name = self._lookup_keys(ctx, secret_id)
        found = tx.secret_by_arn(arn) if arn is not None else None
        if found is None and name is not None:
            found = tx.secret_by_name(ctx.region, name)
        if found is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return found

    def _head(self, reader: SecretReader, ctx: CallContext, secret_id: str) -> SecretHead:
        arn, name = self._lookup_keys(ctx, secret_id)
        found = reader.secret_head(ctx.region, arn=arn) if arn is not None else None
        if found is None and name is not None:
            found = reader.secret_head(ctx.region, name=name)
        if found is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return found

    @staticmethod
    def _require_live(secret: SecretRecord | SecretHead) -> None:
        if secret.deleted_at is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)

    def _on_secret(
        self,
        operation: str,
        secret: SecretRecord | SecretHead,
        context: Mapping[str, ConditionValue],
        *,
        tag_keys_written: frozenset[str] = frozenset(),
        request_tenants: frozenset[str] = frozenset(),
    ) -> AccessRequest:
        return self._access.on_secret(
            operation,
            arn=secret.arn,
            name=secret.name,
            tags=secret.tags,
            resource_policy=secret.resource_policy,
            context=context,
            tag_keys_written=tag_keys_written,
            request_tenants=request_tenants,
        )

    def _authorized(
        self, ctx: CallContext, secret_id: str, access: Callable[[SecretRecord], AccessRequest]
    ) -> SecretRecord:
        """Resolve the secret (ResourceNotFoundException comes first, as on AWS), then
        authorize; outside any write transaction, so no lock is held while deciding."""
        with self._read() as tx:
            secret = self._resolve(tx, ctx, secret_id)
        self._access.authorize(ctx, access(secret))
        return secret

    def _recheck(
        self,
        ctx: CallContext,
        seen: SecretRecord,
        current: SecretRecord,
        access: Callable[[SecretRecord], AccessRequest],
    ) -> None:
        """Inside the write: if the secret changed what authorization looks at since it was
        authorized (re-created, retagged, new policy), ask again before changing anything."""
        if current.id == seen.id and current.row_version == seen.row_version:
            return
        if (current.arn, current.tags, current.resource_policy) != (
            seen.arn,
            seen.tags,
            seen.resource_policy,
        ):
            self._access.authorize(ctx, access(current))

    @staticmethod
    def _encryption_context(
        secret: SecretRecord | SecretHead | tuple[str, str], version_id: str
    ) -> dict[str, str]:
        arn, name = secret if isinstance(secret, tuple) else (secret.arn, secret.name)
        context = {"SecretARN": arn, "SecretVersionId": version_id}
        tenant = tenant_of_secret_name(name)
        if tenant is not None:
            context["tenant_id"] = tenant
        return context

    def _seal(
        self,
        ctx: CallContext,
        arn: str,
        name: str,
        kms_key_id: str | None,
        value: NewValue,
    ) -> SealedValue:
        context = self._encryption_context((arn, name), value.version_id)
        try:
            data_key = self._kms.new_data_key(
                ctx, kms_key_id or SECRETS_MANAGER_DEFAULT_ALIAS, context
            )
        except AccessDeniedException as exc:  # as AWS: a KMS denial is not a key failure
            raise AccessDeniedException(f"Access to KMS is not allowed. {exc.message}") from exc
        except ClientError as exc:  # the key is missing, disabled, pending deletion, ...
            raise EncryptionFailure(
                f"Secrets Manager can't encrypt the secret value with the KMS key: {exc.message}"
            ) from exc
        try:
            sealed = envelope.seal_value(data_key.plaintext, value.plaintext, context)
        finally:
            data_key.plaintext.wipe()
        return SealedValue(
            value.version_id, value.kind, data_key.ciphertext_blob, sealed, data_key.key_arn
        )

    def _open(
        self, ctx: CallContext, secret: SecretRecord | SecretHead, version: VersionRecord
    ) -> bytes:
        context = self._encryption_context(secret, version.version_id)
        try:
            data_key = self._kms.open_data_key(ctx, version.encrypted_data_key, context)
        except AccessDeniedException as exc:
            raise AccessDeniedException(f"Access to KMS is not allowed. {exc.message}") from exc
        except ClientError as exc:  # the key is disabled, pending deletion, destroyed, ...
            detail = exc.message or "the ciphertext does not decrypt under it"
            raise DecryptionFailure(
                "Secrets Manager can't decrypt the protected secret text using the KMS key: "
                f"{detail}"
            ) from exc
        try:
            return envelope.open_value(data_key, version.encrypted_value, context)
        except aead.AuthenticationFailed as exc:
            raise DecryptionFailure(
                "Secrets Manager can't decrypt the protected secret text using the KMS key."
            ) from exc
        finally:
            data_key.wipe()

    def _same_value(
        self, ctx: CallContext, secret: SecretRecord, version: VersionRecord, value: NewValue
    ) -> bool:
        existing = self._open(ctx, secret, version)
        same_kind = version.value_kind == value.kind
        return hmac.compare_digest(existing, value.plaintext) and same_kind

    def _prune_versions(
        self, tx: SecretsTransaction, secret_id: int, now: datetime, keep: int = MAX_VERSIONS_KEPT
    ) -> None:
        """Keep at most ``keep`` (100) versions, never removing labelled ones or any under
        24 hours old."""
        versions = tx.versions(secret_id)
        excess = len(versions) - keep
        if excess <= 0:
            return
        labelled = set(tx.stages(secret_id).values())
        removable = sorted(
            (
                v
                for v in versions
                if v.version_id not in labelled and now - v.created_at >= VERSION_GRACE
            ),
            key=lambda v: v.created_at,
        )
        tx.delete_versions(secret_id, [v.version_id for v in removable[:excess]])

    def _is_retry(
        self, ctx: CallContext, tx: SecretsTransaction, secret: SecretRecord, value: NewValue
    ) -> bool:
        """True if this version exists with this value (a retried request: change nothing);
        the same ClientRequestToken with another value is ResourceExistsException."""
        existing = tx.version(secret.id, value.version_id)
        if existing is None:
            return False
        if not self._same_value(ctx, secret, existing, value):
            raise ResourceExistsException(
                "You can't modify an existing version, you can only create a new version."
            )
        return True

    def _insert_version(
        self,
        tx: SecretsTransaction,
        secret_id: int,
        sealed: SealedValue,
        labels: tuple[str, ...],
        now: datetime,
        tenant: str | None = None,
    ) -> None:
        """Store a new version, attach its labels (moving AWSCURRENT hands AWSPREVIOUS to
        the old current) and prune old unlabelled versions; refuse (rolling back) if the
        secret would keep more versions than its tenant's quota allows."""
        tx.insert_version(
            secret_id,
            NewVersion(
                version_id=sealed.version_id,
                created_at=now,
                kms_key_arn=sealed.kms_key_arn,
                value_kind=sealed.kind,
                encrypted_data_key=sealed.encrypted_data_key,
                encrypted_value=sealed.encrypted_value,
            ),
        )
        stages = tx.stages(secret_id)
        changes = staging.attach(stages, sealed.version_id, labels)
        staging.apply(stages, changes)
        for label, target in changes.items():
            tx.set_stage(secret_id, label, target)
        limit = self._limits.max_secret_versions(tenant) if tenant and self._limits else None
        if limit is None:
            self._prune_versions(tx, secret_id, now)
            return
        self._prune_versions(tx, secret_id, now, min(limit, MAX_VERSIONS_KEPT))
        if tx.version_count(secret_id) > limit:
            raise LimitExceededException(
                f"The secret would have more than {limit} versions, the limit for tenant "
                f"{tenant} (quota max_secret_versions); versions under 24 hours old or with "
                "a staging label are kept."
            )

    def _resolve_kms_reference(self, ctx: CallContext, kms_key_id: str | None) -> str | None:
        if kms_key_id is None or kms_key_id == "":
            return None
        try:
            self._kms.check_data_key_key(ctx, kms_key_id)
        except NotFoundException as exc:
            raise ResourceNotFoundException(
                "Secrets Manager can't find the specified KMS key."
            ) from exc
        except ClientError as exc:
            raise InvalidParameterException(
                f"Secrets Manager can't use the specified KMS key: {exc.message}"
            ) from exc
        return kms_key_id

    # -- operations -----------------------------------------------------------------

    def create_secret(self, ctx: CallContext, request: CreateSecretRequest) -> CreateSecretResult:
        try:
            validate_secret_name(request.name)
        except InvalidSecretName as exc:
            raise ValidationException(str(exc)) from exc
        if request.add_replica_regions or request.cross_account_primary_arn:
            raise InvalidParameterException("Replication is not supported by this server.")
        if request.type is not None:
            raise InvalidParameterException("The Type parameter is not supported by this server.")
        tags = _tag_pairs(request.tags or ())
        if len(tags) > MAX_TAGS_PER_SECRET:
            raise LimitExceededException(f"A secret can have at most {MAX_TAGS_PER_SECRET} tags.")
        arn = new_secret_arn(ctx.partition, ctx.region, ctx.account_id, request.name)
        # AWS evaluates CreateSecret against the ARN the new secret gets, before writing.
        context: dict[str, ConditionValue] = {"secretsmanager:Name": request.name}
        if request.description is not None:
            context["secretsmanager:Description"] = request.description
        if request.kms_key_id is not None:
            context["secretsmanager:KmsKeyId"] = request.kms_key_id
        context.update(request_tag_keys(tags))
        self._access.authorize(
            ctx,
            self._access.on_secret(
                "CreateSecret",
                arn=arn,
                name=request.name,
                tags=tags,
                resource_policy=None,
                context=context,
                tag_keys_written=frozenset(k for k, _ in tags),
                request_tenants=self._access.tenants_named(tags),
            ),
        )
        kms_reference = request.kms_key_id
        named_tenant = tenant_of_secret_name(request.name)
        tenant_key = None
        if named_tenant is not None and self._tenant_keys is not None:
            tenant_key = self._tenant_keys.key_for(named_tenant)
        if tenant_key is not None:
            # A tenant's secrets carry its tag (added by the server, so the caller is not
            # writing the tenant tag) and default to its key.
            tags = self._with_tenant_tag(tags, str(named_tenant))
            kms_reference = kms_reference or tenant_key
        kms_key_id = self._resolve_kms_reference(ctx, kms_reference)
        value: NewValue | None = None
        sealed: SealedValue | None = None
        if request.secret_string is not None or request.secret_binary is not None:
            value = _new_value(
                request.client_request_token, request.secret_string, request.secret_binary
            )
            sealed = self._seal(ctx, arn, request.name, kms_key_id, value)

        tenant = tenant_of_secret_name(request.name)
        max_secrets = self._limits.max_secrets(tenant) if tenant and self._limits else None

        def run(tx: SecretsTransaction) -> CreateSecretResult:
            now = self._clock.now()
            existing = tx.secret_by_name(ctx.region, request.name)
            if existing is not None:
                return self._create_retry(ctx, tx, existing, value)
            if max_secrets is not None and tx.tenant_secret_count(str(tenant)) >= max_secrets:
                raise LimitExceededException(
                    f"Tenant {tenant} already has {max_secrets} secrets, the limit of its "
                    "quota (max_secrets); secrets scheduled for deletion count until deleted."
                )
            try:
                secret = tx.insert_secret(
                    arn=arn,
                    name=request.name,
                    region=ctx.region,
                    created_at=now,
                    description=request.description,
                    kms_key_id=kms_key_id,
                    tenant=tenant,
                    tags=tags,
                )
            except DuplicateName as exc:
                raise StaleRecord from exc
            if sealed is None:
                return CreateSecretResult(arn=secret.arn, name=secret.name, version_id=None)
            self._insert_version(tx, secret.id, sealed, (staging.AWSCURRENT,), now, tenant)
            return CreateSecretResult(secret.arn, secret.name, sealed.version_id)

        return self._write(run)

    def _with_tenant_tag(self, tags: list[tuple[str, str]], tenant: str) -> list[tuple[str, str]]:
        given = [v for k, v in tags if k.lower() == self._tenant_tag_key.lower()]
        if any(v != tenant for v in given):
            raise InvalidParameterException(
                f"A secret under /customer/{tenant}/ must have tag "
                f"{self._tenant_tag_key}={tenant}, if it has the tag at all."
            )
        if given:
            return tags
        if len(tags) >= MAX_TAGS_PER_SECRET:
            raise LimitExceededException(
                f"A tenant's secret can have at most {MAX_TAGS_PER_SECRET - 1} tags of its own."
            )
        return [*tags, (self._tenant_tag_key, tenant)]

    def _create_retry(
        self,
        ctx: CallContext,
        tx: SecretsTransaction,
        existing: SecretRecord,
        value: NewValue | None,
    ) -> CreateSecretResult:
        """A CreateSecret for a name that exists succeeds only as a retry of the same call."""
        if existing.deleted_at is not None:
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already "
                "scheduled for deletion."
            )
        if value is not None and self._is_retry(ctx, tx, existing, value):
            return CreateSecretResult(existing.arn, existing.name, value.version_id)
        raise ResourceExistsException(
            f"The operation failed because the secret {existing.name} already exists."
        )

    def get_secret_value(
        self, ctx: CallContext, request: GetSecretValueRequest
    ) -> SecretValueEntry:
        return self._read_value(ctx, request.secret_id, request.version_id, request.version_stage)

    def _read_value(
        self,
        ctx: CallContext,
        secret_id: str,
        version_id: str | None = None,
        version_stage: str | None = None,
    ) -> SecretValueEntry:
        """The hot path: one statement for the secret, its labels and tags, one for the
        version."""
        context = secret_id_key(secret_id)
        if version_id is not None:
            context["secretsmanager:VersionId"] = version_id
        if version_stage is not None:
            context["secretsmanager:VersionStage"] = version_stage
        with self._store.reader() as reader:
            for _ in range(3):
                secret = self._head(reader, ctx, secret_id)
                self._access.authorize(ctx, self._on_secret("GetSecretValue", secret, context))
                self._require_live(secret)
                chosen = _choose_version(secret.stages, version_id, version_stage)
                version = reader.version_of(secret.id, chosen)
                if version is not None:
                    break
                if version_id is not None:
                    raise ResourceNotFoundException(
                        "Secrets Manager can't find the specified secret value for VersionId: "
                        f"{version_id}"
                    )
                # The label moved and its old version was pruned between the two reads.
            else:
                raise ResourceNotFoundException(NOT_FOUND)
        plaintext = self._open(ctx, secret, version)
        labels = staging.labels_by_version(secret.stages).get(chosen, ())
        self._note_access(secret, version)
        if version.value_kind == "string":
            text: str | None = plaintext.decode("utf-8")
            binary: bytes | None = None
        else:
            text, binary = None, plaintext
        return SecretValueEntry(
            arn=secret.arn,
            name=secret.name,
            version_id=chosen,
            version_stages=labels,
            created_date=version.created_at,
            secret_string=text,
            secret_binary=binary,
        )

    def _note_access(self, secret: SecretHead, version: VersionRecord) -> None:
        """LastAccessedDate is a day, as on AWS; so this writes at most once a day a secret."""
        today = self._clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        if secret.last_accessed_at == today and version.last_accessed_at == today:
            return
        with self._store.transaction(write=True) as tx:
            tx.record_access(secret.id, version.version_id, today)

    def batch_get_secret_value(
        self, ctx: CallContext, request: BatchGetSecretValueRequest
    ) -> BatchGetSecretValueResult:
        if (request.secret_id_list is None) == (request.filters is None):
            raise InvalidParameterException("Specify either SecretIdList or Filters, but not both.")
        next_token: str | None = None
        if request.secret_id_list is not None:
            if request.max_results is not None or request.next_token is not None:
                raise InvalidParameterException(
                    "MaxResults and NextToken can be used only with Filters."
                )
            self._access.authorize_account_action(ctx, "BatchGetSecretValue")
            targets = [(secret_id, secret_id) for secret_id in request.secret_id_list]
        else:
            filters = request.filters or ()
            listing.validate_filters(filters)
            # With Filters the call lists too; only secrets the caller may read come back.
            self._access.authorize_account_action(ctx, "BatchGetSecretValue")
            self._access.authorize_account_action(ctx, "ListSecrets")
            with self._read() as tx:
                page, next_token = self._page(
                    tx,
                    ctx,
                    filters,
                    include_deleted=False,
                    sort_by=None,
                    sort_order=None,
                    max_results=request.max_results or BATCH_DEFAULT_RESULTS,
                    token=request.next_token,
                    purpose="batch",
                    visible_to="GetSecretValue",
                )
            targets = [(s.name, s.arn) for s in page]
        values: list[SecretValueEntry] = []
        errors: list[APIErrorType] = []
        for reported_id, secret_id in targets:
            try:
                values.append(self._read_value(ctx, secret_id))
            except (
                ResourceNotFoundException,
                InvalidRequestException,
                DecryptionFailure,
                AccessDeniedException,
            ) as exc:
                # As on AWS, a secret the caller may not read is an entry in Errors.
                errors.append(APIErrorType(reported_id, exc.code, exc.message))
        return BatchGetSecretValueResult(tuple(values), tuple(errors), next_token)

    def put_secret_value(
        self, ctx: CallContext, request: PutSecretValueRequest
    ) -> PutSecretValueResult:
        value = _new_value(
            request.client_request_token, request.secret_string, request.secret_binary
        )
        labels = tuple(request.version_stages or (staging.AWSCURRENT,))
        if len(set(labels)) != len(labels):
            raise InvalidParameterException("VersionStages can't contain the same label twice.")

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("PutSecretValue", secret, secret_id_key(request.secret_id))

        secret = self._authorized(ctx, request.secret_id, access)
        self._require_live(secret)
        sealed = self._seal(ctx, secret.arn, secret.name, secret.kms_key_id, value)

        def run(tx: SecretsTransaction) -> PutSecretValueResult:
            current = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, secret, current, access)
            self._require_live(current)
            if current.arn != secret.arn:
                raise StaleRecord  # deleted and re-created under the same name meanwhile
            if self._is_retry(ctx, tx, current, value):
                labels_now = staging.labels_by_version(tx.stages(current.id)).get(
                    value.version_id, ()
                )
                return PutSecretValueResult(current.arn, current.name, value.version_id, labels_now)
            now = self._clock.now()
            tx.bump(current, changed_at=now)
            self._insert_version(tx, current.id, sealed, labels, now, current.tenant)
            return PutSecretValueResult(
                current.arn, current.name, value.version_id, tuple(sorted(labels))
            )

        return self._write(run)

    def update_secret(self, ctx: CallContext, request: UpdateSecretRequest) -> UpdateSecretResult:
        if request.type is not None:
            raise InvalidParameterException("The Type parameter is not supported by this server.")
        context = secret_id_key(request.secret_id)
        if request.description is not None:
            context["secretsmanager:Description"] = request.description
        if request.kms_key_id is not None:
            context["secretsmanager:KmsKeyId"] = request.kms_key_id

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("UpdateSecret", secret, context)

        secret = self._authorized(ctx, request.secret_id, access)
        new_key = self._resolve_kms_reference(ctx, request.kms_key_id)
        self._require_live(secret)
        value: NewValue | None = None
        sealed: SealedValue | None = None
        if request.secret_string is not None or request.secret_binary is not None:
            value = _new_value(
                request.client_request_token, request.secret_string, request.secret_binary
            )
            key_for_value = new_key if request.kms_key_id is not None else secret.kms_key_id
            sealed = self._seal(ctx, secret.arn, secret.name, key_for_value, value)
        version_id = None if value is None else value.version_id

        def run(tx: SecretsTransaction) -> UpdateSecretResult:
            current = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, secret, current, access)
            self._require_live(current)
            if current.arn != secret.arn:
                raise StaleRecord
            now = self._clock.now()
            fields: dict[str, object] = {}
            if request.description is not None:
                fields["description"] = request.description
            if request.kms_key_id is not None:
                fields["kms_key_id"] = new_key
            retry = value is not None and self._is_retry(ctx, tx, current, value)
            if retry and not fields:
                return UpdateSecretResult(current.arn, current.name, version_id)
            if request.kms_key_id is not None and new_key != current.kms_key_id:
                self._rewrap_labelled_versions(ctx, tx, current, new_key)
            tx.bump(current, changed_at=now, **fields)
            if sealed is not None and not retry:
                self._insert_version(
                    tx, current.id, sealed, (staging.AWSCURRENT,), now, current.tenant
                )
            return UpdateSecretResult(current.arn, current.name, version_id)

        return self._write(run)

    def _rewrap_labelled_versions(
        self, ctx: CallContext, tx: SecretsTransaction, secret: SecretRecord, key: str | None
    ) -> None:
        """A new KmsKeyId re-encrypts the versions labelled AWSCURRENT, AWSPENDING and
        AWSPREVIOUS, as AWS does: their data keys move to the new key; the values, sealed
        under those data keys, are untouched. Other versions stay under the old key."""
        destination = key or SECRETS_MANAGER_DEFAULT_ALIAS
        stages = tx.stages(secret.id)
        for version_id in sorted({v for label, v in stages.items() if label in staging.AWS_LABELS}):
            version = tx.version(secret.id, version_id)
            if version is None:
                continue
            context = self._encryption_context(secret, version_id)
            try:
                blob, key_arn = self._kms.rewrap_data_key(
                    ctx, version.encrypted_data_key, context, destination
                )
            except AccessDeniedException as exc:
                raise AccessDeniedException(f"Access to KMS is not allowed. {exc.message}") from exc
            except ClientError as exc:
                raise EncryptionFailure(
                    "Secrets Manager can't re-encrypt the secret's versions under the new "
                    f"KMS key: {exc.message}"
                ) from exc
            tx.replace_data_key(secret.id, version_id, blob, key_arn)

    def update_secret_version_stage(
        self, ctx: CallContext, request: UpdateSecretVersionStageRequest
    ) -> SecretRef:
        context = secret_id_key(request.secret_id)
        context["secretsmanager:VersionStage"] = request.version_stage

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("UpdateSecretVersionStage", secret, context)

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> SecretRef:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            self._require_live(secret)
            for member, version_id in (
                ("RemoveFromVersionId", request.remove_from_version_id),
                ("MoveToVersionId", request.move_to_version_id),
            ):
                if version_id is not None and tx.version(secret.id, version_id) is None:
                    raise InvalidParameterException(
                        f"The {member} {version_id} doesn't exist for this secret."
                    )
            stages = tx.stages(secret.id)
            changes = staging.move(
                stages,
                request.version_stage,
                remove_from=request.remove_from_version_id,
                move_to=request.move_to_version_id,
            )
            staging.apply(stages, changes)
            if changes:
                tx.bump(secret, changed_at=self._clock.now())
                for label, target in changes.items():
                    tx.set_stage(secret.id, label, target)
            return SecretRef(secret.arn, secret.name)

        return self._write(run)

    def describe_secret(self, ctx: CallContext, request: SecretIdRequest) -> DescribeSecretResult:
        with self._read() as tx:
            secret = self._resolve(tx, ctx, request.secret_id)
            context = secret_id_key(request.secret_id)
            self._access.authorize(ctx, self._on_secret("DescribeSecret", secret, context))
            stages = tx.stages(secret.id)
        return DescribeSecretResult(
            arn=secret.arn,
            name=secret.name,
            created_date=secret.created_at,
            last_changed_date=secret.last_changed_at,
            version_ids_to_stages=staging.labels_by_version(stages),
            description=secret.description,
            kms_key_id=secret.kms_key_id,
            last_accessed_date=secret.last_accessed_at,
            deleted_date=secret.deleted_at,
            tags=tuple(Tag(k, v) for k, v in secret.tags) if secret.tags else None,
        )

    def _page(
        self,
        tx: SecretsTransaction,
        ctx: CallContext,
        filters: tuple[Filter, ...],
        *,
        include_deleted: bool,
        sort_by: str | None,
        sort_order: str | None,
        max_results: int,
        token: str | None,
        purpose: str,
        visible_to: str,
    ) -> tuple[list[SecretRecord], str | None]:
        """One page of matching secrets the caller may ``visible_to`` (decided per secret).

        The token is an offset into the full ordered list, which does not depend on who
        asks, so tokens stay valid; a page stops after MAX_LISTING_DECISIONS secrets looked
        at, and may then be shorter than ``max_results`` with a NextToken to go on."""
        fingerprint = listing.query_fingerprint(
            purpose,
            ctx.region,
            [(f.key, list(f.values or ())) for f in filters],
            include_deleted,
            sort_by,
            sort_order,
        )
        offset = listing.decode_token(token, fingerprint)
        candidates = [
            s
            for s in tx.secrets_in_region(ctx.region)
            if (include_deleted or s.deleted_at is None) and listing.matches(s, filters)
        ]
        ordered = listing.sort_secrets(candidates, sort_by, sort_order)
        page: list[SecretRecord] = []
        end = offset
        budget = MAX_LISTING_DECISIONS
        while end < len(ordered) and len(page) < max_results and budget > 0:
            secret = ordered[end]
            end += 1
            budget -= 1
            context = secret_id_key(secret.arn)
            if self._access.allowed(ctx, self._on_secret(visible_to, secret, context)):
                page.append(secret)
        next_token = listing.encode_token(end, fingerprint) if end < len(ordered) else None
        return page, next_token

    def list_secrets(self, ctx: CallContext, request: ListSecretsRequest) -> ListSecretsResult:
        filters = request.filters or ()
        listing.validate_filters(filters)
        self._access.authorize_account_action(ctx, "ListSecrets")
        with self._read() as tx:
            page, next_token = self._page(
                tx,
                ctx,
                filters,
                include_deleted=bool(request.include_planned_deletion),
                sort_by=request.sort_by,
                sort_order=request.sort_order,
                max_results=request.max_results or LIST_DEFAULT_RESULTS,
                token=request.next_token,
                purpose="list",
                visible_to="DescribeSecret",
            )
            stages = tx.stages_of_secrets([s.id for s in page])
        entries = tuple(
            SecretListEntry(
                arn=s.arn,
                name=s.name,
                created_date=s.created_at,
                last_changed_date=s.last_changed_at,
                secret_versions_to_stages=staging.labels_by_version(stages.get(s.id, {})),
                description=s.description,
                kms_key_id=s.kms_key_id,
                last_accessed_date=s.last_accessed_at,
                deleted_date=s.deleted_at,
                tags=tuple(Tag(k, v) for k, v in s.tags) if s.tags else None,
            )
            for s in page
        )
        return ListSecretsResult(entries, next_token)

    def list_secret_version_ids(
        self, ctx: CallContext, request: ListSecretVersionIdsRequest
    ) -> ListSecretVersionIdsResult:
        with self._read() as tx:
            secret = self._resolve(tx, ctx, request.secret_id)
            context = secret_id_key(request.secret_id)
            self._access.authorize(ctx, self._on_secret("ListSecretVersionIds", secret, context))
            versions = tx.versions(secret.id)
            labels = staging.labels_by_version(tx.stages(secret.id))
        if not request.include_deprecated:
            versions = [v for v in versions if v.version_id in labels]
        versions.sort(key=lambda v: (v.created_at, v.version_id), reverse=True)
        fingerprint = listing.query_fingerprint("versions", secret.arn, request.include_deprecated)
        offset = listing.decode_token(request.next_token, fingerprint)
        limit = request.max_results or LIST_DEFAULT_RESULTS
        page = versions[offset : offset + limit]
        end = offset + len(page)
        return ListSecretVersionIdsResult(
            versions=tuple(
                SecretVersionsListEntry(
                    version_id=v.version_id,
                    version_stages=labels.get(v.version_id, ()),
                    created_date=v.created_at,
                    last_accessed_date=v.last_accessed_at,
                    kms_key_ids=(v.kms_key_arn,),
                )
                for v in page
            ),
            arn=secret.arn,
            name=secret.name,
            next_token=listing.encode_token(end, fingerprint) if end < len(versions) else None,
        )

    def delete_secret(self, ctx: CallContext, request: DeleteSecretRequest) -> DeleteSecretResult:
        force = bool(request.force_delete_without_recovery)
        if force and request.recovery_window_in_days is not None:
            raise InvalidParameterException(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        days = request.recovery_window_in_days
        if days is None:
            days = DEFAULT_RECOVERY_DAYS
        if not force and not MIN_RECOVERY_DAYS <= days <= MAX_RECOVERY_DAYS:
            raise InvalidParameterException(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
            )
        context = secret_id_key(request.secret_id)
        if request.force_delete_without_recovery is not None:
            context["secretsmanager:ForceDeleteWithoutRecovery"] = flag(force)
        if request.recovery_window_in_days is not None:
            context["secretsmanager:RecoveryWindowInDays"] = str(request.recovery_window_in_days)

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("DeleteSecret", secret, context)

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> DeleteSecretResult:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            now = self._clock.now()
            if force:
                tx.delete_secret(secret.id)
                return DeleteSecretResult(secret.arn, secret.name, now)
            if secret.deleted_at is not None:
                raise InvalidRequestException(MARKED_FOR_DELETION)
            deletion_date = now + timedelta(days=days)
            tx.bump(secret, changed_at=None, deleted_at=now, deletion_date=deletion_date)
            return DeleteSecretResult(secret.arn, secret.name, deletion_date)

        return self._write(run)

    def restore_secret(self, ctx: CallContext, request: SecretIdRequest) -> SecretRef:
        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("RestoreSecret", secret, secret_id_key(request.secret_id))

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> SecretRef:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            if secret.deleted_at is not None:
                tx.bump(secret, changed_at=self._clock.now(), deleted_at=None, deletion_date=None)
            return SecretRef(secret.arn, secret.name)

        return self._write(run)

    def tag_resource(self, ctx: CallContext, request: TagResourceRequest) -> Empty:
        new_tags = _tag_pairs(request.tags)
        context = secret_id_key(request.secret_id)
        context.update(request_tag_keys(new_tags))

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret(
                "TagResource",
                secret,
                context,
                tag_keys_written=frozenset(k for k, _ in new_tags),
                request_tenants=self._access.tenants_named(new_tags),
            )

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> Empty:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            self._require_live(secret)
            merged = dict(secret.tags)
            merged.update(new_tags)
            if len(merged) > MAX_TAGS_PER_SECRET:
                raise LimitExceededException(
                    f"A secret can have at most {MAX_TAGS_PER_SECRET} tags."
                )
            tx.bump(secret, changed_at=self._clock.now())
            tx.replace_tags(secret.id, list(merged.items()))
            return Empty()

        return self._write(run)

    def untag_resource(self, ctx: CallContext, request: UntagResourceRequest) -> Empty:
        context = secret_id_key(request.secret_id)
        context["aws:TagKeys"] = request.tag_keys

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret(
                "UntagResource", secret, context, tag_keys_written=frozenset(request.tag_keys)
            )

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> Empty:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            self._require_live(secret)
            removed = set(request.tag_keys)
            kept = [(k, v) for k, v in secret.tags if k not in removed]
            if len(kept) != len(secret.tags):
                tx.bump(secret, changed_at=self._clock.now())
                tx.replace_tags(secret.id, kept)
            return Empty()

        return self._write(run)

    def get_random_password(
        self, ctx: CallContext, request: GetRandomPasswordRequest
    ) -> GetRandomPasswordResult:
        self._access.authorize_account_action(ctx, "GetRandomPassword")
        length = request.password_length
        return GetRandomPasswordResult(
            random_password.generate(
                random_password.DEFAULT_LENGTH if length is None else length,
                exclude_characters=request.exclude_characters or "",
                exclude_numbers=bool(request.exclude_numbers),
                exclude_punctuation=bool(request.exclude_punctuation),
                exclude_uppercase=bool(request.exclude_uppercase),
                exclude_lowercase=bool(request.exclude_lowercase),
                include_space=bool(request.include_space),
                require_each_included_type=request.require_each_included_type is not False,
            )
        )

    # -- resource policies ------------------------------------------------------------

    def put_resource_policy(self, ctx: CallContext, request: PutResourcePolicyRequest) -> SecretRef:
        resource_policy.check_policy_name(request.policy_name)
        context = secret_id_key(request.secret_id)
        if request.block_public_policy is not None:
            context["secretsmanager:BlockPublicPolicy"] = flag(request.block_public_policy)

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("PutResourcePolicy", secret, context)

        seen = self._authorized(ctx, request.secret_id, access)
        document = resource_policy.parse(request.resource_policy)
        if request.block_public_policy:
            resource_policy.refuse_public(document, ctx.account_id)

        def run(tx: SecretsTransaction) -> SecretRef:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            self._require_live(secret)
            if secret.resource_policy != request.resource_policy:
                tx.bump(
                    secret,
                    changed_at=self._clock.now(),
                    resource_policy=request.resource_policy,
                )
            return SecretRef(secret.arn, secret.name)

        return self._write(run)

    def get_resource_policy(
        self, ctx: CallContext, request: ResourcePolicyRequest
    ) -> GetResourcePolicyResult:
        context = secret_id_key(request.secret_id)
        secret = self._authorized(
            ctx,
            request.secret_id,
            lambda secret: self._on_secret("GetResourcePolicy", secret, context),
        )
        if request.policy_name not in (None, resource_policy.DEFAULT_POLICY_NAME):
            raise ResourceNotFoundException(
                "Secrets Manager can't find the specified resource policy."
            )
        return GetResourcePolicyResult(secret.arn, secret.name, secret.resource_policy)

    def delete_resource_policy(self, ctx: CallContext, request: ResourcePolicyRequest) -> SecretRef:
        resource_policy.check_policy_name(request.policy_name)

        def access(secret: SecretRecord) -> AccessRequest:
            return self._on_secret("DeleteResourcePolicy", secret, secret_id_key(request.secret_id))

        seen = self._authorized(ctx, request.secret_id, access)

        def run(tx: SecretsTransaction) -> SecretRef:
            secret = self._resolve(tx, ctx, request.secret_id)
            self._recheck(ctx, seen, secret, access)
            self._require_live(secret)
            if secret.resource_policy is not None:
                tx.bump(secret, changed_at=self._clock.now(), resource_policy=None)
            return SecretRef(secret.arn, secret.name)

        return self._write(run)

    def validate_resource_policy(
        self, ctx: CallContext, request: ValidateResourcePolicyRequest
    ) -> ValidateResourcePolicyResult:
        if request.secret_id is None:
            self._access.authorize_account_action(ctx, "ValidateResourcePolicy")
        else:
            context = secret_id_key(request.secret_id)
            self._authorized(
                ctx,
                request.secret_id,
                lambda secret: self._on_secret("ValidateResourcePolicy", secret, context),
            )
        errors = resource_policy.validation_errors(request.resource_policy, ctx.account_id)
        return ValidateResourcePolicyResult(not errors, errors)

    def list_resource_policies(
        self, ctx: CallContext, request: ListResourcePoliciesRequest
    ) -> ListResourcePoliciesResult:
        context = secret_id_key(request.secret_id)
        secret = self._authorized(
            ctx,
            request.secret_id,
            lambda secret: self._on_secret("ListResourcePolicies", secret, context),
        )
        # A secret has at most the one "default" policy, so there is never a second page.
        fingerprint = listing.query_fingerprint("policies", secret.arn)
        listing.decode_token(request.next_token, fingerprint)
        names = () if secret.resource_policy is None else (resource_policy.DEFAULT_POLICY_NAME,)
        return ListResourcePoliciesResult(tuple(ResourcePolicySummary(n) for n in names))

    # -- background and administrative ------------------------------------------------

    def purge_expired_deletions(self) -> int:
        """Delete for good every secret whose recovery window has ended; returns how many."""
        now = self._clock.now()
        with self._read() as tx:
            due = tx.secrets_due_for_deletion(now)
        purged = 0
        for secret in due:

            def run(tx: SecretsTransaction, secret: SecretRecord = secret) -> None:
                current = tx.secret_by_arn(secret.arn)
                if current is None or current.deletion_date is None or current.deletion_date > now:
                    return  # restored or already purged meanwhile
                tx.delete_secret(current.id)

            self._write(run)
            purged += 1
            log.info("purged secret after its recovery window", extra={"arn": secret.arn})
        return purged

    def reset(self) -> None:
        """Delete every secret (dev mode only; the edge checks the mode)."""
        with self._store.transaction(write=True) as tx:
            tx.reset()
