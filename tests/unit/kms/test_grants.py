"""KMS grants: who they let in, under which constraints, tokens, retiring and revoking."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from strongroom.authorization import AccessRequest
from strongroom.context import CallContext
from strongroom.errors import (
    AccessDeniedException,
    InvalidArnException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    NotFoundException,
    ValidationException,
)
from strongroom.kms import shapes
from tests.unit.kms.conftest import (
    ALICE,
    ALICE_ARN,
    ROLE_ARN,
    ROOT,
    SESSION,
    SESSION_ARN,
    KmsStack,
)

BOB_ARN = "arn:aws:iam::111122223333:user/bob"


def _only_root(ctx: CallContext, request: AccessRequest) -> bool:
    """Policies allow the root everything and nobody else anything."""
    return ctx.principal.is_root


def _key(stack: KmsStack, **create: object) -> str:
    metadata = stack.administration.create_key(ROOT, shapes.CreateKeyRequest(**create))  # type: ignore[arg-type]
    assert metadata.key_metadata is not None
    return str(metadata.key_metadata.key_id)


def _grant(
    stack: KmsStack,
    key_id: str,
    grantee: str,
    operations: tuple[str, ...],
    *,
    ctx: CallContext = ROOT,
    **more: object,
) -> shapes.CreateGrantResult:
    return stack.grants.create_grant(
        ctx,
        shapes.CreateGrantRequest(
            key_id=key_id,
            grantee_principal=grantee,
            operations=operations,
            **more,  # type: ignore[arg-type]
        ),
    )


def _encrypt(
    stack: KmsStack,
    ctx: CallContext,
    key_id: str,
    context: Mapping[str, str] | None = None,
    tokens: tuple[str, ...] | None = None,
) -> bytes:
    result = stack.crypto.encrypt(
        ctx,
        shapes.EncryptRequest(
            key_id=key_id,
            plaintext=b"secret",
            encryption_context=dict(context) if context else None,
            grant_tokens=tokens,
        ),
    )
    assert result.ciphertext_blob is not None
    return result.ciphertext_blob


@pytest.fixture
def key_id(stack: KmsStack) -> str:
    key = _key(stack)
    stack.authorizer.rule = _only_root
    return key


def test_without_a_grant_a_principal_without_policies_is_denied(
    stack: KmsStack, key_id: str
) -> None:
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, ALICE, key_id)


def test_grants_are_read_only_when_no_policy_allows_the_call(
    stack: KmsStack, key_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Most callers are allowed by the key policy or their own policies: with many tenants
    # their calls must not each read the key's grants.
    _grant(stack, key_id, ALICE_ARN, ("Encrypt",))
    stack.grant_book.forget_all()
    reads: list[str] = []
    grants_for = stack.store.grants_for

    def counted(key: str, grantees: tuple[str, ...]) -> object:
        reads.append(key)
        return grants_for(key, grantees)

    monkeypatch.setattr(stack.store, "grants_for", counted)
    _encrypt(stack, ROOT, key_id)
    assert reads == []
    _encrypt(stack, ALICE, key_id)  # no policy allows Alice: her grant does
    assert reads == [key_id]
    assert stack.authorizer.requests[-1].granted()


def test_grant_allows_its_operations_for_its_grantee_only(stack: KmsStack, key_id: str) -> None:
    _grant(stack, key_id, ALICE_ARN, ("Encrypt", "Decrypt"))
    blob = _encrypt(stack, ALICE, key_id)
    plaintext = stack.crypto.decrypt(ALICE, shapes.DecryptRequest(ciphertext_blob=blob)).plaintext
    assert plaintext == b"secret"
    assert stack.authorizer.requests[-1].granted()
    with pytest.raises(AccessDeniedException):
        stack.crypto.generate_data_key(
            ALICE, shapes.GenerateDataKeyRequest(key_id=key_id, key_spec="AES_256")
        )
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, SESSION, key_id)


def test_role_grant_matches_the_roles_sessions(stack: KmsStack, key_id: str) -> None:
    _grant(stack, key_id, ROLE_ARN, ("Encrypt",))
    _encrypt(stack, SESSION, key_id)


def test_session_grant_matches_that_session(stack: KmsStack, key_id: str) -> None:
    _grant(stack, key_id, SESSION_ARN, ("Encrypt",))
    _encrypt(stack, SESSION, key_id)


def test_subset_constraint_needs_those_pairs(stack: KmsStack, key_id: str) -> None:
    subset = shapes.GrantConstraints(encryption_context_subset={"tenant_id": "c1"})
    _grant(stack, key_id, ALICE_ARN, ("Encrypt",), constraints=subset)
    _encrypt(stack, ALICE, key_id, {"tenant_id": "c1", "purpose": "x"})
    for context in ({"tenant_id": "c2"}, {"purpose": "x"}, None, {"TENANT_ID": "c1"}):
        with pytest.raises(AccessDeniedException):
            _encrypt(stack, ALICE, key_id, context)


def test_equals_constraint_needs_exactly_that_context(stack: KmsStack, key_id: str) -> None:
    equals = shapes.GrantConstraints(encryption_context_equals={"tenant_id": "c1"})
    _grant(stack, key_id, ALICE_ARN, ("Encrypt",), constraints=equals)
    _encrypt(stack, ALICE, key_id, {"tenant_id": "c1"})
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, ALICE, key_id, {"tenant_id": "c1", "more": "x"})


def test_explicit_deny_beats_a_grant(stack: KmsStack, key_id: str) -> None:
    _grant(stack, key_id, ALICE_ARN, ("Encrypt",))
    stack.authorizer.rule = lambda ctx, request: None if not ctx.principal.is_root else True
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, ALICE, key_id)


def test_grant_token_names_a_live_grant(stack: KmsStack, key_id: str) -> None:
    token = str(_grant(stack, key_id, ALICE_ARN, ("Encrypt",)).grant_token)
    _encrypt(stack, ALICE, key_id, tokens=(token,))
    _encrypt(stack, ROOT, key_id, tokens=(token,))
    with pytest.raises(InvalidGrantTokenException):
        _encrypt(stack, ROOT, key_id, tokens=("not-a-token",))
    stack.grants.retire_grant(ROOT, shapes.RetireGrantRequest(grant_token=token))
    with pytest.raises(InvalidGrantTokenException):
        _encrypt(stack, ROOT, key_id, tokens=(token,))


def test_grant_token_makes_a_grant_usable_before_the_cache_sees_it(
    stack: KmsStack, key_id: str
) -> None:
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, ALICE, key_id)  # caches "no grants" for (key, alice)
    result = stack.grants.create_grant(
        ROOT,
        shapes.CreateGrantRequest(
            key_id=key_id, grantee_principal=ALICE_ARN, operations=("Encrypt",)
        ),
    )
    # Another process would still see the cached "no grants" for a second; the token
    # is read from storage.
    stack.grant_book._cache[(key_id, (ALICE_ARN,))] = ([], float("inf"))
    with pytest.raises(AccessDeniedException):
        _encrypt(stack, ALICE, key_id)
    _encrypt(stack, ALICE, key_id, tokens=(str(result.grant_token),))


def test_tokens_differ_per_call_but_name_one_grant(stack: KmsStack, key_id: str) -> None:
    first = _grant(stack, key_id, ALICE_ARN, ("Encrypt",), name="app-grant")
    again = _grant(stack, key_id, ALICE_ARN, ("Encrypt",), name="app-grant")
    other = _grant(stack, key_id, ALICE_ARN, ("Decrypt",), name="app-grant")
    assert again.grant_id == first.grant_id
    assert again.grant_token != first.grant_token
    assert other.grant_id != first.grant_id
    listed = stack.grants.list_grants(ROOT, shapes.ListGrantsRequest(key_id=key_id)).grants
    assert listed is not None
    assert len(listed) == 2


def test_create_grant_through_a_grant_gives_no_more_than_it_holds(
    stack: KmsStack, key_id: str
) -> None:
    subset = shapes.GrantConstraints(encryption_context_subset={"tenant_id": "c1"})
    _grant(stack, key_id, ALICE_ARN, ("Encrypt", "Decrypt", "CreateGrant"), constraints=subset)
    _grant(stack, key_id, BOB_ARN, ("Decrypt",), ctx=ALICE, constraints=subset)
    stricter = shapes.GrantConstraints(encryption_context_equals={"tenant_id": "c1", "a": "b"})
    _grant(stack, key_id, BOB_ARN, ("Encrypt",), ctx=ALICE, constraints=stricter)
    with pytest.raises(AccessDeniedException):
        _grant(stack, key_id, BOB_ARN, ("Decrypt",), ctx=ALICE)  # drops the constraint
    with pytest.raises(AccessDeniedException):
        _grant(stack, key_id, BOB_ARN, ("GenerateDataKey",), ctx=ALICE, constraints=subset)


def test_retire_grant_by_retiring_principal_or_grantee_with_retire_grant(
    stack: KmsStack, key_id: str
) -> None:
    retirable = _grant(stack, key_id, BOB_ARN, ("Encrypt",), retiring_principal=ALICE_ARN)
    self_retiring = _grant(stack, key_id, ALICE_ARN, ("Encrypt", "RetireGrant"))
    plain = _grant(stack, key_id, ALICE_ARN, ("Encrypt",))
    stack.grants.retire_grant(
        ALICE, shapes.RetireGrantRequest(key_id=key_id, grant_id=retirable.grant_id)
    )
    stack.grants.retire_grant(
        ALICE, shapes.RetireGrantRequest(grant_token=self_retiring.grant_token)
    )
    with pytest.raises(AccessDeniedException):
        stack.grants.retire_grant(
            ALICE, shapes.RetireGrantRequest(key_id=key_id, grant_id=plain.grant_id)
        )
    with pytest.raises(AccessDeniedException):
        stack.grants.revoke_grant(
            ALICE, shapes.RevokeGrantRequest(key_id=key_id, grant_id=str(plain.grant_id))
        )
    stack.grants.revoke_grant(
        ROOT, shapes.RevokeGrantRequest(key_id=key_id, grant_id=str(plain.grant_id))
    )
    assert stack.store.list_grants(key_id, None, None, None, 10) == []
    with pytest.raises(NotFoundException):
        stack.grants.revoke_grant(
            ROOT, shapes.RevokeGrantRequest(key_id=key_id, grant_id=str(plain.grant_id))
        )
    with pytest.raises(InvalidGrantIdException):
        stack.grants.revoke_grant(ROOT, shapes.RevokeGrantRequest(key_id=key_id, grant_id="x"))


def test_list_grants_pages_and_filters(stack: KmsStack, key_id: str) -> None:
    made = {str(_grant(stack, key_id, ALICE_ARN, ("Encrypt",)).grant_id) for _ in range(5)}
    made.add(str(_grant(stack, key_id, BOB_ARN, ("Decrypt",)).grant_id))
    seen: list[str] = []
    marker = None
    while True:
        page = stack.grants.list_grants(
            ROOT, shapes.ListGrantsRequest(key_id=key_id, limit=2, marker=marker)
        )
        assert page.grants is not None
        assert len(page.grants) <= 2
        seen += [str(g.grant_id) for g in page.grants]
        if not page.truncated:
            break
        marker = page.next_marker
    assert sorted(seen) == sorted(made)
    bobs = stack.grants.list_grants(
        ROOT, shapes.ListGrantsRequest(key_id=key_id, grantee_principal=BOB_ARN)
    ).grants
    assert bobs is not None
    assert [g.operations for g in bobs] == [("Decrypt",)]


def test_list_retirable_grants(stack: KmsStack, key_id: str) -> None:
    mine = _grant(stack, key_id, BOB_ARN, ("Encrypt",), retiring_principal=ALICE_ARN)
    _grant(stack, key_id, BOB_ARN, ("Encrypt",))
    listed = stack.grants.list_retirable_grants(
        ROOT, shapes.ListRetirableGrantsRequest(retiring_principal=ALICE_ARN)
    ).grants
    assert listed is not None
    assert [g.grant_id for g in listed] == [mine.grant_id]


@pytest.mark.parametrize(
    ("error", "request_fields"),
    [
        (InvalidArnException, {"grantee_principal": "someone", "operations": ("Encrypt",)}),
        (ValidationException, {"grantee_principal": ALICE_ARN, "operations": ("Sign",)}),
        (
            ValidationException,
            {
                "grantee_principal": ALICE_ARN,
                "operations": ("Encrypt",),
                "constraints": shapes.GrantConstraints(
                    encryption_context_subset={"a": "b"}, encryption_context_equals={"a": "b"}
                ),
            },
        ),
        (
            ValidationException,
            {
                "grantee_principal": ALICE_ARN,
                "operations": ("Encrypt", "GetPublicKey"),
                "constraints": shapes.GrantConstraints(encryption_context_subset={"a": "b"}),
            },
        ),
    ],
)
def test_malformed_create_grant_is_refused(
    stack: KmsStack, key_id: str, error: type[Exception], request_fields: dict[str, object]
) -> None:
    with pytest.raises(error):
        stack.grants.create_grant(
            ROOT,
            shapes.CreateGrantRequest(key_id=key_id, **request_fields),  # type: ignore[arg-type]
        )
    assert stack.store.list_grants(key_id, None, None, None, 10) == []
