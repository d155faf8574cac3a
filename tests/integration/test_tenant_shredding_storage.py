"""Shredding a tenant on SQLite and PostgreSQL when the process dies half-way, and
onboarding that rolls back: what the databases are left with.

A crash is simulated by a fault injected into one step (it raises once, after the steps
before it committed), and the tenant-shredder job is then run again, as the scheduler
would on its next tick.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from strongroom import bootstrap
from strongroom.clock import FrozenClock
from strongroom.errors import NotAuthorizedException, ValidationException
from strongroom.kms.ports import WrappedKeyVersion, WrappedPartition
from strongroom.secretsmanager import shapes as sm
from strongroom.settings import Settings
from strongroom.storage import engines, migrate
from strongroom.storage.key_directory_repository import SqlKeyDirectoryStore
from strongroom.storage.keystore_repository import SqlKeyMaterialStore
from strongroom.storage.schema import (
    key_partitions,
    key_versions,
    kms_key_destructions,
    kms_keys,
    tenant_destruction_certificates,
    tenants,
)
from strongroom.storage.tenant_repository import SqlTenantStore
from strongroom.tenancy import certificates
from strongroom.tenancy.certificate_service import DestructionCertificates
from strongroom.tenancy.certificates import DestructionFacts
from tests.support.dev_stack import dev_settings, root_context

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = 86_400
ENCRYPTIONS = 3  # direct Encrypt calls per tenant, besides its secret's data key


@dataclass
class Databases:
    kind: str
    settings: Settings
    apps: list[bootstrap.Application] = field(default_factory=list)

    def build(self) -> bootstrap.Application:
        app = bootstrap.build(self.settings, FrozenClock(START))
        self.apps.append(app)
        return app

    def rows(self, url: str, query: Any) -> list[Any]:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(query).all())
        finally:
            engine.dispose()

    def data(self, query: Any) -> list[Any]:
        return self.rows(self.settings.resolved_data_url, query)

    def keystore(self, query: Any) -> list[Any]:
        return self.rows(self.settings.resolved_keystore_url, query)

    def keystore_file_bytes(self) -> bytes:
        """keystore.db and its -wal (and -shm), as they are on disk (SQLite only)."""
        return b"".join(p.read_bytes() for p in sorted(self.settings.data_dir.glob("keystore.db*")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Settings for a dev server on either engine; each test builds its app(s) after
    installing its faults."""
    with dev_settings(request.param, tmp_path / "data") as settings:
        made = Databases(request.param, settings)
        try:
            yield made
        finally:
            for app in made.apps:
                app.close()


def call(app: bootstrap.Application, target: str, **document: Any) -> dict[str, Any]:
    """A JSON-protocol operation through the dispatcher: wire JSON in, wire JSON out."""
    assert app.dispatcher is not None
    answer = app.dispatcher.find(target).handler(root_context(), json.dumps(document).encode())
    return dict(json.loads(answer)) if answer else {}


def admin(app: bootstrap.Application, operation: str, **document: Any) -> dict[str, Any]:
    return call(app, f"Strongroom_20261101.{operation}", **document)


def kms(app: bootstrap.Application, operation: str, **document: Any) -> dict[str, Any]:
    return call(app, f"TrentService.{operation}", **document)


def onboard_with_data(app: bootstrap.Application, tenant_id: str, mode: str) -> dict[str, Any]:
    """A tenant with ENCRYPTIONS ciphertexts and one secret (two versions) under its key."""
    tenant = admin(app, "CreateTenant", TenantId=tenant_id, KeyMode=mode)["Tenant"]
    for i in range(ENCRYPTIONS):
        kms(
            app,
            "Encrypt",
            KeyId=tenant["KeyId"],
            Plaintext=base64.b64encode(b"card %d" % i).decode(),
            EncryptionContext={"tenant_id": tenant_id},
        )
    name = f"/customer/{tenant_id}/db"
    app.secrets_manager.create_secret(
        root_context(), sm.CreateSecretRequest(name=name, secret_string="a")
    )
    app.secrets_manager.put_secret_value(
        root_context(), sm.PutSecretValueRequest(secret_id=name, secret_string="b")
    )
    return dict(tenant)


