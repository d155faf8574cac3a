"""The alarm engine: watches every durable event and answers with the alarms it sets off.

The recorder calls ``AlarmEngine.observe`` once per event after the event is durable and
writes the alarm events it returns to the trail like any other. Each alarm also goes to
the log (WARNING), to the notifier (the optional webhook) and to the metrics.

Windows slide over event times (so tests inject times, and a replay gives the same
alarms). A (rule, principal) pair raises at most one alarm per window: the counting rules
use their own window, OutsideHours and DecryptWithoutContext the ``repeat_window``.
TenantGuardRefusal raises one alarm for every refused call, always.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from strongroom.audit.alarm_rules import (
    DECRYPT_WITHOUT_CONTEXT,
    FAILED_READ_BURST,
    MANY_TENANTS_TOUCHED,
    OUTSIDE_HOURS,
    TENANT_GUARD_REFUSAL,
    AlarmSettings,
    AlarmThresholds,
)
from strongroom.audit.events import ALARM, AuditEvent

log = logging.getLogger(__name__)

ALARM_SOURCE = "strongroom.audit"
ALARM_USER_AGENT = "strongroom.audit"
KMS_KEY_TYPE = "AWS::KMS::Key"
# Reads whose failures count towards FailedReadBurst.
FAILABLE_READS = frozenset(
    {
        "GetSecretValue",
        "BatchGetSecretValue",
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
# Reads that hand out secret material (a value, a plaintext, a data key): OutsideHours.
MATERIAL_READS = frozenset(
    {"GetSecretValue", "BatchGetSecretValue", "Decrypt", "GenerateDataKey", "GenerateDataKeyPair"}
)
# Operations that take an encryption context: DecryptWithoutContext.
CONTEXT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
# A call refused for its tenant's request rate is not a failed read: no probing in it.
THROTTLED_CODES = frozenset({"ThrottlingException", "Throttling"})
# The authorizer's refusal text names the guard; the recorder may also pass the flag.
TENANT_GUARD_MARK = "tenant guard"
# Forget idle principals every this many events, so state stays bounded.
_SWEEP_EVERY = 4096
DEFAULT_MAX_PRINCIPALS = 100_000


class AlarmMetrics(Protocol):
    def alarm_raised(self, name: str) -> None: ...


class AlarmNotifier(Protocol):
    def notify(self, alarm: AuditEvent) -> None:
        """Queue the alarm for delivery; never blocks, never raises."""
        ...


@dataclass(slots=True)
class _Read:
    at: float
    operation: str
    error_code: str
    tenant: str | None


def principal_of(event: AuditEvent) -> str:
    """The key alarms count by: the caller's ARN, else its access key, else its address."""
    identity = event.user_identity
    return identity.arn or identity.access_key_id or f"anonymous@{event.source_ip}"


def tenants_of(event: AuditEvent) -> list[str]:
    """The tenants a call concerned: its own ``tenant`` and its resources' (in order)."""
    found: list[str] = []
    if event.tenant is not None:
        found.append(event.tenant)
    for resource in event.resources:
        if resource.tenant is not None and resource.tenant not in found:
            found.append(resource.tenant)
    return found


def is_tenant_guard_refusal(event: AuditEvent) -> bool:
    return (
        event.error_code in DENIED_CODES
        and TENANT_GUARD_MARK in (event.error_message or "").lower()
    )


