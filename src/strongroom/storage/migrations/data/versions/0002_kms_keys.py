"""KMS keys in full: deletion, rotation, import and policy columns; tags, rotations, usage.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import UtcTimestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KMS_KEYS_INDEXES = {
    "ix_kms_keys_key_state_deletion_date": ["key_state", "deletion_date"],
    "ix_kms_keys_key_state_next_rotation_date": ["key_state", "next_rotation_date"],
    "ix_kms_keys_origin_valid_to": ["origin", "valid_to"],
    "ix_kms_keys_region_key_id": ["region", "key_id"],
}
_NEW_TABLES = ("kms_key_destructions", "kms_key_usage", "kms_key_rotations", "kms_key_tags")


def _key_id_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["key_id"], ["kms_keys.key_id"], name=f"fk_{table}_key_id_kms_keys", ondelete="CASCADE"
    )


def upgrade() -> None:
    # Never rebuild kms_keys: on SQLite (foreign_keys=ON) dropping the old copy of the
    # table would cascade-delete every alias. Plain ADD COLUMN only; NOT NULL columns get
    # a server default, which also fills the existing rows.
    with op.batch_alter_table("kms_keys", recreate="never") as batch:
        batch.add_column(sa.Column("deletion_date", UtcTimestamp()))
        batch.add_column(sa.Column("pending_deletion_window_days", sa.Integer()))
        batch.add_column(sa.Column("rotation_period_days", sa.Integer()))
        batch.add_column(sa.Column("next_rotation_date", UtcTimestamp()))
        batch.add_column(sa.Column("expiration_model", sa.String(32)))
        batch.add_column(sa.Column("valid_to", UtcTimestamp()))
        batch.add_column(sa.Column("imported_material_digest", sa.LargeBinary()))
        batch.add_column(sa.Column("policy", sa.Text()))
        batch.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    for name, columns in _KMS_KEYS_INDEXES.items():
        op.create_index(name, "kms_keys", columns)

    # kms_aliases has no children, so rebuilding it on SQLite is safe.
    with op.batch_alter_table("kms_aliases") as batch:
        batch.add_column(sa.Column("updated_at", UtcTimestamp()))
    op.execute("UPDATE kms_aliases SET updated_at = created_at")
    with op.batch_alter_table("kms_aliases") as batch:
        batch.alter_column("updated_at", existing_type=UtcTimestamp(), nullable=False)
    op.create_index("ix_kms_aliases_key_id", "kms_aliases", ["key_id"])

    op.create_table(
        "kms_key_tags",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "tag_key", name="pk_kms_key_tags"),
        _key_id_fk("kms_key_tags"),
    )
    op.create_table(
        "kms_key_rotations",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rotated_at", UtcTimestamp(), nullable=False),
        sa.Column("rotation_type", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "version", name="pk_kms_key_rotations"),
        _key_id_fk("kms_key_rotations"),
    )
    op.create_table(
        "kms_key_usage",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("used_at", UtcTimestamp(), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_key_usage"),
        _key_id_fk("kms_key_usage"),
    )
    op.create_table(
        "kms_key_destructions",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("destroyed_at", UtcTimestamp(), nullable=False),
        sa.Column("versions_destroyed", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_key_destructions"),
    )


def downgrade() -> None:
    for table in _NEW_TABLES:
        op.drop_table(table)
    op.drop_index("ix_kms_aliases_key_id", "kms_aliases")
    with op.batch_alter_table("kms_aliases") as batch:
        batch.drop_column("updated_at")
    for name in _KMS_KEYS_INDEXES:
        op.drop_index(name, "kms_keys")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), again without rebuilding kms_keys.
    with op.batch_alter_table("kms_keys", recreate="never") as batch:
        for column in (
            "row_version",
            "policy",
            "imported_material_digest",
            "valid_to",
            "expiration_model",
            "next_rotation_date",
            "rotation_period_days",
            "pending_deletion_window_days",
            "deletion_date",
        ):
            batch.drop_column(column)
