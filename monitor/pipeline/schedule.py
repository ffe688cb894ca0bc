"""When to poll a feed next. Pure: dates and settings in, durations out.

The interval follows how often the feed publishes, so a wire that posts
every few minutes is read at the floor and a sanctions list that changes
twice a month at the ceiling, without anyone tuning feeds by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from monitor.domain.item import effective_time

RECENT_ITEMS = 20
"""How many of the newest dated items the publishing rate is measured on."""
POLLS_PER_GAP = 2
"""Polls per typical gap between items: the mean wait for a new item is then
a quarter of that gap, and no item sits unread for more than half of it."""


def publish_gap(timestamps: Iterable[datetime | None], now: datetime) -> timedelta | None:
    """The typical time between two items of a feed, from its items' dates.

    The median of the gaps between the newest dated items: one burst or one
    old item republished does not swing it. Future dates (bad clocks, embargo
    times, placeholder years: see :func:`~monitor.domain.item.effective_time`) and
    items sharing one date (a feed stamping every item with the build time)
    tell nothing and are left out. None when fewer than two distinct dates
    remain.
    """
    effective = (effective_time(t, now) for t in timestamps)
    dates = sorted({t for t in effective if t is not None and t <= now}, reverse=True)
    recent = dates[:RECENT_ITEMS]
    if len(recent) < 2:
        return None
    gaps = [(newer - older).total_seconds() for newer, older in pairwise(recent)]
    return timedelta(seconds=median(gaps))


def adaptive_interval(
    gap: timedelta | None, *, floor: timedelta, ceiling: timedelta, default: timedelta
) -> timedelta:
    """The interval for a feed whose items come ``gap`` apart, within its bounds."""
    wanted = gap / POLLS_PER_GAP if gap is not None else default
    return min(max(wanted, floor), ceiling)


def next_poll_delay(
    interval: timedelta,
    *,
    failures: int,
    max_backoff: timedelta,
    asked_wait: timedelta | None = None,
    jitter: float = 0.0,
    random_unit: float = 0.0,
) -> timedelta:
    """How long until the next poll.

    After failures the interval is doubled per consecutive failure, up to
    ``max_backoff`` (never shorter than the interval itself), and the feed is
    never given up on: a tool that stops polling after a few errors leaves
    the desk blind without telling it. Where the server asked for a longer
    wait (Retry-After, Cache-Control max-age, RSS ttl) it gets it, again up
    to ``max_backoff``. ``random_unit`` in [0, 1) adds up to ``jitter`` of
    the delay. Jitter only ever adds: a floor or a Retry-After is a promise
    to the publisher, never undercut.
    """
    delay = interval
    if failures > 0:
        delay = max(interval, min(interval * (1 << min(failures, 20)), max_backoff))
    if asked_wait is not None:
        delay = max(delay, min(asked_wait, max_backoff))
    return delay * (1 + jitter * random_unit)