def shred(app: bootstrap.Application, seconds: int) -> None:
    """Move the dev clock on and run the scheduled jobs (the tenant shredder among them)."""
    admin(app, "AdvanceClock", Seconds=seconds)


def certificate_of(app: bootstrap.Application, tenant_id: str) -> certificates.VerifiedCertificate:
    text = admin(app, "GetDestructionCertificate", TenantId=tenant_id)["Certificate"]
    public_key = admin(app, "GetDeploymentPublicKey")["PublicKeyPem"].encode()
    return certificates.verify(text, public_key)


def status_of(databases: Databases, tenant_id: str) -> str:
    (row,) = databases.data(select(tenants.c.status).where(tenants.c.tenant_id == tenant_id))
    return str(row.status)


def certificate_count(databases: Databases, tenant_id: str) -> int:
    (row,) = databases.data(
        select(func.count()).where(tenant_destruction_certificates.c.tenant_id == tenant_id)
    )
    return int(row[0])


def fail_once(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    when: Callable[..., bool],
    seen: list[Any] | None = None,
) -> None:
    """Make ``owner.name`` raise once, the first time ``when(*args)`` holds (a process
    dying there: what committed before it stays, what it was about to do does not)."""
    original = getattr(owner, name)
    armed = [True]

    def faulty(self: Any, *args: Any) -> Any:
        if armed[0] and when(*args):
            armed[0] = False
            if seen is not None:
                seen.append(args[0])
            raise RuntimeError(f"simulated crash in {owner.__name__}.{name}")
        return original(self, *args)

    monkeypatch.setattr(owner, name, faulty)


# -- shredding interrupted between destroying and certifying ---------------------------


