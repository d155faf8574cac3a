"""The composition root: builds storage, the key hierarchy, services and the ASGI app."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from strongroom.audit.alarms import AlarmEngine
from strongroom.audit.auditing_authorizer import AuditingAuthorizer
from strongroom.audit.checkpoints import CheckpointSigner
from strongroom.audit.event_builder import EventBuilder
from strongroom.audit.lookup import LookupEvents
from strongroom.audit.lookup_tokens import PageTokens
from strongroom.audit.recorder import AuditRecorder
from strongroom.audit.retention import Retention
from strongroom.audit.signing_key import deployment_signer, public_key_pem
from strongroom.audit.webhook import WebhookNotifier
from strongroom.clock import Clock, OffsetClock, SystemClock
from strongroom.crypto.key_material import KeyMaterial
from strongroom.crypto.root_key_providers import (
    DevRootKeyProvider,
    EnvRootKeyProvider,
    FileRootKeyProvider,
    RootKeyProvider,
)
from strongroom.crypto.signing import Ed25519Signer
from strongroom.identity.authorization_messages import AuthorizationMessages
from strongroom.identity.authorizer import PolicyAuthorizer
from strongroom.identity.changes import IdentityChanges
from strongroom.identity.credentials import CredentialDirectory, IssuedCredentials, root_principal
from strongroom.identity.directory import IdentityDirectory
from strongroom.identity.iam_account import IamAccount
from strongroom.identity.iam_common import IamSettings
from strongroom.identity.iam_groups import IamGroups
from strongroom.identity.iam_policies import IamPolicies
from strongroom.identity.iam_roles import IamRoles
from strongroom.identity.iam_users import IamUsers
from strongroom.identity.operations import IAM_OPERATIONS, STS_OPERATIONS
from strongroom.identity.sts import StsService
from strongroom.ids import AccountId, partition_of
from strongroom.kms.aliases import AliasAdministration
from strongroom.kms.cryptographic_operations import CryptographicOperations
from strongroom.kms.grant_book import GrantBook
from strongroom.kms.grants import GrantAdministration
from strongroom.kms.key_access import KeyAccess
from strongroom.kms.key_administration import KeyAdministration
from strongroom.kms.key_authorization import KeyAuthorization
from strongroom.kms.key_directory import KeyDirectory
from strongroom.kms.key_import import KeyImport
from strongroom.kms.key_policy_administration import KeyPolicyAdministration
from strongroom.kms.key_rotation import KeyRotation
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import KeyRing
from strongroom.scheduling.periodic import PeriodicJob
from strongroom.secretsmanager.service import SecretsManagerService
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.call_audit import CallAudit
from strongroom.server.dispatch import (
    DevTools,
    Dispatcher,
    register_cloudtrail,
    register_kms,
    register_query_service,
    register_secrets_manager,
    register_strongroom,
)
from strongroom.server.metrics import Metrics, outcome_of
from strongroom.server.sigv4 import SigV4Verifier
from strongroom.settings import Settings
from strongroom.storage import engines, migrate
from strongroom.storage.access_key_repository import SqlAccessKeyStore
from strongroom.storage.audit_appender import AuditAppenderProcess
from strongroom.storage.audit_commit_hook import AuditCommitHook
from strongroom.storage.audit_lookup_index import AuditLookupIndexer
from strongroom.storage.audit_lookup_repository import SqlAuditLookup
from strongroom.storage.audit_repository import SqlAuditStore
from strongroom.storage.certificate_repository import SqlCertificateStore
from strongroom.storage.identity_repository import SqlIdentityStore
from strongroom.storage.instance_repository import HEARTBEAT_SECONDS, SqlServerInstances
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from strongroom.storage.secret_repository import SqlSecretStore
from strongroom.storage.share_repository import SqlShareStore
from strongroom.storage.signing_key_repository import SqlSigningKeyStore
from strongroom.storage.tenant_repository import SqlTenantSessions, SqlTenantStore
from strongroom.storage.usage_repository import SqlUsageStore
from strongroom.tenancy.administration import (
    TenancyServices,
    TenancySettings,
    TenantAdministration,
    TenantKeyLookup,
)
from strongroom.tenancy.certificate_service import DestructionCertificates
from strongroom.tenancy.metering import Metering
from strongroom.tenancy.offboarding import KmsShredder, Offboarding
from strongroom.tenancy.quotas import CountLimits, RateLimiter, TierQuotaSource
from strongroom.tenancy.share_book import ShareBook
from strongroom.tenancy.sharing import SecretSharing
from strongroom.tenancy.tenant_gate import BlockedTenants, TenancyGate
from strongroom.tenancy.tenant_quotas import StoredTenantQuotas
from strongroom.tenancy.tenants import TenantIdRule

log = logging.getLogger(__name__)

DEV_ROOT_KEY_FILE = "root-key.DEVELOPMENT-ONLY"
EMBEDDED_IDENTITY_CACHE_SECONDS = 30.0
SHARED_IDENTITY_CACHE_SECONDS = 1.0
# Heads and versions of secrets kept in memory on embedded SQLite (two entries a secret).
EMBEDDED_SECRET_CACHE_ENTRIES = 20_000
# Calls are counted from the audit trail this often (and before GetTenantUsage answers).
USAGE_ROLL_UP_SECONDS = 60.0
# How often the server checks that the audit lookup tables are being filled (the appender
# fills them under load; this job when nobody else has for that long).
AUDIT_LOOKUP_COPY_SECONDS = 5.0


@dataclass
class Application:
    """A built server: the ASGI app plus what the CLI prints and closes."""

    app: StrongroomApp
    settings: Settings
    root_credentials: IssuedCredentials
    root_key_source: str
    secrets_manager: SecretsManagerService
    dispatcher: Dispatcher | None = None
    # KMS key destruction (partitions, keys at once) for in-process callers and tests.
    key_administration: KeyAdministration | None = None
    _engines: list[Engine] = field(default_factory=list)
    _jobs: list[PeriodicJob] = field(default_factory=list)
    _recorder: AuditRecorder | None = None

    def close(self) -> None:
        for job in self._jobs:
            job.stop()
        if self._recorder is not None:
            self._recorder.stop()  # what is queued is written before the engines go
        for engine in self._engines:
            engines.set_commit_hook(engine, None)
            engines.dispose(engine)


def root_key_provider(settings: Settings) -> RootKeyProvider:
    if settings.root_key_file is not None:
        return FileRootKeyProvider(settings.root_key_file)
    if settings.root_key_env is not None:
        return EnvRootKeyProvider(settings.root_key_env)
    return DevRootKeyProvider(settings.data_dir / DEV_ROOT_KEY_FILE)


def build(settings: Settings, clock: Clock | None = None) -> Application:
    clock = clock or SystemClock()
    if settings.resolved_data_url == settings.resolved_keystore_url:
        raise ValueError("the keystore must be a different database from the data")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)

    provider = root_key_provider(settings)
    root_key = provider.load()

    data_engine = engines.create(settings.resolved_data_url)
    keystore_engine = engines.create(settings.resolved_keystore_url)
    try:
        return _assemble(settings, clock, provider, root_key, data_engine, keystore_engine)
    except BaseException:
        engines.dispose(data_engine)
        keystore_engine.dispose()
        raise


def _assemble(
    settings: Settings,
    clock: Clock,
    provider: RootKeyProvider,
    root_key: KeyMaterial,
    data_engine: Engine,
    keystore_engine: Engine,
) -> Application:
    migrate.upgrade(data_engine, "data")
    migrate.upgrade(keystore_engine, "keystore")
    AuditLookupIndexer(data_engine).discard_if_stale()
    # Services run on their own clock; on a dev server tests can move it forward.
    service_clock = OffsetClock(clock) if settings.dev else clock

    material_store = SqlKeyMaterialStore(keystore_engine)
    keyring = KeyRing(
        root_key,
        material_store,
        service_clock,
        usage_budget=settings.key_usage_budget,
        max_partitions_per_key=settings.max_partitions_per_key,
    )
    keyring.open()
    identity_store = SqlIdentityStore(data_engine)
    identity_changes = IdentityChanges()
    # Identity caches are dropped on every IAM write in this process. On embedded SQLite
    # this process is the only writer, so entries may live long; on PostgreSQL other
    # servers write too, and a change must be seen everywhere within a second.
    identity_cache_seconds = (
        EMBEDDED_IDENTITY_CACHE_SECONDS
        if data_engine.dialect.name == "sqlite"
        else SHARED_IDENTITY_CACHE_SECONDS
    )
    identity_directory = IdentityDirectory(
        identity_store,
        identity_changes,
        tenant_tag_key=settings.tenant_tag_key,
        cache_seconds=identity_cache_seconds,
    )
    authorization_messages = AuthorizationMessages(keyring)
    # The tenant guard's view of tenancy (blocked tenants, shares), cached as identity is.
    tenant_store = SqlTenantStore(data_engine)
    share_store = SqlShareStore(data_engine)
    share_book = ShareBook(share_store, cache_seconds=identity_cache_seconds)
    blocked_tenants = BlockedTenants(tenant_store, cache_seconds=identity_cache_seconds)
    # Every authorization also tells the call's audit journal what the call touched.
    app_authorizer = AuditingAuthorizer(
        PolicyAuthorizer(
            identity_directory,
            service_clock,
            authorization_messages,
            tenant_tag_key=settings.tenant_tag_key,
            gate=TenancyGate(blocked_tenants, share_book),
        )
    )
    key_store = SqlKeyDirectoryStore(data_engine)
    keys = KeyDirectory(
        key_store,
        keyring,
        service_clock,
        settings.account_id,
        cache_seconds=identity_cache_seconds,
    )
    key_access = KeyAccess(keys)
    key_usage = KeyUsageTracker(key_store, service_clock)
    grant_book = GrantBook(key_store, keyring, cache_seconds=identity_cache_seconds)
    key_authorization = KeyAuthorization(
        app_authorizer, keys, grant_book, tenant_tag_key=settings.tenant_tag_key
    )
    crypto_operations = CryptographicOperations(key_access, keyring, key_usage, key_authorization)
    # Tenants' quotas (README "Quotas"): count limits here, request rates at the edge.
    tier_quotas = TierQuotaSource(settings.tenant_tiers, settings.default_tenant_tier)
    quota_source = StoredTenantQuotas(tenant_store, tier_quotas)
    # Each process enforces 1/N of every tenant rate, N = the live processes sharing the
    # database (PostgreSQL); an embedded SQLite database has one process. A tenant's
    # quotas are re-read as often as identity is, and at once after a change made here.
    rate_limiter = RateLimiter(
        quota_source,
        refresh_seconds=identity_cache_seconds,
        on_source_error=_quotas_not_reread,
    )
    count_limits = CountLimits(quota_source)
    key_administration = KeyAdministration(
        key_access, keyring, key_usage, service_clock, key_authorization, limits=count_limits
    )
    key_rotation = KeyRotation(key_access, keyring, service_clock, key_authorization)
    key_import = KeyImport(key_access, keyring, service_clock, key_authorization)
    # The value-read path's heads and versions are cached where this process is the only
    # writer (storage/secret_read_cache.py): every audit commit would otherwise make each
    # read re-read its pages.
    secret_store = SqlSecretStore(
        data_engine,
        cache_entries=EMBEDDED_SECRET_CACHE_ENTRIES if data_engine.dialect.name == "sqlite" else 0,
    )
    secrets_manager = SecretsManagerService(
        secret_store,
        crypto_operations,
        service_clock,
        app_authorizer,
        tenant_tag_key=settings.tenant_tag_key,
        limits=count_limits,
        tenant_keys=TenantKeyLookup(tenant_store),
    )

    # Sessions expire on the services' clock, so a dev server's AdvanceClock ends them.
    credentials = CredentialDirectory(
        SqlAccessKeyStore(data_engine),
        keyring,
        service_clock,
        identity_store,
        identity_changes,
        tenant_tag_key=settings.tenant_tag_key,
        cache_seconds=identity_cache_seconds,
        policies=identity_directory,
    )
    root_arn = root_principal(partition_of(settings.region), settings.account_id, "").arn
    wanted = None
    if settings.root_access_key_id and settings.root_secret_access_key:
        wanted = IssuedCredentials(settings.root_access_key_id, settings.root_secret_access_key)
    issued = credentials.ensure_root_credentials(root_arn, wanted)

    dispatcher = Dispatcher()
    iam_settings = IamSettings(tenant_tag_key=settings.tenant_tag_key)
    iam_parts = (identity_store, app_authorizer, service_clock, identity_changes)
    iam_users = IamUsers(*iam_parts, keyring, iam_settings)
    iam_roles = IamRoles(*iam_parts, iam_settings)
    iam_policies = IamPolicies(*iam_parts, iam_settings)
    register_query_service(
        dispatcher,
        "iam",
        [
            iam_users,
            iam_roles,
            IamGroups(*iam_parts, iam_settings),
            iam_policies,
            IamAccount(*iam_parts, iam_settings),
        ],
        IAM_OPERATIONS,
    )
    sts = StsService(*iam_parts, keyring, authorization_messages, iam_settings)
    register_query_service(dispatcher, "sts", [sts], STS_OPERATIONS)
    register_secrets_manager(dispatcher, secrets_manager)
    register_cloudtrail(
        dispatcher,
        LookupEvents(SqlAuditLookup(data_engine), app_authorizer, PageTokens(keyring)),
    )
    aliases = AliasAdministration(key_access, service_clock, key_authorization)
    grant_administration = GrantAdministration(key_access, service_clock, key_authorization)
    register_kms(
        dispatcher,
        [
            key_administration,
            aliases,
            crypto_operations,
            key_rotation,
            key_import,
            KeyPolicyAdministration(key_access, key_authorization),
            grant_administration,
        ],
    )

    def tenant_changed(tenant_id: str) -> None:
        """A tenant's status or quotas changed in this process: drop what was cached."""
        blocked_tenants.changed(tenant_id)
        rate_limiter.changed(tenant_id)

    tenant_administration = TenantAdministration(
        tenant_store,
        TenancyServices(
            roles=iam_roles,
            users=iam_users,
            policies=iam_policies,
            keys=key_administration,
            aliases=aliases,
            key_access=key_access,
            partition_key_name=key_administration.partition_key_name,
        ),
        app_authorizer,
        service_clock,
        TenancySettings(
            tenant_tag_key=settings.tenant_tag_key,
            id_rule=TenantIdRule(settings.tenant_id_pattern),
            tiers=frozenset(settings.tenant_tiers),
        ),
        effective_quotas=quota_source.wire,
        on_change=tenant_changed,
    )
    sharing = SecretSharing(
        share_store,
        tenant_store,
        share_book,
        app_authorizer,
        service_clock,
        id_rule=TenantIdRule(settings.tenant_id_pattern),
    )
    # The audit trail (DESIGN §8): a mutation's event commits with the mutation (the data
    # engine's commit hook); every other event is group-committed before the call is
    # answered, by the appender process on embedded SQLite, else by the recorder. Durable
    # events go on to the alarms; all of it to the metrics.
    trail = audit_trail(settings, data_engine, keystore_engine, keyring, service_clock)
    signer = trail.store.signer
    if signer is None:  # audit_trail unwraps (or makes) it whenever the keyring is open
        raise RuntimeError("the deployment signing key is not available")
    certificates = DestructionCertificates(
        SqlCertificateStore(data_engine),
        trail.store,
        signer,
        app_authorizer,
        service_clock,
        account_id=settings.account_id,
        region=settings.region,
        id_rule=TenantIdRule(settings.tenant_id_pattern),
    )
    offboarding = Offboarding(
        tenant_store,
        tenant_administration,
        users=iam_users,
        grants=grant_administration,
        rotation=key_rotation,
        shares=sharing,
        sessions=SqlTenantSessions(
            data_engine, settings.tenant_tag_key, on_change=identity_changes.changed
        ),
        shredder=KmsShredder(key_administration),
        audit_export=trail.store,
        public_key_pem=trail.public_key_pem,
        export_dir=settings.data_dir / "tenant-exports",
        certify=certificates.issue,
        clock=service_clock,
    )
    metering = Metering(
        SqlUsageStore(data_engine, tenant_tag_key=settings.tenant_tag_key),
        tenant_store,
        app_authorizer,
        service_clock,
        pricing=settings.pricing,
        id_rule=TenantIdRule(settings.tenant_id_pattern),
    )
    tenancy_owners: list[object] = [
        tenant_administration,
        sharing,
        offboarding,
        certificates,
        metering,
    ]

    interval = settings.reaper_interval_seconds
    instance_jobs: list[PeriodicJob] = []
    instance_leave: tuple[Callable[[], None], ...] = ()
    if data_engine.dialect.name != "sqlite":
        instances = SqlServerInstances(data_engine, clock)
        instance_jobs.append(
            PeriodicJob(
                "server-instance-heartbeat",
                HEARTBEAT_SECONDS,
                lambda: rate_limiter.set_share(instances.heartbeat()),
            )
        )
        instance_leave = (instances.leave,)
    jobs = [
        PeriodicJob("secret-deletion-reaper", interval, secrets_manager.purge_expired_deletions),
        PeriodicJob("key-destruction-reaper", interval, key_administration.destroy_due_keys),
        PeriodicJob("imported-material-expiry", interval, key_import.expire_imported_material),
        PeriodicJob("key-rotation-scheduler", interval, key_rotation.rotate_due_keys),
        PeriodicJob("key-usage-flush", 5.0, key_usage.flush),
        PeriodicJob("encryption-count-flush", 5.0, keyring.flush_encryption_counts),
        PeriodicJob("expired-session-purge", interval, sts.purge_expired_sessions),
        PeriodicJob("tenant-shredder", interval, offboarding.shred_due_tenants),
        PeriodicJob("tenant-usage-roll-up", USAGE_ROLL_UP_SECONDS, metering.roll_up),
        PeriodicJob(
            "audit-lookup-copy",
            AUDIT_LOOKUP_COPY_SECONDS,
            AuditLookupIndexer(data_engine).catch_up_if_stalled,
        ),
        *instance_jobs,
    ]

    if settings.dev:
        assert isinstance(service_clock, OffsetClock)  # noqa: S101 - set above for dev

        def reset_everything() -> None:
            secrets_manager.reset()
            key_usage.forget_all()
            key_store.reset()
            keys.forget_cached()
            grant_book.forget_all()
            with identity_store.transaction(write=True) as identity:
                identity.reset()
            identity_changes.changed()
            sharing.reset()
            tenant_store.reset()
            blocked_tenants.changed()
            material_store.reset()
            keyring.forget_all()
            log.warning("dev reset: all secrets, keys, identities and tenants were deleted")

        def advance_clock(seconds: float) -> None:
            service_clock.advance(timedelta(seconds=seconds))
            log.warning("dev clock moved forward %.0f seconds", seconds)
            for job in jobs:
                job.run_once()

        register_strongroom(dispatcher, tenancy_owners, DevTools(reset_everything, advance_clock))
    else:
        register_strongroom(dispatcher, tenancy_owners)

    metrics = Metrics(settings.metrics_max_tenants)
    metrics.watch_rate_limit_processes(lambda: rate_limiter.share)
    notifier = (
        None
        if settings.alarm_webhook_url is None
        else WebhookNotifier(settings.alarm_webhook_url, metrics=metrics)
    )
    alarm_engine = AlarmEngine(settings.alarms, notifier=notifier, metrics=metrics)
    recorder = AuditRecorder(
        trail.store,
        alarm_engine,
        metrics=metrics,
        offload=_audit_appender(settings, data_engine, signer, service_clock),
    )
    engines.set_commit_hook(data_engine, AuditCommitHook(trail.store, recorder))
    event_builder = EventBuilder(settings.account_id)
    event_builder.warm(dispatcher.operations())
    call_audit = CallAudit(
        event_builder,
        recorder,
        service_clock,
        default_region=settings.region,
        region_allowed=settings.region_allowed,
        metrics=metrics,
        outcome=outcome_of,
    )

    app = StrongroomApp(
        dispatcher=dispatcher,
        verifier=SigV4Verifier(credentials, required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=credentials.principal,
        clock=clock,
        settings=EdgeSettings(
            account_id=AccountId(settings.account_id),
            region_allowed=settings.region_allowed,
            max_body_bytes=settings.max_body_bytes,
            inline_point_reads=data_engine.dialect.name == "sqlite",
            on_startup=(recorder.start, *(job.start for job in jobs)),
            on_shutdown=(
                *(job.stop for job in jobs),
                key_usage.flush,
                keyring.flush_encryption_counts,
                *instance_leave,
                recorder.stop,
                *(() if notifier is None else (notifier.stop,)),
            ),
            metrics=metrics.exposition,
        ),
        audit=call_audit,
        rate_limiter=rate_limiter,
        on_throttled=metrics.throttled,
    )
    return Application(
        app=app,
        settings=settings,
        root_credentials=issued,
        root_key_source=provider.describe(),
        secrets_manager=secrets_manager,
        dispatcher=dispatcher,
        key_administration=key_administration,
        _engines=[data_engine, keystore_engine],
        _jobs=jobs,
        _recorder=recorder,
    )


def _audit_appender(
    settings: Settings, data_engine: Engine, signer: CheckpointSigner, clock: Clock
) -> AuditAppenderProcess | None:
    """On embedded SQLite, the process that appends the events of calls answered on the
    event loop (storage/audit_appender.py says why); PostgreSQL's calls run in threads."""
    if data_engine.dialect.name != "sqlite":
        return None
    # Spawned when the recorder starts (the server's startup), not here: a build that is
    # never served (tests, tools) costs no process.
    return AuditAppenderProcess(
        settings.resolved_data_url,
        clock,
        signing_key=signer.private_bytes() if isinstance(signer, Ed25519Signer) else None,
        log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
    )


def _quotas_not_reread(tenant: str, error: Exception) -> None:
    log.warning(
        "quotas of tenant %s not re-read (%s); its last ones stand", tenant, type(error).__name__
    )


# -- the audit trail ---------------------------------------------------------------------


@dataclass
class AuditTrail:
    """The audit store (checkpoints signed with the deployment key) and its retention."""

    store: SqlAuditStore
    retention: Retention
    public_key_pem: bytes | None
    signing: bool


def audit_trail(
    settings: Settings,
    data_engine: Engine,
    keystore_engine: Engine,
    keyring: KeyRing | None,
    clock: Clock,
) -> AuditTrail:
    """The audit trail on the data database. With an open ``keyring`` the deployment
    signing key is unwrapped (and made, the first time) so checkpoints get signed."""
    signing_keys = SqlSigningKeyStore(keystore_engine)
    signer = None if keyring is None else deployment_signer(signing_keys, keyring, clock)
    store = SqlAuditStore(data_engine, signer=signer, clock=clock)
    usage = SqlUsageStore(data_engine, tenant_tag_key=settings.tenant_tag_key)
    retention = Retention(
        store,
        clock,
        retention_days=settings.audit_retention_days,
        export_dir=settings.resolved_audit_export_dir,
        # Pruned events are gone for metering too: count them first.
        before_prune=lambda: usage.roll_up(clock.now().date()),
    )
    public_key = signer.public_key_pem() if signer is not None else public_key_pem(signing_keys)
    return AuditTrail(store, retention, public_key, signing=signer is not None)


@dataclass
class AuditTools:
    """What the ``strongroom audit`` commands open: the trail and the engines to close."""

    trail: AuditTrail
    _engines: list[Engine] = field(default_factory=list)

    def close(self) -> None:
        for engine in self._engines:
            engines.dispose(engine)


def open_audit(settings: Settings, *, unlock: bool, clock: Clock | None = None) -> AuditTools:
    """Open an existing deployment's audit trail for operator commands: no migrations, no
    server. ``unlock``: also load the root key and unwrap the signing key (to sign
    checkpoints and exports); skipped when the deployment has no keystore yet."""
    clock = clock or SystemClock()
    data_engine = engines.create(settings.resolved_data_url)
    keystore_engine = engines.create(settings.resolved_keystore_url)
    try:
        keyring = None
        material_store = SqlKeyMaterialStore(keystore_engine)
        if unlock and material_store.domain_keys():
            keyring = KeyRing(root_key_provider(settings).load(), material_store, clock)
            keyring.open()
        trail = audit_trail(settings, data_engine, keystore_engine, keyring, clock)
    except BaseException:
        engines.dispose(data_engine)
        keystore_engine.dispose()
        raise
    return AuditTools(trail, [data_engine, keystore_engine])
