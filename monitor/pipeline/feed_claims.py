"""Polling claimed through the state: each instance asks the store for the
feeds now due, leased to it alone (see monitor.store.coordination.FeedLeases),
polls them on a host-fair pool, keeps the leases of polls running long, and
releases each lease once the poll's outcome, its next poll included, is
stored. Instances sharing one database so share its feeds, and none fetches
a feed another is polling or has just polled: the feed's next poll lives in
the state, not in any process.

The scheduler calls :meth:`FeedClaims.claim` on a timer; a poll finishing
claims again at once while the last claim left feeds due, so a backlog is
worked through at the speed of the threads, not of the timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.errors import StateError
from monitor.pipeline.claim_plan import (
    beyond_host_cap,
    claim_room,
    first_due,
    hosts_with_room,
    refill_now,
    renewal_due,
)
from monitor.pipeline.hostpool import HostFairPool
from monitor.pipeline.poll_report import PollReport
from monitor.settings import FeedSettings
from monitor.sources.urls import host_key
from monitor.store.coordination import FeedLeases

log = logging.getLogger("monitor.claims")

PollStage = Literal["waiting", "running"]


@dataclass(frozen=True)
class ClaimSettings:
    """What a claim needs of the config running now."""

    feeds: Sequence[FeedSettings]
    intervals: Sequence[tuple[str, timedelta]]
    """Each feed's name and interval, in config order (first polls' spread)."""
    lease: timedelta
    hosts: Mapping[str, str | None]
    """Each feed's host (monitor.sources.urls.host_key), whose cap a claim keeps."""

    @property
    def feed_names(self) -> list[str]:
        """The feeds a claim names, in config order."""
        return [name for name, _ in self.intervals]


