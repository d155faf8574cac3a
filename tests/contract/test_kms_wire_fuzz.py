"""Bad input never yields a 500: every KMS operation, fuzzed on the wire."""

# The KMS twin of test_wire_fuzz.py (whose strategies and helpers this module imports).
# Requests are built by hand and signed with botocore's SigV4Auth for the "kms" service, then
# sent on one keep-alive connection. For every operation in botocore's kms model, including
# those the server answers with UnknownOperationException (key policies, grants) or
# UnsupportedOperationException (custom key stores, multi-Region keys, key encapsulation),
# hypothesis generates
#   * documents using the operation's real member names:
#       - "tame" documents: required members present, every value of the model's type, with
#         lengths and numbers at and around the model's min/max; key references aimed at a
#         pool of the fuzz's own keys (every kind and state, by id, ARN, alias and alias ARN),
#         blobs drawn from real ciphertexts, signatures, MACs, public keys and import
#         parameters, from bit-flipped or truncated copies of them, and from random bytes,
#       - "near-valid" documents: a request that works (recorded when the pool was made) with
#         one or two members replaced or dropped, to reach the deepest service code,
#       - "wild" documents: any member may be any JSON value of any type and size, plus
#         random extra members, to exercise deserialization and validation,
#   * raw bodies that are not JSON documents at all (bytes, broken JSON, deep nesting, NaN, ...).
# Every answer must be a 200 that botocore parses against the output shape, or a 4xx that every
# SDK can read (__type, message, x-amzn-ErrorType, x-amzn-RequestId; 412 only for
# DryRunOperationException), never a 5xx; no error may echo a value sent in a sensitive member
# (Plaintext, Message, KeyStorePassword) or any string carrying the fuzz's canary prefix.
#
# Safety of the shared session server: key references are the pool's own keys, fresh UUIDs or
# random strings, and alias names are the pool's own or begin with the pool's unique prefix,
# so no request can reach another test's key or alias. The fuzz does disable, schedule for
# deletion, re-alias or import into its pool keys; after any such success the pool is put
# back as it was (WireChecker.restore). CreateKey runs a bounded number of examples (RSA_4096
# keys are slow to make). The server's clock is never moved.

from __future__ import annotations

import base64
import hashlib
import json
import os
import string
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel, Shape
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given, note, settings
from hypothesis import strategies as st

