"""Prometheus metrics: counts and latencies by label, a bounded tenant label, the audit and
alarm series, the text format as Prometheus parses it, served by GET /metrics."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import MutableMapping
from typing import Any

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from strongroom.audit.alarm_rules import ALARM_NAMES, FAILED_READ_BURST, TENANT_GUARD_REFUSAL
from strongroom.clock import SystemClock
from strongroom.errors import (
    AccessDeniedException,
    InternalError,
    ResourceNotFoundException,
    UnrecognizedClientException,
)
from strongroom.ids import AccountId
from strongroom.server.app import REQUIRED_SIGNED_HEADERS, EdgeSettings, StrongroomApp
from strongroom.server.dispatch import Dispatcher
from strongroom.server.metrics import (
    CLIENT_ERROR,
    DENIED,
    OTHER,
    SERVER_ERROR,
    SUCCESS,
    Metrics,
    outcome_of,
    outcome_of_code,
)
from strongroom.server.sigv4 import SigV4Verifier

SM = "secretsmanager"


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed by prometheus_client's own parser."""
    content_type, body = metrics.exposition()
    assert content_type == b"text/plain; version=0.0.4; charset=utf-8"
    parsed: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def requests(metrics: Metrics, **labels: str) -> float:
    key = ("strongroom_requests_total", tuple(sorted(labels.items())))
    return samples(metrics).get(key, 0.0)


def test_requests_are_counted_by_service_operation_outcome_and_tenant() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, "acme", 0.0004)
    metrics.observe_request(SM, "GetSecretValue", DENIED, "acme", 0.0002)
    metrics.observe_request("kms", "Decrypt", CLIENT_ERROR, None, 0.003)
    metrics.observe_request("kms", "Decrypt", SERVER_ERROR, "globex", 1.5)
    got = samples(metrics)
    labels = {"service": SM, "operation": "GetSecretValue", "tenant": "acme"}
    assert requests(metrics, **labels, outcome=SUCCESS) == 3
    assert requests(metrics, **labels, outcome=DENIED) == 1
    assert (
        requests(metrics, service="kms", operation="Decrypt", outcome=CLIENT_ERROR, tenant="") == 1
    )
    histogram = (("operation", "GetSecretValue"), ("service", SM))
    assert got[("strongroom_request_duration_seconds_count", histogram)] == 4
    assert abs(got[("strongroom_request_duration_seconds_sum", histogram)] - 0.0014) < 1e-9
    le = (("le", "0.0005"), ("operation", "GetSecretValue"), ("service", SM))
    assert got[("strongroom_request_duration_seconds_bucket", le)] == 4
    slow = (("le", "1.0"), ("operation", "Decrypt"), ("service", "kms"))
    assert got[("strongroom_request_duration_seconds_bucket", slow)] == 1


def test_the_tenant_label_is_bounded_and_the_rest_are_other() -> None:
    metrics = Metrics(max_tenants=3)
    for i in range(10):
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, f"tenant-{i}", 0.001)
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, f"tenant-{i}", 0.001)
    tenants = {
        dict(labels)["tenant"]: value
        for (name, labels), value in samples(metrics).items()
        if name == "strongroom_requests_total"
    }
    assert tenants == {"tenant-0": 2, "tenant-1": 2, "tenant-2": 2, OTHER: 14}
    # Admitted tenants keep their own series; calls without a tenant never use a slot.
    metrics.observe_request(SM, "GetSecretValue", SUCCESS, None, 0.001)
    metrics.observe_request(SM, "GetSecretValue", SUCCESS, "tenant-1", 0.001)
    assert (
        requests(metrics, service=SM, operation="GetSecretValue", outcome=SUCCESS, tenant="") == 1
    )
    assert (
        requests(
            metrics, service=SM, operation="GetSecretValue", outcome=SUCCESS, tenant="tenant-1"
        )
        == 3
    )
    # Unadmitted tenants are not remembered one by one either.
    for i in range(1000):
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, f"flood-{i}", 0.001)
    assert len(metrics._children) <= 10


def test_tenants_past_the_cap_share_the_other_children_made_once() -> None:
    # With 10,000 tenants most calls come from tenants past the label's cap: each of their
    # calls must not pay prometheus-client's labels() (a lock and a label check) again.
    metrics = Metrics(max_tenants=2)
    made: list[tuple[str, ...]] = []
    requests_labels = metrics._requests.labels

    def counting_labels(*values: str) -> Any:
        made.append(values)
        return requests_labels(*values)

    metrics._requests.labels = counting_labels  # type: ignore[method-assign]
    for i in range(500):
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, f"tenant-{i}", 0.001)
    assert made == [
        (SM, "GetSecretValue", SUCCESS, "tenant-0"),
        (SM, "GetSecretValue", SUCCESS, "tenant-1"),
        (SM, "GetSecretValue", SUCCESS, OTHER),
    ]
    assert (
        requests(metrics, service=SM, operation="GetSecretValue", outcome=SUCCESS, tenant=OTHER)
        == 498
    )
    assert len(metrics._children) == 3


def test_an_unknown_outcome_is_other() -> None:
    metrics = Metrics()
    metrics.observe_request(SM, "GetSecretValue", "weird", None, 0.001)
    assert requests(metrics, service=SM, operation="GetSecretValue", outcome=OTHER, tenant="") == 1