class FeedClaims:
    """One instance's share of the feeds: claimed, polled, released."""

    def __init__(
        self,
        *,
        leases: FeedLeases,
        poll: Callable[[FeedSettings], PollReport],
        after_poll: Callable[[PollReport], object],
        settings: Callable[[], ClaimSettings],
        clock: Callable[[], datetime],
        workers: int,
        per_host: int,
        on_waiting: Callable[[int], object] | None = None,
    ) -> None:
        """``poll`` polls one feed and stores its outcome; ``after_poll``
        hears each report (to deliver its alerts at once); ``settings``: the
        feeds and lease of the config running now, read at each claim."""
        self._leases = leases
        self._poll = poll
        self._after_poll = after_poll
        self.claim_settings = settings
        """The feeds and lease the next claim uses."""
        self._clock = clock
        self._workers = workers
        self._per_host = per_host
        self._pool: HostFairPool[FeedSettings] = HostFairPool(
            self._run, workers=workers, per_host=per_host, name="poll", on_waiting=on_waiting
        )
        self._lock = threading.Lock()
        self._claiming = threading.Lock()
        self._in_hand: dict[str, PollStage] = {}
        self._first_due: dict[str, datetime] = {}
        self._first_due_of: ClaimSettings | None = None
        self._started: datetime | None = clock()
        self._last_renewed: datetime | None = None
        self._more_due = False
        self._stopping = False
        self._failing: str | None = None

    @property
    def in_hand(self) -> dict[str, PollStage]:
        """The feeds claimed and not yet released, each waiting or running."""
        with self._lock:
            return dict(self._in_hand)

    def claim(self) -> int:
        """Renew the leases in hand when due, then claim the feeds due, as
        many as there is room for, and queue their polls; how many. Returns
        0 at once if a claim is already under way."""
        if not self._claiming.acquire(blocking=False):
            return 0
        try:
            return self._claim()
        finally:
            self._claiming.release()

    def _claim(self) -> int:
        settings = self.claim_settings()
        now = self._clock()
        try:
            if renewal_due(self._last_renewed, now, settings.lease):
                self._renew(now, settings.lease)
            with self._lock:
                if self._stopping:
                    return 0
                in_hand = list(self._in_hand)
            room = claim_room(workers=self._workers, in_hand=len(in_hand))
            named = hosts_with_room(settings.hosts, in_hand, self._per_host)
            due_first = self._due_first(settings, now)
            if room == 0 or not named:
                return 0
            names = self._leases.claim_due_feeds(
                {name: due for name, due in due_first.items() if name in named},
                now=now,
                limit=room,
                lease=settings.lease,
            )
        except StateError as exc:
            if self._failing is None:
                log.error("cannot claim feeds to poll: %s; trying again", exc)
            self._failing = str(exc)
            return 0
        if self._failing is not None:
            log.info("claiming feeds again: the state answers")
            self._failing = None
        self._more_due = len(names) == room
        # A slow host's feeds, due first, must not fill the room: what
        # would take a host past its cap goes back at once.
        extra = set(beyond_host_cap(names, settings.hosts, in_hand, self._per_host))
        by_name = {feed.name: feed for feed in settings.feeds}
        queued = 0
        for name in names:
            feed = by_name.get(name)
            if feed is None or name in extra:  # (or removed by a reload meanwhile)
                self._release(name)
                continue
            with self._lock:
                self._in_hand[name] = "waiting"
            if self._pool.submit(feed, host_key(feed.url)):
                queued += 1
            else:  # stopping
                self._drop(name)
        return queued

    def _due_first(self, settings: ClaimSettings, now: datetime) -> dict[str, datetime]:
        """When each configured feed is due if the state never scheduled it:
        kept from when first named, so a new feed is not pushed back at
        every tick."""
        if settings is self._first_due_of:
            return self._first_due  # the same config: no feed added or removed
        self._first_due_of = settings
        names = {name for name, _ in settings.intervals}
        new = [(name, every) for name, every in settings.intervals if name not in self._first_due]
        # The feeds of the config at start spread from the start; a feed
        # added by a reload is due when first named.
        spread_from, self._started = self._started or now, None
        self._first_due = {
            name: due for name, due in self._first_due.items() if name in names
        } | first_due(new, spread_from)
        return self._first_due

    def _renew(self, now: datetime, lease: timedelta) -> None:
        self._last_renewed = now
        held = self.in_hand
        if not held:
            return
        kept = set(self._leases.renew_feed_leases(sorted(held), now=now, lease=lease))
        for name in sorted(set(held) - kept):
            log.warning(
                "lost the lease of feed %s while its poll was %s (the state was out of "
                "reach longer than state.feed_lease); another instance may poll it too",
                name,
                held[name],
            )

    def _run(self, feed: FeedSettings) -> None:
        with self._lock:
            if self._stopping or feed.name not in self._in_hand:
                return  # dropped at a stop, and its lease already released
            self._in_hand[feed.name] = "running"
        report: PollReport | None = None
        try:
            report = self._poll(feed)
        finally:
            # A poll whose outcome could not be stored keeps its lease to its
            # end: the feed waits that long rather than being fetched again.
            if report is not None and report.next_poll_at is not None:
                self._release(feed.name)
            with self._lock:
                self._in_hand.pop(feed.name, None)
                in_hand = len(self._in_hand)
        if report is not None:
            self._after_poll(report)
        if refill_now(workers=self._workers, in_hand=in_hand, more_due=self._more_due):
            self.claim()

    def _release(self, name: str) -> None:
        try:
            self._leases.release_feed(name)
        except StateError as exc:
            log.warning(
                "could not release the lease of feed %s (%s); it ends on its own", name, exc
            )

    def _drop(self, name: str) -> None:
        with self._lock:
            self._in_hand.pop(name, None)
        self._release(name)

    def wait_until_idle(self) -> None:
        """Return once no poll claimed is waiting or running."""
        self._pool.wait_until_idle()

    def stop(self) -> int:
        """Claim no more, drop the polls still waiting and release their
        leases, so another instance (or the next start) polls them at once;
        how many were dropped. Polls running finish (see :meth:`join`)."""
        with self._lock:
            self._stopping = True
        self._pool.close(wait=False)
        with self._lock:
            waiting = sorted(name for name, stage in self._in_hand.items() if stage == "waiting")
        for name in waiting:
            self._drop(name)
        return len(waiting)

    def join(self) -> None:
        """Wait for the polls running to finish (after :meth:`stop`)."""
        self._pool.close(wait=True)
