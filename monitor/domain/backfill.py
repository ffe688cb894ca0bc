"""What a backfill commits: a new or changed rule's alerts over archived
items, and the version of every rule loaded (see monitor.pipeline.backfill)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.domain.alert import FoldedAlert, RoutedAlert
from monitor.domain.story import StoryUpdate


@dataclass(frozen=True)
class BackfillOutcome:
    """One backfill's write, committed at once: a crash before it leaves the
    rules unrecorded, so the next start backfills them again (and the outbox
    keeps one alert per rule, item and channel, so nothing is raised twice)."""

    rule_versions: Mapping[str, str]
    """Every rule loaded now, by id, with its fingerprint: the record a later
    start compares with (rules no longer loaded are forgotten)."""
    alerts: Sequence[RoutedAlert] = ()
    folded: Sequence[FoldedAlert] = ()
    """Alerts a flood alert stands for (more than polling.flood_threshold of one rule)."""
    stories: Sequence[StoryUpdate] = ()
