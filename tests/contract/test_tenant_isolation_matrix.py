"""Cross-tenant matrix: tenants, principals, every Secrets Manager and KMS operation, targets.

Eight tenants with adversarial ids (`cust-1` beside `cust-12`, `cust-1x`, `cust-10`,
`cust-1-2`, ...). Each has a tenant admin (IAM user), a tenant reader (an assumed-role
session) and a principal with no permissions, all bound to the tenant by the `customer`
tag. Every principal calls every operation on every tenant's secret and key: a call
succeeds exactly when the target is its own tenant and its policy grants the operation
(zero over-allows, zero over-denials). The same matrix with a deliberately over-broad
policy (the `/customer/cust-1*` typo, `kms:*` on `*`) gives the same answers, because
the tenant guard refuses every cross-tenant call whatever the policy says.

The default run keeps every tenant, every operation and every principal kind, and tries
every ordered pair of tenants, but each cross-tenant pair with one principal kind only
(rotating, so each kind meets two or three other tenants' targets from each tenant) while
a tenant's own target meets all its kinds. ``-m slow`` runs the full product, every kind
on every pair, with and without the typo.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import principals
from tests.support.principals import ACCOUNT, Caller, allow, assume, role, user
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.contract

TENANTS = ("cust-1", "cust-12", "cust-1x", "cust-10", "cust-2", "cust-1-2", "cust-l", "cust-i1")
SECRET = "/customer/{}/db-password"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/{{}}/*"
ADMIN, READER, NOBODY = "admin", "reader", "nobody"

Op = Callable[["Target", Any], Any]


@dataclass(frozen=True)
class Target:
    tenant: str
    secret_name: str
    secret_arn: str
    version_id: str
    key_id: str
    key_arn: str
    ciphertext: bytes

    @property
    def context(self) -> dict[str, str]:
        return {"tenant_id": self.tenant}


def _tenant_admin_policy(tenant: str, *, typo: bool) -> dict[str, Any]:
    secrets = (
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/{tenant}*"
        if typo
        else SECRET_ARN.format(tenant)
    )
    keys: dict[str, Any] = (
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
        if typo
        else {
            "Effect": "Allow",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/customer": "${aws:PrincipalTag/customer}"}
            },
        }
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": secrets},
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"],
                "Resource": "*",
            },
            keys,
        ],
    }


def _tenant_reader_policy(tenant: str, key_arn: str, *, typo: bool) -> dict[str, Any]:
    secrets = (
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/customer/{tenant}*"
        if typo
        else SECRET_ARN.format(tenant)
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": secrets,
            },
            {
                "Effect": "Allow",
                "Action": "secretsmanager:BatchGetSecretValue",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*" if typo else key_arn,
            },
        ],
    }


# -- the operations: (service, call); each leaves the target as it found it ----------


def _batch_get(t: Target, sm: Any) -> Any:
    result = sm.batch_get_secret_value(SecretIdList=[t.secret_name])
    if result["Errors"]:  # a denied secret is reported per entry, as AWS does
        error = result["Errors"][0]
        raise ClientError(
            {"Error": {"Code": error["ErrorCode"], "Message": error.get("Message", "")}},
            "BatchGetSecretValue",
        )
    assert result["SecretValues"][0]["Name"] == t.secret_name
    return result


def _benign_policy(t: Target) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/nobody-at-all"},
                    "Action": "secretsmanager:DeleteSecret",
                    "Resource": "*",
                }
            ],
        }
    )


SECRETS_MANAGER_OPS: dict[str, Op] = {
    "GetSecretValue": lambda t, sm: sm.get_secret_value(SecretId=t.secret_name),
    "GetSecretValue(arn)": lambda t, sm: sm.get_secret_value(SecretId=t.secret_arn),
    "DescribeSecret": lambda t, sm: sm.describe_secret(SecretId=t.secret_name),
    "ListSecretVersionIds": lambda t, sm: sm.list_secret_version_ids(SecretId=t.secret_name),
    "BatchGetSecretValue": _batch_get,
    "PutSecretValue": lambda t, sm: sm.put_secret_value(
        SecretId=t.secret_name, SecretString="rotated", VersionStages=["MATRIX"]
    ),
    "UpdateSecret": lambda t, sm: sm.update_secret(SecretId=t.secret_name, Description="d"),
    "UpdateSecretVersionStage": lambda t, sm: sm.update_secret_version_stage(
        SecretId=t.secret_name, VersionStage="PINNED", MoveToVersionId=t.version_id
    ),
    "TagResource": lambda t, sm: sm.tag_resource(
        SecretId=t.secret_name, Tags=[{"Key": "env", "Value": "test"}]
    ),
    "UntagResource": lambda t, sm: sm.untag_resource(SecretId=t.secret_name, TagKeys=["env"]),
    "GetResourcePolicy": lambda t, sm: sm.get_resource_policy(SecretId=t.secret_name),
    "PutResourcePolicy": lambda t, sm: sm.put_resource_policy(
        SecretId=t.secret_name, ResourcePolicy=_benign_policy(t)
    ),
    "DeleteResourcePolicy": lambda t, sm: sm.delete_resource_policy(SecretId=t.secret_name),
    "ValidateResourcePolicy": lambda t, sm: sm.validate_resource_policy(
        SecretId=t.secret_name, ResourcePolicy=_benign_policy(t)
    ),
    "CreateSecret": lambda t, sm: sm.create_secret(
        Name=f"/customer/{t.tenant}/new-{uuid.uuid4().hex[:8]}", SecretString="new"
    ),
    "DeleteSecret": lambda t, sm: sm.delete_secret(SecretId=t.secret_name),
    "RestoreSecret": lambda t, sm: sm.restore_secret(SecretId=t.secret_name),
}

KMS_OPS: dict[str, Op] = {
    "Encrypt": lambda t, kms: kms.encrypt(
        KeyId=t.key_id, Plaintext=b"data", EncryptionContext=t.context
    ),
    "Decrypt": lambda t, kms: kms.decrypt(CiphertextBlob=t.ciphertext, EncryptionContext=t.context),
    "Decrypt(KeyId)": lambda t, kms: kms.decrypt(
        CiphertextBlob=t.ciphertext, EncryptionContext=t.context, KeyId=t.key_arn
    ),
    "GenerateDataKey": lambda t, kms: kms.generate_data_key(
        KeyId=t.key_id, KeySpec="AES_256", EncryptionContext=t.context
    ),
    "GenerateDataKeyWithoutPlaintext": lambda t, kms: kms.generate_data_key_without_plaintext(
        KeyId=t.key_id, KeySpec="AES_256", EncryptionContext=t.context
    ),
    "ReEncrypt": lambda t, kms: kms.re_encrypt(
        CiphertextBlob=t.ciphertext,
        SourceEncryptionContext=t.context,
        DestinationKeyId=t.key_id,
        DestinationEncryptionContext=t.context,
    ),
    "DescribeKey": lambda t, kms: kms.describe_key(KeyId=t.key_id),
    "DescribeKey(alias)": lambda t, kms: kms.describe_key(KeyId=f"alias/tenant/{t.tenant}"),
    "GetKeyPolicy": lambda t, kms: kms.get_key_policy(KeyId=t.key_id, PolicyName="default"),
    "ListResourceTags": lambda t, kms: kms.list_resource_tags(KeyId=t.key_id),
    "TagResource": lambda t, kms: kms.tag_resource(
        KeyId=t.key_id, Tags=[{"TagKey": "env", "TagValue": "test"}]
    ),
    "UntagResource": lambda t, kms: kms.untag_resource(KeyId=t.key_id, TagKeys=["env"]),
    "UpdateKeyDescription": lambda t, kms: kms.update_key_description(
        KeyId=t.key_id, Description="tenant key"
    ),
    "GetKeyRotationStatus": lambda t, kms: kms.get_key_rotation_status(KeyId=t.key_id),
    "EnableKeyRotation": lambda t, kms: kms.enable_key_rotation(KeyId=t.key_id),
    "ListGrants": lambda t, kms: kms.list_grants(KeyId=t.key_id),
    "CreateGrant": lambda t, kms: kms.create_grant(
        KeyId=t.key_id,
        GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root",
        Operations=["Decrypt"],
        Name="matrix-grant",
    ),
    "EnableKey": lambda t, kms: kms.enable_key(KeyId=t.key_id),
    "DisableKey": lambda t, kms: kms.disable_key(KeyId=t.key_id),
    "ScheduleKeyDeletion": lambda t, kms: kms.schedule_key_deletion(
        KeyId=t.key_id, PendingWindowInDays=7
    ),
}

READER_OPS = {
    ("secretsmanager", "GetSecretValue"),
    ("secretsmanager", "GetSecretValue(arn)"),
    ("secretsmanager", "DescribeSecret"),
    ("secretsmanager", "BatchGetSecretValue"),
    ("kms", "Decrypt"),
    ("kms", "Decrypt(KeyId)"),
    ("kms", "DescribeKey"),
    ("kms", "DescribeKey(alias)"),
}
# CreateSecret's target is a new name under the tenant, so "own tenant" is what counts.
ALL_OPS = [("secretsmanager", n) for n in SECRETS_MANAGER_OPS] + [("kms", n) for n in KMS_OPS]
# Operations that change nothing of the target: no restore is needed after them.
READ_ONLY_OPS = {
    ("secretsmanager", "GetSecretValue"),
    ("secretsmanager", "GetSecretValue(arn)"),
    ("secretsmanager", "DescribeSecret"),
    ("secretsmanager", "ListSecretVersionIds"),
    ("secretsmanager", "BatchGetSecretValue"),
    ("secretsmanager", "GetResourcePolicy"),
    ("secretsmanager", "ValidateResourcePolicy"),
    ("kms", "Encrypt"),
    ("kms", "Decrypt"),
    ("kms", "Decrypt(KeyId)"),
    ("kms", "GenerateDataKey"),
    ("kms", "GenerateDataKeyWithoutPlaintext"),
    ("kms", "ReEncrypt"),
    ("kms", "DescribeKey"),
    ("kms", "DescribeKey(alias)"),
    ("kms", "GetKeyPolicy"),
    ("kms", "ListResourceTags"),
    ("kms", "GetKeyRotationStatus"),
    ("kms", "ListGrants"),
}


def _restore(root_sm: Any, root_kms: Any, t: Target) -> None:
    """Undo whatever an allowed mutating call did, as root."""
    described = root_sm.describe_secret(SecretId=t.secret_name)
    if "DeletedDate" in described:
        root_sm.restore_secret(SecretId=t.secret_name)
    metadata = root_kms.describe_key(KeyId=t.key_id)["KeyMetadata"]
    if metadata["KeyState"] == "PendingDeletion":
        root_kms.cancel_key_deletion(KeyId=t.key_id)
    if metadata["KeyState"] != "Enabled" or not metadata["Enabled"]:
        root_kms.enable_key(KeyId=t.key_id)
    for grant in root_kms.list_grants(KeyId=t.key_id)["Grants"]:
        root_kms.revoke_grant(KeyId=t.key_id, GrantId=grant["GrantId"])


@dataclass
class World:
    server: RunningServer
    targets: dict[str, Target]
    callers: dict[tuple[str, str, bool], Caller]  # (tenant, kind, typo) -> caller


def _build_world(server: RunningServer) -> World:
    sm, kms = server.client("secretsmanager"), server.client("kms")
    targets: dict[str, Target] = {}
    for tenant in TENANTS:
        tenant_tag = principals.tags({"customer": tenant})
        created = sm.create_secret(
            Name=SECRET.format(tenant), SecretString=f"secret of {tenant}", Tags=tenant_tag
        )
        key = kms.create_key(
            Description=f"{tenant} key",
            Tags=[{"TagKey": "customer", "TagValue": tenant}],
        )["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/tenant/{tenant}", TargetKeyId=key["KeyId"])
        blob = kms.encrypt(
            KeyId=key["KeyId"], Plaintext=b"tenant data", EncryptionContext={"tenant_id": tenant}
        )["CiphertextBlob"]
        targets[tenant] = Target(
            tenant,
            SECRET.format(tenant),
            created["ARN"],
            created["VersionId"],
            key["KeyId"],
            key["Arn"],
            blob,
        )
    deployer = user(
        server, "matrix-deployer", policies={"assume": allow(["sts:AssumeRole", "sts:TagSession"])}
    )
    callers: dict[tuple[str, str, bool], Caller] = {}
    for typo in (False, True):
        suffix = "-typo" if typo else ""
        for tenant in TENANTS:
            tenant_tags = {"customer": tenant}
            callers[(tenant, ADMIN, typo)] = user(
                server,
                f"{tenant}-admin{suffix}",
                policies={"tenant": _tenant_admin_policy(tenant, typo=typo)},
                user_tags=tenant_tags,
            )
            reader_role = role(
                server,
                f"{tenant}-reader{suffix}",
                policies={
                    "tenant": _tenant_reader_policy(tenant, targets[tenant].key_arn, typo=typo)
                },
                role_tags=tenant_tags,
            )
            callers[(tenant, READER, typo)] = assume(deployer, reader_role, "matrix")
            if not typo:
                callers[(tenant, NOBODY, typo)] = user(
                    server, f"{tenant}-nobody", user_tags=tenant_tags
                )
    return World(server, targets, callers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Isolation, not quotas: the matrix's burst of writes per tenant would otherwise be
    # throttled (ThrottlingException) before the guard and the policies are reached.
    running = start_server(
        Path(tmp_path_factory.mktemp("matrix")), "--default-tenant-tier", "unlimited"
    )
    try:
        yield _build_world(running)
    finally:
        running.stop()


def _error_code(call: Callable[[], object]) -> str | None:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return None


def _expected(kind: str, service: str, op: str, own: bool) -> bool:
    if not own or kind == NOBODY:
        return False
    return kind == ADMIN or (service, op) in READER_OPS


Cell = tuple[str, str, str]  # (principal's tenant, principal kind, target's tenant)


def _kinds(typo: bool) -> tuple[str, ...]:
    return (ADMIN, READER) if typo else (ADMIN, READER, NOBODY)


def _every_cell(principal_tenants: tuple[str, ...], typo: bool) -> list[Cell]:
    """Every kind of each principal tenant against every tenant's target."""
    return [(p, k, t) for p in principal_tenants for k in _kinds(typo) for t in TENANTS]


