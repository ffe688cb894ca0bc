"""Which state a watched feed is in, as `monitor status` and the
``monitor_feeds`` gauge of /metrics name it. Pure: a feed's stored facts and
``now`` in, one state out.

The state says what the desk sees of the feed now, whatever the poll
schedule: a feed backed off to ``polling.max_backoff`` after failures stays
failing between its rare polls.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.domain.feed import FeedHealth, FeedState
from monitor.domain.ops import SILENT
from monitor.pipeline.feed_health import expected_silence, looks_stale_at_first_read, poll_overdue
from monitor.settings import Config, FeedSettings


class FeedStatus(StrEnum):
    OK = "ok"
    OVERDUE = "overdue"
    """Its next poll is long past due (see :func:`monitor.pipeline.feed_health.poll_overdue`):
    nobody polls it, and what it last showed is out of date."""
    FAILING = "failing"
    """Its last poll failed."""
    SILENT = "silent"
    """Read, but it has an open silent-feed incident (nothing new for too long)."""
    STALE = "stale"
    """Its newest item was already older than its silent limit at its first
    read: the source was quiet before it was watched; not judged silent yet."""
    NEVER_POLLED = "never_polled"


def feed_status(
    *,
    polled: bool,
    next_poll_at: datetime | None,
    consecutive_failures: int,
    open_incidents: Collection[str],
    first_success_at: datetime | None,
    last_item_at: datetime | None,
    now: datetime,
    interval: timedelta,
    silent_after: timedelta,
    failing_after: timedelta,
) -> FeedStatus:
    """A feed's state from its stored facts. ``interval`` is its poll
    interval before backoff (``Config.interval_for``), ``silent_after`` its
    silent limit (:func:`monitor.pipeline.feed_health.expected_silence`),
    ``failing_after`` is ``ops.failing_after``. An overdue feed is only
    overdue: what else it shows is out of date. A failing feed is only
    failing, whatever its incidents: it cannot bring items."""
    if not polled:
        return FeedStatus.NEVER_POLLED
    if poll_overdue(next_poll_at, now=now, interval=interval, failing_after=failing_after):
        return FeedStatus.OVERDUE
    if consecutive_failures:
        return FeedStatus.FAILING
    if SILENT in open_incidents:
        return FeedStatus.SILENT
    if looks_stale_at_first_read(first_success_at, last_item_at, silent_after):
        return FeedStatus.STALE
    return FeedStatus.OK


def configured_feed_status(
    config: Config,
    feed: FeedSettings,
    facts: FeedState | FeedHealth | None,
    *,
    polled: bool,
    incidents: Collection[str],
    now: datetime,
) -> tuple[FeedStatus, timedelta]:
    """A configured feed's state from what the store holds of it (``facts``,
    None if nothing), with its poll interval before backoff."""
    ops = config.ops
    gap = facts.publish_gap if facts else None
    interval = config.interval_for(feed, gap)
    status = feed_status(
        polled=polled,
        next_poll_at=facts.next_poll_at if facts else None,
        consecutive_failures=facts.consecutive_failures if facts else 0,
        open_incidents=incidents,
        first_success_at=facts.first_success_at if facts else None,
        last_item_at=facts.last_item_at if facts else None,
        now=now,
        interval=interval,
        silent_after=expected_silence(
            gap, own=feed.silent_after, factor=ops.silent_factor, minimum=ops.silent_min
        ),
        failing_after=ops.failing_after,
    )
    return status, interval


def feed_status_counts(
    config: Config, states: Mapping[str, FeedState], *, now: datetime
) -> dict[FeedStatus, int]:
    """How many of the configured feeds are in each state, from their stored states."""
    by_status = dict.fromkeys(FeedStatus, 0)
    for feed in config.feeds:
        state = states.get(feed.name)
        status, _ = configured_feed_status(
            config,
            feed,
            state,
            polled=state is not None,
            incidents=state.open_incidents if state else (),
            now=now,
        )
        by_status[status] += 1
    return by_status
