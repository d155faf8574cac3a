"""Dispatch: which service method answers which AWS operation (by X-Amz-Target, or by
the query protocol's credential-scope service and Action), and how."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import ServiceModel

from strongroom.audit import journal as audit_journal
from strongroom.audit import lookup_shapes as cloudtrail
from strongroom.audit.lookup import LookupEvents
from strongroom.client import service_model
from strongroom.context import CallContext
from strongroom.errors import (
    AccessDeniedException,
    InvalidAction,
    MissingAction,
    UnknownOperationException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import shapes as kms
from strongroom.secretsmanager import shapes as sm
from strongroom.secretsmanager.service import SecretsManagerService
from strongroom.server import aws_json, aws_query, wire_mapping
from strongroom.tenancy import shapes as admin

Handler = Callable[[CallContext, bytes], bytes]
QueryHandler = Callable[[CallContext, Mapping[str, str]], bytes]
"""(context, the decoded form parameters) → the XML response body."""

# Operation → request type. Operations absent here are answered with
# UnknownOperationException until the issue that builds them lands.
SECRETS_MANAGER_OPERATIONS: Mapping[str, type[Any]] = {
    "CreateSecret": sm.CreateSecretRequest,
    "GetSecretValue": sm.GetSecretValueRequest,
    "BatchGetSecretValue": sm.BatchGetSecretValueRequest,
    "PutSecretValue": sm.PutSecretValueRequest,
    "UpdateSecret": sm.UpdateSecretRequest,
    "UpdateSecretVersionStage": sm.UpdateSecretVersionStageRequest,
    "DescribeSecret": sm.SecretIdRequest,
    "ListSecrets": sm.ListSecretsRequest,
    "ListSecretVersionIds": sm.ListSecretVersionIdsRequest,
    "DeleteSecret": sm.DeleteSecretRequest,
    "RestoreSecret": sm.SecretIdRequest,
    "TagResource": sm.TagResourceRequest,
    "UntagResource": sm.UntagResourceRequest,
    "GetRandomPassword": sm.GetRandomPasswordRequest,
    "PutResourcePolicy": sm.PutResourcePolicyRequest,
    "GetResourcePolicy": sm.ResourcePolicyRequest,
    "DeleteResourcePolicy": sm.ResourcePolicyRequest,
    "ValidateResourcePolicy": sm.ValidateResourcePolicyRequest,
    "ListResourcePolicies": sm.ListResourcePoliciesRequest,
}
SECRETS_MANAGER_POINT_READS = frozenset(
    {"GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "GetRandomPassword"}
)

KMS_OPERATIONS: Mapping[str, type[Any]] = {
    name: getattr(kms, f"{name}Request")
    for name in (
        "CreateKey",
        "DescribeKey",
        "ListKeys",
        "EnableKey",
        "DisableKey",
        "UpdateKeyDescription",
        "GetKeyLastUsage",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "ListAliases",
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
        "GetPublicKey",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "GetKeyRotationStatus",
        "RotateKeyOnDemand",
        "ListKeyRotations",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "GetParametersForImport",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "TagResource",
        "UntagResource",
        "ListResourceTags",
        "PutKeyPolicy",
        "GetKeyPolicy",
        "ListKeyPolicies",
        "CreateGrant",
        "ListGrants",
        "ListRetirableGrants",
        "RetireGrant",
        "RevokeGrant",
    )
}
# Symmetric crypto and metadata reads: no scan, no fsync (except a budget reservation now
# and then), so on SQLite they run on the event loop. Asymmetric crypto (slow RSA private
# key operations) and every write go to the worker pool.
KMS_POINT_READS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
        "DescribeKey",
    }
)
# KMS operations outside this server's scope (custom key stores, multi-Region keys, key
# encapsulation), answered with UnsupportedOperationException rather than "unknown".
KMS_UNSUPPORTED_OPERATIONS = frozenset(
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


@dataclass(frozen=True, slots=True)
class Operation:
    """One dispatchable operation."""

    service: str  # the SigV4 signing name the credential scope must carry
    name: str
    internal_error_code: str
    handler: Handler
    # A bounded read by key (no scan, no fsync except a once-a-day access stamp).
    point_read: bool = False


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    prefix: str
    signing_name: str
    internal_error_code: str
    known_operations: frozenset[str]


_ACTION_NAME = re.compile(r"[A-Za-z0-9]{1,128}")  # what may be echoed in an error
_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class QueryService:
    """One AWS query-protocol service (IAM, STS), chosen by the credential scope's service."""

    signing_name: str
    api_version: str
    namespace: str
    internal_error_code: str
    known_operations: frozenset[str]
    operations: Mapping[str, QueryHandler]
    # A global service (IAM) accepts any region in the credential scope.
    global_service: bool = False

    def handle(self, ctx: CallContext, body: bytes) -> bytes:
        """Parse the form, pick the operation by Action and Version, answer it."""
        params = aws_query.parse_form(body)
        action = params.get("Action")
        if not action:
            raise MissingAction("The request must contain the parameter Action.")
        version = params.get("Version")
        handler = self.operations.get(action)
        if handler is None or version != self.api_version:
            if not _ACTION_NAME.fullmatch(action):
                raise InvalidAction("The action is not valid for this web service.")
            if handler is None and action in self.known_operations:
                raise InvalidAction(f"The operation {action} is not supported by this server yet.")
            if version is None:
                version = "NO_VERSION_SPECIFIED"
            elif not _VERSION.fullmatch(version):
                version = "(not a version)"
            raise InvalidAction(f"Could not find operation {action} for version {version}")
        return handler(ctx, params)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Dispatcher:
    """Finds the operation for an ``X-Amz-Target`` value."""

    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}
        self._targets: dict[str, ServiceTarget] = {}
        self._query_services: dict[str, QueryService] = {}

    def register_query(self, service: QueryService) -> None:
        self._query_services[service.signing_name] = service

    def query_service(self, signing_name: str) -> QueryService | None:
        """The query service a credential scope's service names, if one is registered."""
        return self._query_services.get(signing_name)

    @property
    def default_query_service(self) -> QueryService | None:
        """The query service named first in sorting order (None: no query protocol served);
        its namespace answers errors raised before the request's own service is known."""
        return self._query_services[min(self._query_services)] if self._query_services else None

    def register_service(self, target: ServiceTarget) -> None:
        self._targets[target.prefix] = target

    def register(self, target_prefix: str, operation: Operation) -> None:
        self._operations[f"{target_prefix}.{operation.name}"] = operation

    def operations(self) -> list[tuple[str, str]]:
        """Every served (signing name, operation name), JSON and query protocol, sorted."""
        served = {(op.service, op.name) for op in self._operations.values()}
        for query in self._query_services.values():
            served.update((query.signing_name, name) for name in query.operations)
        return sorted(served)

    def signing_name_for(self, target: str) -> str | None:
        prefix = target.rpartition(".")[0]
        known = self._targets.get(prefix)
        return None if known is None else known.signing_name

    def internal_error_code_for(self, target: str) -> str:
        known = self._targets.get(target.rpartition(".")[0])
        return "InternalFailure" if known is None else known.internal_error_code

    def find(self, target: str) -> Operation:
        operation = self._operations.get(target)
        if operation is None:
            prefix, _, name = target.rpartition(".")
            known = self._targets.get(prefix)
            if known is not None and name in known.known_operations:
                raise UnknownOperationException(
                    f"The operation {name} is not supported by this server yet."
                )
            raise UnknownOperationException("The requested operation is not recognized.")
        return operation


