"""The story half of a poll: its alerts placed in stories (the pure
decision is :mod:`monitor.pipeline.story_assign`), held or routed, and
committed with the stories in one write."""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from monitor.domain.alert import Alert, RoutedAlert, Target
from monitor.domain.item import Item
from monitor.domain.ops import is_ops_alert
from monitor.domain.story import StoryMember, StoryUpdate
from monitor.pipeline.reload import Snapshot
from monitor.pipeline.story_assign import assign_stories, member_text
from monitor.store.ports import Outbox, Stories
from monitor.stories.similarity import STORY_WINDOW, StoryText

TEXT_CACHE = 20_000
"""Stored members' texts kept read, most recently used first."""
COMPARED_STORIES = 300
"""A rule's most recent stories an alert is compared with."""


@dataclass(frozen=True)
class Placed:
    """A poll's alerts placed in stories: routed, the stories as they now
    stand, and the stories raised now."""

    routed: list[RoutedAlert]
    updates: tuple[StoryUpdate, ...]
    escalated: tuple[str, ...]


class PlacingStore(Stories, Outbox, Protocol):
    """The store as story placing uses it: stories, and the outbox to release held alerts."""


class StoryPlacing:
    """Places a poll's alerts in stories for :class:`~monitor.pipeline.poller.Poller`.

    Two polls placing alerts of one rule at once would each read the
    stories before the other's commit and write their own view of them; so
    placing and committing hold a lock: this process's, then the store's,
    which instances sharing a database share (alerts are rare: polls without
    any never take them)."""

    _store: PlacingStore

    def _init_story_placing(self) -> None:
        self._story_lock = threading.Lock()
        # Members never change once stored: their texts are read once.
        self._texts: OrderedDict[str, StoryText | None] = OrderedDict()

    def _member_text(self, member: StoryMember) -> StoryText | None:
        """A stored member's text, read once (an item's text is the same in
        every story it is in)."""
        key = member.item_identity
        if key in self._texts:
            self._texts.move_to_end(key)
            return self._texts[key]
        text = member_text(member)
        self._texts[key] = text
        if len(self._texts) > TEXT_CACHE:
            self._texts.popitem(last=False)
        return text

    @abstractmethod
    def _targets(self, snap: Snapshot, alert: Alert) -> tuple[Target, ...]: ...

    @contextmanager
    def _story_guard(self, alerts: Sequence[Alert]) -> Iterator[None]:
        """The locks to hold from placing to committing (none without
        alerts): this process's, then the store's across instances."""
        if not alerts:
            yield
            return
        with self._story_lock, self._store.placing_stories():
            yield

    def _in_stories(
        self, snap: Snapshot, alerts: Sequence[Alert], items: Sequence[Item], now: datetime
    ) -> Placed:
        """The alerts routed, each in its story, a new story's first held for
        its severity's hold; and the stories as they now stand. Call it
        holding :meth:`_story_guard`, and :meth:`_after_commit` once committed."""
        if not alerts:
            return Placed([], (), ())
        rules = {alert.rule_id for alert in alerts if not is_ops_alert(alert)}
        recent = {
            rule: self._store.recent_stories(rule_id=rule, since=now - STORY_WINDOW)[
                :COMPARED_STORIES
            ]
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
            texts=self._member_text,
        )

        def held(alert: Alert) -> Callable[[Target], Target]:
            hold = snap.config.stories.hold_for(alert.severity)
            if (alert.rule_id, alert.item_identity) not in storied.leads or not hold:
                return lambda target: target
            return lambda target: replace(target, not_before=now + hold)

        routed: list[RoutedAlert] = [
            (alert, held(alert)(target))
            for alert in (*storied.alerts, *storied.escalations)
            for target in self._targets(snap, alert)
        ]
        escalated = tuple(dict.fromkeys(a.story for a in storied.escalations if a.story))
        return Placed(routed, storied.updates, escalated)

    def _after_commit(self, placed: Placed, now: datetime) -> None:
        """A story raised now is posted now: its held first alert is released
        (the escalation waits for it, and must not wait for its hold)."""
        for key in placed.escalated:
            self._store.release_held(key, now=now)
