"""What a tenant is: its record, statuses, key modes, id rule and isolation policy."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

ACTIVE: Final = "ACTIVE"
SUSPENDED: Final = "SUSPENDED"
OFFBOARDING: Final = "OFFBOARDING"
SHREDDED: Final = "SHREDDED"
STATUSES: Final = frozenset({ACTIVE, SUSPENDED, OFFBOARDING, SHREDDED})
# A tenant in one of these is refused everything by the tenant guard.
BLOCKED_STATUSES: Final = frozenset({SUSPENDED, OFFBOARDING, SHREDDED})

DEDICATED: Final = "DEDICATED"
SHARED: Final = "SHARED"

ARN_WILDCARD: Final = "ARN_WILDCARD"
ABAC: Final = "ABAC"

# ``cust-12345``: lower-case letters and digits in hyphen-separated runs. The secret-name
# rule (``/customer/{id}/…``) accepts the same, so every valid tenant owns its namespace.
DEFAULT_TENANT_ID_PATTERN: Final = r"[a-z0-9]+(?:-[a-z0-9]+)*"
MAX_TENANT_ID_LENGTH: Final = 48  # "tenant-<id>" must fit IAM's 64-character role names

ROLE_PATH: Final = "/tenants/"
MAX_SESSION_SECONDS: Final = 43_200
ISOLATION_POLICY_NAME: Final = "tenant-isolation"
TENANT_KEY_ALIAS_PREFIX: Final = "alias/tenant/"
DEFAULT_SHARED_KEY_ALIAS: Final = "alias/strongroom/tenants"
DEFAULT_PARTITION_KEY_NAME: Final = "tenant_id"


class InvalidTenantId(ValueError):
    """A tenant id broke the deployment's id rule; the message says the rule."""


@dataclass(frozen=True, slots=True)
class TenantIdRule:
    """The deployment's tenant-id pattern (a full match), checked at the edge of every call."""

    pattern: str = DEFAULT_TENANT_ID_PATTERN
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def check(self, tenant_id: str) -> None:
        if (
            not 1 <= len(tenant_id) <= MAX_TENANT_ID_LENGTH
            or self._compiled.fullmatch(tenant_id) is None
            or re.fullmatch(DEFAULT_TENANT_ID_PATTERN, tenant_id) is None
        ):
            raise InvalidTenantId(
                f"A tenant id must be 1-{MAX_TENANT_ID_LENGTH} characters matching "
                f"{self.pattern!r} (lower-case letters, digits and inner hyphens)."
            )


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A stored tenant."""

    tenant_id: str
    display_name: str
    status: str
    key_mode: str
    key_id: str
    isolation_policy: str
    role_name: str
    tier: str | None
    quotas: str | None  # JSON object of quota overrides, as given
    tags: tuple[tuple[str, str], ...]
    created_at: datetime
    updated_at: datetime
    offboarded_at: datetime | None = None
    destruction_date: datetime | None = None
    destroyed_at: datetime | None = None
    audit_export: str | None = None
    row_version: int = 1


def role_name_for(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


def tenant_arn(partition: str, region: str, account: str, tenant_id: str) -> str:
    return f"arn:{partition}:strongroom:{region}:{account}:tenant/{tenant_id}"


def isolation_policy(
    form: str,
    *,
    partition: str,
    region: str,
    account: str,
    tenant_id: str,
    tenant_tag_key: str,
    key_arn: str,
    partition_key_name: str | None,
) -> str:
    """The tenant role's policy, in the form users write on AWS (DESIGN §7): its own
    secrets (by ARN wildcard, or by the ABAC tag match), ``/shared/*`` reads (which the
    tenant guard still refuses without a share), and its key (under a shared key only with
    its own partition's encryption context)."""
    secret_actions = [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
    ]
    prefix = f"arn:{partition}:secretsmanager:{region}:{account}:secret:"
    statements: list[dict[str, object]] = []
    if form == ABAC:
        statements.append(
            {
                "Sid": "OwnSecretsByTag",
                "Effect": "Allow",
                "Action": secret_actions,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"secretsmanager:ResourceTag/{tenant_tag_key}": (
                            f"${{aws:PrincipalTag/{tenant_tag_key}}}"
                        )
                    }
                },
            }
        )
    else:
        statements.append(
            {
                "Sid": "OwnSecretsByName",
                "Effect": "Allow",
                "Action": secret_actions,
                "Resource": f"{prefix}/customer/{tenant_id}/*",
            }
        )
    statements.append(
        {
            "Sid": "SharedSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": f"{prefix}/shared/*",
        }
    )
    key_statement: dict[str, object] = {
        "Sid": "TenantKey",
        "Effect": "Allow",
        "Action": [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey",
        ],
        "Resource": key_arn,
    }
    if partition_key_name is not None:
        key_statement["Condition"] = {
            "StringEquals": {f"kms:EncryptionContext:{partition_key_name}": tenant_id}
        }
    statements.append(key_statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def trust_policy(partition: str, account: str) -> str:
    """Principals of this account may assume the tenant role (if their own policies let
    them): the shared-service pattern, with the tenant tag as a session tag."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        }
    )
