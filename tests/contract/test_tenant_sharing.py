"""Shares through boto3 and the admin API: the one door through the tenant guard.

A role tagged ``customer=cust-12345`` with the article's policy (GetSecretValue on
``/shared/*``, `../shared/reference/article-multi-tenant-secret-storage.txt`) reaches
``/shared/vendor/stripe/api-key`` only while a share opens it; the share names one tenant;
DESCRIBE does not read; every share change is in the audit trail; a suspended tenant's
principals are refused everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from strongroom.client import service_model
from tests.support import principals
from tests.support.principals import ACCOUNT, Caller, allow, assume, role, user
from tests.support.server import (
    RunningServer,
    start_server,
)

pytestmark = pytest.mark.contract

SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
STRIPE = "/shared/vendor/stripe/api-key"
TWILIO = "/shared/vendor/twilio/api-key"
OWN = "/customer/cust-12345/db-password"
# The article's ARN-wildcard policy, verbatim (account and region are the dev defaults).
ARTICLE_POLICY = json.loads("""
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret"
      ],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-12345/*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue"
      ],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/shared/*"
    }
  ]
}
""")


def admin_client(server: RunningServer) -> Any:
    """The admin API ("strongroom") through boto3, as the account root."""
    return server.client("strongroom")


@pytest.fixture(scope="module")
def sharing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(Path(tmp_path_factory.mktemp("sharing")))
    try:
        admin = admin_client(running)
        for tenant in ("cust-12345", "cust-67890"):
            admin.create_tenant(TenantId=tenant)
        sm = running.client("secretsmanager")
        for name in (STRIPE, TWILIO, OWN):
            sm.create_secret(Name=name, SecretString=f"value of {name}")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def admin(sharing_server: RunningServer) -> Any:
    return admin_client(sharing_server)


@pytest.fixture(scope="module")
def deployer(sharing_server: RunningServer) -> Caller:
    return user(
        sharing_server,
        "deployer",
        policies={"assume": allow(["sts:AssumeRole", "sts:TagSession"])},
    )


def _tenant_session(
    server: RunningServer, deployer: Caller, tenant: str, name: str, policy: dict[str, Any]
) -> Caller:
    arn = role(server, name, policies={"secrets": policy}, role_tags={"customer": tenant})
    return assume(deployer, arn, f"{name}-session")


@pytest.fixture(scope="module")
def cust_12345(sharing_server: RunningServer, deployer: Caller) -> Caller:
    return _tenant_session(sharing_server, deployer, "cust-12345", "cust-12345-app", ARTICLE_POLICY)


@pytest.fixture(scope="module")
def cust_67890(sharing_server: RunningServer, deployer: Caller) -> Caller:
    policy = json.loads(json.dumps(ARTICLE_POLICY).replace("cust-12345", "cust-67890"))
    return _tenant_session(sharing_server, deployer, "cust-67890", "cust-67890-app", policy)


def _error(call: Callable[[], object]) -> tuple[str, str] | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"]), str(error.response["Error"]["Message"])
    return None


def _read(caller: Caller, name: str) -> tuple[str, str] | None:
    sm = caller.client("secretsmanager")
    return _error(lambda: sm.get_secret_value(SecretId=name))


def _describe(caller: Caller, name: str) -> tuple[str, str] | None:
    sm = caller.client("secretsmanager")
    return _error(lambda: sm.describe_secret(SecretId=name))


def _refused_by_guard(refusal: tuple[str, str] | None) -> bool:
    return (
        refusal is not None
        and refusal[0] == "AccessDeniedException"
        and "tenant guard" in refusal[1]
    )


def test_a_share_opens_the_guard_and_unsharing_closes_it_at_once(
    admin: Any, cust_12345: Caller, cust_67890: Caller
) -> None:
    before = _read(cust_12345, STRIPE)
    assert _refused_by_guard(before), before
    assert before is not None
    assert f"User: {cust_12345.arn} is not authorized to perform: " in before[1]
    assert "no share for tenant cust-12345 covers this secret" in before[1]

    shared = admin.share_secrets(TenantId="cust-12345", SecretPattern="/shared/vendor/stripe/*")
    share = shared["Share"]
    assert share["TenantId"] == "cust-12345"
    assert share["SecretPattern"] == "/shared/vendor/stripe/*"
    assert share["Actions"] == ["READ"]
    assert share["CreatedBy"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert "CreatedDate" in share
    try:
        value = cust_12345.client("secretsmanager").get_secret_value(SecretId=STRIPE)
        assert value["SecretString"] == f"value of {STRIPE}"
        # The pattern covers stripe only; the share opens nothing for the other tenant.
        assert _refused_by_guard(_read(cust_12345, TWILIO))
        assert _refused_by_guard(_read(cust_67890, STRIPE))
    finally:
        admin.unshare_secrets(TenantId="cust-12345", SecretPattern="/shared/vendor/stripe/*")
    assert _refused_by_guard(_read(cust_12345, STRIPE))
    # The tenant's own secrets were never affected. (Describing needs no KMS permission;
    # reading it would: it is sealed under the tenant's own key, which the article's
    # policy does not name.)
    assert _describe(cust_12345, OWN) is None


def test_a_share_grants_nothing_the_policy_does_not(
    admin: Any, sharing_server: RunningServer, deployer: Caller
) -> None:
    """DescribeSecret is not in the article's /shared/* statement: READ opens the guard for
    it, but the policy still refuses (a share is a door, not a permission)."""
    session = _tenant_session(
        sharing_server, deployer, "cust-12345", "cust-12345-reader", ARTICLE_POLICY
    )
    admin.share_secrets(TenantId="cust-12345", SecretPattern=TWILIO, Actions=["READ"])
    try:
        sm = session.client("secretsmanager")
        assert sm.get_secret_value(SecretId=TWILIO)["Name"] == TWILIO
        refused = _error(lambda: sm.describe_secret(SecretId=TWILIO))
        assert refused is not None
        assert refused[0] == "AccessDeniedException"
        assert "because no identity-based policy allows" in refused[1]
        written = _error(lambda: sm.put_secret_value(SecretId=TWILIO, SecretString="x"))
        assert written is not None
        assert written[0] == "AccessDeniedException"
    finally:
        admin.unshare_secrets(TenantId="cust-12345", SecretPattern=TWILIO)


def test_a_describe_share_does_not_read(
    admin: Any, sharing_server: RunningServer, deployer: Caller
) -> None:
    policy = allow(
        [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:ListSecrets",
        ],
        "*",
    )
    session = _tenant_session(sharing_server, deployer, "cust-67890", "cust-67890-auditor", policy)
    sm = session.client("secretsmanager")

    def listed() -> set[str]:
        return {s["Name"] for s in sm.list_secrets()["SecretList"]}

    assert STRIPE not in listed()
    admin.share_secrets(
        TenantId="cust-67890", SecretPattern="/shared/vendor/*", Actions=["DESCRIBE"]
    )
    try:
        assert sm.describe_secret(SecretId=STRIPE)["Name"] == STRIPE
        assert {STRIPE, TWILIO} <= listed()
        assert _refused_by_guard(_error(lambda: sm.get_secret_value(SecretId=STRIPE)))
        # Sharing the same pattern again sets its actions.
        again = admin.share_secrets(
            TenantId="cust-67890", SecretPattern="/shared/vendor/*", Actions=["DESCRIBE", "READ"]
        )
        assert again["Share"]["Actions"] == ["DESCRIBE", "READ"]
        assert sm.get_secret_value(SecretId=STRIPE)["SecretString"] == f"value of {STRIPE}"
    finally:
        admin.unshare_secrets(TenantId="cust-67890", SecretPattern="/shared/vendor/*")
    assert STRIPE not in listed()


def test_shares_are_listed_and_paged(admin: Any) -> None:
    patterns = ["/shared/list/a", "/shared/list/b/*", "/shared/list/c-*"]
    for pattern in patterns:
        admin.share_secrets(TenantId="cust-12345", SecretPattern=pattern)
    admin.share_secrets(TenantId="cust-67890", SecretPattern="/shared/list/a", Actions=["DESCRIBE"])
    try:
        mine = admin.list_shares(TenantId="cust-12345")["Shares"]
        assert [s["SecretPattern"] for s in mine] == patterns
        assert all(s["Actions"] == ["READ"] for s in mine)
        seen: list[tuple[str, str]] = []
        parameters: dict[str, Any] = {"MaxResults": 1}
        while True:
            page = admin.list_shares(**parameters)
            assert len(page["Shares"]) <= 1
            seen.extend((s["TenantId"], s["SecretPattern"]) for s in page["Shares"])
            if "NextToken" not in page:
                break
            parameters["NextToken"] = page["NextToken"]
        assert seen == sorted(seen)
        assert {("cust-12345", p) for p in patterns} | {("cust-67890", "/shared/list/a")} <= set(
            seen
        )
        bad = _error(lambda: admin.list_shares(NextToken="not-a-token"))
        assert bad is not None
        assert bad[0] == "ValidationException"
    finally:
        for pattern in patterns:
            admin.unshare_secrets(TenantId="cust-12345", SecretPattern=pattern)
        admin.unshare_secrets(TenantId="cust-67890", SecretPattern="/shared/list/a")
    assert admin.list_shares(TenantId="cust-12345")["Shares"] == []


def test_share_changes_are_in_the_audit_trail(sharing_server: RunningServer, admin: Any) -> None:
    shared = admin.share_secrets(TenantId="cust-67890", SecretPattern="/shared/audit/*")
    unshared = admin.unshare_secrets(TenantId="cust-67890", SecretPattern="/shared/audit/*")
    trail = sharing_server.client("cloudtrail")
    for name, response in (("ShareSecrets", shared), ("UnshareSecrets", unshared)):
        request_id = response["ResponseMetadata"]["RequestId"]
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        [record] = [r for r in records if r["requestID"] == request_id]
        assert record["readOnly"] is False
        assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
        assert record["requestParameters"]["tenantId"] == "cust-67890"
        assert record["requestParameters"]["secretPattern"] == "/shared/audit/*"
        assert "errorCode" not in record or record["errorCode"] is None


def test_bad_shares_are_refused(admin: Any) -> None:
    for pattern in (
        "/customer/cust-67890/*",
        "/shared/../customer/cust-67890/db",
        "/shared//x",
        "/shared/*/x",
        "/shared/",
    ):
        refused = _error(
            lambda p=pattern: admin.share_secrets(TenantId="cust-12345", SecretPattern=p)
        )
        assert refused is not None, pattern
        assert refused[0] == "ValidationException", (pattern, refused)
    missing = _error(lambda: admin.share_secrets(TenantId="cust-99999", SecretPattern=STRIPE))
    assert missing is not None
    assert missing[0] == "ResourceNotFoundException"
    invalid = _error(lambda: admin.share_secrets(TenantId="CUST-1", SecretPattern=STRIPE))
    assert invalid is not None
    assert invalid[0] == "ValidationException"
    absent = _error(lambda: admin.unshare_secrets(TenantId="cust-12345", SecretPattern=TWILIO))
    assert absent is not None
    assert absent[0] == "ResourceNotFoundException"


