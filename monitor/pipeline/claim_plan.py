"""The decisions of polling claimed through the state (pure: data and ``now``
in, no I/O): when a feed never polled is first due, how many feeds one
instance claims at a time, and when its leases are renewed.

:mod:`monitor.pipeline.feed_claims` acts on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

FIRST_POLLS_SPREAD = timedelta(seconds=5)
"""First polls of feeds never polled are spread over at most this, so a
start with many new feeds is not one burst."""


def first_due(intervals: Sequence[tuple[str, timedelta]], start: datetime) -> dict[str, datetime]:
    """When each feed (name, interval), in config order, is due if the
    state holds no next poll for it: from ``start`` on, spread over up to
    :data:`FIRST_POLLS_SPREAD` (half its interval, for a feed polled more
    often). A feed the state knows is due when the state says instead."""
    count = max(1, len(intervals))
    due: dict[str, datetime] = {}
    for index, (name, interval) in enumerate(intervals):
        spread = min(FIRST_POLLS_SPREAD, interval / 2)
        due[name] = start + spread * index / count
    return due


def claim_room(*, workers: int, in_hand: int) -> int:
    """How many more feeds an instance claims with ``in_hand`` claimed and
    not yet done: enough for every thread and as many again waiting, so a
    thread that finishes starts the next poll without a round trip to the
    state, and no more, so feeds are not held idle from other instances."""
    return max(0, 2 * workers - in_hand)


def host_cap(per_host: int) -> int:
    """How many feeds of one host an instance holds at most: as many as may
    run at once (``fetch.per_host``) and as many again waiting, so that a
    slow host's feeds never fill the room the other hosts' need."""
    return 2 * per_host


def hosts_with_room(
    hosts: Mapping[str, str | None], in_hand: Sequence[str], per_host: int
) -> set[str]:
    """The feeds (of ``hosts``: feed -> host, None for a local file) a
    claim may name: those whose host holds fewer than its cap in hand."""
    held = Counter(hosts.get(name) for name in in_hand)
    cap = host_cap(per_host)
    return {name for name, host in hosts.items() if host is None or held[host] < cap}


def beyond_host_cap(
    claimed: Sequence[str], hosts: Mapping[str, str | None], in_hand: Sequence[str], per_host: int
) -> list[str]:
    """Of the feeds just ``claimed`` (soonest due first), those that would
    take their host past its cap, given the feeds already ``in_hand``: to
    give back at once, for whichever instance has room for them."""
    held = Counter(hosts.get(name) for name in in_hand)
    cap = host_cap(per_host)
    extra: list[str] = []
    for name in claimed:
        host = hosts.get(name)
        if host is not None and held[host] >= cap:
            extra.append(name)
        else:
            held[host] += 1
    return extra


def refill_now(*, workers: int, in_hand: int, more_due: bool) -> bool:
    """Whether a poll that finished claims again at once rather than at the
    next tick: while the last claim left feeds due, once half the feeds in
    hand are done, so each claim takes a batch rather than one feed."""
    return more_due and in_hand <= workers


def renewal_due(last_renewed: datetime | None, now: datetime, lease: timedelta) -> bool:
    """Whether to extend the leases of the polls in hand: every third of a
    lease, so a lease never ends under a live poll, whatever a tick's delay."""
    return last_renewed is None or now - last_renewed >= lease / 3
