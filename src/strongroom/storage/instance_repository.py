"""The live server processes sharing one database: each one's heartbeat in server_instances."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Engine, delete, func, select, update

from strongroom.clock import Clock
from strongroom.storage import engines
from strongroom.storage.schema import server_instances

HEARTBEAT_SECONDS = 2.0
# A process whose last heartbeat is older than this is not counted (three missed beats).
LIVE_SECONDS = 6.0
# Rows of processes gone this long are deleted by whichever process beats next.
FORGET_SECONDS = 300.0


class SqlServerInstances:
    """This process's row in ``server_instances`` and the count of live processes.

    Times come from this host's clock (UTC); hosts are assumed NTP-synchronised to well
    within ``LIVE_SECONDS``.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        instance_id: str | None = None,
        live_seconds: float = LIVE_SECONDS,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.instance_id = instance_id or str(uuid.uuid4())
        self._live = timedelta(seconds=live_seconds)
        self._forget = timedelta(seconds=max(FORGET_SECONDS, live_seconds))
        self._started = clock.now()

    def heartbeat(self) -> int:
        """Record that this process is alive; return how many processes are (at least 1)."""
        now = self._clock.now()
        with engines.transaction(self._engine, write=True) as c:
            beat = c.execute(
                update(server_instances)
                .where(server_instances.c.instance_id == self.instance_id)
                .values(heartbeat_at=now)
            )
            if beat.rowcount == 0:
                c.execute(
                    server_instances.insert().values(
                        instance_id=self.instance_id, started_at=self._started, heartbeat_at=now
                    )
                )
            c.execute(
                delete(server_instances).where(server_instances.c.heartbeat_at < now - self._forget)
            )
            live = c.execute(
                select(func.count()).where(server_instances.c.heartbeat_at >= now - self._live)
            ).scalar_one()
        return max(1, int(live))

    def leave(self) -> None:
        """Remove this process's row, so the others take up its share at their next beat."""
        with engines.transaction(self._engine, write=True) as c:
            c.execute(
                delete(server_instances).where(server_instances.c.instance_id == self.instance_id)
            )
