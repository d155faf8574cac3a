"""The per-tenant KMS article's envelope encryption works against Strongroom, endpoint aside."""

# Source: /work/shared/reference/article-per-tenant-kms-keys.txt, "Managing Per-Tenant
# Encryption Keys with KMS". Its Python (step 4 and the Verification tests) is copied between
# "# fmt: off" / "# fmt: on" markers so the formatter keeps it as published; its TypeScript
# (steps 2, 3 and 5) is translated call for call, keeping the article's function names.
# The only thing pointed at Strongroom is the environment: AWS_ENDPOINT_URL plus the root test
# credentials, set by the `article_env` fixture. The article's shell lines (step 6) run in
# tests/contract/test_kms_aws_cli.py.
#
# Every adaptation, numbered; the copied code marks each with "# ADAPTATION An":
#   A1. Each snippet starts with its own imports; they are merged at the top.
#   A2. `const kms = new KMSClient({})` becomes `kms = boto3.client("kms")`, run by the
#       `article_env` fixture after it sets the environment (the module global starts as None).
#   A3. TypeScript to Python: `res.Plaintext as Uint8Array` becomes a bytearray, so the
#       article's "use, then zero" (`plaintextDek.fill(0)`) can really overwrite it;
#       `Buffer.from(...).toString("base64")` becomes base64.b64encode; Node's
#       `createCipheriv("aes-256-gcm")` becomes cryptography's AESGCM, whose output is the
#       ciphertext with the 16-byte tag appended, split into the article's two fields;
#       `throw new Error(...)` becomes `raise Exception(...)`. camelCase names are kept
#       (noqa N802/N803).
#   A4. The Verification tests call `generate_wrapped_dek` and `raw_kms_decrypt`, which the
#       article never defines; they are defined here from its own step-2 and step-5 calls.
#   A5. The Verification tests read a module-level `CMK_ARN`; the `article_env` fixture creates
#       a fresh key per test on the shared server and assigns it.
#
# Two properties of the article's code are bugs in the article, not in the server, and would
# behave the same against AWS; the tests pin them so a reader copying the code knows:
#   * openRecord (step 5) checks `res.EncryptionContext?.tenant_id`, but a KMS Decrypt
#     response has no EncryptionContext member (AWS's model: KeyId, Plaintext,
#     EncryptionAlgorithm, KeyMaterialId, CiphertextForRecipient), so it refuses every record,
#     including the right tenant's. The mismatch the article wants caught is caught by KMS
#     itself, with InvalidCiphertextException, before the check runs.
#   * cmm_for (step 4) builds a new CachingCryptoMaterialsManager per call, and each one gets a
#     random cache partition, so the shared `cache` never hands a data key from one encrypt()
#     call to the next: every call still asks KMS for a new data key.

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import boto3
import pytest
from aws_encryption_sdk import EncryptionSDKClient, StrictAwsKmsMasterKeyProvider
from aws_encryption_sdk.caches.local import LocalCryptoMaterialsCache
from aws_encryption_sdk.materials_managers.caching import CachingCryptoMaterialsManager
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.raw_http import sign_and_post
from tests.support.server import (
    ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
    RunningServer,
    start_server,
)

pytestmark = pytest.mark.contract

kms: Any = None  # ADAPTATION A2: assigned by the article_env fixture
CMK_ARN: str = ""  # ADAPTATION A5: assigned by the article_env fixture

ACME = {"tenant_id": "acme"}
GLOBEX = {"tenant_id": "globex"}


