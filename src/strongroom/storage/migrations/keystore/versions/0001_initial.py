"""Initial keystore schema: wrapped domain keys and wrapped key versions.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domain_keys",
        sa.Column("id", sa.LargeBinary(16), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_domain_keys"),
    )
    op.create_table(
        "key_versions",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("domain_key_id", sa.LargeBinary(16), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("encryptions_reserved", sa.BigInteger(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_key_versions"),
    )


def downgrade() -> None:
    op.drop_table("key_versions")
    op.drop_table("domain_keys")