@pytest.mark.parametrize("mode", ["SHARED", "DEDICATED"])
def test_a_crash_before_the_certificate_costs_nothing_but_a_retry(
    databases: Databases, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    calm, crashed = f"calm-{suffix}", f"crash-{suffix}"
    attempted: list[DestructionFacts] = []
    # Before the build, which hands the shredder the certificate service's bound method.
    fail_once(
        monkeypatch,
        DestructionCertificates,
        "issue",
        lambda facts: facts.tenant_id == crashed,
        attempted,
    )
    app = databases.build()
    made = {tenant_id: onboard_with_data(app, tenant_id, mode) for tenant_id in (calm, crashed)}
    partitions_before = {
        row.value: bytes(row.partition_id).hex()
        for row in databases.keystore(
            select(key_partitions).where(key_partitions.c.key_id == made[crashed]["KeyId"])
        )
    }
    for tenant_id in (calm, crashed):
        admin(app, "OffboardTenant", TenantId=tenant_id, PendingWindowInDays=1)

    shred(app, 2 * DAY)

    # The material went, the certificate did not: the tenant waits for the next run.
    (first,) = attempted
    assert first.tenant_id == crashed
    assert status_of(databases, crashed) == "OFFBOARDING"
    assert certificate_count(databases, crashed) == 0
    assert status_of(databases, calm) == "SHREDDED"
    if mode == "SHARED":
        assert first.partition_ids == (partitions_before[crashed],)
        assert first.key_versions == ()
    else:
        assert first.key_versions == (1,)
        assert first.partition_ids == ()
    assert first.secret_versions == 2
    assert first.ciphertexts == ENCRYPTIONS + 2  # a data key per secret version

    shred(app, 60)

    # The retry destroyed nothing more and certified exactly what the first run would have.
    assert status_of(databases, crashed) == "SHREDDED"
    assert certificate_count(databases, crashed) == 1
    retried = certificate_of(app, crashed)
    assert retried.facts == first
    # ... which is what an uncrashed run certifies for a tenant that did the same.
    uncrashed = certificate_of(app, calm).facts
    assert (
        uncrashed.key_versions,
        len(uncrashed.partition_ids),
        uncrashed.secret_versions,
        uncrashed.ciphertexts,
    ) == (first.key_versions, len(first.partition_ids), first.secret_versions, first.ciphertexts)

    # Further runs issue nothing more.
    shred(app, 60)
    assert certificate_count(databases, crashed) == 1
    assert certificate_of(app, crashed) == retried


def test_a_crash_between_the_keystore_and_the_key_record_loses_nothing(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dedicated key's material goes in the keystore, its metadata in the data database:
    the retry finishes the key's destruction with the figures the keystore recorded."""
    suffix = uuid.uuid4().hex[:6]
    calm, crashed = f"calm-{suffix}", f"crash-{suffix}"
    app = databases.build()
    made = {
        tenant_id: onboard_with_data(app, tenant_id, "DEDICATED") for tenant_id in (calm, crashed)
    }
    crashed_key = made[crashed]["KeyId"]
    fail_once(
        monkeypatch,
        SqlKeyDirectoryStore,
        "delete_key",
        lambda key_id, destruction: key_id == crashed_key,
    )
    for tenant_id in (calm, crashed):
        admin(app, "OffboardTenant", TenantId=tenant_id, PendingWindowInDays=1)

    shred(app, 2 * DAY)

    assert (
        databases.keystore(select(key_versions).where(key_versions.c.key_id == crashed_key)) == []
    )
    assert databases.data(select(kms_keys.c.key_id).where(kms_keys.c.key_id == crashed_key))
    assert status_of(databases, crashed) == "OFFBOARDING"

    shred(app, 60)

    facts = certificate_of(app, crashed).facts
    uncrashed = certificate_of(app, calm).facts
    assert facts.key_versions == uncrashed.key_versions == (1,)
    assert facts.ciphertexts == uncrashed.ciphertexts == ENCRYPTIONS + 2
    assert facts.secret_versions == uncrashed.secret_versions == 2
    (record,) = databases.data(
        select(kms_key_destructions).where(kms_key_destructions.c.key_id == crashed_key)
    )
    assert record.versions_destroyed == 1
    # The material went during the first run; the certificate says so, not the retry's time.
    assert record.destroyed_at == facts.destroyed_at < certificate_of(app, crashed).issued_at


def test_two_processes_shredding_one_tenant_issue_one_certificate(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process read the tenant as due before the first shredded it: it
    destroys nothing more, and its certificate rolls back with its stale status change."""
    issued: list[DestructionFacts] = []
    original_issue = DestructionCertificates.issue

    def issue(self: DestructionCertificates, facts: DestructionFacts) -> str:
        issued.append(facts)
        return original_issue(self, facts)

    monkeypatch.setattr(DestructionCertificates, "issue", issue)  # before the builds
    first, second = databases.build(), databases.build()
    tenant_id = f"race-{uuid.uuid4().hex[:6]}"
    onboard_with_data(first, tenant_id, "SHARED")
    admin(first, "OffboardTenant", TenantId=tenant_id, PendingWindowInDays=1)
    original_due = SqlTenantStore.due_for_destruction
    interleaved = [False]

    def due(self: SqlTenantStore, now: datetime, limit: int) -> Any:
        found = original_due(self, now, limit)
        if found and not interleaved[0]:
            interleaved[0] = True
            shred(first, 2 * DAY)  # the other process shreds it meanwhile
        return found

    monkeypatch.setattr(SqlTenantStore, "due_for_destruction", due)

    shred(second, 2 * DAY)

    assert interleaved[0]
    assert len(issued) == 2  # both processes signed one ...
    assert issued[1] == issued[0]  # ... of the same destruction ...
    assert certificate_count(databases, tenant_id) == 1  # ... and one was kept
    assert status_of(databases, tenant_id) == "SHREDDED"
    assert certificate_of(second, tenant_id).facts == issued[0]


# -- the keystore's destruction records --------------------------------------------------


@pytest.fixture
def keystore(databases: Databases) -> Iterator[Engine]:
    databases.settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engines.create(databases.settings.resolved_keystore_url)
    migrate.upgrade(engine, "keystore")
    try:
        yield engine
    finally:
        engine.dispose()


def _version(key_id: str, version: int, encryptions: int) -> WrappedKeyVersion:
    return WrappedKeyVersion(
        key_id=key_id,
        version=version,
        domain_key_id=bytes(16),
        created_at=START,
        encryptions_reserved=0,
        wrapped=uuid.uuid4().bytes,
        encryptions=encryptions,
    )


def _partition(key_id: str, version: int, value: str, encryptions: int) -> WrappedPartition:
    return WrappedPartition(
        key_id=key_id,
        version=version,
        value=value,
        partition_id=uuid.uuid4().bytes,
        created_at=START,
        wrapped=uuid.uuid4().bytes,
        encryptions=encryptions,
    )


def test_destroying_a_key_records_what_went_for_good(keystore: Engine) -> None:
    store = SqlKeyMaterialStore(keystore)
    key_id = str(uuid.uuid4())
    for version, encryptions in ((1, 5), (2, 7)):
        store.insert_key_version(_version(key_id, version, encryptions))
    a1 = store.insert_partition(_partition(key_id, 1, "a", 3), 10)
    b2 = store.insert_partition(_partition(key_id, 2, "b", 4), 10)
    early = datetime(2026, 11, 2, tzinfo=UTC)
    late = datetime(2026, 11, 3, tzinfo=UTC)
    (gone_a,) = store.destroy_partitions(key_id, "a", early)

    destroyed = store.destroy_key_material(key_id, late)

    assert (destroyed.versions, destroyed.version_encryptions) == ((1, 2), 12)
    assert [p.partition_id for p in destroyed.partitions] == [b2.partition_id]
    assert destroyed.destroyed_at == late
    recorded = store.destroyed_key_material(key_id)
    assert (recorded.versions, recorded.version_encryptions) == ((1, 2), 12)
    assert {(p.partition_id, p.value, p.encryptions) for p in recorded.partitions} == {
        (a1.partition_id, "a", 3),
        (b2.partition_id, "b", 4),
    }
    assert recorded.destroyed_at == late
    assert store.destroyed_partitions(key_id, "a") == [gone_a]

    # Destroying again destroys nothing and changes no record.
    again = store.destroy_key_material(key_id, datetime(2026, 11, 4, tzinfo=UTC))
    assert (again.versions, again.partitions, again.destroyed_at) == ((), (), None)
    assert store.destroyed_key_material(key_id) == recorded

    # Encryptions counted while the material was being destroyed are added to the records.
    store.add_destroyed_encryption_counts({(key_id, 2): 2}, {(key_id, b2.partition_id): 1})
    counted = store.destroyed_key_material(key_id)
    assert counted.version_encryptions == 14
    assert {p.value: p.encryptions for p in counted.partitions} == {"a": 3, "b": 5}

    # Another key's records are its own; a key never destroyed has none.
    assert store.destroyed_key_material(str(uuid.uuid4())).versions == ()
    assert store.destroyed_partitions(str(uuid.uuid4()), "a") == []


def test_a_version_destroyed_twice_is_recorded_once(keystore: Engine) -> None:
    """Material imported again into a key whose destruction was interrupted (its record
    still there) and destroyed again: one record per version, counting both."""
    store = SqlKeyMaterialStore(keystore)
    key_id = str(uuid.uuid4())
    store.insert_key_version(_version(key_id, 1, 5))
    store.destroy_key_material(key_id, START)
    store.insert_key_version(_version(key_id, 1, 2))
    later = datetime(2026, 11, 5, tzinfo=UTC)
    store.destroy_key_material(key_id, later)
    recorded = store.destroyed_key_material(key_id)
    assert (recorded.versions, recorded.version_encryptions, recorded.destroyed_at) == (
        (1,),
        7,
        later,
    )


def test_the_key_record_of_an_interrupted_destruction_is_completed(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KMS alone: destroy_key_now dies after the keystore, and is called again."""
    app = databases.build()
    keys = app.key_administration
    assert keys is not None
    key_id = kms(app, "CreateKey")["KeyMetadata"]["KeyId"]
    kms(app, "RotateKeyOnDemand", KeyId=key_id)
    for _ in range(2):
        kms(app, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(b"x").decode())
    fail_once(monkeypatch, SqlKeyDirectoryStore, "delete_key", lambda key, destruction: True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        keys.destroy_key_now(key_id, "TENANT_OFFBOARDED")
    assert keys.key_destruction(key_id) is None  # its record is not there yet

    completed = keys.destroy_key_now(key_id, "TENANT_OFFBOARDED")

    assert (completed.versions, completed.encryptions) == ((1, 2), 2)
    assert keys.key_destruction(key_id) == completed
    again = keys.destroy_key_now(key_id, "TENANT_OFFBOARDED")
    assert (again.versions, again.encryptions) == ((), 0)
    assert keys.key_destruction(key_id) == completed


# -- onboarding that rolls back leaves no key material -----------------------------------


@dataclass
class KeystoreWrites:
    """Every key version written to the keystore: (key id, wrapped material)."""

    versions: list[tuple[str, bytes]] = field(default_factory=list)


@pytest.fixture
def keystore_writes(monkeypatch: pytest.MonkeyPatch) -> KeystoreWrites:
    writes = KeystoreWrites()
    original = SqlKeyMaterialStore.insert_key_version

    def spied(self: SqlKeyMaterialStore, version: WrappedKeyVersion) -> None:
        original(self, version)
        writes.versions.append((version.key_id, bytes(version.wrapped)))

    monkeypatch.setattr(SqlKeyMaterialStore, "insert_key_version", spied)
    return writes


def assert_no_trace(databases: Databases, rolled_back: list[tuple[str, bytes]]) -> None:
    assert rolled_back, "the failed call should have made a key first"
    on_disk = databases.keystore_file_bytes() if databases.kind == "sqlite" else b""
    for key_id, wrapped in rolled_back:
        assert databases.data(select(kms_keys.c.key_id).where(kms_keys.c.key_id == key_id)) == []
        assert databases.keystore(select(key_versions).where(key_versions.c.key_id == key_id)) == []
        assert wrapped not in on_disk


@pytest.mark.parametrize("mode", ["DEDICATED", "SHARED"])
def test_a_rolled_back_create_tenant_leaves_no_key_material(
    databases: Databases, keystore_writes: KeystoreWrites, mode: str
) -> None:
    """Quotas are checked last, after the key (for SHARED: the first tenant's shared key)
    was made: refusing them rolls CreateTenant back."""
    app = databases.build()
    tenant_id = f"late-{uuid.uuid4().hex[:6]}"

    with pytest.raises(ValidationException, match="Quotas"):
        admin(app, "CreateTenant", TenantId=tenant_id, KeyMode=mode, Quotas={"ReadRate": 0})

    assert databases.data(select(tenants).where(tenants.c.tenant_id == tenant_id)) == []
    assert_no_trace(databases, keystore_writes.versions)

    # The same call with sound quotas succeeds, and its key's material stays.
    key_id = admin(app, "CreateTenant", TenantId=tenant_id, KeyMode=mode)["Tenant"]["KeyId"]
    assert databases.keystore(select(key_versions).where(key_versions.c.key_id == key_id))


def test_a_rolled_back_create_shared_key_leaves_no_key_material(
    databases: Databases, keystore_writes: KeystoreWrites
) -> None:
    app = databases.build()

    # The alias is refused after the key was made.
    with pytest.raises(NotAuthorizedException):
        admin(app, "CreateSharedKey", AliasName="alias/aws/tenants")

    assert_no_trace(databases, keystore_writes.versions)
