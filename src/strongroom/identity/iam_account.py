"""Account-wide IAM reads: policy simulation and GetAccountAuthorizationDetails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strongroom.context import CallContext
from strongroom.errors import InvalidInput, MalformedPolicyDocument, NoSuchEntity
from strongroom.identity import iam_shapes as s
from strongroom.identity.directory import AttachedPolicy, entity_policies
from strongroom.identity.iam_common import IamBase, encode_document, page
from strongroom.identity.iam_groups import group_shape
from strongroom.identity.iam_policies import version_shape
from strongroom.identity.iam_roles import role_shape
from strongroom.identity.iam_users import boundary_of, tag_shapes
from strongroom.identity.ports import (
    EntityKind,
    GroupRecord,
    IdentityTransaction,
    Tags,
    UserRecord,
)
from strongroom.policy import (
    Decision,
    NamedPolicy,
    PolicyDocumentError,
    PrincipalRef,
    RequestContext,
    evaluate,
    parse_policy,
)

_DECISIONS = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}
_KINDS: dict[str, EntityKind] = {"user": "user", "role": "role", "group": "group"}


@dataclass(frozen=True, slots=True)
class _Simulation:
    """The policies and principal one simulation evaluates with."""

    identity: list[NamedPolicy]
    boundary: NamedPolicy | None
    resource: NamedPolicy | None
    caller: PrincipalRef
    keys: dict[str, tuple[str, ...]]
    # Policy name (as the evaluator cites it) → (SourcePolicyId, SourcePolicyType).
    sources: dict[str, tuple[str, str]]


def _parse(text: str, kind: str, what: str) -> NamedPolicy:
    try:
        return NamedPolicy(what, parse_policy(text, kind))  # type: ignore[arg-type]
    except PolicyDocumentError as exc:
        raise MalformedPolicyDocument(str(exc)) from exc


def _source_of(attached: AttachedPolicy) -> tuple[str, str]:
    if "/inline/" in attached.name:
        owner, _, name = attached.name.partition("/inline/")
        kind = owner.split(":", 5)[5].split("/", 1)[0]
        return name, kind
    return attached.name.rsplit("/", 1)[-1], "user-managed"


class IamAccount(IamBase):
    """SimulatePrincipalPolicy, SimulateCustomPolicy and GetAccountAuthorizationDetails."""

    def _extra_policies(
        self, sim: _Simulation, inputs: Sequence[str], boundaries: Sequence[str]
    ) -> _Simulation:
        for i, text in enumerate(inputs, start=1):
            name = f"PolicyInputList.{i}"
            sim.identity.append(_parse(text, "identity", name))
            sim.sources[name] = (name, "IAM Policy")
        boundary = sim.boundary
        for i, text in enumerate(boundaries, start=1):
            name = f"PermissionsBoundaryPolicyInputList.{i}"
            boundary = _parse(text, "identity", name)
            sim.sources[name] = (name, "IAM Policy")
        return _Simulation(sim.identity, boundary, sim.resource, sim.caller, sim.keys, sim.sources)

    def _run(
        self,
        sim: _Simulation,
        actions: Sequence[str],
        resources: Sequence[str] | None,
        marker: str | None,
        max_items: int | None,
    ) -> tuple[list[s.EvaluationResult], str | None]:
        results: list[tuple[str, s.EvaluationResult]] = []
        for a, action in enumerate(actions):
            for r, resource in enumerate(resources or ("*",)):
                request = RequestContext(action, resource, sim.caller, sim.keys)
                decision = evaluate(
                    request, identity=sim.identity, boundary=sim.boundary, resource=sim.resource
                )
                boundary_detail = None
                if sim.boundary is not None:
                    alone = evaluate(request, identity=[sim.boundary])
                    boundary_detail = s.PermissionsBoundaryDecisionDetail(
                        allowed_by_permissions_boundary=alone.allowed
                    )
                results.append(
                    (
                        f"{a:06d}{r:06d}",
                        s.EvaluationResult(
                            eval_action_name=action,
                            eval_resource_name=resource,
                            eval_decision=_DECISIONS[decision.effect],
                            matched_statements=self._statements(sim, decision),
                            missing_context_values=(),
                            permissions_boundary_decision_detail=boundary_detail,
                        ),
                    )
                )
        chosen, next_marker = page(results, lambda item: item[0], marker, max_items)
        return [result for _, result in chosen], next_marker

    @staticmethod
    def _statements(sim: _Simulation, decision: Decision) -> tuple[s.Statement, ...]:
        found = []
        for matched in decision.statements:
            policy_id, policy_type = sim.sources.get(
                matched.policy_name, (matched.policy_name, "none")
            )
            found.append(s.Statement(source_policy_id=policy_id, source_policy_type=policy_type))
        return tuple(found)

    def _context_keys(self, entries: Sequence[s.ContextEntry] | None) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {}
        for entry in entries or ():
            if entry.context_key_name is None:
                raise InvalidInput("ContextKeyName is required in each context entry.")
            keys[entry.context_key_name] = tuple(entry.context_key_values or ())
        return keys

    def _resource_policy(
        self, text: str | None, sim_sources: dict[str, tuple[str, str]]
    ) -> NamedPolicy | None:
        if text is None:
            return None
        sim_sources["ResourcePolicy"] = ("ResourcePolicy", "resource")
        return _parse(text, "resource", "ResourcePolicy")

    def simulate_principal_policy(
        self, ctx: CallContext, request: s.SimulatePrincipalPolicyRequest
    ) -> s.SimulatePrincipalPolicyResponse:
        source_arn = request.policy_source_arn
        resource_part = source_arn.split(":", 5)[5] if source_arn.count(":") >= 5 else ""
        kind = _KINDS.get(resource_part.split("/", 1)[0])
        if kind is None:
            raise InvalidInput(f"Invalid ARN {source_arn}: not a user, group or role.")
        name = resource_part.rsplit("/", 1)[-1]
        keys: dict[str, tuple[str, ...]] = {}
        with self._reading() as tx:
            entity_id, arn, boundary_arn, tags = self._source(tx, kind, name)
            if arn != source_arn:
                raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
            policies = entity_policies(tx, kind, entity_id, arn, boundary_arn)
        self._authorize(ctx, "SimulatePrincipalPolicy", arn, tags=tags)
        keys.update({f"aws:PrincipalTag/{k}": (v,) for k, v in tags})
        if kind == "user":
            keys["aws:username"] = (name,)
            keys["aws:userid"] = (entity_id,)
        keys.update(self._context_keys(request.context_entries))
        sources: dict[str, tuple[str, str]] = {}
        identity = []
        for attached in policies.identity:
            identity.append(_parse(attached.document, "identity", attached.name))
            sources[attached.name] = _source_of(attached)
        boundary = None
        if policies.boundary is not None:
            boundary = _parse(policies.boundary.document, "identity", policies.boundary.name)
            sources[policies.boundary.name] = (
                _source_of(policies.boundary)[0],
                "permissions boundary",
            )
        sim = _Simulation(
            identity,
            boundary,
            self._resource_policy(request.resource_policy, sources),
            PrincipalRef((request.caller_arn or arn,), str(ctx.account_id)),
            keys,
            sources,
        )
        sim = self._extra_policies(
            sim,
            request.policy_input_list or (),
            request.permissions_boundary_policy_input_list or (),
        )
        results, marker = self._run(
            sim, request.action_names, request.resource_arns, request.marker, request.max_items
        )
        return s.SimulatePrincipalPolicyResponse(
            evaluation_results=tuple(results), is_truncated=marker is not None, marker=marker
        )

    @staticmethod
    def _source(
        tx: IdentityTransaction, kind: EntityKind, name: str
    ) -> tuple[str, str, str | None, tuple[tuple[str, str], ...]]:
        if kind == "user":
            user = IamBase._user(tx, name)
            return user.id, user.arn, user.boundary_arn, tx.tags("user", user.id)
        if kind == "role":
            role = IamBase._role(tx, name)
            return role.id, role.arn, role.boundary_arn, tx.tags("role", role.id)
        group = IamBase._group(tx, name)
        return group.id, group.arn, None, ()

    def simulate_custom_policy(
        self, ctx: CallContext, request: s.SimulateCustomPolicyRequest
    ) -> s.SimulatePrincipalPolicyResponse:
        self._authorize(ctx, "SimulateCustomPolicy", "*")
        sources: dict[str, tuple[str, str]] = {}
        caller = request.caller_arn or f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
        sim = _Simulation(
            [],
            None,
            self._resource_policy(request.resource_policy, sources),
            PrincipalRef((caller,), str(ctx.account_id)),
            self._context_keys(request.context_entries),
            sources,
        )
        sim = self._extra_policies(
            sim, request.policy_input_list, request.permissions_boundary_policy_input_list or ()
        )
        results, marker = self._run(
            sim, request.action_names, request.resource_arns, request.marker, request.max_items
        )
        return s.SimulatePrincipalPolicyResponse(
            evaluation_results=tuple(results), is_truncated=marker is not None, marker=marker
        )

    def get_account_authorization_details(
        self, ctx: CallContext, request: s.GetAccountAuthorizationDetailsRequest
    ) -> s.GetAccountAuthorizationDetailsResponse:
        self._authorize(ctx, "GetAccountAuthorizationDetails", "*")
        wanted = set(request.filter or ("User", "Role", "Group", "LocalManagedPolicy"))
        entries: list[tuple[str, object]] = []
        with self._reading() as tx:
            if "User" in wanted:
                user_tags = tx.tags_of_kind("user")
                for user in tx.users():
                    entries.append(
                        (f"0{user.name.lower()}", self._user_detail(tx, user, user_tags))
                    )
            if "Group" in wanted:
                for group in tx.groups():
                    entries.append((f"1{group.name.lower()}", self._group_detail(tx, group)))
            if "Role" in wanted:
                role_tags = tx.tags_of_kind("role")
                for role in tx.roles():
                    tags = role_tags.get(role.id, ())
                    shape = role_shape(role, tags, full=True)
                    entries.append(
                        (
                            f"2{role.name.lower()}",
                            s.RoleDetail(
                                path=role.path,
                                role_name=role.name,
                                role_id=role.id,
                                arn=role.arn,
                                create_date=role.created_at,
                                assume_role_policy_document=shape.assume_role_policy_document,
                                instance_profile_list=(),
                                role_policy_list=self._inline(tx, "role", role.id),
                                attached_managed_policies=self._attached(tx, "role", role.id),
                                permissions_boundary=boundary_of(role.boundary_arn),
                                tags=tag_shapes(tags),
                                role_last_used=shape.role_last_used,
                            ),
                        )
                    )
            if "LocalManagedPolicy" in wanted:
                counts = tx.attachment_counts()
                boundaries = [u.boundary_arn for u in tx.users()] + [
                    r.boundary_arn for r in tx.roles()
                ]
                for policy in tx.policies():
                    entries.append(
                        (
                            f"3{policy.name.lower()}",
                            s.ManagedPolicyDetail(
                                policy_name=policy.name,
                                policy_id=policy.id,
                                arn=policy.arn,
                                path=policy.path,
                                default_version_id=policy.default_version,
                                attachment_count=counts.get(policy.id, 0),
                                permissions_boundary_usage_count=boundaries.count(policy.arn),
                                is_attachable=True,
                                description=policy.description,
                                create_date=policy.created_at,
                                update_date=policy.updated_at,
                                policy_version_list=tuple(
                                    version_shape(v, policy.default_version, document=True)
                                    for v in tx.versions(policy.id)
                                ),
                            ),
                        )
                    )
        chosen, marker = page(entries, lambda e: e[0], request.marker, request.max_items)
        items = [item for _, item in chosen]
        return s.GetAccountAuthorizationDetailsResponse(
            user_detail_list=tuple(i for i in items if isinstance(i, s.UserDetail)),
            group_detail_list=tuple(i for i in items if isinstance(i, s.GroupDetail)),
            role_detail_list=tuple(i for i in items if isinstance(i, s.RoleDetail)),
            policies=tuple(i for i in items if isinstance(i, s.ManagedPolicyDetail)),
            is_truncated=marker is not None,
            marker=marker,
        )

    @staticmethod
    def _inline(
        tx: IdentityTransaction, kind: EntityKind, entity_id: str
    ) -> tuple[s.PolicyDetail, ...]:
        return tuple(
            s.PolicyDetail(policy_name=p.name, policy_document=encode_document(p.document))
            for p in tx.inline_policies(kind, entity_id)
        )

    @staticmethod
    def _attached(
        tx: IdentityTransaction, kind: EntityKind, entity_id: str
    ) -> tuple[s.AttachedPolicy, ...]:
        return tuple(
            s.AttachedPolicy(policy_name=p.name, policy_arn=p.arn)
            for p in tx.attached(kind, entity_id)
        )

    def _user_detail(
        self, tx: IdentityTransaction, user: UserRecord, tags_by_id: dict[str, Tags]
    ) -> s.UserDetail:
        return s.UserDetail(
            path=user.path,
            user_name=user.name,
            user_id=user.id,
            arn=user.arn,
            create_date=user.created_at,
            user_policy_list=self._inline(tx, "user", user.id),
            group_list=tuple(g.name for g in tx.groups_of_user(user.id)),
            attached_managed_policies=self._attached(tx, "user", user.id),
            permissions_boundary=boundary_of(user.boundary_arn),
            tags=tag_shapes(tags_by_id.get(user.id, ())),
        )

    def _group_detail(self, tx: IdentityTransaction, group: GroupRecord) -> s.GroupDetail:
        shape = group_shape(group)
        return s.GroupDetail(
            path=shape.path,
            group_name=shape.group_name,
            group_id=shape.group_id,
            arn=shape.arn,
            create_date=shape.create_date,
            group_policy_list=self._inline(tx, "group", shape.group_id),
            attached_managed_policies=self._attached(tx, "group", shape.group_id),
        )