@pytest.fixture(autouse=True)
def article_env(server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the default AWS configuration at the test server, make the client and a CMK."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ROOT_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ROOT_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    client = boto3.client("kms")  # ADAPTATION A2: `const kms = new KMSClient({})`
    monkeypatch.setitem(globals(), "kms", client)
    arn = client.create_key(Description="per-tenant CMK (article test)")["KeyMetadata"]["Arn"]
    monkeypatch.setitem(globals(), "CMK_ARN", arn)


# ---------------------------------------------------------------------------------------------
# The article's code.
# fmt: off

# 2. Generate a data key scoped to the tenant (TypeScript in the article; ADAPTATION A3):

def newTenantDataKey(keyId, tenantId):  # noqa: N802, N803
    res = kms.generate_data_key(
        KeyId=keyId,  # per-tenant CMK arn, or the shared CMK arn
        KeySpec="AES_256",
        EncryptionContext={"tenant_id": tenantId},
    )
    return {
        "plaintext": bytearray(res["Plaintext"]),  # use, then zero
        "wrapped": base64.b64encode(res["CiphertextBlob"]).decode(),
    }

# 3. Encrypt the payload locally and zero the plaintext key (TypeScript; ADAPTATION A3):

def sealRecord(plaintextDek, payload):  # noqa: N802, N803
    iv = os.urandom(12)
    cipher = AESGCM(bytes(plaintextDek))
    sealed = cipher.encrypt(iv, payload, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    plaintextDek[:] = bytes(len(plaintextDek))  # wipe the DEK from memory immediately
    return {
        "iv": base64.b64encode(iv).decode(),
        "tag": base64.b64encode(tag).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }

# 4. Cache plaintext DEKs safely under a strict TTL (Python in the article, unchanged):

client = EncryptionSDKClient()
cache = LocalCryptoMaterialsCache(capacity=1000)

def cmm_for(cmk_arn: str):
    provider = StrictAwsKmsMasterKeyProvider(key_ids=[cmk_arn])
    return CachingCryptoMaterialsManager(
        master_key_provider=provider,
        cache=cache,
        max_age=120.0, # seconds a DEK may be reused
        max_messages_encrypted=4096,
    )

def encrypt(cmk_arn: str, tenant_id: str, data: bytes) -> bytes:
    ciphertext, _ = client.encrypt(
        source=data,
        materials_manager=cmm_for(cmk_arn),
        encryption_context={"tenant_id": tenant_id},
    )
    return ciphertext

# 5. Decrypt with the same encryption context and verify it (TypeScript; ADAPTATION A3):

def openRecord(wrappedB64, tenantId):  # noqa: N802, N803
    res = kms.decrypt(
        CiphertextBlob=base64.b64decode(wrappedB64),
        EncryptionContext={"tenant_id": tenantId},  # must match GenerateDataKey
    )
    if (res.get("EncryptionContext") or {}).get("tenant_id") != tenantId:
        raise Exception("CROSS_TENANT_DEK")  # refuse, do not return plaintext
    return res["Plaintext"]  # the plaintext DEK; use then zero

# Verification (Python in the article, unchanged but for A4):

def generate_wrapped_dek(cmk_arn, tenant_id):  # ADAPTATION A4
    return base64.b64decode(newTenantDataKey(cmk_arn, tenant_id)["wrapped"])

def raw_kms_decrypt(blob, encryption_context):  # ADAPTATION A4
    return kms.decrypt(CiphertextBlob=blob, EncryptionContext=encryption_context)

def test_dek_is_bound_to_tenant_context():
    ct = encrypt(CMK_ARN, "acme", b"patient record")
    # correct context decrypts
    pt, header = aws_encryption_sdk.EncryptionSDKClient().decrypt(
        source=ct, key_provider=StrictAwsKmsMasterKeyProvider(key_ids=[CMK_ARN])
    )
    assert pt == b"patient record"
    assert header.encryption_context["tenant_id"] == "acme"

def test_wrong_tenant_context_is_refused():
    blob = generate_wrapped_dek(CMK_ARN, "acme")
    with pytest.raises(ClientError) as e:
        raw_kms_decrypt(blob, encryption_context={"tenant_id": "globex"})
    assert "InvalidCiphertext" in str(e.value)

# fmt: on
# End of the article's code.
# ---------------------------------------------------------------------------------------------


def open_sealed(dek: bytes, sealed: dict[str, str]) -> bytes:
    """The inverse of sealRecord, which the article leaves to the reader."""
    iv, tag, ciphertext = (base64.b64decode(sealed[k]) for k in ("iv", "tag", "ciphertext"))
    return AESGCM(dek).decrypt(iv, ciphertext + tag, None)


def current_material(key_id: str) -> str:
    return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"])


def eventually(probe: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 10) -> Any:
    """Poll ``probe`` until ``done`` holds: AWS finishes RotateKeyOnDemand asynchronously."""
    deadline = time.monotonic() + seconds
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = probe()
    return value


def assert_refused(blob: bytes, **context: Any) -> None:
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, **context)


# -- 2. GenerateDataKey bound to the tenant ---------------------------------------------------


def test_new_tenant_data_key_returns_a_256_bit_key_and_its_wrapped_copy() -> None:
    dek = newTenantDataKey(CMK_ARN, "acme")
    assert isinstance(dek["plaintext"], bytearray)
    assert len(dek["plaintext"]) == 32
    wrapped = base64.b64decode(dek["wrapped"], validate=True)
    assert bytes(dek["plaintext"]) not in wrapped

    opened = kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=ACME)
    assert opened["Plaintext"] == bytes(dek["plaintext"])
    assert opened["KeyId"] == CMK_ARN
    assert opened["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert opened["KeyMaterialId"] == current_material(CMK_ARN)
    # A second call is a different data key, under a different wrapping.
    again = newTenantDataKey(CMK_ARN, "acme")
    assert again["plaintext"] != dek["plaintext"]
    assert again["wrapped"] != dek["wrapped"]


def test_a_data_key_from_an_alias_decrypts_without_naming_the_key() -> None:
    alias = f"alias/tenant-{CMK_ARN.rsplit('/', 1)[1]}"
    kms.create_alias(AliasName=alias, TargetKeyId=CMK_ARN)
    dek = newTenantDataKey(alias, "acme")
    opened = kms.decrypt(CiphertextBlob=base64.b64decode(dek["wrapped"]), EncryptionContext=ACME)
    assert opened["Plaintext"] == bytes(dek["plaintext"])
    assert opened["KeyId"] == CMK_ARN  # Decrypt always reports the key ARN


def test_the_articles_wrong_tenant_case_and_no_context_are_refused_by_kms() -> None:
    blob = generate_wrapped_dek(CMK_ARN, "acme")
    assert_refused(blob, EncryptionContext=GLOBEX)
    assert_refused(blob, EncryptionContext={})
    assert_refused(blob)
    assert_refused(blob, EncryptionContext={"tenant_id": "ACME"})  # case-sensitive
    assert_refused(blob, EncryptionContext={"tenant_id": "acme "})
    assert_refused(blob, EncryptionContext={"Tenant_id": "acme"})
    assert raw_kms_decrypt(blob, encryption_context=ACME)["KeyId"] == CMK_ARN


printable = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=12,
)


