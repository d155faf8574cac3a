"""KMS key lifecycles on servers of their own: rotation, budgets, crypto-shredding, expiry."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from strongroom.kms.keyring import key_material_id
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

DAY = 86_400
BUDGET = 5


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose clock these tests move forward (never the shared one)."""
    running = start_server(tmp_path_factory.mktemp("kms-lifecycle-data"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose key versions serve only a handful of encryptions each."""
    running = start_server(
        tmp_path_factory.mktemp("kms-budget-data"), "--key-usage-budget", str(BUDGET)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kms(clock_server: RunningServer) -> Any:
    return clock_server.client("kms")


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def current_material(kms: Any, key_id: str) -> str:
    return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"])


def encrypt(kms: Any, key_id: str, plaintext: bytes) -> bytes:
    return bytes(kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"])


def material_of(kms: Any, blob: bytes) -> str:
    return str(kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"])


def assert_all_decrypt(kms: Any, made: list[tuple[bytes, bytes, str]]) -> None:
    """Every (plaintext, ciphertext, key material) still decrypts, under its own material."""
    for plaintext, blob, material in made:
        opened = kms.decrypt(CiphertextBlob=blob)
        assert opened["Plaintext"] == plaintext
        assert opened["KeyMaterialId"] == material


# -- rotation ---------------------------------------------------------------------------


def test_on_demand_rotations_keep_old_ciphertexts_and_encrypt_under_the_newest(
    kms: Any,
) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    first_material = current_material(kms, key_id)
    assert first_material == key_material_id(key_id, 1)
    blob = encrypt(kms, key_id, b"generation 0")
    assert material_of(kms, blob) == first_material
    made = [(b"generation 0", blob, first_material)]
    seen = {first_material}
    for generation in range(1, 5):
        assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"] == key_id
        material = current_material(kms, key_id)
        assert material not in seen
        seen.add(material)
        plaintext = f"generation {generation}".encode()
        blob = encrypt(kms, key_id, plaintext)
        assert material_of(kms, blob) == material
        made.append((plaintext, blob, material))
    assert_all_decrypt(kms, made)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"] * 4
    assert [r["KeyMaterialId"] for r in rotations] == [m for _, _, m in made[1:]]
    listed = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    states = {r["KeyMaterialId"]: r["KeyMaterialState"] for r in listed["Rotations"]}
    assert states == {m: "CURRENT" if m == made[-1][2] else "NON_CURRENT" for _, _, m in made}


def test_on_demand_rotation_stops_at_25(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = encrypt(kms, key_id, b"before all rotations")
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        kms.rotate_key_on_demand(KeyId=key_id)
    assert error_code(excinfo) == "LimitExceededException"
    assert current_material(kms, key_id) == key_material_id(key_id, 26)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before all rotations"
    newest = encrypt(kms, key_id, b"after")
    assert material_of(kms, newest) == key_material_id(key_id, 26)
    assert len(kms.list_key_rotations(KeyId=key_id)["Rotations"]) == 25


def test_automatic_rotation_runs_when_due(clock_server: RunningServer, kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    before = current_material(kms, key_id)
    old = encrypt(kms, key_id, b"before automatic rotation")
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90
    first_due: datetime = status["NextRotationDate"]
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []

    clock_server.advance_clock(91 * DAY)

    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    after = current_material(kms, key_id)
    assert after != before
    assert rotations[0]["KeyMaterialId"] == after
    assert rotations[0]["RotationDate"] >= first_due
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["NextRotationDate"] >= first_due + timedelta(days=90)
    new = encrypt(kms, key_id, b"after automatic rotation")
    assert material_of(kms, new) == after
    assert_all_decrypt(kms, [(b"before automatic rotation", old, before)])


def test_the_usage_budget_forces_new_key_material(budget_server: RunningServer) -> None:
    kms = budget_server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    made: list[tuple[bytes, bytes, str]] = []
    for i in range(20):
        plaintext = f"message {i}".encode()
        blob = encrypt(kms, key_id, plaintext)
        material = material_of(kms, blob)
        # Right after the budget moved the key on, DescribeKey names the material just used.
        assert current_material(kms, key_id) == material
        made.append((plaintext, blob, material))
    versions_by_material = {key_material_id(key_id, v): v for v in range(1, 21)}
    used = [versions_by_material[m] for _, _, m in made]
    assert used == sorted(used), "an encryption went back to an older key version"
    for version in set(used):
        assert used.count(version) <= BUDGET, f"version {version} overspent its budget"
    assert len(set(used)) >= 20 // BUDGET
    assert_all_decrypt(kms, made)


def test_material_the_budget_made_is_listed_with_all_key_material(
    budget_server: RunningServer,
) -> None:
    kms = budget_server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    materials = {material_of(kms, encrypt(kms, key_id, b"x")) for _ in range(2 * BUDGET + 1)}
    assert len(materials) >= 3
    # Every material a ciphertext can name is listed, the one in use as CURRENT, as AWS
    # lists all of a key's material (whatever made it) with IncludeKeyMaterial.
    listed = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    states = {r["KeyMaterialId"]: r["KeyMaterialState"] for r in listed["Rotations"]}
    assert materials <= set(states)
    assert [m for m, state in states.items() if state == "CURRENT"] == [
        current_material(kms, key_id)
    ]


# -- deletion is crypto-shredding ----------------------------------------------------------


def wrapped_versions(data_dir: Path, key_id: str) -> list[bytes]:
    """The key's wrapped material as the keystore holds it (read-only, then closed)."""
    uri = f"{(data_dir / 'keystore.db').as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        rows = connection.execute(
            "SELECT wrapped FROM key_versions WHERE key_id = ? ORDER BY version", (key_id,)
        ).fetchall()
    finally:
        connection.close()
    return [bytes(row[0]) for row in rows]


def files_containing(data_dir: Path, needles: list[bytes]) -> list[str]:
    """Every file of the data directory that holds one of ``needles``, byte for byte."""
    return sorted(
        path.name
        for path in data_dir.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    )


def test_deletion_destroys_the_key_material_everywhere(
    clock_server: RunningServer, kms: Any
) -> None:
    key_id = kms.create_key(Description="to be shredded")["KeyMetadata"]["KeyId"]
    kms.rotate_key_on_demand(KeyId=key_id)
    blobs = [encrypt(kms, key_id, f"doomed {i}".encode()) for i in range(5)]
    kms.rotate_key_on_demand(KeyId=key_id)
    blobs.append(encrypt(kms, key_id, b"doomed last"))
    wrapped = wrapped_versions(clock_server.data_dir, key_id)
    assert len(wrapped) == 3
    assert all(len(w) >= 32 for w in wrapped)
    keystore_files = ["keystore.db", "keystore.db-wal", "keystore.db-shm"]
    data_files = ["data.db", "data.db-wal", "data.db-shm"]
    # The scan sees the material while it exists (and never in the data database).
    assert set(files_containing(clock_server.data_dir, wrapped)) <= set(keystore_files)
    assert files_containing(clock_server.data_dir, wrapped)

    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Disabled"
    assert "DeletionDate" not in metadata
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7

    clock_server.advance_clock(6 * DAY)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert wrapped_versions(clock_server.data_dir, key_id) == wrapped
    assert files_containing(clock_server.data_dir, wrapped)
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blobs[0])
    assert error_code(excinfo) == "KMSInvalidStateException"

    clock_server.advance_clock(2 * DAY)
    with pytest.raises(ClientError) as excinfo:
        kms.describe_key(KeyId=key_id)
    assert error_code(excinfo) == "NotFoundException"
    for blob in blobs:
        with pytest.raises(ClientError) as excinfo:
            kms.decrypt(CiphertextBlob=blob)
        assert "Plaintext" not in excinfo.value.response
    assert wrapped_versions(clock_server.data_dir, key_id) == []
    present = {p.name for p in clock_server.data_dir.iterdir()}
    assert "keystore.db" in present
    assert "data.db" in present
    # The wrapped bytes are gone from the keystore's files (secure_delete, WAL truncated),
    # and were never in the data database's.
    assert files_containing(clock_server.data_dir, wrapped) == []
    for name in keystore_files + data_files:
        path = clock_server.data_dir / name
        if path.exists():
            content = path.read_bytes()
            assert not any(w in content for w in wrapped), name


