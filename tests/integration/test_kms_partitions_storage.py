"""Tenant partitions on SQLite and PostgreSQL: shredding one tenant, or a whole key, for real."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from strongroom import bootstrap
from strongroom.clock import FrozenClock
from strongroom.errors import (
    DecryptionFailure,
    InvalidCiphertextException,
    KMSInvalidStateException,
)
from strongroom.kms.key_administration import KeyAdministration
from strongroom.secretsmanager import shapes as sm
from strongroom.settings import Settings
from strongroom.storage.schema import (
    key_partition_destructions,
    key_partitions,
    key_versions,
    kms_key_destructions,
)
from tests.support.dev_stack import dev_settings, root_context

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
A = {"tenant_id": "cust-a", "purpose": "integration"}
B = {"tenant_id": "cust-b", "purpose": "integration"}
SHARED = {"purpose": "integration"}


@dataclass
class Stack:
    kind: str
    settings: Settings
    app: bootstrap.Application

    def second_process(self) -> bootstrap.Application:
        """Another server process over the same databases (its own caches)."""
        return bootstrap.build(self.settings, FrozenClock(START))

    @property
    def administration(self) -> KeyAdministration:
        assert self.app.key_administration is not None
        return self.app.key_administration

    def keystore_rows(self, table: Any, **where: Any) -> list[Any]:
        engine = create_engine(self.settings.resolved_keystore_url)
        try:
            with engine.connect() as connection:
                query = select(table)
                for column, value in where.items():
                    query = query.where(table.c[column] == value)
                return list(connection.execute(query).all())
        finally:
            engine.dispose()

    def keystore_file_bytes(self) -> bytes:
        """keystore.db and its -wal (and -shm), as they are on disk (SQLite only)."""
        files = sorted(self.settings.data_dir.glob("keystore.db*"))
        assert "keystore.db" in {p.name for p in files}
        return b"".join(p.read_bytes() for p in files)


def call(app: bootstrap.Application, operation: str, **document: Any) -> dict[str, Any]:
    """A KMS operation through the dispatcher: wire JSON in, wire JSON out."""
    assert app.dispatcher is not None
    body = json.dumps(document).encode()
    answer = app.dispatcher.find(f"TrentService.{operation}").handler(root_context(), body)
    return dict(json.loads(answer))


def encrypt(app: bootstrap.Application, key_id: str, text: bytes, context: dict[str, str]) -> str:
    plaintext = base64.b64encode(text).decode()
    answer = call(app, "Encrypt", KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)
    return str(answer["CiphertextBlob"])


def decrypt(app: bootstrap.Application, blob: str, context: dict[str, str]) -> bytes:
    answer = call(app, "Decrypt", CiphertextBlob=blob, EncryptionContext=context)
    return base64.b64decode(answer["Plaintext"])


def partitioned_key(app: bootstrap.Application) -> str:
    created = call(
        app, "CreateKey", Tags=[{"TagKey": "strongroom:partition-key", "TagValue": "tenant_id"}]
    )
    return str(created["KeyMetadata"]["KeyId"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with dev_settings(request.param, tmp_path / "data") as settings:
        built = Stack(request.param, settings, bootstrap.build(settings, FrozenClock(START)))
        try:
            yield built
        finally:
            built.app.close()


def test_destroy_partition_shreds_one_tenant_and_no_other(stack: Stack) -> None:
    app = stack.app
    key_id = partitioned_key(app)
    a_blobs = [encrypt(app, key_id, b"a-%d" % i, A) for i in range(3)]
    data_key = call(app, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", EncryptionContext=A)
    b_blob = encrypt(app, key_id, b"b", B)
    shared_blob = encrypt(app, key_id, b"shared", SHARED)
    wrapped = {
        r.value: bytes(r.wrapped) for r in stack.keystore_rows(key_partitions, key_id=key_id)
    }
    assert set(wrapped) == {"cust-a", "cust-b"}

    destruction = stack.administration.destroy_partition(key_id, "cust-a")

    assert destruction.versions == (1,)
    assert len(destruction.partition_ids) == 1
    assert destruction.encryptions == 4
    for blob in [*a_blobs, str(data_key["CiphertextBlob"])]:
        with pytest.raises(KMSInvalidStateException, match="destroyed"):
            decrypt(app, blob, A)
    assert decrypt(app, b_blob, B) == b"b"
    assert decrypt(app, shared_blob, SHARED) == b"shared"
    assert [r.value for r in stack.keystore_rows(key_partitions, key_id=key_id)] == ["cust-b"]
    (record,) = stack.keystore_rows(key_partition_destructions, key_id=key_id)
    assert (record.value, record.encryptions) == ("cust-a", 4)
    assert bytes(record.partition_id).hex() == destruction.partition_ids[0]
    if stack.kind == "sqlite":
        on_disk = stack.keystore_file_bytes()
        assert wrapped["cust-a"] not in on_disk
        assert wrapped["cust-b"] in on_disk


def test_destroy_key_now_shreds_versions_and_partitions(stack: Stack) -> None:
    app = stack.app
    key_id = partitioned_key(app)
    a = encrypt(app, key_id, b"a", A)
    call(app, "RotateKeyOnDemand", KeyId=key_id)
    b = encrypt(app, key_id, b"b", B)
    shared = encrypt(app, key_id, b"shared", SHARED)
    material = [bytes(r.wrapped) for r in stack.keystore_rows(key_partitions, key_id=key_id)]
    material += [bytes(r.wrapped) for r in stack.keystore_rows(key_versions, key_id=key_id)]
    assert len(material) == 4

    destruction = stack.administration.destroy_key_now(key_id, "TenantOffboarding")

    assert destruction.versions == (1, 2)
    assert len(destruction.partition_ids) == 2
    assert destruction.encryptions == 3
    for blob, context in ((a, A), (b, B), (shared, SHARED)):
        with pytest.raises(InvalidCiphertextException):
            decrypt(app, blob, context)
    assert stack.keystore_rows(key_versions, key_id=key_id) == []
    assert stack.keystore_rows(key_partitions, key_id=key_id) == []
    data = create_engine(stack.settings.resolved_data_url)
    try:
        with data.connect() as connection:
            reason = connection.execute(
                select(kms_key_destructions.c.reason).where(kms_key_destructions.c.key_id == key_id)
            ).scalar_one()
    finally:
        data.dispose()
    assert reason == "TenantOffboarding"
    if stack.kind == "sqlite":
        on_disk = stack.keystore_file_bytes()
        assert not [m for m in material if m in on_disk]


def test_two_processes_make_one_partition_per_value(stack: Stack) -> None:
    other = stack.second_process()
    try:
        key_id = partitioned_key(stack.app)
        apps = [stack.app, other] * 4
        barrier = threading.Barrier(len(apps))
        blobs: list[str] = []
        failures: list[BaseException] = []

        def run(app: bootstrap.Application) -> None:
            try:
                barrier.wait()
                blobs.append(encrypt(app, key_id, b"race", {"tenant_id": "cust-race"}))
            except BaseException as exc:  # reported below, with the thread's context
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(stack.keystore_rows(key_partitions, key_id=key_id)) == 1
        for blob in blobs:
            for app in (stack.app, other):
                assert decrypt(app, blob, {"tenant_id": "cust-race"}) == b"race"
    finally:
        other.close()


def test_a_partition_destroyed_elsewhere_stops_decrypting_here(stack: Stack) -> None:
    other = stack.second_process()
    try:
        key_id = partitioned_key(stack.app)
        blob = encrypt(stack.app, key_id, b"a", A)
        assert decrypt(other, blob, A) == b"a"  # now cached in the other process
        stack.administration.destroy_partition(key_id, "cust-a")
        time.sleep(1.1)  # the other process looks its cached partitions up every second
        with pytest.raises(KMSInvalidStateException):
            decrypt(other, blob, A)
    finally:
        other.close()


def test_partitions_survive_a_restart(stack: Stack) -> None:
    key_id = partitioned_key(stack.app)
    blob = encrypt(stack.app, key_id, b"a", A)
    stack.app.close()
    stack.app = bootstrap.build(stack.settings, FrozenClock(START))
    assert decrypt(stack.app, blob, A) == b"a"
    again = encrypt(stack.app, key_id, b"again", A)
    assert base64.b64decode(again)[22:38] == base64.b64decode(blob)[22:38]


def test_tenant_secrets_under_a_shared_key_are_shredded_per_tenant(stack: Stack) -> None:
    key_id = partitioned_key(stack.app)
    service = stack.app.secrets_manager
    for tenant in ("cust-a", "cust-b"):
        service.create_secret(
            root_context(),
            sm.CreateSecretRequest(
                name=f"/customer/{tenant}/db", kms_key_id=key_id, secret_string=f"pw-{tenant}"
            ),
        )
    (row,) = stack.keystore_rows(key_partitions, key_id=key_id, value="cust-a")
    stack.administration.destroy_partition(key_id, "cust-a")
    with pytest.raises(DecryptionFailure, match="destroyed"):
        service.get_secret_value(
            root_context(), sm.GetSecretValueRequest(secret_id="/customer/cust-a/db")
        )
    kept = service.get_secret_value(
        root_context(), sm.GetSecretValueRequest(secret_id="/customer/cust-b/db")
    )
    assert kept.secret_string == "pw-cust-b"
    if stack.kind == "sqlite":
        assert bytes(row.wrapped) not in stack.keystore_file_bytes()
