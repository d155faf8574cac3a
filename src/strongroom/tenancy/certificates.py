"""Destruction certificates: the signed JSON document a shredded tenant leaves, made and checked.

The format is specified in ``docs/spec/destruction-certificate.md``: a JSON object of the
fields below plus ``signature``, an Ed25519 signature by the deployment signing key over
``FORMAT + "\\n"`` followed by the canonical JSON of every other field.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from strongroom.crypto import signing

FORMAT = "strongroom/destruction-certificate/v1"
SIGNATURE_ALGORITHM = "Ed25519"
_DOMAIN = (FORMAT + "\n").encode("ascii")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_PATTERN = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
_HEX_PATTERN = re.compile(r"\A(?:[0-9a-f]{2})+\Z")
_SHA256_HEX_LENGTH = 64
_UUID_PATTERN = re.compile(
    r"\A[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z"
)

# Member names, in the order the spec lists them.
_STRING_FIELDS = (
    "format",
    "certificateId",
    "issuedAt",
    "accountId",
    "region",
    "tenantId",
    "displayName",
    "keyMode",
    "keyId",
    "keyArn",
    "offboardingRequestedAt",
    "destructionScheduledFor",
    "destroyedAt",
    "signingKeyFingerprint",
    "signatureAlgorithm",
    "signature",
)
_COUNT_FIELDS = ("secretVersionsProtected", "ciphertextsProtected")
_LIST_FIELDS = ("destroyedKeyVersions", "destroyedPartitionIds")
_CHAIN_FIELD = "auditChainPosition"
_CHAIN_MEMBERS = frozenset({"region", "seq", "hash"})
_FIELDS = frozenset((*_STRING_FIELDS, *_COUNT_FIELDS, *_LIST_FIELDS, _CHAIN_FIELD))


class InvalidCertificate(Exception):
    """The text is not a destruction certificate validly signed by the given key; the
    message says what is wrong."""


class CertificateSigner(Protocol):
    """The deployment signing key."""

    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DestructionFacts:
    """What was destroyed when a tenant's offboarding window ended (the offboarding reaper
    fills this in). A dedicated-key tenant lists its key's versions and no partitions; a
    shared-key tenant lists its partitions (in every version of the shared key) and no
    versions, since the shared key itself lives on for the other tenants."""

    tenant_id: str
    display_name: str
    key_mode: str
    key_id: str
    key_arn: str
    key_versions: tuple[int, ...]
    # The destroyed partitions' ids (16 bytes each, as ciphertext blobs name them), in hex.
    partition_ids: tuple[str, ...]
    # Secret versions whose values were sealed under what was destroyed.
    secret_versions: int
    # Encryptions (ciphertexts and data keys) ever made under what was destroyed.
    ciphertexts: int
    offboarded_at: datetime
    scheduled_for: datetime
    destroyed_at: datetime


@dataclass(frozen=True, slots=True)
class ChainPosition:
    """A place in the audit trail: one region's chain head (seq, hash) at issuance."""

    region: str
    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    """A certificate whose signature checked out, with its contents parsed."""

    certificate_id: str
    account_id: str
    region: str
    issued_at: datetime
    facts: DestructionFacts
    chain_position: ChainPosition
    public_key_fingerprint: bytes


