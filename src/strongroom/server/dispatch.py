"""X-Amz-Target dispatch: which service method answers which AWS operation, and how."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session

from strongroom.context import CallContext
from strongroom.errors import AccessDeniedException, UnknownOperationException
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
        return aws_json.encode_response(wire_mapping.to_wire(method(ctx, request), names))

    return handle


def register_secrets_manager(dispatcher: Dispatcher, service: SecretsManagerService) -> None:
    model = botocore.session.get_session().get_service_model("secretsmanager")
    decoders = aws_json.compile_service(model)
    names = wire_mapping.member_names(model)
    prefix = model.metadata["targetPrefix"]
    dispatcher.register_service(
        ServiceTarget(
            prefix=prefix,
            signing_name=model.metadata.get("signingName", model.endpoint_prefix),
            internal_error_code="InternalServiceError",
            known_operations=frozenset(model.operation_names),
        )
    )
    for name, request_type in SECRETS_MANAGER_OPERATIONS.items():
        method = getattr(service, _snake(name))
        dispatcher.register(
            prefix,
            Operation(
                service="secretsmanager",
                name=name,
                internal_error_code="InternalServiceError",
                handler=_json_handler(method, request_type, decoders[name], names),
                point_read=name in SECRETS_MANAGER_POINT_READS,
            ),
        )


def register_known_but_unbuilt(dispatcher: Dispatcher, service_name: str, error_code: str) -> None:
    """A service whose operations all answer UnknownOperationException for now (e.g. KMS)."""
    model = botocore.session.get_session().get_service_model(service_name)
    dispatcher.register_service(
        ServiceTarget(
            prefix=model.metadata["targetPrefix"],
            signing_name=model.metadata.get("signingName", model.endpoint_prefix),
            internal_error_code=error_code,
            known_operations=frozenset(model.operation_names),
        )
    )


DEV_TARGET_PREFIX = "Strongroom_20261101"
DEV_SIGNING_NAME = "strongroom"


def register_dev_reset(dispatcher: Dispatcher, reset: Callable[[], None]) -> None:
    """ResetDevState: wipe all state. Registered by bootstrap in dev mode only."""
    dispatcher.register_service(
        ServiceTarget(
            prefix=DEV_TARGET_PREFIX,
            signing_name=DEV_SIGNING_NAME,
            internal_error_code="InternalFailure",
            known_operations=frozenset({"ResetDevState"}),
        )
    )

    def handle(ctx: CallContext, body: bytes) -> bytes:
        aws_json.parse_json_body(body)
        if ctx.principal.kind != "Root":
            raise AccessDeniedException("Only the account root may reset a dev server.")
        reset()
        return b"{}"

    dispatcher.register(
        DEV_TARGET_PREFIX,
        Operation(
            service=DEV_SIGNING_NAME,
            name="ResetDevState",
            internal_error_code="InternalFailure",
            handler=handle,
        ),
    )
