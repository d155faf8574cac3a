"""Request and response types of the STS operations, named after the AWS members.

Generated once from botocore's STS model and kept by hand since: field names
are the snake_case of the AWS member names, nested structures keep the model's shape
names, and a test checks every request type against the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDescriptorType:
    arn: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvidedContext:
    provider_arn: str | None = None
    context_assertion: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumeRoleRequest:
    role_arn: str
    role_session_name: str
    policy_arns: tuple[PolicyDescriptorType, ...] | None = None
    policy: str | None = None
    duration_seconds: int | None = None
    tags: tuple[Tag, ...] | None = None
    transitive_tag_keys: tuple[str, ...] | None = None
    external_id: str | None = None
    serial_number: str | None = None
    token_code: str | None = None
    source_identity: str | None = None
    provided_contexts: tuple[ProvidedContext, ...] | None = None
    minimum_session_token_size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumedRoleUser:
    assumed_role_id: str
    arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssumeRoleResponse:
    credentials: Credentials | None = None
    assumed_role_user: AssumedRoleUser | None = None
    packed_policy_size: int | None = None
    source_identity: str | None = None
    session_token_utilization: int | None = None
    session_token_size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetCallerIdentityRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GetCallerIdentityResponse:
    user_id: str | None = None
    account: str | None = None
    arn: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetSessionTokenRequest:
    duration_seconds: int | None = None
    serial_number: str | None = None
    token_code: str | None = None
    minimum_session_token_size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetSessionTokenResponse:
    credentials: Credentials | None = None
    session_token_utilization: int | None = None
    session_token_size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeAuthorizationMessageRequest:
    encoded_message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeAuthorizationMessageResponse:
    decoded_message: str | None = None
