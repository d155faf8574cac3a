"""Offboarding: suspend and revoke at once, export the trail, shred when the window ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from strongroom.audit import export as exporting
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import InvalidStateException, ServiceError
from strongroom.identity import iam_shapes as iam
from strongroom.identity.iam_users import IamUsers
from strongroom.kms import shapes as kms
from strongroom.kms.grants import GrantAdministration
from strongroom.kms.key_administration import KeyAdministration
from strongroom.kms.key_rotation import KeyRotation
from strongroom.tenancy import shapes
from strongroom.tenancy import tenants as t
from strongroom.tenancy.administration import TenantAdministration, as_account
from strongroom.tenancy.certificates import DestructionFacts
from strongroom.tenancy.ports import TenantStore

log = logging.getLogger(__name__)

DEFAULT_PENDING_DAYS = 7
REAPER_BATCH = 100


@dataclass(frozen=True, slots=True)
class DestroyedMaterial:
    """What destroying a tenant's key or partitions took away, as the destruction records
    say: everything destroyed so far, by this call or an earlier, interrupted one."""

    key_arn: str
    versions: tuple[int, ...]
    partition_ids: tuple[str, ...]
    encryptions: int
    # When the material went; None if there was none to destroy.
    destroyed_at: datetime | None


class MaterialShredder(Protocol):
    """The KMS side of shredding: a dedicated key at once, or one value's partitions.

    Both destroy what is left (nothing, when repeated) and answer from the durable
    destruction records, so asking again after a crash gives the first answer."""

    def destroy_key(self, key_id: str) -> DestroyedMaterial: ...

    def destroy_partition(self, key_id: str, value: str) -> DestroyedMaterial: ...


class KmsShredder:
    """Shreds through KMS's key administration (keystore rows deleted, files scrubbed)."""

    def __init__(self, keys: KeyAdministration) -> None:
        self._keys = keys

    def destroy_key(self, key_id: str) -> DestroyedMaterial:
        done = self._keys.destroy_key_now(key_id, reason="TENANT_OFFBOARDED")
        done = self._keys.key_destruction(key_id) or done
        return DestroyedMaterial(
            done.key_arn,
            tuple(sorted(set(done.versions))),
            _ids(done.partition_ids),
            done.encryptions,
            done.destroyed_at,
        )

    def destroy_partition(self, key_id: str, value: str) -> DestroyedMaterial:
        done = self._keys.destroy_partition(key_id, value)
        recorded = self._keys.partition_destruction(key_id, value)
        if recorded is None:  # the tenant never had a partition: nothing to destroy
            return DestroyedMaterial(done.key_arn, (), (), 0, None)
        # The shared key lives on for the other tenants: only partitions are listed.
        return DestroyedMaterial(
            recorded.key_arn,
            (),
            _ids(recorded.partition_ids),
            recorded.encryptions,
            recorded.destroyed_at,
        )


class ShareRevoker(Protocol):
    def revoke_tenant_shares(self, tenant_id: str) -> int:
        """Delete every share to the tenant (and drop cached shares)."""
        ...


class SessionRevoker(Protocol):
    def revoke_sessions(self, tenant_id: str, role_name: str) -> int:
        """Delete every STS session bound to the tenant (of its role, or tagged with it)."""
        ...


def _ids(partition_ids: tuple[str, ...]) -> tuple[str, ...]:
    """Partition ids as the certificate lists them: distinct lower-case hex, ascending."""
    return tuple(sorted({p.lower() for p in partition_ids}))


