"""The multi-tenant article's policies, verbatim, enforced through boto3 with each role's keys.

`../shared/reference/article-multi-tenant-secret-storage.txt`: the ARN-wildcard policy on
`/customer/cust-12345/*` plus `/shared/*`, the ABAC policy matching
`secretsmanager:ResourceTag/customer` to `${aws:PrincipalTag/customer}`, the Stripe-only
sharing policy, and the shared service that assumes a tenant role with a session tag.

The article's `/shared/*` statements reach shared secrets only through the tenant guard's
one door: cust-12345 holds a share of `/shared/vendor/*`; cust-67890 holds none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import principals
from tests.support.principals import Caller, allow, assume, role, user
from tests.support.server import (
    RunningServer,
    start_server,
)

pytestmark = pytest.mark.contract

# Verbatim from the article (account 123456789012 and us-east-1 are the dev defaults).
ARN_WILDCARD_POLICY = json.loads("""
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
ABAC_POLICY = json.loads("""
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "secretsmanager:GetSecretValue"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "secretsmanager:ResourceTag/customer": "${aws:PrincipalTag/customer}"
        }
      }
    }
  ]
}
""")
STRIPE_ONLY_POLICY = json.loads("""
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["secretsmanager:GetSecretValue"],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-12345/*"
    },
    {
      "Effect": "Allow",
      "Action": ["secretsmanager:GetSecretValue"],
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:/shared/vendor/stripe/*"
    }
  ]
}
""")

SECRETS = {
    "/customer/cust-12345/db-password": "cust-12345",
    "/customer/cust-12345/api-key-stripe": "cust-12345",
    "/customer/cust-67890/db-password": "cust-67890",
    "/customer/cust-123456/db-password": "cust-123456",
    "/shared/vendor/stripe/api-key": None,
    "/shared/vendor/twilio/api-key": None,
}


@pytest.fixture(scope="module")
def article_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(Path(tmp_path_factory.mktemp("article-identity")))
    try:
        sm = running.client("secretsmanager")
        for name, tenant in SECRETS.items():
            tag_list = principals.tags({"customer": tenant}) if tenant else []
            sm.create_secret(Name=name, SecretString=f"value of {name}", Tags=tag_list)
        # The tenants come after their secrets, so the secrets stay under the account's
        # default key (the article's policies grant no KMS permission for a tenant key).
        admin = running.client("strongroom")
        for tenant in ("cust-12345", "cust-67890"):
            admin.create_tenant(TenantId=tenant)
        admin.share_secrets(TenantId="cust-12345", SecretPattern="/shared/vendor/*")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def deployer(article_server: RunningServer) -> Caller:
    """The platform's deploy/shared-service identity: it may assume any role."""
    return user(
        article_server,
        "deployer",
        policies={"assume": allow(["sts:AssumeRole", "sts:TagSession"])},
    )


def _error_code(call: Callable[[], object]) -> str | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return None


def _reads(caller: Caller, name: str) -> bool:
    sm = caller.client("secretsmanager")
    code = _error_code(lambda: sm.get_secret_value(SecretId=name))
    assert code in (None, "AccessDeniedException"), code
    if code is None:
        assert sm.get_secret_value(SecretId=name)["SecretString"] == f"value of {name}"
    return code is None


def _describes(caller: Caller, name: str) -> bool:
    sm = caller.client("secretsmanager")
    code = _error_code(lambda: sm.describe_secret(SecretId=name))
    assert code in (None, "AccessDeniedException"), code
    return code is None


def test_arn_wildcard_policy_reads_its_customer_and_shared_secrets_only(
    article_server: RunningServer, deployer: Caller
) -> None:
    arn = role(
        article_server,
        "cust-12345-service",
        policies={"secrets": ARN_WILDCARD_POLICY},
        role_tags={"customer": "cust-12345"},
    )
    service = assume(deployer, arn, "ecs-task")
    readable = {name for name in SECRETS if _reads(service, name)}
    assert readable == {
        "/customer/cust-12345/db-password",
        "/customer/cust-12345/api-key-stripe",
        "/shared/vendor/stripe/api-key",
        "/shared/vendor/twilio/api-key",
    }
    describable = {name for name in SECRETS if _describes(service, name)}
    assert describable == {
        "/customer/cust-12345/db-password",
        "/customer/cust-12345/api-key-stripe",
    }
    with pytest.raises(ClientError) as denied:
        service.client("secretsmanager").put_secret_value(
            SecretId="/customer/cust-12345/db-password", SecretString="overwritten"
        )
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    message = denied.value.response["Error"]["Message"]
    assert message.startswith(f"User: {service.arn} is not authorized to perform: ")
    assert "secretsmanager:PutSecretValue" in message
    assert (
        "because no identity-based policy allows the secretsmanager:PutSecretValue action"
        in message
    )


