"""Secrets Manager resource policies: one optional policy document per secret.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: rebuilding secrets on SQLite (foreign_keys=ON) would cascade-delete
    # every version, label and tag.
    with op.batch_alter_table("secrets", recreate="never") as batch:
        batch.add_column(sa.Column("resource_policy", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("secrets", recreate="never") as batch:
        batch.drop_column("resource_policy")
