"""An Authorizer that tells the call's journal what was authorized: resources, tenants, refusals.

Every ``authorize`` notes its resource (with CloudTrail's resource type and the resource's
tenant) in the current CallJournal and counts the tenant guard's refusals. During a
BatchGetSecretValue each secret authorized for reading becomes a GetSecretValue of its own
(refused ones with the access-denied error), as AWS logs them.

``decide`` is passed through untouched: services use it only to filter listings, where a
resource the caller may not see is neither touched nor refused (noting every candidate
would bloat ListSecrets' event, and a tenant-bound caller's listing would look like a
string of cross-tenant attempts).
"""

from __future__ import annotations

from functools import lru_cache

from strongroom.audit.event_builder import clean_text
from strongroom.audit.events import AuditResource
from strongroom.audit.journal import BatchRead, CallJournal, current
from strongroom.authorization import AccessDecision, AccessRequest, Authorizer
from strongroom.context import CallContext
from strongroom.errors import ServiceError

# Operation and action names (not credentials).
VIA_SERVICE = "kms:ViaService"
BATCH_GET_SECRET_VALUE = "BatchGetSecretValue"  # noqa: S105
GET_SECRET_VALUE_ACTION = "secretsmanager:GetSecretValue"  # noqa: S105
NO_RESOURCE = "*"

_SERVICE_NAMES = {
    "secretsmanager": "SecretsManager",
    "kms": "KMS",
    "iam": "IAM",
    "sts": "STS",
    "cloudtrail": "CloudTrail",
}
# (service, first part of the resource) → CloudTrail's resource type.
_TYPES = {
    ("secretsmanager", "secret"): "AWS::SecretsManager::Secret",
    ("kms", "key"): "AWS::KMS::Key",
    ("kms", "alias"): "AWS::KMS::Alias",
    ("iam", "user"): "AWS::IAM::User",
    ("iam", "role"): "AWS::IAM::Role",
    ("iam", "policy"): "AWS::IAM::Policy",
    ("iam", "group"): "AWS::IAM::Group",
    ("iam", "instance-profile"): "AWS::IAM::InstanceProfile",
    ("iam", "root"): "AWS::IAM::Account",
    ("sts", "assumed-role"): "AWS::STS::AssumedRole",
}
_SECRET_SUFFIX = 7  # "-" and six random characters end a secret ARN


@lru_cache(maxsize=8192)
def describe_arn(arn: str) -> tuple[str, str | None]:
    """(CloudTrail resource type, the resource's name if the ARN carries a friendlier one)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "AWS::Unknown::Resource", None
    service, resource = parts[2], parts[5]
    # The type ends at the first "/" or ":" (secret:/customer/..., key/..., alias/...).
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    head, rest = (resource, "") if cut < 0 else (resource[:cut], resource[cut + 1 :])
    known = _TYPES.get((service, head))
    if known is None:
        service_name = _SERVICE_NAMES.get(service, service.capitalize())
        words = "".join(w.capitalize() for w in head.replace("_", "-").split("-")) or "Resource"
        known = f"AWS::{service_name}::{words}"
    name: str | None = None
    if known == "AWS::SecretsManager::Secret" and len(rest) > _SECRET_SUFFIX:
        name = rest[:-_SECRET_SUFFIX]
    elif known == "AWS::KMS::Alias":
        name = resource  # "alias/..."
    return known, name


def resource_of(request: AccessRequest) -> AuditResource | None:
    """The resource a call touched, or None: no resource ("*"), or a key a service used on
    the caller's behalf (Secrets Manager opening a value), which CloudTrail logs as that
    service's own KMS event rather than as a resource of the caller's call."""
    if request.resource == NO_RESOURCE or not request.resource or VIA_SERVICE in request.context:
        return None
    kind, name = describe_arn(request.resource)
    tenant = request.resource_tenant
    return AuditResource(
        arn=clean_text(request.resource),
        type=kind,
        tenant=None if tenant is None else clean_text(tenant),
        name=None if name is None else clean_text(name),
    )


class AuditingAuthorizer:
    """Wraps the real Authorizer; decisions are the inner one's, unchanged."""

    def __init__(self, inner: Authorizer) -> None:
        self._inner = inner

    def decide(self, ctx: CallContext, request: AccessRequest) -> AccessDecision:
        return self._inner.decide(ctx, request)

    def authorize(self, ctx: CallContext, request: AccessRequest) -> None:
        journal = current()
        if journal is None:
            self._inner.authorize(ctx, request)
            return
        resource = resource_of(request)
        if resource is not None:
            journal.note_resource(resource)
        decision = self._inner.decide(ctx, request)
        if decision.allowed:
            self._batch_read(journal, request, resource, None)
            return
        if decision.tenant_guard:
            journal.tenant_guard_refusals += 1
        try:
            # The inner authorizer words the refusal (and encodes its failure message).
            self._inner.authorize(ctx, request)
        except ServiceError as error:
            self._batch_read(journal, request, resource, error)
            raise
        # Decided again as allowed (a time condition turned meanwhile): so be it.
        self._batch_read(journal, request, resource, None)

    @staticmethod
    def _batch_read(
        journal: CallJournal,
        request: AccessRequest,
        resource: AuditResource | None,
        error: ServiceError | None,
    ) -> None:
        if (
            resource is None
            or journal.operation != BATCH_GET_SECRET_VALUE
            or request.action != GET_SECRET_VALUE_ACTION
        ):
            return
        read = BatchRead(
            resource,
            None if error is None else error.code,
            None if error is None else error.message,
        )
        # A read retried after a concurrent label move is authorized again: one event.
        for index, known in enumerate(journal.batch_reads):
            if known.resource.arn == resource.arn:
                journal.batch_reads[index] = read
                return
        journal.batch_reads.append(read)