def _rotated_cells(
    principal_tenants: tuple[str, ...], typo: bool, *, in_full: tuple[str, ...] = ()
) -> list[Cell]:
    """Every kind against its own tenant's target; each other tenant's target against one
    kind, in turn: the n-th tenant after the principal's own (in TENANTS, round) meets kind
    n modulo the number of kinds. Tenants in ``in_full``: every kind on every target."""
    kinds = _kinds(typo)
    cells = []
    for p in principal_tenants:
        i = TENANTS.index(p)
        for k, kind in enumerate(kinds):
            for j, target in enumerate(TENANTS):
                after = (j - i) % len(TENANTS)  # 0 for its own tenant
                if after == 0 or p in in_full or (after - 1) % len(kinds) == k:
                    cells.append((p, kind, target))
    return cells


def _assert_rotation_covers(cells: list[Cell], typo: bool) -> None:
    """The sample still holds what the matrix is for: every ordered pair of tenants, every
    kind against its own target and against at least two other tenants' targets, and every
    target met by every kind from at least two other tenants."""
    principal_tenants = {p for p, _, _ in cells}
    pairs = {(p, t) for p, _, t in cells}
    assert pairs == {(p, t) for p in principal_tenants for t in TENANTS}
    for p in principal_tenants:
        for kind in _kinds(typo):
            assert (p, kind, p) in cells
            assert len({t for q, k, t in cells if q == p and k == kind and t != p}) >= 2
    if len(principal_tenants) == len(TENANTS):
        for t in TENANTS:
            for kind in _kinds(typo):
                assert len({p for p, k, u in cells if u == t and k == kind and p != t}) >= 2


