"""Carrying out a poll: read the feed through its source, ask the pure
decisions (:mod:`monitor.pipeline.decide`) what is new, what alerts and when
the feed is due again, and commit the outcome in one write.

A failure is logged and reported, never raised: one broken feed must not
stop the others. Nothing is committed unless the whole poll succeeds, so a
crash midway means the items are seen again next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from monitor.delivery.policy import route
from monitor.domain.alert import Alert, RoutedAlert, Target
from monitor.domain.feed import FeedState
from monitor.domain.kinds import FeedErrorKind
from monitor.domain.poll import PollOutcome
from monitor.errors import FeedError, StateError
from monitor.pipeline.backfill_run import Backfilling, BackfillStore
from monitor.pipeline.decide import decide, newest_item_at, next_poll_at, poll_start
from monitor.pipeline.flood import Flood, flood_notice, fold_floods
from monitor.pipeline.list_reading import ListReading, ListStore
from monitor.pipeline.poll_report import PollReport, seconds
from monitor.pipeline.reload import Snapshot
from monitor.pipeline.schedule import publish_gap
from monitor.pipeline.watch import FeedWatch
from monitor.server import Metrics
from monitor.settings import FeedSettings
from monitor.sources.base import ListDocument, Source, SourceRequest, Unchanged
from monitor.store.ports import SeenItems

log = logging.getLogger("monitor")


class PollStore(SeenItems, ListStore, BackfillStore, Protocol):
    """The store as a poll uses it: feed states, which items are new, lists'
    snapshots, stories, the outbox for an ops alert outside a poll's commit,
    and the archive and rules' versions for a backfill."""


