"""The state store interface. The app depends on this Protocol, not on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from monitor.domain.alert import FoldedAlert, OutboxEntry, RoutedAlert, Silence, Story
from monitor.domain.feed import FeedHealth, FeedState, Incident, PruneReport, Validators
from monitor.domain.item import Item
from monitor.domain.kinds import FeedErrorKind, OutboxStatus


class Store(Protocol):
    def feed_state(self, name: str) -> FeedState | None: ...

    def feed_states(self) -> list[FeedState]:
        """Every feed's state as feed_state shows it, in one read (/healthz)."""
        ...

    def queue_alerts(self, alerts: Sequence[RoutedAlert], *, now: datetime) -> int:
        """Queue alerts that belong to no poll or incident (a notice about
        several feeds); returns how many were queued."""
        ...

    def unseen(self, feed: str, items: Sequence[Item]) -> list[Item]:
        """The items none of whose keys this feed has seen before."""
        ...

    def commit_poll(
        self,
        *,
        feed: str,
        url: str,
        items: Sequence[Item],
        alerts: Sequence[RoutedAlert],
        validators: Validators,
        now: datetime,
        body_hash: str | None = None,
        publish_gap: timedelta | None = None,
        newest_item_at: datetime | None = None,
        next_poll_at: datetime | None = None,
        folded: Sequence[FoldedAlert] = (),
    ) -> int:
        """Atomically remember the items, queue the alerts, and store the validators.

        ``folded`` alerts are recorded as never to be sent, each with why (a
        flood alert stands for them), so the outbox still lists them.

        Every item in the document is marked as present now (pruning spares
        it). ``publish_gap`` replaces the feed's measured rate when given;
        ``newest_item_at`` moves its last new item forward. Returns how many
        alerts were queued (an alert that exists already for the same rule
        and item is not queued twice).
        """
        ...

    def record_not_modified(
        self, *, feed: str, url: str, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState | None:
        """Count a poll that found nothing new; returns the state it leaves
        (None if the feed has no state at ``url``, which is then left alone)."""
        ...

    def record_unchanged(
        self, state: FeedState, *, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState:
        """Count a poll that found nothing new for a feed whose state at the
        poll's start was ``state``; returns the state it leaves. A write that
        only moves timestamps may be deferred (see flush_bookkeeping): this
        store's feed_state shows it at once, other processes when it is
        written, and a later write of the feed's poll supersedes it."""
        ...

    def flush_bookkeeping(self, older_than: float = 0.0, *, wait: bool = True) -> None:
        """Write deferred bookkeeping whose oldest part has waited ``older_than``
        seconds; with ``wait`` false, not while the store is busy. Failures
        are logged and the writes tried again later, never raised."""
        ...

    def record_failure(
        self,
        *,
        feed: str,
        url: str,
        kind: FeedErrorKind,
        message: str,
        now: datetime,
        next_poll_at: datetime | None = None,
    ) -> None:
        """Count a failed poll. Every ``record_*`` and ``commit_poll`` also
        stores ``next_poll_at`` in the same transaction, when given."""
        ...

    def redact_stored(self, url: Callable[[str], str], text: Callable[[str], str]) -> int:
        """Rewrite what an older version stored in the clear: each feed's URL
        as ``url`` gives it (and the seen records its URL is part of, so
        that nothing alerts again), its last error and its incidents' details
        as ``text`` gives them. Returns how many feeds changed."""
        ...

    def due_alerts(
        self, now: datetime, limit: int, *, skip_channels: Sequence[str] = ()
    ) -> list[OutboxEntry]:
        """Up to ``limit`` alerts due for sending: critical ones first, then in
        turns across (feed, rule) groups, oldest first within a group, so no
        one feed or rule's backlog delays the others'."""
        ...

    def outbox(self, statuses: Sequence[OutboxStatus], limit: int = 200) -> list[OutboxEntry]: ...

    def requeue(self, alert_ids: Sequence[int], *, now: datetime) -> int: ...

    def mark_silenced(self, alert_id: int, *, now: datetime, silence: Silence) -> None: ...

    def add_silence(
        self, *, rule_id: str, until: datetime, reason: str, now: datetime
    ) -> Silence: ...

    def active_silences(self, now: datetime) -> list[Silence]: ...

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool: ...

    def claim(self, alert_id: int, *, now: datetime) -> bool:
        """Take an alert for sending; False if another sender has it. A claim
        is the sender's until the claim lease ends, or until that sender is
        known to be gone (a process of this host that is no longer running)."""
        ...

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        destination: str,
        ref: str | None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> None: ...

    def reschedule(
        self,
        alert_id: int,
        *,
        attempts: int,
        next_attempt_at: datetime,
        error: str,
        uncertain: bool = False,
    ) -> None: ...

    def recent_stories(self, *, rule_id: str, channel: str, since: datetime) -> list[Story]: ...

    def add_story(self, story: Story, *, now: datetime) -> None: ...

    def add_source(self, story_id: int, *, now: datetime) -> int: ...

    def entry(self, alert_id: int) -> OutboxEntry | None: ...

    def top_level_posts(self, channel: str, since: datetime) -> int: ...

    def known_channel_id(self, channel: str) -> str | None: ...

    def feed_health(self) -> list[FeedHealth]: ...

    def digest_queue(self, channel: str, digest: str, now: datetime) -> list[OutboxEntry]: ...

    def mark_failed(self, alert_id: int, *, attempts: int, now: datetime, error: str) -> None: ...

    def outbox_counts(self) -> dict[str, int]: ...

    def open_incidents(self, feed: str | None = None) -> list[Incident]: ...

    def open_incident(
        self,
        *,
        feed: str,
        kind: str,
        since: datetime,
        detail: str,
        alerts: Sequence[RoutedAlert],
        now: datetime,
    ) -> bool:
        """Record an incident and queue its ops alert in one transaction;
        False (and nothing queued) if one of that kind is open already."""
        ...

    def close_incident(
        self, incident_id: int, *, alerts: Sequence[RoutedAlert], now: datetime
    ) -> bool:
        """Close an incident and queue its recovery notice in one transaction."""
        ...

    def prune(self, cutoff: datetime) -> PruneReport:
        """Forget what is older than ``cutoff``: seen records of items that left
        their feed before it (never those in a feed's latest document), sent
        or silenced alerts, stories and closed incidents."""
        ...

    def close(self) -> None: ...
