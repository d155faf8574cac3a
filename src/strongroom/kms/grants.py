"""KMS grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from strongroom.authorization import ConditionValue
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import (
    DryRunOperationException,
    InvalidArnException,
    InvalidGrantIdException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import markers, shapes
from strongroom.kms.cryptographic_operations import checked_context
from strongroom.kms.filtered_pages import visible_page
from strongroom.kms.grant_book import (
    CONSTRAINABLE_OPERATIONS,
    GRANT_ID_PATTERN,
    GRANT_OPERATIONS,
    grantees_of,
)
from strongroom.kms.key_access import KeyAccess, require_not_pending_deletion
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_specs import (
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    SIGN_VERIFY,
    SYMMETRIC_DEFAULT,
)
from strongroom.kms.ports import GrantLimitExceeded, GrantRecord, KmsKeyRecord

# AWS's quota: grants per KMS key.
MAX_GRANTS_PER_KEY = 50_000
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 100
_DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set."
# Principals a grant may name: IAM users, roles, the account, sessions, or a service.
_PRINCIPAL = re.compile(
    r"\Aarn:aws[a-z-]*:(?:iam::[0-9]{12}:(?:root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)"
    r"|sts::[0-9]{12}:(?:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|federated-user/[\w+=,.@-]+))\Z"
)
_SERVICE_PRINCIPAL = re.compile(r"\A[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com\Z")
_COMMON_OPERATIONS = frozenset({"CreateGrant", "RetireGrant", "DescribeKey"})


def _operations_for(record: KmsKeyRecord) -> frozenset[str]:
    """The grant operations that make sense for a key of this spec and usage."""
    if record.key_usage == ENCRYPT_DECRYPT and record.key_spec == SYMMETRIC_DEFAULT:
        usable = {
            "Encrypt",
            "Decrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
        }
    elif record.key_usage == ENCRYPT_DECRYPT:
        usable = {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"}
    elif record.key_usage == SIGN_VERIFY:
        usable = {"Sign", "Verify", "GetPublicKey"}
    elif record.key_usage == GENERATE_VERIFY_MAC:
        usable = {"GenerateMac", "VerifyMac"}
    elif record.key_usage == KEY_AGREEMENT:
        usable = {"DeriveSharedSecret", "GetPublicKey"}
    else:
        usable = set()
    return _COMMON_OPERATIONS | usable


def _check_principal(member: str, value: str) -> None:
    if _PRINCIPAL.match(value) is None and _SERVICE_PRINCIPAL.match(value) is None:
        raise InvalidArnException(f"{member} {value} is not a valid principal.")


def _no_wider_than(parent: GrantRecord, request: shapes.CreateGrantRequest) -> bool:
    """A grantee creating a grant through its own grant may give no more than it holds:
    a subset of the operations, under the same or stricter constraints."""
    if not set(request.operations) <= set(parent.operations):
        return False
    constraints = request.constraints or shapes.GrantConstraints()
    if parent.encryption_context_equals is not None:
        return constraints.encryption_context_equals == dict(parent.encryption_context_equals)
    if parent.encryption_context_subset is not None:
        required = parent.encryption_context_subset.items()
        given = constraints.encryption_context_equals or constraints.encryption_context_subset
        return given is not None and all(given.get(k) == v for k, v in required)
    return True


def _entry(record_arn: str, grant: GrantRecord) -> shapes.GrantListEntry:
    constraints = None
    if grant.encryption_context_subset is not None or grant.encryption_context_equals is not None:
        constraints = shapes.GrantConstraints(
            encryption_context_subset=None
            if grant.encryption_context_subset is None
            else dict(grant.encryption_context_subset),
            encryption_context_equals=None
            if grant.encryption_context_equals is None
            else dict(grant.encryption_context_equals),
        )
    return shapes.GrantListEntry(
        key_id=record_arn,
        grant_id=grant.grant_id,
        name=grant.name,
        creation_date=grant.created_at,
        grantee_principal=grant.grantee_principal,
        retiring_principal=grant.retiring_principal,
        issuing_account=grant.issuing_account,
        operations=grant.operations,
        constraints=constraints,
    )


def _check_grant_id(grant_id: str) -> None:
    if GRANT_ID_PATTERN.match(grant_id) is None:
        raise InvalidGrantIdException(f"{grant_id} is not a valid grant ID.")


def _dry_run(flag: bool | None) -> None:
    if flag:
        raise DryRunOperationException(_DRY_RUN_MESSAGE)


class GrantAdministration:
    """One method per KMS grant operation."""

    def __init__(self, access: KeyAccess, clock: Clock, authorization: KeyAuthorization) -> None:
        self._access = access
        self._clock = clock
        self._authorization = authorization
        self._grants = authorization.grants
        self._directory = access.directory
        self._store = access.directory.store

    # -- CreateGrant --------------------------------------------------------------------

    def create_grant(
        self, ctx: CallContext, request: shapes.CreateGrantRequest
    ) -> shapes.CreateGrantResult:
        grantee, retiring, constraint_context = self._checked(request)
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        conditions: dict[str, ConditionValue] = {
            "kms:GrantOperations": tuple(request.operations),
            "kms:GranteePrincipal": grantee,
            "kms:GrantIsForAWSResource": "false",
        }
        if retiring is not None:
            conditions["kms:RetiringPrincipal"] = retiring
        constraints = request.constraints
        if constraints is not None and constraints.encryption_context_equals is not None:
            conditions["kms:GrantConstraintType"] = "EncryptionContextEquals"
        elif constraints is not None and constraints.encryption_context_subset is not None:
            conditions["kms:GrantConstraintType"] = "EncryptionContextSubset"
        self._authorization.key(
            ctx,
            "CreateGrant",
            record,
            conditions=conditions,
            encryption_context=constraint_context,
            grant_tokens=request.grant_tokens,
            grant_check=lambda parent: _no_wider_than(parent, request),
        )
        require_not_pending_deletion(record)
        unusable = set(request.operations) - _operations_for(record)
        if unusable:
            raise ValidationException(
                f"Grant operations {', '.join(sorted(unusable))} are not valid for {record.arn} "
                f"(key spec {record.key_spec}, key usage {record.key_usage})."
            )
        _dry_run(request.dry_run)
        grant = GrantRecord(
            grant_id=secrets.token_hex(32),
            key_id=record.key_id,
            grantee_principal=grantee,
            issuing_account=f"arn:{ctx.partition}:iam::{ctx.account_id}:root",
            operations=tuple(dict.fromkeys(request.operations)),
            created_at=self._clock.now(),
            name=request.name,
            retiring_principal=retiring,
            encryption_context_subset=None
            if constraints is None
            else constraints.encryption_context_subset,
            encryption_context_equals=None
            if constraints is None
            else constraints.encryption_context_equals,
        )
        try:
            stored = self._store.insert_grant(grant, MAX_GRANTS_PER_KEY)
        except GrantLimitExceeded as exc:
            raise LimitExceededException(
                f"{record.arn} has reached the limit of {MAX_GRANTS_PER_KEY} grants."
            ) from exc
        finally:
            self._grants.forget(record.key_id)
        return shapes.CreateGrantResult(
            grant_token=self._grants.token_for(stored.grant_id), grant_id=stored.grant_id
        )

    @staticmethod
    def _checked(
        request: shapes.CreateGrantRequest,
    ) -> tuple[str, str | None, Mapping[str, str] | None]:
        """(grantee, retiring principal, constraint context) of a well-formed request."""
        if request.grantee_service_principal is not None or (
            request.retiring_service_principal is not None
        ):
            raise UnsupportedOperationException(
                "GranteeServicePrincipal and RetiringServicePrincipal are not supported."
            )
        if request.grantee_principal is None:
            raise ValidationException("GranteePrincipal is required.")
        _check_principal("GranteePrincipal", request.grantee_principal)
        if request.retiring_principal is not None:
            _check_principal("RetiringPrincipal", request.retiring_principal)
        if not request.operations:
            raise ValidationException("Operations must name at least one grant operation.")
        unserved = set(request.operations) - GRANT_OPERATIONS
        if unserved:
            raise UnsupportedOperationException(
                f"Grant operations {', '.join(sorted(unserved))} are not supported."
            )
        context: Mapping[str, str] | None = None
        constraints = request.constraints
        if constraints is not None:
            if constraints.source_arn is not None:
                raise UnsupportedOperationException("The SourceArn constraint is not supported.")
            subset = constraints.encryption_context_subset
            equals = constraints.encryption_context_equals
            if subset is not None and equals is not None:
                raise ValidationException(
                    "A grant constraint can have EncryptionContextSubset or "
                    "EncryptionContextEquals, not both."
                )
            context = checked_context(equals if equals is not None else subset)
            if (subset is not None or equals is not None) and not set(
                request.operations
            ) <= CONSTRAINABLE_OPERATIONS:
                raise ValidationException(
                    "Encryption context constraints are valid only for grants of operations "
                    "that take an encryption context (and CreateGrant, RetireGrant, DescribeKey)."
                )
        return request.grantee_principal, request.retiring_principal, context

    # -- listing ------------------------------------------------------------------------

    def list_grants(
        self, ctx: CallContext, request: shapes.ListGrantsRequest
    ) -> shapes.ListGrantsResult:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(ctx, "ListGrants", record)
        if request.grant_id is not None:
            _check_grant_id(request.grant_id)
        limit = min(request.limit or DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
        after = markers.decode("grants", request.marker)
        if request.grantee_service_principal is not None:
            return shapes.ListGrantsResult(grants=(), truncated=False)  # none are stored
        rows = self._store.list_grants(
            record.key_id, request.grant_id, request.grantee_principal, after, limit + 1
        )
        page = rows[:limit]
        truncated = len(rows) > limit
        return shapes.ListGrantsResult(
            grants=tuple(_entry(record.arn, g) for g in page),
            next_marker=markers.encode("grants", page[-1].grant_id) if truncated else None,
            truncated=truncated,
        )

    def list_retirable_grants(
        self, ctx: CallContext, request: shapes.ListRetirableGrantsRequest
    ) -> shapes.ListGrantsResult:
        """Grants naming a retiring principal, on keys of the caller's tenant if it has one."""
        if request.retiring_principal is None and request.retiring_service_principal is None:
            raise ValidationException("RetiringPrincipal is required.")
        self._authorization.account(ctx, "ListRetirableGrants")
        limit = min(request.limit or DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
        after = markers.decode("retirable", request.marker)
        retiring = request.retiring_principal
        if retiring is None:
            return shapes.ListGrantsResult(grants=(), truncated=False)  # none are stored
        tenant = ctx.principal.tenant

        def visible(grant: GrantRecord) -> bool:
            if tenant is None:
                return True
            return self._authorization.tenant_of(self._directory.tags(grant.key_id)) == tenant

        page, next_after = visible_page(
            lambda cursor, count: self._store.list_retirable_grants(
                ctx.region, retiring, cursor, count
            ),
            lambda grant: grant.grant_id,
            visible,
            after,
            limit,
        )
        return shapes.ListGrantsResult(
            grants=tuple(
                _entry(self._directory.key_arn(ctx.partition, ctx.region, g.key_id), g)
                for g in page
            ),
            next_marker=None if next_after is None else markers.encode("retirable", next_after),
            truncated=next_after is not None,
        )

    # -- retiring and revoking -----------------------------------------------------------

    def retire_grant(self, ctx: CallContext, request: shapes.RetireGrantRequest) -> None:
        """Allowed for the grant's retiring principal, its grantee if the grant includes
        RetireGrant, or whoever the key policy (with IAM) allows kms:RetireGrant."""
        if request.grant_id is not None:
            _check_grant_id(request.grant_id)
        if request.grant_token is not None:
            grant = self._grants.grant_of(request.grant_token)
            if request.grant_id is not None and request.grant_id != grant.grant_id:
                raise InvalidGrantIdException("The grant ID does not match the grant token.")
            record = self._access.find(ctx, grant.key_id, allow_alias=False)
            if request.key_id is not None and (
                self._access.find(ctx, request.key_id, allow_alias=False).key_id != record.key_id
            ):
                raise NotFoundException("The grant token names a grant on another key.")
        elif request.key_id is not None and request.grant_id is not None:
            record = self._access.find(ctx, request.key_id, allow_alias=False)
            grant = self._grant_on(record, request.grant_id)
        else:
            raise ValidationException("Specify a GrantToken, or a KeyId and a GrantId.")
        caller = grantees_of(ctx.principal)
        allowed = grant.retiring_principal in caller or (
            grant.grantee_principal in caller and "RetireGrant" in grant.operations
        )
        self._authorization.key(ctx, "RetireGrant", record, allowed_by_grant=allowed)
        _dry_run(request.dry_run)
        self._delete(grant)

    def revoke_grant(self, ctx: CallContext, request: shapes.RevokeGrantRequest) -> None:
        _check_grant_id(request.grant_id)
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(ctx, "RevokeGrant", record)
        grant = self._grant_on(record, request.grant_id)
        _dry_run(request.dry_run)
        self._delete(grant)

    def _grant_on(self, record: KmsKeyRecord, grant_id: str) -> GrantRecord:
        grant = self._store.grant(grant_id)
        if grant is None or grant.key_id != record.key_id:
            raise NotFoundException(f"Grant ID {grant_id} not found for {record.arn}.")
        return grant

    def _delete(self, grant: GrantRecord) -> None:
        try:
            self._store.delete_grant(grant.grant_id)
        finally:
            self._grants.forget(grant.key_id)
