"""The audit record of the call in progress: what the edge and the services learn as it runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from strongroom.audit.events import AuditEvent, AuditResource


@dataclass(frozen=True, slots=True)
class BatchRead:
    """One secret a BatchGetSecretValue asked to read: logged as its own GetSecretValue."""

    resource: AuditResource
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class CallJournal:
    """Filled while one call runs, read by the edge when it builds the call's event.

    ``pending`` is the event as it will be written if the call succeeds (a mutation's
    only); the first write transaction of the call on the data database takes it and
    writes it in that same transaction (``taken``), so the change and its record commit
    together or not at all. ``request`` and ``response`` are the call's documents as
    decoded and as answered: they may hold secret material and never leave the process;
    ``redact`` (the operation's plan) turns the request into requestParameters.
    """

    operation: str = ""
    # The tenant the caller is bound to, if any.
    principal_tenant: str | None = None
    pending: AuditEvent | None = None
    taken: bool = False
    redact: Callable[[Any], dict[str, Any] | None] | None = None
    request: Any = None
    response: Any = None
    resources: list[AuditResource] = field(default_factory=list)
    # Further events the call yields, built by the edge from ``batch_reads``.
    extra_events: list[AuditEvent] = field(default_factory=list)
    batch_reads: list[BatchRead] = field(default_factory=list)
    tenant_guard_refusals: int = 0

    def note_resource(self, resource: AuditResource) -> None:
        for known in self.resources:
            if known.arn == resource.arn:
                return
        self.resources.append(resource)

    @property
    def tenant(self) -> str | None:
        """The tenant the call is filed under: a tenant-bound caller's own tenant, else the
        first resource's. A refused reach into another tenant is so filed under the
        caller's tenant, never shown to the tenant reached for (that would disclose one
        tenant's principals to another); operators see it, and the alarm fires."""
        if self.principal_tenant is not None:
            return self.principal_tenant
        for resource in self.resources:
            if resource.tenant is not None:
                return resource.tenant
        return None

    def request_parameters(self) -> dict[str, Any] | None:
        return None if self.redact is None else self.redact(self.request)

    def pending_event(self) -> AuditEvent | None:
        """The mutation's success event, completed with what the call has learnt so far
        (parameters, resources, tenant); None if there is none or it was taken."""
        if self.pending is None or self.taken:
            return None
        return dataclasses.replace(
            self.pending,
            request_parameters=self.request_parameters(),
            resources=tuple(self.resources),
            tenant=self.tenant,
        )

    def mark_taken(self) -> None:
        """The pending event committed with a write transaction of this call."""
        self.taken = True


_CURRENT: ContextVar[CallJournal | None] = ContextVar("strongroom_call_journal", default=None)


def current() -> CallJournal | None:
    """The journal of the call this thread or task is serving, if any."""
    return _CURRENT.get()


@contextmanager
def recording(journal: CallJournal) -> Iterator[CallJournal]:
    token = _CURRENT.set(journal)
    try:
        yield journal
    finally:
        _CURRENT.reset(token)