@st.composite
def context_and_mutation(draw: st.DrawFn) -> tuple[dict[str, str], str, dict[str, str]]:
    """A random encryption context and one single-pair change of it."""
    context = draw(st.dictionaries(printable, printable, min_size=1, max_size=6))
    keys = sorted(context)
    kind = draw(st.sampled_from(["change key", "change value", "drop pair", "add pair"]))
    mutated = dict(context)
    if kind == "change key":
        old = draw(st.sampled_from(keys))
        mutated[draw(printable.filter(lambda k: k not in context))] = mutated.pop(old)
    elif kind == "change value":
        key = draw(st.sampled_from(keys))
        mutated[key] = draw(printable.filter(lambda v: v != context[key]))
    elif kind == "drop pair":
        del mutated[draw(st.sampled_from(keys))]
    else:
        mutated[draw(printable.filter(lambda k: k not in context))] = draw(printable)
    return context, kind, mutated


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=context_and_mutation())
def test_a_data_key_decrypts_only_under_its_exact_encryption_context(
    case: tuple[dict[str, str], str, dict[str, str]],
) -> None:
    context, kind, mutated = case
    assert mutated != context, kind
    generated = kms.generate_data_key(KeyId=CMK_ARN, KeySpec="AES_256", EncryptionContext=context)
    blob = generated["CiphertextBlob"]
    exact = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert exact["Plaintext"] == generated["Plaintext"]
    # The context is a map: the order its pairs are sent in does not matter.
    reordered = dict(reversed(list(context.items())))
    again = kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)
    assert again["Plaintext"] == generated["Plaintext"]

    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=mutated)
    assert_refused(blob, EncryptionContext={})
    assert_refused(blob)


# -- 3. Local AES-256-GCM with the plaintext data key -----------------------------------------


