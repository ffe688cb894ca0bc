"""Ops alerts: the desk must know which feeds are blind. Pure: state and
``now`` in, conditions and alerts out.

A feed failing without a break for ``ops.failing_after``, or bringing
nothing new for longer than its expected period, opens an incident: one
alert, however long it lasts, and one notice when it ends (a recovery, or a
withdrawal when a changed limit ended it and the feed itself did not).

A feed is judged silent only once the monitor has watched it for
``ops.silent_min``: a feed whose items are already old when it is first
read is reported once, with the other new feeds that look stale, instead
of raising an alert each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from monitor.alerts.model import Alert
from monitor.rules.model import Severity
from monitor.store.base import FeedState, Incident

FAILING = "failing"
SILENT = "silent"
RULE_IDS = {
    FAILING: "ops.feed-failing",
    SILENT: "ops.feed-silent",
}
RECOVERED_RULE_ID = "ops.feed-recovered"
WITHDRAWN_RULE_ID = "ops.feed-withdrawn"
STALE_RULE_ID = "ops.feeds-stale"
OPS_RULE_IDS = (*RULE_IDS.values(), RECOVERED_RULE_ID, WITHDRAWN_RULE_ID, STALE_RULE_ID)
"""Ops alerts carry these rule ids, so `monitor silence` and routes-by-rule
treat them like any rule's alerts."""


def is_ops_alert(alert: Alert) -> bool:
    return alert.rule_id.startswith("ops.")


@dataclass(frozen=True)
class FeedCondition:
    kind: str
    since: datetime
    detail: str


