"""The tenant guard with tenancy: blocked tenants, shares as the one door, and their caches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from strongroom.authorization import AccessRequest
from strongroom.clock import FrozenClock
from strongroom.context import ASSUMED_ROLE, IAM_USER, CallContext, Principal, SessionInfo
from strongroom.crypto.aead import random_key
from strongroom.errors import AccessDeniedException
from strongroom.identity.authorization_messages import AuthorizationMessages
from strongroom.identity.authorizer import PolicyAuthorizer
from strongroom.ids import AccountId, Partition, Region
from strongroom.kms.keyring import KeyRing
from strongroom.tenancy import share_book, tenant_gate
from strongroom.tenancy.share_book import ShareBook
from strongroom.tenancy.sharing_ports import ShareNotFound, ShareRecord
from strongroom.tenancy.tenant_gate import BlockedTenants, TenancyGate
from tests.unit.kms.test_keyring import MemoryKeyMaterialStore

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
STRIPE = "/shared/vendor/stripe/api-key"
TWILIO = "/shared/vendor/twilio/api-key"
GET = "secretsmanager:GetSecretValue"
DESCRIBE = "secretsmanager:DescribeSecret"
PUT = "secretsmanager:PutSecretValue"


# -- in-memory stand-ins for the stores ----------------------------------------------------


@dataclass
class MemoryShares:
    """A ShareStore in memory that counts how often all shares are read."""

    rows: dict[tuple[str, str], ShareRecord] = field(default_factory=dict)
    reads: int = 0

    def all_shares(self) -> list[ShareRecord]:
        self.reads += 1
        return [self.rows[k] for k in sorted(self.rows)]

    def shares_page(
        self, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ShareRecord]:
        keys = [k for k in sorted(self.rows) if tenant_id in (None, k[0])]
        return [self.rows[k] for k in keys if after is None or k > after][:limit]

    def put_share(self, share: ShareRecord) -> ShareRecord:
        self.rows[(share.tenant_id, share.secret_pattern)] = share
        return share

    def delete_share(self, tenant_id: str, secret_pattern: str) -> None:
        if self.rows.pop((tenant_id, secret_pattern), None) is None:
            raise ShareNotFound(tenant_id, secret_pattern)

    def delete_tenant_shares(self, tenant_id: str) -> int:
        gone = [k for k in self.rows if k[0] == tenant_id]
        for key in gone:
            del self.rows[key]
        return len(gone)

    def reset(self) -> None:
        self.rows.clear()

    def share(self, tenant: str, pattern: str, *actions: str) -> None:
        self.put_share(ShareRecord(tenant, pattern, actions or ("READ",), NOW, "admin"))


@dataclass
class MemoryStatuses:
    """The tenant store's ``statuses()``: every tenant that is not ACTIVE."""

    by_tenant: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def statuses(self) -> Iterator[tuple[str, str]]:
        self.reads += 1
        return iter(list(self.by_tenant.items()))


