"""Ops alerts: the desk must know which feeds are blind. Pure: state and
``now`` in, conditions and alerts out.

A feed failing without a break for ``ops.failing_after``, or bringing
nothing new for longer than its expected period, opens an incident: one
alert, however long it lasts, and one notice when it ends (a recovery, or a
withdrawal when a changed limit ended it and the feed itself did not).

A feed is judged silent only once the monitor has watched it for
``ops.silent_min``: a feed whose items are already old when it is first
read is reported once, with the other new feeds that look stale, instead
of raising an alert each. Feeds going silent together (such as those new
feeds, a day later) are announced in one message, each still with its own
incident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from monitor.delivery.render import SNIPPET_CHARS, TITLE_CHARS
from monitor.domain.alert import Alert
from monitor.domain.feed import FeedState, Incident
from monitor.domain.kinds import IncidentKind
from monitor.domain.ops import (
    FAILING,
    RECOVERED_RULE_ID,
    RULE_IDS,
    SILENT,
    STALE_RULE_ID,
    WITHDRAWN_RULE_ID,
)
from monitor.domain.severity import Severity

SILENT_TOGETHER_LEAD = timedelta(minutes=30)
"""How much sooner than its watch time a feed with long-stale items is
called silent along with another feed going silent: new feeds added
together are first read over a few minutes, and one message for all of
them is worth more than a few minutes of watching."""

MORE_HINT = "see monitor status"


@dataclass(frozen=True)
class FeedCondition:
    kind: IncidentKind
    since: datetime
    detail: str
    limit: timedelta | None = None
    """The limit it passed (``ops.failing_after`` or the feed's silent limit)."""


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun: 1 feed, 3 feeds."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def listed_within(entries: Sequence[str], budget: int) -> str:
    """As many ``entries`` as fit in ``budget`` characters, in order, then
    how many were left out: "a, b, c …and 170 more (see monitor status)".
    A list that is cut must say so, and where the rest is."""
    everything = ", ".join(entries)
    if len(everything) <= budget:
        return everything
    shown: list[str] = []
    length = 0
    for number, entry in enumerate(entries):
        tail = f" …and {len(entries) - number - 1} more ({MORE_HINT})"
        added = len(entry) + (2 if shown else 0)
        if length + added + len(tail) > budget:
            break
        shown.append(entry)
        length += added
    rest = f"…and {len(entries) - len(shown)} more ({MORE_HINT})"
    return f"{', '.join(shown)} {rest}" if shown else rest


def span(value: timedelta) -> str:
    """A duration as a person reads it: 3 d 4 h, 2 h 05 min, 12 min, 20 s.
    Seconds show only under a minute, so that a short limit never reads as
    "0 min"."""
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
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
    state: FeedState,
    *,
    now: datetime,
    silent_after: timedelta,
    silent_min: timedelta,
    lead: timedelta = timedelta(0),
) -> bool:
    """Whether the monitor has read the feed long enough to call it silent:
    ``silent_min`` since its first read, or its own shorter ``silent_after``
    (less ``lead``). Old items seen at the first read say the source was
    quiet before, not that it fails the desk now."""
    watched_since = state.first_success_at
    return watched_since is not None and now - watched_since >= min(silent_min, silent_after) - lead


def feed_conditions(
    state: FeedState,
    *,
    now: datetime,
    failing_after: timedelta,
    silent_after: timedelta,
    silent_min: timedelta,
    watch_lead: timedelta = timedelta(0),
) -> list[FeedCondition]:
    """What is wrong with a feed now, if anything.

    A failing feed is not also called silent: it cannot bring items, and one
    alert says enough. A feed never read successfully is only ever failing.
    A feed is called silent only once it has been watched long enough
    (:func:`watched_long_enough`, less ``watch_lead``).
    """
    if state.failing_since is not None:
        if now - state.failing_since >= failing_after:
            kind = f" ({state.last_error_kind})" if state.last_error_kind else ""
            return [
                FeedCondition(
                    FAILING,
                    state.failing_since,
                    f"{state.last_error or 'failed'}{kind}",
                    failing_after,
                )
            ]
        return []
    if (
        state.last_item_at is not None
        and now - state.last_item_at >= silent_after
        and watched_long_enough(
            state, now=now, silent_after=silent_after, silent_min=silent_min, lead=watch_lead
        )
    ):
        return [
            FeedCondition(
                SILENT,
                state.last_item_at,
                f"no new item since {state.last_item_at:%Y-%m-%d %H:%M} UTC; "
                f"expected one within {span(silent_after)}",
                silent_after,
            )
        ]
    return []