def test_seal_record_encrypts_locally_and_wipes_the_data_key() -> None:
    dek = newTenantDataKey(CMK_ARN, "acme")
    payload = b"patient record \xf0\x9f\x94\x92"
    sealed = sealRecord(dek["plaintext"], payload)
    assert dek["plaintext"] == bytearray(32)  # the article's fill(0)
    assert len(base64.b64decode(sealed["iv"])) == 12
    assert len(base64.b64decode(sealed["tag"])) == 16
    assert payload not in base64.b64decode(sealed["ciphertext"])

    # Later, on read: unwrap the stored DEK under the tenant's context, then open locally.
    unwrapped = raw_kms_decrypt(base64.b64decode(dek["wrapped"]), ACME)["Plaintext"]
    assert open_sealed(unwrapped, sealed) == payload

    tampered = dict(sealed, tag=base64.b64encode(bytes(16)).decode())
    with pytest.raises(InvalidTag):
        open_sealed(unwrapped, tampered)
    other_tenant = newTenantDataKey(CMK_ARN, "globex")["plaintext"]
    with pytest.raises(InvalidTag):
        open_sealed(bytes(other_tenant), sealed)


def test_each_record_gets_a_fresh_iv() -> None:
    dek = bytes(newTenantDataKey(CMK_ARN, "acme")["plaintext"])
    first = sealRecord(bytearray(dek), b"same payload")
    second = sealRecord(bytearray(dek), b"same payload")
    assert first["iv"] != second["iv"]
    assert first["ciphertext"] != second["ciphertext"]
    assert open_sealed(dek, first) == open_sealed(dek, second) == b"same payload"


# -- 4. The Encryption SDK with the article's caching materials manager -----------------------


def test_the_articles_encrypt_round_trips_and_keeps_the_tenant_in_the_header() -> None:
    ct = encrypt(CMK_ARN, "globex", b"invoice")
    provider = StrictAwsKmsMasterKeyProvider(key_ids=[CMK_ARN])
    pt, header = client.decrypt(source=ct, key_provider=provider)
    assert pt == b"invoice"
    assert header.encryption_context["tenant_id"] == "globex"
    # The header's context is what the reader must compare with the tenant it is serving.
    assert header.encryption_context["tenant_id"] != "acme"
    [edk] = header.encrypted_data_keys
    assert edk.key_provider.provider_id == "aws-kms"
    assert edk.key_provider.key_info == CMK_ARN.encode()


def test_the_articles_cmm_for_never_reuses_a_data_key_across_calls() -> None:
    """Article bug: a new CachingCryptoMaterialsManager per call is a new cache partition."""
    provider = StrictAwsKmsMasterKeyProvider(key_ids=[CMK_ARN])
    headers = [
        client.decrypt(source=encrypt(CMK_ARN, "acme", b"row"), key_provider=provider)[1]
        for _ in range(2)
    ]
    assert headers[0].encrypted_data_keys != headers[1].encrypted_data_keys
    # One manager kept across calls does reuse the data key, within max_age.
    manager = cmm_for(CMK_ARN)
    reused = [
        client.encrypt(source=b"row", materials_manager=manager, encryption_context=ACME)[1]
        for _ in range(2)
    ]
    assert reused[0].encrypted_data_keys == reused[1].encrypted_data_keys


# -- 5. Decrypt with the same context: the article's openRecord -------------------------------


def test_open_record_refuses_even_the_right_tenant(server: RunningServer) -> None:
    """Article bug: Decrypt has no EncryptionContext in its response, so the check always fails."""
    dek = newTenantDataKey(CMK_ARN, "acme")
    with pytest.raises(Exception, match=r"^CROSS_TENANT_DEK$"):
        openRecord(dek["wrapped"], "acme")

    # KMS did decrypt; its response, on the wire, carries no context, as AWS's does not.
    response = sign_and_post(
        server.endpoint,
        "Decrypt",
        {"CiphertextBlob": dek["wrapped"], "EncryptionContext": ACME},
        target_prefix="TrentService",
        service="kms",
    )
    assert response.status == 200, response.body
    body = response.json()
    assert "EncryptionContext" not in body
    assert base64.b64decode(body["Plaintext"]) == bytes(dek["plaintext"])
    assert set(body) <= {
        "KeyId",
        "Plaintext",
        "EncryptionAlgorithm",
        "KeyMaterialId",
        "CiphertextForRecipient",
    }