class FakeTime:
    """Stands in for the ``time`` module of the cache modules: monotonic seconds by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(share_book, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(tenant_gate, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture
def shares() -> MemoryShares:
    return MemoryShares()


@pytest.fixture
def statuses() -> MemoryStatuses:
    return MemoryStatuses()


@pytest.fixture
def book(shares: MemoryShares, clock: FakeTime) -> ShareBook:
    return ShareBook(shares, cache_seconds=30.0)


@pytest.fixture
def blocked(statuses: MemoryStatuses, clock: FakeTime) -> BlockedTenants:
    return BlockedTenants(statuses, cache_seconds=30.0)


# -- the share book ------------------------------------------------------------------------


def test_a_share_opens_only_its_tenant_its_names_and_its_actions(
    book: ShareBook, shares: MemoryShares
) -> None:
    shares.share("cust-12345", "/shared/vendor/stripe/*", "READ")
    shares.share("cust-67890", TWILIO, "DESCRIBE")
    assert book.opening_share("cust-12345", STRIPE, GET) == "/shared/vendor/stripe/*"
    assert book.opens("cust-12345", STRIPE, DESCRIBE)
    assert not book.opens("cust-12345", STRIPE, PUT)
    assert not book.opens("cust-12345", TWILIO, GET)
    assert not book.opens("cust-67890", STRIPE, GET)
    assert not book.opens("cust-1234", STRIPE, GET)
    assert not book.opens("cust-123456", STRIPE, GET)
    assert book.opens("cust-67890", TWILIO, DESCRIBE)
    assert not book.opens("cust-67890", TWILIO, GET)


def test_the_book_reads_all_shares_once_per_lifetime(
    book: ShareBook, shares: MemoryShares, clock: FakeTime
) -> None:
    shares.share("cust-1", "/shared/*")
    for _ in range(100):
        assert book.opens("cust-1", STRIPE, GET)
        assert not book.opens("cust-2", STRIPE, GET)
    assert shares.reads == 1
    # Another server removes the share: unseen until the lifetime ends, then seen.
    shares.delete_share("cust-1", "/shared/*")
    assert book.opens("cust-1", STRIPE, GET)
    clock.now += 30.0
    assert not book.opens("cust-1", STRIPE, GET)
    assert shares.reads == 2


def test_a_change_in_this_process_is_seen_at_once(book: ShareBook, shares: MemoryShares) -> None:
    assert not book.opens("cust-1", STRIPE, GET)
    shares.share("cust-1", STRIPE)
    book.changed()
    assert book.opens("cust-1", STRIPE, GET)
    shares.delete_share("cust-1", STRIPE)
    book.changed()
    assert not book.opens("cust-1", STRIPE, GET)


def test_shares_read_while_they_changed_are_not_kept(book: ShareBook, shares: MemoryShares) -> None:
    """A load that overlaps a change answers its own call only: an unshare made while the
    old shares were being read is never hidden for a cache lifetime."""
    shares.share("cust-1", STRIPE)
    real_read = shares.all_shares

    def read_then_unshare() -> list[ShareRecord]:
        found = real_read()
        shares.delete_share("cust-1", STRIPE)
        book.changed()  # the unsharing call commits and drops the book meanwhile
        return found

    shares.all_shares = read_then_unshare  # type: ignore[method-assign]
    assert book.opens("cust-1", STRIPE, GET)  # the read that began before the unshare
    shares.all_shares = real_read  # type: ignore[method-assign]
    assert not book.opens("cust-1", STRIPE, GET)


def test_concurrent_askers_share_one_read(shares: MemoryShares) -> None:
    book = ShareBook(shares, cache_seconds=60.0)
    shares.share("cust-1", STRIPE)
    release = threading.Event()
    real_read = shares.all_shares

    def slow_read() -> list[ShareRecord]:
        release.wait(5)
        return real_read()

    shares.all_shares = slow_read  # type: ignore[method-assign]
    answers: list[bool] = []
    threads = [
        threading.Thread(target=lambda: answers.append(book.opens("cust-1", STRIPE, GET)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert answers == [True] * 8
    assert shares.reads == 1


# -- blocked tenants -----------------------------------------------------------------------


def test_blocked_tenants_are_read_at_once_and_cached(
    blocked: BlockedTenants, statuses: MemoryStatuses, clock: FakeTime
) -> None:
    statuses.by_tenant = {"cust-1": "SUSPENDED", "cust-2": "OFFBOARDING", "cust-3": "SHREDDED"}
    assert blocked.status_of("cust-1") == "SUSPENDED"
    assert blocked.status_of("cust-2") == "OFFBOARDING"
    assert blocked.status_of("cust-3") == "SHREDDED"
    assert blocked.status_of("cust-4") is None  # active, or no tenant object at all
    assert statuses.reads == 1
    statuses.by_tenant = {}
    assert blocked.status_of("cust-1") == "SUSPENDED"  # another server resumed it
    clock.now += 30.0
    assert blocked.status_of("cust-1") is None
    statuses.by_tenant = {"cust-4": "SUSPENDED"}
    blocked.changed("cust-4")  # suspended in this process: seen at once
    assert blocked.status_of("cust-4") == "SUSPENDED"
    assert statuses.reads == 3


def test_only_blocking_statuses_block(blocked: BlockedTenants, statuses: MemoryStatuses) -> None:
    statuses.by_tenant = {"cust-1": "ACTIVE", "cust-2": "SUSPENDED"}
    gate = TenancyGate(blocked, ShareBook(MemoryShares()))
    assert gate.inactive_status("cust-1") is None
    assert gate.inactive_status("cust-2") == "SUSPENDED"


# -- the PolicyAuthorizer's guard with the gate --------------------------------------------


class PolicyTable:
    """Identity policies per principal ARN (what the IAM directory would return)."""

    def __init__(self) -> None:
        self.documents: dict[str, list[str]] = {}

    def policies_for(self, principal: Principal) -> Any:
        texts = self.documents.get(principal.identity_arn or principal.arn, [])
        identity = [SimpleNamespace(name=f"p{i}", document=t) for i, t in enumerate(texts)]
        return SimpleNamespace(identity=identity, boundary=None)


def _allow(actions: list[str], resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
    )


def _tenant_role(tenant: str | None, role: str = "service") -> Principal:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    tags = {} if tenant is None else {"customer": tenant}
    session = SessionInfo(role_arn, role, "s1", NOW, NOW, tags=tags)
    return Principal(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1",
        "AROAEXAMPLE:s1",
        "ASIASESSION",
        ASSUMED_ROLE,
        role,
        role_arn,
        tags,
        tenant,
        session,
    )


def _user(name: str, tenant: str) -> Principal:
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    tags = {"customer": tenant}
    return Principal(arn, "AIDAEXAMPLE", "AKIAUSER", IAM_USER, name, arn, tags, tenant)


def _ctx(principal: Principal) -> CallContext:
    return CallContext(
        principal,
        AccountId(ACCOUNT),
        Region("us-east-1"),
        Partition("aws"),
        "req-1",
        "127.0.0.1",
        "test",
    )


def _on_secret(action: str, name: str, **extra: Any) -> AccessRequest:
    shared = name if name.startswith("/shared/") else None
    return AccessRequest(action, f"{SECRETS}{name}-AbCdEf", shared_resource_name=shared, **extra)


@pytest.fixture
def table() -> PolicyTable:
    return PolicyTable()


@pytest.fixture
def authorizer(table: PolicyTable, book: ShareBook, blocked: BlockedTenants) -> PolicyAuthorizer:
    ring = KeyRing(random_key(), MemoryKeyMaterialStore(), FrozenClock(NOW))
    ring.open()
    return PolicyAuthorizer(
        table,
        FrozenClock(NOW),
        AuthorizationMessages(ring),
        gate=TenancyGate(blocked, book),
    )


def test_a_tenant_reaches_a_shared_secret_only_through_a_share_and_its_policy(
    authorizer: PolicyAuthorizer, table: PolicyTable, book: ShareBook, shares: MemoryShares
) -> None:
    role = _tenant_role("cust-12345")
    ctx = _ctx(role)
    table.documents[role.identity_arn] = [_allow([GET], f"{SECRETS}/shared/*")]
    refused = authorizer.decide(ctx, _on_secret(GET, STRIPE))
    assert not refused.allowed
    assert refused.tenant_guard
    assert refused.reason == (
        "because the tenant guard admits a tenant to shared secrets only through a share, "
        "and no share for tenant cust-12345 covers this secret and action"
    )
    shares.share("cust-12345", "/shared/vendor/stripe/*", "READ")
    book.changed()
    assert authorizer.decide(ctx, _on_secret(GET, STRIPE)).allowed
    assert not authorizer.decide(ctx, _on_secret(GET, TWILIO)).allowed  # not covered
    # A share opens the guard; it grants nothing: the policy does not allow DescribeSecret.
    describe = authorizer.decide(ctx, _on_secret(DESCRIBE, STRIPE))
    assert not describe.allowed
    assert not describe.tenant_guard
    assert describe.reason == (
        "because no identity-based policy allows the secretsmanager:DescribeSecret action"
    )
    # Unsharing takes effect at once, even though the allow above is in the decision cache.
    shares.delete_share("cust-12345", "/shared/vendor/stripe/*")
    book.changed()
    assert not authorizer.decide(ctx, _on_secret(GET, STRIPE)).allowed


def test_a_share_for_one_tenant_does_not_open_the_guard_for_another(
    authorizer: PolicyAuthorizer, table: PolicyTable, book: ShareBook, shares: MemoryShares
) -> None:
    shares.share("cust-12345", "/shared/*", "READ", "DESCRIBE")
    book.changed()
    other = _tenant_role("cust-67890", "other")
    table.documents[other.identity_arn] = [_allow(["secretsmanager:*"], "*")]
    decision = authorizer.decide(_ctx(other), _on_secret(GET, STRIPE))
    assert not decision.allowed
    assert decision.tenant_guard
    assert "cust-67890" in decision.reason


def test_a_describe_share_does_not_open_get_secret_value(
    authorizer: PolicyAuthorizer, table: PolicyTable, book: ShareBook, shares: MemoryShares
) -> None:
    shares.share("cust-1", STRIPE, "DESCRIBE")
    book.changed()
    role = _tenant_role("cust-1")
    table.documents[role.identity_arn] = [_allow(["secretsmanager:*"], "*")]
    ctx = _ctx(role)
    assert authorizer.decide(ctx, _on_secret(DESCRIBE, STRIPE)).allowed
    assert authorizer.decide(ctx, _on_secret("secretsmanager:ListSecretVersionIds", STRIPE)).allowed
    assert not authorizer.decide(ctx, _on_secret(GET, STRIPE)).allowed
    assert not authorizer.decide(
        ctx, _on_secret("secretsmanager:GetResourcePolicy", STRIPE)
    ).allowed


def test_no_share_lets_a_tenant_write_a_shared_secret(
    authorizer: PolicyAuthorizer, table: PolicyTable, book: ShareBook, shares: MemoryShares
) -> None:
    shares.share("cust-1", "/shared/*", "READ", "DESCRIBE")
    book.changed()
    role = _tenant_role("cust-1")
    table.documents[role.identity_arn] = [_allow(["secretsmanager:*"], "*")]
    for action in (PUT, "secretsmanager:DeleteSecret", "secretsmanager:TagResource"):
        decision = authorizer.decide(_ctx(role), _on_secret(action, STRIPE))
        assert not decision.allowed
        assert decision.tenant_guard


def test_principals_without_a_tenant_are_not_guarded(
    authorizer: PolicyAuthorizer, table: PolicyTable
) -> None:
    shared_service = _tenant_role(None, "fetcher")
    table.documents[shared_service.identity_arn] = [_allow([GET], f"{SECRETS}/shared/*")]
    assert authorizer.decide(_ctx(shared_service), _on_secret(GET, STRIPE)).allowed


def test_a_blocked_tenants_principals_are_refused_everything(
    authorizer: PolicyAuthorizer,
    table: PolicyTable,
    blocked: BlockedTenants,
    statuses: MemoryStatuses,
    book: ShareBook,
    shares: MemoryShares,
) -> None:
    shares.share("cust-1", "/shared/*")
    book.changed()
    alice = _user("alice", "cust-1")
    table.documents[alice.arn] = [_allow(["secretsmanager:*", "kms:*"], "*")]
    ctx = _ctx(alice)
    own = _on_secret(GET, "/customer/cust-1/db", resource_tenant="cust-1")
    account_wide = AccessRequest("secretsmanager:ListSecrets", "*")
    assert authorizer.decide(ctx, own).allowed
    assert authorizer.decide(ctx, account_wide).allowed
    assert authorizer.decide(ctx, _on_secret(GET, STRIPE)).allowed
    for status, words in (
        ("SUSPENDED", "suspended"),
        ("OFFBOARDING", "being offboarded"),
        ("SHREDDED", "shredded"),
    ):
        statuses.by_tenant = {"cust-1": status}
        blocked.changed("cust-1")
        for request in (own, account_wide, _on_secret(GET, STRIPE)):
            decision = authorizer.decide(ctx, request)
            assert not decision.allowed
            assert decision.tenant_guard
            assert decision.reason == f"because tenant cust-1 is {words}"
    with pytest.raises(AccessDeniedException) as denied:
        authorizer.authorize(ctx, own)
    assert "because tenant cust-1 is shredded." in denied.value.message
    statuses.by_tenant = {}
    blocked.changed("cust-1")
    assert authorizer.decide(ctx, own).allowed
    # Another tenant is not affected by cust-1's status.
    statuses.by_tenant = {"cust-1": "SUSPENDED"}
    blocked.changed("cust-1")
    bob = _user("bob", "cust-2")
    table.documents[bob.arn] = [_allow(["secretsmanager:*"], "*")]
    assert authorizer.decide(_ctx(bob), AccessRequest("secretsmanager:ListSecrets", "*")).allowed


def test_a_tenant_bound_caller_never_changes_shares(
    authorizer: PolicyAuthorizer, table: PolicyTable
) -> None:
    admin = _user("tenant-admin", "cust-1")
    table.documents[admin.arn] = [_allow(["*"], "*")]
    own_tenant = f"arn:aws:strongroom:us-east-1:{ACCOUNT}:tenant/cust-1"
    for action in ("strongroom:ShareSecrets", "strongroom:UnshareSecrets"):
        request = AccessRequest(action, own_tenant, resource_tenant="cust-1", changes_sharing=True)
        decision = authorizer.decide(_ctx(admin), request)
        assert not decision.allowed
        assert decision.tenant_guard
    listing = AccessRequest("strongroom:ListShares", own_tenant, resource_tenant="cust-1")
    assert authorizer.decide(_ctx(admin), listing).allowed
