"""Destruction certificates as a service: issued for the reaper, served by the admin API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from strongroom.audit.chain import GENESIS_HASH
from strongroom.authorization import AccessRequest, Authorizer
from strongroom.clock import Clock
from strongroom.context import CallContext
from strongroom.errors import ResourceNotFoundException, ValidationException
from strongroom.tenancy import shapes
from strongroom.tenancy.certificates import (
    CertificateSigner,
    ChainPosition,
    DestructionFacts,
    issue,
)
from strongroom.tenancy.tenants import InvalidTenantId, TenantIdRule, tenant_arn


@dataclass(frozen=True, slots=True)
class StoredCertificate:
    """A certificate as issued: the signed JSON text, verbatim, and what finds it."""

    certificate_id: str
    tenant_id: str
    issued_at: datetime
    certificate: str


class CertificateStore(Protocol):
    def save(self, certificate: StoredCertificate) -> None: ...

    def latest_for(self, tenant_id: str) -> StoredCertificate | None:
        """The tenant's most recently issued certificate, if any."""
        ...


class ChainHeads(Protocol):
    """Where each region's audit chain ends now (the audit store)."""

    def head(self, region: str) -> tuple[int, bytes] | None: ...


class DestructionCertificates:
    """Issues a shredded tenant's certificate (``issue``, called by the offboarding reaper)
    and answers GetDestructionCertificate and GetDeploymentPublicKey.

    The certificate's audit chain position is the home region's chain head when it is
    issued: everything the trail recorded up to the destruction lies at or before it.
    """

    def __init__(
        self,
        store: CertificateStore,
        chain: ChainHeads,
        signer: CertificateSigner,
        authorizer: Authorizer,
        clock: Clock,
        *,
        account_id: str,
        region: str,
        id_rule: TenantIdRule,
    ) -> None:
        self._store = store
        self._chain = chain
        self._signer = signer
        self._authorizer = authorizer
        self._clock = clock
        self._account_id = account_id
        self._region = region
        self._id_rule = id_rule

    def issue(self, facts: DestructionFacts) -> str:
        """Sign a certificate of ``facts`` now and store it; returns its JSON text. Inside a
        unit of work it commits with the rest of that transaction."""
        head = self._chain.head(self._region)
        seq, digest = (0, GENESIS_HASH) if head is None else head
        issued_at = self._clock.now()
        certificate_id = str(uuid.uuid4())
        text = issue(
            facts,
            self._signer,
            ChainPosition(self._region, seq, digest),
            account_id=self._account_id,
            region=self._region,
            issued_at=issued_at,
            certificate_id=certificate_id,
        )
        self._store.save(StoredCertificate(certificate_id, facts.tenant_id, issued_at, text))
        return text

    def get_destruction_certificate(
        self, ctx: CallContext, request: shapes.TenantIdRequest
    ) -> shapes.GetDestructionCertificateResult:
        tenant_id = self._checked_id(request.tenant_id)
        self._authorizer.authorize(
            ctx,
            AccessRequest(
                action="strongroom:GetDestructionCertificate",
                resource=tenant_arn(ctx.partition, ctx.region, ctx.account_id, tenant_id),
                resource_tenant=tenant_id,
            ),
        )
        stored = self._store.latest_for(tenant_id)
        if stored is None:
            raise ResourceNotFoundException(
                f"Tenant {tenant_id} has no destruction certificate (it has not been shredded)."
            )
        return shapes.GetDestructionCertificateResult(certificate=stored.certificate)

    def get_deployment_public_key(
        self, ctx: CallContext, request: shapes.NoParametersRequest
    ) -> shapes.GetDeploymentPublicKeyResult:
        self._authorizer.authorize(ctx, AccessRequest("strongroom:GetDeploymentPublicKey", "*"))
        return shapes.GetDeploymentPublicKeyResult(
            public_key_pem=self._signer.public_key_pem().decode("ascii")
        )

    def _checked_id(self, tenant_id: str) -> str:
        try:
            self._id_rule.check(tenant_id)
        except InvalidTenantId as exc:
            raise ValidationException(str(exc)) from exc
        return tenant_id