def test_audit_batches_alarms_and_webhook_series() -> None:
    metrics = Metrics()
    assert {
        dict(labels)["alarm"]
        for (name, labels), value in samples(metrics).items()
        if name == "strongroom_alarms_total" and value == 0
    } == set(ALARM_NAMES)
    metrics.observe_audit_batch(1, 0.002)
    metrics.observe_audit_batch(37, 0.004)
    metrics.alarm_raised(FAILED_READ_BURST)
    metrics.alarm_raised(FAILED_READ_BURST)
    metrics.webhook_delivered()
    metrics.webhook_failed()
    metrics.webhook_dropped()
    metrics.webhook_dropped()
    got = samples(metrics)
    assert got[("strongroom_audit_batch_size_count", ())] == 2
    assert got[("strongroom_audit_batch_size_sum", ())] == 38
    assert got[("strongroom_audit_batch_size_bucket", (("le", "1.0"),))] == 1
    assert got[("strongroom_audit_batch_size_bucket", (("le", "64.0"),))] == 2
    assert got[("strongroom_audit_commit_duration_seconds_count", ())] == 2
    assert got[("strongroom_alarms_total", (("alarm", FAILED_READ_BURST),))] == 2
    assert got[("strongroom_alarms_total", (("alarm", TENANT_GUARD_REFUSAL),))] == 0
    assert got[("strongroom_alarm_webhook_deliveries_total", ())] == 1
    assert got[("strongroom_alarm_webhook_failures_total", ())] == 1
    assert got[("strongroom_alarm_webhook_drops_total", ())] == 2


def test_outcomes_of_errors() -> None:
    assert outcome_of(None) == SUCCESS
    assert outcome_of(ResourceNotFoundException("no such secret")) == CLIENT_ERROR
    assert outcome_of(AccessDeniedException("not authorized")) == DENIED
    assert outcome_of(UnrecognizedClientException("bad token")) == DENIED
    assert outcome_of(InternalError("InternalServiceError")) == SERVER_ERROR
    assert outcome_of_code(None, 200) == SUCCESS
    assert outcome_of_code("AccessDenied", 403) == DENIED
    assert outcome_of_code("ThrottlingException", 400) == CLIENT_ERROR
    assert outcome_of_code("KMSInternalException", 500) == SERVER_ERROR


def test_each_metrics_has_its_own_registry_not_the_global_one() -> None:
    first, second = Metrics(), Metrics()
    first.observe_request(SM, "GetSecretValue", SUCCESS, "acme", 0.001)
    assert (
        requests(second, service=SM, operation="GetSecretValue", outcome=SUCCESS, tenant="acme")
        == 0
    )
    global_text = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "strongroom_requests" not in global_text


def test_concurrent_observations_are_all_counted() -> None:
    metrics = Metrics(max_tenants=4)
    barrier = threading.Barrier(8)

    def worker(w: int) -> None:
        barrier.wait()
        for i in range(2000):
            metrics.observe_request(SM, "GetSecretValue", SUCCESS, f"t{(w + i) % 8}", 0.0001)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(
        value
        for (name, _), value in samples(metrics).items()
        if name == "strongroom_requests_total"
    )
    assert total == 16_000
    tenants = {
        dict(labels)["tenant"]
        for (name, labels), _ in samples(metrics).items()
        if name == "strongroom_requests_total"
    }
    assert len(tenants) == 5  # four admitted + "other"


def test_observe_request_costs_a_few_microseconds() -> None:
    metrics = Metrics()
    tenants = [f"tenant-{i}" for i in range(20)]
    metrics.observe_request(SM, "GetSecretValue", SUCCESS, "warm", 0.0003)
    n = 50_000
    started = time.perf_counter()
    for i in range(n):
        metrics.observe_request(SM, "GetSecretValue", SUCCESS, tenants[i % 20], 0.0003)
    per_call = (time.perf_counter() - started) / n
    # Measured ~1.4 µs on this machine; generous bound for a shared CI box.
    assert per_call < 20e-6


def get(app: StrongroomApp, path: str) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8900")],
        "client": ("127.0.0.1", 5555),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, sent[1]["body"]


class NoKeys:
    def secret_access_key(self, access_key_id: str) -> str | None:
        return None


def app_with(metrics: Metrics | None) -> StrongroomApp:
    return StrongroomApp(
        dispatcher=Dispatcher(),
        verifier=SigV4Verifier(NoKeys(), required_signed_headers=REQUIRED_SIGNED_HEADERS),
        principals=lambda akid, token, partition: None,
        clock=SystemClock(),
        settings=EdgeSettings(
            account_id=AccountId("123456789012"),
            region_allowed=bool,
            metrics=None if metrics is None else metrics.exposition,
        ),
    )


def test_get_metrics_serves_the_text_format_without_authentication() -> None:
    metrics = Metrics()
    metrics.observe_request(SM, "GetSecretValue", SUCCESS, "acme", 0.001)
    status, headers, body = get(app_with(metrics), "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=")
    assert int(headers["content-length"]) == len(body)
    families = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {"strongroom_requests", "strongroom_request_duration_seconds"} <= families
    assert b"_created" not in body


def test_without_metrics_the_route_does_not_exist() -> None:
    status, _, body = get(app_with(None), "/metrics")
    assert status == 400
    assert b"UnknownOperationException" in body
