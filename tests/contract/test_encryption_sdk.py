"""The AWS Encryption SDK for Python encrypts and decrypts with Strongroom KMS keys."""

# The SDK (aws-encryption-sdk 4.0.7, without the optional material-providers library) builds
# its own KMS clients, one per region, from the botocore session it is given. Nothing in it
# takes an endpoint URL; botocore's configured-endpoint lookup does, so the `session` fixture
# sets AWS_ENDPOINT_URL_KMS (the service-specific variable, read when a client is created)
# and gives the session the root test credentials. `Session.set_config_variable("endpoint_url")`
# does not work: botocore reads endpoint_url only from the environment and the config file.
#
# Every test records the KMS calls the SDK makes (botocore's after-call event on the session,
# which the SDK's clients inherit), so a test can tell a refusal by the server from one made
# locally by the SDK.

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import (
    CachingCryptoMaterialsManager,
    CommitmentPolicy,
    DiscoveryAwsKmsMasterKeyProvider,
    EncryptionSDKClient,
    LocalCryptoMaterialsCache,
    StrictAwsKmsMasterKeyProvider,
)
from aws_encryption_sdk.exceptions import (
    ActionNotAllowedError,
    DecryptKeyError,
    MasterKeyProviderError,
)
from aws_encryption_sdk.identifiers import Algorithm
from aws_encryption_sdk.key_providers.kms import DiscoveryFilter
from cryptography.exceptions import InvalidSignature, InvalidTag

from tests.support.server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, RunningServer

pytestmark = pytest.mark.contract

ACCOUNT_ID = "123456789012"
ACME = {"tenant_id": "acme"}
STRICT = EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


@dataclass(frozen=True)
class Call:
    operation: str
    error: str | None  # the AWS error code, None on success
    key_id: str | None  # the KeyId the server answered with


@pytest.fixture
def calls() -> list[Call]:
    return []