def silent_together(
    candidates: Sequence[tuple[FeedState, timedelta]],
    *,
    now: datetime,
    failing_after: timedelta,
    silent_min: timedelta,
) -> list[tuple[str, FeedCondition]]:
    """Of ``candidates`` (each feed's state and silent limit), the feeds
    whose silent incident opens along with another feed's opening now, each
    with its condition: those silent now, and those with items old enough
    to be silent that lack only a little watching
    (:data:`SILENT_TOGETHER_LEAD`, a tenth of their watch time at most).
    Those are new feeds read in the same first cycle as the one going
    silent, reported in the same notice about stale first reads: they go
    silent together, in one message, not one after another."""
    together = []
    for state, silent_after in candidates:
        if SILENT in state.open_incidents:
            continue
        lead = min(SILENT_TOGETHER_LEAD, min(silent_min, silent_after) / 10)
        for condition in feed_conditions(
            state,
            now=now,
            failing_after=failing_after,
            silent_after=silent_after,
            silent_min=silent_min,
            watch_lead=lead,
        ):
            if condition.kind == SILENT:
                together.append((state.name, condition))
    return together


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


def silent_group_alert(silent: Sequence[tuple[str, FeedCondition]], now: datetime) -> Alert:
    """One ops alert for several feeds going silent at once, instead of an
    alert each: one message, one set of mentions. Each feed still has its
    own incident, and its own recovery notice when it brings news again."""
    names = [feed for feed, _ in silent]
    heading = f"{len(silent)} feeds silent: "
    lead = "Each has brought nothing new for longer than expected: "
    details = [
        f"{feed} (nothing new for {span(now - condition.since)}"
        + (f", limit {span(condition.limit)})" if condition.limit is not None else ")")
        for feed, condition in silent
    ]
    return Alert(
        rule_id=RULE_IDS[SILENT],
        rule_title=f"Feed {SILENT}",
        severity=Severity.WARNING,
        feed=counted(len(silent), "feed"),
        # Unique per message: each names other feeds, or another moment.
        item_identity=f"ops:feeds-silent:{now.isoformat()}:{_digest(names)}",
        item_guid=None,
        title=heading + listed_within(names, TITLE_CHARS - len(heading)),
        link=None,
        summary=lead + listed_within(details, SNIPPET_CHARS - len(lead)),
        published=now,
        matched_terms=(),
        created_at=now,
    )


def _digest(names: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


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


def _stale_entries(feeds: Sequence[StaleFeed], now: datetime) -> list[str]:
    return [
        f"{f.feed} (newest item {span(now - f.newest_item_at)} old, limit {span(f.silent_after)})"
        for f in feeds
    ]


def stale_log_line(feeds: Sequence[StaleFeed], *, now: datetime, silent_min: timedelta) -> str:
    """The one log line for new feeds that look stale at their first read:
    every one of them, however many."""
    return (
        f"{counted(len(feeds), 'new feed')} look{'s' if len(feeds) == 1 else ''} stale at first "
        f"read (newest item older than the feed's silent limit); none is called silent before "
        f"it has been watched for {span(silent_min)}: {', '.join(_stale_entries(feeds, now))}"
    )


def stale_notice(feeds: Sequence[StaleFeed], *, now: datetime, silent_min: timedelta) -> Alert:
    """One ops message for all the new feeds that look stale at first read,
    instead of a silent-feed alert each. It names as many as fit, and how
    many more `monitor status` lists."""
    names = ", ".join(f.feed for f in feeds)
    heading = f"{counted(len(feeds), 'new feed')} look{'s' if len(feeds) == 1 else ''} stale at first read: "
    lead = (
        f"Newest item already older than the feed's silent limit. None is called silent before "
        f"it has been watched for {span(silent_min)}; monitor status marks them STALE. "
    )
    return Alert(
        rule_id=STALE_RULE_ID,
        rule_title="New feeds look stale",
        severity=Severity.INFO,
        feed=counted(len(feeds), "new feed"),
        # Unique per notice: each reports other feeds.
        item_identity=f"ops:feeds-stale:{now.isoformat()}:{hashlib.sha256(names.encode()).hexdigest()[:16]}",
        item_guid=None,
        title=heading + listed_within([f.feed for f in feeds], TITLE_CHARS - len(heading)),
        link=None,
        summary=lead + listed_within(_stale_entries(feeds, now), SNIPPET_CHARS - len(lead)),
        published=now,
        matched_terms=(),
        created_at=now,
    )


# --- feeds nobody polls ------------------------------------------------------------

OVERDUE_INTERVALS = 3
"""A poll later than this many intervals (and ``ops.failing_after``) is no
scheduling delay: nobody is polling the feed."""


def overdue_limit(interval: timedelta, failing_after: timedelta) -> timedelta:
    return max(failing_after, OVERDUE_INTERVALS * interval)


def poll_overdue(
    next_poll_at: datetime | None, *, now: datetime, interval: timedelta, failing_after: timedelta
) -> timedelta | None:
    """How long ago the feed's next poll was due, when that is longer than
    :func:`overdue_limit`: the monitor that should poll it is not running
    (or its scheduler is stuck). None while the feed is polled in time."""
    if next_poll_at is None:
        return None
    late = now - next_poll_at
    return late if late > overdue_limit(interval, failing_after) else None
