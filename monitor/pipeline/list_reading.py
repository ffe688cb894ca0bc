"""The list half of a poll: an official list's publication diffed, committed
and alerted on (the pure decisions are :mod:`monitor.pipeline.list_poll`)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from monitor.domain.alert import Alert, Target
from monitor.domain.feed import FeedState
from monitor.domain.item import Item
from monitor.domain.listing import ListingEntry
from monitor.domain.poll import PollOutcome
from monitor.errors import FeedError
from monitor.pipeline.list_mentions import MENTION_WINDOW, ListedNames
from monitor.pipeline.list_poll import plan_list_poll, publication_alerts, refused_snapshot_alert
from monitor.pipeline.poll_report import PollReport, seconds
from monitor.pipeline.reload import Snapshot
from monitor.server import Metrics
from monitor.settings import FeedSettings
from monitor.sources.base import ListDocument
from monitor.sources.registry import LIST_TYPES
from monitor.store.ports import FeedStates, ListSnapshots, Outbox

log = logging.getLogger("monitor")


class ListStore(FeedStates, ListSnapshots, Outbox, Protocol):
    """The store as a list's poll uses it."""


NAMES_REFRESH = timedelta(minutes=10)
"""How stale the names of recent listings may grow before they are read
again: this process's own list polls refresh them at once, another
instance's are seen within this time."""