@pytest.fixture
def session(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, calls: list[Call]
) -> botocore.session.Session:
    """A botocore session whose KMS clients reach the test server as root."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    session = botocore.session.Session()
    session.set_credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)

    def record(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        error = parsed.get("Error", {}).get("Code")
        calls.append(Call(model.name, error, parsed.get("KeyId")))

    session.register("after-call.kms", record)
    return session


@pytest.fixture
def new_key(kms: Any) -> Callable[[], str]:
    def make() -> str:
        return str(kms.create_key(Description="encryption sdk test")["KeyMetadata"]["Arn"])

    return make


@pytest.fixture
def key_arn(new_key: Callable[[], str]) -> str:
    return new_key()


def strict_provider(
    session: botocore.session.Session, *key_ids: str
) -> StrictAwsKmsMasterKeyProvider:
    return StrictAwsKmsMasterKeyProvider(key_ids=list(key_ids), botocore_session=session)


def caching_manager(
    session: botocore.session.Session, key_arn: str, **limits: Any
) -> CachingCryptoMaterialsManager:
    return CachingCryptoMaterialsManager(
        master_key_provider=strict_provider(session, key_arn),
        cache=LocalCryptoMaterialsCache(capacity=10),
        **limits,
    )


def flip(message: bytes, index: int) -> bytes:
    tampered = bytearray(message)
    tampered[index] ^= 0x01
    return bytes(tampered)


# -- Round trip -------------------------------------------------------------------------------


def test_encrypt_then_decrypt_with_an_encryption_context(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    provider = strict_provider(session, key_arn)
    plaintext = os.urandom(100_000)  # several frames
    ciphertext, header = STRICT.encrypt(
        source=plaintext, key_provider=provider, encryption_context=ACME, frame_length=4096
    )
    assert calls == [Call("GenerateDataKey", None, key_arn)]
    assert plaintext not in ciphertext
    assert header.algorithm == Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert header.encryption_context["tenant_id"] == "acme"
    assert "aws-crypto-public-key" in header.encryption_context  # added by the signing suite
    [edk] = header.encrypted_data_keys
    assert (edk.key_provider.provider_id, edk.key_provider.key_info) == (
        "aws-kms",
        key_arn.encode(),
    )

    calls.clear()
    decrypted, decrypted_header = STRICT.decrypt(source=ciphertext, key_provider=provider)
    assert decrypted == plaintext
    assert decrypted_header.encryption_context == header.encryption_context
    assert calls == [Call("Decrypt", None, key_arn)]


def test_a_fresh_provider_decrypts_what_another_encrypted(
    session: botocore.session.Session, key_arn: str
) -> None:
    ciphertext, _ = STRICT.encrypt(
        source=b"patient record",
        key_provider=strict_provider(session, key_arn),
        encryption_context=ACME,
    )
    plaintext, header = STRICT.decrypt(
        source=ciphertext, key_provider=strict_provider(session, key_arn)
    )
    assert plaintext == b"patient record"
    assert header.encryption_context["tenant_id"] == "acme"


def test_require_encrypt_require_decrypt_refuses_a_non_committing_message(
    session: botocore.session.Session, key_arn: str
) -> None:
    provider = strict_provider(session, key_arn)
    legacy = EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    ciphertext, header = legacy.encrypt(
        source=b"old format", key_provider=provider, encryption_context=ACME
    )
    assert not header.algorithm.is_committing()

    with pytest.raises(ActionNotAllowedError):
        STRICT.decrypt(source=ciphertext, key_provider=provider)
    lenient = EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    assert lenient.decrypt(source=ciphertext, key_provider=provider)[0] == b"old format"


# -- Caching materials manager ----------------------------------------------------------------


def test_caching_manager_reuses_a_data_key_up_to_max_messages_encrypted(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    manager = caching_manager(session, key_arn, max_age=120.0, max_messages_encrypted=3)
    headers = [
        STRICT.encrypt(
            source=f"row {i}".encode(), materials_manager=manager, encryption_context=ACME
        )[1]
        for i in range(5)
    ]
    edks = [header.encrypted_data_keys for header in headers]
    assert edks[0] == edks[1] == edks[2]
    assert edks[3] == edks[4] != edks[0]
    assert calls == [Call("GenerateDataKey", None, key_arn)] * 2
    # Another context is another cache entry, so another data key.
    other = STRICT.encrypt(
        source=b"row", materials_manager=manager, encryption_context={"tenant_id": "globex"}
    )[1]
    assert other.encrypted_data_keys not in edks
    assert len(calls) == 3


def test_caching_manager_asks_for_a_new_data_key_after_max_age(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    manager = caching_manager(session, key_arn, max_age=0.5)
    first = STRICT.encrypt(source=b"a", materials_manager=manager, encryption_context=ACME)[1]
    second = STRICT.encrypt(source=b"b", materials_manager=manager, encryption_context=ACME)[1]
    assert first.encrypted_data_keys == second.encrypted_data_keys
    time.sleep(0.6)
    third = STRICT.encrypt(source=b"c", materials_manager=manager, encryption_context=ACME)[1]
    assert third.encrypted_data_keys != first.encrypted_data_keys
    assert [c.operation for c in calls] == ["GenerateDataKey", "GenerateDataKey"]


def test_caching_manager_caches_decryption_materials(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    ciphertext, _ = STRICT.encrypt(
        source=b"cached read",
        key_provider=strict_provider(session, key_arn),
        encryption_context=ACME,
    )
    calls.clear()
    manager = caching_manager(session, key_arn, max_age=120.0)
    for _ in range(3):
        assert STRICT.decrypt(source=ciphertext, materials_manager=manager)[0] == b"cached read"
    assert calls == [Call("Decrypt", None, key_arn)]


# -- Context checks and tampering -------------------------------------------------------------


def test_the_caller_refuses_a_message_whose_header_context_is_not_its_tenant(
    session: botocore.session.Session, key_arn: str
) -> None:
    provider = strict_provider(session, key_arn)
    ciphertext, _ = STRICT.encrypt(
        source=b"acme data", key_provider=provider, encryption_context=ACME
    )
    _, header = STRICT.decrypt(source=ciphertext, key_provider=provider)
    serving = {"tenant_id": "globex"}
    mismatched = {k: v for k, v in serving.items() if header.encryption_context.get(k) != v}
    assert mismatched == serving  # the comparison the SDK's user makes refuses this record
    assert all(header.encryption_context.get(k) == v for k, v in ACME.items())


def test_a_tampered_context_in_the_header_is_refused_by_kms(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    provider = strict_provider(session, key_arn)
    ciphertext, _ = STRICT.encrypt(
        source=b"acme data", key_provider=provider, encryption_context=ACME
    )
    tampered = flip(ciphertext, ciphertext.index(b"acme") + 3)  # tenant_id=acmd
    calls.clear()
    with pytest.raises(DecryptKeyError):
        STRICT.decrypt(source=tampered, key_provider=provider)
    # The SDK sent the changed context to KMS, and the server refused to unwrap the data key.
    assert calls == [Call("Decrypt", "InvalidCiphertextException", None)]


def test_a_tampered_encrypted_data_key_is_refused_by_kms(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    provider = strict_provider(session, key_arn)
    ciphertext, header = STRICT.encrypt(
        source=b"acme data", key_provider=provider, encryption_context=ACME
    )
    [edk] = header.encrypted_data_keys
    end_of_edk = ciphertext.index(edk.encrypted_data_key) + len(edk.encrypted_data_key)
    calls.clear()
    with pytest.raises(DecryptKeyError):
        STRICT.decrypt(source=flip(ciphertext, end_of_edk - 1), key_provider=provider)
    assert calls == [Call("Decrypt", "InvalidCiphertextException", None)]


def test_a_tampered_body_or_signature_fails_after_kms_unwraps_the_key(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    provider = strict_provider(session, key_arn)
    plaintext = b"x" * 10_000
    ciphertext, _ = STRICT.encrypt(
        source=plaintext, key_provider=provider, encryption_context=ACME, frame_length=1024
    )
    calls.clear()
    with pytest.raises(InvalidTag):
        STRICT.decrypt(source=flip(ciphertext, len(ciphertext) // 2), key_provider=provider)
    with pytest.raises(InvalidSignature):
        STRICT.decrypt(source=flip(ciphertext, len(ciphertext) - 1), key_provider=provider)
    assert calls == [Call("Decrypt", None, key_arn)] * 2


# -- Several keys -----------------------------------------------------------------------------


def test_a_message_for_two_keys_decrypts_with_a_provider_knowing_only_the_second(
    session: botocore.session.Session, new_key: Callable[[], str], calls: list[Call]
) -> None:
    first, second = new_key(), new_key()
    ciphertext, header = STRICT.encrypt(
        source=b"shared record",
        key_provider=strict_provider(session, first, second),
        encryption_context=ACME,
    )
    # The first key generates the data key; the second wraps the same key with Encrypt.
    assert calls == [Call("GenerateDataKey", None, first), Call("Encrypt", None, second)]
    assert {edk.key_provider.key_info for edk in header.encrypted_data_keys} == {
        first.encode(),
        second.encode(),
    }

    for only in (second, first):
        calls.clear()
        plaintext, _ = STRICT.decrypt(
            source=ciphertext, key_provider=strict_provider(session, only)
        )
        assert plaintext == b"shared record"
        assert calls == [Call("Decrypt", None, only)]


def test_a_disabled_key_falls_back_to_the_other(
    session: botocore.session.Session, kms: Any, new_key: Callable[[], str], calls: list[Call]
) -> None:
    keys = [new_key(), new_key()]
    provider = strict_provider(session, *keys)
    ciphertext, _ = STRICT.encrypt(source=b"record", key_provider=provider, encryption_context=ACME)
    # The SDK tries the data keys in the order of the set it parses them into, not in message
    # order (which key comes first varies from run to run); for the same message in the same
    # process that order is fixed. Disable each key in turn: with one of them disabled the SDK
    # meets it first and must fall back to the other; with the other it decrypts at once.
    fell_back = []
    for disabled, other in (keys, keys[::-1]):
        kms.disable_key(KeyId=disabled)
        calls.clear()
        assert STRICT.decrypt(source=ciphertext, key_provider=provider)[0] == b"record"
        assert calls in (
            [Call("Decrypt", "DisabledException", None), Call("Decrypt", None, other)],
            [Call("Decrypt", None, other)],
        ), calls
        fell_back.append(len(calls) == 2)
        kms.enable_key(KeyId=disabled)
    assert fell_back.count(True) == 1, fell_back


def test_a_provider_for_another_key_only_cannot_decrypt(
    session: botocore.session.Session, new_key: Callable[[], str], calls: list[Call]
) -> None:
    owner, stranger = new_key(), new_key()
    ciphertext, _ = STRICT.encrypt(
        source=b"record", key_provider=strict_provider(session, owner), encryption_context=ACME
    )
    calls.clear()
    with pytest.raises(DecryptKeyError):
        STRICT.decrypt(source=ciphertext, key_provider=strict_provider(session, stranger))
    assert calls == []  # a strict provider never tries a key it was not given


def test_a_discovery_provider_decrypts_with_the_key_the_message_names(
    session: botocore.session.Session, key_arn: str, calls: list[Call]
) -> None:
    ciphertext, _ = STRICT.encrypt(
        source=b"record", key_provider=strict_provider(session, key_arn), encryption_context=ACME
    )
    calls.clear()
    trusting = DiscoveryAwsKmsMasterKeyProvider(
        botocore_session=session,
        discovery_filter=DiscoveryFilter(account_ids=[ACCOUNT_ID], partition="aws"),
    )
    assert STRICT.decrypt(source=ciphertext, key_provider=trusting)[0] == b"record"
    assert calls == [Call("Decrypt", None, key_arn)]

    calls.clear()
    elsewhere = DiscoveryAwsKmsMasterKeyProvider(
        botocore_session=session,
        discovery_filter=DiscoveryFilter(account_ids=["210987654321"], partition="aws"),
    )
    with pytest.raises(MasterKeyProviderError, match="not allowed by this Master Key Provider"):
        STRICT.decrypt(source=ciphertext, key_provider=elsewhere)
    assert calls == []  # the filter refuses the key before any call


def test_the_default_client_requires_key_commitment(
    session: botocore.session.Session, key_arn: str
) -> None:
    default = aws_encryption_sdk.EncryptionSDKClient()  # as the reference article builds it
    assert default.config.commitment_policy == CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    provider = strict_provider(session, key_arn)
    ciphertext, header = default.encrypt(
        source=b"r", key_provider=provider, encryption_context=ACME
    )
    assert header.algorithm.is_committing()
    assert STRICT.decrypt(source=ciphertext, key_provider=provider)[0] == b"r"
