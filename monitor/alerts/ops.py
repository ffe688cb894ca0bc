"""Ops alerts: the desk must know which feeds are blind. Pure: state and
``now`` in, conditions and alerts out.

A feed failing without a break for ``ops.failing_after``, or bringing
nothing new for longer than its expected period, opens an incident: one
alert, however long it lasts, and one recovery notice when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
OPS_RULE_IDS = (*RULE_IDS.values(), RECOVERED_RULE_ID)
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


def feed_conditions(
    state: FeedState, *, now: datetime, failing_after: timedelta, silent_after: timedelta
) -> list[FeedCondition]:
    """What is wrong with a feed now, if anything.

    A failing feed is not also called silent: it cannot bring items, and one
    alert says enough. A feed never read successfully is only ever failing.
    """
    if state.failing_since is not None:
        if now - state.failing_since >= failing_after:
            kind = f" ({state.last_error_kind})" if state.last_error_kind else ""
            return [
                FeedCondition(FAILING, state.failing_since, f"{state.last_error or 'failed'}{kind}")
            ]
        return []
    if state.last_item_at is not None and now - state.last_item_at >= silent_after:
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
