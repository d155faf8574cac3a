"""Tenants as objects: tenants, sharing grants, usage metering, destruction certificates,
and the live server processes that split a tenant's rate limit.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A tenant's keys, counted by their tenant tag's value (count limits, metering).
    op.create_index("ix_kms_key_tags_tag_value", "kms_key_tags", ["tag_value"])
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("key_mode", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("isolation_policy", sa.String(16), nullable=False),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(64)),
        sa.Column("quotas", sa.Text()),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("updated_at", UtcTimestamp(), nullable=False),
        sa.Column("offboarded_at", UtcTimestamp()),
        sa.Column("destruction_date", UtcTimestamp()),
        sa.Column("destroyed_at", UtcTimestamp()),
        sa.Column("audit_export", sa.Text()),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenants"),
    )
    op.create_index("ix_tenants_status_destruction_date", "tenants", ["status", "destruction_date"])
    op.create_table(
        "tenant_shares",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("secret_pattern", sa.String(512), nullable=False),
        sa.Column("actions", sa.String(128), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("created_by", sa.String(2048), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "secret_pattern", name="pk_tenant_shares"),
    )
    op.create_table(
        "tenant_usage_daily",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("event_source", sa.String(64), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "day", "event_source", "event_name", name="pk_tenant_usage_daily"
        ),
    )
    op.create_table(
        "tenant_usage_stored",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("secrets", sa.Integer(), nullable=False),
        sa.Column("keys", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "day", name="pk_tenant_usage_stored"),
    )
    op.create_table(
        "tenant_usage_watermarks",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", name="pk_tenant_usage_watermarks"),
    )
    op.create_table(
        "tenant_destruction_certificates",
        sa.Column("certificate_id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("issued_at", UtcTimestamp(), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_tenant_destruction_certificates"),
    )
    op.create_index(
        "ix_tenant_destruction_certificates_tenant_id",
        "tenant_destruction_certificates",
        ["tenant_id"],
    )
    op.create_table(
        "server_instances",
        sa.Column("instance_id", sa.String(36), nullable=False),
        sa.Column("started_at", UtcTimestamp(), nullable=False),
        sa.Column("heartbeat_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name="pk_server_instances"),
    )


def downgrade() -> None:
    for table in (
        "server_instances",
        "tenant_destruction_certificates",
        "tenant_usage_watermarks",
        "tenant_usage_stored",
        "tenant_usage_daily",
        "tenant_shares",
        "tenants",
    ):
        op.drop_table(table)
    op.drop_index("ix_kms_key_tags_tag_value", table_name="kms_key_tags")