def _run_matrix(world: World, cells: list[Cell], typo: bool) -> list[str]:
    root_sm = world.server.client("secretsmanager")
    root_kms = world.server.client("kms")
    wrong: list[str] = []
    by_caller: dict[tuple[str, str], list[str]] = {}
    for tenant, kind, target_tenant in cells:
        by_caller.setdefault((tenant, kind), []).append(target_tenant)
    for (tenant, kind), target_tenants in by_caller.items():
        caller = world.callers[(tenant, kind, typo)]
        clients = {
            "secretsmanager": caller.client("secretsmanager"),
            "kms": caller.client("kms"),
        }
        for target in (world.targets[t] for t in target_tenants):
            for service, op in ALL_OPS:
                call = (SECRETS_MANAGER_OPS if service == "secretsmanager" else KMS_OPS)[op]
                try:
                    call(target, clients[service])
                    allowed = True
                except ClientError as error:
                    code = error.response["Error"]["Code"]
                    if code != "AccessDeniedException":
                        wrong.append(f"{tenant}/{kind} {service}:{op} on {target.tenant}: {code}")
                        continue
                    allowed = False
                expected = _expected(kind, service, op, target.tenant == tenant)
                if allowed != expected:
                    verdict = "ALLOWED" if allowed else "DENIED"
                    wrong.append(f"{tenant}/{kind} {service}:{op} on {target.tenant}: {verdict}")
                if allowed and (service, op) not in READ_ONLY_OPS:
                    _restore(root_sm, root_kms, target)
    return wrong