def issue(
    facts: DestructionFacts,
    signer: CertificateSigner,
    chain_position: ChainPosition,
    *,
    account_id: str,
    region: str,
    issued_at: datetime,
    certificate_id: str | None = None,
) -> str:
    """The signed certificate as JSON text (members sorted, two-space indent, final newline)."""
    fingerprint = signing.public_key_fingerprint(signer.public_key_pem())
    if fingerprint is None:
        raise ValueError("the signer's public key is not an Ed25519 key")
    document: dict[str, Any] = {
        "format": FORMAT,
        "certificateId": certificate_id or str(uuid.uuid4()),
        "issuedAt": _time(issued_at),
        "accountId": account_id,
        "region": region,
        "tenantId": facts.tenant_id,
        "displayName": facts.display_name,
        "keyMode": facts.key_mode,
        "keyId": facts.key_id,
        "keyArn": facts.key_arn,
        "destroyedKeyVersions": sorted(set(facts.key_versions)),
        "destroyedPartitionIds": sorted({p.lower() for p in facts.partition_ids}),
        "secretVersionsProtected": facts.secret_versions,
        "ciphertextsProtected": facts.ciphertexts,
        "offboardingRequestedAt": _time(facts.offboarded_at),
        "destructionScheduledFor": _time(facts.scheduled_for),
        "destroyedAt": _time(facts.destroyed_at),
        _CHAIN_FIELD: {
            "region": chain_position.region,
            "seq": chain_position.seq,
            "hash": chain_position.hash.hex(),
        },
        "signingKeyFingerprint": fingerprint.hex(),
        "signatureAlgorithm": SIGNATURE_ALGORITHM,
    }
    # The checks verify applies, so nothing is signed that would not verify.
    try:
        _parse(document)
    except InvalidCertificate as exc:
        raise ValueError(f"not issued: {exc}") from exc
    signature = signer.sign(signed_bytes(document))
    document["signature"] = base64.b64encode(signature).decode("ascii")
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def signed_bytes(document: Mapping[str, Any]) -> bytes:
    """What the signature covers: the domain line, then the canonical JSON (sorted keys,
    no whitespace, UTF-8) of every member but ``signature``."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _DOMAIN + canonical.encode("utf-8")


def verify(text: str | bytes, public_key_pem: bytes) -> VerifiedCertificate:
    """Check a certificate against the deployment's public key (PEM); raises
    :class:`InvalidCertificate` saying why if it is malformed or not validly signed by it."""
    document = _load(text)
    fingerprint = signing.public_key_fingerprint(public_key_pem)
    if fingerprint is None:
        raise InvalidCertificate("the public key is not an Ed25519 public key (PEM)")
    verified = _parse(document)
    if verified.public_key_fingerprint != fingerprint:
        raise InvalidCertificate(
            "the certificate names signing key "
            f"{verified.public_key_fingerprint.hex()}, not this key ({fingerprint.hex()})"
        )
    signature = _signature(document["signature"])
    try:
        message = signed_bytes(document)
    except UnicodeEncodeError as exc:
        raise InvalidCertificate("the certificate has text that is not valid Unicode") from exc
    if not signing.verify(public_key_pem, message, signature):
        raise InvalidCertificate(
            "the signature does not match: the certificate was altered or not signed by this key"
        )
    return verified


# -- parsing -----------------------------------------------------------------------------


def _load(text: str | bytes) -> dict[str, Any]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        members: dict[str, Any] = {}
        for key, value in pairs:
            if key in members:
                # The signature covers one value; a reader might see the other.
                raise InvalidCertificate(f"member {key!r} appears twice")
            members[key] = value
        return members

    def no_constant(name: str) -> Any:
        raise InvalidCertificate(f"not a JSON number: {name}")

    try:
        document = json.loads(text, object_pairs_hook=unique, parse_constant=no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidCertificate("not a JSON document") from exc
    if not isinstance(document, dict):
        raise InvalidCertificate("not a JSON object")
    if "signature" not in document:
        raise InvalidCertificate("unsigned: there is no signature member")
    return document


def _parse(document: Mapping[str, Any]) -> VerifiedCertificate:
    """Every member checked for presence, type and form (``signature`` excepted, which
    may still be missing while issuing)."""
    present = set(document)
    unknown = sorted(present - _FIELDS)
    if unknown:
        raise InvalidCertificate(f"unknown member {unknown[0]!r}")
    missing = sorted(_FIELDS - present - {"signature"})
    if missing:
        raise InvalidCertificate(f"missing member {missing[0]!r}")
    for name in _STRING_FIELDS:
        if name in document and not isinstance(document[name], str):
            raise InvalidCertificate(f"{name} must be a string")
    if document["format"] != FORMAT:
        raise InvalidCertificate(f"not a {FORMAT} document (format {document['format'][:80]!r})")
    if document["signatureAlgorithm"] != SIGNATURE_ALGORITHM:
        raise InvalidCertificate(f"signatureAlgorithm must be {SIGNATURE_ALGORITHM}")
    if _UUID_PATTERN.match(document["certificateId"]) is None:
        raise InvalidCertificate("certificateId must be a lower-case UUID (version 4)")
    for name in ("accountId", "region", "tenantId", "keyMode", "keyId", "keyArn"):
        if not document[name]:
            raise InvalidCertificate(f"{name} must not be empty")
    versions = _int_list(document["destroyedKeyVersions"], "destroyedKeyVersions", minimum=1)
    partitions = _hex_list(document["destroyedPartitionIds"], "destroyedPartitionIds")
    fingerprint = _hex(document["signingKeyFingerprint"], "signingKeyFingerprint")
    if len(fingerprint) * 2 != _SHA256_HEX_LENGTH:
        raise InvalidCertificate("signingKeyFingerprint must be a SHA-256 digest (64 hex digits)")
    facts = DestructionFacts(
        tenant_id=document["tenantId"],
        display_name=document["displayName"],
        key_mode=document["keyMode"],
        key_id=document["keyId"],
        key_arn=document["keyArn"],
        key_versions=versions,
        partition_ids=partitions,
        secret_versions=_count(document["secretVersionsProtected"], "secretVersionsProtected"),
        ciphertexts=_count(document["ciphertextsProtected"], "ciphertextsProtected"),
        offboarded_at=_parse_time(document["offboardingRequestedAt"], "offboardingRequestedAt"),
        scheduled_for=_parse_time(document["destructionScheduledFor"], "destructionScheduledFor"),
        destroyed_at=_parse_time(document["destroyedAt"], "destroyedAt"),
    )
    return VerifiedCertificate(
        certificate_id=document["certificateId"],
        account_id=document["accountId"],
        region=document["region"],
        issued_at=_parse_time(document["issuedAt"], "issuedAt"),
        facts=facts,
        chain_position=_chain(document[_CHAIN_FIELD]),
        public_key_fingerprint=fingerprint,
    )


def _chain(value: Any) -> ChainPosition:
    if not isinstance(value, dict) or set(value) != _CHAIN_MEMBERS:
        raise InvalidCertificate(f"{_CHAIN_FIELD} must be an object of region, seq and hash")
    region = value["region"]
    if not isinstance(region, str) or not region:
        raise InvalidCertificate(f"{_CHAIN_FIELD}.region must be a region name")
    digest = _hex(value["hash"], f"{_CHAIN_FIELD}.hash")
    if len(digest) * 2 != _SHA256_HEX_LENGTH:
        raise InvalidCertificate(f"{_CHAIN_FIELD}.hash must be a SHA-256 digest (64 hex digits)")
    return ChainPosition(region, _count(value["seq"], f"{_CHAIN_FIELD}.seq"), digest)


def _signature(value: str) -> bytes:
    try:
        signature = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidCertificate("signature must be base64") from exc
    if len(signature) != signing.SIGNATURE_SIZE:
        raise InvalidCertificate(f"signature must be {signing.SIGNATURE_SIZE} bytes")
    return signature


def _count(value: Any, name: str) -> int:
    # bool is an int in Python; true is not a count.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidCertificate(f"{name} must be a whole number, 0 or more")
    return value


def _int_list(value: Any, name: str, *, minimum: int) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise InvalidCertificate(f"{name} must be a list")
    numbers = tuple(_count(item, name) for item in value)
    if any(n < minimum for n in numbers) or list(numbers) != sorted(set(numbers)):
        raise InvalidCertificate(f"{name} must be distinct numbers from {minimum}, ascending")
    return numbers


def _hex_list(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidCertificate(f"{name} must be a list")
    if not all(isinstance(item, str) for item in value) or value != sorted(set(value)):
        raise InvalidCertificate(f"{name} must be distinct hex strings, ascending")
    for item in value:
        _hex(item, name)
    return tuple(value)


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or _HEX_PATTERN.match(value) is None:
        raise InvalidCertificate(f"{name} must be lower-case hex")
    return bytes.fromhex(value)


def _time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _parse_time(value: str, name: str) -> datetime:
    if _TIME_PATTERN.match(value) is None:
        raise InvalidCertificate(f"{name} must be a UTC time like 2026-11-01T09:30:00.000000Z")
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidCertificate(f"{name} is not a valid time") from exc
