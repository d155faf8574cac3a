"""Issued destruction certificates in the data database, verbatim, by tenant."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from strongroom.storage import engines
from strongroom.storage.schema import tenant_destruction_certificates as certificates
from strongroom.tenancy.certificate_service import StoredCertificate


class SqlCertificateStore:
    """CertificateStore on the data engine (joins a unit of work open in the thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, certificate: StoredCertificate) -> None:
        with engines.transaction(self._engine, write=True) as connection:
            connection.execute(
                insert(certificates).values(
                    certificate_id=certificate.certificate_id,
                    tenant_id=certificate.tenant_id,
                    issued_at=certificate.issued_at,
                    certificate=certificate.certificate,
                )
            )

    def latest_for(self, tenant_id: str) -> StoredCertificate | None:
        with engines.transaction(self._engine, write=False) as connection:
            row = connection.execute(
                select(certificates)
                .where(certificates.c.tenant_id == tenant_id)
                # Two issued in one microsecond (a retried reaper) still give one answer.
                .order_by(certificates.c.issued_at.desc(), certificates.c.certificate_id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return StoredCertificate(row.certificate_id, row.tenant_id, row.issued_at, row.certificate)
