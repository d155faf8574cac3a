"""ListKeys and ListAliases show only keys the caller may describe; markers stay valid."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.authorization import AccessRequest
from strongroom.context import CallContext
from strongroom.kms import shapes
from strongroom.kms.filtered_pages import visible_page
from tests.unit.kms.conftest import ALICE, ROOT, KmsStack


def _walk(rows: list[str], visible: set[str], limit: int, scan_limit: int) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(10_000):
        page, after = visible_page(
            lambda cursor, count: [r for r in rows if cursor is None or r > cursor][:count],
            lambda row: row,
            lambda row: row in visible,
            after,
            limit,
            scan_limit,
        )
        assert len(page) <= limit
        seen += page
        if after is None:
            return seen
    raise AssertionError("pagination did not end")


@given(
    rows=st.lists(st.text(alphabet="abcdef", min_size=1, max_size=4), unique=True),
    data=st.data(),
    limit=st.integers(1, 5),
    scan_limit=st.integers(1, 8),
)
def test_visible_page_walks_every_visible_row_once(
    rows: list[str], data: st.DataObject, limit: int, scan_limit: int
) -> None:
    rows = sorted(rows)
    visible = set(data.draw(st.lists(st.sampled_from(rows)) if rows else st.just([])))
    assert _walk(rows, visible, limit, scan_limit) == [r for r in rows if r in visible]


def _alice_may_describe(tagged: str) -> object:
    def rule(ctx: CallContext, request: AccessRequest) -> bool:
        if ctx.principal.is_root:
            return True
        if request.action in ("kms:ListKeys", "kms:ListAliases"):
            return True
        return request.resource_tags.get("owner") == tagged

    return rule


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_list_keys_shows_what_the_caller_may_describe(stack: KmsStack, limit: int) -> None:
    visible = set()
    for i in range(7):
        owner = "alice" if i % 3 == 0 else "bob"
        created = stack.administration.create_key(
            ROOT, shapes.CreateKeyRequest(tags=(shapes.Tag("owner", owner),))
        ).key_metadata
        assert created is not None
        if owner == "alice":
            visible.add(created.key_id)
    stack.authorizer.rule = _alice_may_describe("alice")  # type: ignore[assignment]
    seen: list[str | None] = []
    marker = None
    while True:
        page = stack.administration.list_keys(
            ALICE, shapes.ListKeysRequest(limit=limit, marker=marker)
        )
        assert page.keys is not None
        assert len(page.keys) <= limit
        seen += [k.key_id for k in page.keys]
        if not page.truncated:
            assert page.next_marker is None
            break
        marker = page.next_marker
    assert sorted(seen, key=str) == sorted(visible, key=str)
    everything = stack.administration.list_keys(ROOT, shapes.ListKeysRequest()).keys
    assert everything is not None
    assert len(everything) == 7


def test_list_aliases_shows_aliases_of_describable_keys(stack: KmsStack) -> None:
    for owner in ("alice", "bob"):
        created = stack.administration.create_key(
            ROOT, shapes.CreateKeyRequest(tags=(shapes.Tag("owner", owner),))
        ).key_metadata
        assert created is not None
        stack.aliases.create_alias(
            ROOT,
            shapes.CreateAliasRequest(
                alias_name=f"alias/{owner}", target_key_id=str(created.key_id)
            ),
        )
    stack.authorizer.rule = _alice_may_describe("alice")  # type: ignore[assignment]
    names: list[str | None] = []
    marker = None
    while True:
        page = stack.aliases.list_aliases(ALICE, shapes.ListAliasesRequest(limit=1, marker=marker))
        assert page.aliases is not None
        names += [a.alias_name for a in page.aliases]
        if not page.truncated:
            break
        marker = page.next_marker
    # The AWS-managed alias (no key yet) names nothing, so it is listed for everyone.
    assert names == ["alias/alice", "alias/aws/secretsmanager"]
