"""Forgetting: what the state keeps is pruned past its retention."""

from __future__ import annotations

import logging
from datetime import datetime

from monitor.domain.feed import PruneReport
from monitor.errors import StateError
from monitor.store.ports import Maintenance

log = logging.getLogger("monitor")


def prune_state(
    store: Maintenance, cutoff: datetime, *, archive_cutoff: datetime | None = None
) -> PruneReport:
    """Forget what is older than ``cutoff`` (archived items: ``archive_cutoff``,
    see Maintenance.prune), and log what went; a state database that refuses
    is logged, never raised."""
    try:
        report = store.prune(cutoff, archive_cutoff=archive_cutoff)
    except StateError as exc:
        log.error("cannot prune the state database: %s", exc)
        return PruneReport()
    log.info(
        "pruned records older than %s: %d seen items, %d delivered alerts, %d stories, "
        "%d closed incidents",
        f"{cutoff:%Y-%m-%d %H:%M} UTC",
        report.seen,
        report.alerts,
        report.stories,
        report.incidents,
    )
    return report
