"""``strongroom policy …``: simulate a principal's access, and prove tenants are isolated."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from strongroom.cli.service_calls import client, service_errors
from strongroom.ids import Arn, is_shared_secret_name, tenant_of_secret_name
from strongroom.policy import MatchedStatement, NamedPolicy, PolicyDocumentError, parse_policy
from strongroom.policy.isolation import (
    AnalysedPrincipal,
    AnalysedResource,
    IsolationReport,
    analyse,
    probe_secret,
)
from strongroom.settings import DEFAULT_REGION
from strongroom.tenancy.share_book import ShareIndex
from strongroom.tenancy.sharing_ports import ShareRecord

DEFAULT_TENANT_TAG_KEY = "customer"


_Item = TypeVar("_Item")
_Found = TypeVar("_Found")
# botocore clients are thread-safe; the server answers several calls at once.
_LOOKUP_THREADS = 8


def _calling(function: Any, **parameters: Any) -> dict[str, Any]:
    with service_errors():
        response: dict[str, Any] = function(**parameters)
    return response


def _each(lookup: Callable[[_Item], _Found], items: Sequence[_Item]) -> list[_Found]:
    """``lookup`` over ``items`` in order, several at a time: one round trip each, and an
    account of thousands of tenants would otherwise wait for them one by one."""
    if len(items) < 2:
        return [lookup(item) for item in items]
    with ThreadPoolExecutor(max_workers=_LOOKUP_THREADS) as pool:
        return list(pool.map(lookup, items))


def _pages(api: Any, operation: str, **parameters: Any) -> Iterator[dict[str, Any]]:
    with service_errors():
        yield from api.get_paginator(operation).paginate(**parameters)


_endpoint = click.option(
    "--endpoint", required=True, envvar="AWS_ENDPOINT_URL", help="The Strongroom server URL."
)
_region = click.option("--region", default=DEFAULT_REGION, envvar="AWS_DEFAULT_REGION")


@click.group("policy")
def policy() -> None:
    """Simulate access and check tenant isolation (signed with the AWS_* credentials)."""


@policy.command("simulate")
@_endpoint
@_region
@click.option("--principal", "principal_arn", required=True, help="User or role ARN.")
@click.option("--action", "actions", multiple=True, required=True, help="e.g. kms:Decrypt")
@click.option("--resource", "resources", multiple=True, default=("*",), help="Resource ARN.")
@click.option(
    "--context",
    "context",
    multiple=True,
    help="Condition key and values: KEY=VALUE[,VALUE] (e.g. aws:PrincipalTag/customer=c-1).",
)
def simulate(
    endpoint: str,
    region: str,
    principal_arn: str,
    actions: tuple[str, ...],
    resources: tuple[str, ...],
    context: tuple[str, ...],
) -> None:
    """Evaluate a principal's policies, as the server does, for each action and resource.
    Exits 1 if any action is denied."""
    entries = []
    for item in context:
        key, separator, values = item.partition("=")
        if not separator or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--context")
        entries.append(
            {
                "ContextKeyName": key,
                "ContextKeyValues": values.split(","),
                "ContextKeyType": "stringList",
            }
        )
    iam = client("iam", endpoint, region)
    results = _calling(
        iam.simulate_principal_policy,
        PolicySourceArn=principal_arn,
        ActionNames=list(actions),
        ResourceArns=list(resources),
        ContextEntries=entries,
    )["EvaluationResults"]
    denied = False
    for result in results:
        decision = result["EvalDecision"]
        denied = denied or decision != "allowed"
        statements = ", ".join(
            f"{m.get('SourcePolicyId', '?')}#{m.get('StartPosition', {}).get('Line', '?')}"
            for m in result.get("MatchedStatements", [])
        )
        click.echo(
            f"{decision:13} {result['EvalActionName']} on {result.get('EvalResourceName', '*')}"
            + (f"  [{statements}]" if statements else "")
        )
    if denied:
        raise SystemExit(1)


@policy.command("check-isolation")
@_endpoint
@_region
@click.option("--tenant-tag-key", default=DEFAULT_TENANT_TAG_KEY, show_default=True)
@click.option(
    "--admin", "admins", multiple=True, help="ARN of a principal to treat as an administrator."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_isolation(
    endpoint: str,
    region: str,
    tenant_tag_key: str,
    admins: tuple[str, ...],
    as_json: bool,
) -> None:
    """Report every principal, other than a tenant's own and the administrators, whose
    policies let it read a tenant's secrets or use its keys. Exits 1 if it finds one.
    Access of a tenant's principals to /shared/ secrets is listed too: through a share it
    is intended, without one the tenant guard refuses it; neither is a finding."""
    principals = _principals(client("iam", endpoint, region))
    account = _account(client("sts", endpoint, region))
    resources = [
        *_secrets(client("secretsmanager", endpoint, region), tenant_tag_key),
        *_keys(client("kms", endpoint, region), tenant_tag_key),
    ]
    shares = _shares(client("strongroom", endpoint, region))
    tenants = sorted({r.tenant for r in resources if r.tenant is not None})
    first = Arn.parse(principals[0].arn) if principals else None
    partition = first.partition if first is not None else "aws"
    resources.extend(probe_secret(partition, region, account, t, tenant_tag_key) for t in tenants)
    report = analyse(
        principals,
        resources,
        tenant_tag_key=tenant_tag_key,
        extra_administrators=frozenset(admins),
        current_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        share_of=ShareIndex(shares).opening_share,
    )
    _print_report(report, shares, as_json)
    if report.findings:
        raise SystemExit(1)


def _print_report(report: IsolationReport, shares: list[ShareRecord], as_json: bool) -> None:
    if as_json:
        document = {
            "tenants": list(report.tenants),
            "administrators": list(report.administrators),
            "evaluations": report.evaluations,
            "shares": [
                {"tenant": s.tenant_id, "pattern": s.secret_pattern, "actions": list(s.actions)}
                for s in shares
            ],
            "shared": [
                {
                    "tenant": a.tenant,
                    "principal": a.principal,
                    "resource": a.resource,
                    "action": a.action,
                    "intended": a.intended,
                    "share": a.share,
                    "blockedByTenantGuard": not a.intended,
                    "statements": [
                        {"policy": s.policy_name, "sid": s.sid, "index": s.index}
                        for s in a.statements
                    ],
                }
                for a in report.shared
            ],
            "findings": [
                {
                    "tenant": f.tenant,
                    "principal": f.principal,
                    "resource": f.resource,
                    "action": f.action,
                    "blockedByTenantGuard": f.blocked_by_tenant_guard,
                    "asTenantSession": f.as_session,
                    "statements": [
                        {"policy": s.policy_name, "sid": s.sid, "index": s.index}
                        for s in f.statements
                    ],
                }
                for f in report.findings
            ],
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(
        f"{len(report.tenants)} tenants, {report.evaluations} evaluations, "
        f"administrators: {', '.join(report.administrators) or 'none'}"
    )
    for f in report.findings:
        guard = " (the tenant guard blocks it at run time)" if f.blocked_by_tenant_guard else ""
        session = " as a session tagged for another tenant" if f.as_session else ""
        click.echo(
            f"FINDING tenant {f.tenant}: {f.principal}{session} may {f.action} on "
            f"{f.resource}, allowed by {_cited(f.statements)}{guard}"
        )
    if not report.findings:
        click.echo("no principal outside a tenant can reach its secrets or keys")
    if shares or report.shared:
        intended = sum(1 for a in report.shared if a.intended)
        click.echo(
            f"shares: {len(shares)}; access to shared secrets: {intended} shared (intended), "
            f"{len(report.shared) - intended} blocked by the tenant guard (no share)"
        )
    for a in report.shared:
        how = (
            f"shared (intended) by share {a.share}"
            if a.share is not None
            else "blocked by the tenant guard (no share)"
        )
        click.echo(
            f"SHARED tenant {a.tenant}: {a.principal} may {a.action} on {a.resource}, "
            f"allowed by {_cited(a.statements)}; {how}"
        )


def _cited(statements: tuple[MatchedStatement, ...]) -> str:
    return "; ".join(f"{s.policy_name} statement {s.sid or s.index}" for s in statements)


def _account(sts: Any) -> str:
    return str(_calling(sts.get_caller_identity)["Account"])


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        return urllib.parse.unquote(document)
    return json.dumps(document)


def _named(name: str, document: Any, kind: str = "identity") -> NamedPolicy | None:
    try:
        return NamedPolicy(name=name, document=parse_policy(_document_text(document), kind))  # type: ignore[arg-type]
    except PolicyDocumentError:
        click.echo(f"warning: {name} does not parse and is skipped", err=True)
        return None


def _principals(iam: Any) -> list[AnalysedPrincipal]:
    users: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    managed: dict[str, NamedPolicy | None] = {}
    for page in _pages(iam, "get_account_authorization_details"):
        users.extend(page.get("UserDetailList", []))
        roles.extend(page.get("RoleDetailList", []))
        groups.update({g["GroupName"]: g for g in page.get("GroupDetailList", [])})
        for policy in page.get("Policies", []):
            default = next(
                (v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None
            )
            if default is not None:
                managed[policy["Arn"]] = _named(policy["Arn"], default["Document"])

    def attached(entity: dict[str, Any], inline_key: str) -> list[NamedPolicy | None]:
        found = [
            _named(f"{entity['Arn']}/inline/{p['PolicyName']}", p["PolicyDocument"])
            for p in entity.get(inline_key, [])
        ]
        found.extend(managed.get(a["PolicyArn"]) for a in entity.get("AttachedManagedPolicies", []))
        return found

    analysed: list[AnalysedPrincipal] = []
    for kind, entity, inline_key in [
        *(("user", u, "UserPolicyList") for u in users),
        *(("role", r, "RolePolicyList") for r in roles),
    ]:
        policies = attached(entity, inline_key)
        for group_name in entity.get("GroupList", []):
            group = groups.get(group_name)
            if group is not None:
                policies.extend(attached(group, "GroupPolicyList"))
        boundary_arn = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        arn = Arn.parse(entity["Arn"])
        analysed.append(
            AnalysedPrincipal(
                arn=entity["Arn"],
                kind=kind,  # type: ignore[arg-type]
                name=entity["UserName" if kind == "user" else "RoleName"],
                account=arn.account if arn is not None else "",
                tags={t["Key"]: t["Value"] for t in entity.get("Tags", [])},
                policies=tuple(p for p in policies if p is not None),
                boundary=managed.get(boundary_arn) if boundary_arn else None,
            )
        )
    return analysed


def _secrets(sm: Any, tag_key: str) -> Iterator[AnalysedResource]:
    """Every tenant's secrets, and the shared ones (no tenant's, whatever their tags say,
    as the server sees them)."""
    for page in _pages(sm, "list_secrets"):
        wanted: list[tuple[dict[str, Any], dict[str, str], str | None]] = []
        for secret in page.get("SecretList", []):
            tags = {t["Key"]: t["Value"] for t in secret.get("Tags", [])}
            shared = is_shared_secret_name(secret["Name"])
            tenant = (
                None if shared else tenant_of_secret_name(secret["Name"]) or _tag(tags, tag_key)
            )
            if tenant is not None or shared:
                wanted.append((secret, tags, tenant))
        policies = _each(
            lambda item: _calling(sm.get_resource_policy, SecretId=item[0]["ARN"]).get(
                "ResourcePolicy"
            ),
            wanted,
        )
        for (secret, tags, tenant), policy_text in zip(wanted, policies, strict=True):
            yield AnalysedResource(
                arn=secret["ARN"],
                kind="secret",
                tenant=tenant,
                tags=tags,
                name=secret["Name"],
                policy=_named("resource policy", policy_text, "resource") if policy_text else None,
            )


def _shares(admin: Any) -> list[ShareRecord]:
    """Every share, through the admin API's ListShares."""
    found: list[ShareRecord] = []
    parameters: dict[str, Any] = {}
    while True:
        page = _calling(admin.list_shares, **parameters)
        found.extend(
            ShareRecord(
                tenant_id=s["TenantId"],
                secret_pattern=s["SecretPattern"],
                actions=tuple(s.get("Actions", ())),
                created_at=s["CreatedDate"],
                created_by=s.get("CreatedBy", ""),
            )
            for s in page.get("Shares", [])
        )
        token = page.get("NextToken")
        if not token:
            return found
        parameters["NextToken"] = token


def _keys(kms: Any, tag_key: str) -> Iterator[AnalysedResource]:
    def tagged(key: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], str | None]:
        tags = {
            t["TagKey"]: t["TagValue"]
            for t in _calling(kms.list_resource_tags, KeyId=key["KeyId"]).get("Tags", [])
        }
        return key, tags, _tag(tags, tag_key)

    def with_policy(
        item: tuple[dict[str, Any], dict[str, str], str | None],
    ) -> AnalysedResource:
        key, tags, tenant = item
        policy_text = _calling(kms.get_key_policy, KeyId=key["KeyId"], PolicyName="default")
        return AnalysedResource(
            arn=key["KeyArn"],
            kind="key",
            tenant=tenant,
            tags=tags,
            policy=_named("key policy", policy_text["Policy"], "key"),
        )

    for page in _pages(kms, "list_keys"):
        tenants_keys = [item for item in _each(tagged, page.get("Keys", [])) if item[2] is not None]
        yield from _each(with_policy, tenants_keys)


def _tag(tags: dict[str, str], tag_key: str) -> str | None:
    for key, value in tags.items():
        if key.lower() == tag_key.lower():
            return value
    return None
