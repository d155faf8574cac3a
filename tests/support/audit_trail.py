"""Plant audit events in a running server's trail through the storage layer's append path,
each test in a region of its own, so its (regional) lookups see only its events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.ports import StoredEvent
from strongroom.storage import engines
from strongroom.storage.audit_repository import SqlAuditStore
from tests.support.principals import ACCOUNT
from tests.support.server import ROOT_ACCESS_KEY_ID, RunningServer

ROOT = UserIdentity(
    type="Root",
    principal_id=ACCOUNT,
    arn=f"arn:aws:iam::{ACCOUNT}:root",
    account_id=ACCOUNT,
    access_key_id=ROOT_ACCESS_KEY_ID,
)


def quiet_region() -> str:
    """A region name no other test uses (a dev server serves any well-formed region)."""
    letters = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])
    return f"us-t{letters}-1"


def recently(minutes: float = 30) -> datetime:
    """A moment this long ago (recent, so retention never prunes what a test plants)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def audit_event(
    when: datetime,
    name: str,
    *,
    source: str = "kms.amazonaws.com",
    identity: UserIdentity = ROOT,
    resources: Sequence[AuditResource] = (),
    tenant: str | None = None,
    read_only: bool = True,
    request_parameters: Mapping[str, Any] | None = None,
    region: str,
) -> AuditEvent:
    return AuditEvent(
        event_id=str(uuid.uuid4()),
        event_time=when,
        event_source=source,
        event_name=name,
        aws_region=region,
        source_ip="127.0.0.1",
        user_agent="planted-by-test",
        request_id=str(uuid.uuid4()),
        read_only=read_only,
        user_identity=identity,
        request_parameters=request_parameters,
        resources=tuple(resources),
        tenant=tenant,
        recipient_account_id=ACCOUNT,
    )


def plant(server: RunningServer, events: Sequence[AuditEvent]) -> list[StoredEvent]:
    """Append ``events`` to the server's trail (chained, in one transaction)."""
    engine = engines.create(f"sqlite+pysqlite:///{server.data_dir / 'data.db'}")
    try:
        return SqlAuditStore(engine).append(events)
    finally:
        engine.dispose()