from tests.contract.test_wire_fuzz import (
    FUZZ_SETTINGS,
    MAX_BODY_BYTES,
    SENSITIVE_CANARY,
    SPECIAL_BODIES,
    _integer,
    _lengths_around,
    _splice,
    json_values,
)
from tests.support.raw_http import (
    RawConnection,
    RawResponse,
    assert_aws_error,
    botocore_parse,
    sign,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.contract

MODEL = botocore.session.get_session().get_service_model("kms")
OPERATIONS = sorted(MODEL.operation_names)
TARGET_PREFIX = MODEL.metadata["targetPrefix"]  # TrentService
SIGNING_NAME = MODEL.metadata.get("signingName", MODEL.endpoint_prefix)  # kms

# Operations the server knows but does not serve yet (none: key policies and grants came
# with the identity issue); the unsupported ones are outside its scope.
UNKNOWN_OPERATIONS: frozenset[str] = frozenset()
UNSUPPORTED_OPERATIONS = frozenset(
    {
        "ConnectCustomKeyStore",
        "CreateCustomKeyStore",
        "DeleteCustomKeyStore",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
        "ReplicateKey",
        "UpdatePrimaryRegion",
        "Encapsulate",
        "Decapsulate",
    }
)
UNSERVED_OPERATIONS = UNKNOWN_OPERATIONS | UNSUPPORTED_OPERATIONS
# CreateKey has a test of its own, with fewer examples: each success makes a key.
SERVED_OPERATIONS = [op for op in OPERATIONS if op not in UNSERVED_OPERATIONS and op != "CreateKey"]
# A success of one of these may have changed the pool's keys or aliases: put them back.
POOL_CHANGING_OPERATIONS = frozenset(
    {
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "UpdateAlias",
        "DeleteAlias",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
    }
)
KEY_ID_MEMBERS = frozenset({"KeyId", "TargetKeyId", "SourceKeyId", "DestinationKeyId"})
CONTEXT_MEMBERS = frozenset(
    {"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext"}
)
LISTINGS = ("keys", "aliases", "tags", "rotations")
PENDING_WINDOW_DAYS = 30

# Default run (CI-sized): about 30 s for the whole module on a laptop, one worker of two.
# The long fuzz, several times as many examples of each kind: -m slow.
DOCUMENT_EXAMPLES = 30  # per served operation, 45 operations
UNSERVED_DOCUMENT_EXAMPLES = 15  # per unserved operation, 10 operations (body never read)
CREATE_KEY_EXAMPLES = 20
RAW_BODY_EXAMPLES = 300
SLOW_DOCUMENT_EXAMPLES = 400
SLOW_UNSERVED_DOCUMENT_EXAMPLES = 50
SLOW_CREATE_KEY_EXAMPLES = 60
SLOW_RAW_BODY_EXAMPLES = 3000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- the fuzz's own keys ----------------------------------------------------------------------


@dataclass(frozen=True)
class PoolKey:
    name: str
    key_id: str
    arn: str
    alias: str
    state: str  # the state the fuzz keeps it in


@dataclass
class KeyPool:
    """The fuzz's keys, aliases, real blobs and working requests; tame documents aim here."""

    account: str
    arn_prefix: str  # arn:aws:kms:us-east-1:123456789012
    alias_prefix: str  # alias/fuzz-<uuid>-
    keys: list[PoolKey] = field(default_factory=list)
    blobs: dict[str, list[bytes]] = field(default_factory=dict)  # member name -> real values
    contexts: list[dict[str, str]] = field(default_factory=list)
    material_ids: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    valid: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # working requests
    imports: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # key id -> token, EKM
    _strategies: dict[Any, st.SearchStrategy[Any]] = field(default_factory=dict)

    def add_blob(self, member: str, value: bytes) -> None:
        self.blobs.setdefault(member, []).append(value)

    def add_valid(self, operation: str, document: dict[str, Any]) -> None:
        self.valid.setdefault(operation, []).append(document)

    def key(self, name: str) -> PoolKey:
        return next(k for k in self.keys if k.name == name)

    @property
    def key_references(self) -> list[str]:
        refs: list[str] = []
        for key in self.keys:
            refs += [key.key_id, key.arn, key.alias, f"{self.arn_prefix}:{key.alias}"]
        return refs

    def cached(self, key: Any, build: Any) -> st.SearchStrategy[Any]:
        if key not in self._strategies:
            self._strategies[key] = build()
        strategy: st.SearchStrategy[Any] = self._strategies[key]
        return strategy


CANARY = SENSITIVE_CANARY.encode()
MESSAGE = CANARY + b"a message the pool signed and MACed"
PLAINTEXT = CANARY + b"a plaintext the pool encrypted"
CONTEXT = {"fuzz-purpose": "pool", "department": "wire"}


def _make_pool(server: RunningServer) -> KeyPool:
    kms = server.client("kms")
    tag = uuid.uuid4().hex
    probe = kms.create_key(Description=f"fuzz pool {tag} symmetric")["KeyMetadata"]
    arn_prefix = probe["Arn"].rsplit(":", 1)[0]
    pool = KeyPool(probe["AWSAccountId"], arn_prefix, alias_prefix=f"alias/fuzz-{tag}-")
    made: dict[str, dict[str, Any]] = {"symmetric": probe}

    def make(name: str, **create: Any) -> dict[str, Any]:
        made[name] = kms.create_key(Description=f"fuzz pool {tag} {name}", **create)["KeyMetadata"]
        return made[name]

    make("rsa-encrypt", KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    make("rsa-sign", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    make("ecc-sign", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    make("ecc-agree", KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
    make("hmac", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    make("external", Origin="EXTERNAL")
    make("external-imported", Origin="EXTERNAL")
    make("disabled")
    make("pending-deletion")
    states = {
        "external": "PendingImport",
        "disabled": "Disabled",
        "pending-deletion": "PendingDeletion",
    }
    for name, meta in made.items():
        alias = f"{pool.alias_prefix}{name}"
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        pool.keys.append(
            PoolKey(name, meta["KeyId"], meta["Arn"], alias, states.get(name, "Enabled"))
        )
    key = {name: meta["KeyId"] for name, meta in made.items()}
    kms.tag_resource(
        KeyId=key["symmetric"],
        Tags=[{"TagKey": "fuzz", "TagValue": "pool"}, {"TagKey": "team", "TagValue": "wire"}],
    )

    # Import parameters for both EXTERNAL keys; material imported into one of them.
    for name in ("external", "external-imported"):
        params = kms.get_parameters_for_import(
            KeyId=key[name], WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
        wrapping_key = serialization.load_der_public_key(params["PublicKey"])
        assert isinstance(wrapping_key, rsa.RSAPublicKey)
        oaep = padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
        )
        encrypted = wrapping_key.encrypt(os.urandom(32), oaep)
        token = params["ImportToken"]
        pool.imports[key[name]] = (token, encrypted)
        pool.add_blob("ImportToken", token)
        pool.add_blob("EncryptedKeyMaterial", encrypted)
        pool.add_blob("PublicKey", params["PublicKey"])
        import_document = {
            "KeyId": key[name],
            "ImportToken": b64(token),
            "EncryptedKeyMaterial": b64(encrypted),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }
        pool.add_valid("ImportKeyMaterial", import_document)
        pool.add_valid(
            "GetParametersForImport",
            {
                "KeyId": key[name],
                "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256",
                "WrappingKeySpec": "RSA_3072",
            },
        )
    imported = kms.import_key_material(
        KeyId=key["external-imported"],
        ImportToken=pool.imports[key["external-imported"]][0],
        EncryptedKeyMaterial=pool.imports[key["external-imported"]][1],
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    pool.material_ids.append(imported["KeyMaterialId"])
    pool.add_valid("DeleteImportedKeyMaterial", {"KeyId": key["external-imported"]})

    # Ciphertexts of every kind, under every key that has material.
    for name in ("symmetric", "external-imported", "disabled", "pending-deletion"):
        blob = kms.encrypt(KeyId=key[name], Plaintext=PLAINTEXT)["CiphertextBlob"]
        pool.add_blob("CiphertextBlob", blob)
    with_context = kms.encrypt(
        KeyId=key["symmetric"], Plaintext=PLAINTEXT, EncryptionContext=CONTEXT
    )["CiphertextBlob"]
    pool.add_blob("CiphertextBlob", with_context)
    data_key = kms.generate_data_key(KeyId=key["symmetric"], KeySpec="AES_256")
    pool.add_blob("CiphertextBlob", data_key["CiphertextBlob"])
    pair = kms.generate_data_key_pair(KeyId=key["symmetric"], KeyPairSpec="ECC_NIST_P256")
    pool.add_blob("CiphertextBlob", pair["PrivateKeyCiphertextBlob"])
    pool.add_blob("PublicKey", pair["PublicKey"])
    rsa_blobs = {}
    for algorithm in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
        rsa_blobs[algorithm] = kms.encrypt(
            KeyId=key["rsa-encrypt"], Plaintext=PLAINTEXT, EncryptionAlgorithm=algorithm
        )["CiphertextBlob"]
        pool.add_blob("CiphertextBlob", rsa_blobs[algorithm])
    pool.contexts += [CONTEXT, {}]

    # Signatures, a MAC, public keys, the messages they belong to.
    digest = hashlib.sha256(MESSAGE).digest()
    pool.blobs["Message"] = [MESSAGE, digest, hashlib.sha512(MESSAGE).digest()]
    signatures = []
    for name, algorithm in (
        ("rsa-sign", "RSASSA_PSS_SHA_256"),
        ("rsa-sign", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("ecc-sign", "ECDSA_SHA_256"),
    ):
        signature = kms.sign(
            KeyId=key[name], Message=MESSAGE, MessageType="RAW", SigningAlgorithm=algorithm
        )["Signature"]
        pool.add_blob("Signature", signature)
        signatures.append((name, algorithm, signature))
    digest_signature = kms.sign(
        KeyId=key["ecc-sign"],
        Message=digest,
        MessageType="DIGEST",
        SigningAlgorithm="ECDSA_SHA_256",
    )["Signature"]
    pool.add_blob("Signature", digest_signature)
    mac = kms.generate_mac(KeyId=key["hmac"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")["Mac"]
    pool.add_blob("Mac", mac)
    for name in ("rsa-encrypt", "rsa-sign", "ecc-sign", "ecc-agree"):
        pool.add_blob("PublicKey", kms.get_public_key(KeyId=key[name])["PublicKey"])
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    peer_der = peer.public_bytes(serialization.Encoding.DER, spki)
    pool.add_blob("PublicKey", peer_der)
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    pool.add_blob("PublicKey", other_curve.public_bytes(serialization.Encoding.DER, spki))

    # Rotations (for ListKeyRotations markers) and material ids.
    kms.rotate_key_on_demand(KeyId=key["symmetric"])
    kms.rotate_key_on_demand(KeyId=key["symmetric"])
    rotations = kms.list_key_rotations(
        KeyId=key["symmetric"], IncludeKeyMaterial="ALL_KEY_MATERIAL", Limit=1
    )
    pool.markers.append(rotations["NextMarker"])
    described = kms.describe_key(KeyId=key["symmetric"])["KeyMetadata"]
    pool.material_ids.append(described["CurrentKeyMaterialId"])
    pool.markers.append(kms.list_keys(Limit=1)["NextMarker"])
    pool.markers.append(kms.list_aliases(Limit=1)["NextMarker"])

    # A grant on the symmetric key (for ListGrants, RetireGrant, RevokeGrant).
    root = f"arn:aws:iam::{pool.account}:root"
    grant = kms.create_grant(
        KeyId=key["symmetric"], GranteePrincipal=root, Operations=["Decrypt", "RetireGrant"]
    )

    # Requests that work, for near-valid documents.
    sym, rsa_e = key["symmetric"], key["rsa-encrypt"]
    root_only_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    alias = {k.name: k.alias for k in pool.keys}
    plaintext = b64(PLAINTEXT)
    message = b64(MESSAGE)
    valid: list[tuple[str, dict[str, Any]]] = [
        ("Encrypt", {"KeyId": alias["symmetric"], "Plaintext": plaintext}),
        ("Encrypt", {"KeyId": sym, "Plaintext": plaintext, "EncryptionContext": CONTEXT}),
        (
            "Encrypt",
            {"KeyId": rsa_e, "Plaintext": plaintext, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
        ),
        ("Decrypt", {"CiphertextBlob": b64(with_context), "EncryptionContext": CONTEXT}),
        (
            "Decrypt",
            {
                "CiphertextBlob": b64(rsa_blobs["RSAES_OAEP_SHA_1"]),
                "KeyId": rsa_e,
                "EncryptionAlgorithm": "RSAES_OAEP_SHA_1",
            },
        ),
        (
            "ReEncrypt",
            {
                "CiphertextBlob": b64(with_context),
                "SourceEncryptionContext": CONTEXT,
                "DestinationKeyId": key["external-imported"],
            },
        ),
        (
            "ReEncrypt",
            {
                "CiphertextBlob": b64(rsa_blobs["RSAES_OAEP_SHA_256"]),
                "SourceKeyId": rsa_e,
                "SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                "DestinationKeyId": alias["symmetric"],
            },
        ),
        ("GenerateDataKey", {"KeyId": sym, "KeySpec": "AES_256", "EncryptionContext": CONTEXT}),
        ("GenerateDataKey", {"KeyId": sym, "NumberOfBytes": 64}),
        ("GenerateDataKeyWithoutPlaintext", {"KeyId": sym, "KeySpec": "AES_128"}),
        ("GenerateDataKeyPair", {"KeyId": sym, "KeyPairSpec": "ECC_NIST_P384"}),
        ("GenerateDataKeyPair", {"KeyId": rsa_e, "KeyPairSpec": "ECC_NIST_P256"}),
        ("GenerateDataKeyPairWithoutPlaintext", {"KeyId": sym, "KeyPairSpec": "RSA_2048"}),
        ("GenerateRandom", {"NumberOfBytes": 32}),
        ("GenerateMac", {"KeyId": key["hmac"], "Message": message, "MacAlgorithm": "HMAC_SHA_256"}),
        (
            "VerifyMac",
            {
                "KeyId": key["hmac"],
                "Message": message,
                "MacAlgorithm": "HMAC_SHA_256",
                "Mac": b64(mac),
            },
        ),
        (
            "Sign",
            {
                "KeyId": key["rsa-sign"],
                "Message": message,
                "SigningAlgorithm": "RSASSA_PSS_SHA_512",
            },
        ),
        (
            "Sign",
            {
                "KeyId": key["ecc-sign"],
                "Message": b64(digest),
                "MessageType": "DIGEST",
                "SigningAlgorithm": "ECDSA_SHA_256",
            },
        ),
        *(
            (
                "Verify",
                {
                    "KeyId": key[name],
                    "Message": message,
                    "Signature": b64(signature),
                    "SigningAlgorithm": algorithm,
                },
            )
            for name, algorithm, signature in signatures
        ),
        (
            "DeriveSharedSecret",
            {
                "KeyId": key["ecc-agree"],
                "KeyAgreementAlgorithm": "ECDH",
                "PublicKey": b64(peer_der),
            },
        ),
        ("GetPublicKey", {"KeyId": alias["rsa-sign"]}),
        ("DescribeKey", {"KeyId": f"{arn_prefix}:{alias['hmac']}"}),
        ("ListKeys", {"Limit": 2, "Marker": pool.markers[1]}),
        ("ListAliases", {"KeyId": sym}),
        ("ListAliases", {"Limit": 1, "Marker": pool.markers[2]}),
        ("ListKeyRotations", {"KeyId": sym, "Limit": 1, "Marker": pool.markers[0]}),
        ("ListResourceTags", {"KeyId": sym, "Limit": 1}),
        ("GetKeyRotationStatus", {"KeyId": sym}),
        ("EnableKeyRotation", {"KeyId": sym, "RotationPeriodInDays": 365}),
        ("DisableKeyRotation", {"KeyId": sym}),
        ("RotateKeyOnDemand", {"KeyId": sym}),
        ("GetKeyLastUsage", {"KeyId": sym}),
        ("TagResource", {"KeyId": sym, "Tags": [{"TagKey": "fuzz", "TagValue": "again"}]}),
        ("UntagResource", {"KeyId": sym, "TagKeys": ["team"]}),
        ("UpdateKeyDescription", {"KeyId": sym, "Description": f"fuzz pool {tag} symmetric"}),
        ("EnableKey", {"KeyId": key["disabled"]}),
        ("DisableKey", {"KeyId": key["hmac"]}),
        ("ScheduleKeyDeletion", {"KeyId": key["ecc-sign"], "PendingWindowInDays": 7}),
        ("CancelKeyDeletion", {"KeyId": key["pending-deletion"]}),
        ("CreateAlias", {"AliasName": f"{pool.alias_prefix}extra", "TargetKeyId": sym}),
        ("UpdateAlias", {"AliasName": alias["symmetric"], "TargetKeyId": key["disabled"]}),
        ("DeleteAlias", {"AliasName": alias["rsa-sign"]}),
        (
            "CreateKey",
            {"Description": "fuzz", "KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        ),
        ("CreateKey", {"Origin": "EXTERNAL", "Tags": [{"TagKey": "fuzz", "TagValue": "x"}]}),
        ("GetKeyPolicy", {"KeyId": sym, "PolicyName": "default"}),
        ("ListKeyPolicies", {"KeyId": sym}),
        ("PutKeyPolicy", {"KeyId": key["hmac"], "Policy": root_only_policy}),
        (
            "CreateGrant",
            {
                "KeyId": sym,
                "GranteePrincipal": root,
                "Operations": ["Encrypt", "Decrypt"],
                "Constraints": {"EncryptionContextSubset": CONTEXT},
            },
        ),
        ("ListGrants", {"KeyId": sym, "Limit": 1}),
        ("ListRetirableGrants", {"RetiringPrincipal": root}),
        ("RetireGrant", {"KeyId": sym, "GrantId": grant["GrantId"], "DryRun": True}),
        ("RevokeGrant", {"KeyId": sym, "GrantId": grant["GrantId"], "DryRun": True}),
    ]
    for operation, document in valid:
        pool.add_valid(operation, document)

    # Last, the states: one key disabled, one pending deletion (its window outlasts the run).
    kms.disable_key(KeyId=key["disabled"])
    kms.schedule_key_deletion(
        KeyId=key["pending-deletion"], PendingWindowInDays=PENDING_WINDOW_DAYS
    )
    return pool


# -- strategies -------------------------------------------------------------------------------


# Strings that are valid JSON but trouble on the way in: lone surrogates (which JSON escapes
# allow and UTF-8 cannot encode), NUL, separators, a byte-order mark, astral characters.
ODD_STRINGS = [
    "\ud800",
    "\udfff\ud800",
    "a\udc80b",
    "\x00",
    "a\x00b",
    "\u2028",
    "\ufeff",
    "\U0001f600",
]
odd_texts = st.sampled_from(ODD_STRINGS) | st.text(
    st.characters(categories=["Cs"]) | st.characters(), min_size=1, max_size=8
)


def _mutate(parts: tuple[bytes, str, int, bytes]) -> bytes:
    """A real blob, bit-flipped, truncated, extended or overwritten somewhere."""
    blob, how, position, junk = parts
    if not blob:
        return junk
    cut = position % (len(blob) + 1)
    if how == "flip":
        i = position % len(blob)
        return blob[:i] + bytes([blob[i] ^ (1 << (position % 8))]) + blob[i + 1 :]
    if how == "truncate":
        return blob[:cut]
    if how == "extend":
        return blob + junk
    return blob[:cut] + junk + blob[cut + len(junk) :]


def _blob(shape: Shape, member: str, pool: KeyPool) -> st.SearchStrategy[str]:
    """Base64 of real, mutated or random bytes; now and then not base64 at all."""
    sensitive = bool(shape.metadata.get("sensitive"))
    prefix = CANARY if sensitive else b""
    randoms = st.binary(max_size=512).map(lambda b: prefix + b) | _lengths_around(
        shape, 70_000
    ).map(lambda n: prefix + b"b" * (n - len(prefix)) if n >= len(prefix) else b"c" * n)
    real = pool.blobs.get(member, [])
    if member == "Plaintext":
        real = [PLAINTEXT]
    raw = randoms
    if real:
        mutated = st.tuples(
            st.sampled_from(real),
            st.sampled_from(["flip", "truncate", "extend", "splice"]),
            st.integers(min_value=0),
            st.binary(min_size=1, max_size=8),
        ).map(_mutate)
        raw = st.one_of(st.sampled_from(real), st.sampled_from(real), mutated, randoms)
    not_base64 = st.text(max_size=40).map(lambda s: SENSITIVE_CANARY + s if sensitive else s)
    return st.one_of(raw.map(b64), raw.map(b64), raw.map(b64), not_base64)


def _string(shape: Shape, member: str, pool: KeyPool) -> st.SearchStrategy[str]:
    enum = getattr(shape, "enum", None) or []
    if shape.metadata.get("sensitive"):
        base = (st.text(max_size=64) | odd_texts).map(lambda s: SENSITIVE_CANARY + s)
        pad = len(SENSITIVE_CANARY)
        sized = _lengths_around(shape, 70_000).map(
            lambda n: SENSITIVE_CANARY + "s" * max(0, n - pad)
        )
        return base | sized
    texts = st.one_of(
        st.text(max_size=80), _lengths_around(shape, 70_000).map(lambda n: "v" * n), odd_texts
    )
    if member in KEY_ID_MEMBERS:
        references = st.sampled_from(pool.key_references)
        strangers = st.one_of(
            st.uuids().map(str),
            st.uuids().map(lambda u: f"{pool.arn_prefix}:key/{u}"),
            (st.text(max_size=40) | odd_texts).map(lambda s: f"{pool.alias_prefix}{s}"),
            st.text(max_size=40).map(lambda s: f"{pool.arn_prefix}:{pool.alias_prefix}{s}"),
            st.sampled_from(["alias/", "arn:aws:kms:us-east-1:123456789012:key/", "key/"]),
        )
        return st.one_of(references, references, references, strangers, texts)
    if member == "AliasName":
        # Only the pool's aliases, or names under the pool's own prefix (or not aliases at all).
        own = pool.alias_prefix
        return st.one_of(
            st.sampled_from([k.alias for k in pool.keys]),
            st.text(alphabet=string.ascii_letters + "/_-", max_size=40).map(lambda s: own + s),
            (st.text(max_size=40) | odd_texts).map(lambda s: own + s),
            _lengths_around(shape, 4096).map(
                lambda n: own + "a" * (n - len(own)) if n >= len(own) else "f" * n
            ),
            st.text(max_size=40).map(lambda s: f"fuzz-{s}"),
            st.text(max_size=20).map(lambda s: f"alias/aws/fuzz-{s}"),
        )
    if member == "KeyMaterialId":
        texts = (
            texts
            | st.sampled_from(pool.material_ids)
            | st.binary(min_size=32, max_size=32).map(bytes.hex)
        )
    if member == "Marker":
        made = st.tuples(st.sampled_from(LISTINGS), st.text(max_size=40)).map(
            lambda p: base64.urlsafe_b64encode(f"{p[0]}\x1f{p[1]}".encode()).decode()
        )
        texts = texts | st.sampled_from(pool.markers) | made
    if member == "Policy":
        texts = texts | st.sampled_from(['{"Version": "2012-10-17", "Statement": []}', "{}", "[]"])
    if not enum:
        return texts
    # Algorithms and specs decide which code runs: mostly the model's values, then anything.
    return st.one_of(st.sampled_from(enum), st.sampled_from(enum), texts)


def _timestamp(member: str) -> st.SearchStrategy[Any]:
    anything = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
    if member != "ValidTo":
        return anything
    now = int(time.time())
    soon = st.integers(min_value=now - 86_400, max_value=now + 400 * 86_400)
    return soon | soon | anything


def typed(
    shape: Shape, member: str, pool: KeyPool, wild: bool, depth: int = 0
) -> st.SearchStrategy[Any]:
    """A value shaped as the model says (types right, sizes and ranges anywhere)."""
    kind = shape.type_name
    if kind == "string":
        return _string(shape, member, pool)
    if kind in ("integer", "long", "short", "byte"):
        return _integer(shape)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return _blob(shape, member, pool)
    if kind == "timestamp":
        return _timestamp(member)
    if depth > 3:
        return json_values
    if kind == "list":
        item = value_for(shape.member, member, pool, wild, depth + 1)
        return st.lists(item, max_size=int(shape.metadata.get("max", 20)) + 2)
    if kind == "map":
        generic = st.dictionaries(
            typed(shape.key, member, pool, wild, depth + 1),  # JSON object keys are strings
            value_for(shape.value, member, pool, wild, depth + 1),
            max_size=5,
        )
        if member in CONTEXT_MEMBERS:
            short = st.text(max_size=12) | odd_texts
            small = st.dictionaries(short, short, max_size=3)
            return st.one_of(st.sampled_from(pool.contexts), small, generic)
        return generic
    if kind == "structure":
        return structure(shape, pool, wild, depth + 1)
    return json_values


def value_for(
    shape: Shape, member: str, pool: KeyPool, wild: bool, depth: int = 0
) -> st.SearchStrategy[Any]:
    """Model-shaped; in a wild document, any JSON value at all a third of the time."""
    shaped = typed(shape, member, pool, wild, depth)
    return st.one_of(shaped, shaped, json_values) if wild else shaped


def _member_values(
    shape: Shape, pool: KeyPool, wild: bool, depth: int
) -> dict[str, st.SearchStrategy[Any]]:
    return {
        member.serialization.get("name", name): value_for(member, name, pool, wild, depth)
        for name, member in shape.members.items()
    }


def structure(
    shape: Shape, pool: KeyPool, wild: bool, depth: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    values = _member_values(shape, pool, wild, depth)
    # Tame documents always carry the required members; wild ones may leave them out.
    required_names = set() if wild else set(shape.required_members)
    required = {k: v for k, v in values.items() if k in required_names}
    optional = {k: v for k, v in values.items() if k not in required_names}
    members = st.fixed_dictionaries(required, optional=optional)
    if not wild:
        return members
    extra = st.dictionaries(st.text(max_size=24), json_values, max_size=3)
    return st.builds(lambda known, more: {**more, **known}, members, extra)


def near_valid(operation: str, pool: KeyPool) -> st.SearchStrategy[dict[str, Any]]:
    """A request that works, with up to two members replaced and up to one dropped."""
    shape = MODEL.operation_model(operation).input_shape
    values = _member_values(shape, pool, wild=False, depth=0)
    names = sorted(values)

    def vary(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        replaced = st.lists(st.sampled_from(names), max_size=2, unique=True).flatmap(
            lambda chosen: st.fixed_dictionaries({n: values[n] for n in chosen})
        )
        dropped = st.lists(st.sampled_from(sorted(base)), max_size=1)
        return st.builds(
            lambda new, gone: {k: v for k, v in {**base, **new}.items() if k not in gone},
            replaced,
            dropped,
        )

    return st.sampled_from(pool.valid[operation]).flatmap(vary)


def documents(operation: OperationModel, pool: KeyPool) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly well typed (to reach the service), some near-valid, one in four or so wild."""

    def build() -> st.SearchStrategy[dict[str, Any]]:
        shape = operation.input_shape
        if shape is None:
            return st.dictionaries(st.text(max_size=24), json_values, max_size=5)
        tame = structure(shape, pool, wild=False)
        wild = structure(shape, pool, wild=True)
        if operation.name in pool.valid:
            near = near_valid(operation.name, pool)
            return st.one_of(tame, tame, near, near, wild)
        return st.one_of(tame, tame, wild)

    return pool.cached(("documents", operation.name), build)


KMS_SPECIAL_BODIES = [
    b'{"KeyId": NaN}',
    b'{"NumberOfBytes": 1e400}',
    b'{"NumberOfBytes": -1e400}',
    b'{"NumberOfBytes": 123456789012345678901234567890}',
    b'{"NumberOfBytes": 32.5}',
    b'{"NumberOfBytes": true}',
    b'{"Limit": "10"}',
    b'{"KeyId": "\\ud800"}',
    b'{"KeyId": "alias/"}',
    b'{"KeyId": "arn:aws:kms:us-east-1:123456789012:alias/"}',
    b'{"KeyId": "fuzz-a", "KeyId": "fuzz-b"}',
    b'{"Plaintext": "!!!!"}',
    b'{"Plaintext": "===="}',
    b'{"Plaintext": "QQ"}',
    b'{"Plaintext": 12}',
    b'{"CiphertextBlob": ""}',
    b'{"CiphertextBlob": "AAAA"}',
    b'{"CiphertextBlob": null}',
    b'{"EncryptionContext": {"a": 1}}',
    b'{"EncryptionContext": {"a": null}}',
    b'{"EncryptionContext": []}',
    b'{"EncryptionContext": {"": ""}}',
    b'{"EncryptionContext": {"\\ud800": "x"}}',
    b'{"EncryptionContext": {"k": "\\udfff"}}',
    b'{"Description": "\\ud800"}',
    b'{"AliasName": "alias/\\ud800"}',
    b'{"Tags": [{"TagKey": "\\ud800", "TagValue": "\\udc00"}]}',
    b'{"ValidTo": "not a date"}',
    b'{"ValidTo": 1e400}',
    b'{"ValidTo": 1e20}',
    b'{"ValidTo": -1e20}',
    b'{"Tags": [{}]}',
    b'{"Tags": {"TagKey": "a"}}',
    b'{"GrantTokens": [' + b'"t",' * 5000 + b'"t"]}',
    b'{"DryRun": "true"}',
    b'{"DryRunModifiers": ["IGNORE_CIPHERTEXT", 1]}',
    b'{"Recipient": {"AttestationDocument": "AAAA"}}',
]


def raw_bodies(pool: KeyPool) -> st.SearchStrategy[bytes]:
    def build() -> st.SearchStrategy[bytes]:
        depth = st.integers(min_value=1, max_value=200_000)
        mutated = st.tuples(
            st.sampled_from(OPERATIONS).flatmap(
                lambda op: documents(MODEL.operation_model(op), pool)
            ),
            st.integers(min_value=0),
            st.binary(max_size=4),
        ).map(_splice)
        return st.one_of(
            st.sampled_from(SPECIAL_BODIES + KMS_SPECIAL_BODIES),
            st.binary(max_size=2048),
            st.text(max_size=512).map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.text(alphabet=string.printable, max_size=512).map(str.encode),
            depth.map(lambda n: b"[" * n + b"]" * n),
            depth.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
            depth.map(lambda n: b"[" * n),
            mutated,
        )

    strategy: st.SearchStrategy[bytes] = pool.cached("raw", build)
    return strategy


# -- the check --------------------------------------------------------------------------------


class WireChecker:
    """Signs and sends on one connection; checks what comes back; keeps the pool as it was."""

    def __init__(self, server: RunningServer, pool: KeyPool) -> None:
        self.endpoint = server.endpoint
        self.connection = RawConnection(server.endpoint)
        self.kms = server.client("kms")
        self.pool = pool

    def send(self, operation: str, body: bytes) -> RawResponse:
        headers = sign(
            self.endpoint, body, target=f"{TARGET_PREFIX}.{operation}", service=SIGNING_NAME
        )
        return self.connection.send("POST", "/", headers, body)

    def check(self, operation: str, body: bytes, sensitive: list[str]) -> RawResponse:
        response = self.send(operation, body)
        failure = (operation, body[:500], response.status, response.body[:2000])
        assert response.status < 500, failure
        if len(body) > MAX_BODY_BYTES:
            expected: tuple[int, ...] = (413,)
        elif operation in UNSERVED_OPERATIONS:
            expected = (400,)
        else:
            expected = (200, 400, 412)
        assert response.status in expected, failure
        if response.status == 200:
            parsed = botocore_parse(response, MODEL.operation_model(operation).output_shape)
            assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert isinstance(response.json(), dict)
            if operation in POOL_CHANGING_OPERATIONS:
                self.restore()
            return response
        error = assert_aws_error(response, response.status)
        assert (response.status == 412) == (error["__type"] == "DryRunOperationException"), failure
        if response.status == 400 and operation in UNKNOWN_OPERATIONS:
            assert error["__type"] == "UnknownOperationException", failure
        if response.status == 400 and operation in UNSUPPORTED_OPERATIONS:
            assert error["__type"] == "UnsupportedOperationException", failure
        for value in sensitive:  # raw UTF-8 or JSON-escaped, however the server wrote it
            assert value.encode("utf-8", "surrogatepass") not in response.body, failure
            assert json.dumps(value)[1:-1].encode() not in response.body, failure
        assert CANARY not in response.body, failure
        return response

    def restore(self) -> None:
        """Put every pool key back in its state, with its alias pointing at it."""
        kms = self.kms
        targets: dict[str, str | None] = {}
        for page in kms.get_paginator("list_aliases").paginate():
            for entry in page["Aliases"]:
                if entry["AliasName"].startswith(self.pool.alias_prefix):
                    targets[entry["AliasName"]] = entry.get("TargetKeyId")
        for key in self.pool.keys:
            state = self._state(key)
            alias_right = targets.get(key.alias) == key.key_id
            if state == key.state and alias_right:
                continue
            if state == "PendingDeletion":
                kms.cancel_key_deletion(KeyId=key.key_id)
                state = self._state(key)
            if not alias_right:
                if key.alias in targets:
                    kms.update_alias(AliasName=key.alias, TargetKeyId=key.key_id)
                else:
                    kms.create_alias(AliasName=key.alias, TargetKeyId=key.key_id)
            if key.state == "Enabled":
                if state == "PendingImport":
                    token, material = self.pool.imports[key.key_id]
                    kms.import_key_material(
                        KeyId=key.key_id,
                        ImportToken=token,
                        EncryptedKeyMaterial=material,
                        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                    )
                    state = self._state(key)
                if state == "Disabled":
                    kms.enable_key(KeyId=key.key_id)
            elif key.state == "Disabled" and state == "Enabled":
                kms.disable_key(KeyId=key.key_id)
            elif key.state == "PendingImport" and state != "PendingImport":
                kms.delete_imported_key_material(KeyId=key.key_id)
            elif key.state == "PendingDeletion":
                kms.schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=PENDING_WINDOW_DAYS)
            assert self._state(key) == key.state, key

    def _state(self, key: PoolKey) -> str:
        return str(self.kms.describe_key(KeyId=key.key_id)["KeyMetadata"]["KeyState"])


def sensitive_values(operation: str, document: dict[str, Any]) -> list[str]:
    shape = MODEL.operation_model(operation).input_shape
    if shape is None:
        return []
    found = []
    for name, member in shape.members.items():
        value = document.get(member.serialization.get("name", name))
        if member.metadata.get("sensitive") and isinstance(value, str) and len(value) >= 6:
            found.append(value)
    return found


@pytest.fixture(scope="module")
def pool(server: RunningServer) -> KeyPool:
    """The fuzz's own keys of every kind and state, with aliases and real blobs."""
    return _make_pool(server)


@pytest.fixture(scope="module")
def wire(server: RunningServer, pool: KeyPool) -> Iterator[WireChecker]:
    checker = WireChecker(server, pool)
    yield checker
    checker.connection.close()


@pytest.fixture(scope="module")
def log_start(server: RunningServer) -> int:
    """Where the server log stood before this module sent anything."""
    return len(server.log())


# -- tests ------------------------------------------------------------------------------------


def _fuzz_documents(wire: WireChecker, operation: str, data: st.DataObject) -> None:
    document = data.draw(documents(MODEL.operation_model(operation), wire.pool), label="document")
    body = json.dumps(document).encode()
    note(f"request: {operation} {body[:3000]!r}")
    wire.check(operation, body, sensitive_values(operation, document))


def _check_raw(wire: WireChecker, operation: str, data: st.DataObject) -> None:
    body = data.draw(raw_bodies(wire.pool), label="body")
    note(f"request: {operation} {body[:3000]!r}")
    wire.check(operation, body, [])


def test_the_operation_lists_match_the_model() -> None:
    assert UNSERVED_OPERATIONS.issubset(OPERATIONS)
    assert len(SERVED_OPERATIONS) + len(UNSERVED_OPERATIONS) + 1 == len(OPERATIONS)


@pytest.mark.parametrize("operation", SERVED_OPERATIONS)
@settings(max_examples=DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_model_shaped_documents_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _fuzz_documents(wire, operation, data)


@settings(max_examples=CREATE_KEY_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_create_key_documents_never_yield_a_5xx(
    log_start: int, wire: WireChecker, data: st.DataObject
) -> None:
    _fuzz_documents(wire, "CreateKey", data)


@pytest.mark.parametrize("operation", sorted(UNSERVED_OPERATIONS))
@settings(max_examples=UNSERVED_DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_unserved_operations_answer_their_error_whatever_the_document(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _fuzz_documents(wire, operation, data)


@settings(max_examples=RAW_BODY_EXAMPLES, **FUZZ_SETTINGS)
@given(operation=st.sampled_from(OPERATIONS), data=st.data())
def test_raw_bodies_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _check_raw(wire, operation, data)


@settings(max_examples=100, **FUZZ_SETTINGS)
@given(
    operation=st.text(max_size=40) | st.sampled_from(OPERATIONS).map(str.lower),
    body=st.sampled_from([b"{}", b'{"KeyId": "fuzz-x"}', b"not json"]),
)
def test_unknown_operation_names_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, body: bytes
) -> None:
    # Header values are latin-1 on the wire; anything else cannot be sent at all.
    target_safe = operation.encode("latin-1", "replace").decode("latin-1")
    target_safe = "".join(c for c in target_safe if c.isprintable())
    if target_safe.strip() in OPERATIONS:  # the server strips header whitespace, as HTTP says
        return
    response = wire.check(target_safe, body, [])
    assert response.status == 400
    assert response.json()["__type"] == "UnknownOperationException"


@pytest.mark.slow
@pytest.mark.parametrize("operation", SERVED_OPERATIONS)
@settings(max_examples=SLOW_DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_slow_model_shaped_documents_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _fuzz_documents(wire, operation, data)


@pytest.mark.slow
@settings(max_examples=SLOW_CREATE_KEY_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_slow_create_key_documents_never_yield_a_5xx(
    log_start: int, wire: WireChecker, data: st.DataObject
) -> None:
    _fuzz_documents(wire, "CreateKey", data)


@pytest.mark.slow
@pytest.mark.parametrize("operation", sorted(UNSERVED_OPERATIONS))
@settings(max_examples=SLOW_UNSERVED_DOCUMENT_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_slow_unserved_operations_answer_their_error_whatever_the_document(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _fuzz_documents(wire, operation, data)


@pytest.mark.slow
@settings(max_examples=SLOW_RAW_BODY_EXAMPLES, **FUZZ_SETTINGS)
@given(operation=st.sampled_from(OPERATIONS), data=st.data())
def test_slow_raw_bodies_never_yield_a_5xx(
    log_start: int, wire: WireChecker, operation: str, data: st.DataObject
) -> None:
    _check_raw(wire, operation, data)


def _context_documents(pool: KeyPool, where: str, context: dict[str, str]) -> dict[str, Any]:
    symmetric = pool.key("symmetric").key_id
    blob = b64(pool.blobs["CiphertextBlob"][0])  # under the symmetric key, no context
    return {
        "Encrypt": {"KeyId": symmetric, "Plaintext": "QQ==", "EncryptionContext": context},
        "Decrypt": {"CiphertextBlob": blob, "EncryptionContext": context},
        "ReEncrypt-source": {
            "CiphertextBlob": blob,
            "SourceEncryptionContext": context,
            "DestinationKeyId": symmetric,
        },
        "ReEncrypt-destination": {
            "CiphertextBlob": blob,
            "DestinationEncryptionContext": context,
            "DestinationKeyId": symmetric,
        },
        "GenerateDataKey": {"KeyId": symmetric, "KeySpec": "AES_256", "EncryptionContext": context},
        "GenerateDataKeyWithoutPlaintext": {
            "KeyId": symmetric,
            "KeySpec": "AES_128",
            "EncryptionContext": context,
        },
        "GenerateDataKeyPair": {
            "KeyId": symmetric,
            "KeyPairSpec": "ECC_NIST_P256",
            "EncryptionContext": context,
        },
        "GenerateDataKeyPairWithoutPlaintext": {
            "KeyId": symmetric,
            "KeyPairSpec": "ECC_NIST_P256",
            "EncryptionContext": context,
        },
    }[where]


@pytest.mark.parametrize(
    "where",
    [
        "Encrypt",
        "Decrypt",
        "ReEncrypt-source",
        "ReEncrypt-destination",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    ],
)
@pytest.mark.parametrize(
    "context",
    [{"v" * 65_536: ""}, {"k": "\u00e9" * 32_768}],  # 65,536 UTF-8 bytes each
    ids=["64KiB-key", "64KiB-utf8-value"],
)
def test_regression_an_encryption_context_field_of_64_kib_is_not_a_500(
    log_start: int, wire: WireChecker, where: str, context: dict[str, str]
) -> None:
    """Found by this fuzz: a context key or value of 65,536 UTF-8 bytes or more was a 500
    (ValueError "encryption context field too long" from the ciphertext blob's AAD)."""
    document = _context_documents(wire.pool, where, context)
    wire.check(where.partition("-")[0], json.dumps(document).encode(), [])


@pytest.mark.parametrize("operation", ["Sign", "Verify"])
@pytest.mark.parametrize("key_name", ["rsa-sign", "ecc-sign"])
def test_regression_message_type_external_mu_is_a_400_not_a_500(
    log_start: int, wire: WireChecker, operation: str, key_name: str
) -> None:
    """Found by this fuzz: MessageType EXTERNAL_MU (a model value, for ML-DSA keys) with an
    RSA or ECC key was a 500 (UnsupportedMessageType escaped from crypto.asymmetric)."""
    key = wire.pool.key(key_name)
    algorithm = "RSASSA_PSS_SHA_256" if key_name == "rsa-sign" else "ECDSA_SHA_256"
    document = {
        "KeyId": key.key_id,
        "Message": b64(MESSAGE),
        "MessageType": "EXTERNAL_MU",
        "SigningAlgorithm": algorithm,
    }
    if operation == "Verify":
        document["Signature"] = b64(wire.pool.blobs["Signature"][0])
    response = wire.check(operation, json.dumps(document).encode(), [b64(MESSAGE)])
    assert response.status == 400


def test_the_server_still_answers_after_the_fuzz(
    server: RunningServer, kms: Any, log_start: int, wire: WireChecker
) -> None:
    """Runs last in this module: the server is alive, correct, and logged no internal error."""
    assert server.process.poll() is None
    wire.restore()
    for key in wire.pool.keys:
        assert kms.describe_key(KeyId=key.alias)["KeyMetadata"]["KeyState"] == key.state
    symmetric = wire.pool.keys[0]
    blob = kms.encrypt(KeyId=symmetric.alias, Plaintext=b"still here")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"still here"
    # And on the very connection the fuzz used.
    response = wire.check("Decrypt", json.dumps({"CiphertextBlob": b64(blob)}).encode(), [])
    assert response.status == 200
    assert base64.b64decode(response.json()["Plaintext"]) == b"still here"
    assert response.json()["KeyId"] == symmetric.arn
    assert "internal error" not in server.log()[log_start:]