def test_every_principal_every_operation_every_tenant(world: World) -> None:
    # Every ordered pair of tenants; a cross-tenant pair with one kind, by rotation.
    cells = _rotated_cells(TENANTS, typo=False)
    _assert_rotation_covers(cells, typo=False)
    assert _run_matrix(world, cells, typo=False) == []


@pytest.mark.slow
def test_every_principal_kind_on_every_pair_of_tenants(world: World) -> None:
    assert _run_matrix(world, _every_cell(TENANTS, typo=False), typo=False) == []


def test_over_broad_typo_policies_are_stopped_by_the_tenant_guard(world: World) -> None:
    # cust-1's typo over-matches cust-12, cust-1x, cust-10 and cust-1-2: both its kinds
    # meet every target. cust-12 and cust-2 are typo'd principals whose typo matches nobody
    # else (their kms:* on "*" does): every pair, one kind each. The slow run does all eight
    # tenants, every kind on every target.
    cells = _rotated_cells(("cust-1", "cust-12", "cust-2"), typo=True, in_full=("cust-1",))
    _assert_rotation_covers(cells, typo=True)
    assert _run_matrix(world, cells, typo=True) == []


@pytest.mark.slow
def test_over_broad_typo_policies_for_every_tenant(world: World) -> None:
    assert _run_matrix(world, _every_cell(TENANTS, typo=True), typo=True) == []


