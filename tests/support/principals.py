"""Make IAM users and assumed-role sessions on a running server, and boto3 clients for them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from tests.support.server import RunningServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


@dataclass(frozen=True)
class Caller:
    """One principal's credentials and the clients signed with them."""

    arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    endpoint: str

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            config=Config(retries={"max_attempts": 1}),
        )


def tags(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in mapping.items()]


def user(
    server: RunningServer,
    name: str,
    *,
    policies: dict[str, dict[str, Any]] | None = None,
    user_tags: dict[str, str] | None = None,
) -> Caller:
    """An IAM user with inline policies and an access key."""
    iam = server.client("iam")
    created = iam.create_user(UserName=name, Tags=tags(user_tags or {}))["User"]
    for policy_name, document in (policies or {}).items():
        iam.put_user_policy(
            UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Caller(created["Arn"], key["AccessKeyId"], key["SecretAccessKey"], None, server.endpoint)


def role(
    server: RunningServer,
    name: str,
    *,
    policies: dict[str, dict[str, Any]] | None = None,
    role_tags: dict[str, str] | None = None,
    trust: dict[str, Any] | None = None,
) -> str:
    """A role trusting the account (so IAM policies decide who may assume it); its ARN."""
    iam = server.client("iam")
    arn: str = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust or TRUST_ACCOUNT),
        Tags=tags(role_tags or {}),
    )["Role"]["Arn"]
    for policy_name, document in (policies or {}).items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return arn


def assume(
    assumer: Caller,
    role_arn: str,
    session_name: str,
    *,
    session_tags: dict[str, str] | None = None,
    **extra: Any,
) -> Caller:
    """A session of ``role_arn`` assumed by ``assumer`` (with session tags, if any)."""
    sts = assumer.client("sts")
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name, **extra}
    if session_tags:
        kwargs["Tags"] = tags(session_tags)
    response = sts.assume_role(**kwargs)
    credentials = response["Credentials"]
    return Caller(
        response["AssumedRoleUser"]["Arn"],
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
        assumer.endpoint,
    )


def allow(actions: list[str], resources: list[str] | str = "*", **extra: Any) -> dict[str, Any]:
    """A one-statement Allow policy."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    statement.update(extra)
    return {"Version": "2012-10-17", "Statement": [statement]}
