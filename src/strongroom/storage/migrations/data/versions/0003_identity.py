"""IAM users, roles, groups, policies, access keys and STS sessions.

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

_TABLES = (
    "iam_sessions",
    "iam_tags",
    "iam_inline_policies",
    "iam_attachments",
    "iam_policy_versions",
    "iam_policies",
    "iam_group_members",
    "iam_groups",
    "iam_roles",
    "iam_users",
)


def _named_entity(table: str, name_length: int, *extra: sa.Column[object]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(name_length), nullable=False),
        sa.Column("name_key", sa.String(name_length), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        *extra,
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("name_key", name=f"uq_{table}_name_key"),
        sa.UniqueConstraint("arn", name=f"uq_{table}_arn"),
    )


def upgrade() -> None:
    # Plain ADD COLUMN: access_keys keeps its rows (the root key) without a rebuild.
    with op.batch_alter_table("access_keys", recreate="never") as batch:
        batch.add_column(sa.Column("user_id", sa.String(32)))
        batch.add_column(sa.Column("last_used_at", UtcTimestamp()))
    op.create_index("ix_access_keys_user_id", "access_keys", ["user_id"])

    _named_entity(
        "iam_users",
        64,
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("boundary_arn", sa.String(2048)),
    )
    _named_entity(
        "iam_roles",
        64,
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column("trust_policy", sa.Text(), nullable=False),
        sa.Column("boundary_arn", sa.String(2048)),
        sa.Column("last_used_at", UtcTimestamp()),
        sa.Column("last_used_region", sa.String(32)),
    )
    _named_entity("iam_groups", 128, sa.Column("created_at", UtcTimestamp(), nullable=False))
    op.create_table(
        "iam_group_members",
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_iam_group_members"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["iam_groups.id"],
            name="fk_iam_group_members_group_id_iam_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["iam_users.id"],
            name="fk_iam_group_members_user_id_iam_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_iam_group_members_user_id", "iam_group_members", ["user_id"])
    _named_entity(
        "iam_policies",
        128,
        sa.Column("description", sa.String(1000)),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("updated_at", UtcTimestamp(), nullable=False),
        sa.Column("default_version", sa.String(16), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "iam_policy_versions",
        sa.Column("policy_id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version_id", name="pk_iam_policy_versions"),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["iam_policies.id"],
            name="fk_iam_policy_versions_policy_id_iam_policies",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("entity_kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("policy_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("entity_kind", "entity_id", "policy_id", name="pk_iam_attachments"),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["iam_policies.id"], name="fk_iam_attachments_policy_id_iam_policies"
        ),
    )
    op.create_index("ix_iam_attachments_policy_id", "iam_attachments", ["policy_id"])
    op.create_table(
        "iam_inline_policies",
        sa.Column("entity_kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "entity_kind", "entity_id", "policy_name", name="pk_iam_inline_policies"
        ),
    )
    op.create_table(
        "iam_tags",
        sa.Column("entity_kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("key_lower", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_kind", "entity_id", "key_lower", name="pk_iam_tags"),
    )
    op.create_table(
        "iam_sessions",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_secret", sa.LargeBinary(), nullable=False),
        sa.Column("entity_kind", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("session_name", sa.String(64), nullable=False),
        sa.Column("issued_at", UtcTimestamp(), nullable=False),
        sa.Column("expires_at", UtcTimestamp(), nullable=False),
        sa.Column("source_identity", sa.String(64)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_iam_sessions"),
    )
    op.create_index("ix_iam_sessions_expires_at", "iam_sessions", ["expires_at"])
    op.create_index(
        "ix_iam_sessions_entity_kind_entity_id", "iam_sessions", ["entity_kind", "entity_id"]
    )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
    op.drop_index("ix_access_keys_user_id", "access_keys")
    with op.batch_alter_table("access_keys", recreate="never") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("user_id")