def _json_handler(
    method: Callable[[CallContext, Any], Any],
    request_type: type[Any],
    decoder: aws_json.OperationDecoder,
    names: Mapping[str, str],
) -> Handler:
    def handle(ctx: CallContext, body: bytes) -> bytes:
        parsed = aws_json.parse_json_body(body)
        # The audit event's requestParameters come from it (redacted by the model), even
        # when validation refuses it.
        journal = audit_journal.current()
        if journal is not None:
            journal.request = parsed
        request = wire_mapping.from_wire(request_type, decoder.decode(parsed))
        result = method(ctx, request)
        if result is None:  # operations with no output shape answer an empty object
            return b"{}"
        document = wire_mapping.to_wire(result, names)
        if journal is not None:
            journal.response = document
        return aws_json.encode_response(document)

    return handle


def _register_json_service(
    dispatcher: Dispatcher,
    service_name: str,
    owners: Sequence[object],
    operations: Mapping[str, type[Any]],
    point_reads: frozenset[str],
    internal_error_code: str,
    model: ServiceModel | None = None,
) -> None:
    """Register each operation with the method of the same (snake_case) name on one of
    ``owners``; every owner method must belong to exactly one operation's owner. ``model``
    replaces botocore's model of ``service_name`` (to validate less of it here)."""
    if model is None:
        model = botocore.session.get_session().get_service_model(service_name)
    decoders = aws_json.compile_service(model)
    names = wire_mapping.member_names(model)
    prefix = model.metadata["targetPrefix"]
    signing_name = model.metadata.get("signingName", model.endpoint_prefix)
    dispatcher.register_service(
        ServiceTarget(
            prefix=prefix,
            signing_name=signing_name,
            internal_error_code=internal_error_code,
            known_operations=frozenset(model.operation_names),
        )
    )
    for name, request_type in operations.items():
        found = [getattr(o, _snake(name)) for o in owners if hasattr(o, _snake(name))]
        if len(found) != 1:
            raise LookupError(f"{name}: {len(found)} methods named {_snake(name)}")
        dispatcher.register(
            prefix,
            Operation(
                service=signing_name,
                name=name,
                internal_error_code=internal_error_code,
                handler=_json_handler(found[0], request_type, decoders[name], names),
                point_read=name in point_reads,
            ),
        )


