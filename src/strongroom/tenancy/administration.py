"""Tenant onboarding and administration: one-transaction CreateTenant, describe, list, update."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from strongroom.authorization import AccessRequest, Authorizer
from strongroom.clock import Clock
from strongroom.context import CallContext, Principal
from strongroom.errors import (
    ConflictException,
    InternalError,
    InvalidStateException,
    NotFoundException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.identity import iam_shapes as iam
from strongroom.identity.credentials import root_principal
from strongroom.identity.iam_policies import IamPolicies
from strongroom.identity.iam_roles import IamRoles
from strongroom.identity.iam_users import IamUsers
from strongroom.kms import shapes as kms
from strongroom.kms.aliases import AliasAdministration
from strongroom.kms.key_access import KeyAccess
from strongroom.kms.key_administration import KeyAdministration
from strongroom.tenancy import shapes
from strongroom.tenancy import tenants as t
from strongroom.tenancy.ports import TenantExists, TenantStore
from strongroom.tenancy.quotas import QuotaError

log = logging.getLogger(__name__)

PARTITION_TAG_KEY = "strongroom:partition-key"
DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class TenancySettings:
    tenant_tag_key: str = "customer"
    id_rule: t.TenantIdRule = field(default_factory=t.TenantIdRule)
    tiers: frozenset[str] = frozenset({"standard"})


@dataclass(frozen=True, slots=True)
class TenancyServices:
    """The services onboarding is made of; each call runs as the account (the caller was
    authorized for the strongroom: action that covers all of it)."""

    roles: IamRoles
    users: IamUsers
    policies: IamPolicies
    keys: KeyAdministration
    aliases: AliasAdministration
    key_access: KeyAccess
    partition_key_name: Callable[[str], str | None]


class TenantKeyLookup:
    """Secrets Manager's view of tenants: the key a tenant's secrets default to."""

    def __init__(self, store: TenantStore) -> None:
        self._store = store

    def key_for(self, tenant_id: str) -> str | None:
        record = self._store.get(tenant_id)
        return None if record is None else record.key_id


def as_account(ctx: CallContext) -> CallContext:
    """The call's context acting as the account root (for the steps of a tenant operation)."""
    root: Principal = root_principal(ctx.partition, ctx.account_id, ctx.principal.access_key_id)
    return replace(ctx, principal=root)


def quotas_json(quotas: shapes.TenantQuotas | None) -> str | None:
    if quotas is None:
        return None
    given = {k: v for k, v in asdict(quotas).items() if v is not None}
    return json.dumps(given, sort_keys=True) if given else None


def quotas_of(text: str | None) -> shapes.TenantQuotas | None:
    return None if text is None else shapes.TenantQuotas(**json.loads(text))


