"""KMS grants.

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

_INDEXES = {
    "ix_kms_grants_key_id_grantee_principal": ["key_id", "grantee_principal"],
    "ix_kms_grants_key_id_grant_id": ["key_id", "grant_id"],
    "ix_kms_grants_retiring_principal_grant_id": ["retiring_principal", "grant_id"],
}


def upgrade() -> None:
    op.create_table(
        "kms_grants",
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("grantee_principal", sa.String(256), nullable=False),
        sa.Column("retiring_principal", sa.String(256)),
        sa.Column("issuing_account", sa.String(2048), nullable=False),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.Column("encryption_context_subset", sa.Text()),
        sa.Column("encryption_context_equals", sa.Text()),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", name="pk_kms_grants"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["kms_keys.key_id"],
            name="fk_kms_grants_key_id_kms_keys",
            ondelete="CASCADE",
        ),
    )
    for name, columns in _INDEXES.items():
        op.create_index(name, "kms_grants", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, "kms_grants")
    op.drop_table("kms_grants")
