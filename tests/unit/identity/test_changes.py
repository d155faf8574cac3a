"""Brief identity caches: entries live until their time is up or IAM writes, and hold the
working set of 10,000 tenants without starting over."""

from __future__ import annotations

import time

from strongroom.identity.changes import CACHE_LIMIT, BriefCache, IdentityChanges


def test_the_principals_of_ten_thousand_tenants_stay_cached() -> None:
    # A session, a role and a user per tenant: a cache that starts over below that is
    # emptied before most principals call again, and every call reads the database.
    changes = IdentityChanges()
    cache: BriefCache[str, int] = BriefCache(changes, 60.0)
    for i in range(30_000):
        cache.put(f"principal-{i}", i, changes.generation)
    assert cache.get("principal-0") == 0
    assert cache.get("principal-29999") == 29_999


def test_the_cache_is_bounded() -> None:
    changes = IdentityChanges()
    cache: BriefCache[int, int] = BriefCache(changes, 60.0)
    for i in range(CACHE_LIMIT + 10):
        cache.put(i, i, changes.generation)
    assert len(cache._entries) <= CACHE_LIMIT


def test_an_entry_expires_and_an_iam_write_drops_every_entry() -> None:
    changes = IdentityChanges()
    brief: BriefCache[str, int] = BriefCache(changes, 0.05)
    brief.put("a", 1, changes.generation)
    assert brief.get("a") == 1
    time.sleep(0.06)
    assert brief.get("a") is None
    lasting: BriefCache[str, int] = BriefCache(changes, 60.0)
    lasting.put("a", 1, changes.generation)
    changes.changed()
    assert lasting.get("a") is None
