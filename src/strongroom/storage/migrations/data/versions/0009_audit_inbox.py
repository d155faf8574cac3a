"""The audit inbox: chained events land here first on SQLite, without the lookup indexes.

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


def upgrade() -> None:
    # The columns of audit_events and audit_event_resources (0006), with only the keys.
    op.create_table(
        "audit_inbox_events",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_time", UtcTimestamp(), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("event_source", sa.String(64), nullable=False),
        sa.Column("read_only", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(256)),
        sa.Column("access_key_id", sa.String(32)),
        sa.Column("principal_arn", sa.String(2048)),
        sa.Column("tenant", sa.String(64)),
        sa.Column("error_code", sa.String(128)),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("previous_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seq", name="pk_audit_inbox_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_inbox_events_event_id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # An event id is unique across the trail and its inbox, refused at append time as
        # before: a duplicate let into the inbox would fail every move after it.
        op.execute(
            "CREATE TRIGGER audit_inbox_event_id_unique BEFORE INSERT ON audit_inbox_events "
            "WHEN EXISTS (SELECT 1 FROM audit_events WHERE event_id = NEW.event_id) "
            "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: audit_events.event_id'); END"
        )
    op.create_table(
        "audit_inbox_resources",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("resource_name", sa.String(2048), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("event_time", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seq", "resource_name", name="pk_audit_inbox_resources"),
    )


def downgrade() -> None:
    # Whatever the inbox still holds belongs to the trail: moved first, as settle does.
    op.execute("INSERT INTO audit_events SELECT * FROM audit_inbox_events")
    op.execute("INSERT INTO audit_event_resources SELECT * FROM audit_inbox_resources")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_inbox_event_id_unique")
    op.drop_table("audit_inbox_resources")
    op.drop_table("audit_inbox_events")
