"""STS over the query protocol with real boto3 clients: sessions, tags, chaining, expiry."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import RunningServer, start_server

ACCOUNT = "123456789012"


def trust(*actions: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": list(actions) or ["sts:AssumeRole"],
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


ALL_SESSION_ACTIONS = trust("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def session_client(server: RunningServer, service: str, credentials: dict[str, Any]) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def iam(server: RunningServer) -> Any:
    return server.client("iam")


@pytest.fixture
def sts(server: RunningServer) -> Any:
    return server.client("sts")


def make_role(iam: Any, name: str, document: str = ALL_SESSION_ACTIONS, **extra: Any) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document, **extra)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    return str(arn)


def test_root_caller_identity(sts: Any) -> None:
    identity = sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_assume_role_with_session_tags(
    iam: Any, sts: Any, server: RunningServer, unique: str
) -> None:
    arn = make_role(iam, f"tenant-{unique}", Tags=[{"Key": "team", "Value": "a"}])
    answer = sts.assume_role(
        RoleArn=arn,
        RoleSessionName="svc",
        Tags=[{"Key": "customer", "Value": "cust-1"}],
        TransitiveTagKeys=["customer"],
        DurationSeconds=900,
    )
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert len(credentials["SessionToken"]) >= 86  # ≥ 64 random bytes, base64
    assert (
        answer["AssumedRoleUser"]["Arn"]
        == f"arn:aws:sts::{ACCOUNT}:assumed-role/tenant-{unique}/svc"
    )
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(":svc")
    assert 0 < answer["PackedPolicySize"] <= 100
    caller = session_client(server, "sts", credentials).get_caller_identity()
    assert caller["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert caller["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]
    assert (
        iam.get_role(RoleName=f"tenant-{unique}")["Role"]["RoleLastUsed"]["Region"] == "us-east-1"
    )


def test_session_token_is_required_and_checked(
    iam: Any, sts: Any, server: RunningServer, unique: str
) -> None:
    credentials = sts.assume_role(RoleArn=make_role(iam, f"tok-{unique}"), RoleSessionName="s1")[
        "Credentials"
    ]
    without = {k: v for k, v in credentials.items() if k != "SessionToken"}
    with pytest.raises(ClientError) as error:
        session_client(server, "sts", without).get_caller_identity()
    assert code(error) in ("InvalidClientTokenId", "UnrecognizedClientException")
    wrong = {**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"}
    with pytest.raises(ClientError) as error:
        session_client(server, "sts", wrong).get_caller_identity()
    assert code(error) in ("InvalidClientTokenId", "UnrecognizedClientException")


def test_trust_policy_decides(iam: Any, sts: Any, unique: str) -> None:
    only_users = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/nobody"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    arn = make_role(iam, f"closed-{unique}", only_users)
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert code(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn + "-missing", RoleSessionName="s1")
    assert code(error) == "AccessDenied"


def test_external_id_condition(iam: Any, sts: Any, unique: str) -> None:
    arn = make_role(
        iam,
        f"ext-{unique}",
        trust("sts:AssumeRole", condition={"StringEquals": {"sts:ExternalId": "secret-123"}}),
    )
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert code(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="wrong-123")
    assert code(error) == "AccessDenied"
    assert sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="secret-123")


def test_tags_need_tag_session_permission(iam: Any, sts: Any, unique: str) -> None:
    arn = make_role(iam, f"notag-{unique}", trust("sts:AssumeRole"))
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", Tags=[{"Key": "k", "Value": "v"}])
    assert code(error) == "AccessDenied"


def test_transitive_tags_must_be_session_tags(iam: Any, sts: Any, unique: str) -> None:
    arn = make_role(iam, f"trans-{unique}")
    with pytest.raises(ClientError) as error:
        sts.assume_role(
            RoleArn=arn,
            RoleSessionName="s1",
            Tags=[{"Key": "a", "Value": "1"}],
            TransitiveTagKeys=["b"],
        )
    assert code(error) == "ValidationError"


def test_role_chaining_carries_transitive_tags_and_source_identity(
    iam: Any, sts: Any, server: RunningServer, unique: str
) -> None:
    first = make_role(iam, f"first-{unique}")
    second = make_role(iam, f"second-{unique}")
    parent = sts.assume_role(
        RoleArn=first,
        RoleSessionName="parent",
        Tags=[{"Key": "customer", "Value": "cust-1"}, {"Key": "other", "Value": "x"}],
        TransitiveTagKeys=["customer"],
        SourceIdentity="alice",
    )
    assert parent["SourceIdentity"] == "alice"
    chained_sts = session_client(server, "sts", parent["Credentials"])
    with pytest.raises(ClientError) as error:
        chained_sts.assume_role(
            RoleArn=second, RoleSessionName="child", Tags=[{"Key": "customer", "Value": "cust-2"}]
        )
    assert code(error) == "ValidationError"
    with pytest.raises(ClientError) as error:
        chained_sts.assume_role(RoleArn=second, RoleSessionName="child", DurationSeconds=3601)
    assert code(error) == "ValidationError"
    with pytest.raises(ClientError) as error:
        chained_sts.assume_role(RoleArn=second, RoleSessionName="child", SourceIdentity="mallory")
    assert code(error) == "AccessDenied"
    child = chained_sts.assume_role(RoleArn=second, RoleSessionName="child")
    assert child["SourceIdentity"] == "alice"
    assert (
        session_client(server, "sts", child["Credentials"])
        .get_caller_identity()["Arn"]
        .endswith(f"assumed-role/second-{unique}/child")
    )


def test_duration_seconds_bounds(iam: Any, server: RunningServer, unique: str) -> None:
    sts = server.client("sts", parameter_validation=False)
    arn = make_role(iam, f"dur-{unique}", MaxSessionDuration=7200)
    assert sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=7200)
    for seconds in (899, 7201):
        with pytest.raises(ClientError) as error:
            sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=seconds)
        assert code(error) == "ValidationError"


def test_session_policies(iam: Any, sts: Any, server: RunningServer, unique: str) -> None:
    arn = make_role(iam, f"sp-{unique}")
    managed = iam.create_policy(
        PolicyName=f"sp-{unique}",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    only_list_roles = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}],
        }
    )
    answer = sts.assume_role(
        RoleArn=arn, RoleSessionName="s1", Policy=only_list_roles, PolicyArns=[{"arn": managed}]
    )
    session_iam = session_client(server, "iam", answer["Credentials"])
    assert session_iam.list_roles()["Roles"]
    assert session_iam.get_role(RoleName=f"sp-{unique}")["Role"]["Arn"] == arn
    with pytest.raises(ClientError) as error:
        session_iam.list_users()
    assert code(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", Policy='{"Statement": []}')
    assert code(error) == "MalformedPolicyDocument"


def test_packed_policy_too_large(iam: Any, sts: Any, unique: str) -> None:
    arn = make_role(iam, f"packed-{unique}")
    tags = [{"Key": f"k{i:02d}-{unique}" * 4, "Value": f"{i}" * 200} for i in range(50)]
    noisy = [{"Key": t["Key"], "Value": secrets.token_hex(100)} for t in tags]
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", Tags=noisy)
    assert code(error) == "PackedPolicyTooLarge"


def test_get_session_token_for_a_user(iam: Any, server: RunningServer, unique: str) -> None:
    name = f"gst-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user_sts = session_client(server, "sts", key)
    credentials = user_sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    session_sts = session_client(server, "sts", credentials)
    assert session_sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    with pytest.raises(ClientError) as error:
        session_sts.get_session_token()
    assert code(error) == "AccessDenied"


def test_decode_authorization_message(iam: Any, sts: Any, unique: str) -> None:
    with pytest.raises(ClientError) as error:
        sts.decode_authorization_message(EncodedMessage="not-a-message")
    assert code(error) == "InvalidAuthorizationMessageException"


def test_sessions_survive_a_restart_and_expire(tmp_path: Path) -> None:
    # A server of its own: moving its clock must not expire other tests' sessions.
    first = start_server(tmp_path / "sts-clock")
    try:
        arn = make_role(first.client("iam"), "expiring")
        credentials = first.client("sts").assume_role(
            RoleArn=arn, RoleSessionName="s1", DurationSeconds=900
        )["Credentials"]
    finally:
        first.stop()
    restarted = start_server(tmp_path / "sts-clock")
    try:
        session = session_client(restarted, "sts", credentials)
        assert session.get_caller_identity()["Arn"].endswith("assumed-role/expiring/s1")
        restarted.advance_clock(901)
        with pytest.raises(ClientError) as error:
            session.get_caller_identity()
        assert code(error) in ("ExpiredToken", "ExpiredTokenException")
        assert "expired" in error.value.response["Error"]["Message"]
    finally:
        restarted.stop()