def test_abac_policy_matches_the_resource_tag_to_the_principal_tag(
    article_server: RunningServer, deployer: Caller
) -> None:
    tagged = role(
        article_server,
        "cust-67890-service",
        policies={"secrets": ABAC_POLICY},
        role_tags={"customer": "cust-67890"},
    )
    service = assume(deployer, tagged, "lambda")
    readable = {name for name in SECRETS if _reads(service, name)}
    assert readable == {"/customer/cust-67890/db-password"}
    # The policy grants GetSecretValue only.
    assert not _describes(service, "/customer/cust-67890/db-password")


def test_shared_service_assumes_a_tenant_role_with_a_session_tag(
    article_server: RunningServer, deployer: Caller
) -> None:
    fetcher = role(article_server, "secrets-fetcher", policies={"secrets": ABAC_POLICY})
    for tenant in ("cust-12345", "cust-67890"):
        session = assume(deployer, fetcher, f"for-{tenant}", session_tags={"customer": tenant})
        readable = {name for name in SECRETS if _reads(session, name)}
        assert readable == {n for n, t in SECRETS.items() if t == tenant}
    untagged = assume(deployer, fetcher, "no-tenant")
    assert not any(_reads(untagged, name) for name in SECRETS)


def test_a_tenant_session_never_reaches_another_tenant_even_with_a_broad_policy(
    article_server: RunningServer, deployer: Caller
) -> None:
    broad = allow(["secretsmanager:GetSecretValue"], "arn:aws:secretsmanager:*:*:secret:*")
    arn = role(article_server, "broad-fetcher", policies={"secrets": broad})
    session = assume(deployer, arn, "cust-12345-job", session_tags={"customer": "cust-12345"})
    readable = {name for name in SECRETS if _reads(session, name)}
    # The tenant guard refuses the other tenants; the shared secrets come through
    # cust-12345's share.
    assert readable == {
        "/customer/cust-12345/db-password",
        "/customer/cust-12345/api-key-stripe",
        "/shared/vendor/stripe/api-key",
        "/shared/vendor/twilio/api-key",
    }
    with pytest.raises(ClientError) as denied:
        session.client("secretsmanager").get_secret_value(
            SecretId="/customer/cust-67890/db-password"
        )
    assert "tenant guard" in denied.value.response["Error"]["Message"]
    # cust-67890 holds no share: the same broad policy reaches its own secret only.
    other = assume(deployer, arn, "cust-67890-job", session_tags={"customer": "cust-67890"})
    assert {name for name in SECRETS if _reads(other, name)} == {"/customer/cust-67890/db-password"}
    with pytest.raises(ClientError) as unshared:
        other.client("secretsmanager").get_secret_value(SecretId="/shared/vendor/stripe/api-key")
    assert "tenant guard" in unshared.value.response["Error"]["Message"]


def test_stripe_only_sharing_policy(article_server: RunningServer, deployer: Caller) -> None:
    arn = role(
        article_server,
        "cust-12345-stripe",
        policies={"secrets": STRIPE_ONLY_POLICY},
        role_tags={"customer": "cust-12345"},
    )
    service = assume(deployer, arn, "billing")
    readable = {name for name in SECRETS if _reads(service, name)}
    assert readable == {
        "/customer/cust-12345/db-password",
        "/customer/cust-12345/api-key-stripe",
        "/shared/vendor/stripe/api-key",
    }


def test_a_session_cannot_retag_itself_into_another_tenant(
    article_server: RunningServer, deployer: Caller
) -> None:
    admin_policy: dict[str, Any] = allow(["secretsmanager:*", "sts:AssumeRole", "sts:TagSession"])
    arn = role(
        article_server,
        "cust-12345-admin",
        policies={"all": admin_policy},
        role_tags={"customer": "cust-12345"},
    )
    session = assume(deployer, arn, "admin")
    sm = session.client("secretsmanager")
    with pytest.raises(ClientError) as retag:
        sm.tag_resource(
            SecretId="/shared/vendor/twilio/api-key",
            Tags=principals.tags({"customer": "cust-12345"}),
        )
    assert retag.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as untag:
        sm.untag_resource(SecretId="/customer/cust-12345/db-password", TagKeys=["customer"])
    assert untag.value.response["Error"]["Code"] == "AccessDeniedException"
    # Chaining into a role with a forged session tag is refused too.
    with pytest.raises(ClientError) as chained:
        assume(session, arn, "forged", session_tags={"customer": "cust-67890"})
    assert chained.value.response["Error"]["Code"] == "AccessDenied"