def _query_handler(
    method: Callable[[CallContext, Any], Any],
    request_type: type[Any],
    codec: aws_query.QueryCodec,
    name: str,
    names: Mapping[str, str],
) -> QueryHandler:
    def handle(ctx: CallContext, params: Mapping[str, str]) -> bytes:
        journal = audit_journal.current()
        if journal is not None:
            journal.request = params  # flat until decoded; redacted by the model either way
        decoded = codec.decode(name, params)
        if journal is not None:
            journal.request = decoded
        result = method(ctx, wire_mapping.from_wire(request_type, decoded))
        document = None if result is None else wire_mapping.to_wire(result, names)
        if journal is not None:
            journal.response = document
        return codec.encode_response(name, document, ctx.request_id)

    return handle


def register_query_service(
    dispatcher: Dispatcher,
    service_name: str,
    owners: Sequence[object],
    operations: Mapping[str, type[Any]],
) -> None:
    """Register an AWS query-protocol service (``iam``, ``sts``): each operation answered by
    the method of the same (snake_case) name on exactly one of ``owners``, called with the
    request dataclass built from the validated form; its result dataclass becomes the XML
    response. Query operations always run in the worker pool (never point reads)."""
    model = botocore.session.get_session().get_service_model(service_name)
    codec = aws_query.QueryCodec(model)
    names = aws_query.member_names(model)
    handlers: dict[str, QueryHandler] = {}
    for name, request_type in operations.items():
        if name not in codec.operation_names:
            raise LookupError(f"{service_name} has no operation {name}")
        found = [getattr(o, _snake(name)) for o in owners if hasattr(o, _snake(name))]
        if len(found) != 1:
            raise LookupError(f"{name}: {len(found)} methods named {_snake(name)}")
        handlers[name] = _query_handler(found[0], request_type, codec, name, names)
    # IAM models its 500 (ServiceFailure); STS does not, and answers InternalFailure.
    codes = {shape.error_code for shape in model.error_shapes}
    internal = "ServiceFailure" if "ServiceFailure" in codes else "InternalFailure"
    dispatcher.register_query(
        QueryService(
            signing_name=model.metadata.get("signingName", model.endpoint_prefix),
            api_version=codec.api_version,
            namespace=codec.namespace,
            internal_error_code=internal,
            known_operations=codec.operation_names,
            operations=handlers,
            global_service=service_name == "iam",
        )
    )


def register_secrets_manager(dispatcher: Dispatcher, service: SecretsManagerService) -> None:
    _register_json_service(
        dispatcher,
        "secretsmanager",
        [service],
        SECRETS_MANAGER_OPERATIONS,
        SECRETS_MANAGER_POINT_READS,
        "InternalServiceError",
    )


def register_kms(dispatcher: Dispatcher, owners: Sequence[object]) -> None:
    """KMS: each operation answered by the one object in ``owners`` with its method."""
    _register_json_service(
        dispatcher, "kms", owners, KMS_OPERATIONS, KMS_POINT_READS, "KMSInternalException"
    )
    model = botocore.session.get_session().get_service_model("kms")
    prefix = model.metadata["targetPrefix"]

    def unsupported(ctx: CallContext, body: bytes) -> bytes:
        raise UnsupportedOperationException(
            "Custom key stores, multi-Region keys and key encapsulation are not supported "
            "by this server."
        )

    for name in KMS_UNSUPPORTED_OPERATIONS:
        dispatcher.register(
            prefix,
            Operation(
                service="kms",
                name=name,
                internal_error_code="KMSInternalException",
                handler=unsupported,
            ),
        )


CLOUDTRAIL_OPERATIONS: Mapping[str, type[Any]] = {
    "LookupEvents": cloudtrail.LookupEventsRequest,
}
# Constraints LookupEvents checks itself, answering CloudTrail's own errors
# (InvalidMaxResultsException, InvalidLookupAttributesException,
# InvalidEventCategoryException) where model validation would say ValidationException.
_CLOUDTRAIL_SELF_CHECKED = {
    "MaxResults": ("min", "max"),
    "LookupAttributeKey": ("enum",),
    "LookupAttributeValue": ("min", "max"),
    "EventCategory": ("enum",),
}


