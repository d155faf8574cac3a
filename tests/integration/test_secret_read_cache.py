"""The embedded server's cache of secret heads and versions never answers with stale data."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from strongroom.secretsmanager import shapes as sm
from strongroom.storage import engines
from strongroom.storage.schema import secret_stages
from tests.support.secrets_service import Harness, call_context, service_harness

SECRET = "app/db"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with service_harness(tmp_path, cache_entries=100) as built:
        built.service.create_secret(
            call_context(), sm.CreateSecretRequest(name=SECRET, secret_string="v1")
        )
        # The day's first read writes LastAccessedDate (a write: it empties the cache).
        assert value(built) == "v1"
        yield built


def value(harness: Harness) -> str | None:
    return harness.service.get_secret_value(
        call_context(), sm.GetSecretValueRequest(SECRET)
    ).secret_string


def drop_labels_behind_the_store(harness: Harness) -> None:
    """A write the store does not see: only a cached read can still find the label."""
    with harness.engine.begin() as connection:
        connection.execute(delete(secret_stages))


def test_reads_are_answered_from_the_cache(harness: Harness) -> None:
    assert value(harness) == "v1"
    drop_labels_behind_the_store(harness)
    assert value(harness) == "v1"


def test_a_write_through_the_store_is_read_back_at_once(harness: Harness) -> None:
    assert value(harness) == "v1"
    harness.service.put_secret_value(
        call_context(), sm.PutSecretValueRequest(SECRET, secret_string="v2")
    )
    assert value(harness) == "v2"
    harness.service.delete_secret(call_context(), sm.DeleteSecretRequest(SECRET))
    with pytest.raises(Exception, match="marked for deletion"):
        value(harness)


def test_nothing_read_while_a_write_is_open_is_kept(harness: Harness) -> None:
    """A reader on another thread during a unit of work sees the old committed value, and
    that value is not cached: after the commit the new one is read."""
    seen: list[str | None] = []
    with engines.unit_of_work(harness.engine):
        harness.service.put_secret_value(
            call_context(), sm.PutSecretValueRequest(SECRET, secret_string="v2")
        )
        reader = threading.Thread(target=lambda: seen.append(value(harness)))
        reader.start()
        reader.join()
    assert seen == ["v1"]
    assert value(harness) == "v2"


def test_a_rolled_back_write_leaves_the_cache_usable(harness: Harness) -> None:
    with pytest.raises(RuntimeError), harness.store.transaction(write=True):
        raise RuntimeError("abandoned")
    assert value(harness) == "v1"
    drop_labels_behind_the_store(harness)
    assert value(harness) == "v1"  # cached again: the rollback ended the write


def test_a_read_that_began_before_a_write_is_not_kept(harness: Harness) -> None:
    cache = harness.store.cache
    assert cache is not None
    before = cache.generation()
    with harness.store.transaction(write=True):
        assert cache.generation() is None
    cache.put("stale", object(), before)
    assert cache.get("stale") is None


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    with service_harness(tmp_path, cache_entries=2) as built:
        cache = built.store.cache
        assert cache is not None
        for key in ("a", "b", "c"):
            cache.put(key, key, cache.generation())
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "b", "c")
