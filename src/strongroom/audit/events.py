"""The audit event: what one call did, in CloudTrail's shape, never with secret material."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

EVENT_VERSION = "1.08"
API_CALL = "AwsApiCall"
ALARM = "StrongroomAlarm"

_NO_TAGS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AuditResource:
    """A resource the call touched, as CloudTrail lists it."""

    arn: str
    type: str  # "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::IAM::Role", ...
    tenant: str | None = None
    # The name the caller used (a secret name, an alias), also searchable by ResourceName.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """CloudTrail's userIdentity: Root, IAMUser, AssumedRole, or Unknown (not authenticated)."""

    type: str
    principal_id: str | None = None
    arn: str | None = None
    account_id: str | None = None
    access_key_id: str | None = None
    user_name: str | None = None
    # AssumedRole sessions: the role, when the session began, its tags and source identity.
    session_issuer_arn: str | None = None
    session_issuer_name: str | None = None
    session_created: datetime | None = None
    session_tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)
    source_identity: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event. ``request_parameters`` and ``response_elements`` are already redacted:
    every member the service model marks sensitive is gone before an event is built."""

    event_id: str
    event_time: datetime
    event_source: str  # "secretsmanager.amazonaws.com", "kms.amazonaws.com", ...
    event_name: str
    aws_region: str
    source_ip: str
    user_agent: str
    request_id: str
    read_only: bool
    user_identity: UserIdentity
    request_parameters: Mapping[str, Any] | None = None
    response_elements: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    resources: tuple[AuditResource, ...] = ()
    tenant: str | None = None
    recipient_account_id: str = ""
    event_type: str = API_CALL

    def to_cloudtrail(self) -> dict[str, Any]:
        """The event as a CloudTrail record (plus Strongroom's ``tenant``, and
        ``resourceNames`` when the caller named a resource other than by its ARN)."""
        identity = self.user_identity
        user: dict[str, Any] = {"type": identity.type}
        for key, value in (
            ("principalId", identity.principal_id),
            ("arn", identity.arn),
            ("accountId", identity.account_id),
            ("accessKeyId", identity.access_key_id),
            ("userName", identity.user_name),
        ):
            if value is not None:
                user[key] = value
        if identity.session_issuer_arn is not None:
            session: dict[str, Any] = {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": identity.session_issuer_arn,
                    "accountId": identity.account_id,
                    "userName": identity.session_issuer_name,
                },
                "attributes": {
                    "creationDate": _iso(identity.session_created),
                    "mfaAuthenticated": "false",
                },
            }
            if identity.session_tags:
                session["sessionTags"] = dict(identity.session_tags)
            if identity.source_identity is not None:
                session["sourceIdentity"] = identity.source_identity
            user["sessionContext"] = session
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": user,
            "eventTime": _iso(self.event_time),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.aws_region,
            "sourceIPAddress": self.source_ip,
            "userAgent": self.user_agent,
            "requestParameters": _plain(self.request_parameters),
            "responseElements": _plain(self.response_elements),
            "requestID": self.request_id,
            "eventID": self.event_id,
            "readOnly": self.read_only,
            "resources": [
                {"accountId": self.recipient_account_id, "type": r.type, "ARN": r.arn}
                for r in self.resources
            ],
            "eventType": self.event_type,
            "managementEvent": True,
            "recipientAccountId": self.recipient_account_id,
            "eventCategory": "Management",
            "tenant": self.tenant,
        }
        # The names the caller used (ARN → name; the first, as the call journal keeps),
        # which LookupEvents' ResourceName also finds: in the record, so the chain covers
        # those lookup rows too.
        names: dict[str, str] = {}
        for resource in self.resources:
            if resource.name is not None:
                names.setdefault(resource.arn, resource.name)
        if names:
            record["resourceNames"] = names
        if self.error_code is not None:
            record["errorCode"] = self.error_code
            record["errorMessage"] = self.error_message or ""
        return record

    def canonical_bytes(self) -> bytes:
        """The exact bytes the hash chain covers: sorted keys, no spaces, UTF-8."""
        return canonical_json(self.to_cloudtrail())


def canonical_json(record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else json.loads(json.dumps(value, default=str))
