"""The SQLAlchemy Core schema of both databases: data and keystore (kept apart on purpose)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations on SQLite and PostgreSQL name things alike.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcTimestamp(TypeDecorator[datetime]):
    """A UTC instant stored as integer microseconds since the epoch, the same on every engine."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        seconds, micros = divmod(int(value), 1_000_000)
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


RowId = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid

data_metadata = MetaData(naming_convention=NAMING)

secrets = Table(
    "secrets",
    data_metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("name", String(512), nullable=False),
    Column("region", String(32), nullable=False),
    Column("description", Text),
    Column("kms_key_id", String(2048)),
    Column("tenant", String(64)),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("last_changed_at", UtcTimestamp, nullable=False),
    Column("last_accessed_at", UtcTimestamp),
    Column("deleted_at", UtcTimestamp),
    Column("deletion_date", UtcTimestamp),
    Column("row_version", Integer, nullable=False),
    UniqueConstraint("region", "name"),
    Index(None, "deletion_date"),
    Index(None, "tenant"),
)

secret_tags = Table(
    "secret_tags",
    data_metadata,
    Column("secret_id", RowId, primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["secret_id"], ["secrets.id"], ondelete="CASCADE"),
)

secret_versions = Table(
    "secret_versions",
    data_metadata,
    Column("secret_id", RowId, primary_key=True),
    Column("version_id", String(64), primary_key=True),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("last_accessed_at", UtcTimestamp),
    Column("kms_key_arn", String(2048), nullable=False),
    Column("value_kind", String(8), nullable=False),
    Column("encrypted_data_key", LargeBinary, nullable=False),
    Column("encrypted_value", LargeBinary, nullable=False),
    ForeignKeyConstraint(["secret_id"], ["secrets.id"], ondelete="CASCADE"),
)

# One row per label: the primary key makes "one version per label" a database fact.
secret_stages = Table(
    "secret_stages",
    data_metadata,
    Column("secret_id", RowId, primary_key=True),
    Column("stage", String(256), primary_key=True),
    Column("version_id", String(64), nullable=False),
    ForeignKeyConstraint(
        ["secret_id", "version_id"],
        ["secret_versions.secret_id", "secret_versions.version_id"],
        ondelete="CASCADE",
    ),
)

kms_keys = Table(
    "kms_keys",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("key_manager", String(16), nullable=False),
    Column("key_state", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("key_spec", String(32), nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("deletion_date", UtcTimestamp),
    Column("pending_deletion_window_days", Integer),
    Column("rotation_period_days", Integer),
    Column("next_rotation_date", UtcTimestamp),
    # Server defaults: migration 0002 added these to existing rows without rebuilding the
    # table (a rebuild on SQLite would cascade-delete the aliases).
    Column("expiration_model", String(32)),
    Column("valid_to", UtcTimestamp),
    Column("imported_material_digest", LargeBinary),
    Column("policy", Text),
    Column("row_version", Integer, nullable=False, server_default=text("1")),
    # The scheduler's queries: state (or origin) equal, then a range on the due date.
    Index(None, "key_state", "deletion_date"),
    Index(None, "key_state", "next_rotation_date"),
    Index(None, "origin", "valid_to"),
    # ListKeys: one region, keyset pages by key id.
    Index(None, "region", "key_id"),
)

kms_aliases = Table(
    "kms_aliases",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("alias_name", String(256), primary_key=True),
    Column("key_id", String(36), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
    Index(None, "key_id"),
)

kms_key_tags = Table(
    "kms_key_tags",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
)

kms_key_rotations = Table(
    "kms_key_rotations",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("rotated_at", UtcTimestamp, nullable=False),
    Column("rotation_type", String(16), nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
)

kms_key_usage = Table(
    "kms_key_usage",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("used_at", UtcTimestamp, nullable=False),
    Column("operation", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
)

# No foreign key: the record outlives the key it describes.
kms_key_destructions = Table(
    "kms_key_destructions",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("arn", String(2048), nullable=False),
    Column("destroyed_at", UtcTimestamp, nullable=False),
    Column("versions_destroyed", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
)

access_keys = Table(
    "access_keys",
    data_metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("principal_arn", String(2048), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    # The secret access key, wrapped under the domain key (the server needs it for SigV4).
    Column("wrapped_secret", LargeBinary, nullable=False),
)

keystore_metadata = MetaData(naming_convention=NAMING)

domain_keys = Table(
    "domain_keys",
    keystore_metadata,
    Column("id", LargeBinary(16), primary_key=True),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)

key_versions = Table(
    "key_versions",
    keystore_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("domain_key_id", LargeBinary(16), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("encryptions_reserved", BigInteger, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)
