"""The story half of a poll: its alerts placed in stories (the pure
decision is :mod:`monitor.pipeline.story_assign`), held or routed, and
committed with the stories in one write."""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime

from monitor.domain.alert import Alert, RoutedAlert, Target
from monitor.domain.item import Item
from monitor.domain.ops import is_ops_alert
from monitor.domain.story import StoryUpdate
from monitor.pipeline.reload import Snapshot
from monitor.pipeline.story_assign import assign_stories
from monitor.store.ports import Stories
from monitor.stories.similarity import STORY_WINDOW


class StoryPlacing:
    """Places a poll's alerts in stories for :class:`~monitor.pipeline.poller.Poller`.

    Two polls placing alerts of one rule at once would each read the
    stories before the other's commit and write their own view of them; so
    placing and committing hold one lock (alerts are rare: polls without
    any never take it)."""

    _store: Stories

    def _init_story_placing(self) -> None:
        self._story_lock = threading.Lock()

    @abstractmethod
    def _targets(self, snap: Snapshot, alert: Alert) -> tuple[Target, ...]: ...

    def _story_guard(self, alerts: Sequence[Alert]) -> AbstractContextManager[object]:
        """The lock to hold from placing to committing (none without alerts)."""
        return self._story_lock if alerts else nullcontext()

    def _in_stories(
        self, snap: Snapshot, alerts: Sequence[Alert], items: Sequence[Item], now: datetime
    ) -> tuple[list[RoutedAlert], tuple[StoryUpdate, ...]]:
        """The alerts routed, each in its story, a new story's first held for
        its severity's hold; and the stories as they now stand. Call it
        holding :meth:`_story_guard`."""
        if not alerts:
            return [], ()
        rules = {alert.rule_id for alert in alerts if not is_ops_alert(alert)}
        recent = {
            rule: self._store.recent_stories(rule_id=rule, since=now - STORY_WINDOW)
            for rule in rules
        }
        official_tags = set(snap.config.stories.official_tags)
        storied = assign_stories(
            alerts,
            {item.identity: item for item in items},
            recent,
            official_feeds=frozenset(
                feed.name for feed in snap.config.feeds if official_tags.intersection(feed.tags)
            ),
            escalations={rule.id: rule.escalate for rule in snap.rules.rules if rule.escalate},
            now=now,
        )

        def held(alert: Alert) -> Callable[[Target], Target]:
            hold = snap.config.stories.hold_for(alert.severity)
            if alert.item_identity not in storied.leads or not hold:
                return lambda target: target
            return lambda target: replace(target, not_before=now + hold)

        routed: list[RoutedAlert] = [
            (alert, held(alert)(target))
            for alert in (*storied.alerts, *storied.escalations)
            for target in self._targets(snap, alert)
        ]
        return routed, storied.updates