def test_listing_shows_each_principal_only_its_own_tenant(world: World) -> None:
    for (tenant, kind, typo), caller in world.callers.items():
        sm = caller.client("secretsmanager")
        code = _error_code(sm.list_secrets)
        assert code == (None if kind == ADMIN else "AccessDeniedException"), (tenant, kind)
        if code is not None:
            continue
        names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
        assert all(name.startswith(f"/customer/{tenant}/") for name in names), (tenant, names)
        assert SECRET.format(tenant) in names
        kms = caller.client("kms")
        code = _error_code(kms.list_keys)
        assert code in (None, "AccessDeniedException"), code
        if code is not None:
            continue
        key_ids = {k["KeyId"] for k in kms.list_keys()["Keys"]}
        others = {t.key_id for t in world.targets.values() if t.tenant != tenant}
        assert not key_ids & others, (tenant, kind, typo)


@pytest.mark.parametrize(
    "secret_id",
    [
        "/customer/cust-1/../cust-12/db-password",
        "/customer/cust-1/./db-password",
        "/customer/cust-1//db-password",
        "/customer/cust-1/db-password/",
        "/customer/cust-1%2F..%2Fcust-12/db-password",
        "/customer/cust-1/..%2Fcust-12/db-password",
        "/customer/CUST-12/db-password",
        "/customer/cust-12/../cust-1/db-password",
    ],
)
def test_path_tricks_never_reach_another_tenant(world: World, secret_id: str) -> None:
    admin = world.callers[("cust-1", ADMIN, True)]  # the over-broad /customer/cust-1* policy
    sm = admin.client("secretsmanager")
    with pytest.raises(ClientError) as read:
        sm.get_secret_value(SecretId=secret_id)
    assert read.value.response["Error"]["Code"] in {
        "ResourceNotFoundException",
        "ValidationException",
        "AccessDeniedException",
    }
    with pytest.raises(ClientError) as create:
        sm.create_secret(Name=secret_id, SecretString="planted")
    assert create.value.response["Error"]["Code"] in {
        "ValidationException",
        "InvalidParameterException",
        "AccessDeniedException",
    }


@pytest.mark.parametrize("tag_value", ["CUST-1", "cust-1 ", "Cust-1", "cust-1/..", "cust-1*"])
def test_look_alike_tenant_tags_reach_nothing_of_the_real_tenant(
    world: World, tag_value: str
) -> None:
    server = world.server
    abac = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:ResourceTag/customer": "${aws:PrincipalTag/customer}"}
                },
            },
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": SECRET_ARN.format("${aws:PrincipalTag/customer}"),
            },
        ],
    }
    name = "look-alike-" + base64.b32encode(tag_value.encode()).decode().strip("=").lower()
    caller = user(server, name, policies={"abac": abac}, user_tags={"customer": tag_value})
    target = world.targets["cust-1"]
    with pytest.raises(ClientError) as read:
        caller.client("secretsmanager").get_secret_value(SecretId=target.secret_name)
    assert read.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as decrypt:
        caller.client("kms").decrypt(
            CiphertextBlob=target.ciphertext, EncryptionContext=target.context
        )
    assert decrypt.value.response["Error"]["Code"] == "AccessDeniedException"