def test_a_tenant_bound_caller_cannot_share_with_itself(
    sharing_server: RunningServer, deployer: Caller
) -> None:
    everything = allow(["*"], "*")
    session = _tenant_session(
        sharing_server, deployer, "cust-12345", "cust-12345-admin", everything
    )
    session_admin = admin_client(sharing_server)
    forged = boto3.Session(
        aws_access_key_id=session.access_key_id,
        aws_secret_access_key=session.secret_access_key,
        aws_session_token=session.session_token,
    )
    service_model.register(forged)
    own_admin = forged.client(
        "strongroom",
        endpoint_url=sharing_server.endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )
    refused = _error(
        lambda: own_admin.share_secrets(TenantId="cust-12345", SecretPattern="/shared/*")
    )
    assert _refused_by_guard(refused), refused
    assert session_admin.list_shares(TenantId="cust-12345")["Shares"] == []
    # Its own tenant's shares it may list (its policy allows it); never another tenant's.
    assert own_admin.list_shares(TenantId="cust-12345")["Shares"] == []
    assert _refused_by_guard(_error(lambda: own_admin.list_shares(TenantId="cust-67890")))


def test_a_suspended_tenants_principals_are_refused_everything(
    admin: Any, cust_12345: Caller
) -> None:
    admin.share_secrets(TenantId="cust-12345", SecretPattern=STRIPE)
    try:
        assert _describe(cust_12345, OWN) is None
        assert _read(cust_12345, STRIPE) is None
        admin.suspend_tenant(TenantId="cust-12345")
        try:
            for refused in (_describe(cust_12345, OWN), _read(cust_12345, STRIPE)):
                assert refused is not None
                assert refused[0] == "AccessDeniedException"
                assert "because tenant cust-12345 is suspended" in refused[1]
            sm = cust_12345.client("secretsmanager")
            listed = _error(lambda: sm.list_secrets())
            assert listed is not None
            assert "because tenant cust-12345 is suspended" in listed[1]
            # A suspended tenant is given no new share.
            state = _error(lambda: admin.share_secrets(TenantId="cust-12345", SecretPattern=TWILIO))
            assert state is not None
            assert state[0] == "InvalidStateException"
        finally:
            admin.resume_tenant(TenantId="cust-12345")
        assert _describe(cust_12345, OWN) is None
        assert _read(cust_12345, STRIPE) is None
    finally:
        admin.unshare_secrets(TenantId="cust-12345", SecretPattern=STRIPE)


def test_tagging_a_shared_secret_for_a_tenant_does_not_make_it_that_tenants(
    sharing_server: RunningServer, cust_12345: Caller
) -> None:
    sm = sharing_server.client("secretsmanager")
    sm.tag_resource(SecretId=TWILIO, Tags=principals.tags({"customer": "cust-12345"}))
    try:
        assert _refused_by_guard(_read(cust_12345, TWILIO))
    finally:
        sm.untag_resource(SecretId=TWILIO, TagKeys=["customer"])
