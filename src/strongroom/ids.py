"""Identifiers: account ids, regions and partitions, ARNs, and secret-name validation."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NewType

AccountId = NewType("AccountId", str)
Region = NewType("Region", str)
Partition = NewType("Partition", str)
TenantId = NewType("TenantId", str)

ACCOUNT_ID_PATTERN = re.compile(r"\A[0-9]{12}\Z")
# Region names as AWS writes them: "us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1".
REGION_PATTERN = re.compile(r"\A[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\Z")
# Tenant ids are lower case only, so "CUST-1" can never alias "cust-1".
TENANT_ID_PATTERN = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
SECRET_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "/_+=.@-")
SECRET_ARN_SUFFIX_ALPHABET = string.ascii_letters + string.digits
SECRET_ARN_SUFFIX_LENGTH = 6
TENANT_NAMESPACE = "/customer/"
# Secrets of no tenant that tenants reach only through shares (the tenant guard's one door).
SHARED_NAMESPACE = "/shared/"

# Used only if botocore's partition table cannot be read; it is the same data.
_FALLBACK_PARTITIONS: tuple[tuple[str, str], ...] = (
    ("aws-cn", r"^cn\-\w+\-\d+$"),
    ("aws-us-gov", r"^us\-gov\-\w+\-\d+$"),
    ("aws-iso", r"^us\-iso\-\w+\-\d+$"),
    ("aws-iso-b", r"^us\-isob\-\w+\-\d+$"),
    ("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$"),
    ("aws-iso-f", r"^us\-isof\-\w+\-\d+$"),
)


def is_valid_account_id(value: str) -> bool:
    return ACCOUNT_ID_PATTERN.match(value) is not None


# Every request asks about the region it was signed for, several times: a bounded cache
# answers without the regular expressions (a flood of made-up regions only evicts).
@lru_cache(maxsize=256)
def is_valid_region(value: str) -> bool:
    return REGION_PATTERN.match(value) is not None


@cache
def _partition_table() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(partition, region regex) pairs from botocore's endpoint data, "aws" last."""
    try:
        from botocore.loaders import create_loader

        data = create_loader().load_data("endpoints")
        pairs = [
            (str(p["partition"]), str(p["regionRegex"]))
            for p in data["partitions"]
            if p["partition"] != "aws"
        ]
    except Exception:  # any failure falls back to the same table, kept here
        pairs = list(_FALLBACK_PARTITIONS)
    return tuple((name, re.compile(rx)) for name, rx in pairs)


@lru_cache(maxsize=256)
def partition_of(region: str) -> Partition:
    """The ARN partition a region belongs to: "aws", "aws-cn", "aws-us-gov", "aws-iso-b", ..."""
    for name, pattern in _partition_table():
        if pattern.match(region):
            return Partition(name)
    return Partition("aws")


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN; ``resource`` is everything after the fifth colon."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5])


def new_secret_arn(partition: str, region: str, account: str, name: str) -> str:
    """A secret ARN: the name plus "-" and six random characters, as AWS makes them."""
    suffix = "".join(
        secrets.choice(SECRET_ARN_SUFFIX_ALPHABET) for _ in range(SECRET_ARN_SUFFIX_LENGTH)
    )
    return str(Arn(partition, "secretsmanager", region, account, f"secret:{name}-{suffix}"))


class InvalidSecretName(ValueError):
    """A secret name broke a naming rule; the message says which, without echoing the name."""


def validate_secret_name(name: str) -> None:
    """Refuse names that could alias another secret or confuse a policy match.

    Beyond AWS's alphabet: no "." or ".." path segments, no empty segments ("a//b", a
    trailing "/"), and under ``/customer/`` a well-formed tenant id followed by at least
    one more segment, so ``cust-1`` never matches ``cust-12``.
    """
    if not name or len(name) > 512:
        raise InvalidSecretName("The secret name must be between 1 and 512 characters.")
    if any(ch not in SECRET_NAME_CHARS for ch in name):
        raise InvalidSecretName(
            "Invalid name. Must be a valid name containing alphanumeric characters, "
            "or any of the following: /_+=.@-"
        )
    if name.startswith("arn:"):
        raise InvalidSecretName("The secret name must not look like an ARN.")
    segments = name[1:].split("/") if name.startswith("/") else name.split("/")
    for segment in segments:
        if segment == "":
            raise InvalidSecretName("The secret name must not contain empty path segments.")
        if segment in {".", ".."}:
            raise InvalidSecretName('The secret name must not contain "." or ".." segments.')
    if name.startswith(TENANT_NAMESPACE) or name == TENANT_NAMESPACE.rstrip("/"):
        rest = name[len(TENANT_NAMESPACE) :].split("/")
        if len(rest) < 2 or TENANT_ID_PATTERN.match(rest[0]) is None:
            raise InvalidSecretName(
                "Secrets under /customer/ must be named /customer/{tenantId}/{name}, with a "
                "tenant id of lower-case letters, digits and inner hyphens."
            )


def tenant_of_secret_name(name: str) -> TenantId | None:
    """The tenant a (validated) secret name belongs to, if it lives under ``/customer/``."""
    if not name.startswith(TENANT_NAMESPACE):
        return None
    return TenantId(name[len(TENANT_NAMESPACE) :].split("/", 1)[0])


def is_shared_secret_name(name: str) -> bool:
    """Does a (validated) secret name live in the shared namespace, ``/shared/…``?"""
    return name.startswith(SHARED_NAMESPACE)
