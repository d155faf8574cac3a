"""The composition root: builds storage, the key hierarchy, services and the ASGI app."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from strongroom.clock import Clock, OffsetClock, SystemClock
from strongroom.context import Principal
from strongroom.crypto.key_material import KeyMaterial
from strongroom.crypto.root_key_providers import (
    DevRootKeyProvider,
    EnvRootKeyProvider,
    FileRootKeyProvider,
    RootKeyProvider,
)
from strongroom.identity.credentials import CredentialDirectory, IssuedCredentials, root_principal
from strongroom.ids import AccountId, partition_of
from strongroom.kms.aliases import AliasAdministration
from strongroom.kms.cryptographic_operations import CryptographicOperations
from strongroom.kms.key_access import KeyAccess
from strongroom.kms.key_administration import KeyAdministration
from strongroom.kms.key_directory import KeyDirectory
from strongroom.kms.key_import import KeyImport
from strongroom.kms.key_rotation import KeyRotation
from strongroom.kms.key_usage import KeyUsageTracker
from strongroom.kms.keyring import KeyRing
from strongroom.scheduling.periodic import PeriodicJob
from strongroom.secretsmanager.service import SecretsManagerService
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.dispatch import (
    Dispatcher,
    register_dev_tools,
    register_kms,
    register_secrets_manager,
)
from strongroom.server.sigv4 import SigV4Verifier
from strongroom.settings import Settings
from strongroom.storage import engines, migrate
from strongroom.storage.access_key_repository import SqlAccessKeyStore
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from strongroom.storage.secret_repository import SqlSecretStore

log = logging.getLogger(__name__)

DEV_ROOT_KEY_FILE = "root-key.DEVELOPMENT-ONLY"


@dataclass
class Application:
    """A built server: the ASGI app plus what the CLI prints and closes."""

    app: StrongroomApp
    settings: Settings
    root_credentials: IssuedCredentials
    root_key_source: str
    secrets_manager: SecretsManagerService
    _engines: list[Engine] = field(default_factory=list)
    _jobs: list[PeriodicJob] = field(default_factory=list)

    def close(self) -> None:
        for job in self._jobs:
            job.stop()
        for engine in self._engines:
            engine.dispose()


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
        data_engine.dispose()
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
    # Services run on their own clock; on a dev server tests can move it forward.
    service_clock = OffsetClock(clock) if settings.dev else clock

    material_store = SqlKeyMaterialStore(keystore_engine)
    keyring = KeyRing(
        root_key, material_store, service_clock, usage_budget=settings.key_usage_budget
    )
    keyring.open()
    key_store = SqlKeyDirectoryStore(data_engine)
    keys = KeyDirectory(key_store, keyring, service_clock, settings.account_id)
    key_access = KeyAccess(keys)
    key_usage = KeyUsageTracker(key_store, service_clock)
    crypto_operations = CryptographicOperations(key_access, keyring, key_usage)
    key_administration = KeyAdministration(key_access, keyring, key_usage, service_clock)
    key_rotation = KeyRotation(key_access, keyring, service_clock)
    key_import = KeyImport(key_access, keyring, service_clock)
    secret_store = SqlSecretStore(data_engine)
    secrets_manager = SecretsManagerService(secret_store, crypto_operations, service_clock)

    credentials = CredentialDirectory(SqlAccessKeyStore(data_engine), keyring, clock)
    root_arn = root_principal(partition_of(settings.region), settings.account_id, "").arn
    wanted = None
    if settings.root_access_key_id and settings.root_secret_access_key:
        wanted = IssuedCredentials(settings.root_access_key_id, settings.root_secret_access_key)
    issued = credentials.ensure_root_credentials(root_arn, wanted)

    def principal_for(
        access_key_id: str, session_token: str | None, partition: str
    ) -> Principal | None:
        if session_token is not None:
            return None
        owner = credentials.principal_arn(access_key_id)
        if owner is None or not owner.endswith(":root"):
            return None
        return root_principal(partition, settings.account_id, access_key_id)

    dispatcher = Dispatcher()
    register_secrets_manager(dispatcher, secrets_manager)
    register_kms(
        dispatcher,
        [
            key_administration,
            AliasAdministration(key_access, service_clock),
            crypto_operations,
            key_rotation,
            key_import,
        ],
    )

    interval = settings.reaper_interval_seconds
    jobs = [
        PeriodicJob("secret-deletion-reaper", interval, secrets_manager.purge_expired_deletions),
        PeriodicJob("key-destruction-reaper", interval, key_administration.destroy_due_keys),
        PeriodicJob("imported-material-expiry", interval, key_import.expire_imported_material),
        PeriodicJob("key-rotation-scheduler", interval, key_rotation.rotate_due_keys),
        PeriodicJob("key-usage-flush", 5.0, key_usage.flush),
    ]

    if settings.dev:
        assert isinstance(service_clock, OffsetClock)  # noqa: S101 - set above for dev

        def reset_everything() -> None:
            secrets_manager.reset()
            key_usage.forget_all()
            key_store.reset()
            keys.forget_cached()
            material_store.reset()
            keyring.forget_all()
            log.warning("dev reset: all secrets and keys were deleted")

        def advance_clock(seconds: float) -> None:
            service_clock.advance(timedelta(seconds=seconds))
            log.warning("dev clock moved forward %.0f seconds", seconds)
            for job in jobs:
                job.run_once()

        register_dev_tools(dispatcher, reset_everything, advance_clock)

    app = StrongroomApp(
        dispatcher=dispatcher,
        verifier=SigV4Verifier(credentials, required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=principal_for,
        clock=clock,
        settings=EdgeSettings(
            account_id=AccountId(settings.account_id),
            region_allowed=settings.region_allowed,
            max_body_bytes=settings.max_body_bytes,
            inline_point_reads=data_engine.dialect.name == "sqlite",
            on_startup=tuple(job.start for job in jobs),
            on_shutdown=(*(job.stop for job in jobs), key_usage.flush),
        ),
    )
    return Application(
        app=app,
        settings=settings,
        root_credentials=issued,
        root_key_source=provider.describe(),
        secrets_manager=secrets_manager,
        _engines=[data_engine, keystore_engine],
        _jobs=jobs,
    )