class TenantAdministration:
    """CreateTenant, DescribeTenant, ListTenants, UpdateTenant, SuspendTenant, ResumeTenant,
    CreateSharedKey."""

    def __init__(
        self,
        store: TenantStore,
        services: TenancyServices,
        authorizer: Authorizer,
        clock: Clock,
        settings: TenancySettings,
        *,
        effective_quotas: Callable[[t.TenantRecord], shapes.TenantQuotas | None],
        on_change: Callable[[str], None],
    ) -> None:
        self._store = store
        self._services = services
        self._authorizer = authorizer
        self._clock = clock
        self._settings = settings
        self._effective_quotas = effective_quotas
        self._on_change = on_change

    # -- shared helpers (offboarding uses them too) --------------------------------------

    def arn(self, ctx: CallContext, tenant_id: str) -> str:
        return t.tenant_arn(ctx.partition, ctx.region, ctx.account_id, tenant_id)

    def authorize(self, ctx: CallContext, action: str, tenant_id: str | None) -> None:
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action=f"strongroom:{action}",
                resource="*" if tenant_id is None else self.arn(ctx, tenant_id),
                resource_tenant=tenant_id,
            ),
        )

    def checked_id(self, tenant_id: str) -> str:
        try:
            self._settings.id_rule.check(tenant_id)
        except t.InvalidTenantId as exc:
            raise ValidationException(str(exc)) from exc
        return tenant_id

    def existing(self, tenant_id: str) -> t.TenantRecord:
        record = self._store.get(tenant_id)
        if record is None:
            raise ResourceNotFoundException(f"Tenant {tenant_id} does not exist.")
        return record

    def changed(self, tenant_id: str) -> None:
        """Drop cached views of the tenant (its status). Inside a unit of work, call it
        again once the work committed: a read between the write and the commit may have
        cached the old status."""
        self._on_change(tenant_id)

    @contextmanager
    def _onboarding(self) -> Iterator[list[str]]:
        """The unit of work onboarding runs in, and a list for the ids of the keys made in
        it. A new key's material is written to the keystore, which the transaction does
        not cover: if the transaction does not commit, that material is destroyed again,
        so no wrapped key is left behind that no key names."""
        made: list[str] = []
        try:
            with self._store.unit_of_work():
                yield made
        except BaseException:
            for key_id in made:
                self._discard_key_material(key_id)
            raise

    def _discard_key_material(self, key_id: str) -> None:
        try:
            self._services.keys.destroy_uncommitted_key(key_id)
        except Exception as exc:  # the caller hears of the rollback, not of this
            # Left as a crash between CreateKey's two writes leaves it: unreachable.
            log.warning(
                "material of rolled-back KMS key %s stays in the keystore (%s)",
                key_id,
                type(exc).__name__,
            )

    def save(self, record: t.TenantRecord, **changes: Any) -> t.TenantRecord:
        updated = replace(
            record, **changes, updated_at=self._clock.now(), row_version=record.row_version + 1
        )
        if not self._store.update(updated, record.row_version):
            raise ConflictException(
                f"Tenant {record.tenant_id} was changed concurrently; retry the request."
            )
        self._on_change(record.tenant_id)
        return updated

    def describe(self, ctx: CallContext, record: t.TenantRecord) -> shapes.Tenant:
        key_arn = f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account_id}:key/{record.key_id}"
        return shapes.Tenant(
            tenant_id=record.tenant_id,
            arn=self.arn(ctx, record.tenant_id),
            display_name=record.display_name,
            status=record.status,
            key_mode=record.key_mode,
            key_id=record.key_id,
            key_arn=key_arn,
            partition_key_name=(
                self._services.partition_key_name(record.key_id)
                if record.key_mode == t.SHARED
                else None
            ),
            isolation_policy=record.isolation_policy,
            role_name=record.role_name,
            role_arn=f"arn:{ctx.partition}:iam::{ctx.account_id}:role{t.ROLE_PATH}{record.role_name}",
            tier=record.tier,
            quotas=quotas_of(record.quotas),
            effective_quotas=self._effective_quotas(record),
            tags=tuple(shapes.Tag(key=k, value=v) for k, v in record.tags),
            created_date=record.created_at,
            updated_date=record.updated_at,
            offboarded_date=record.offboarded_at,
            destruction_date=record.destruction_date,
            destroyed_date=record.destroyed_at,
            audit_export_path=record.audit_export,
        )

    # -- operations ----------------------------------------------------------------------

    def create_tenant(
        self, ctx: CallContext, request: shapes.CreateTenantRequest
    ) -> shapes.CreateTenantResult:
        tenant_id = self.checked_id(request.tenant_id)
        self.authorize(ctx, "CreateTenant", tenant_id)
        key_mode = request.key_mode or t.DEDICATED
        form = request.isolation_policy or t.ARN_WILDCARD
        if request.tier is not None and request.tier not in self._settings.tiers:
            raise ValidationException(
                f"Unknown tier {request.tier!r}; this deployment has: "
                + ", ".join(sorted(self._settings.tiers))
            )
        if key_mode == t.DEDICATED and request.shared_key_id is not None:
            raise ValidationException("SharedKeyId applies only to KeyMode SHARED.")
        tags = self._checked_tags(request.tags or ())
        display_name = request.display_name or tenant_id

        existing = self._store.get(tenant_id)
        if existing is not None:
            return self._same_tenant(ctx, existing, request, key_mode, form, display_name)

        account = as_account(ctx)
        now = self._clock.now()
        try:
            with self._onboarding() as made:
                if key_mode == t.SHARED:
                    key_id, key_arn, partition_key_name = self._shared_key(
                        account, request.shared_key_id, made
                    )
                else:
                    key_id, key_arn = self._dedicated_key(account, tenant_id, made)
                    partition_key_name = None
                policy = t.isolation_policy(
                    form,
                    partition=ctx.partition,
                    region=ctx.region,
                    account=ctx.account_id,
                    tenant_id=tenant_id,
                    tenant_tag_key=self._settings.tenant_tag_key,
                    key_arn=key_arn,
                    partition_key_name=partition_key_name,
                )
                role_name = t.role_name_for(tenant_id)
                identity_tags = (iam.Tag(key=self._settings.tenant_tag_key, value=tenant_id),)
                roles, policies = self._services.roles, self._services.policies
                roles.create_role(
                    account,
                    iam.CreateRoleRequest(
                        path=t.ROLE_PATH,
                        role_name=role_name,
                        assume_role_policy_document=t.trust_policy(ctx.partition, ctx.account_id),
                        description=f"Strongroom tenant {tenant_id}",
                        # Services hold tenant sessions for long jobs; 12 h is IAM's maximum.
                        max_session_duration=t.MAX_SESSION_SECONDS,
                        tags=identity_tags,
                    ),
                )
                policies.put_role_policy(
                    account,
                    iam.PutRolePolicyRequest(
                        role_name=role_name,
                        policy_name=t.ISOLATION_POLICY_NAME,
                        policy_document=policy,
                    ),
                )
                access_key = None
                if request.create_access_key:
                    access_key = self._tenant_user(account, role_name, identity_tags, policy)
                record = self._checked_quotas(
                    t.TenantRecord(
                        tenant_id=tenant_id,
                        display_name=display_name,
                        status=t.ACTIVE,
                        key_mode=key_mode,
                        key_id=key_id,
                        isolation_policy=form,
                        role_name=role_name,
                        tier=request.tier,
                        quotas=quotas_json(request.quotas),
                        tags=tags,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._store.insert(record)
        except TenantExists:
            # Another request created it first: answer as for a repeated request.
            return self._same_tenant(
                ctx, self.existing(tenant_id), request, key_mode, form, display_name
            )
        self._on_change(tenant_id)
        return shapes.CreateTenantResult(tenant=self.describe(ctx, record), access_key=access_key)

    def _same_tenant(
        self,
        ctx: CallContext,
        existing: t.TenantRecord,
        request: shapes.CreateTenantRequest,
        key_mode: str,
        form: str,
        display_name: str,
    ) -> shapes.CreateTenantResult:
        """CreateTenant is idempotent: the same parameters return the tenant as it is (an
        access key's secret is shown only once, so none is returned again)."""
        same = (
            existing.status != t.SHREDDED
            and existing.key_mode == key_mode
            and existing.isolation_policy == form
            and existing.display_name == display_name
            and existing.tier == request.tier
            and existing.quotas == quotas_json(request.quotas)
            and (request.shared_key_id is None or self._is_key(ctx, existing, request))
        )
        if not same:
            raise ConflictException(
                f"Tenant {existing.tenant_id} already exists with different parameters"
                + (
                    " (it was shredded; tenant ids are never reused)."
                    if existing.status == t.SHREDDED
                    else "."
                )
            )
        return shapes.CreateTenantResult(tenant=self.describe(ctx, existing))

    def _is_key(
        self, ctx: CallContext, existing: t.TenantRecord, request: shapes.CreateTenantRequest
    ) -> bool:
        record = self._services.key_access.find(as_account(ctx), str(request.shared_key_id))
        return record.key_id == existing.key_id

    def _checked_quotas(self, record: t.TenantRecord) -> t.TenantRecord:
        try:
            self._effective_quotas(record)
        except QuotaError as exc:
            raise ValidationException(f"Quotas: {exc}.") from exc
        return record

    def _checked_tags(self, tags: Sequence[shapes.Tag]) -> tuple[tuple[str, str], ...]:
        keys = [tag.key for tag in tags]
        if len(set(keys)) != len(keys):
            raise ValidationException("Tag keys must be unique.")
        if any(key.lower().startswith(("aws:", "strongroom:")) for key in keys):
            raise ValidationException("Tag keys starting with aws: or strongroom: are reserved.")
        return tuple((tag.key, tag.value) for tag in tags)

    def _dedicated_key(
        self, account: CallContext, tenant_id: str, made: list[str]
    ) -> tuple[str, str]:
        created = self._services.keys.create_key(
            account,
            kms.CreateKeyRequest(
                description=f"Strongroom tenant {tenant_id}",
                tags=(kms.Tag(tag_key=self._settings.tenant_tag_key, tag_value=tenant_id),),
            ),
        )
        key_id, key_arn = _created(created)
        made.append(key_id)
        self._services.aliases.create_alias(
            account,
            kms.CreateAliasRequest(
                alias_name=f"{t.TENANT_KEY_ALIAS_PREFIX}{tenant_id}", target_key_id=key_id
            ),
        )
        return key_id, key_arn

    def _shared_key(
        self, account: CallContext, reference: str | None, made: list[str]
    ) -> tuple[str, str, str]:
        if reference is None:
            try:
                record = self._services.key_access.find(account, t.DEFAULT_SHARED_KEY_ALIAS)
            except NotFoundException:
                created = self._create_shared_key(
                    account,
                    t.DEFAULT_PARTITION_KEY_NAME,
                    "Strongroom tenants (partitioned)",
                    made,
                )
                alias = kms.CreateAliasRequest(
                    alias_name=t.DEFAULT_SHARED_KEY_ALIAS, target_key_id=created[0]
                )
                self._services.aliases.create_alias(account, alias)
                return created
        else:
            record = self._services.key_access.find(account, reference)
        name = self._services.partition_key_name(record.key_id)
        if name is None:
            raise ValidationException(
                f"Key {record.key_id} is not a shared key with tenant partitions "
                "(create one with CreateSharedKey)."
            )
        if record.key_state != "Enabled":
            raise InvalidStateException(f"Key {record.key_id} is {record.key_state}.")
        return record.key_id, record.arn, name

    def _create_shared_key(
        self, account: CallContext, partition_key_name: str, description: str, made: list[str]
    ) -> tuple[str, str, str]:
        created = self._services.keys.create_key(
            account,
            kms.CreateKeyRequest(
                description=description,
                tags=(kms.Tag(tag_key=PARTITION_TAG_KEY, tag_value=partition_key_name),),
            ),
        )
        key_id, key_arn = _created(created)
        made.append(key_id)
        return key_id, key_arn, partition_key_name

    def _tenant_user(
        self,
        account: CallContext,
        user_name: str,
        identity_tags: tuple[iam.Tag, ...],
        policy: str,
    ) -> shapes.AccessKey:
        users = self._services.users
        users.create_user(
            account,
            iam.CreateUserRequest(path=t.ROLE_PATH, user_name=user_name, tags=identity_tags),
        )
        self._services.policies.put_user_policy(
            account,
            iam.PutUserPolicyRequest(
                user_name=user_name, policy_name=t.ISOLATION_POLICY_NAME, policy_document=policy
            ),
        )
        key = users.create_access_key(account, iam.CreateAccessKeyRequest(user_name=user_name))
        return shapes.AccessKey(
            access_key_id=key.access_key.access_key_id,
            secret_access_key=key.access_key.secret_access_key,
        )

    def describe_tenant(
        self, ctx: CallContext, request: shapes.TenantIdRequest
    ) -> shapes.TenantResult:
        tenant_id = self.checked_id(request.tenant_id)
        self.authorize(ctx, "DescribeTenant", tenant_id)
        return shapes.TenantResult(tenant=self.describe(ctx, self.existing(tenant_id)))

    def list_tenants(
        self, ctx: CallContext, request: shapes.ListTenantsRequest
    ) -> shapes.ListTenantsResult:
        self.authorize(ctx, "ListTenants", None)
        limit = request.max_results or DEFAULT_PAGE
        after = None if request.next_token is None else _token_value(request.next_token)
        page = self._store.page(request.status, after, limit + 1)
        more = len(page) > limit
        page = page[:limit]
        return shapes.ListTenantsResult(
            tenants=tuple(self.describe(ctx, record) for record in page),
            next_token=_token(page[-1].tenant_id) if more else None,
        )

    def update_tenant(
        self, ctx: CallContext, request: shapes.UpdateTenantRequest
    ) -> shapes.TenantResult:
        tenant_id = self.checked_id(request.tenant_id)
        self.authorize(ctx, "UpdateTenant", tenant_id)
        record = self.existing(tenant_id)
        if record.status == t.SHREDDED:
            raise InvalidStateException(f"Tenant {tenant_id} is shredded.")
        if request.tier is not None and request.tier not in self._settings.tiers:
            raise ValidationException(f"Unknown tier {request.tier!r}.")
        changes: dict[str, Any] = {}
        if request.display_name is not None:
            changes["display_name"] = request.display_name
        if request.tier is not None:
            changes["tier"] = request.tier
        if request.quotas is not None:
            changes["quotas"] = quotas_json(request.quotas)
        if changes:
            self._checked_quotas(replace(record, **changes))
            record = self.save(record, **changes)
        return shapes.TenantResult(tenant=self.describe(ctx, record))

    def suspend_tenant(
        self, ctx: CallContext, request: shapes.TenantIdRequest
    ) -> shapes.TenantResult:
        tenant_id = self.checked_id(request.tenant_id)
        self.authorize(ctx, "SuspendTenant", tenant_id)
        record = self.existing(tenant_id)
        if record.status not in (t.ACTIVE, t.SUSPENDED):
            raise InvalidStateException(f"Tenant {tenant_id} is {record.status}.")
        if record.status == t.ACTIVE:
            record = self.save(record, status=t.SUSPENDED)
        return shapes.TenantResult(tenant=self.describe(ctx, record))

    def resume_tenant(
        self, ctx: CallContext, request: shapes.TenantIdRequest
    ) -> shapes.TenantResult:
        tenant_id = self.checked_id(request.tenant_id)
        self.authorize(ctx, "ResumeTenant", tenant_id)
        record = self.existing(tenant_id)
        if record.status not in (t.ACTIVE, t.SUSPENDED):
            raise InvalidStateException(
                f"Tenant {tenant_id} is {record.status}; only a suspended tenant resumes."
            )
        if record.status == t.SUSPENDED:
            record = self.save(record, status=t.ACTIVE)
        return shapes.TenantResult(tenant=self.describe(ctx, record))

    def create_shared_key(
        self, ctx: CallContext, request: shapes.CreateSharedKeyRequest
    ) -> shapes.CreateSharedKeyResult:
        self.authorize(ctx, "CreateSharedKey", None)
        name = request.partition_key_name or t.DEFAULT_PARTITION_KEY_NAME
        account = as_account(ctx)
        with self._onboarding() as made:
            key_id, key_arn, name = self._create_shared_key(
                account, name, request.description or "Strongroom tenants (partitioned)", made
            )
            if request.alias_name is not None:
                self._services.aliases.create_alias(
                    account,
                    kms.CreateAliasRequest(alias_name=request.alias_name, target_key_id=key_id),
                )
        return shapes.CreateSharedKeyResult(key_id=key_id, key_arn=key_arn, partition_key_name=name)


def _created(result: kms.CreateKeyResult) -> tuple[str, str]:
    metadata = result.key_metadata
    if metadata is None or not metadata.key_id or not metadata.arn:
        raise InternalError("CreateKey returned no key metadata.")
    return metadata.key_id, metadata.arn


def _token(tenant_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": tenant_id}).encode()).decode()


def _token_value(token: str) -> str:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationException("The NextToken is not valid.") from exc
    if not isinstance(value, str):
        raise ValidationException("The NextToken is not valid.")
    return value
