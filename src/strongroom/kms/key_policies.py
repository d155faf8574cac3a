"""Key policies: AWS's default and AWS-managed policies, validation, the lockout safety check."""

from __future__ import annotations

import json
from functools import lru_cache

from strongroom.context import CallContext
from strongroom.errors import MalformedPolicyDocumentException
from strongroom.kms.ports import KmsKeyRecord
from strongroom.policy import (
    NamedPolicy,
    PolicyDocument,
    PolicyDocumentError,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
)

DEFAULT_POLICY_NAME = "default"
MAX_KEY_POLICY_BYTES = 32_768
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."

# AWS's text, byte for byte (GetKeyPolicy shows it for a key created without a Policy).
_DEFAULT_KEY_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:%(partition)s:iam::%(account)s:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""

_SECRETS_MANAGER_SID = (
    "Allow access through AWS Secrets Manager for all principals in the account that are "
    "authorized to use AWS Secrets Manager"
)


@lru_cache(maxsize=64)
def default_key_policy(partition: str, account_id: str) -> str:
    """The policy of a key created without one: the account (IAM policies) decides."""
    return _DEFAULT_KEY_POLICY % {"partition": partition, "account": account_id}


@lru_cache(maxsize=64)
def secrets_manager_key_policy(partition: str, account_id: str, region: str) -> str:
    """AWS's policy of the aws/secretsmanager key: any principal of the account may use it
    through Secrets Manager (kms:ViaService, kms:CallerAccount); the account may read it."""
    via = f"secretsmanager.{region}.amazonaws.com"
    document = {
        "Version": "2012-10-17",
        "Id": "auto-secretsmanager-2",
        "Statement": [
            {
                "Sid": _SECRETS_MANAGER_SID,
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via}
                },
            },
            {
                "Sid": f"{_SECRETS_MANAGER_SID} 2",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account_id},
                    "StringLike": {"kms:ViaService": via},
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }
    return json.dumps(document, indent=2)


def effective_key_policy(record: KmsKeyRecord, partition: str, account_id: str) -> str:
    """The policy in force: the stored one, AWS's managed one, or the default."""
    if record.policy is not None:
        return record.policy
    # The one AWS-managed key this server makes is aws/secretsmanager's (key_directory).
    if record.key_manager == "AWS":
        return secrets_manager_key_policy(partition, account_id, record.region)
    return default_key_policy(partition, account_id)


def parse_key_policy(text: str) -> PolicyDocument:
    """A key policy checked as KMS checks it; MalformedPolicyDocumentException otherwise."""
    try:
        return parse_policy(text, "key", max_bytes=MAX_KEY_POLICY_BYTES)
    except PolicyDocumentError as exc:
        raise MalformedPolicyDocumentException(str(exc)) from exc


def check_lockout(ctx: CallContext, key_arn: str, document: PolicyDocument) -> None:
    """KMS's lockout safety check: the policy must let the caller call PutKeyPolicy later,
    naming the caller or naming the account (whose IAM policies then decide)."""
    principal = ctx.principal
    arns = [principal.arn]
    if principal.identity_arn and principal.identity_arn != principal.arn:
        arns.append(principal.identity_arn)
    keys = {
        "kms:CallerAccount": (ctx.account_id,),
        "aws:PrincipalAccount": (ctx.account_id,),
        "aws:PrincipalArn": (principal.identity_arn or principal.arn,),
        "aws:RequestedRegion": (ctx.region,),
        "kms:BypassPolicyLockoutSafetyCheck": ("false",),
    }
    for tag, value in principal.tags.items():
        keys[f"aws:PrincipalTag/{tag}"] = (value,)
    decision = evaluate(
        RequestContext(
            action="kms:PutKeyPolicy",
            resource=key_arn,
            principal=PrincipalRef(arns=tuple(arns), account=ctx.account_id),
            keys=keys,
        ),
        identity=(),
        identity_allows_all=True,
        resource=NamedPolicy(name="key policy", document=document),
        resource_required=True,
    )
    if decision.effect != "Allow":
        raise MalformedPolicyDocumentException(LOCKOUT_MESSAGE)
