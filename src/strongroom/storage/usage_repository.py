"""Tenant usage in the data database: the roll-up from the audit trail, and what it wrote."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from strongroom.storage import engines
from strongroom.storage.schema import (
    audit_chain_heads,
    audit_events,
    kms_key_tags,
    kms_keys,
    secrets,
    tenant_usage_daily,
    tenant_usage_stored,
    tenant_usage_watermarks,
    tenants,
)
from strongroom.tenancy.metering import UNMETERED_SOURCES, DailyCalls, RollUp, StoredCounts
from strongroom.tenancy.tenants import DEDICATED

# Events counted per transaction: SQLite's write lock is held while a batch is read.
ROLL_UP_BATCH = 10_000
_EPOCH_DAY = date(1970, 1, 1)
_MICROS_PER_DAY = 86_400 * 1_000_000
# AWS charges nothing for a key scheduled for deletion.
_UNBILLED_KEY_STATES = ("PendingDeletion",)
_TENANT_WIDTH = tenant_usage_stored.c.tenant.type.length  # type: ignore[attr-defined]

_Counts = tuple[int, int]
# By subscript: ``.c.keys`` is the column collection's keys() method.
_KEYS = tenant_usage_stored.c["keys"]


class SqlUsageStore:
    """UsageStore on the data engine. ``tenant_tag_key`` is the tag that binds a KMS key to
    a tenant (the deployment's tenant tag)."""

    def __init__(self, engine: Engine, *, tenant_tag_key: str) -> None:
        self._engine = engine
        self._tenant_tag_key = tenant_tag_key

    # -- the roll-up ---------------------------------------------------------------------

    def roll_up(self, today: date, *, tenant: str | None = None) -> RollUp:
        events = 0
        for region in self._regions():
            while True:
                counted, caught_up = self._count_batch(region)
                events += counted
                if caught_up:
                    break
        return RollUp(events=events, snapshots=self._snapshot(today, tenant))

    def _regions(self) -> list[str]:
        with engines.transaction(self._engine, write=False) as connection:
            return list(connection.execute(select(audit_chain_heads.c.region)).scalars())

    def _count_batch(self, region: str) -> tuple[int, bool]:
        """Count the next batch of the region's events past its watermark and move the
        watermark past them; (events counted, caught up with head).

        The counting is a read: the write transaction only adds the counts and moves the
        watermark, so the audit trail's appends (which need the same write lock on SQLite)
        never wait for a scan of thousands of events. If the watermark moved in between
        (another server counted that batch), nothing is written and the caller goes on."""
        watermarks = tenant_usage_watermarks
        with engines.transaction(self._engine, write=False) as connection:
            watermark = int(
                connection.execute(
                    select(watermarks.c.seq).where(watermarks.c.region == region)
                ).scalar()
                or 0
            )
            # Seqs at or below the head as read are committed: the head moves in the
            # transaction that appends the events.
            head = int(
                connection.execute(
                    select(audit_chain_heads.c.seq).where(audit_chain_heads.c.region == region)
                ).scalar()
                or 0
            )
            upper = min(head, watermark + ROLL_UP_BATCH)
            if upper <= watermark:
                return 0, True
            rows = _calls_between(connection, region, watermark, upper)
        with engines.transaction(self._engine, write=True) as connection:
            # The watermark row is locked (FOR UPDATE on PostgreSQL; SQLite's BEGIN
            # IMMEDIATE serialises writers): two servers rolling up never count one batch
            # twice.
            if self._locked_watermark(connection, region) != watermark:
                return 0, False
            if rows:
                daily = tenant_usage_daily
                insert = _insert(connection)(daily)
                connection.execute(
                    insert.on_conflict_do_update(
                        index_elements=[
                            daily.c.tenant,
                            daily.c.day,
                            daily.c.event_source,
                            daily.c.event_name,
                        ],
                        set_={"calls": daily.c.calls + insert.excluded.calls},
                    ),
                    rows,
                )
            connection.execute(
                update(watermarks).where(watermarks.c.region == region).values(seq=upper)
            )
            return sum(row["calls"] for row in rows), upper >= head

    @staticmethod
    def _locked_watermark(connection: Connection, region: str) -> int:
        watermarks = tenant_usage_watermarks
        query = select(watermarks.c.seq).where(watermarks.c.region == region).with_for_update()
        seq = connection.execute(query).scalar()
        if seq is None:
            connection.execute(
                _insert(connection)(watermarks)
                .values(region=region, seq=0)
                .on_conflict_do_nothing()
            )
            seq = connection.execute(query).scalar()
        return int(seq or 0)

    def _snapshot(self, today: date, tenant: str | None) -> int:
        """Write today's stored counts of each tenant (or of ``tenant``) whose counts differ
        from its previous snapshot; drop today's where they are the same again (a day
        without a row carries the previous one forward). Returns rows written or dropped."""
        day = today.isoformat()
        with engines.transaction(self._engine, write=False) as connection:
            secret_counts = self._secret_counts(connection, tenant)
            key_counts = self._key_counts(connection, tenant)
            previous = _latest_before(connection, day, tenant)
            todays = _snapshots_of_day(connection, day, tenant)
        names = set(secret_counts) | set(key_counts) | set(previous) | set(todays)
        if tenant is not None:
            names = {tenant}
        upserts: list[dict[str, Any]] = []
        drops: list[str] = []
        for name in sorted(names):
            current = (secret_counts.get(name, 0), key_counts.get(name, 0))
            if current == previous.get(name, (0, 0)):
                if name in todays:
                    drops.append(name)
            elif todays.get(name) != current:
                upserts.append(
                    {"tenant": name, "day": day, "secrets": current[0], "keys": current[1]}
                )
        if not upserts and not drops:
            return 0
        stored = tenant_usage_stored
        with engines.transaction(self._engine, write=True) as connection:
            if drops:
                connection.execute(
                    delete(stored).where(and_(stored.c.day == day, stored.c.tenant.in_(drops)))
                )
            if upserts:
                insert = _insert(connection)(stored)
                connection.execute(
                    insert.on_conflict_do_update(
                        index_elements=[stored.c.tenant, stored.c.day],
                        set_={
                            "secrets": insert.excluded.secrets,
                            "keys": insert.excluded["keys"],
                        },
                    ),
                    upserts,
                )
        return len(upserts) + len(drops)

    @staticmethod
    def _secret_counts(connection: Connection, tenant: str | None) -> dict[str, int]:
        # A secret marked for deletion is not billed; one purged is gone from the table.
        condition = and_(secrets.c.tenant.is_not(None), secrets.c.deleted_at.is_(None))
        if tenant is not None:
            condition = and_(condition, secrets.c.tenant == tenant)
        rows = connection.execute(
            select(secrets.c.tenant, func.count()).where(condition).group_by(secrets.c.tenant)
        )
        return {name: int(count) for name, count in rows}

    def _key_counts(self, connection: Connection, tenant: str | None) -> dict[str, int]:
        billed = kms_keys.c.key_state.not_in(_UNBILLED_KEY_STATES)
        tagged_condition = and_(
            kms_key_tags.c.tag_key == self._tenant_tag_key,
            func.length(kms_key_tags.c.tag_value) <= _TENANT_WIDTH,
            billed,
        )
        dedicated_condition = and_(tenants.c.key_mode == DEDICATED, billed)
        if tenant is not None:
            tagged_condition = and_(tagged_condition, kms_key_tags.c.tag_value == tenant)
            dedicated_condition = and_(dedicated_condition, tenants.c.tenant_id == tenant)
        # A dedicated tenant key is tagged with its tenant; the tenants table is asked too,
        # so a tag removed by hand does not make the key disappear from the bill.
        owned = union(
            select(kms_key_tags.c.tag_value.label("tenant"), kms_key_tags.c.key_id.label("key"))
            .join(kms_keys, kms_keys.c.key_id == kms_key_tags.c.key_id)
            .where(tagged_condition),
            select(tenants.c.tenant_id.label("tenant"), tenants.c.key_id.label("key"))
            .join(kms_keys, kms_keys.c.key_id == tenants.c.key_id)
            .where(dedicated_condition),
        ).subquery()
        rows = connection.execute(select(owned.c.tenant, func.count()).group_by(owned.c.tenant))
        return {name: int(count) for name, count in rows}

    # -- reading -------------------------------------------------------------------------

    def daily_calls(self, tenant: str | None, start: date, end: date) -> list[DailyCalls]:
        daily = tenant_usage_daily
        condition = and_(daily.c.day >= start.isoformat(), daily.c.day <= end.isoformat())
        if tenant is not None:
            condition = and_(condition, daily.c.tenant == tenant)
        with engines.transaction(self._engine, write=False) as connection:
            rows = connection.execute(select(daily).where(condition)).all()
        return [
            DailyCalls(
                row.tenant, date.fromisoformat(row.day), row.event_source, row.event_name, row.calls
            )
            for row in rows
        ]

    def stored_counts(self, tenant: str | None, start: date, end: date) -> list[StoredCounts]:
        stored = tenant_usage_stored
        condition = and_(stored.c.day >= start.isoformat(), stored.c.day <= end.isoformat())
        if tenant is not None:
            condition = and_(condition, stored.c.tenant == tenant)
        with engines.transaction(self._engine, write=False) as connection:
            before = _latest_before(connection, start.isoformat(), tenant)
            rows = connection.execute(
                select(stored.c.tenant, stored.c.day, stored.c.secrets, _KEYS).where(condition)
            ).all()
        carried = [
            StoredCounts(name, start - timedelta(days=1), counts[0], counts[1])
            for name, counts in before.items()
        ]
        return carried + [
            StoredCounts(name, date.fromisoformat(day), int(secrets_), int(keys))
            for name, day, secrets_, keys in rows
        ]

    def has_usage(self, tenant: str) -> bool:
        with engines.transaction(self._engine, write=False) as connection:
            found = connection.execute(
                select(
                    or_(
                        exists().where(tenant_usage_daily.c.tenant == tenant),
                        exists().where(tenant_usage_stored.c.tenant == tenant),
                    )
                )
            ).scalar()
        return bool(found)


def _insert(connection: Connection) -> Any:
    """The dialect's INSERT, which has ON CONFLICT."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _latest_before(connection: Connection, day: str, tenant: str | None) -> Mapping[str, _Counts]:
    """Each tenant's (secrets, keys) of its newest snapshot before ``day``."""
    stored = tenant_usage_stored
    condition: ColumnElement[bool] = stored.c.day < day
    if tenant is not None:
        condition = and_(condition, stored.c.tenant == tenant)
    newest = (
        select(stored.c.tenant, func.max(stored.c.day).label("day"))
        .where(condition)
        .group_by(stored.c.tenant)
        .subquery()
    )
    rows = connection.execute(
        select(stored.c.tenant, stored.c.secrets, _KEYS).join(
            newest, and_(stored.c.tenant == newest.c.tenant, stored.c.day == newest.c.day)
        )
    )
    return {name: (int(secrets_), int(keys)) for name, secrets_, keys in rows}


def _snapshots_of_day(
    connection: Connection, day: str, tenant: str | None
) -> Mapping[str, _Counts]:
    stored = tenant_usage_stored
    condition: ColumnElement[bool] = stored.c.day == day
    if tenant is not None:
        condition = and_(condition, stored.c.tenant == tenant)
    rows = connection.execute(select(stored.c.tenant, stored.c.secrets, _KEYS).where(condition))
    return {name: (int(secrets_), int(keys)) for name, secrets_, keys in rows}


def _calls_between(
    connection: Connection, region: str, after: int, upto: int
) -> list[dict[str, Any]]:
    """The metered calls of the region's events with seq in (after, upto], per tenant, day,
    source and operation."""
    day = type_coerce(audit_events.c.event_time, BigInteger).op("/", return_type=BigInteger)(
        literal_column(str(_MICROS_PER_DAY))
    )
    grouped = connection.execute(
        select(
            audit_events.c.tenant,
            day,
            audit_events.c.event_source,
            audit_events.c.event_name,
            func.count(),
        )
        .where(
            and_(
                audit_events.c.region == region,
                audit_events.c.seq > after,
                audit_events.c.seq <= upto,
                audit_events.c.tenant.is_not(None),
                audit_events.c.event_source.not_in(sorted(UNMETERED_SOURCES)),
            )
        )
        .group_by(
            audit_events.c.tenant,
            day,
            audit_events.c.event_source,
            audit_events.c.event_name,
        )
    ).all()
    return [
        {
            "tenant": tenant,
            "day": (_EPOCH_DAY + timedelta(days=int(day_number))).isoformat(),
            "event_source": source,
            "event_name": name,
            "calls": int(count),
        }
        for tenant, day_number, source, name, count in grouped
    ]
