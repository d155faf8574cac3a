"""Records of destroyed key versions; partition records kept with the key, by value.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_version_destructions",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("encryptions", sa.BigInteger(), nullable=False),
        sa.Column("destroyed_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_key_version_destructions"),
    )
    op.create_index(
        "ix_key_partition_destructions_key_id_value",
        "key_partition_destructions",
        ["key_id", "value"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_key_partition_destructions_key_id_value", table_name="key_partition_destructions"
    )
    op.drop_table("key_version_destructions")
