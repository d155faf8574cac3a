"""Deployment signing keys in the keystore database (wrapped private key, clear public key)."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from strongroom.audit.signing_key import StoredSigningKey
from strongroom.storage import engines
from strongroom.storage.schema import signing_keys


class SqlSigningKeyStore:
    """SigningKeyStore on the keystore engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def signing_key(self, name: str) -> StoredSigningKey | None:
        with engines.transaction(self._engine, write=False) as connection:
            row = connection.execute(
                select(signing_keys).where(signing_keys.c.name == name)
            ).first()
        if row is None:
            return None
        return StoredSigningKey(
            name=row.name,
            created_at=row.created_at,
            algorithm=row.algorithm,
            public_key_pem=bytes(row.public_key),
            wrapped=bytes(row.wrapped),
        )

    def insert_signing_key(self, key: StoredSigningKey) -> bool:
        try:
            with engines.transaction(self._engine, write=True) as connection:
                connection.execute(
                    insert(signing_keys).values(
                        name=key.name,
                        created_at=key.created_at,
                        algorithm=key.algorithm,
                        public_key=key.public_key_pem,
                        wrapped=key.wrapped,
                    )
                )
        except IntegrityError:
            return False
        return True
