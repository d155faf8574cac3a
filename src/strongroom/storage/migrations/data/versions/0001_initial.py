"""Initial data schema: secrets, versions, labels, tags, KMS key metadata, access keys.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from strongroom.storage.schema import RowId, UtcTimestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("kms_key_id", sa.String(2048)),
        sa.Column("tenant", sa.String(64)),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("last_changed_at", UtcTimestamp(), nullable=False),
        sa.Column("last_accessed_at", UtcTimestamp()),
        sa.Column("deleted_at", UtcTimestamp()),
        sa.Column("deletion_date", UtcTimestamp()),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_secrets"),
        sa.UniqueConstraint("arn", name="uq_secrets_arn"),
        sa.UniqueConstraint("region", "name", name="uq_secrets_region_name"),
    )
    op.create_index("ix_secrets_deletion_date", "secrets", ["deletion_date"])
    op.create_index("ix_secrets_tenant", "secrets", ["tenant"])
    op.create_table(
        "secret_tags",
        sa.Column("secret_id", RowId, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("secret_id", "key", name="pk_secret_tags"),
        sa.ForeignKeyConstraint(
            ["secret_id"],
            ["secrets.id"],
            name="fk_secret_tags_secret_id_secrets",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "secret_versions",
        sa.Column("secret_id", RowId, nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("last_accessed_at", UtcTimestamp()),
        sa.Column("kms_key_arn", sa.String(2048), nullable=False),
        sa.Column("value_kind", sa.String(8), nullable=False),
        sa.Column("encrypted_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("encrypted_value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("secret_id", "version_id", name="pk_secret_versions"),
        sa.ForeignKeyConstraint(
            ["secret_id"],
            ["secrets.id"],
            name="fk_secret_versions_secret_id_secrets",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "secret_stages",
        sa.Column("secret_id", RowId, nullable=False),
        sa.Column("stage", sa.String(256), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("secret_id", "stage", name="pk_secret_stages"),
        sa.ForeignKeyConstraint(
            ["secret_id", "version_id"],
            ["secret_versions.secret_id", "secret_versions.version_id"],
            name="fk_secret_stages_secret_id_version_id_secret_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("key_manager", sa.String(16), nullable=False),
        sa.Column("key_state", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("key_spec", sa.String(32), nullable=False),
        sa.Column("key_usage", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_kms_keys"),
        sa.UniqueConstraint("arn", name="uq_kms_keys_arn"),
    )
    op.create_table(
        "kms_aliases",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("alias_name", sa.String(256), nullable=False),
        sa.Column("key_id", sa.String(36), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("region", "alias_name", name="pk_kms_aliases"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["kms_keys.key_id"],
            name="fk_kms_aliases_key_id_kms_keys",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("principal_arn", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("wrapped_secret", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
    )


def downgrade() -> None:
    for table in (
        "access_keys",
        "kms_aliases",
        "kms_keys",
        "secret_stages",
        "secret_versions",
        "secret_tags",
    ):
        op.drop_table(table)
    op.drop_index("ix_secrets_tenant", "secrets")
    op.drop_index("ix_secrets_deletion_date", "secrets")
    op.drop_table("secrets")
