"""The lookup columns and resource rows a record determines: what append writes, verify checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

# The widths of the lookup columns (storage/schema.py; a test keeps the two in step). The
# columns are copies and the chained record keeps the full value: clipping keeps an
# unusually long field from failing (and so failing closed) a whole batch on PostgreSQL.
EVENT_NAME_LENGTH = 128
EVENT_SOURCE_LENGTH = 64
USERNAME_LENGTH = 256
ACCESS_KEY_ID_LENGTH = 32
PRINCIPAL_ARN_LENGTH = 2048
TENANT_LENGTH = 64
ERROR_CODE_LENGTH = 128
EVENT_TYPE_LENGTH = 32
RESOURCE_NAME_LENGTH = 2048
RESOURCE_TYPE_LENGTH = 64

# The audit_events columns besides seq and the chain's own (record, previous_hash, hash).
COLUMNS = (
    "region",
    "event_id",
    "event_time",
    "event_name",
    "event_source",
    "read_only",
    "username",
    "access_key_id",
    "principal_arn",
    "tenant",
    "error_code",
    "event_type",
)
RESOURCES = "audit_event_resources"
# The columns the lookup tables copy (audit_lookup_events, besides region and seq).
COPIED_COLUMNS = (
    "event_time",
    "event_name",
    "event_source",
    "read_only",
    "username",
    "access_key_id",
    "principal_arn",
    "tenant",
)
COPIED_RESOURCES = "audit_lookup_resources"


class IndexedResource(NamedTuple):
    """One audit_event_resources row of an event: a name it is found by (its ARN, or the
    name the caller used), the resource's type, and the event's time."""

    name: str
    type: str
    event_time: datetime


@dataclass(frozen=True, slots=True)
class IndexFields:
    """An event's lookup columns (as audit_events holds them: ``read_only`` is 0 or 1) and
    its resource rows."""

    region: str
    event_id: str
    event_time: datetime
    event_name: str
    event_source: str
    read_only: int
    username: str | None
    access_key_id: str | None
    principal_arn: str | None
    tenant: str | None
    error_code: str | None
    event_type: str
    resources: frozenset[IndexedResource]


@dataclass(frozen=True, slots=True)
class LookupCopy:
    """An event's row and resource rows in the lookup tables, as read for verification;
    ``missing``: the lookup head is past the event and it has no row there."""

    event_time: datetime | None = None
    event_name: str | None = None
    event_source: str | None = None
    read_only: int | None = None
    username: str | None = None
    access_key_id: str | None = None
    principal_arn: str | None = None
    tenant: str | None = None
    resources: frozenset[IndexedResource] = frozenset()
    missing: bool = False
    beyond_head: bool = False  # a row for an event the lookup head has not reached


def copy_differences(copy: LookupCopy, derived: IndexFields) -> list[str]:
    """The copied columns (``audit_lookup_resources`` for the resource rows) that are not
    what the record determines."""
    found = [c for c in COPIED_COLUMNS if getattr(copy, c) != getattr(derived, c)]
    if copy.resources != derived.resources:
        found.append(COPIED_RESOURCES)
    return found


def of_record(record: Mapping[str, Any]) -> IndexFields:
    """The lookup columns and resource rows of the event whose CloudTrail record (as
    ``AuditEvent.to_cloudtrail`` builds it, or as parsed back from the stored bytes) is
    ``record``."""
    identity: Mapping[str, Any] = record["userIdentity"]
    when = event_time(record["eventTime"])
    called: Mapping[str, str] = record.get("resourceNames") or {}
    names: dict[str, str] = {}
    for resource in record["resources"]:
        kind = resource["type"][:RESOURCE_TYPE_LENGTH]
        arn = resource.get("ARN")
        # Found by its ARN and by the name the caller used, if the event names one.
        for name in (arn, called.get(arn)):
            if name:
                names.setdefault(name[:RESOURCE_NAME_LENGTH], kind)
    return IndexFields(
        region=record["awsRegion"],
        event_id=record["eventID"],
        event_time=when,
        event_name=record["eventName"][:EVENT_NAME_LENGTH],
        event_source=record["eventSource"][:EVENT_SOURCE_LENGTH],
        read_only=1 if record["readOnly"] else 0,
        username=_clip(username(identity), USERNAME_LENGTH),
        access_key_id=_clip(identity.get("accessKeyId"), ACCESS_KEY_ID_LENGTH),
        principal_arn=_clip(identity.get("arn"), PRINCIPAL_ARN_LENGTH),
        tenant=_clip(record.get("tenant"), TENANT_LENGTH),
        error_code=_clip(record.get("errorCode"), ERROR_CODE_LENGTH),
        event_type=record["eventType"][:EVENT_TYPE_LENGTH],
        resources=frozenset(IndexedResource(name, kind, when) for name, kind in names.items()),
    )


def event_time(text: str) -> datetime:
    """The record's eventTime ("2026-03-01T09:00:00Z", whole seconds as CloudTrail's) as
    a UTC instant: the time the event is stored and looked up at."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def username(identity: Mapping[str, Any]) -> str | None:
    """What CloudTrail's Username lookup attribute matches: the IAM user name, the role
    session name of an assumed role, or "root"."""
    name: str | None = identity.get("userName")
    if name:
        return name
    kind, arn = identity.get("type"), identity.get("arn")
    if kind == "AssumedRole" and arn:
        return str(arn).rsplit("/", 1)[-1]
    if kind == "Root":
        return "root"
    return None


def differences(stored: IndexFields, derived: IndexFields) -> list[str]:
    """The columns (by name; ``audit_event_resources`` for the resource rows) whose stored
    values are not the ones the record determines."""
    found = [c for c in COLUMNS if getattr(stored, c) != getattr(derived, c)]
    if stored.resources != derived.resources:
        found.append(RESOURCES)
    return found


def resource_differences(stored: IndexFields, derived: IndexFields) -> str:
    """How the stored resource rows differ from the record's, briefly (the first of each)."""
    by_name = {r.name: r for r in derived.resources}
    kept = {r.name: r for r in stored.resources}
    parts: list[str] = []
    missing = sorted(set(by_name) - set(kept))
    if missing:
        parts.append(f"{len(missing)} missing (first {missing[0]!r})")
    extra = sorted(set(kept) - set(by_name))
    if extra:
        parts.append(f"{len(extra)} not in the record (first {extra[0]!r})")
    changed = sorted(n for n in set(kept) & set(by_name) if kept[n] != by_name[n])
    if changed:
        parts.append(f"{len(changed)} with another type or time (first {changed[0]!r})")
    return "; ".join(parts)


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]