class ListReading:
    """Reads a list source's document for :class:`~monitor.pipeline.poller.Poller`,
    which provides the store, the metrics and the poll's shared steps; and
    notes in news alerts the parties lists added lately."""

    _store: ListStore
    _metrics: Metrics
    _matching_lock: threading.Lock

    def _init_list_reading(self) -> None:
        self._listed: tuple[datetime, ListedNames] | None = None
        self._listed_lock = threading.Lock()

    def _listed_names(self, now: datetime) -> ListedNames:
        """The parties lists added within the mention window, read again when stale."""
        with self._listed_lock:
            if (
                self._listed is None
                or now - self._listed[0] >= NAMES_REFRESH
                or now < self._listed[0]
            ):
                recent = self._store.listing_history(since=now - MENTION_WINDOW, changes=("added",))
                self._listed = (now, ListedNames(recent, now=now))
            return self._listed[1]

    def _forget_listed_names(self) -> None:
        with self._listed_lock:
            self._listed = None

    def _with_list_notes(
        self, alerts: Sequence[Alert], items: Sequence[Item], now: datetime
    ) -> tuple[Alert, ...]:
        """``alerts``, each noting what the lists say of the parties its item names."""
        if not alerts:
            return tuple(alerts)
        names = self._listed_names(now)
        if not len(names):
            return tuple(alerts)
        by_identity = {item.identity: item for item in items}
        noted = []
        for alert in alerts:
            item = by_identity.get(alert.item_identity)
            notes = names.notes(item) if item is not None else ()
            noted.append(replace(alert, details=(*alert.details, *notes)) if notes else alert)
        return tuple(noted)

    @abstractmethod
    def _record_failure(
        self,
        snap: Snapshot,
        feed: FeedSettings,
        state: FeedState | None,
        error: FeedError,
        *,
        now: datetime,
        asked_wait: timedelta | None = None,
    ) -> datetime: ...

    @abstractmethod
    def _next_poll(
        self,
        snap: Snapshot,
        feed: FeedSettings,
        state: FeedState | None,
        *,
        failures: int,
        publish_gap: timedelta | None = None,
        asked_wait: timedelta | None = None,
    ) -> datetime: ...

    @abstractmethod
    def _targets(self, snap: Snapshot, alert: Alert) -> tuple[Target, ...]: ...

    def _read_list(
        self,
        feed: FeedSettings,
        snap: Snapshot,
        state: FeedState | None,
        document: ListDocument,
        *,
        first_read: bool,
        now: datetime,
        started: float,
    ) -> PollReport:
        """Diff an official list's publication against its last snapshot and
        commit the snapshot, its events and one alert per rule in one write
        (see :mod:`monitor.pipeline.list_poll`); a refused snapshot is a
        failed poll with an ops alert, and the last good snapshot stays.
        ``first_read``: the feed's first read at its URL (a list repointed at
        another URL is another list: its first snapshot is a baseline)."""
        publication = document.publication
        plan = plan_list_poll(
            publication,
            feed=feed.name,
            feed_tags=feed.tags,
            previous=None if first_read else self._store.list_snapshot(feed.name),
            previous_entry=lambda key: self._stored_entry(feed.name, key),
            max_loss_share=snap.config.polling.list_max_loss_share,
        )
        if plan.update is None:
            reason = plan.diff.refused or "refused"
            error = FeedError("refused", f"{publication.list_name}: snapshot refused: {reason}")
            self._queue_refusal(
                snap,
                refused_snapshot_alert(
                    feed.name,
                    list_name=publication.list_name,
                    link=publication.link,
                    reason=reason,
                    marker=document.body_hash or publication.publication,
                    now=now,
                ),
                now,
            )
            next_poll_at = self._record_failure(snap, feed, state, error, now=now)
            log.error("poll feed=%s REFUSED: %s", feed.name, error)
            return PollReport(feed.name, error=error, next_poll_at=next_poll_at)
        with self._matching_lock:
            matches = [m for item in plan.items for m in snap.rules.match(item)]
        alerts = publication_alerts(
            matches, publication, feed=feed.name, events=plan.diff.events, now=now
        )
        next_poll_at = self._next_poll(
            snap, feed, state, failures=0, asked_wait=seconds(document.asked_wait)
        )
        queued = self._store.commit_poll(
            PollOutcome(
                feed=feed.name,
                url=snap.redactor.url(feed.url),
                items=(),
                alerts=[
                    (alert, target) for alert in alerts for target in self._targets(snap, alert)
                ],
                validators=document.validators,
                body_hash=document.body_hash,
                next_poll_at=next_poll_at,
                newest_item_at=now if plan.diff.events else None,
                list_update=plan.update,
            ),
            now=now,
        )
        for alert in alerts:
            self._metrics.alerts.labels(alert.rule_id, alert.severity.value).inc()
        if plan.diff.of_change("added"):
            self._forget_listed_names()
        counts = " ".join(
            f"{change}={len(plan.diff.of_change(change))}"
            for change in ("added", "removed", "changed")
        )
        log.info(
            "poll feed=%s list=%r publication=%s entries=%d %s alerts=%d%s in %.2fs",
            feed.name,
            publication.list_name,
            publication.publication,
            len(publication.entries),
            counts,
            queued,
            " (first snapshot: baseline, nothing alerts)" if plan.diff.baseline else "",
            time.monotonic() - started,
        )
        return PollReport(
            feed.name,
            items=len(publication.entries),
            new=len(plan.diff.events),
            alerts=queued,
            next_poll_at=next_poll_at,
            first_read=plan.diff.baseline,
        )

    def _alert_unreadable_list(
        self, snap: Snapshot, feed: FeedSettings, error: FeedError, now: datetime
    ) -> None:
        """A list source's document that fails to parse, or to check whole, is
        a refused snapshot too: one ops alert per distinct failure."""
        if feed.type not in LIST_TYPES or error.kind != "parse":
            return
        marker = hashlib.sha256(str(error).encode("utf-8")).hexdigest()[:16]
        alert = refused_snapshot_alert(
            feed.name, list_name=feed.name, link=None, reason=str(error), marker=marker, now=now
        )
        self._queue_refusal(snap, alert, now)

    def _queue_refusal(self, snap: Snapshot, alert: Alert, now: datetime) -> None:
        ops = snap.config.ops
        if ops.enabled:
            self._store.queue_alerts(
                [(alert, Target(snap.config.ops_channel(), ops.mentions))], now=now
            )

    def _stored_entry(self, source: str, key: str) -> ListingEntry | None:
        """An entry of the source's last snapshot; None if it is absent or unreadable."""
        text = self._store.list_entry(source, key)
        if text is None:
            return None
        try:
            return ListingEntry.from_json(json.loads(text))
        except ValueError:
            log.warning("list %s: stored entry %s is unreadable; its event is skipped", source, key)
            return None
