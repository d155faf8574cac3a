"""Partitioned KMS keys: the encryption-context key whose values get a partition each.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Never rebuild kms_keys (a rebuild on SQLite would cascade-delete its aliases): a
    # plain ADD COLUMN, NULL for every existing key (none of them is partitioned).
    with op.batch_alter_table("kms_keys", recreate="never") as batch:
        batch.add_column(sa.Column("partition_key_name", sa.String(128)))


def downgrade() -> None:
    with op.batch_alter_table("kms_keys", recreate="never") as batch:
        batch.drop_column("partition_key_name")
