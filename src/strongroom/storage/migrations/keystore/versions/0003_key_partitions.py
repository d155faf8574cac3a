"""Tenant partitions of KMS keys, their destruction records, exact encryption counts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: the server default fills the existing versions with 0.
    with op.batch_alter_table("key_versions", recreate="never") as batch:
        batch.add_column(
            sa.Column("encryptions", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "key_partitions",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("partition_id", sa.LargeBinary(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("encryptions", sa.BigInteger(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "partition_id", name="pk_key_partitions"),
        sa.UniqueConstraint(
            "key_id", "value", "version", name="uq_key_partitions_key_id_value_version"
        ),
    )
    op.create_table(
        "key_partition_counts",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("distinct_values", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_key_partition_counts"),
    )
    op.create_table(
        "key_partition_destructions",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("partition_id", sa.LargeBinary(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("encryptions", sa.BigInteger(), nullable=False),
        sa.Column("destroyed_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "partition_id", name="pk_key_partition_destructions"),
    )


def downgrade() -> None:
    op.drop_table("key_partition_destructions")
    op.drop_table("key_partition_counts")
    op.drop_table("key_partitions")
    with op.batch_alter_table("key_versions", recreate="never") as batch:
        batch.drop_column("encryptions")
