"""A key's aliases by an index on (key_id, region, alias_name), not a walk of the region's.

Every authorization of a KMS call names the key's aliases (kms:ResourceAliases). With an
index on key_id alone, SQLite answered "WHERE region = ? AND key_id = ? ORDER BY alias_name"
by walking the primary key (region, alias_name) to skip the sort: every alias of the
region, 3.6 ms at 10,000 tenants' aliases against 7.5 µs with this index.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_kms_aliases_key_id_region_alias_name",
        "kms_aliases",
        ["key_id", "region", "alias_name"],
    )
    op.drop_index("ix_kms_aliases_key_id", "kms_aliases")


def downgrade() -> None:
    op.create_index("ix_kms_aliases_key_id", "kms_aliases", ["key_id"])
    op.drop_index("ix_kms_aliases_key_id_region_alias_name", "kms_aliases")
