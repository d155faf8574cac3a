"""KMS key policy operations: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies."""

from __future__ import annotations

from strongroom.context import CallContext
from strongroom.errors import NotFoundException, ValidationException
from strongroom.kms import markers, shapes
from strongroom.kms.key_access import KeyAccess, require_customer_managed
from strongroom.kms.key_authorization import KeyAuthorization, flag
from strongroom.kms.key_policies import (
    DEFAULT_POLICY_NAME,
    check_lockout,
    effective_key_policy,
    parse_key_policy,
)


def _policy_name(name: str | None) -> str:
    return DEFAULT_POLICY_NAME if name is None else name


class KeyPolicyAdministration:
    """One method per key policy operation. A key has one policy, named "default"."""

    def __init__(self, access: KeyAccess, authorization: KeyAuthorization) -> None:
        self._access = access
        self._authorization = authorization

    def get_key_policy(
        self, ctx: CallContext, request: shapes.GetKeyPolicyRequest
    ) -> shapes.GetKeyPolicyResult:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(ctx, "GetKeyPolicy", record)
        if _policy_name(request.policy_name) != DEFAULT_POLICY_NAME:
            raise NotFoundException("No such policy exists")
        return shapes.GetKeyPolicyResult(
            policy=effective_key_policy(record, ctx.partition, ctx.account_id),
            policy_name=DEFAULT_POLICY_NAME,
        )

    def put_key_policy(self, ctx: CallContext, request: shapes.PutKeyPolicyRequest) -> None:
        """Replace the key policy; refused (MalformedPolicyDocumentException) if it would
        lock the caller out of PutKeyPolicy, unless BypassPolicyLockoutSafetyCheck."""
        bypass = bool(request.bypass_policy_lockout_safety_check)
        record = self._access.fresh(ctx, request.key_id)
        self._authorization.key(
            ctx,
            "PutKeyPolicy",
            record,
            reference=request.key_id,
            conditions={"kms:BypassPolicyLockoutSafetyCheck": flag(bypass)},
        )
        if _policy_name(request.policy_name) != DEFAULT_POLICY_NAME:
            raise ValidationException(
                f"PolicyName must be {DEFAULT_POLICY_NAME}: a KMS key has one key policy."
            )
        require_customer_managed(record, "change the key policy of")
        document = parse_key_policy(request.policy)
        if not bypass:
            check_lockout(ctx, record.arn, document)
        self._access.update(record, {"policy": request.policy})

    def list_key_policies(
        self, ctx: CallContext, request: shapes.ListKeyPoliciesRequest
    ) -> shapes.ListKeyPoliciesResult:
        record = self._access.find(ctx, request.key_id, allow_alias=False)
        self._authorization.key(ctx, "ListKeyPolicies", record)
        after = markers.decode("policies", request.marker)
        names = () if after is not None and after >= DEFAULT_POLICY_NAME else (DEFAULT_POLICY_NAME,)
        return shapes.ListKeyPoliciesResult(policy_names=names, truncated=False)
