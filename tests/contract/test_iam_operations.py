"""IAM over the query protocol with a real boto3 client: every operation, its errors, its limits."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import RunningServer

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
READ_SECRETS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:*:*:secret:/customer/cust-1/*",
            }
        ],
    }
)
TRUST_ACCOUNT = json.dumps(
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


@pytest.fixture
def iam(server: RunningServer) -> Any:
    return server.client("iam")


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def client_for(server: RunningServer, service: str, key: dict[str, Any]) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


# Users


def test_user_lifecycle(iam: Any, unique: str) -> None:
    name = f"alice-{unique}"
    created = iam.create_user(
        UserName=name, Path="/team/", Tags=[{"Key": "customer", "Value": "cust-1"}]
    )["User"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    assert created["UserId"].startswith("AIDA")
    assert len(created["UserId"]) == 20
    assert created["Tags"] == [{"Key": "customer", "Value": "cust-1"}]

    got = iam.get_user(UserName=name.upper())["User"]  # names are case-insensitive
    assert got["UserId"] == created["UserId"]
    listed = iam.list_users(PathPrefix="/team/")["Users"]
    assert name in [u["UserName"] for u in listed]
    assert name not in [u["UserName"] for u in iam.list_users(PathPrefix="/other/")["Users"]]

    iam.update_user(UserName=name, NewUserName=f"{name}-2", NewPath="/moved/")
    moved = iam.get_user(UserName=f"{name}-2")["User"]
    assert moved["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/moved/{name}-2"
    with pytest.raises(ClientError) as error:
        iam.get_user(UserName=name)
    assert code(error) == "NoSuchEntity"
    iam.delete_user(UserName=f"{name}-2")
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=f"{name}-2")
    assert code(error) == "NoSuchEntity"


def test_user_names_are_unique_ignoring_case(iam: Any, unique: str) -> None:
    iam.create_user(UserName=f"bob-{unique}")
    with pytest.raises(ClientError) as error:
        iam.create_user(UserName=f"BOB-{unique}")
    assert code(error) == "EntityAlreadyExists"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_get_user_without_name_is_the_caller(iam: Any) -> None:
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_user_tags(iam: Any, unique: str) -> None:
    name = f"tagged-{unique}"
    iam.create_user(UserName=name, Tags=[{"Key": "a", "Value": "1"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "A", "Value": "2"},
        {"Key": "b", "Value": "3"},
    ]
    iam.untag_user(UserName=name, TagKeys=["a"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "b", "Value": "3"}]
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code(error) == "LimitExceeded"
    with pytest.raises(ClientError) as error:
        iam.tag_user(UserName=name, Tags=[{"Key": "x", "Value": "1"}, {"Key": "X", "Value": "2"}])
    assert code(error) == "InvalidInput"


def test_list_users_pages(iam: Any, unique: str) -> None:
    for i in range(5):
        iam.create_user(UserName=f"page-{unique}-{i}", Path=f"/p{unique}/")
    seen: list[str] = []
    marker: dict[str, str] = {}
    while True:
        answer = iam.list_users(PathPrefix=f"/p{unique}/", MaxItems=2, **marker)
        seen += [u["UserName"] for u in answer["Users"]]
        if not answer["IsTruncated"]:
            break
        marker = {"Marker": answer["Marker"]}
    assert seen == [f"page-{unique}-{i}" for i in range(5)]


def test_delete_user_conflicts_while_it_has_keys_policies_or_groups(iam: Any, unique: str) -> None:
    name = f"busy-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=name)
    assert code(error) == "DeleteConflict"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=READ_SECRETS)
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=name)
    assert code(error) == "DeleteConflict"
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.create_group(GroupName=f"g-{unique}")
    iam.add_user_to_group(GroupName=f"g-{unique}", UserName=name)
    with pytest.raises(ClientError) as error:
        iam.delete_user(UserName=name)
    assert code(error) == "DeleteConflict"
    iam.remove_user_from_group(GroupName=f"g-{unique}", UserName=name)
    iam.delete_user(UserName=name)


# Access keys


def test_access_keys_work_at_once_and_stop_at_once(
    iam: Any, server: RunningServer, unique: str
) -> None:
    name = f"keys-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert key["Status"] == "Active"
    sts = client_for(server, "sts", key)
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    assert iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["UserName"] == name

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert code(error) in ("InvalidClientTokenId", "UnrecognizedClientException")
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Account"] == ACCOUNT

    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as error:
        iam.create_access_key(UserName=name)
    assert code(error) == "LimitExceeded"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert code(error) in ("InvalidClientTokenId", "UnrecognizedClientException")
    with pytest.raises(ClientError) as error:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    assert code(error) == "NoSuchEntity"


# Roles


def test_role_lifecycle(iam: Any, unique: str) -> None:
    name = f"role-{unique}"
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=TRUST_ACCOUNT,
        Description="tenant role",
        MaxSessionDuration=7200,
        Tags=[{"Key": "customer", "Value": "cust-1"}],
    )["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST_ACCOUNT)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 7200
    assert got["Description"] == "tenant role"
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=3600)
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "changed"
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=TRUST_ACCOUNT)
    iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "x"}])
    iam.untag_role(RoleName=name, TagKeys=["customer"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "x"}]
    with pytest.raises(ClientError) as error:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=TRUST_ACCOUNT)
    assert code(error) == "EntityAlreadyExists"
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=READ_SECRETS)
    with pytest.raises(ClientError) as error:
        iam.delete_role(RoleName=name)
    assert code(error) == "DeleteConflict"
    iam.delete_role_policy(RoleName=name, PolicyName="read")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as error:
        iam.get_role(RoleName=name)
    assert code(error) == "NoSuchEntity"


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}),
        # An identity policy is not a trust policy: no Principal.
        ALLOW_ALL,
    ],
)
def test_create_role_refuses_an_invalid_trust_policy(iam: Any, unique: str, document: str) -> None:
    with pytest.raises(ClientError) as error:
        iam.create_role(RoleName=f"bad-{unique}", AssumeRolePolicyDocument=document)
    assert code(error) == "MalformedPolicyDocument"


@pytest.mark.parametrize("seconds", [3599, 43201])
def test_max_session_duration_bounds(server: RunningServer, unique: str, seconds: int) -> None:
    # boto3 checks the model's bounds itself; the server must too.
    iam = server.client("iam", parameter_validation=False)
    with pytest.raises(ClientError) as error:
        iam.create_role(
            RoleName=f"d-{unique}",
            AssumeRolePolicyDocument=TRUST_ACCOUNT,
            MaxSessionDuration=seconds,
        )
    assert code(error) == "ValidationError"


# Groups


def test_groups(iam: Any, unique: str) -> None:
    group, user = f"grp-{unique}", f"member-{unique}"
    created = iam.create_group(GroupName=group)["Group"]
    assert created["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as error:
        iam.create_group(GroupName=group)
    assert code(error) == "EntityAlreadyExists"
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups()["Groups"]]
    with pytest.raises(ClientError) as error:
        iam.delete_group(GroupName=group)
    assert code(error) == "DeleteConflict"
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=READ_SECRETS)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["g"]
    assert iam.get_group_policy(GroupName=group, PolicyName="g")["PolicyDocument"] == json.loads(
        READ_SECRETS
    )
    iam.delete_group_policy(GroupName=group, PolicyName="g")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as error:
        iam.remove_user_from_group(GroupName=group, UserName=user)
    assert code(error) == "NoSuchEntity"
    iam.delete_group(GroupName=group)


# Inline policies


def test_inline_user_policies(iam: Any, unique: str) -> None:
    name = f"inline-{unique}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=READ_SECRETS)
    got = iam.get_user_policy(UserName=name, PolicyName="read")
    assert got["PolicyDocument"] == json.loads(READ_SECRETS)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["read"]
    with pytest.raises(ClientError) as error:
        iam.get_user_policy(UserName=name, PolicyName="nope")
    assert code(error) == "NoSuchEntity"
    with pytest.raises(ClientError) as error:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert code(error) == "MalformedPolicyDocument"
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}"}
                for i in range(60)
            ],
        }
    )
    with pytest.raises(ClientError) as error:
        iam.put_user_policy(UserName=name, PolicyName="big", PolicyDocument=big)
    assert code(error) == "LimitExceeded"
    iam.delete_user_policy(UserName=name, PolicyName="read")
    with pytest.raises(ClientError) as error:
        iam.delete_user_policy(UserName=name, PolicyName="read")
    assert code(error) == "NoSuchEntity"


# Managed policies


def test_managed_policy_versions(iam: Any, unique: str) -> None:
    name = f"managed-{unique}"
    policy = iam.create_policy(PolicyName=name, PolicyDocument=READ_SECRETS, Description="d")[
        "Policy"
    ]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    assert policy["PolicyId"].startswith("ANPA")
    assert policy["DefaultVersionId"] == "v1"
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName=name, PolicyDocument=READ_SECRETS)
    assert code(error) == "EntityAlreadyExists"
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL)
    with pytest.raises(ClientError) as error:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL)
    assert code(error) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in versions] == [False] * 4 + [True]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"] == json.loads(READ_SECRETS)
    with pytest.raises(ClientError) as error:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert code(error) == "DeleteConflict"
    with pytest.raises(ClientError) as error:
        iam.delete_policy(PolicyArn=arn)
    assert code(error) == "DeleteConflict"
    for version in ("v1", "v2", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    with pytest.raises(ClientError) as error:
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    assert code(error) == "NoSuchEntity"
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as error:
        iam.get_policy(PolicyArn=arn)
    assert code(error) == "NoSuchEntity"


def test_attachments(iam: Any, unique: str) -> None:
    user, role, group = f"u-{unique}", f"r-{unique}", f"g-{unique}"
    arn = iam.create_policy(PolicyName=f"att-{unique}", PolicyDocument=READ_SECRETS)["Policy"][
        "Arn"
    ]
    iam.create_user(UserName=user)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.create_group(GroupName=group)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    for listed in (
        iam.list_attached_user_policies(UserName=user),
        iam.list_attached_role_policies(RoleName=role),
        iam.list_attached_group_policies(GroupName=group),
    ):
        assert listed["AttachedPolicies"] == [{"PolicyName": f"att-{unique}", "PolicyArn": arn}]
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    attached_only = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in attached_only]
    with pytest.raises(ClientError) as error:
        iam.delete_policy(PolicyArn=arn)
    assert code(error) == "DeleteConflict"
    with pytest.raises(ClientError) as error:
        iam.delete_role(RoleName=role)
    assert code(error) == "DeleteConflict"
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    with pytest.raises(ClientError) as error:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert code(error) == "NoSuchEntity"
    with pytest.raises(ClientError) as error:
        iam.attach_user_policy(UserName=user, PolicyArn=arn + "-missing")
    assert code(error) == "NoSuchEntity"
    iam.delete_policy(PolicyArn=arn)


def test_attached_policy_limit(iam: Any, unique: str) -> None:
    user = f"many-{unique}"
    iam.create_user(UserName=user)
    arns = [
        iam.create_policy(PolicyName=f"lim-{unique}-{i}", PolicyDocument=READ_SECRETS)["Policy"][
            "Arn"
        ]
        for i in range(11)
    ]
    for arn in arns[:10]:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    with pytest.raises(ClientError) as error:
        iam.attach_user_policy(UserName=user, PolicyArn=arns[10])
    assert code(error) == "LimitExceeded"


def test_permissions_boundaries(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"pb-{unique}", PolicyDocument=READ_SECRETS)["Policy"]["Arn"]
    user, role = f"pbu-{unique}", f"pbr-{unique}"
    iam.create_user(UserName=user, PermissionsBoundary=arn)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": arn,
    }
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    assert (
        iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    )
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 2
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]
    with pytest.raises(ClientError) as error:
        iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=arn + "-missing")
    assert code(error) == "NoSuchEntity"


# Simulation and account details


def test_simulate_principal_policy_uses_the_enforcing_evaluator(iam: Any, unique: str) -> None:
    user = f"sim-{unique}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=READ_SECRETS)
    iam.put_user_policy(
        UserName=user,
        PolicyName="deny",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "secretsmanager:*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:RequestTag/blocked": "yes"}},
                    }
                ],
            }
        ),
    )
    own = "arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-1/db-AbCdEf"
    other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-12/db-AbCdEf"
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
        ResourceArns=[own, other],
    )["EvaluationResults"]
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    assert decisions == {
        ("secretsmanager:GetSecretValue", own): "allowed",
        ("secretsmanager:GetSecretValue", other): "implicitDeny",
        ("secretsmanager:DeleteSecret", own): "implicitDeny",
        ("secretsmanager:DeleteSecret", other): "implicitDeny",
    }
    allowed = next(r for r in results if r["EvalDecision"] == "allowed")
    assert allowed["MatchedStatements"][0]["SourcePolicyId"] == "read"
    denied = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["secretsmanager:GetSecretValue"],
        ResourceArns=[own],
        ContextEntries=[
            {
                "ContextKeyName": "aws:RequestTag/blocked",
                "ContextKeyValues": ["yes"],
                "ContextKeyType": "string",
            }
        ],
    )["EvaluationResults"]
    assert denied[0]["EvalDecision"] == "explicitDeny"


def test_simulate_custom_policy(iam: Any) -> None:
    results = iam.simulate_custom_policy(
        PolicyInputList=[READ_SECRETS],
        ActionNames=["secretsmanager:GetSecretValue"],
        ResourceArns=["arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-1/x"],
        PermissionsBoundaryPolicyInputList=[
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
                }
            )
        ],
    )["EvaluationResults"]
    assert results[0]["EvalDecision"] == "implicitDeny"
    assert results[0]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False
    }
    with pytest.raises(ClientError) as error:
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["kms:Decrypt"])
    assert code(error) == "MalformedPolicyDocument"


def test_get_account_authorization_details(iam: Any, unique: str) -> None:
    user, role, group = f"gaad-{unique}", f"gaadr-{unique}", f"gaadg-{unique}"
    arn = iam.create_policy(PolicyName=f"gaadp-{unique}", PolicyDocument=READ_SECRETS)["Policy"][
        "Arn"
    ]
    iam.create_user(UserName=user, Tags=[{"Key": "customer", "Value": "cust-9"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=READ_SECRETS)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    details: dict[str, list[Any]] = {
        "UserDetailList": [],
        "RoleDetailList": [],
        "GroupDetailList": [],
        "Policies": [],
    }
    for page in iam.get_paginator("get_account_authorization_details").paginate(
        PaginationConfig={"PageSize": 7}
    ):
        for key in details:
            details[key] += page.get(key, [])
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert users[user]["GroupList"] == [group]
    assert users[user]["UserPolicyList"][0]["PolicyDocument"] == json.loads(READ_SECRETS)
    assert users[user]["Tags"] == [{"Key": "customer", "Value": "cust-9"}]
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    assert roles[role]["AttachedManagedPolicies"] == [
        {"PolicyName": f"gaadp-{unique}", "PolicyArn": arn}
    ]
    assert roles[role]["AssumeRolePolicyDocument"] == json.loads(TRUST_ACCOUNT)
    policies = {p["Arn"]: p for p in details["Policies"]}
    assert policies[arn]["PolicyVersionList"][0]["Document"] == json.loads(READ_SECRETS)
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == []
    assert only_roles["RoleDetailList"]
