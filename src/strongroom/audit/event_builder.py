"""CloudTrail events from calls: who called, what they asked (redacted by the model), how it ended.

Redaction is generic and decided once per operation: a plan walks botocore's model of the
operation's input (and, for mutations, output) and keeps only members that are neither
``sensitive`` in the model, nor blobs (ciphertexts, public keys, import tokens: AWS does not
log them), nor on a short list of secret members the models leave unmarked (STS's
SessionToken). Everything a plan does not know is dropped, so a member added to a model
later is left out rather than leaked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel, Shape

from strongroom.audit.events import AuditEvent, AuditResource, UserIdentity
from strongroom.audit.random_ids import time_ordered_uuid
from strongroom.client import service_model
from strongroom.context import ASSUMED_ROLE, IAM_USER, ROOT, Principal

UNKNOWN = "Unknown"
# Read-only on CloudTrail beyond the Get/Describe/List... prefixes: KMS's cryptographic
# operations, which change nothing.
READ_ONLY_PREFIXES = (
    "Get",
    "Describe",
    "List",
    "BatchGet",
    "Lookup",
    "Simulate",
    "Validate",
    "Decode",
)
READ_ONLY_OPERATIONS = frozenset(
    {
        "GetCallerIdentity",
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
        "GetPublicKey",
    }
)
# Secret members the models do not mark sensitive (compared by normalised name).
SECRET_MEMBERS = frozenset(
    {
        "sessiontoken",
        "secretaccesskey",
        "password",
        "newpassword",
        "oldpassword",
        "privatekey",
        "privatekeyplaintext",
        "plaintext",
        "secretstring",
        "secretbinary",
        "sharedsecret",
        "randompassword",
    }
)


def is_read_only(operation: str) -> bool:
    return operation in READ_ONLY_OPERATIONS or operation.startswith(READ_ONLY_PREFIXES)


def event_source(service: str) -> str:
    """CloudTrail's eventSource for a SigV4 signing name: ``kms`` → ``kms.amazonaws.com``."""
    return f"{service}.amazonaws.com"


def lower_camel(name: str) -> str:
    """CloudTrail's spelling of a member: only the first letter is lowered (``sAMLProviderArn``)."""
    return name[:1].lower() + name[1:]


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def clean_text(value: str) -> str:
    """``value`` as valid Unicode: JSON lets a request carry lone surrogates ("\\ud800"),
    which no UTF-8 record can hold; each becomes "?" so the event can always be written."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


# -- redaction plans -----------------------------------------------------------------------


class _Node:
    """How one value of a shape is carried into an event."""

    __slots__ = ()

    def apply(self, value: Any) -> Any:
        return value


class _Leaf(_Node):
    __slots__ = ()

    def apply(self, value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        # A scalar member only ever logs a scalar: what a malformed request put there in
        # its place (an object, a list) is not logged.
        return value if isinstance(value, int | float | bool) else None


class _Timestamp(_Node):
    __slots__ = ()

    def apply(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, str):
            return clean_text(value)
        return value if isinstance(value, int | float) else None


class _Structure(_Node):
    __slots__ = ("members",)

    def __init__(self) -> None:
        # Member name as sent and its normalised form → (CloudTrail name, node).
        self.members: dict[str, tuple[str, _Node]] = {}

    def apply(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return None
        members = self.members
        out: dict[str, Any] = {}
        for key, item in value.items():
            entry = members.get(key)
            if entry is None:
                entry = members.get(_normal(key))
                if entry is None:
                    continue  # not a member the plan keeps
            if item is not None:
                applied = entry[1].apply(item)
                if applied is not None:
                    out[entry[0]] = applied
        return out


class _List(_Node):
    __slots__ = ("item",)

    def __init__(self, item: _Node) -> None:
        self.item = item

    def apply(self, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return None
        return [self.item.apply(v) for v in value]


class _Map(_Node):
    __slots__ = ("value",)

    def __init__(self, value: _Node) -> None:
        self.value = value

    def apply(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return None
        # Map keys are data (encryption-context keys, tag keys): kept as given.
        return {clean_text(str(k)): self.value.apply(v) for k, v in value.items()}


_LEAF = _Leaf()
_TIMESTAMP = _Timestamp()


def _hidden(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive")) or shape.type_name == "blob"


def _node(shape: Shape, memo: dict[str, _Node]) -> _Node | None:
    """The plan for a shape, or None if no part of it may be logged."""
    if _hidden(shape):
        return None
    kind = shape.type_name
    if kind == "structure":
        known = memo.get(shape.name)
        if known is not None:
            return known
        structure = _Structure()
        memo[shape.name] = structure  # before the members: shapes may be recursive
        for name, member in shape.members.items():
            if _normal(name) in SECRET_MEMBERS:
                continue
            child = _node(member, memo)
            if child is not None:
                entry = (lower_camel(name), child)
                structure.members[name] = entry
                structure.members.setdefault(_normal(name), entry)
        return structure
    if kind == "list":
        item = _node(shape.member, memo)
        return None if item is None else _List(item)
    if kind == "map":
        value = _node(shape.value, memo)
        return None if value is None or _hidden(shape.key) else _Map(value)
    if kind == "timestamp":
        return _TIMESTAMP
    return _LEAF


def _redactor(shape: Shape | None) -> _Node | None:
    return None if shape is None else _node(shape, {})


@dataclass(frozen=True, slots=True)
class OperationPlan:
    """Everything about an operation's events that does not depend on the call."""

    service: str
    event_source: str
    event_name: str
    read_only: bool
    request: _Node | None
    # Mutations only; CloudTrail leaves responseElements null for reads.
    response: _Node | None

    def request_parameters(self, document: Any) -> dict[str, Any] | None:
        if self.request is None or document is None:
            return None
        return self.request.apply(document) or None

    def response_elements(self, document: Any) -> dict[str, Any] | None:
        if self.response is None or document is None:
            return None
        return self.response.apply(document) or None


