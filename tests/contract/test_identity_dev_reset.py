"""`strongroom dev reset` wipes IAM and STS state, and the root credential keeps working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.contract.test_cli import child_env, dev_reset
from tests.support.server import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, start_server

pytestmark = pytest.mark.contract

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def sts_as(endpoint: str, key_id: str, secret: str, token: str | None = None) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


def test_dev_reset_wipes_identities_and_sessions_but_not_the_root_key(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        iam, sts = server.client("iam"), server.client("sts")
        policy_arn = iam.create_policy(PolicyName="everything", PolicyDocument=ALLOW_ALL)["Policy"][
            "Arn"
        ]
        iam.create_user(UserName="alice", Tags=[{"Key": "customer", "Value": "acme"}])
        iam.attach_user_policy(UserName="alice", PolicyArn=policy_arn)
        iam.create_group(GroupName="admins")
        iam.add_user_to_group(GroupName="admins", UserName="alice")
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        role_arn = iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="app", PolicyName="all", PolicyDocument=ALLOW_ALL)
        role_session = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
        root_session = sts.get_session_token(DurationSeconds=900)["Credentials"]

        callers = {
            "user key": sts_as(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"]),
            "role session": sts_as(
                server.endpoint,
                role_session["AccessKeyId"],
                role_session["SecretAccessKey"],
                role_session["SessionToken"],
            ),
            "root session": sts_as(
                server.endpoint,
                root_session["AccessKeyId"],
                root_session["SecretAccessKey"],
                root_session["SessionToken"],
            ),
        }
        for caller in callers.values():
            caller.get_caller_identity()  # all work before the reset

        env = child_env(
            {
                "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            tmp_path,
        )
        done = dev_reset(server.endpoint, env)
        assert done.returncode == 0, done.stderr

        assert iam.list_users()["Users"] == []
        assert iam.list_roles()["Roles"] == []
        assert iam.list_groups()["Groups"] == []
        assert iam.list_policies(Scope="Local")["Policies"] == []
        for what, caller in callers.items():
            with pytest.raises(ClientError) as refused:
                caller.get_caller_identity()
            assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId", what
        with pytest.raises(ClientError) as gone:
            iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
        assert gone.value.response["Error"]["Code"] == "NoSuchEntity"

        # The root key survives, and the names are free again.
        identity = sts.get_caller_identity()
        assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
        assert identity["Account"] == ACCOUNT
        iam.create_user(UserName="alice")
        assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
        assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"] == []
        assert iam.list_groups_for_user(UserName="alice")["Groups"] == []
        assert iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"] == []
        assert iam.list_user_tags(UserName="alice")["Tags"] == []
    finally:
        server.stop()
