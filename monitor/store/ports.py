"""The state store's ports: one narrow Protocol per kind of record.

The monitor depends on these, never on SQLite. Each consumer asks for the
ports it uses (a health check needs ``FeedStates`` only); ``Store`` is their
union, what :func:`monitor.store.factory.open_store` returns. A second
implementation runs the contract tests in tests/store_contract/.

References a sink gave back (a post, its channel, a thread) are opaque
strings here: the store keeps them for the sink and never reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, Self

from monitor.domain.alert import OutboxEntry, RoutedAlert, Silence, SilenceScope, StoryThread
from monitor.domain.feed import FeedHealth, FeedState, Incident, PruneReport
from monitor.domain.item import Item
from monitor.domain.kinds import FeedbackKind, FeedErrorKind, IncidentKind, OutboxStatus
from monitor.domain.poll import PollOutcome
from monitor.domain.story import Feedback, Story
from monitor.store.coordination import ChannelPacing as ChannelPacing
from monitor.store.coordination import Duties as Duties
from monitor.store.coordination import FeedLeases as FeedLeases
from monitor.store.coordination import Instances as Instances
from monitor.store.history import Archive as Archive
from monitor.store.history import ListSnapshots as ListSnapshots
from monitor.store.history import RuleVersions as RuleVersions

SEND_LEASE = timedelta(minutes=10)
"""How long a claimed alert is left to its sender before another may send it
(unless its sender is known to be gone: see monitor.store.claims); the
default of ``delivery.claim_lease``."""


class FeedStates(Protocol):
    """Each feed as the monitor remembers it between polls, and each poll's outcome."""

    def feed_state(self, name: str) -> FeedState | None:
        """The feed's state, writes this store has deferred included; None if never polled."""
        ...

    def feed_states(self) -> list[FeedState]:
        """Every feed's state as feed_state shows it, in one read (/healthz)."""
        ...

    def feed_health(self) -> list[FeedHealth]:
        """Every feed with its counts and open incidents, by name (``monitor status``)."""
        ...

    def commit_poll(self, outcome: PollOutcome, *, now: datetime) -> int:
        """Atomically remember the items, queue the alerts, and store the validators.

        The ``folded`` alerts are recorded as never to be sent, each with why
        (a flood alert stands for them), so the outbox still lists them.
        Every item in the document is marked as present now (pruning spares
        it). ``publish_gap`` replaces the feed's measured rate when given;
        ``newest_item_at`` moves its last new item forward. Returns how many
        alerts were queued (an alert that exists already for the same rule,
        item and channel is not queued twice).
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
        only moves timestamps may be deferred (see Maintenance.sync): this
        store's feed_state shows it at once, other processes when it is
        written, and a later write of the feed's poll supersedes it."""
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


class SeenItems(Protocol):
    """Which items each feed has brought before (commit_poll records them)."""

    def unseen(self, feed: str, items: Sequence[Item]) -> list[Item]:
        """The items none of whose keys this feed has seen before, in their order."""
        ...