def span(value: timedelta) -> str:
    """A duration as a person reads it: 3 d 4 h, 2 h 05 min, 12 min."""
    minutes = max(0, int(value.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def expected_silence(
    gap: timedelta | None, *, own: timedelta | None, factor: float, minimum: timedelta
) -> timedelta:
    """How long a feed may bring nothing new before it counts as silent."""
    if own is not None:
        return own
    return max(minimum, gap * factor) if gap is not None else minimum


def watched_long_enough(
    state: FeedState, *, now: datetime, silent_after: timedelta, silent_min: timedelta
) -> bool:
    """Whether the monitor has read the feed long enough to call it silent:
    ``silent_min`` since its first read, or its own shorter ``silent_after``.
    Old items seen at the first read say the source was quiet before, not
    that it fails the desk now."""
    watched_since = state.first_success_at
    return watched_since is not None and now - watched_since >= min(silent_min, silent_after)


def feed_conditions(
    state: FeedState,
    *,
    now: datetime,
    failing_after: timedelta,
    silent_after: timedelta,
    silent_min: timedelta,
) -> list[FeedCondition]:
    """What is wrong with a feed now, if anything.

    A failing feed is not also called silent: it cannot bring items, and one
    alert says enough. A feed never read successfully is only ever failing.
    A feed is called silent only once it has been watched long enough
    (:func:`watched_long_enough`).
    """
    if state.failing_since is not None:
        if now - state.failing_since >= failing_after:
            kind = f" ({state.last_error_kind})" if state.last_error_kind else ""
            return [
                FeedCondition(FAILING, state.failing_since, f"{state.last_error or 'failed'}{kind}")
            ]
        return []
    if (
        state.last_item_at is not None
        and now - state.last_item_at >= silent_after
        and watched_long_enough(state, now=now, silent_after=silent_after, silent_min=silent_min)
    ):
        return [
            FeedCondition(
                SILENT,
                state.last_item_at,
                f"no new item since {state.last_item_at:%Y-%m-%d %H:%M} UTC; "
                f"expected one within {span(silent_after)}",
            )
        ]
    return []


def incident_changes(
    state: FeedState, conditions: list[FeedCondition]
) -> tuple[list[FeedCondition], set[str]]:
    """Which incidents to open (a condition none covers) and which kinds of
    open incident to close (no condition holds any more).

    While a feed fails nothing can be said of its silence: an open silent
    incident stays open (closing it would announce items that never came).
    """
    held = {condition.kind for condition in conditions}
    if state.failing_since is not None:
        held.add(SILENT)
    return (
        [c for c in conditions if c.kind not in state.open_incidents],
        set(state.open_incidents - held),
    )


def _feed_alert(
    feed: str,
    url: str,
    *,
    rule_id: str,
    rule_title: str,
    severity: Severity,
    identity: str,
    title: str,
    detail: str,
    since: datetime,
    now: datetime,
) -> Alert:
    return Alert(
        rule_id=rule_id,
        rule_title=rule_title,
        severity=severity,
        feed=feed,
        item_identity=identity,
        item_guid=None,
        title=title,
        link=url if url.startswith(("http://", "https://")) else None,
        summary=detail,
        published=since,
        matched_terms=(),
        created_at=now,
    )


def ops_alert(feed: str, url: str, condition: FeedCondition, now: datetime) -> Alert:
    lasting = span(now - condition.since)
    if condition.kind == FAILING:
        title = f"Feed {feed} has been failing for {lasting}: the desk is blind to it"
    else:
        title = f"Feed {feed} has brought nothing new for {lasting}"
    return _feed_alert(
        feed,
        url,
        rule_id=RULE_IDS[condition.kind],
        rule_title=f"Feed {condition.kind}",
        severity=Severity.WARNING,
        # Unique per opening: the same condition can end and come back with the
        # same start (a silence interrupted by failures), and must alert again.
        identity=f"ops:{feed}:{condition.kind}:{condition.since.isoformat()}:{now.isoformat()}",
        title=title,
        detail=condition.detail,
        since=condition.since,
        now=now,
    )


def recovery_alert(feed: str, url: str, incident: Incident, now: datetime) -> Alert:
    lasted = span(now - incident.since)
    if incident.kind == FAILING:
        title = f"Feed {feed} is back after failing for {lasted}"
    else:
        title = f"Feed {feed} brings new items again after {lasted} of silence"
    return _feed_alert(
        feed,
        url,
        rule_id=RECOVERED_RULE_ID,
        rule_title="Feed recovered",
        severity=Severity.INFO,
        identity=f"ops:incident:{incident.id}:recovered",
        title=title,
        detail=f"was: {incident.detail}",
        since=now,
        now=now,
    )


class Closing(Enum):
    """Why an incident ends."""

    RECOVERED = "recovered"
    """The feed is read again, or brought a new item."""
    WITHDRAWN = "withdrawn"
    """A limit changed (or the feed was repointed): the feed itself did not."""


def closing_cause(incident: Incident, state: FeedState) -> Closing:
    """A failing incident recovers only when the feed's polls succeed, a
    silent one only when the feed brought an item newer than the silence's
    start; otherwise the condition ended because its limit moved."""
    if incident.kind == FAILING:
        return Closing.RECOVERED if state.failing_since is None else Closing.WITHDRAWN
    if state.last_item_at is not None and state.last_item_at > incident.since:
        return Closing.RECOVERED
    return Closing.WITHDRAWN


def withdrawal_alert(
    feed: str, url: str, incident: Incident, now: datetime, *, limit: timedelta
) -> Alert:
    """The notice closing an incident that a changed limit ended: it says
    the feed is still as it was, so nobody takes it for a recovery."""
    lasting = span(now - incident.since)
    if incident.kind == FAILING:
        title = (
            f"Feed {feed} is no longer counted as failing (its limit is now {span(limit)}); "
            f"it has still been failing for {lasting}"
        )
    else:
        title = (
            f"Feed {feed} is no longer counted as silent (its limit is now {span(limit)}); "
            f"it has still brought nothing new for {lasting}"
        )
    return _feed_alert(
        feed,
        url,
        rule_id=WITHDRAWN_RULE_ID,
        rule_title="Feed alert withdrawn",
        severity=Severity.INFO,
        identity=f"ops:incident:{incident.id}:withdrawn",
        title=title,
        detail=f"was: {incident.detail}",
        since=now,
        now=now,
    )


def closing_alert(
    feed: str, url: str, incident: Incident, state: FeedState, now: datetime, *, limit: timedelta
) -> Alert:
    """The notice that ends ``incident``, given the feed's state now and the
    limit that applies to its kind now."""
    if closing_cause(incident, state) is Closing.RECOVERED:
        return recovery_alert(feed, url, incident, now)
    return withdrawal_alert(feed, url, incident, now, limit=limit)


# --- feeds that look stale when first read ------------------------------------


@dataclass(frozen=True)
class StaleFeed:
    """A feed whose newest item was already older than its silent limit
    when the monitor first read it."""

    feed: str
    newest_item_at: datetime
    silent_after: timedelta


def looks_stale_at_first_read(
    first_read_at: datetime | None, newest_item_at: datetime | None, silent_after: timedelta
) -> bool:
    """True while the newest item known is one the first read found, and it
    was already older than the silent limit then."""
    return (
        first_read_at is not None
        and newest_item_at is not None
        and first_read_at - newest_item_at >= silent_after
    )


def stale_at_first_read(state: FeedState, *, silent_after: timedelta) -> StaleFeed | None:
    if state.last_item_at is None or not looks_stale_at_first_read(
        state.first_success_at, state.last_item_at, silent_after
    ):
        return None
    return StaleFeed(state.name, state.last_item_at, silent_after)


def _stale_list(feeds: Sequence[StaleFeed], now: datetime) -> str:
    return ", ".join(
        f"{f.feed} (newest item {span(now - f.newest_item_at)} old, limit {span(f.silent_after)})"
        for f in feeds
    )


def stale_log_line(feeds: Sequence[StaleFeed], *, now: datetime, silent_min: timedelta) -> str:
    """The one log line for new feeds that look stale at their first read."""
    return (
        f"{len(feeds)} new feed{'s' if len(feeds) != 1 else ''} look stale at first read "
        f"(newest item older than the feed's silent limit); none is called silent before "
        f"it has been watched for {span(silent_min)}: {_stale_list(feeds, now)}"
    )


def stale_notice(feeds: Sequence[StaleFeed], *, now: datetime, silent_min: timedelta) -> Alert:
    """One ops message for all the new feeds that look stale at first read,
    instead of a silent-feed alert each."""
    names = ", ".join(f.feed for f in feeds)
    plural = len(feeds) != 1
    return Alert(
        rule_id=STALE_RULE_ID,
        rule_title="New feeds look stale",
        severity=Severity.INFO,
        feed=f"{len(feeds)} new feed{'s' if plural else ''}",
        # Unique per notice: each reports other feeds.
        item_identity=f"ops:feeds-stale:{now.isoformat()}:{hashlib.sha256(names.encode()).hexdigest()[:16]}",
        item_guid=None,
        title=(
            f"{len(feeds)} new feed{'s look' if plural else ' looks'} stale at first read: {names}"
        ),
        link=None,
        summary=(
            f"Newest item already older than the feed's silent limit. No silent-feed alert "
            f"before a feed has been watched for {span(silent_min)}; monitor status marks them "
            f"STALE. {_stale_list(feeds, now)}"
        ),
        published=now,
        matched_terms=(),
        created_at=now,
    )
