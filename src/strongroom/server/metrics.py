"""Prometheus metrics: request counts and latencies, throttling, audit batches, alarms, webhooks.

Everything lives in a registry of our own (not prometheus-client's global one), which
``GET /metrics`` renders. Labels carry only operation names, outcomes and tenant names,
never request data; the tenant label takes at most ``max_tenants`` distinct values and
the rest are counted as "other", so a flood of tenants cannot blow up the series count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from strongroom.audit.alarm_rules import ALARM_NAMES
from strongroom.errors import ServiceError

DEFAULT_MAX_TENANTS = 50
# The classic text format every Prometheus scrapes (our names need none of 1.0.0's escaping).
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
# Operation names come from the dispatcher's table; this only guards against a caller
# passing something unbounded by mistake.
MAX_OPERATIONS = 1000
OTHER = "other"
NO_TENANT = ""

SUCCESS = "success"
CLIENT_ERROR = "client_error"
SERVER_ERROR = "server_error"
DENIED = "denied"
OUTCOMES = (SUCCESS, CLIENT_ERROR, SERVER_ERROR, DENIED)
# Refusals of who the caller is or what it may do (whatever their HTTP status).
DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)

_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


def outcome_of(error: ServiceError | None) -> str:
    """The outcome label of a call that raised ``error`` (None: it succeeded)."""
    if error is None:
        return SUCCESS
    return outcome_of_code(error.code, error.status)


def outcome_of_code(error_code: str | None, status: int) -> str:
    """The outcome label from an error code and HTTP status (as an audit event has them)."""
    if error_code is None and status < 400:
        return SUCCESS
    if error_code in DENIED_CODES:
        return DENIED
    return SERVER_ERROR if status >= 500 else CLIENT_ERROR


class Metrics:
    """The server's metrics; every method is thread-safe and cheap enough for the hot path."""

    def __init__(self, max_tenants: int = DEFAULT_MAX_TENANTS) -> None:
        if max_tenants < 0:
            raise ValueError("max_tenants must be at least 0")
        # No "_created" series: they would double the series count for a creation time
        # nobody alerts on. (prometheus-client's switch is process-wide; the server's
        # registry is the only one in the process.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self._max_tenants = max_tenants
        self._tenants: set[str] = set()
        self._operations: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._requests = Counter(
            "strongroom_requests",
            "Calls answered, by service, operation, outcome and tenant.",
            ("service", "operation", "outcome", "tenant"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "strongroom_request_duration_seconds",
            "Time to answer a call, by service and operation.",
            ("service", "operation"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._audit_batch = Histogram(
            "strongroom_audit_batch_size",
            "Events made durable per audit commit.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self._audit_commit = Histogram(
            "strongroom_audit_commit_duration_seconds",
            "Time to make one batch of audit events durable.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._alarms = Counter(
            "strongroom_alarms", "Alarms raised, by alarm.", ("alarm",), registry=self.registry
        )
        for name in ALARM_NAMES:
            self._alarms.labels(name)  # shown at 0 before the first one fires
        self._webhook_delivered = Counter(
            "strongroom_alarm_webhook_deliveries",
            "Alarms the webhook accepted (2xx).",
            registry=self.registry,
        )
        self._webhook_failed = Counter(
            "strongroom_alarm_webhook_failures",
            "Alarms given up on after every webhook retry failed.",
            registry=self.registry,
        )
        self._webhook_dropped = Counter(
            "strongroom_alarm_webhook_drops",
            "Alarms dropped because the webhook queue was full.",
            registry=self.registry,
        )
        self._throttled = Counter(
            "strongroom_throttled_requests",
            "Calls refused with ThrottlingException, by tenant and operation class.",
            ("tenant", "operation_class"),
            registry=self.registry,
        )
        # (service, operation, outcome, tenant label) → (count child, latency child): the
        # hot path pays one dict lookup instead of prometheus-client's labels() each call.
        self._children: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}

    # -- the hot path ---------------------------------------------------------------------

    def observe_request(
        self, service: str, operation: str, outcome: str, tenant: str | None, seconds: float
    ) -> None:
        """Count one answered call and its latency (``outcome``: one of ``OUTCOMES``)."""
        key = (service, operation, outcome, NO_TENANT if tenant is None else tenant)
        children = self._children.get(key)
        if children is None:
            children = self._children_for(key)
        children[0].inc()
        children[1].observe(seconds)

    def _children_for(self, key: tuple[str, str, str, str]) -> tuple[Counter, Histogram]:
        """The children of the key's bounded labels, made once: a tenant past the label's
        cap (or an operation past its cap) shares the cached "other" children, so its calls
        never pay prometheus-client's labels() again, however many such tenants call."""
        service, operation, outcome, tenant = key
        with self._lock:
            if (service, operation) not in self._operations:
                if len(self._operations) >= MAX_OPERATIONS:
                    service, operation = OTHER, OTHER
                else:
                    self._operations.add((service, operation))
            if outcome not in OUTCOMES:
                outcome = OTHER
            bounded = (service, operation, outcome, self._tenant_label(tenant))
            children = self._children.get(bounded)
            if children is None:
                children = (
                    self._requests.labels(*bounded),
                    self._latency.labels(service, operation),
                )
                # Keyed by bounded labels only: an unadmitted tenant adds no entry of its
                # own (it is found under "other" after one set lookup, above).
                if len(self._children) < 4 * MAX_OPERATIONS * len(OUTCOMES):
                    self._children[bounded] = children
            return children

    def _tenant_label(self, tenant: str) -> str:
        if tenant == NO_TENANT or tenant in self._tenants:
            return tenant
        if len(self._tenants) < self._max_tenants:
            self._tenants.add(tenant)
            return tenant
        return OTHER

    def throttled(self, tenant: str, operation_class: str) -> None:
        """Count one call refused because ``tenant`` is over its ``operation_class`` rate."""
        with self._lock:
            label = self._tenant_label(tenant)
        self._throttled.labels(label, operation_class).inc()

    def watch_rate_limit_processes(self, processes: Callable[[], float]) -> None:
        """Expose how many live server processes every tenant rate is split over."""
        gauge = Gauge(
            "strongroom_rate_limit_processes",
            "Live server processes sharing each tenant's request rate (this one enforces 1/N).",
            registry=self.registry,
        )
        gauge.set_function(processes)

    # -- the audit trail, alarms, the webhook ---------------------------------------------

    def observe_audit_batch(self, size: int, seconds: float) -> None:
        """One group commit (or in-transaction write) of ``size`` events took ``seconds``."""
        self._audit_batch.observe(size)
        self._audit_commit.observe(seconds)

    def alarm_raised(self, name: str) -> None:
        self._alarms.labels(name).inc()

    def webhook_delivered(self) -> None:
        self._webhook_delivered.inc()

    def webhook_failed(self) -> None:
        self._webhook_failed.inc()

    def webhook_dropped(self) -> None:
        self._webhook_dropped.inc()

    # -- GET /metrics -----------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, bytes]:
        """(content type, body) of the text format."""
        return CONTENT_TYPE, generate_latest(self.registry)
