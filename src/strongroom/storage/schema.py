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
    # The secret's resource policy (migration 0005), as the caller wrote it.
    Column("resource_policy", Text),
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
    # The encryption-context key whose values get a partition each (migration 0008); set
    # at creation, never changed.
    Column("partition_key_name", String(128)),
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
    # A key's aliases in name order (kms:ResourceAliases, ListAliases with KeyId) without
    # walking the region's other aliases.
    Index(None, "key_id", "region", "alias_name"),
)

kms_key_tags = Table(
    "kms_key_tags",
    data_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
    # A tenant's keys by their tenant tag's value (count limits, metering; migration 0007).
    Index(None, "tag_value"),
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

# -- tenancy (migration 0007) -----------------------------------------------------------

# A tenant (DESIGN §7): its key (dedicated, or the shared key it has a partition in), its
# role, its quotas (tier plus JSON overrides) and where it is in its life.
tenants = Table(
    "tenants",
    data_metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("display_name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("key_mode", String(16), nullable=False),
    Column("key_id", String(36), nullable=False),
    Column("isolation_policy", String(16), nullable=False),
    Column("role_name", String(64), nullable=False),
    Column("tier", String(64)),
    Column("quotas", Text),
    Column("tags", Text, nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    Column("offboarded_at", UtcTimestamp),
    Column("destruction_date", UtcTimestamp),
    Column("destroyed_at", UtcTimestamp),
    Column("audit_export", Text),
    Column("row_version", Integer, nullable=False),
    # The offboarding reaper: status equal, then a range on the due date.
    Index(None, "status", "destruction_date"),
)

# The one door through the tenant guard: a tenant may reach secrets matching a pattern.
tenant_shares = Table(
    "tenant_shares",
    data_metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("secret_pattern", String(512), primary_key=True),
    Column("actions", String(128), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("created_by", String(2048), nullable=False),
)

# Metering, rolled up from the audit trail: calls per tenant, day (UTC, YYYY-MM-DD) and
# operation; stored secrets and keys per tenant and day; how far the roll-up has read.
tenant_usage_daily = Table(
    "tenant_usage_daily",
    data_metadata,
    Column("tenant", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("event_source", String(64), primary_key=True),
    Column("event_name", String(128), primary_key=True),
    Column("calls", BigInteger, nullable=False),
)

tenant_usage_stored = Table(
    "tenant_usage_stored",
    data_metadata,
    Column("tenant", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("secrets", Integer, nullable=False),
    Column("keys", Integer, nullable=False),
)

tenant_usage_watermarks = Table(
    "tenant_usage_watermarks",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# Signed destruction certificates, as issued (the signed JSON document, verbatim).
tenant_destruction_certificates = Table(
    "tenant_destruction_certificates",
    data_metadata,
    Column("certificate_id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("issued_at", UtcTimestamp, nullable=False),
    Column("certificate", Text, nullable=False),
    Index(None, "tenant_id"),
)

# Live server processes (heartbeats): each enforces its share of a tenant's rate limit.
server_instances = Table(
    "server_instances",
    data_metadata,
    Column("instance_id", String(36), primary_key=True),
    Column("started_at", UtcTimestamp, nullable=False),
    Column("heartbeat_at", UtcTimestamp, nullable=False),
)

# -- KMS grants ------------------------------------------------------------------------

# A grant's operations and constraint contexts are small JSON documents: they are only
# read whole, with the grant.
kms_grants = Table(
    "kms_grants",
    data_metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("key_id", String(36), nullable=False),
    Column("name", String(256)),
    Column("grantee_principal", String(256), nullable=False),
    Column("retiring_principal", String(256)),
    Column("issuing_account", String(2048), nullable=False),
    Column("operations", Text, nullable=False),
    Column("encryption_context_subset", Text),
    Column("encryption_context_equals", Text),
    Column("created_at", UtcTimestamp, nullable=False),
    ForeignKeyConstraint(["key_id"], ["kms_keys.key_id"], ondelete="CASCADE"),
    # Authorization: the grants of one key for one caller; ListGrants pages by grant id.
    Index(None, "key_id", "grantee_principal"),
    Index(None, "key_id", "grant_id"),
    # ListRetirableGrants.
    Index(None, "retiring_principal", "grant_id"),
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
    # The IAM user owning the key (NULL for the account root's key). No foreign key: added
    # by migration 0003 without a rebuild; DeleteUser refuses while the user has keys.
    Column("user_id", String(32)),
    Column("last_used_at", UtcTimestamp),
    Index(None, "user_id"),
)

# -- Identity: IAM users, roles, groups, policies and STS sessions ---------------------
# Names are unique case-insensitively (as IAM's are): ``name_key`` is the lower-cased name.

iam_users = Table(
    "iam_users",
    data_metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("boundary_arn", String(2048)),
)

iam_roles = Table(
    "iam_roles",
    data_metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("description", String(1000)),
    Column("max_session_duration", Integer, nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("boundary_arn", String(2048)),
    Column("last_used_at", UtcTimestamp),
    Column("last_used_region", String(32)),
)

iam_groups = Table(
    "iam_groups",
    data_metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("created_at", UtcTimestamp, nullable=False),
)

iam_group_members = Table(
    "iam_group_members",
    data_metadata,
    Column("group_id", String(32), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    ForeignKeyConstraint(["group_id"], ["iam_groups.id"], ondelete="CASCADE"),
    ForeignKeyConstraint(["user_id"], ["iam_users.id"], ondelete="CASCADE"),
    Index(None, "user_id"),
)

iam_policies = Table(
    "iam_policies",
    data_metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("description", String(1000)),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    Column("default_version", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),
)

iam_policy_versions = Table(
    "iam_policy_versions",
    data_metadata,
    Column("policy_id", String(32), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    ForeignKeyConstraint(["policy_id"], ["iam_policies.id"], ondelete="CASCADE"),
)

# Managed policies attached to users, roles and groups (entity_kind "user"/"role"/"group").
# No cascade from the policy: DeletePolicy is refused while it is attached.
iam_attachments = Table(
    "iam_attachments",
    data_metadata,
    Column("entity_kind", String(8), primary_key=True),
    Column("entity_id", String(32), primary_key=True),
    Column("policy_id", String(32), primary_key=True),
    ForeignKeyConstraint(["policy_id"], ["iam_policies.id"]),
    Index(None, "policy_id"),
)

iam_inline_policies = Table(
    "iam_inline_policies",
    data_metadata,
    Column("entity_kind", String(8), primary_key=True),
    Column("entity_id", String(32), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
)

# Tags of users, roles and managed policies; keys unique case-insensitively.
iam_tags = Table(
    "iam_tags",
    data_metadata,
    Column("entity_kind", String(8), primary_key=True),
    Column("entity_id", String(32), primary_key=True),
    Column("key_lower", String(128), primary_key=True),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    Column("position", Integer, nullable=False),
)

# STS sessions (AssumeRole, GetSessionToken): the token only as a SHA-256 digest, the
# secret access key wrapped under the domain key. ``detail`` is JSON: session tags,
# transitive tag keys and session policy documents.
iam_sessions = Table(
    "iam_sessions",
    data_metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("token_hash", LargeBinary, nullable=False),
    Column("wrapped_secret", LargeBinary, nullable=False),
    Column("entity_kind", String(8), nullable=False),
    Column("entity_id", String(32), nullable=False),
    Column("session_name", String(64), nullable=False),
    Column("issued_at", UtcTimestamp, nullable=False),
    Column("expires_at", UtcTimestamp, nullable=False),
    Column("source_identity", String(64)),
    Column("detail", Text, nullable=False),
    Index(None, "expires_at"),
    Index(None, "entity_kind", "entity_id"),
)

# -- Audit trail (migration 0006): one hash chain per region ----------------------------
# ``record`` is the canonical JSON the chain covers; the other columns are copies of its
# fields, kept for lookups. ``hash`` = sha256(previous_hash || record).
audit_events = Table(
    "audit_events",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_time", UtcTimestamp, nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("event_source", String(64), nullable=False),
    Column("read_only", Integer, nullable=False),
    Column("username", String(256)),
    Column("access_key_id", String(32)),
    Column("principal_arn", String(2048)),
    Column("tenant", String(64)),
    Column("error_code", String(128)),
    Column("event_type", String(32), nullable=False),
    Column("record", LargeBinary, nullable=False),
    Column("previous_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    # The only secondary index an append writes: event times grow with seq, so its
    # inserts land on the index's last page. Lookups by the other columns read
    # audit_lookup_events (migration 0009).
    Index(None, "region", "event_time"),
)

# One row per name an event's resource is known by (its ARN, and the name the caller used),
# so LookupEvents by ResourceName finds either. No foreign key: retention deletes both.
audit_event_resources = Table(
    "audit_event_resources",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("resource_name", String(2048), primary_key=True),
    Column("resource_type", String(64), nullable=False),
    Column("event_time", UtcTimestamp, nullable=False),
)

# -- Audit lookup index (migration 0009): copies of the trail's lookup columns, indexed --
# An append writes only the trail, whose keys grow with seq. These copies carry the
# indexes LookupEvents reads by (username, access key, resource name...): an insert into
# one of those lands on a page of its own value, so a commit of 16 events from 16 tenants
# wrote about 190 pages. They are filled behind the trail in batches of thousands
# (SqlAuditStore.index_lookups), by INSERT ... SELECT from the trail, where most of a
# batch's entries share pages. ``audit_lookup_heads`` says how far each region is copied;
# lookups read these tables up to it and the trail after it.
audit_lookup_events = Table(
    "audit_lookup_events",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_time", UtcTimestamp, nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("event_source", String(64), nullable=False),
    Column("read_only", Integer, nullable=False),
    Column("username", String(256)),
    Column("access_key_id", String(32)),
    Column("principal_arn", String(2048)),
    Column("tenant", String(64)),
    Index(None, "region", "event_time"),
    Index(None, "event_name", "event_time"),
    Index(None, "username", "event_time"),
    Index(None, "access_key_id", "event_time"),
    Index(None, "tenant", "event_time"),
    Index(None, "event_source", "event_time"),
    Index(None, "principal_arn", "event_time"),
    Index(None, "read_only", "event_time"),
)

audit_lookup_resources = Table(
    "audit_lookup_resources",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("resource_name", String(2048), primary_key=True),
    Column("resource_type", String(64), nullable=False),
    Column("event_time", UtcTimestamp, nullable=False),
    Index(None, "resource_name", "event_time"),
    Index(None, "resource_type", "event_time"),
)

# The last seq of each region copied into the lookup tables (every seq up to it is there).
audit_lookup_heads = Table(
    "audit_lookup_heads",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# The newest (seq, hash) of each region's chain: the row appenders lock.
audit_chain_heads = Table(
    "audit_chain_heads",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
)

# Signed statements of (region, seq, hash, created_at) under the deployment signing key.
audit_checkpoints = Table(
    "audit_checkpoints",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

# The anchor retention leaves: the last pruned event's seq and hash, where verify restarts.
audit_pruned = Table(
    "audit_pruned",
    data_metadata,
    Column("region", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("pruned_at", UtcTimestamp, nullable=False),
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
    # Exact count of blobs sealed under the version itself (keystore migration 0003).
    Column("encryptions", BigInteger, nullable=False, server_default=text("0")),
)

# Tenant partitions (keystore migration 0003): per KMS key version and value of the key's
# partition context key, a random key wrapped under the version's material.
key_partitions = Table(
    "key_partitions",
    keystore_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("partition_id", LargeBinary(16), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("value", String(256), nullable=False),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("encryptions", BigInteger, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    # Encryption finds a value's partition in a version; destruction all of a value's.
    UniqueConstraint("key_id", "value", "version"),
)

# How many distinct partition values each key has (the max_partitions_per_key bound).
key_partition_counts = Table(
    "key_partition_counts",
    keystore_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("distinct_values", BigInteger, nullable=False),
)

# What a destroyed partition leaves: no key material, only enough for Decrypt to say the
# partition was destroyed, and for a destruction certificate to say what went (the records
# outlive the material, so a certificate issued after a crash still has them). Kept when
# the whole key is destroyed (keystore migration 0004).
key_partition_destructions = Table(
    "key_partition_destructions",
    keystore_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("partition_id", LargeBinary(16), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("value", String(256), nullable=False),
    Column("encryptions", BigInteger, nullable=False),
    Column("destroyed_at", UtcTimestamp, nullable=False),
    # A tenant's certificate reads its value's records (keystore migration 0004).
    Index(None, "key_id", "value"),
)

# What destroying a key's material leaves of each version (keystore migration 0004):
# written in the transaction that deletes the material, so what was destroyed is known
# however the destroying process ends.
key_version_destructions = Table(
    "key_version_destructions",
    keystore_metadata,
    Column("key_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("encryptions", BigInteger, nullable=False),
    Column("destroyed_at", UtcTimestamp, nullable=False),
)

# Deployment signing keys (keystore migration 0002): the private key wrapped under the domain
# key, the public key in the clear so verifiers need no root key. "audit" signs checkpoints.
signing_keys = Table(
    "signing_keys",
    keystore_metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", UtcTimestamp, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)