class Outbox(Protocol):
    """Alerts waiting to be sent, and what the sender needs to send each once."""

    def queue_alerts(self, alerts: Sequence[RoutedAlert], *, now: datetime) -> int:
        """Queue alerts that belong to no poll or incident (a notice about
        several feeds); returns how many were queued."""
        ...

    def due_alerts(
        self, now: datetime, limit: int, *, skip_channels: Sequence[str] = ()
    ) -> list[OutboxEntry]:
        """Up to ``limit`` alerts due for sending, digests' excepted: critical
        ones first, then in turns across (feed, rule) groups, oldest first
        within a group, so no one feed or rule's backlog delays the others'.
        An alert whose claim has lapsed is due again (marked uncertain)."""
        ...

    def digest_queue(self, channel: str, digest: str, now: datetime) -> list[OutboxEntry]:
        """Alerts waiting for one channel's digest (lapsed claims included), oldest first."""
        ...

    def entry(self, alert_id: int) -> OutboxEntry | None:
        """One alert as the outbox holds it now; None if there is none."""
        ...

    def claim(self, alert_id: int, *, now: datetime) -> bool:
        """Take an alert for sending; False if another sender has it (or it
        is settled). A claim is the sender's until the claim lease ends, or
        until that sender is known to be gone (a process of this host that
        is no longer running)."""
        ...

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        destination: str,
        ref: str | None,
        channel_ref: str | None = None,
        thread_ref: str | None = None,
    ) -> None:
        """Settle a claimed alert as sent to ``destination``. ``ref``: the
        sink's reference for the post (one roll-up post may carry several
        alerts); ``channel_ref``: its reference for the channel, if it gave
        one; ``thread_ref``: the parent post's, when sent as a reply."""
        ...

    def reschedule(
        self,
        alert_id: int,
        *,
        attempts: int,
        next_attempt_at: datetime,
        error: str,
        uncertain: bool = False,
    ) -> None:
        """Release a claim to try again at ``next_attempt_at``; ``uncertain``
        (kept once set): the sink may have the post already."""
        ...

    def mark_failed(self, alert_id: int, *, attempts: int, now: datetime, error: str) -> None:
        """Give up on an alert: it stays in the outbox as failed until requeued."""
        ...

    def mark_silenced(self, alert_id: int, *, now: datetime, silence: Silence) -> None:
        """Settle an alert as never to be sent, because of ``silence``."""
        ...

    def story_waits(self, story_key: str, channel: str, *, before_id: int) -> datetime | None:
        """When the earliest alert of the story in the channel queued before
        alert ``before_id`` and still to be posted on its own is due: not yet
        tried (held, or further back in the queue), or tried with an unknown
        outcome (Slack may have it); None if there is none. A later alert of
        a story waits for it: the first posts at the top, the rest reply in
        its thread. One that failed plainly, or waits for a digest, is not
        waited for: the story is told anyway."""
        ...

    def post_ref(self, alert_id: int) -> str | None:
        """The sink's reference for the post that carried the alert, if it
        gave one (a button click names the post it came from)."""
        ...

    def release_held(self, story_key: str, *, now: datetime) -> int:
        """Make a story's held, untried alerts due ``now`` (an escalation must
        not wait for them, nor go out before them); how many."""
        ...

    def top_level_posts(self, channel: str, since: datetime) -> int:
        """Posts sent to a channel since a time, replies not counted and a
        roll-up post once (a storm's measure)."""
        ...

    def known_channel_ref(self, channel: str) -> str | None:
        """The sink's reference for a channel, from its latest answer that gave one."""
        ...


class OutboxReview(Protocol):
    """The outbox as operators see and repair it (``monitor outbox``, /metrics)."""

    def outbox(self, statuses: Sequence[OutboxStatus], limit: int = 200) -> list[OutboxEntry]:
        """Alerts in the given statuses, oldest first."""
        ...

    def requeue(self, alert_ids: Sequence[int], *, now: datetime) -> int:
        """Queue failed alerts again (every failed one when no id is given); how many."""
        ...

    def outbox_counts(self) -> dict[str, int]:
        """How many alerts are in each status (every status present, zero or not)."""
        ...