class AlarmEngine:
    """Evaluates the five rules over the stream of events; thread-safe, cheap per event."""

    def __init__(
        self,
        settings: AlarmSettings,
        *,
        notifier: AlarmNotifier | None = None,
        metrics: AlarmMetrics | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        max_principals: int = DEFAULT_MAX_PRINCIPALS,
    ) -> None:
        self._settings = settings
        self._notifier = notifier
        self._metrics = metrics
        self._new_id = new_id
        self._max_principals = max_principals
        self._longest = settings.longest_window
        # "More than N" needs at most N + 1 remembered items per principal.
        self._keep = settings.largest_threshold + 1
        self._lock = threading.Lock()
        self._failed: dict[str, deque[_Read]] = {}
        self._touched: dict[str, dict[str, float]] = {}
        self._last_raised: dict[tuple[str, str], float] = {}
        self._observed = 0
        self._latest = 0.0

    @property
    def settings(self) -> AlarmSettings:
        return self._settings

    def observe(self, event: AuditEvent, *, tenant_guard_refused: bool = False) -> list[AuditEvent]:
        """The alarms this durable event sets off (often none), already logged, counted
        and queued for the webhook; the caller writes them to the trail.

        ``tenant_guard_refused``: the recorder's flag for a call the tenant guard refused
        (``CallJournal.tenant_guard_refusals > 0``); the refusal is also recognised from
        the event itself (AccessDenied whose message names the tenant guard).
        """
        if event.event_type == ALARM or event.event_source == ALARM_SOURCE:
            return []  # alarms never feed alarms
        tenants = tenants_of(event)
        rules = self._settings.for_tenant(tenants[0] if tenants else None)
        principal = principal_of(event)
        at = event.event_time.timestamp()
        name = event.event_name
        failed = event.error_code is not None
        raised: list[tuple[str, dict[str, Any]]] = []

        if tenant_guard_refused or is_tenant_guard_refusal(event):
            raised.append((TENANT_GUARD_REFUSAL, _refusal_evidence(event, principal, tenants)))
        if (
            rules.business_hours is not None
            and not failed
            and name in MATERIAL_READS
            and not rules.business_hours.contains(event.event_time)
        ):
            raised.append((OUTSIDE_HOURS, _hours_evidence(event, principal, rules)))
        if rules.decrypt_without_context and name in CONTEXT_OPERATIONS:
            shared_key = _shared_key(event)
            if shared_key is not None:
                context = (event.request_parameters or {}).get("encryptionContext")
                if not context:
                    raised.append(
                        (
                            DECRYPT_WITHOUT_CONTEXT,
                            {
                                "principal": principal,
                                "operation": name,
                                "keyArn": shared_key,
                                "encryptionContext": "absent" if context is None else "empty",
                                "tenant": tenants[0] if tenants else None,
                            },
                        )
                    )

        with self._lock:
            self._observed += 1
            self._latest = max(self._latest, at)
            if self._observed % _SWEEP_EVERY == 0 or (
                len(self._touched) + len(self._failed) > 2 * self._max_principals
            ):
                self._sweep()
            if failed and name in FAILABLE_READS and event.error_code not in THROTTLED_CODES:
                evidence = self._count_failed_read(event, principal, at, rules, tenants)
                if evidence is not None:
                    raised.append((FAILED_READ_BURST, evidence))
            if tenants and not failed:
                evidence = self._count_tenants(principal, at, rules, tenants)
                if evidence is not None:
                    raised.append((MANY_TENANTS_TOUCHED, evidence))
            # The counting rules were deduplicated while counting; these two are here.
            kept: list[tuple[str, dict[str, Any]]] = []
            for rule, evidence in raised:
                if rule in (OUTSIDE_HOURS, DECRYPT_WITHOUT_CONTEXT):
                    key = (rule, principal)
                    last = self._last_raised.get(key)
                    if last is not None and at - last < rules.repeat_window:
                        continue
                    self._last_raised[key] = at
                kept.append((rule, evidence))
        return [self._raise(rule, evidence, event) for rule, evidence in kept]

    # -- the counting rules (called under the lock) ---------------------------------

    def _count_failed_read(
        self,
        event: AuditEvent,
        principal: str,
        at: float,
        rules: AlarmThresholds,
        tenants: list[str],
    ) -> dict[str, Any] | None:
        reads = self._failed.get(principal)
        if reads is None:
            reads = self._failed[principal] = deque(maxlen=self._keep)
        reads.append(
            _Read(at, event.event_name, event.error_code or "", tenants[0] if tenants else None)
        )
        # The window ends at the newest failure seen: events may arrive slightly out of
        # order (mutations commit on their own), and one arriving late still counts.
        end = max(r.at for r in reads)
        start = end - rules.failed_reads_window
        recent = [r for r in reads if r.at > start]
        if len(recent) <= rules.failed_reads:
            return None
        if not self._may_raise(FAILED_READ_BURST, principal, end, rules.failed_reads_window):
            return None
        return {
            "principal": principal,
            "failedReads": len(recent),
            "threshold": rules.failed_reads,
            "windowSeconds": rules.failed_reads_window,
            "windowStart": _iso(min(r.at for r in recent)),
            "windowEnd": _iso(end),
            "operations": _tally(r.operation for r in recent),
            "errorCodes": _tally(r.error_code for r in recent),
            "tenants": sorted({r.tenant for r in recent if r.tenant is not None}),
        }

    def _count_tenants(
        self, principal: str, at: float, rules: AlarmThresholds, tenants: list[str]
    ) -> dict[str, Any] | None:
        seen = self._touched.get(principal)
        if seen is None:
            seen = self._touched[principal] = {}
        for tenant in tenants:
            # Re-inserting keeps the dict ordered from least to most recently touched.
            when = max(at, seen.pop(tenant, at))
            seen[tenant] = when
        while len(seen) > self._keep:
            del seen[next(iter(seen))]
        end = max(seen.values())  # as for failed reads: the newest touch seen
        start = end - rules.tenants_touched_window
        recent = sorted(t for t, when in seen.items() if when > start)
        if len(recent) <= rules.tenants_touched:
            return None
        if not self._may_raise(MANY_TENANTS_TOUCHED, principal, end, rules.tenants_touched_window):
            return None
        return {
            "principal": principal,
            "tenantCount": len(recent),
            "tenants": recent,
            "threshold": rules.tenants_touched,
            "windowSeconds": rules.tenants_touched_window,
            "windowEnd": _iso(end),
        }

    def _may_raise(self, rule: str, principal: str, at: float, window: float) -> bool:
        key = (rule, principal)
        last = self._last_raised.get(key)
        if last is not None and at - last < window:
            return False
        self._last_raised[key] = at
        return True

    def _sweep(self) -> None:
        """Forget principals idle for longer than any window; past the cap, the oldest."""
        horizon = self._latest - self._longest
        self._failed = {
            p: r for p, r in self._failed.items() if r and max(x.at for x in r) > horizon
        }
        self._touched = {p: s for p, s in self._touched.items() if s and max(s.values()) > horizon}
        self._last_raised = {k: t for k, t in self._last_raised.items() if t > horizon}
        for table in (self._failed, self._touched):
            excess = len(table) - self._max_principals
            for principal in list(table)[: max(excess, 0)]:
                del table[principal]

    # -- raising ----------------------------------------------------------------------

    def _raise(self, rule: str, evidence: dict[str, Any], cause: AuditEvent) -> AuditEvent:
        evidence = {
            **evidence,
            "triggeringEventId": cause.event_id,
            "triggeringRequestId": cause.request_id,
            "triggeringEventName": cause.event_name,
        }
        alarm = AuditEvent(
            event_id=self._new_id(),
            event_time=cause.event_time,
            event_source=ALARM_SOURCE,
            event_name=rule,
            aws_region=cause.aws_region,
            source_ip=cause.source_ip,
            user_agent=ALARM_USER_AGENT,
            # Its own id: "one event per request id" stays true of calls; the evidence
            # names the call that set the alarm off.
            request_id=self._new_id(),
            read_only=True,
            user_identity=cause.user_identity,
            request_parameters=evidence,
            resources=cause.resources,
            tenant=cause.tenant,
            recipient_account_id=cause.recipient_account_id,
            event_type=ALARM,
        )
        # ARNs, names, counts and codes only: evidence never holds request or response data.
        log.warning(
            "alarm %s principal=%s evidence=%s",
            rule,
            evidence["principal"],
            json.dumps(evidence, sort_keys=True, default=str),
        )
        if self._metrics is not None:
            self._metrics.alarm_raised(rule)
        if self._notifier is not None:
            self._notifier.notify(alarm)
        return alarm


def _refusal_evidence(event: AuditEvent, principal: str, tenants: list[str]) -> dict[str, Any]:
    return {
        "principal": principal,
        "operation": event.event_name,
        "errorCode": event.error_code,
        "tenants": tenants,
        "resources": [r.arn for r in event.resources],
    }


def _hours_evidence(event: AuditEvent, principal: str, rules: AlarmThresholds) -> dict[str, Any]:
    hours = rules.business_hours
    assert hours is not None  # noqa: S101 - the caller checked
    local = event.event_time.astimezone(hours.zone)
    return {
        "principal": principal,
        "operation": event.event_name,
        "eventTime": _iso(event.event_time.timestamp()),
        "localTime": local.strftime("%a %Y-%m-%d %H:%M"),
        "businessHours": hours.describe(),
        "tenants": tenants_of(event),
        "resources": [r.arn for r in event.resources],
    }


def _shared_key(event: AuditEvent) -> str | None:
    """The ARN of the KMS key the call used if that key belongs to no tenant."""
    for resource in event.resources:
        if resource.type == KMS_KEY_TYPE:
            return resource.arn if resource.tenant is None else None
    return None


def _tally(values: Iterable[str]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