def cloudtrail_model() -> ServiceModel:
    """botocore's CloudTrail model without the constraints LookupEvents checks itself."""
    loader = botocore.session.get_session().get_component("data_loader")
    document = loader.load_service_model("cloudtrail", "service-2")
    shapes = dict(document["shapes"])
    for name, constraints in _CLOUDTRAIL_SELF_CHECKED.items():
        shapes[name] = {k: v for k, v in shapes[name].items() if k not in constraints}
    return ServiceModel({**document, "shapes": shapes}, service_name="cloudtrail")


def register_cloudtrail(dispatcher: Dispatcher, lookup: LookupEvents) -> None:
    """CloudTrail: LookupEvents; its other operations are known but not served."""
    _register_json_service(
        dispatcher,
        "cloudtrail",
        [lookup],
        CLOUDTRAIL_OPERATIONS,
        frozenset(),
        "InternalFailure",
        model=cloudtrail_model(),
    )


DEV_TARGET_PREFIX = "Strongroom_20261101"
DEV_SIGNING_NAME = "strongroom"
MAX_DEV_CLOCK_ADVANCE_SECONDS = 10 * 366 * 86_400

# The admin API (tenants, shares, usage, certificates), answered by the tenancy services.
STRONGROOM_OPERATIONS: Mapping[str, type[Any]] = {
    "CreateTenant": admin.CreateTenantRequest,
    "DescribeTenant": admin.TenantIdRequest,
    "ListTenants": admin.ListTenantsRequest,
    "UpdateTenant": admin.UpdateTenantRequest,
    "SuspendTenant": admin.TenantIdRequest,
    "ResumeTenant": admin.TenantIdRequest,
    "OffboardTenant": admin.OffboardTenantRequest,
    "RestoreTenant": admin.TenantIdRequest,
    "CreateSharedKey": admin.CreateSharedKeyRequest,
    "ShareSecrets": admin.ShareSecretsRequest,
    "UnshareSecrets": admin.UnshareSecretsRequest,
    "ListShares": admin.ListSharesRequest,
    "GetTenantUsage": admin.GetTenantUsageRequest,
    "GetDestructionCertificate": admin.TenantIdRequest,
    "GetDeploymentPublicKey": admin.NoParametersRequest,
}
DEV_TOOL_OPERATIONS: Mapping[str, type[Any]] = {
    "ResetDevState": admin.NoParametersRequest,
    "AdvanceClock": admin.AdvanceClockRequest,
}


def strongroom_model() -> ServiceModel:
    """The admin API's model, shipped in the package (the one boto3 loads once registered)."""
    document = json.loads(service_model.MODEL_PATH.read_text(encoding="utf-8"))
    return ServiceModel(document, service_name=service_model.SERVICE_NAME)


class DevTools:
    """Dev-server operations, registered in dev mode only and only for root:
    ResetDevState wipes all state; AdvanceClock {"Seconds": n} moves the services' clock
    forward and runs the scheduled jobs (deletion windows, rotations) at once."""

    def __init__(self, reset: Callable[[], None], advance_clock: Callable[[float], None]) -> None:
        self._reset = reset
        self._advance_clock = advance_clock

    @staticmethod
    def _require_root(ctx: CallContext) -> None:
        if ctx.principal.kind != "Root":
            raise AccessDeniedException("Only the account root may use dev server tools.")

    def reset_dev_state(self, ctx: CallContext, request: admin.NoParametersRequest) -> None:
        self._require_root(ctx)
        self._reset()

    def advance_clock(self, ctx: CallContext, request: admin.AdvanceClockRequest) -> None:
        self._require_root(ctx)
        if not 0 <= request.seconds <= MAX_DEV_CLOCK_ADVANCE_SECONDS:
            raise ValidationException(
                f"Seconds must be a number from 0 to {MAX_DEV_CLOCK_ADVANCE_SECONDS}."
            )
        self._advance_clock(float(request.seconds))


def register_strongroom(
    dispatcher: Dispatcher, owners: Sequence[object], dev_tools: DevTools | None = None
) -> None:
    """The admin API: each operation answered by the one object in ``owners`` with its
    method; the dev tools only when given (a dev server)."""
    operations = dict(STRONGROOM_OPERATIONS)
    if dev_tools is not None:
        operations.update(DEV_TOOL_OPERATIONS)
        owners = (*owners, dev_tools)
    _register_json_service(
        dispatcher,
        service_model.SERVICE_NAME,
        owners,
        operations,
        frozenset(),
        "InternalFailure",
        model=strongroom_model(),
    )
