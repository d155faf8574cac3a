"""Each Secrets Manager operation asks the Authorizer the right question; denials change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from strongroom.authorization import AccessRequest, ResourcePolicy
from strongroom.errors import AccessDeniedException, ResourceNotFoundException
from strongroom.secretsmanager import service as service_module
from strongroom.secretsmanager import shapes as sm
from strongroom.secretsmanager.service import SecretsManagerService
from tests.support.secrets_service import Harness, call_context, service_harness

SECRET = "/customer/cust-1/db"
# Stored directly: these tests are about what is asked, not about the policy parser.
POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},'
    '"Action":"secretsmanager:DeleteSecret","Resource":"*"}]}'
)


@dataclass
class Fixture:
    harness: Harness
    arn: str
    current: str
    previous: str

    @property
    def service(self) -> SecretsManagerService:
        return self.harness.service


@pytest.fixture
def fx(tmp_path: Path) -> Iterator[Fixture]:
    with service_harness(tmp_path) as harness:
        ctx = call_context()
        created = harness.service.create_secret(
            ctx,
            sm.CreateSecretRequest(
                name=SECRET, secret_string="v1", tags=(sm.Tag("team", "payments"),)
            ),
        )
        put = harness.service.put_secret_value(
            ctx, sm.PutSecretValueRequest(SECRET, secret_string="v2")
        )
        harness.set_policy(created.arn, POLICY)
        assert created.version_id is not None
        yield Fixture(harness, created.arn, put.version_id, created.version_id)


@dataclass(frozen=True)
class Case:
    operation: str
    call: Callable[[Fixture], object]
    context: Callable[[Fixture], dict[str, object]]
    tag_keys_written: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.operation


def _id(fx: Fixture) -> dict[str, object]:
    return {"secretsmanager:SecretId": SECRET}


CASES = [
    Case(
        "GetSecretValue",
        lambda fx: fx.service.get_secret_value(
            call_context(), sm.GetSecretValueRequest(SECRET, version_stage="AWSPREVIOUS")
        ),
        lambda fx: {**_id(fx), "secretsmanager:VersionStage": "AWSPREVIOUS"},
    ),
    Case(
        "GetSecretValue",
        lambda fx: fx.service.get_secret_value(
            call_context(), sm.GetSecretValueRequest(SECRET, version_id=fx.previous)
        ),
        lambda fx: {**_id(fx), "secretsmanager:VersionId": fx.previous},
    ),
    Case(
        "DescribeSecret",
        lambda fx: fx.service.describe_secret(call_context(), sm.SecretIdRequest(SECRET)),
        _id,
    ),
    Case(
        "ListSecretVersionIds",
        lambda fx: fx.service.list_secret_version_ids(
            call_context(), sm.ListSecretVersionIdsRequest(SECRET)
        ),
        _id,
    ),
    Case(
        "PutSecretValue",
        lambda fx: fx.service.put_secret_value(
            call_context(), sm.PutSecretValueRequest(SECRET, secret_string="v3")
        ),
        _id,
    ),
    Case(
        "UpdateSecret",
        lambda fx: fx.service.update_secret(
            call_context(),
            sm.UpdateSecretRequest(
                SECRET, description="new", kms_key_id="alias/other", secret_string="v3"
            ),
        ),
        lambda fx: {
            **_id(fx),
            "secretsmanager:Description": "new",
            "secretsmanager:KmsKeyId": "alias/other",
        },
    ),
    Case(
        "UpdateSecretVersionStage",
        lambda fx: fx.service.update_secret_version_stage(
            call_context(),
            sm.UpdateSecretVersionStageRequest(SECRET, "TEST", move_to_version_id=fx.previous),
        ),
        lambda fx: {**_id(fx), "secretsmanager:VersionStage": "TEST"},
    ),
    Case(
        "DeleteSecret",
        lambda fx: fx.service.delete_secret(
            call_context(), sm.DeleteSecretRequest(SECRET, recovery_window_in_days=7)
        ),
        lambda fx: {**_id(fx), "secretsmanager:RecoveryWindowInDays": "7"},
    ),
    Case(
        "DeleteSecret",
        lambda fx: fx.service.delete_secret(
            call_context(), sm.DeleteSecretRequest(fx.arn, force_delete_without_recovery=True)
        ),
        lambda fx: {
            "secretsmanager:SecretId": fx.arn,
            "secretsmanager:ForceDeleteWithoutRecovery": "true",
        },
    ),
    Case(
        "RestoreSecret",
        lambda fx: fx.service.restore_secret(call_context(), sm.SecretIdRequest(SECRET)),
        _id,
    ),
    Case(
        "TagResource",
        lambda fx: fx.service.tag_resource(
            call_context(), sm.TagResourceRequest(SECRET, (sm.Tag("env", "prod"),))
        ),
        lambda fx: {**_id(fx), "aws:RequestTag/env": "prod", "aws:TagKeys": ("env",)},
        frozenset({"env"}),
    ),
    Case(
        "UntagResource",
        lambda fx: fx.service.untag_resource(
            call_context(), sm.UntagResourceRequest(SECRET, ("team",))
        ),
        lambda fx: {**_id(fx), "aws:TagKeys": ("team",)},
        frozenset({"team"}),
    ),
    Case(
        "GetResourcePolicy",
        lambda fx: fx.service.get_resource_policy(call_context(), sm.ResourcePolicyRequest(SECRET)),
        _id,
    ),
    Case(
        "DeleteResourcePolicy",
        lambda fx: fx.service.delete_resource_policy(
            call_context(), sm.ResourcePolicyRequest(SECRET)
        ),
        _id,
    ),
    Case(
        "ListResourcePolicies",
        lambda fx: fx.service.list_resource_policies(
            call_context(), sm.ListResourcePoliciesRequest(SECRET)
        ),
        _id,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_operation_asks_for_its_action_on_the_secret(fx: Fixture, case: Case) -> None:
    with fx.harness.denying(lambda request: False) as authorizer:
        case.call(fx)
    request = authorizer.asked[0]
    assert request == AccessRequest(
        action=f"secretsmanager:{case.operation}",
        resource=fx.arn,
        context=case.context(fx),  # type: ignore[arg-type]
        resource_tags={"team": "payments"},
        resource_policy=ResourcePolicy(POLICY),
        resource_tenant="cust-1",
        tag_keys_written=case.tag_keys_written,
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_denied_operation_changes_nothing_and_uses_no_key(fx: Fixture, case: Case) -> None:
    before = fx.harness.snapshot()
    action = f"secretsmanager:{case.operation}"
    with (
        fx.harness.denying(lambda request: request.action == action),
        pytest.raises(AccessDeniedException, match=re.escape(action)),
    ):
        case.call(fx)
    assert fx.harness.snapshot() == before
    assert fx.harness.data_keys.calls == []


def test_the_secret_is_resolved_before_anything_is_asked(fx: Fixture) -> None:
    missing = "/customer/cust-1/no"
    with fx.harness.denying(lambda request: True) as authorizer:
        with pytest.raises(ResourceNotFoundException):
            fx.service.describe_secret(call_context(), sm.SecretIdRequest(missing))
        with pytest.raises(ResourceNotFoundException):
            fx.service.put_secret_value(
                call_context(), sm.PutSecretValueRequest(missing, secret_string="x")
            )
    assert authorizer.asked == []


def test_create_secret_is_asked_on_the_arn_it_gets_before_writing(fx: Fixture) -> None:
    name = "/customer/cust-2/new"
    request = sm.CreateSecretRequest(
        name=name,
        secret_string="v",
        description="about",
        kms_key_id="alias/aws/secretsmanager",
        tags=(sm.Tag("customer", "cust-2"), sm.Tag("env", "prod")),
    )
    with (
        fx.harness.denying(lambda request: True) as authorizer,
        pytest.raises(AccessDeniedException),
    ):
        fx.service.create_secret(call_context(), request)
    asked = authorizer.last("secretsmanager:CreateSecret")
    assert re.fullmatch(
        r"arn:aws:secretsmanager:us-east-1:123456789012:secret:/customer/cust-2/new-\w{6}",
        asked.resource,
    )
    assert asked.context == {
        "secretsmanager:Name": name,
        "secretsmanager:Description": "about",
        "secretsmanager:KmsKeyId": "alias/aws/secretsmanager",
        "aws:RequestTag/customer": "cust-2",
        "aws:RequestTag/env": "prod",
        "aws:TagKeys": ("customer", "env"),
    }
    assert asked.resource_tags == {"customer": "cust-2", "env": "prod"}
    assert asked.resource_tenant == "cust-2"
    assert asked.request_tenants == frozenset({"cust-2"})
    assert asked.tag_keys_written == frozenset({"customer", "env"})
    assert asked.resource_policy is None
    assert fx.harness.data_keys.calls == []  # refused before any data key was made
    with pytest.raises(ResourceNotFoundException):
        fx.service.describe_secret(call_context(), sm.SecretIdRequest(name))

    with fx.harness.denying(lambda request: False) as authorizer:
        created = fx.service.create_secret(call_context(), request)
    assert authorizer.last("secretsmanager:CreateSecret").resource == created.arn


def test_a_secret_outside_customer_names_belongs_to_the_tenant_of_its_tag(fx: Fixture) -> None:
    ctx = call_context()
    fx.service.create_secret(
        ctx, sm.CreateSecretRequest(name="shared/x", tags=(sm.Tag("customer", "cust-9"),))
    )
    with fx.harness.denying(lambda request: False) as authorizer:
        fx.service.describe_secret(ctx, sm.SecretIdRequest("shared/x"))
        fx.service.tag_resource(
            ctx, sm.TagResourceRequest("shared/x", (sm.Tag("customer", "cust-3"),))
        )
    assert authorizer.last("secretsmanager:DescribeSecret").resource_tenant == "cust-9"
    tagging = authorizer.last("secretsmanager:TagResource")
    assert tagging.request_tenants == frozenset({"cust-3"})
    assert tagging.tag_keys_written == frozenset({"customer"})


def test_the_tenant_tag_key_is_configurable(tmp_path: Path) -> None:
    with service_harness(tmp_path, tenant_tag_key="tenant") as harness:
        ctx = call_context()
        harness.service.create_secret(
            ctx,
            sm.CreateSecretRequest(
                name="app/x", tags=(sm.Tag("customer", "a"), sm.Tag("tenant", "b"))
            ),
        )
        harness.service.describe_secret(ctx, sm.SecretIdRequest("app/x"))
    assert harness.authorizer.last("secretsmanager:DescribeSecret").resource_tenant == "b"


def test_get_random_password_is_asked_on_no_resource(fx: Fixture) -> None:
    with fx.harness.denying(lambda request: False) as authorizer:
        fx.service.get_random_password(call_context(), sm.GetRandomPasswordRequest())
    assert authorizer.asked == [AccessRequest("secretsmanager:GetRandomPassword", "*")]
    with fx.harness.denying(lambda request: True), pytest.raises(AccessDeniedException):
        fx.service.get_random_password(call_context(), sm.GetRandomPasswordRequest())


def _make(fx: Fixture, names: list[str]) -> None:
    for name in names:
        fx.service.create_secret(call_context(), sm.CreateSecretRequest(name=name))
        fx.harness.clock.advance(timedelta(seconds=1))


def _all_pages(fx: Fixture, max_results: int) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        result = fx.service.list_secrets(
            call_context(),
            sm.ListSecretsRequest(max_results=max_results, next_token=token, sort_order="asc"),
        )
        pages.append([entry.name for entry in result.secret_list])
        token = result.next_token
        if token is None:
            return pages


def test_list_secrets_returns_only_what_the_caller_may_describe(fx: Fixture) -> None:
    _make(fx, [f"app/s{i}" for i in range(7)])
    hidden = {"app/s1", "app/s2", "app/s5", SECRET}

    def deny(request: AccessRequest) -> bool:
        return request.action == "secretsmanager:DescribeSecret" and any(
            request.resource.endswith(f":secret:{name}") or f":secret:{name}-" in request.resource
            for name in hidden
        )

    with fx.harness.denying(deny) as authorizer:
        pages = _all_pages(fx, 2)
    assert [name for page in pages for name in page] == ["app/s0", "app/s3", "app/s4", "app/s6"]
    assert all(len(page) <= 2 for page in pages)
    assert AccessRequest("secretsmanager:ListSecrets", "*") in authorizer.asked
    described = [r for r in authorizer.asked if r.action == "secretsmanager:DescribeSecret"]
    assert all(r.context == {"secretsmanager:SecretId": r.resource} for r in described)

    with (
        fx.harness.denying(lambda request: request.action == "secretsmanager:ListSecrets"),
        pytest.raises(AccessDeniedException),
    ):
        fx.service.list_secrets(call_context(), sm.ListSecretsRequest())


def test_a_listing_page_stops_after_its_decision_budget_with_a_token_to_go_on(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "MAX_LISTING_DECISIONS", 3)
    _make(fx, [f"app/s{i}" for i in range(7)])

    def deny(request: AccessRequest) -> bool:
        return request.action == "secretsmanager:DescribeSecret" and ":secret:app/s6-" not in (
            request.resource
        )

    with fx.harness.denying(deny):
        pages = _all_pages(fx, 10)
    assert pages[0] == []  # nothing visible among the first three looked at
    assert [name for page in pages for name in page] == ["app/s6"]
    assert len(pages) == 3  # 8 secrets, 3 decisions a page


def test_batch_get_by_id_reports_a_denied_secret_in_errors(fx: Fixture) -> None:
    _make(fx, ["app/open"])
    fx.service.put_secret_value(
        call_context(), sm.PutSecretValueRequest("app/open", secret_string="o")
    )

    def deny(request: AccessRequest) -> bool:
        return request.action == "secretsmanager:GetSecretValue" and request.resource == fx.arn

    with fx.harness.denying(deny) as authorizer:
        result = fx.service.batch_get_secret_value(
            call_context(), sm.BatchGetSecretValueRequest(secret_id_list=(SECRET, "app/open"))
        )
    assert [v.name for v in result.secret_values] == ["app/open"]
    assert [(e.secret_id, e.error_code) for e in result.errors] == [
        (SECRET, "AccessDeniedException")
    ]
    assert authorizer.asked[0] == AccessRequest("secretsmanager:BatchGetSecretValue", "*")
    assert "secretsmanager:ListSecrets" not in authorizer.actions()

    with (
        fx.harness.denying(lambda r: r.action == "secretsmanager:BatchGetSecretValue"),
        pytest.raises(AccessDeniedException),
    ):
        fx.service.batch_get_secret_value(
            call_context(), sm.BatchGetSecretValueRequest(secret_id_list=("app/open",))
        )


def test_batch_get_by_filter_returns_only_readable_secrets(fx: Fixture) -> None:
    for name in ("app/a", "app/b", "app/c"):
        fx.service.create_secret(call_context(), sm.CreateSecretRequest(name, secret_string="x"))

    def deny(request: AccessRequest) -> bool:
        return request.action == "secretsmanager:GetSecretValue" and ":secret:app/b-" in (
            request.resource
        )

    with fx.harness.denying(deny) as authorizer:
        result = fx.service.batch_get_secret_value(
            call_context(),
            sm.BatchGetSecretValueRequest(filters=(sm.Filter("name", ("app/",)),)),
        )
    assert sorted(v.name for v in result.secret_values) == ["app/a", "app/c"]
    assert result.errors == ()
    assert AccessRequest("secretsmanager:BatchGetSecretValue", "*") in authorizer.asked
    assert AccessRequest("secretsmanager:ListSecrets", "*") in authorizer.asked

    with (
        fx.harness.denying(lambda r: r.action == "secretsmanager:ListSecrets"),
        pytest.raises(AccessDeniedException),
    ):
        fx.service.batch_get_secret_value(
            call_context(),
            sm.BatchGetSecretValueRequest(filters=(sm.Filter("name", ("app/",)),)),
        )


def test_a_write_asks_again_when_the_secret_was_retagged_after_it_was_authorized(
    fx: Fixture,
) -> None:
    """The write re-reads the secret; tags changed since the check mean a second question."""
    real_seal = fx.service._seal

    def seal_and_retag(*args: object, **kwargs: object) -> object:
        sealed = real_seal(*args, **kwargs)  # type: ignore[arg-type]
        with fx.harness.denying(lambda request: False):
            fx.service.tag_resource(
                call_context(), sm.TagResourceRequest(SECRET, (sm.Tag("team", "other"),))
            )
        fx.harness.authorizer.deny = lambda request: request.resource_tags.get("team") == "other"
        return sealed

    before = fx.harness.snapshot()
    fx.service._seal = seal_and_retag  # type: ignore[method-assign, assignment]
    with pytest.raises(AccessDeniedException):
        fx.service.put_secret_value(
            call_context(), sm.PutSecretValueRequest(SECRET, secret_string="v9")
        )
    after = fx.harness.snapshot()
    assert after["secret_versions"] == before["secret_versions"]
    assert after["secret_stages"] == before["secret_stages"]