class Offboarding:
    """OffboardTenant, RestoreTenant, GetDestructionCertificate's issuing side, and the
    reaper that shreds tenants whose window has ended."""

    def __init__(
        self,
        store: TenantStore,
        administration: TenantAdministration,
        *,
        users: IamUsers,
        grants: GrantAdministration,
        rotation: KeyRotation,
        sessions: SessionRevoker,
        shares: ShareRevoker,
        shredder: MaterialShredder,
        audit_export: exporting.ExportSource,
        public_key_pem: bytes | None,
        export_dir: Path,
        certify: Callable[[DestructionFacts], str],
        clock: Clock,
    ) -> None:
        self._store = store
        self._admin = administration
        self._users = users
        self._grants = grants
        self._rotation = rotation
        self._sessions = sessions
        self._shares = shares
        self._shredder = shredder
        self._audit_export = audit_export
        self._public_key_pem = public_key_pem
        self._export_dir = export_dir
        self._certify = certify
        self._clock = clock

    def offboard_tenant(
        self, ctx: CallContext, request: shapes.OffboardTenantRequest
    ) -> shapes.TenantResult:
        """Suspend (the tenant guard refuses its principals from now on), revoke its access
        keys, sessions and grants, stop its key's rotation, export its audit trail, and
        schedule the destruction of its key or partition."""
        admin = self._admin
        tenant_id = admin.checked_id(request.tenant_id)
        admin.authorize(ctx, "OffboardTenant", tenant_id)
        record = admin.existing(tenant_id)
        if record.status not in (t.ACTIVE, t.SUSPENDED):
            raise InvalidStateException(
                f"Tenant {tenant_id} is {record.status}; only an active or suspended tenant "
                "can be offboarded."
            )
        days = request.pending_window_in_days or DEFAULT_PENDING_DAYS
        now = self._clock.now()
        account = as_account(ctx)
        export_path = self._export_trail(tenant_id, now)
        with self._store.unit_of_work():
            record = admin.save(
                record,
                status=t.OFFBOARDING,
                offboarded_at=now,
                destruction_date=now + timedelta(days=days),
                audit_export=str(export_path),
            )
            self._revoke_access_keys(account, record)
            self._revoke_grants(account, record)
            if record.key_mode == t.DEDICATED:
                self._rotation.disable_key_rotation(
                    account, kms.DisableKeyRotationRequest(key_id=record.key_id)
                )
            self._sessions.revoke_sessions(tenant_id, record.role_name)
        admin.changed(tenant_id)
        # After the commit: a share to a tenant that is not active opens nothing anyway.
        self._shares.revoke_tenant_shares(tenant_id)
        return shapes.TenantResult(tenant=admin.describe(ctx, record))

    def _export_trail(self, tenant_id: str, now: datetime) -> Path:
        try:
            document, _count = exporting.export_tenant(
                self._audit_export, tenant_id, self._public_key_pem, start=None, end=None, now=now
            )
        except exporting.ExportRefused as exc:
            raise InvalidStateException(
                f"Tenant {tenant_id} was not offboarded: its audit trail cannot be exported "
                f"({exc}). Run `strongroom audit verify`."
            ) from exc
        path = self._export_dir / f"{tenant_id}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
        exporting.write_tenant_export(path, document)
        return path

    def _revoke_access_keys(self, account: CallContext, record: t.TenantRecord) -> None:
        try:
            listed = self._users.list_access_keys(
                account, iam.ListAccessKeysRequest(user_name=record.role_name)
            )
        except ServiceError:  # no tenant user (no access key was asked for)
            return
        for key in listed.access_key_metadata:
            if key.access_key_id is not None:
                self._users.delete_access_key(
                    account,
                    iam.DeleteAccessKeyRequest(
                        user_name=record.role_name, access_key_id=key.access_key_id
                    ),
                )

    def _revoke_grants(self, account: CallContext, record: t.TenantRecord) -> None:
        """Every grant on a dedicated key; on a shared key, the grants to the tenant's
        principals."""
        role_arn_end = f":role{t.ROLE_PATH}{record.role_name}"
        user_arn_end = f":user{t.ROLE_PATH}{record.role_name}"
        session_part = f":assumed-role/{record.role_name}/"
        marker = None
        doomed: list[str] = []
        while True:
            page = self._grants.list_grants(
                account, kms.ListGrantsRequest(key_id=record.key_id, marker=marker)
            )
            for grant in page.grants or ():
                grantee = grant.grantee_principal or ""
                mine = (
                    record.key_mode == t.DEDICATED
                    or grantee.endswith((role_arn_end, user_arn_end))
                    or session_part in grantee
                )
                if mine and grant.grant_id is not None:
                    doomed.append(grant.grant_id)
            if not page.truncated or not page.next_marker:
                break
            marker = page.next_marker
        for grant_id in doomed:
            self._grants.revoke_grant(
                account, kms.RevokeGrantRequest(key_id=record.key_id, grant_id=grant_id)
            )

    def restore_tenant(
        self, ctx: CallContext, request: shapes.TenantIdRequest
    ) -> shapes.TenantResult:
        """Cancel an offboarding whose window has not ended: the tenant is active again
        (its revoked access keys, sessions and grants stay revoked; issue new ones)."""
        admin = self._admin
        tenant_id = admin.checked_id(request.tenant_id)
        admin.authorize(ctx, "RestoreTenant", tenant_id)
        record = admin.existing(tenant_id)
        if record.status != t.OFFBOARDING or (
            record.destruction_date is not None and record.destruction_date <= self._clock.now()
        ):
            raise InvalidStateException(
                f"Tenant {tenant_id} is {record.status}; only an offboarding tenant whose "
                "window has not ended can be restored."
            )
        record = admin.save(record, status=t.ACTIVE, offboarded_at=None, destruction_date=None)
        return shapes.TenantResult(tenant=admin.describe(ctx, record))

    def shred_due_tenants(self) -> int:
        """The reaper: destroy the key or partition of every tenant whose window ended,
        then issue its destruction certificate. Material goes first, so no crash leaves a
        SHREDDED tenant with decryptable material; the certificate is made from what the
        destruction recorded, so a crash before it is issued costs nothing but time: the
        next run destroys nothing more and certifies what the first one destroyed."""
        done = 0
        for record in self._store.due_for_destruction(self._clock.now(), REAPER_BATCH):
            try:
                self._shred(record)
                done += 1
            except Exception:
                log.exception(
                    "shredding tenant %s failed; retried on the next run", record.tenant_id
                )
        return done

    def _shred(self, record: t.TenantRecord) -> None:
        # Idempotent: a retry finds nothing left and answers from the records.
        if record.key_mode == t.DEDICATED:
            destroyed = self._shredder.destroy_key(record.key_id)
        else:
            destroyed = self._shredder.destroy_partition(record.key_id, record.tenant_id)
        now = self._clock.now()
        facts = DestructionFacts(
            tenant_id=record.tenant_id,
            display_name=record.display_name,
            key_mode=record.key_mode,
            key_id=record.key_id,
            key_arn=destroyed.key_arn,
            key_versions=destroyed.versions,
            partition_ids=destroyed.partition_ids,
            # The secret versions outlive the shredding (their values no longer open), so
            # a retry counts the same ones.
            secret_versions=self._store.count_secret_versions(record.tenant_id),
            ciphertexts=destroyed.encryptions,
            offboarded_at=record.offboarded_at or now,
            scheduled_for=record.destruction_date or now,
            destroyed_at=destroyed.destroyed_at or now,
        )
        # The certificate and SHREDDED commit together: a tenant still OFFBOARDING has no
        # certificate, and one SHREDDED is never due again; of two processes shredding it
        # at once, the second's save finds the row changed and rolls its certificate back.
        with self._store.unit_of_work():
            self._certify(facts)
            self._admin.save(record, status=t.SHREDDED, destroyed_at=facts.destroyed_at)
        self._admin.changed(record.tenant_id)
        log.warning("tenant %s shredded; destruction certificate issued", record.tenant_id)
