"""An audit event as JSON between this server and its audit appender process, and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity

# Positions in the list ``to_wire`` makes; ``from_wire`` refuses any other length.
_EVENT_FIELDS = 18
_IDENTITY_FIELDS = 11


class MalformedWireEvent(ValueError):
    """The list is not an event as ``to_wire`` writes one."""


def to_wire(event: AuditEvent) -> list[Any]:
    """The event as a list to encode with ``json.dumps(..., default=str)``. Request
    parameters and response elements go as they are: that encoding is what
    ``to_cloudtrail`` does to them, so the record built on the other side is the same."""
    identity = event.user_identity
    return [
        event.event_id,
        event.event_time.isoformat(),
        event.event_source,
        event.event_name,
        event.aws_region,
        event.source_ip,
        event.user_agent,
        event.request_id,
        event.read_only,
        [
            identity.type,
            identity.principal_id,
            identity.arn,
            identity.account_id,
            identity.access_key_id,
            identity.user_name,
            identity.session_issuer_arn,
            identity.session_issuer_name,
            None if identity.session_created is None else identity.session_created.isoformat(),
            dict(identity.session_tags),
            identity.source_identity,
        ],
        event.request_parameters,
        event.response_elements,
        event.error_code,
        event.error_message,
        [[r.arn, r.type, r.tenant, r.name] for r in event.resources],
        event.tenant,
        event.recipient_account_id,
        event.event_type,
    ]


def from_wire(wire: Any) -> AuditEvent:
    """The event ``to_wire`` described; MalformedWireEvent if ``wire`` is not one."""
    try:
        if not isinstance(wire, list) or len(wire) != _EVENT_FIELDS:
            raise MalformedWireEvent("not an event")
        identity = wire[9]
        if not isinstance(identity, list) or len(identity) != _IDENTITY_FIELDS:
            raise MalformedWireEvent("not a user identity")
        return AuditEvent(
            event_id=wire[0],
            event_time=datetime.fromisoformat(wire[1]),
            event_source=wire[2],
            event_name=wire[3],
            aws_region=wire[4],
            source_ip=wire[5],
            user_agent=wire[6],
            request_id=wire[7],
            read_only=bool(wire[8]),
            user_identity=UserIdentity(
                type=identity[0],
                principal_id=identity[1],
                arn=identity[2],
                account_id=identity[3],
                access_key_id=identity[4],
                user_name=identity[5],
                session_issuer_arn=identity[6],
                session_issuer_name=identity[7],
                session_created=(
                    None if identity[8] is None else datetime.fromisoformat(identity[8])
                ),
                session_tags=dict(identity[9]),
                source_identity=identity[10],
            ),
            request_parameters=wire[10],
            response_elements=wire[11],
            error_code=wire[12],
            error_message=wire[13],
            resources=tuple(
                AuditResource(arn=arn, type=kind, tenant=tenant, name=name)
                for arn, kind, tenant, name in wire[14]
            ),
            tenant=wire[15],
            recipient_account_id=wire[16],
            event_type=wire[17],
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise MalformedWireEvent(f"not an event ({type(exc).__name__})") from exc