class Poller(ListReading, Backfilling):
    """Carries out polls, each on its caller's thread (several threads may poll at once)."""

    _store: PollStore

    def __init__(
        self,
        *,
        store: PollStore,
        sources: Mapping[str, Source],
        snapshot: Callable[[], Snapshot],
        watch: FeedWatch,
        metrics: Metrics,
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
        one_channel: Callable[[], bool],
    ) -> None:
        """``snapshot``: the config and rules running now; ``one_channel``: whether the
        sink posts to one channel only (a webhook), so an alert routed to
        several channels goes there once with all their mentions."""
        self._store = store
        self._sources = sources
        self._snapshot = snapshot
        self._watch = watch
        self._metrics = metrics
        self._clock = clock
        self._jitter = jitter
        self._one_channel = one_channel
        self.last_success: datetime | None = None
        """When a poll last succeeded in this process."""
        # Matching here (small documents, or rules a parser process lacks) is
        # pure CPU. Poll threads matching at the same time only take turns
        # with the GIL, and the turns cost far more CPU than one thread
        # matching them all (see docs/architecture.md). So one poll matches
        # at a time; the others meanwhile fetch or wait for a parser process.
        self._matching_lock = threading.Lock()
        self._init_list_reading()
        self._init_story_placing()
        self._init_backfilling()

    def poll(self, feed: FeedSettings) -> PollReport:
        """Poll one feed: fetch, parse, queue alerts for new matching items.

        A failure is logged and reported, never raised: one broken feed must
        not stop the others. Nothing is committed unless the whole poll
        succeeds, so a crash midway means the items are seen again next time.
        """
        started = time.monotonic()
        state_after: FeedState | None = None
        # One config and rule set for the whole poll.
        with self._polling_with(self._snapshot) as snap:
            self._watch.expect_first_polls()
            try:
                report, state_after = self._read(feed, snap)
            except Exception as exc:
                report = self._failed(feed, snap, exc)
        self._count(feed, report, time.monotonic() - started)
        self._watch.check_feed_health(feed, state_after, first_read=report.first_read, snap=snap)
        self._watch.report_stale_first_reads(polled=feed.name)
        return report

    def _failed(self, feed: FeedSettings, snap: Snapshot, exc: Exception) -> PollReport:
        """A poll that raised: logged, recorded as a failure (if the store lets it)."""
        kind: FeedErrorKind = "state" if isinstance(exc, StateError) else "internal"
        log.exception("poll feed=%s FAILED (%s error)", feed.name, kind)
        error = snap.redactor.error(FeedError(kind, f"{type(exc).__name__}: {exc}"))
        next_poll_at: datetime | None = None
        try:
            state = self._store.feed_state(feed.name)
            next_poll_at = self._record_failure(snap, feed, state, error, now=self._clock())
        except StateError as state_error:
            log.error("cannot record the failed poll of feed=%s: %s", feed.name, state_error)
            next_poll_at = None
        return PollReport(feed.name, error=error, next_poll_at=next_poll_at)

    def _count(self, feed: FeedSettings, report: PollReport, seconds: float) -> None:
        metrics = self._metrics
        outcome = "error" if report.error else ("not_modified" if report.not_modified else "ok")
        metrics.polls.labels(feed.name, outcome).inc()
        metrics.poll_duration.observe(seconds)
        if report.error is not None:
            metrics.poll_errors.labels(report.error.kind).inc()
        else:
            self.last_success = self._clock()
            metrics.last_success.set(self.last_success.timestamp())
            metrics.items.labels(feed.name).inc(report.new)

    def _record_failure(
        self,
        snap: Snapshot,
        feed: FeedSettings,
        state: FeedState | None,
        error: FeedError,
        *,
        now: datetime,
        asked_wait: timedelta | None = None,
    ) -> datetime:
        """Store a failed poll, backed off by one more failure; when the feed is due again."""
        next_poll_at = self._next_poll(
            snap,
            feed,
            state,
            failures=(state.consecutive_failures if state else 0) + 1,
            asked_wait=asked_wait,
        )
        self._store.record_failure(
            feed=feed.name,
            url=snap.redactor.url(feed.url),
            kind=error.kind,
            message=str(error),
            now=now,
            next_poll_at=next_poll_at,
        )
        return next_poll_at

    def _next_poll(
        self,
        snap: Snapshot,
        feed: FeedSettings,
        state: FeedState | None,
        *,
        failures: int,
        publish_gap: timedelta | None = None,
        asked_wait: timedelta | None = None,
    ) -> datetime:
        """When this feed is due again (see :func:`~monitor.pipeline.decide.next_poll_at`),
        by the publishing rate measured now, else the one stored. It is stored
        with the poll's outcome, in the same write."""
        return next_poll_at(
            snap.config,
            feed,
            now=self._clock(),
            random_unit=self._jitter(),
            failures=failures,
            publish_gap=publish_gap or (state.publish_gap if state else None),
            asked_wait=asked_wait,
        )

    def _read(self, feed: FeedSettings, snap: Snapshot) -> tuple[PollReport, FeedState | None]:
        """The poll's report, and the feed's state after it when the poll has
        it at hand (else the health check reads it)."""
        started = time.monotonic()
        now = self._clock()
        rules, redactor = snap.rules, snap.redactor
        state = self._store.feed_state(feed.name)
        shown_url = redactor.url(feed.url)
        start = poll_start(state, shown_url, redactor.url)
        request = SourceRequest(
            feed=feed.name,
            url=feed.url,
            redact=redactor.url,
            tags=feed.tags,
            validators=start.validators,
            last_body_hash=start.last_body_hash,
            probe_url=feed.probe_url,
            rules=rules.source,
        )
        try:
            parsed = self._sources[feed.type].read(request)
        except FeedError as exc:
            redactor.error(exc)
            next_poll_at = self._record_failure(
                snap, feed, state, exc, now=now, asked_wait=seconds(exc.retry_after)
            )
            log.error("poll feed=%s FAILED (%s): %s [url %s]", feed.name, exc.kind, exc, shown_url)
            self._alert_unreadable_list(snap, feed, exc, now)
            return PollReport(feed.name, error=exc, next_poll_at=next_poll_at), None
        if isinstance(parsed, Unchanged):  # a 304, or the same bytes again: nothing new
            next_poll_at = self._next_poll(
                snap, feed, state, failures=0, asked_wait=seconds(parsed.asked_wait)
            )
            if start.state is not None:
                state_after: FeedState | None = self._store.record_unchanged(
                    start.state, now=now, next_poll_at=next_poll_at
                )
            else:  # a 304 to a request without validators
                state_after = self._store.record_not_modified(
                    feed=feed.name, url=shown_url, now=now, next_poll_at=next_poll_at
                )
            log.info(
                "poll feed=%s unchanged (%s) in %.2fs",
                feed.name,
                parsed.reason,
                time.monotonic() - started,
            )
            report = PollReport(feed.name, not_modified=True, next_poll_at=next_poll_at)
            return report, state_after
        if parsed.warning:
            log.warning("poll feed=%s: %s", feed.name, parsed.warning)
        if isinstance(parsed, ListDocument):
            report = self._read_list(
                feed, snap, state, parsed, first_read=start.first_poll, now=now, started=started
            )
            return report, None
        new_items = self._store.unseen(feed.name, parsed.items)
        matches = rules.rebuild(parsed.matches, new_items)
        if matches is None:  # parsed here, or by a worker without these rules
            with self._matching_lock:
                matches = [m for item in new_items for m in rules.match(item)]
        decision = decide(matches, now=now, first_poll=start.first_poll, policy=snap.policy)
        flooding = fold_floods(
            self._with_list_notes(decision.alerts, new_items, now),
            threshold=snap.config.polling.flood_threshold,
            now=now,
        )
        gap = publish_gap((item.timestamp for item in parsed.items), now)
        next_poll_at = self._next_poll(
            snap,
            feed,
            start.state,
            failures=0,
            publish_gap=gap,
            asked_wait=seconds(parsed.asked_wait),
        )
        with self._story_guard(flooding.alerts):
            placed = self._in_stories(snap, flooding.alerts, new_items, now)
            queued = self._store.commit_poll(
                PollOutcome(
                    feed=feed.name,
                    url=shown_url,
                    items=parsed.items,
                    alerts=[*placed.routed, *self._flood_notices(snap, flooding.floods, now)],
                    folded=[
                        (alert, target, flood.folded_reason())
                        for flood in flooding.floods
                        for alert in flood.folded
                        for target in self._targets(snap, alert)
                    ],
                    validators=parsed.validators,
                    body_hash=parsed.body_hash,
                    publish_gap=gap,
                    next_poll_at=next_poll_at,
                    newest_item_at=newest_item_at((item.timestamp for item in new_items), now),
                    stories=placed.updates,
                    archive=new_items if snap.config.archive.enabled else (),
                    first_poll=start.first_poll,
                ),
                now=now,
            )
            self._after_commit(placed, now)
        for alert in flooding.alerts:
            self._metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
        for flood in flooding.floods:
            log.warning(
                "poll feed=%s FLOOD: %d alerts for rule %s in one poll, posted as one flood alert",
                feed.name,
                flood.count,
                flood.rule_id,
            )
        extra = ""
        if decision.baselined:
            extra += f" baselined={decision.baselined}"
        if decision.stale:
            extra += f" stale={decision.stale}"
        log.info(
            "poll feed=%s items=%d new=%d alerts=%d%s%s in %.2fs",
            feed.name,
            len(parsed.items),
            len(new_items),
            queued,
            extra,
            " (first poll: backlog baselined)" if start.first_poll else "",
            time.monotonic() - started,
        )
        report = PollReport(
            feed.name,
            items=len(parsed.items),
            new=len(new_items),
            alerts=queued,
            next_poll_at=next_poll_at,
            first_read=start.first_poll,
        )
        return report, None

    def _flood_notices(
        self, snap: Snapshot, floods: Sequence[Flood], now: datetime
    ) -> list[RoutedAlert]:
        ops = snap.config.ops
        if not floods or not ops.enabled:
            return []
        return [(flood_notice(floods, now), Target(snap.config.ops_channel(), ops.mentions))]

    def _targets(self, snap: Snapshot, alert: Alert) -> tuple[Target, ...]:
        targets = route(alert, snap.config.slack)
        if self._one_channel() and len(targets) > 1:
            # A webhook posts to its one channel: one message, all the mentions.
            mentions = tuple(dict.fromkeys(m for t in targets for m in t.mentions))
            return (Target(targets[0].channel, mentions),)
        return targets
