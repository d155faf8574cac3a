"""The audit lookup index: the trail's lookup columns copied into tables of their own.

An append wrote eight secondary indexes of audit_events and two of audit_event_resources
in its durable commit. This moves them to audit_lookup_events and audit_lookup_resources,
filled behind the trail in large batches, and copies what the trail holds today.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_LOOKUP_COLUMNS = (
    "event_name",
    "event_source",
    "read_only",
    "username",
    "access_key_id",
    "principal_arn",
    "tenant",
)
# Moved from the trail tables (0006) to the lookup tables; ix_audit_events_region_event_time
# stays on the trail (retention reads it) and is made on the lookup table as well.
_EVENT_INDEXES = (
    "event_name",
    "username",
    "access_key_id",
    "tenant",
    "event_source",
    "principal_arn",
    "read_only",
)
_RESOURCE_INDEXES = ("resource_name", "resource_type")


def upgrade() -> None:
    op.create_table(
        "audit_lookup_events",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("event_time", UtcTimestamp(), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("event_source", sa.String(64), nullable=False),
        sa.Column("read_only", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(256)),
        sa.Column("access_key_id", sa.String(32)),
        sa.Column("principal_arn", sa.String(2048)),
        sa.Column("tenant", sa.String(64)),
        sa.PrimaryKeyConstraint("region", "seq", name="pk_audit_lookup_events"),
    )
    op.create_table(
        "audit_lookup_resources",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("resource_name", sa.String(2048), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("event_time", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seq", "resource_name", name="pk_audit_lookup_resources"),
    )
    op.create_table(
        "audit_lookup_heads",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", name="pk_audit_lookup_heads"),
    )
    columns = ", ".join(("region", "seq", "event_time", *_LOOKUP_COLUMNS))
    op.execute(
        f"INSERT INTO audit_lookup_events ({columns}) SELECT {columns} FROM audit_events"  # noqa: S608 - fixed names
    )
    op.execute(
        "INSERT INTO audit_lookup_resources (region, seq, resource_name, resource_type, "
        "event_time) SELECT region, seq, resource_name, resource_type, event_time "
        "FROM audit_event_resources"
    )
    op.execute(
        "INSERT INTO audit_lookup_heads (region, seq) SELECT region, seq FROM audit_chain_heads"
    )
    # Indexes after the copy: built once, sorted, instead of row by row.
    op.create_index(
        "ix_audit_lookup_events_region_event_time",
        "audit_lookup_events",
        ["region", "event_time"],
    )
    for column in _EVENT_INDEXES:
        op.drop_index(f"ix_audit_events_{column}_event_time", table_name="audit_events")
        op.create_index(
            f"ix_audit_lookup_events_{column}_event_time",
            "audit_lookup_events",
            [column, "event_time"],
        )
    for column in _RESOURCE_INDEXES:
        op.drop_index(
            f"ix_audit_event_resources_{column}_event_time", table_name="audit_event_resources"
        )
        op.create_index(
            f"ix_audit_lookup_resources_{column}_event_time",
            "audit_lookup_resources",
            [column, "event_time"],
        )


def downgrade() -> None:
    for column in _RESOURCE_INDEXES:
        op.create_index(
            f"ix_audit_event_resources_{column}_event_time",
            "audit_event_resources",
            [column, "event_time"],
        )
    for column in _EVENT_INDEXES:
        op.create_index(
            f"ix_audit_events_{column}_event_time", "audit_events", [column, "event_time"]
        )
    op.drop_table("audit_lookup_heads")
    op.drop_table("audit_lookup_resources")
    op.drop_table("audit_lookup_events")
