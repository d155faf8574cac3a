"""Exports: CloudTrail log files (gzip JSON) and a tenant's events with the chain's proof."""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from strongroom.audit import chain, checkpoints
from strongroom.audit.checkpoints import CheckpointSigner
from strongroom.audit.events import canonical_json
from strongroom.audit.ports import Checkpoint, StoredEvent
from strongroom.audit.verify import ChainSource, verify_region
from strongroom.crypto import signing

PROOF_VERSION = 1
_ATTESTATION_DOMAIN = b"strongroom/audit-export/v1\n"


def write_log_file(path: Path, records: Iterable[bytes]) -> int:
    """Write ``{"Records": [...]}`` gzip-compressed, as CloudTrail delivers log files, from
    the stored record bytes; durable (fsync, then rename) when this returns. Returns the
    number of records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
            zipped.write(b'{"Records":[')
            for record in records:
                if count:
                    zipped.write(b",")
                zipped.write(record)
                count += 1
            zipped.write(b"]}")
        raw.flush()
        os.fsync(raw.fileno())
    partial.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return count


@dataclass(frozen=True, slots=True)
class VerifiedRange:
    """A range of one region's chain that was verified when the export was made."""

    region: str
    from_seq: int
    to_seq: int
    events_checked: int


def tenant_document(
    tenant: str,
    events: Sequence[StoredEvent],
    checkpoint_list: Sequence[Checkpoint],
    verified: Sequence[VerifiedRange],
    public_key_pem: bytes | None,
    signer: CheckpointSigner | None,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """The export of one tenant's events: the CloudTrail log-file shape plus
    ``StrongroomProof``: each event's seq, previous hash and hash (its record re-encoded
    canonically must hash to it), the signed checkpoints enclosing each region's range,
    the public key, and, when the signing key is at hand, an attestation over all of it."""
    proof: dict[str, Any] = {
        "version": PROOF_VERSION,
        "tenant": tenant,
        "startTime": _iso(start),
        "endTime": _iso(end),
        "exportedAt": _iso(now),
        "hash": "sha256(previousHash || record), record = canonical JSON (sorted keys, "
        "no spaces, UTF-8) of the CloudTrail record",
        "events": [
            {
                "awsRegion": e.region,
                "seq": e.seq,
                "eventID": e.event_id,
                "previousHash": e.previous_hash.hex(),
                "hash": e.hash.hex(),
            }
            for e in events
        ],
        "checkpoints": [
            {
                "awsRegion": c.region,
                "seq": c.seq,
                "hash": c.hash.hex(),
                "createdAt": c.created_at.isoformat(),
                "signature": base64.b64encode(c.signature).decode(),
                "statement": base64.b64encode(
                    checkpoints.statement(c.region, c.seq, c.hash, c.created_at)
                ).decode(),
            }
            for c in checkpoint_list
        ],
        "verifiedRanges": [
            {
                "awsRegion": v.region,
                "fromSeq": v.from_seq,
                "toSeq": v.to_seq,
                "eventsChecked": v.events_checked,
            }
            for v in verified
        ],
        "publicKey": None if public_key_pem is None else public_key_pem.decode(),
    }
    if signer is not None:
        proof["attestation"] = base64.b64encode(
            signer.sign(_ATTESTATION_DOMAIN + canonical_json(proof))
        ).decode()
    return {"Records": [json.loads(e.record) for e in events], "StrongroomProof": proof}


def check_document(document: dict[str, Any], public_key_pem: bytes | None = None) -> list[str]:
    """What a third party checks in a tenant export; the problems found (empty: it holds).
    ``public_key_pem``: the deployment key as the checker knows it (else the document's)."""
    problems: list[str] = []
    proof = document.get("StrongroomProof") or {}
    key = public_key_pem or (proof.get("publicKey") or "").encode() or None
    records = document.get("Records") or []
    entries = proof.get("events") or []
    if len(records) != len(entries):
        return ["the proof does not list one entry per record"]
    for record, entry in zip(records, entries, strict=True):
        if record.get("eventID") != entry.get("eventID"):
            problems.append(f"seq {entry.get('seq')}: the record is not the event listed")
        elif not chain.links(
            bytes.fromhex(entry["previousHash"]),
            canonical_json(record),
            bytes.fromhex(entry["hash"]),
        ):
            problems.append(f"seq {entry['seq']}: the record does not hash to its chain hash")
    if key is None:
        return [*problems, "no public key to check the signatures with"]
    for item in proof.get("checkpoints") or []:
        checkpoint = Checkpoint(
            item["awsRegion"],
            int(item["seq"]),
            bytes.fromhex(item["hash"]),
            datetime.fromisoformat(item["createdAt"]),
            base64.b64decode(item["signature"]),
        )
        if not checkpoints.is_signed(checkpoint, key):
            problems.append(f"checkpoint {checkpoint.region}/{checkpoint.seq}: bad signature")
    attestation = proof.get("attestation")
    if attestation is not None:
        body = {k: v for k, v in proof.items() if k != "attestation"}
        if not signing.verify(
            key, _ATTESTATION_DOMAIN + canonical_json(body), base64.b64decode(attestation)
        ):
            problems.append("the export's attestation signature is not valid")
    return problems


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ExportRefused(Exception):
    """The chain around the tenant's events does not verify, so nothing is exported."""


class ExportSource(ChainSource, Protocol):
    """What a tenant export reads (and checkpoints) in the audit store."""

    @property
    def signer(self) -> CheckpointSigner | None: ...

    def tenant_events(
        self, tenant: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredEvent]: ...

    def checkpoint(self, region: str) -> Checkpoint | None: ...


def export_tenant(
    store: ExportSource,
    tenant: str,
    public_key_pem: bytes | None,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> tuple[dict[str, Any], int]:
    """A tenant's events with the chain's proof (``tenant_document``), after checkpointing
    each region's head and verifying the range; returns the document and the event count."""
    signer = store.signer
    events = store.tenant_events(tenant, start, end)
    enclosing: list[Checkpoint] = []
    verified = []
    for region in sorted({e.region for e in events}):
        seqs = [e.seq for e in events if e.region == region]
        if signer is not None:
            store.checkpoint(region)  # so the newest events are enclosed too
        listed = store.checkpoints(region)
        before = [c for c in listed if c.seq < min(seqs)]
        after = [c for c in listed if c.seq >= max(seqs)]
        enclosing += before[-1:] + after[:1]
        to_seq = after[0].seq if after else max(seqs)
        result = verify_region(
            store, region, from_seq=min(seqs), to_seq=to_seq, public_key_pem=public_key_pem
        )
        if not result.ok:
            raise ExportRefused(f"the chain fails to verify: {result.message}")
        verified.append(VerifiedRange(region, min(seqs), to_seq, result.events_checked))
    document = tenant_document(
        tenant,
        events,
        enclosing,
        verified,
        public_key_pem,
        signer,
        start=start,
        end=end,
        now=now,
    )
    return document, len(events)


def write_tenant_export(path: Path, document: dict[str, Any]) -> None:
    """Write an export durably (fsynced) and readable only by its owner."""
    data = (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
