"""Every built Secrets Manager operation through real boto3, with AWS's error codes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.contract


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def stages_of(sm: Any, secret_id: str) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"])


# -- CreateSecret ------------------------------------------------------------------------


def test_create_secret_returns_arn_with_random_suffix(sm: Any, unique: str) -> None:
    name = f"app/{unique}/db"
    created = sm.create_secret(Name=name, SecretString="v1", Description="the db")
    assert created["Name"] == name
    assert created["ARN"].startswith(
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-"
    )
    assert len(created["ARN"].rsplit("-", 1)[1]) == 6
    uuid.UUID(created["VersionId"])


def test_create_secret_without_value_has_no_version(sm: Any, unique: str) -> None:
    created = sm.create_secret(Name=f"empty-{unique}")
    assert "VersionId" not in created
    with pytest.raises(ClientError) as excinfo:
        sm.get_secret_value(SecretId=created["ARN"])
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert "AWSCURRENT" in excinfo.value.response["Error"]["Message"]


def test_create_secret_twice_is_resource_exists(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"dup-{unique}", SecretString="a")
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=f"dup-{unique}", SecretString="b")
    assert error_code(excinfo) == "ResourceExistsException"


def test_create_secret_retry_with_same_token_is_idempotent(sm: Any, unique: str) -> None:
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=f"idem-{unique}", SecretString="a", ClientRequestToken=token)
    again = sm.create_secret(Name=f"idem-{unique}", SecretString="a", ClientRequestToken=token)
    assert again["ARN"] == first["ARN"]
    assert again["VersionId"] == token
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=f"idem-{unique}", SecretString="b", ClientRequestToken=token)
    assert error_code(excinfo) == "ResourceExistsException"


def test_create_secret_with_both_values_is_invalid_parameter(sm: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=f"both-{unique}", SecretString="a", SecretBinary=b"b")
    assert error_code(excinfo) == "InvalidParameterException"


@pytest.mark.parametrize(
    "name",
    [
        "/customer/cust-1/../cust-2/db",
        "/customer/cust-1//db",
        "a/./b",
        "trailing/",
        "/customer/CUST-1/db",
        "/customer/cust-1",
        "spa ce",
        "caf\u00e9",
        "cust\u20111/db",
    ],
)
def test_create_secret_refuses_confusable_names(sm: Any, name: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=name, SecretString="x")
    assert error_code(excinfo) == "ValidationException"


def test_create_secret_with_unknown_kms_key_is_refused(sm: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=f"kms-{unique}", SecretString="x", KmsKeyId=str(uuid.uuid4()))
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_create_secret_with_default_alias_works(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"kmsdef-{unique}", SecretString="x", KmsKeyId="alias/aws/secretsmanager")
    assert sm.get_secret_value(SecretId=f"kmsdef-{unique}")["SecretString"] == "x"


def test_create_secret_with_reserved_tag_prefix_is_refused(sm: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(
            Name=f"tag-{unique}", SecretString="x", Tags=[{"Key": "aws:owner", "Value": "me"}]
        )
    assert error_code(excinfo) == "InvalidParameterException"


# -- GetSecretValue ----------------------------------------------------------------------


def test_binary_secret_round_trips(sm: Any, unique: str) -> None:
    payload = bytes(range(256)) * 4
    sm.create_secret(Name=f"bin-{unique}", SecretBinary=payload)
    got = sm.get_secret_value(SecretId=f"bin-{unique}")
    assert got["SecretBinary"] == payload
    assert "SecretString" not in got


def test_largest_string_value_is_accepted_and_one_more_is_not(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"big-{unique}", SecretString="x" * 65536)
    assert len(sm.get_secret_value(SecretId=f"big-{unique}")["SecretString"]) == 65536
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=f"big-{unique}", SecretString="x" * 65537)
    assert error_code(excinfo) == "ValidationException"


def test_get_by_full_arn_partial_arn_and_name(sm: Any, unique: str) -> None:
    arn = sm.create_secret(Name=f"ids-{unique}", SecretString="v")["ARN"]
    partial = arn.rsplit("-", 1)[0]
    for secret_id in (arn, partial, f"ids-{unique}"):
        assert sm.get_secret_value(SecretId=secret_id)["ARN"] == arn


def test_get_with_arn_of_another_region_or_account_is_not_found(sm: Any, unique: str) -> None:
    arn = sm.create_secret(Name=f"other-{unique}", SecretString="v")["ARN"]
    for wrong in (
        arn.replace("us-east-1", "eu-west-1"),
        arn.replace("123456789012", "210987654321"),
    ):
        with pytest.raises(ClientError) as excinfo:
            sm.get_secret_value(SecretId=wrong)
        assert error_code(excinfo) == "ResourceNotFoundException"


def test_regions_are_separate(server: Any, unique: str) -> None:
    east = server.client("secretsmanager", region="us-east-1")
    west = server.client("secretsmanager", region="eu-west-1")
    east.create_secret(Name=f"regional-{unique}", SecretString="east")
    with pytest.raises(ClientError):
        west.get_secret_value(SecretId=f"regional-{unique}")
    created = west.create_secret(Name=f"regional-{unique}", SecretString="west")
    assert created["ARN"].startswith("arn:aws:secretsmanager:eu-west-1:")
    assert west.get_secret_value(SecretId=f"regional-{unique}")["SecretString"] == "west"


def test_arn_partition_follows_region(server: Any, unique: str) -> None:
    china = server.client("secretsmanager", region="cn-north-1")
    gov = server.client("secretsmanager", region="us-gov-west-1")
    assert china.create_secret(Name=f"p-{unique}", SecretString="x")["ARN"].startswith(
        "arn:aws-cn:secretsmanager:cn-north-1:"
    )
    assert gov.create_secret(Name=f"p-{unique}", SecretString="x")["ARN"].startswith(
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:"
    )


def test_get_by_version_id_and_stage(sm: Any, unique: str) -> None:
    first = sm.create_secret(Name=f"ver-{unique}", SecretString="one")["VersionId"]
    second = sm.put_secret_value(SecretId=f"ver-{unique}", SecretString="two")["VersionId"]
    assert sm.get_secret_value(SecretId=f"ver-{unique}", VersionId=first)["SecretString"] == "one"
    previous = sm.get_secret_value(SecretId=f"ver-{unique}", VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == first
    assert previous["VersionStages"] == ["AWSPREVIOUS"]
    assert sm.get_secret_value(SecretId=f"ver-{unique}")["VersionId"] == second
    with pytest.raises(ClientError) as excinfo:
        sm.get_secret_value(SecretId=f"ver-{unique}", VersionId=first, VersionStage="AWSCURRENT")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        sm.get_secret_value(SecretId=f"ver-{unique}", VersionId=str(uuid.uuid4()))
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_json_secret_value_round_trips(sm: Any, unique: str) -> None:
    value = {"username": "u", "password": "p\u00e9\u2603", "port": 5432}
    sm.create_secret(Name=f"json-{unique}", SecretString=json.dumps(value))
    assert json.loads(sm.get_secret_value(SecretId=f"json-{unique}")["SecretString"]) == value


def test_last_accessed_date_is_set_to_the_day(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"acc-{unique}", SecretString="v")
    assert "LastAccessedDate" not in sm.describe_secret(SecretId=f"acc-{unique}")
    sm.get_secret_value(SecretId=f"acc-{unique}")
    accessed = sm.describe_secret(SecretId=f"acc-{unique}")["LastAccessedDate"]
    assert (accessed.hour, accessed.minute, accessed.second) == (0, 0, 0) or accessed.utcoffset()


# -- PutSecretValue and staging labels -------------------------------------------------


def test_put_moves_current_and_previous(sm: Any, unique: str) -> None:
    v1 = sm.create_secret(Name=f"put-{unique}", SecretString="1")["VersionId"]
    v2 = sm.put_secret_value(SecretId=f"put-{unique}", SecretString="2")["VersionId"]
    v3 = sm.put_secret_value(SecretId=f"put-{unique}", SecretString="3")["VersionId"]
    stages = stages_of(sm, f"put-{unique}")
    assert stages == {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert v1 not in stages
    listed = sm.list_secret_version_ids(SecretId=f"put-{unique}", IncludeDeprecated=True)
    assert {v["VersionId"] for v in listed["Versions"]} == {v1, v2, v3}
    labelled = sm.list_secret_version_ids(SecretId=f"put-{unique}")
    assert {v["VersionId"] for v in labelled["Versions"]} == {v2, v3}


def test_put_with_custom_stage_does_not_touch_current(sm: Any, unique: str) -> None:
    v1 = sm.create_secret(Name=f"pend-{unique}", SecretString="1")["VersionId"]
    v2 = sm.put_secret_value(
        SecretId=f"pend-{unique}", SecretString="2", VersionStages=["AWSPENDING"]
    )["VersionId"]
    assert stages_of(sm, f"pend-{unique}") == {v1: ["AWSCURRENT"], v2: ["AWSPENDING"]}
    pending = sm.get_secret_value(SecretId=f"pend-{unique}", VersionStage="AWSPENDING")
    assert pending["SecretString"] == "2"


def test_put_idempotency_token(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"tok-{unique}", SecretString="1")
    token = str(uuid.uuid4())
    first = sm.put_secret_value(
        SecretId=f"tok-{unique}", SecretString="2", ClientRequestToken=token
    )
    again = sm.put_secret_value(
        SecretId=f"tok-{unique}", SecretString="2", ClientRequestToken=token
    )
    assert first["VersionId"] == again["VersionId"] == token
    assert len(stages_of(sm, f"tok-{unique}")) == 2
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=f"tok-{unique}", SecretString="3", ClientRequestToken=token)
    assert error_code(excinfo) == "ResourceExistsException"


def test_put_without_value_is_invalid_request(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"nov-{unique}", SecretString="1")
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=f"nov-{unique}")
    assert error_code(excinfo) == "InvalidRequestException"


def test_put_to_missing_secret_is_not_found(sm: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.put_secret_value(SecretId=f"missing-{unique}", SecretString="x")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_update_secret_version_stage_rules(sm: Any, unique: str) -> None:
    name = f"stage-{unique}"
    v1 = sm.create_secret(Name=name, SecretString="1")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="2", VersionStages=["AWSPENDING"])[
        "VersionId"
    ]
    with pytest.raises(ClientError) as excinfo:
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2)
    assert error_code(excinfo) == "InvalidParameterException"
    assert "RemoveFromVersionId" in excinfo.value.response["Error"]["Message"]
    sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1
    )
    assert stages_of(sm, name) == {v2: ["AWSCURRENT", "AWSPENDING"], v1: ["AWSPREVIOUS"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=v2)
    sm.update_secret_version_stage(SecretId=name, VersionStage="custom", MoveToVersionId=v1)
    assert stages_of(sm, name) == {v2: ["AWSCURRENT"], v1: ["AWSPREVIOUS", "custom"]}
    with pytest.raises(ClientError) as excinfo:
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v2
        )
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="x", MoveToVersionId=str(uuid.uuid4())
        )
    assert error_code(excinfo) == "InvalidParameterException"


def test_at_most_twenty_labels_per_version(sm: Any, unique: str) -> None:
    name = f"labels-{unique}"
    version = sm.create_secret(Name=name, SecretString="1")["VersionId"]
    for i in range(19):
        sm.update_secret_version_stage(SecretId=name, VersionStage=f"l{i}", MoveToVersionId=version)
    with pytest.raises(ClientError) as excinfo:
        sm.update_secret_version_stage(SecretId=name, VersionStage="l19", MoveToVersionId=version)
    assert error_code(excinfo) == "LimitExceededException"


# -- UpdateSecret, DescribeSecret, tags --------------------------------------------------


def test_update_secret_description_and_value(sm: Any, unique: str) -> None:
    name = f"upd-{unique}"
    sm.create_secret(Name=name, SecretString="1", Description="old")
    result = sm.update_secret(SecretId=name, Description="new")
    assert "VersionId" not in result
    assert sm.describe_secret(SecretId=name)["Description"] == "new"
    result = sm.update_secret(SecretId=name, SecretString="2")
    assert sm.get_secret_value(SecretId=name)["VersionId"] == result["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "2"


def test_tags(sm: Any, unique: str) -> None:
    name = f"tags-{unique}"
    sm.create_secret(Name=name, SecretString="1", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [
        {"Key": "a", "Value": "3"},
        {"Key": "b", "Value": "2"},
    ]
    sm.untag_resource(SecretId=name, TagKeys=["a", "absent"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as excinfo:
        sm.tag_resource(SecretId=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error_code(excinfo) == "LimitExceededException"
    with pytest.raises(ClientError) as excinfo:
        sm.tag_resource(SecretId=f"absent-{unique}", Tags=[{"Key": "a", "Value": "1"}])
    assert error_code(excinfo) == "ResourceNotFoundException"


# -- ListSecrets -------------------------------------------------------------------------


def _names(sm: Any, **kwargs: Any) -> list[str]:
    out: list[str] = []
    for page in sm.get_paginator("list_secrets").paginate(**kwargs):
        out += [s["Name"] for s in page["SecretList"]]
    return out


def test_list_secrets_filters(sm: Any, unique: str) -> None:
    base = f"lst{unique}"
    sm.create_secret(
        Name=f"{base}/alpha",
        SecretString="x",
        Description="Payment DB",
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    sm.create_secret(
        Name=f"{base}/beta",
        SecretString="x",
        Description="search index",
        Tags=[{"Key": "team", "Value": "search"}],
    )
    sm.create_secret(Name=f"{base}/gamma", SecretString="x")
    assert sorted(_names(sm, Filters=[{"Key": "name", "Values": [base]}])) == [
        f"{base}/alpha",
        f"{base}/beta",
        f"{base}/gamma",
    ]
    assert _names(sm, Filters=[{"Key": "name", "Values": [base.upper()]}]) == []
    assert _names(
        sm,
        Filters=[{"Key": "name", "Values": [base]}, {"Key": "description", "Values": ["payment"]}],
    ) == [f"{base}/alpha"]
    assert _names(
        sm, Filters=[{"Key": "name", "Values": [base]}, {"Key": "tag-value", "Values": ["sea"]}]
    ) == [f"{base}/beta"]
    assert sorted(
        _names(
            sm, Filters=[{"Key": "name", "Values": [base]}, {"Key": "tag-key", "Values": ["!team"]}]
        )
    ) == [f"{base}/gamma"]
    assert sorted(
        _names(sm, Filters=[{"Key": "name", "Values": [f"{base}/alpha", f"{base}/gamma"]}])
    ) == [f"{base}/alpha", f"{base}/gamma"]
    assert _names(sm, Filters=[{"Key": "all", "Values": [f"{base} PAYMENTS"]}]) == [f"{base}/alpha"]
    assert (
        _names(
            sm,
            Filters=[
                {"Key": "name", "Values": [base]},
                {"Key": "owning-service", "Values": ["rds"]},
            ],
        )
        == []
    )


def test_list_secrets_sort_and_paginate(sm: Any, unique: str) -> None:
    base = f"pg{unique}"
    for suffix in ("c", "a", "b", "e", "d"):
        sm.create_secret(Name=f"{base}/{suffix}", SecretString="x")
    flt = [{"Key": "name", "Values": [base]}]
    by_name = _names(
        sm, Filters=flt, SortBy="name", SortOrder="asc", PaginationConfig={"PageSize": 2}
    )
    assert by_name == [f"{base}/{s}" for s in "abcde"]
    newest_first = _names(sm, Filters=flt, SortOrder="desc")
    assert newest_first == [f"{base}/{s}" for s in "debac"]
    page = sm.list_secrets(Filters=flt, MaxResults=2)
    assert len(page["SecretList"]) == 2
    assert "NextToken" in page
    with pytest.raises(ClientError) as excinfo:
        sm.list_secrets(Filters=[{"Key": "name", "Values": ["other"]}], NextToken=page["NextToken"])
    assert error_code(excinfo) == "InvalidNextTokenException"
    with pytest.raises(ClientError) as excinfo:
        sm.list_secrets(NextToken="garbage")
    assert error_code(excinfo) == "InvalidNextTokenException"


def test_list_secrets_planned_deletion(sm: Any, unique: str) -> None:
    name = f"deleted{unique}"
    sm.create_secret(Name=name, SecretString="x")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert _names(sm, Filters=[{"Key": "name", "Values": [name]}]) == []
    assert _names(sm, Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True) == [
        name
    ]


# -- BatchGetSecretValue -----------------------------------------------------------------


def test_batch_get_by_ids_reports_per_item_errors(sm: Any, unique: str) -> None:
    sm.create_secret(Name=f"b1-{unique}", SecretString="1")
    sm.create_secret(Name=f"b2-{unique}", SecretString="2")
    sm.create_secret(Name=f"b3-{unique}")
    result = sm.batch_get_secret_value(
        SecretIdList=[f"b1-{unique}", f"b2-{unique}", f"missing-{unique}", f"b3-{unique}"]
    )
    assert {v["Name"]: v["SecretString"] for v in result["SecretValues"]} == {
        f"b1-{unique}": "1",
        f"b2-{unique}": "2",
    }
    assert {e["SecretId"]: e["ErrorCode"] for e in result["Errors"]} == {
        f"missing-{unique}": "ResourceNotFoundException",
        f"b3-{unique}": "ResourceNotFoundException",
    }


def test_batch_get_by_filter_paginates(sm: Any, unique: str) -> None:
    for i in range(5):
        sm.create_secret(Name=f"bf{unique}/{i}", SecretString=str(i))
    seen: dict[str, str] = {}
    kwargs: dict[str, Any] = {
        "Filters": [{"Key": "name", "Values": [f"bf{unique}/"]}],
        "MaxResults": 2,
    }
    while True:
        page = sm.batch_get_secret_value(**kwargs)
        seen.update({v["Name"]: v["SecretString"] for v in page["SecretValues"]})
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == {f"bf{unique}/{i}": str(i) for i in range(5)}


def test_batch_get_needs_exactly_one_selector(sm: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        sm.batch_get_secret_value(SecretIdList=["a"], Filters=[{"Key": "name", "Values": ["a"]}])
    assert error_code(excinfo) == "InvalidParameterException"


# -- DeleteSecret, RestoreSecret --------------------------------------------------------


def test_delete_and_restore(sm: Any, unique: str) -> None:
    name = f"del-{unique}"
    sm.create_secret(Name=name, SecretString="1")
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert (deleted["DeletionDate"] - sm.describe_secret(SecretId=name)["DeletedDate"]).days == 7
    for call, kwargs in (
        (sm.get_secret_value, {}),
        (sm.put_secret_value, {"SecretString": "2"}),
        (sm.update_secret, {"Description": "d"}),
        (sm.tag_resource, {"Tags": [{"Key": "a", "Value": "b"}]}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(SecretId=name, **kwargs)
        assert error_code(excinfo) == "InvalidRequestException"
    with pytest.raises(ClientError) as excinfo:
        sm.create_secret(Name=name, SecretString="new")
    assert error_code(excinfo) == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "1"
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)


@pytest.mark.parametrize("days", [6, 31, 0])
def test_recovery_window_bounds(sm: Any, unique: str, days: int) -> None:
    sm.create_secret(Name=f"win-{unique}", SecretString="1")
    with pytest.raises(ClientError) as excinfo:
        sm.delete_secret(SecretId=f"win-{unique}", RecoveryWindowInDays=days)
    assert error_code(excinfo) == "InvalidParameterException"


def test_force_delete_frees_the_name(sm: Any, unique: str) -> None:
    name = f"force-{unique}"
    arn = sm.create_secret(Name=name, SecretString="1")["ARN"]
    with pytest.raises(ClientError) as excinfo:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True, RecoveryWindowInDays=7)
    assert error_code(excinfo) == "InvalidParameterException"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as excinfo:
        sm.describe_secret(SecretId=name)
    assert error_code(excinfo) == "ResourceNotFoundException"
    again = sm.create_secret(Name=name, SecretString="2")
    assert again["ARN"] != arn
    with pytest.raises(ClientError):
        sm.get_secret_value(SecretId=arn)


# -- GetRandomPassword ------------------------------------------------------------------


def test_random_password_rules(sm: Any) -> None:
    assert len(sm.get_random_password()["RandomPassword"]) == 32
    digits = sm.get_random_password(
        PasswordLength=50, ExcludeLowercase=True, ExcludeUppercase=True, ExcludePunctuation=True
    )["RandomPassword"]
    assert len(digits) == 50
    assert digits.isdigit()
    spaced = sm.get_random_password(PasswordLength=200, IncludeSpace=True)["RandomPassword"]
    assert " " in spaced
    no_ab = sm.get_random_password(PasswordLength=300, ExcludeCharacters="ab")["RandomPassword"]
    assert "a" not in no_ab
    assert "b" not in no_ab
    with pytest.raises(ClientError) as excinfo:
        sm.get_random_password(
            ExcludeLowercase=True,
            ExcludeUppercase=True,
            ExcludeNumbers=True,
            ExcludePunctuation=True,
        )
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        sm.get_random_password(PasswordLength=3)
    assert error_code(excinfo) == "InvalidParameterException"
