"""Feed health while polling: incidents for feeds failing or silent too long,
their recovery notices, and the notice about new feeds stale at their first read.

Decisions are pure (:mod:`monitor.pipeline.feed_health`); this class carries
them out against the store, once per poll, under the locks that keep two poll
threads from announcing the same thing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from monitor.domain.alert import Target
from monitor.domain.feed import FeedState
from monitor.domain.ops import FAILING, SILENT
from monitor.errors import StateError
from monitor.pipeline.feed_health import (
    FeedCondition,
    StaleFeed,
    closing_alert,
    expected_silence,
    feed_conditions,
    incident_changes,
    ops_alert,
    silent_group_alert,
    silent_together,
    stale_at_first_read,
    stale_log_line,
    stale_notice,
)
from monitor.pipeline.reload import Snapshot
from monitor.redact import Redactor
from monitor.server import Metrics
from monitor.settings import Config, FeedSettings
from monitor.store.ports import FeedStates, Incidents, Outbox

log = logging.getLogger("monitor")


class WatchStore(FeedStates, Incidents, Outbox, Protocol):
    """The store as the feed watch uses it: feed states, incidents, and the
    outbox its notices go to."""


class FeedWatch:
    """Opens and closes the ops incidents of the feeds being polled."""

    def __init__(
        self,
        *,
        store: WatchStore,
        clock: Callable[[], datetime],
        metrics: Metrics,
        snapshot: Callable[[], Snapshot],
    ) -> None:
        """``snapshot``: the config and rules running now."""
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._snapshot = snapshot
        # New feeds that looked stale at their first read wait here until
        # every new feed has had its first poll, then are reported together.
        self._stale_lock = threading.Lock()
        self._stale_pending: list[StaleFeed] = []
        self._polled: set[str] = set()
        self._awaiting_first_poll: set[str] | None = None
        # One poll thread at a time gathers the feeds going silent together,
        # so that two threads never announce the same feeds.
        self._silent_lock = threading.Lock()

    @property
    def _config(self) -> Config:
        return self._snapshot().config

    @property
    def _redactor(self) -> Redactor:
        return self._snapshot().redactor

    @property
    def _watched(self) -> frozenset[str]:
        return self._snapshot().watched

    def close_unwatched_incidents(self) -> None:
        """End the open incidents of feeds no longer configured, without a
        notice: nobody watches them, and they would count as open for ever."""
        try:
            names = self._watched
            for incident in self._store.open_incidents():
                if incident.feed not in names:
                    self._store.close_incident(incident.id, alerts=[], now=self._clock())
        except StateError as exc:
            log.error("cannot close the incidents of removed feeds: %s", exc)

    def check_feed_health(
        self,
        feed: FeedSettings,
        state: FeedState | None = None,
        *,
        first_read: bool = False,
        snap: Snapshot | None = None,
    ) -> None:
        """Open an incident (one ops alert) for a feed failing or silent too
        long, and close it (one recovery or withdrawal notice) when that
        ends. ``state`` is the feed's state if the caller has just written
        it, else it is read. After a feed's ``first_read``, note it if it
        looks stale already (reported with the others, see
        report_stale_first_reads)."""
        if feed.name not in self._watched:
            return  # a poll started before a reload removed its feed
        snap = snap or self._snapshot()  # one config for the whole check
        ops = snap.config.ops
        if not ops.enabled and not first_read:
            return
        try:
            if state is None:
                state = self._store.feed_state(feed.name)
            if state is None:
                return
            now = self._clock()
            silent_after = self._silent_after(snap, feed, state)
            if first_read:
                stale = stale_at_first_read(state, silent_after=silent_after)
                if stale is not None:
                    with self._stale_lock:
                        self._stale_pending.append(stale)
            if not ops.enabled:
                return
            conditions = feed_conditions(
                state,
                now=now,
                failing_after=ops.failing_after,
                silent_after=silent_after,
                silent_min=ops.silent_min,
            )
            to_open, kinds_to_close = incident_changes(state, conditions)
            to_close = (
                [i for i in self._store.open_incidents(feed.name) if i.kind in kinds_to_close]
                if kinds_to_close
                else []
            )
            target = Target(snap.config.ops_channel(), ops.mentions)
            for condition in to_open:
                if condition.kind == SILENT:
                    self._open_silent_incidents(snap, feed, condition, now=now)
                    continue
                alert = ops_alert(feed.name, snap.redactor.url(feed.url), condition, now)
                if self._store.open_incident(
                    feed=feed.name,
                    kind=condition.kind,
                    since=condition.since,
                    detail=condition.detail,
                    alerts=[(alert, target)],
                    now=now,
                ):
                    self._metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
                    log.warning(
                        "ops alert for %s: %s (%s)", target.channel, alert.title, condition.detail
                    )
            for incident in to_close:
                limit = ops.failing_after if incident.kind == FAILING else silent_after
                shown = snap.redactor.url(feed.url)
                alert = closing_alert(feed.name, shown, incident, state, now, limit=limit)
                # Good news pages nobody: the notice goes without the mentions.
                quiet = Target(target.channel)
                if self._store.close_incident(incident.id, alerts=[(alert, quiet)], now=now):
                    self._metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
                    log.info("ops notice for %s: %s", target.channel, alert.title)
        except StateError as exc:
            log.error("cannot check the health of feed=%s: %s", feed.name, exc)

    def _silent_after(self, snap: Snapshot, feed: FeedSettings, state: FeedState) -> timedelta:
        ops = snap.config.ops
        return expected_silence(
            state.publish_gap,
            own=feed.silent_after,
            factor=ops.silent_factor,
            minimum=ops.silent_min,
        )

    def _open_silent_incidents(
        self, snap: Snapshot, feed: FeedSettings, condition: FeedCondition, *, now: datetime
    ) -> None:
        """Open ``feed``'s silent incident, and those of the other feeds going
        silent with it (:func:`monitor.pipeline.feed_health.silent_together`), judged on
        their stored states. One feed gets its own alert; several get one
        message together, carried by the first incident opened, so that a
        crash between openings re-announces the rest rather than lose them.
        An incident already open (another thread, another process) is left
        alone. Raises StateError."""
        ops = snap.config.ops
        with self._silent_lock:
            states = {state.name: state for state in self._store.feed_states()}
            polled = states.get(feed.name)
            opening: dict[str, FeedCondition] = {}
            if polled is None or SILENT not in polled.open_incidents:
                opening[feed.name] = condition
            others = [
                (state, self._silent_after(snap, other, state))
                for other in snap.config.feeds
                if other.name != feed.name
                and (state := states.get(other.name)) is not None
                # A repointed feed is judged at its own poll.
                and snap.redactor.url(state.url) == snap.redactor.url(other.url)
            ]
            for name, found in silent_together(
                others, now=now, failing_after=ops.failing_after, silent_min=ops.silent_min
            ):
                opening[name] = found
            if not opening:
                return
            feeds = [f for f in snap.config.feeds if f.name in opening]  # as config.toml lists them
            target = Target(snap.config.ops_channel(), ops.mentions)
            if len(feeds) == 1:
                (alone,) = feeds
                shown = snap.redactor.url(alone.url)
                alert = ops_alert(alone.name, shown, opening[alone.name], now)
            else:
                alert = silent_group_alert([(f.name, opening[f.name]) for f in feeds], now)
            carried = [(alert, target)]
            opened = []
            for silent in feeds:
                found = opening[silent.name]
                if self._store.open_incident(
                    feed=silent.name,
                    kind=SILENT,
                    since=found.since,
                    detail=found.detail,
                    alerts=carried,
                    now=now,
                ):
                    opened.append(silent.name)
                    carried = []
        if not opened:
            return
        self._metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
        if len(feeds) == 1:
            log.warning("ops alert for %s: %s (%s)", target.channel, alert.title, alert.summary)
        else:
            log.warning(
                "ops alert for %s: %d feeds silent together: %s",
                target.channel,
                len(opened),
                "; ".join(f"{name} ({opening[name].detail})" for name in opened),
            )

    def report_stale_first_reads(self, *, polled: str | None = None, force: bool = False) -> None:
        """Report the new feeds that looked stale at their first read: one
        log line and one ops notice for all of them, once no new feed is
        still waiting for its first poll (or at once with ``force``, at the
        end of a `monitor once` run or at shutdown)."""
        with self._stale_lock:
            if polled is not None:
                self._polled.add(polled)
            if not self._stale_pending or (not force and self._first_polls_pending()):
                return
            stale, self._stale_pending = self._stale_pending, []
        order = {feed.name: number for number, feed in enumerate(self._config.feeds)}
        stale.sort(key=lambda feed: order.get(feed.feed, len(order)))  # as config.toml lists them
        ops = self._config.ops
        now = self._clock()
        log.warning("%s", stale_log_line(stale, now=now, silent_min=ops.silent_min))
        if not ops.enabled:
            return
        notice = stale_notice(stale, now=now, silent_min=ops.silent_min)
        try:
            if self._store.queue_alerts([(notice, Target(self._config.ops_channel()))], now=now):
                self._metrics.alerts.labels(notice.rule_id, notice.severity.value).inc()
        except StateError as exc:
            log.error("cannot queue the notice about feeds stale at first read: %s", exc)

    def _first_polls_pending(self) -> bool:
        """Whether a watched feed never polled before has not had its first
        poll in this process yet (called with _stale_lock held)."""
        if self._awaiting_first_poll is None:
            return False
        self._awaiting_first_poll &= self._watched - self._polled
        return bool(self._awaiting_first_poll)

    def expect_first_polls(self, feeds: Iterable[FeedSettings] | None = None) -> None:
        """Note which feeds were never polled (at their URL), so that the
        notice about stale first reads waits for them. Taken before the
        first poll, and for the feeds a reload adds or changes, before any
        of their polls can write."""
        with self._stale_lock:
            if feeds is None:
                if self._awaiting_first_poll is not None:
                    return
                feeds, self._awaiting_first_poll = self._config.feeds, set()
            elif self._awaiting_first_poll is None:
                return  # taken at the first poll, which has not happened yet
            states: dict[str, FeedState] | None
            try:
                # One read of every row: a state database on a server pays a
                # round trip a statement, and every other poll waits on this lock.
                states = {state.name: state for state in self._store.feed_states()}
            except StateError:
                states = None  # cannot tell: do not hold the notice back for them
            for feed in feeds:
                self._polled.discard(feed.name)
                if states is None:
                    continue
                state = states.get(feed.name)
                if state is None or self._redactor.url(state.url) != self._redactor.url(feed.url):
                    self._awaiting_first_poll.add(feed.name)
