"""The keystore database: wrapped domain keys and wrapped KMS key material, nothing else."""

from __future__ import annotations

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import VersionExists, WrappedDomainKey, WrappedKeyVersion
from strongroom.storage import engines
from strongroom.storage.schema import domain_keys, key_versions


class SqlKeyMaterialStore:
    """KeyMaterialStore on its own engine (a database separate from the data)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def domain_keys(self) -> list[WrappedDomainKey]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(select(domain_keys).order_by(domain_keys.c.created_at))
            return [WrappedDomainKey(r.id, r.created_at, r.wrapped) for r in rows]

    def insert_domain_key(self, key: WrappedDomainKey) -> None:
        with engines.transaction(self._engine, write=True) as c:
            c.execute(
                insert(domain_keys).values(
                    id=key.id, created_at=key.created_at, wrapped=key.wrapped
                )
            )

    def key_versions(self, key_id: str) -> list[WrappedKeyVersion]:
        with engines.transaction(self._engine, write=False) as c:
            rows = c.execute(
                select(key_versions)
                .where(key_versions.c.key_id == key_id)
                .order_by(key_versions.c.version)
            )
            return [
                WrappedKeyVersion(
                    key_id=r.key_id,
                    version=r.version,
                    domain_key_id=r.domain_key_id,
                    created_at=r.created_at,
                    encryptions_reserved=r.encryptions_reserved,
                    wrapped=r.wrapped,
                )
                for r in rows
            ]

    def insert_key_version(self, version: WrappedKeyVersion) -> None:
        try:
            with engines.transaction(self._engine, write=True) as c:
                c.execute(
                    insert(key_versions).values(
                        key_id=version.key_id,
                        version=version.version,
                        domain_key_id=version.domain_key_id,
                        created_at=version.created_at,
                        encryptions_reserved=version.encryptions_reserved,
                        wrapped=version.wrapped,
                    )
                )
        except IntegrityError as exc:
            raise VersionExists(version.key_id) from exc

    def reserve_encryptions(self, key_id: str, version: int, count: int, budget: int) -> bool:
        with engines.transaction(self._engine, write=True) as c:
            result = c.execute(
                update(key_versions)
                .where(
                    and_(
                        key_versions.c.key_id == key_id,
                        key_versions.c.version == version,
                        key_versions.c.encryptions_reserved + count <= budget,
                    )
                )
                .values(encryptions_reserved=key_versions.c.encryptions_reserved + count)
            )
            return result.rowcount == 1

    def reset(self) -> None:
        """Destroy all key material except the domain keys (dev mode reset)."""
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(key_versions))