def test_open_record_under_another_tenant_is_refused_by_kms_first() -> None:
    dek = newTenantDataKey(CMK_ARN, "acme")
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        openRecord(dek["wrapped"], "globex")


# -- 6. Rotation: the key-encryption key, then the data keys ----------------------------------


def test_rotating_the_cmk_keeps_old_data_keys_decryptable() -> None:
    before = current_material(CMK_ARN)
    old = newTenantDataKey(CMK_ARN, "acme")
    old_blob, old_plaintext = base64.b64decode(old["wrapped"]), bytes(old["plaintext"])

    assert kms.enable_key_rotation(KeyId=CMK_ARN)["ResponseMetadata"]["HTTPStatusCode"] == 200
    status = kms.get_key_rotation_status(KeyId=CMK_ARN)
    assert status["KeyRotationEnabled"] is True
    assert status["KeyId"] == CMK_ARN
    assert status["RotationPeriodInDays"] == 365  # "automatic annual rotation"

    rotated = kms.rotate_key_on_demand(KeyId=CMK_ARN)
    assert rotated["KeyId"] in {CMK_ARN, CMK_ARN.rsplit("/", 1)[1]}
    after = eventually(lambda: current_material(CMK_ARN), lambda m: m != before)
    assert after != before
    assert kms.describe_key(KeyId=CMK_ARN)["KeyMetadata"]["Arn"] == CMK_ARN  # id unchanged

    # The old wrapped DEK still opens, under the material that wrapped it.
    opened = kms.decrypt(CiphertextBlob=old_blob, EncryptionContext=ACME)
    assert opened["Plaintext"] == old_plaintext
    assert opened["KeyMaterialId"] == before
    # New data keys are wrapped under the new material.
    fresh = kms.generate_data_key(KeyId=CMK_ARN, KeySpec="AES_256", EncryptionContext=ACME)
    assert fresh["KeyMaterialId"] == after
    reopened = kms.decrypt(CiphertextBlob=fresh["CiphertextBlob"], EncryptionContext=ACME)
    assert reopened["KeyMaterialId"] == after
    assert reopened["Plaintext"] == fresh["Plaintext"]
    # Still bound to the tenant after rotation.
    assert_refused(old_blob, EncryptionContext=GLOBEX)
    assert_refused(fresh["CiphertextBlob"], EncryptionContext=GLOBEX)

    rotations = kms.list_key_rotations(KeyId=CMK_ARN)["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"]) for r in rotations] == [(after, "ON_DEMAND")]
    # Rotation did not switch automatic rotation off.
    assert kms.get_key_rotation_status(KeyId=CMK_ARN)["KeyRotationEnabled"] is True


def test_re_encrypt_rewraps_a_data_key_under_the_current_material() -> None:
    """The article's inner rotation: re-wrap a tenant's DEKs under the current CMK version."""
    before = current_material(CMK_ARN)
    dek = newTenantDataKey(CMK_ARN, "acme")
    blob, plaintext = base64.b64decode(dek["wrapped"]), bytes(dek["plaintext"])
    kms.rotate_key_on_demand(KeyId=CMK_ARN)
    after = eventually(lambda: current_material(CMK_ARN), lambda m: m != before)

    rewrapped = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=ACME,
        DestinationKeyId=CMK_ARN,
        DestinationEncryptionContext=ACME,
    )
    assert "Plaintext" not in rewrapped
    assert rewrapped["SourceKeyId"] == rewrapped["KeyId"] == CMK_ARN
    assert rewrapped["SourceKeyMaterialId"] == before
    assert rewrapped["DestinationKeyMaterialId"] == after
    assert rewrapped["CiphertextBlob"] != blob
    opened = kms.decrypt(CiphertextBlob=rewrapped["CiphertextBlob"], EncryptionContext=ACME)
    assert (opened["Plaintext"], opened["KeyMaterialId"]) == (plaintext, after)