class Incidents(Protocol):
    """Feeds failing or silent too long: one ops alert opens an incident, one notice closes it."""

    def open_incidents(self, feed: str | None = None) -> list[Incident]:
        """The open incidents (of one feed, if given), oldest first."""
        ...

    def open_incident(
        self,
        *,
        feed: str,
        kind: IncidentKind,
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
        """Close an incident and queue its recovery notice in one transaction;
        False (and nothing queued) if it is not open."""
        ...


class Silences(Protocol):
    """Alerts recorded but not sent for a while (``monitor silence``, a
    story muted from Slack): each silence covers the alerts its scope
    matches (see monitor.delivery.policy.silence_for), and once over, one
    ops notice says so."""

    def add_silence(
        self, *, scope: SilenceScope, until: datetime, reason: str, author: str, now: datetime
    ) -> Silence:
        """Silence what ``scope`` covers until ``until``; the silence recorded.
        A scope that gives no field is refused (ValueError): it would cover
        everything."""
        ...

    def active_silences(self, now: datetime) -> list[Silence]:
        """Silences neither removed nor over at ``now``, oldest first."""
        ...

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool:
        """End a silence early; False if there is no such active silence."""
        ...

    def ended_silences(self, now: datetime) -> list[Silence]:
        """Silences over at ``now`` (not removed by hand) whose end has had
        no notice yet, oldest first."""
        ...

    def mark_silence_ended_notice(self, silence_id: int, *, now: datetime) -> bool:
        """Record that the silence's end has had its notice; False if it had
        one already (or there is no such silence)."""
        ...

    def silenced_count(self, silence_id: int) -> int:
        """How many outbox alerts the silence held back (one per channel),
        as long as they are kept (see Maintenance.prune)."""
        ...


class Threads(Protocol):
    """Stories told in a channel's thread: the first alert posts, later sources reply."""

    def thread_of_story(
        self, story_key: str, channel: str, *, since: datetime
    ) -> StoryThread | None:
        """The latest thread a story (monitor.domain.story) began in a channel
        since ``since`` (the thread window), if any."""
        ...

    def recent_threads(self, *, rule_id: str, channel: str, since: datetime) -> list[StoryThread]:
        """A rule's stories in a channel begun since ``since``, newest first."""
        ...

    def add_thread(
        self, story: StoryThread, *, now: datetime, since: datetime | None = None
    ) -> StoryThread:
        """Record a story begun now (its ``id`` and ``sources`` are the store's
        to give); the thread recorded. A story named by key has one thread per
        channel in a window, which a unique key keeps: when a thread of the
        story in the channel began at or after ``since`` (None: ever), that
        thread won (another sender recorded it first) and is returned, and
        nothing is written; else this one begins the story's next thread."""
        ...

    def add_thread_source(self, story_id: int, *, now: datetime) -> int:
        """Count one more source in a story's thread; the new count."""
        ...


class Stories(Protocol):
    """Stories across feeds (see monitor.domain.story). A poll writes them
    with its alerts (:attr:`PollOutcome.stories`), in its one transaction."""

    def placing_stories(self) -> AbstractContextManager[object]:
        """Held from reading a rule's stories to committing the alerts
        placed in them: one placement at a time across every instance."""
        ...

    def recent_stories(self, *, rule_id: str, since: datetime) -> list[Story]:
        """A rule's stories last seen at or after ``since``, with their members, newest first."""
        ...

    def story(self, key: str) -> Story | None:
        """One story with its members; None if unknown (or pruned)."""
        ...

    def record_feedback(
        self,
        kind: FeedbackKind,
        *,
        alert_id: int,
        user_id: str,
        user_name: str,
        now: datetime,
    ) -> Feedback | None:
        """Record what a desk member said of an outbox alert (with the alert
        as it was); None if no such alert."""
        ...

    def feedback(
        self,
        kinds: Sequence[FeedbackKind],
        *,
        limit: int = 200,
        alert_id: int | None = None,
    ) -> list[Feedback]:
        """Feedback of the given kinds (on one alert, if given), newest first."""
        ...


class Maintenance(Protocol):
    """Keeping the store: deferred writes, retention, rewrites, closing."""

    @property
    def sync_period(self) -> timedelta:
        """How long this store lets a deferred write wait: a caller that
        calls ``sync(older_than=sync_period)`` about that often keeps none
        waiting much longer (zero for a store that defers nothing)."""
        ...

    def sync(self, older_than: timedelta = timedelta(0), *, wait: bool = True) -> None:
        """Write what this store has deferred (see FeedStates.record_unchanged)
        once the oldest of it has waited ``older_than``; with ``wait`` false,
        not while the store is busy. A store that defers nothing does
        nothing. Failures are logged and the writes tried again later,
        never raised."""
        ...

    def prune(self, cutoff: datetime, *, archive_cutoff: datetime | None = None) -> PruneReport:
        """Forget what is older than ``cutoff``: seen records of items that left
        their feed before it (never those in a feed's latest document), sent
        or silenced alerts, stories and closed incidents; and archived items
        first seen before ``archive_cutoff`` (``archive.retention``; without
        it, before ``cutoff``)."""
        ...

    def redact_stored(self, url: Callable[[str], str], text: Callable[[str], str]) -> int:
        """Rewrite what an older version stored in the clear: each feed's URL
        as ``url`` gives it (and the seen records its URL is part of, so
        that nothing alerts again), its last error and its incidents' details
        as ``text`` gives them. Returns how many feeds changed."""
        ...

    def database_problem(self) -> str | None:
        """Why the database does not answer a trivial query now (within a
        couple of seconds), in words that name it without a secret; None
        when it does (/healthz). Never raises."""
        ...

    def close(self) -> None:
        """Write what is deferred and release the store; it is not used after."""
        ...

    def __enter__(self) -> Self:
        """The store itself, closed when the ``with`` block ends."""
        ...

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        ...


class Store(
    FeedStates,
    SeenItems,
    Outbox,
    OutboxReview,
    Incidents,
    Silences,
    Threads,
    Stories,
    ListSnapshots,
    Archive,
    RuleVersions,
    FeedLeases,
    Instances,
    Duties,
    ChannelPacing,
    Maintenance,
    Protocol,
):
    """Every port: what a store implementation provides, and what the wiring hands out."""
