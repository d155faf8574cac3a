"""Destruction certificates: issue/verify round trip, alterations refused, the golden vector."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from strongroom.crypto.signing import Ed25519Signer
from strongroom.tenancy.certificates import (
    FORMAT,
    ChainPosition,
    DestructionFacts,
    InvalidCertificate,
    issue,
    signed_bytes,
    verify,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "certificates"
SIGNER = Ed25519Signer(bytes(range(32)))
PUBLIC = SIGNER.public_key_pem()
FACTS = DestructionFacts(
    tenant_id="cust-12345",
    display_name="Acme Corporation — Zürich",
    key_mode="DEDICATED",
    key_id="1234abcd-12ab-34cd-56ef-1234567890ab",
    key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    key_versions=(1, 2, 3),
    partition_ids=(),
    secret_versions=4,
    ciphertexts=250,
    offboarded_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    scheduled_for=datetime(2026, 11, 9, 9, 30, tzinfo=UTC),
    destroyed_at=datetime(2026, 11, 9, 9, 31, 5, 123456, tzinfo=UTC),
)
CHAIN = ChainPosition("us-east-1", 1234, bytes(range(32)))
ISSUED_AT = datetime(2026, 11, 9, 9, 31, 6, tzinfo=UTC)


def issued(facts: DestructionFacts = FACTS, signer: Ed25519Signer = SIGNER) -> str:
    return issue(
        facts, signer, CHAIN, account_id="123456789012", region="us-east-1", issued_at=ISSUED_AT
    )


def test_round_trip_returns_every_fact() -> None:
    verified = verify(issued(), PUBLIC)
    assert verified.facts == FACTS
    assert verified.chain_position == CHAIN
    assert (verified.account_id, verified.region, verified.issued_at) == (
        "123456789012",
        "us-east-1",
        ISSUED_AT,
    )
    assert (
        verified.public_key_fingerprint
        == hashlib.sha256(base64.b64decode("".join(PUBLIC.decode().splitlines()[1:-1]))).digest()
    )


def test_each_certificate_has_its_own_id() -> None:
    first, second = json.loads(issued()), json.loads(issued())
    assert first["certificateId"] != second["certificateId"]
    assert first["format"] == FORMAT


def test_a_shared_key_tenant_lists_its_partitions_in_hex() -> None:
    facts = replace(
        FACTS, key_mode="SHARED", key_versions=(), partition_ids=("ABCDEF0123456789" * 2,)
    )
    document = json.loads(issued(facts))
    assert document["destroyedPartitionIds"] == ["abcdef0123456789" * 2]
    assert document["destroyedKeyVersions"] == []
    assert verify(json.dumps(document), PUBLIC).facts.partition_ids == ("abcdef0123456789" * 2,)


def _altered(change: Any) -> str:
    document = json.loads(issued())
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("tenantId", "cust-12346"),
        ("displayName", "Acme Corporation — Zurich"),
        ("keyMode", "SHARED"),
        ("keyId", "1234abcd-12ab-34cd-56ef-1234567890ac"),
        ("keyArn", "arn:aws:kms:us-east-1:123456789012:key/other"),
        ("destroyedKeyVersions", [1, 2]),
        ("destroyedPartitionIds", ["00" * 16]),
        ("secretVersionsProtected", 5),
        ("ciphertextsProtected", 249),
        ("offboardingRequestedAt", "2026-11-02T09:30:00.000001Z"),
        ("destructionScheduledFor", "2026-11-10T09:30:00.000000Z"),
        ("destroyedAt", "2026-11-09T09:31:05.123457Z"),
        ("issuedAt", "2026-11-09T09:31:07.000000Z"),
        ("accountId", "123456789013"),
        ("region", "eu-west-1"),
        ("certificateId", "6f1c2a9e-3b4d-4c5e-8f70-a1b2c3d4e5f7"),
    ],
)
def test_any_changed_member_is_refused(member: str, value: Any) -> None:
    def change(document: dict[str, Any]) -> None:
        document[member] = value

    with pytest.raises(InvalidCertificate, match="signature does not match"):
        verify(_altered(change), PUBLIC)


@pytest.mark.parametrize(("member", "value"), [("region", "eu-west-1"), ("seq", 1235)])
def test_a_changed_chain_position_is_refused(member: str, value: Any) -> None:
    def change(document: dict[str, Any]) -> None:
        document["auditChainPosition"][member] = value

    with pytest.raises(InvalidCertificate, match="signature does not match"):
        verify(_altered(change), PUBLIC)


def test_a_changed_chain_hash_is_refused() -> None:
    def change(document: dict[str, Any]) -> None:
        document["auditChainPosition"]["hash"] = "ff" * 32

    with pytest.raises(InvalidCertificate, match="signature does not match"):
        verify(_altered(change), PUBLIC)


def test_reordered_signature_bytes_are_refused() -> None:
    def change(document: dict[str, Any]) -> None:
        raw = base64.b64decode(document["signature"])
        document["signature"] = base64.b64encode(raw[32:] + raw[:32]).decode()

    with pytest.raises(InvalidCertificate, match="signature does not match"):
        verify(_altered(change), PUBLIC)


def test_reordered_and_reindented_members_still_verify() -> None:
    document = json.loads(issued())
    reordered = dict(reversed(list(document.items())))
    assert verify(json.dumps(reordered, ensure_ascii=True), PUBLIC).facts == FACTS


def test_another_key_is_refused_by_name() -> None:
    other = Ed25519Signer.generate()
    with pytest.raises(InvalidCertificate, match="not this key"):
        verify(issued(), other.public_key_pem())


def test_a_signature_by_another_key_claiming_this_fingerprint_is_refused() -> None:
    forger = Ed25519Signer.generate()
    document = json.loads(issued(signer=forger))
    document["signingKeyFingerprint"] = json.loads(issued())["signingKeyFingerprint"]
    document["signature"] = base64.b64encode(forger.sign(signed_bytes(document))).decode()
    with pytest.raises(InvalidCertificate, match="signature does not match"):
        verify(json.dumps(document), PUBLIC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a JSON document"),
        ("[]", "not a JSON object"),
        ("{}", "no signature"),
        ('{"signature": "x", "signature": "y"}', "appears twice"),
        ('{"a": NaN, "signature": "x"}', "not a JSON number"),
    ],
)
def test_malformed_text_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidCertificate, match=reason):
        verify(text, PUBLIC)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("ciphertextsProtected"), "missing member 'ciphertextsProtected'"),
        (lambda d: d.update(extra=1), "unknown member 'extra'"),
        (lambda d: d.update(format="strongroom/destruction-certificate/v2"), "not a strongroom"),
        (lambda d: d.update(ciphertextsProtected=-1), "0 or more"),
        (lambda d: d.update(ciphertextsProtected=True), "0 or more"),
        (lambda d: d.update(ciphertextsProtected=1.0), "0 or more"),
        (lambda d: d.update(destroyedKeyVersions=[2, 1]), "ascending"),
        (lambda d: d.update(destroyedPartitionIds=["XYZ"]), "ascending|hex"),
        (lambda d: d.update(destroyedAt="2026-11-09"), "UTC time"),
        (lambda d: d.update(signature="not base64!"), "base64"),
        (lambda d: d.update(signature=base64.b64encode(b"short").decode()), "64 bytes"),
        (lambda d: d.update(signatureAlgorithm="RSA"), "Ed25519"),
        (lambda d: d.update(auditChainPosition={"seq": 1}), "region, seq and hash"),
    ],
)
def test_malformed_members_are_refused(change: Any, reason: str) -> None:
    with pytest.raises(InvalidCertificate, match=reason):
        verify(_altered(change), PUBLIC)


def test_a_key_that_is_not_ed25519_is_refused() -> None:
    with pytest.raises(InvalidCertificate, match="not an Ed25519 public key"):
        verify(issued(), b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_facts_that_would_not_verify_are_not_issued() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        issued(replace(FACTS, ciphertexts=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        issued(replace(FACTS, destroyed_at=datetime(2026, 11, 9, 9, 31)))


# -- the golden vector -----------------------------------------------------------------


def test_the_golden_certificate_verifies_under_its_key() -> None:
    text = (VECTORS / "destruction-certificate-v1.json").read_text(encoding="utf-8")
    verified = verify(text, (VECTORS / "deployment-key-v1.pem").read_bytes())
    assert verified.certificate_id == "6f1c2a9e-3b4d-4c5e-8f70-a1b2c3d4e5f6"
    assert verified.facts.tenant_id == "cust-12345"
    assert verified.facts.partition_ids == (
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "5f0e8a3c9b2d4e6f8a1b2c3d4e5f6a7b",
    )
    assert verified.chain_position == ChainPosition("us-east-1", 48213, bytes.fromhex("9c" * 32))


def test_the_golden_certificate_is_what_issue_writes_today() -> None:
    """The format is pinned: the same facts under the same key give the same bytes
    (Ed25519 signatures are deterministic)."""
    text = (VECTORS / "destruction-certificate-v1.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert (
        hashlib.sha256(signed_bytes(document)).hexdigest()
        == "ba9d14e943fce1e87f6eee8501aae9fec174afd4338cfa44267c81011f05682d"
    )
    verified = verify(text, PUBLIC)
    again = issue(
        verified.facts,
        SIGNER,
        verified.chain_position,
        account_id=verified.account_id,
        region=verified.region,
        issued_at=verified.issued_at,
        certificate_id=verified.certificate_id,
    )
    assert again == text
