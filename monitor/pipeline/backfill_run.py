"""Carrying out a backfill: when rules are loaded (at start, or on a reload
that changed them), each new or changed rule is run over the archived items
of the last ``rules.backfill``, and what it would have raised is alerted
once, marked as backfill (the pure part is :mod:`monitor.pipeline.backfill`).

Polls under way when the rules were swapped keep the rules they started
with; a backfill waits for them first, so that an item one of them reads is
either in the archive the backfill reads or judged by the new rules.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.domain.alert import Alert, FoldedAlert, RoutedAlert
from monitor.domain.backfill import BackfillOutcome
from monitor.domain.item import Item
from monitor.pipeline.backfill import (
    backfill_alerts,
    fold_backfill,
    rule_fingerprints,
    rules_to_backfill,
)
from monitor.pipeline.feed_health import counted
from monitor.pipeline.reload import Snapshot
from monitor.pipeline.story_placing import PlacingStore, StoryPlacing
from monitor.rules.compiled import Match
from monitor.store.ports import Archive, RuleVersions
from monitor.units import format_duration

log = logging.getLogger("monitor")

OLDER_POLLS_WAIT = timedelta(minutes=10)
"""How long a backfill waits for polls still running the previous rules: a
poll's requests, redirects, parsing and queueing each have their own limits,
and a poll past all of them together is stuck, not slow."""

FOLDED_BECAUSE = "folded into the rule's backfill summary"
"""Why an alert a backfill summary stands for was never posted (monitor outbox --all)."""


class BackfillStore(Archive, RuleVersions, PlacingStore, Protocol):
    """The store as a backfill uses it: the archive, the rules' versions, stories."""


@dataclass(frozen=True)
class BackfillReport:
    """What one backfill did."""

    rules: tuple[str, ...]
    """The new or changed rules run over the archive."""
    items: int = 0
    """Archived items judged."""
    queued: int = 0
    """Alerts queued (a folded rule's summary counts one)."""
    folded: int = 0
    """Alerts a summary stands for, kept unposted."""


class Backfilling(StoryPlacing):
    """Runs backfills for :class:`~monitor.pipeline.poller.Poller`, whose
    polls it must not race: it shares their story lock and matching lock,
    and counts the polls under way by the rules they run."""

    _store: BackfillStore
    _matching_lock: threading.Lock

    @abstractmethod
    def _with_list_notes(
        self, alerts: Sequence[Alert], items: Sequence[Item], now: datetime
    ) -> tuple[Alert, ...]: ...

    def _init_backfilling(self) -> None:
        self._polls_changed = threading.Condition()
        self._polls_by_snapshot: Counter[int] = Counter()

    @contextmanager
    def _polling_with(self, snapshot: Callable[[], Snapshot]) -> Iterator[Snapshot]:
        """The snapshot running now, for one poll, counted as under way while
        the poll runs. Taken and counted in one step: a backfill that finds
        no poll counted with older rules finds none that took them."""
        with self._polls_changed:
            snap = snapshot()
            self._polls_by_snapshot[id(snap)] += 1
        try:
            yield snap
        finally:
            with self._polls_changed:
                self._polls_by_snapshot[id(snap)] -= 1
                if not self._polls_by_snapshot[id(snap)]:
                    del self._polls_by_snapshot[id(snap)]
                self._polls_changed.notify_all()

    def _wait_for_older_polls(self, snap: Snapshot, timeout: timedelta) -> bool:
        """Wait until no poll runs older rules than ``snap``'s; False on timeout."""
        with self._polls_changed:
            return self._polls_changed.wait_for(
                lambda: not (self._polls_by_snapshot.keys() - {id(snap)}),
                timeout=timeout.total_seconds(),
            )

    def backfill(self, snap: Snapshot, *, now: datetime) -> BackfillReport:
        """Run ``snap``'s new or changed rules over the archive of the last
        ``rules.backfill``, queue what they would have raised, and record
        every rule's version, in one write (see RuleVersions.commit_backfill)."""
        current = rule_fingerprints(snap.rules.rules)
        recorded = self._store.rule_versions()
        chosen = rules_to_backfill(current, recorded)
        window = snap.config.rules.backfill
        if not chosen or not window or not snap.config.archive.enabled:
            if current != recorded:
                self._store.commit_backfill(BackfillOutcome(current), now=now)
            return BackfillReport(chosen)
        # A poll still running the old rules may commit items the archive
        # read below would miss: wait for it.
        if not self._wait_for_older_polls(snap, OLDER_POLLS_WAIT):
            log.warning(
                "backfill: polls with the previous rules still run after %s; backfilling "
                "without what they will read",
                format_duration(OLDER_POLLS_WAIT),
            )
        archived = self._store.archived(since=now - window, until=now)

        def matches_of(item: Item) -> list[Match]:
            # Item by item: polls matching meanwhile wait for one item, not the archive.
            with self._matching_lock:
                return snap.rules.match(item)

        found = backfill_alerts(
            archived,
            matches_of,
            snap.policy,
            rule_ids=chosen,
            now=now,
            supersedes={rule.id: rule.supersedes for rule in snap.rules.rules},
        )
        alerts = self._with_list_notes(found, [entry.item for entry in archived], now)
        decision = fold_backfill(
            alerts,
            threshold=snap.config.polling.flood_threshold,
            window=window,
            now=now,
            fingerprints=current,
        )
        with self._story_guard(decision.alerts):
            placed = self._in_stories(
                snap, decision.alerts, [entry.item for entry in archived], now
            )
            folded: list[FoldedAlert] = [
                (alert, target, FOLDED_BECAUSE)
                for fold in decision.folds
                for alert in fold.folded
                for target in self._targets(snap, alert)
            ]
            routed: list[RoutedAlert] = placed.routed
            queued = self._store.commit_backfill(
                BackfillOutcome(current, alerts=routed, folded=folded, stories=placed.updates),
                now=now,
            )
            self._after_commit(placed, now)
        report = BackfillReport(
            chosen,
            items=len(archived),
            queued=queued,
            folded=sum(len(fold.folded) for fold in decision.folds),
        )
        log.info(
            "backfill: %s %s over %s read in the last %s: %s queued%s",
            "rule" if len(chosen) == 1 else "rules",
            ", ".join(chosen),
            counted(report.items, "archived item"),
            format_duration(window),
            counted(report.queued, "alert"),
            f", {report.folded} folded into a summary per rule" if report.folded else "",
        )
        return report
