"""The keystore database: wrapped domain keys and wrapped KMS key material, nothing else."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.kms.ports import VersionExists, WrappedDomainKey, WrappedKeyVersion
from strongroom.storage import engines
from strongroom.storage.schema import domain_keys, key_versions

log = logging.getLogger(__name__)

# A truncating checkpoint waits for readers of older snapshots; give it a few short tries
# rather than the connection's 30 s busy timeout.
_CHECKPOINT_ATTEMPTS = 5
_CHECKPOINT_BUSY_TIMEOUT_MS = 500
_CHECKPOINT_PAUSE_SECONDS = 0.05


def _pragma(cursor: Any, statement: str) -> int:
    """The first column of a PRAGMA's one row, as an integer."""
    cursor.execute(statement)
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{statement} returned no row")
    return int(row[0])


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

    def destroy_key_versions(self, key_id: str) -> int:
        with engines.transaction(self._engine, write=True) as c:
            # SQLite (secure_delete=ON, see engines) zeroes the freed cells in the page.
            deleted = c.execute(delete(key_versions).where(key_versions.c.key_id == key_id))
            count = deleted.rowcount
        if self._engine.dialect.name == "sqlite":
            # Even when nothing was deleted: a retry after a busy checkpoint finishes the job.
            self._truncate_wal()
        # PostgreSQL: the deleted tuples stay in the heap file until VACUUM reclaims (and
        # later reuse overwrites) them; plain autovacuum does that, VACUUM FULL is not run.
        return count

    def _truncate_wal(self) -> None:
        """Copy the zeroed pages into the database file and empty the WAL, which still
        holds page images with the old ciphertexts (SQLite only)."""
        raw = self._engine.raw_connection()
        try:
            # Outside any transaction: the connection is in autocommit (see engines).
            cursor = raw.cursor()
            usual_timeout = _pragma(cursor, "PRAGMA busy_timeout")
            try:
                cursor.execute(f"PRAGMA busy_timeout={_CHECKPOINT_BUSY_TIMEOUT_MS}")
                for attempt in range(_CHECKPOINT_ATTEMPTS):
                    # (busy, frames in the WAL, frames checkpointed)
                    if _pragma(cursor, "PRAGMA wal_checkpoint(TRUNCATE)") == 0:
                        return
                    if attempt + 1 < _CHECKPOINT_ATTEMPTS:
                        time.sleep(_CHECKPOINT_PAUSE_SECONDS)
                log.warning(
                    "keystore WAL checkpoint stayed busy; destroyed key material may remain "
                    "in the WAL file until the next full checkpoint"
                )
            finally:
                cursor.execute(f"PRAGMA busy_timeout={usual_timeout}")
                cursor.close()
        finally:
            raw.close()

    def reset(self) -> None:
        """Destroy all key material except the domain keys (dev mode reset)."""
        with engines.transaction(self._engine, write=True) as c:
            c.execute(delete(key_versions))
