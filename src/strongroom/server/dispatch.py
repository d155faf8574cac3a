"""X-Amz-Target dispatch: which service method answers which AWS operation, and how."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session

from strongroom.context import CallContext
from strongroom.errors import (
    AccessDeniedException,
    UnknownOperationException,
    UnsupportedOperationException,
    ValidationException,
)
from strongroom.kms import shapes as kms
from strongroom.secretsmanager import shapes as sm
from strongroom.secretsmanager.service import SecretsManagerService
from strongroom.server import aws_json, wire_mapping

Handler = Callable[[CallContext, bytes], bytes]

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


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Dispatcher:
    """Finds the operation for an ``X-Amz-Target`` value."""

    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}
        self._targets: dict[str, ServiceTarget] = {}

    def register_service(self, target: ServiceTarget) -> None:
        self._targets[target.prefix] = target

    def register(self, target_prefix: str, operation: Operation) -> None:
        self._operations[f"{target_prefix}.{operation.name}"] = operation

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
        document = decoder.decode(aws_json.parse_json_body(body))
        request = wire_mapping.from_wire(request_type, document)
        result = method(ctx, request)
        if result is None:  # operations with no output shape answer an empty object
            return b"{}"
        return aws_json.encode_response(wire_mapping.to_wire(result, names))

    return handle


def _register_json_service(
    dispatcher: Dispatcher,
    service_name: str,
    owners: Sequence[object],
    operations: Mapping[str, type[Any]],
    point_reads: frozenset[str],
    internal_error_code: str,
) -> None:
    """Register each operation with the method of the same (snake_case) name on one of
    ``owners``; every owner method must belong to exactly one operation's owner."""
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


DEV_TARGET_PREFIX = "Strongroom_20261101"
DEV_SIGNING_NAME = "strongroom"
MAX_DEV_CLOCK_ADVANCE_SECONDS = 10 * 366 * 86_400


def register_dev_tools(
    dispatcher: Dispatcher, reset: Callable[[], None], advance_clock: Callable[[float], None]
) -> None:
    """Dev-server operations, registered by bootstrap in dev mode only and only for root:
    ResetDevState wipes all state; AdvanceClock {"Seconds": n} moves the services' clock
    forward and runs the scheduled jobs (deletion windows, rotations) at once."""
    dispatcher.register_service(
        ServiceTarget(
            prefix=DEV_TARGET_PREFIX,
            signing_name=DEV_SIGNING_NAME,
            internal_error_code="InternalFailure",
            known_operations=frozenset({"ResetDevState", "AdvanceClock"}),
        )
    )

    def require_root(ctx: CallContext) -> None:
        if ctx.principal.kind != "Root":
            raise AccessDeniedException("Only the account root may use dev server tools.")

    def handle_reset(ctx: CallContext, body: bytes) -> bytes:
        aws_json.parse_json_body(body)
        require_root(ctx)
        reset()
        return b"{}"

    def handle_advance(ctx: CallContext, body: bytes) -> bytes:
        document = aws_json.parse_json_body(body)
        require_root(ctx)
        seconds = document.get("Seconds") if isinstance(document, dict) else None
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not 0 <= seconds <= MAX_DEV_CLOCK_ADVANCE_SECONDS
        ):
            raise ValidationException(
                f"Seconds must be a number from 0 to {MAX_DEV_CLOCK_ADVANCE_SECONDS}."
            )
        advance_clock(float(seconds))
        return b"{}"

    for name, handler in (("ResetDevState", handle_reset), ("AdvanceClock", handle_advance)):
        dispatcher.register(
            DEV_TARGET_PREFIX,
            Operation(
                service=DEV_SIGNING_NAME,
                name=name,
                internal_error_code="InternalFailure",
                handler=handler,
            ),
        )
