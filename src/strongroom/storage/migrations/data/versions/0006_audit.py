"""The audit trail: hash-chained events per region, their resources, heads, checkpoints.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_EVENT_INDEXES = {
    "ix_audit_events_region_event_time": ["region", "event_time"],
    "ix_audit_events_event_name_event_time": ["event_name", "event_time"],
    "ix_audit_events_username_event_time": ["username", "event_time"],
    "ix_audit_events_access_key_id_event_time": ["access_key_id", "event_time"],
    "ix_audit_events_tenant_event_time": ["tenant", "event_time"],
    "ix_audit_events_event_source_event_time": ["event_source", "event_time"],
    "ix_audit_events_principal_arn_event_time": ["principal_arn", "event_time"],
    "ix_audit_events_read_only_event_time": ["read_only", "event_time"],
}
_RESOURCE_INDEXES = {
    "ix_audit_event_resources_resource_name_event_time": ["resource_name", "event_time"],
    "ix_audit_event_resources_resource_type_event_time": ["resource_type", "event_time"],
}


def upgrade() -> None:
    op.create_table(
        "audit_events",
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
        sa.PrimaryKeyConstraint("region", "seq", name="pk_audit_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
    )
    for name, columns in _EVENT_INDEXES.items():
        op.create_index(name, "audit_events", columns)
    op.create_table(
        "audit_event_resources",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("resource_name", sa.String(2048), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("event_time", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seq", "resource_name", name="pk_audit_event_resources"),
    )
    for name, columns in _RESOURCE_INDEXES.items():
        op.create_index(name, "audit_event_resources", columns)
    op.create_table(
        "audit_chain_heads",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("region", name="pk_audit_chain_heads"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("region", "seq", name="pk_audit_checkpoints"),
    )
    op.create_table(
        "audit_pruned",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("pruned_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("region", name="pk_audit_pruned"),
    )


def downgrade() -> None:
    op.drop_table("audit_pruned")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_heads")
    for name in _RESOURCE_INDEXES:
        op.drop_index(name, "audit_event_resources")
    op.drop_table("audit_event_resources")
    for name in _EVENT_INDEXES:
        op.drop_index(name, "audit_events")
    op.drop_table("audit_events")