# -- imported key material -----------------------------------------------------------------


def import_material(kms: Any, key_id: str, material: bytes, **expiry: Any) -> None:
    parameters = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    public = load_der_public_key(parameters["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    encrypted = public.encrypt(
        material,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    kms.import_key_material(
        KeyId=key_id,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=encrypted,
        **expiry,
    )


def test_imported_material_expires_and_can_be_reimported(
    clock_server: RunningServer, kms: Any
) -> None:
    created = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    key_id = created["KeyId"]
    assert created["KeyState"] == "PendingImport"
    # The server's clock may be ahead of ours (other tests moved it): ValidTo follows it.
    server_now: datetime = created["CreationDate"]
    material = bytes(range(32))
    import_material(
        kms,
        key_id,
        material,
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        ValidTo=server_now + timedelta(days=2),
    )
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    old = encrypt(kms, key_id, b"under imported material")

    clock_server.advance_clock(3 * DAY)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as excinfo:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(excinfo) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=old)
    assert error_code(excinfo) == "KMSInvalidStateException"

    import_material(kms, key_id, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"under imported material"
    assert kms.decrypt(CiphertextBlob=encrypt(kms, key_id, b"again"))["Plaintext"] == b"again"


def test_other_material_cannot_be_reimported(kms: Any) -> None:
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(kms, key_id, bytes(32), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.delete_imported_key_material(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as excinfo:
        import_material(kms, key_id, b"\x01" * 32, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert error_code(excinfo) == "IncorrectKeyMaterialException"


# -- usage tracking ------------------------------------------------------------------------


def test_last_usage_follows_encrypt_and_decrypt(kms: Any) -> None:
    created = kms.create_key()["KeyMetadata"]
    key_id = created["KeyId"]
    assert "KeyLastUsage" not in kms.get_key_last_usage(KeyId=key_id)

    encrypted = kms.encrypt(KeyId=key_id, Plaintext=b"tracked")
    usage = kms.get_key_last_usage(KeyId=key_id)
    assert usage["KeyId"] == created["Arn"]
    assert usage["KeyLastUsage"]["Operation"] == "Encrypt"
    assert usage["KeyLastUsage"]["KmsRequestId"] == encrypted["ResponseMetadata"]["RequestId"]
    assert usage["KeyLastUsage"]["Timestamp"] >= created["CreationDate"] - timedelta(seconds=1)

    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    usage = kms.get_key_last_usage(KeyId=key_id)["KeyLastUsage"]
    assert usage["Operation"] == "Decrypt"
    assert usage["KmsRequestId"] == decrypted["ResponseMetadata"]["RequestId"]