# -- identities ----------------------------------------------------------------------------


def user_identity(
    principal: Principal | None, account_id: str, access_key_id: str | None = None
) -> UserIdentity:
    """CloudTrail's userIdentity for an authenticated principal, or ``Unknown`` (with the
    access key id the request named, if any) for a caller that was not authenticated."""
    if principal is None:
        return UserIdentity(type=UNKNOWN, access_key_id=access_key_id or None)
    if principal.kind == ROOT:
        return UserIdentity(
            type=ROOT,
            principal_id=principal.principal_id,
            arn=principal.arn,
            account_id=account_id,
            access_key_id=principal.access_key_id,
        )
    if principal.kind == IAM_USER:
        return UserIdentity(
            type=IAM_USER,
            principal_id=principal.principal_id,
            arn=principal.arn,
            account_id=account_id,
            access_key_id=principal.access_key_id,
            user_name=principal.name or principal.arn.rsplit("/", 1)[-1],
        )
    session = principal.session
    if principal.kind == ASSUMED_ROLE and session is not None:
        return UserIdentity(
            type=ASSUMED_ROLE,
            principal_id=principal.principal_id,
            arn=principal.arn,
            account_id=account_id,
            access_key_id=principal.access_key_id,
            session_issuer_arn=session.role_arn,
            session_issuer_name=session.role_name,
            session_created=session.issued_at,
            session_tags=session.tags,
            source_identity=session.source_identity,
        )
    return UserIdentity(
        type=principal.kind,
        principal_id=principal.principal_id,
        arn=principal.arn,
        account_id=account_id,
        access_key_id=principal.access_key_id,
    )


# -- the builder ---------------------------------------------------------------------------


class EventBuilder:
    """Makes AuditEvents; plans are built once per operation and shared by every call."""

    def __init__(
        self,
        account_id: str,
        *,
        models: Callable[[str], ServiceModel | None] | None = None,
        new_id: Callable[[], str] = time_ordered_uuid,
    ) -> None:
        self._account_id = account_id
        self._load_model = models or _botocore_model
        self._new_id = new_id
        self._models: dict[str, ServiceModel | None] = {}
        self._plans: dict[tuple[str, str], OperationPlan] = {}
        self._lock = threading.Lock()

    @property
    def account_id(self) -> str:
        return self._account_id

    def warm(self, operations: Iterable[tuple[str, str]]) -> None:
        """Build the plans of (service, operation) pairs now rather than on first use."""
        for service, operation in operations:
            self.plan(service, operation)

    def plan(self, service: str, operation: str) -> OperationPlan:
        """The plan of ``operation`` of the service signed as ``service``. An operation the
        model does not know (or a service without a model) logs no parameters."""
        key = (service, operation)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._make_plan(service, operation)
                self._plans[key] = plan
        return plan

    def _make_plan(self, service: str, operation: str) -> OperationPlan:
        read_only = is_read_only(operation)
        if service not in self._models:
            self._models[service] = self._load_model(service)
        model = self._models[service]
        request: _Node | None = None
        response: _Node | None = None
        if model is not None and operation in model.operation_names:
            operation_model = model.operation_model(operation)
            request = _redactor(operation_model.input_shape)
            if not read_only:
                response = _redactor(operation_model.output_shape)
        return OperationPlan(
            service=service,
            event_source=event_source(service),
            event_name=operation,
            read_only=read_only,
            request=request,
            response=response,
        )

    def identity(
        self, principal: Principal | None, access_key_id: str | None = None
    ) -> UserIdentity:
        return user_identity(principal, self._account_id, access_key_id)

    def event(
        self,
        plan: OperationPlan,
        *,
        event_time: datetime,
        region: str,
        source_ip: str,
        user_agent: str,
        request_id: str,
        identity: UserIdentity,
        request: Any = None,
        response: Any = None,
        error_code: str | None = None,
        error_message: str | None = None,
        resources: Iterable[AuditResource] = (),
        tenant: str | None = None,
    ) -> AuditEvent:
        """One event; ``request``/``response`` are the documents as decoded and answered,
        redacted here by the plan (a response is kept only for a successful mutation)."""
        return AuditEvent(
            event_id=self._new_id(),
            event_time=event_time,
            event_source=plan.event_source,
            event_name=plan.event_name,
            aws_region=region,
            source_ip=source_ip,
            user_agent=user_agent,
            request_id=request_id,
            read_only=plan.read_only,
            user_identity=identity,
            request_parameters=plan.request_parameters(request),
            response_elements=None if error_code is not None else plan.response_elements(response),
            error_code=error_code,
            error_message=None if error_message is None else clean_text(error_message),
            resources=tuple(resources),
            tenant=tenant,
            recipient_account_id=self._account_id,
        )


def _botocore_model(service: str) -> ServiceModel | None:
    try:
        return _session().get_service_model(service)
    except UnknownServiceError:
        return None


_SESSION: list[Any] = []


def _session() -> Any:
    if not _SESSION:
        session = botocore.session.get_session()
        service_model.register(session)  # the admin API's model ships with the package
        _SESSION.append(session)
    return _SESSION[0]
