"""Which state a watched feed is in, as `monitor status` and the
``monitor_feeds`` gauge of /metrics name it. Pure: a feed's stored facts and
``now`` in, one state out.

The state says what the desk sees of the feed now, whatever the poll
schedule: a feed backed off to ``polling.max_backoff`` after failures stays
failing between its rare polls.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.pipeline.feed_health import SILENT, looks_stale_at_first_read, poll_overdue


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