def test_re_encrypt_moves_a_data_key_to_a_new_key() -> None:
    dek = newTenantDataKey(CMK_ARN, "acme")
    blob, plaintext = base64.b64decode(dek["wrapped"]), bytes(dek["plaintext"])
    new_arn = kms.create_key(Description="replacement tenant CMK")["KeyMetadata"]["Arn"]

    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=ACME,
        DestinationKeyId=new_arn,
        DestinationEncryptionContext=ACME,
    )
    assert "Plaintext" not in moved
    assert (moved["SourceKeyId"], moved["KeyId"]) == (CMK_ARN, new_arn)
    assert moved["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["SourceKeyMaterialId"] == current_material(CMK_ARN)
    assert moved["DestinationKeyMaterialId"] == current_material(new_arn)

    opened = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=ACME)
    assert (opened["Plaintext"], opened["KeyId"]) == (plaintext, new_arn)
    assert_refused(moved["CiphertextBlob"], EncryptionContext=GLOBEX)
    with pytest.raises(kms.exceptions.IncorrectKeyException):
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=ACME, KeyId=CMK_ARN)

    # The source context must match too: ReEncrypt is a Decrypt first.
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.re_encrypt(
            CiphertextBlob=blob,
            SourceEncryptionContext=GLOBEX,
            DestinationKeyId=new_arn,
            DestinationEncryptionContext=GLOBEX,
        )
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=new_arn)


# -- Kill switch and crypto-erasure -----------------------------------------------------------


def test_disabling_the_tenant_cmk_is_a_kill_switch() -> None:
    dek = newTenantDataKey(CMK_ARN, "acme")
    blob = base64.b64decode(dek["wrapped"])
    kms.disable_key(KeyId=CMK_ARN)
    with pytest.raises(kms.exceptions.DisabledException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ACME)
    with pytest.raises(kms.exceptions.DisabledException):
        newTenantDataKey(CMK_ARN, "acme")
    kms.enable_key(KeyId=CMK_ARN)
    assert raw_kms_decrypt(blob, ACME)["Plaintext"] == bytes(dek["plaintext"])


def test_deleting_the_tenant_cmk_crypto_shreds_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = start_server(tmp_path / "data")  # its own server: this test advances the clock
    try:
        own_kms = own.client("kms")
        monkeypatch.setitem(globals(), "kms", own_kms)  # the article's functions, pointed here
        key = own_kms.create_key(Description="tenant to erase")["KeyMetadata"]
        arn = key["Arn"]
        dek = newTenantDataKey(arn, "acme")
        blob = base64.b64decode(dek["wrapped"])
        sealed = sealRecord(dek["plaintext"], b"patient record")
        assert open_sealed(raw_kms_decrypt(blob, ACME)["Plaintext"], sealed) == b"patient record"

        scheduled = own_kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
        assert scheduled["KeyId"] == arn
        assert scheduled["KeyState"] == "PendingDeletion"
        assert scheduled["PendingWindowInDays"] == 7
        described = own_kms.describe_key(KeyId=arn)["KeyMetadata"]
        assert described["KeyState"] == "PendingDeletion"
        assert described["DeletionDate"] == scheduled["DeletionDate"]
        window = scheduled["DeletionDate"] - key["CreationDate"]
        assert timedelta(days=7) <= window < timedelta(days=7, minutes=5)
        # Within the window the key refuses to work, but could still be cancelled.
        with pytest.raises(own_kms.exceptions.KMSInvalidStateException):
            own_kms.decrypt(CiphertextBlob=blob, EncryptionContext=ACME)

        own.advance_clock(8 * 86400)  # past the window: the deletion job runs

        with pytest.raises(ClientError) as raised:
            own_kms.decrypt(CiphertextBlob=blob, EncryptionContext=ACME)
        error = raised.value.response["Error"]["Code"]
        assert error in {"InvalidCiphertextException", "NotFoundException"}
        assert "Plaintext" not in raised.value.response
        with pytest.raises(own_kms.exceptions.NotFoundException):
            own_kms.describe_key(KeyId=arn)
        with pytest.raises(own_kms.exceptions.NotFoundException):
            own_kms.cancel_key_deletion(KeyId=arn)
        with pytest.raises(ClientError):
            own_kms.re_encrypt(
                CiphertextBlob=blob,
                SourceEncryptionContext=ACME,
                DestinationKeyId=own_kms.create_key()["KeyMetadata"]["Arn"],
                DestinationEncryptionContext=ACME,
            )
    finally:
        own.stop()
