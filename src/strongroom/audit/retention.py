"""Retention: events older than the retention period are exported, then pruned behind an anchor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from strongroom.audit.export import write_log_file
from strongroom.audit.ports import StoredEvent
from strongroom.clock import Clock

log = logging.getLogger(__name__)


class PrunableStore(Protocol):
    """What retention needs from the audit store."""

    def regions(self) -> list[str]: ...

    def scan(
        self, region: str, start_seq: int = 1, end_seq: int | None = None
    ) -> Iterator[StoredEvent]: ...

    def last_seq_before(self, region: str, cutoff: datetime) -> int: ...

    def first_seq(self, region: str) -> int | None: ...

    def prune(self, region: str, through_seq: int, pruned_at: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class PrunedRegion:
    region: str
    from_seq: int
    through_seq: int
    deleted: int
    export_file: Path


class Retention:
    """Runs the retention pass; ``prune_expired`` is what the periodic job calls."""

    def __init__(
        self,
        store: PrunableStore,
        clock: Clock,
        *,
        retention_days: int,
        export_dir: Path,
        before_prune: Callable[[], object] | None = None,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention must be at least one day")
        self._store = store
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._export_dir = export_dir
        # Run first, and if it fails nothing is pruned: what reads the events before they
        # go (the usage roll-up) catches up with the chain head.
        self._before_prune = before_prune

    def prune_expired(self) -> list[PrunedRegion]:
        """For each region: export the prefix of events older than the retention period to
        one gzip CloudTrail log file, then delete it (one transaction, leaving the anchor)."""
        if self._before_prune is not None:
            self._before_prune()
        now = self._clock.now()
        cutoff = now - self._retention
        done: list[PrunedRegion] = []
        for region in self._store.regions():
            through = self._store.last_seq_before(region, cutoff)
            first = self._store.first_seq(region)
            if first is None or through < first:
                continue
            stamp = now.strftime("%Y%m%dT%H%M%SZ")
            path = self._export_dir / f"{region}_{stamp}_{first:012d}-{through:012d}.json.gz"
            # Exported (and fsynced) before anything is deleted: a crash in between leaves
            # a file and the events, and the next run exports them again.
            written = write_log_file(
                path, (event.record for event in self._store.scan(region, first, through))
            )
            if written != through - first + 1:
                raise RuntimeError(
                    f"audit retention: {region} seq {first}-{through} has gaps; not pruned "
                    "(run `strongroom audit verify`)"
                )
            deleted = self._store.prune(region, through, now)
            log.info(
                "audit retention: %s seq %d-%d exported to %s and pruned",
                region,
                first,
                through,
                path,
            )
            done.append(PrunedRegion(region, first, through, deleted, path))
        return done
