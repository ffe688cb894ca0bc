"""Ops conditions and incidents (pure): when a feed counts as failing or silent."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from monitor.domain.feed import FeedState, Incident
from monitor.domain.kinds import IncidentKind
from monitor.domain.severity import Severity
from monitor.pipeline.feed_health import (
    counted,
    expected_silence,
    feed_conditions,
    incident_changes,
    listed_within,
    ops_alert,
    poll_overdue,
    recovery_alert,
    span,
)
from tests.support.records import FEED_NOW, make_feed_state

NOW = FEED_NOW
HOUR = timedelta(hours=1)


state = make_feed_state


def conditions(feed: FeedState) -> list[tuple[str, datetime]]:
    found = feed_conditions(
        feed, now=NOW, failing_after=HOUR, silent_after=24 * HOUR, silent_min=24 * HOUR
    )
    return [(c.kind, c.since) for c in found]


def test_a_healthy_feed_has_no_condition() -> None:
    assert conditions(state()) == []


def test_failing_counts_from_the_first_failure_of_the_run() -> None:
    failing = {"last_error": "HTTP 503", "last_error_kind": "http", "consecutive_failures": 4}
    assert conditions(state(failing_since=NOW - 59 * timedelta(minutes=1), **failing)) == []
    assert conditions(state(failing_since=NOW - HOUR, **failing)) == [("failing", NOW - HOUR)]


def test_a_failing_feed_is_not_also_called_silent() -> None:
    old = NOW - 30 * 24 * HOUR
    assert conditions(state(failing_since=NOW - 2 * HOUR, last_item_at=old)) == [
        ("failing", NOW - 2 * HOUR)
    ]


def test_silence_counts_from_the_last_new_item() -> None:
    assert conditions(state(last_item_at=NOW - 23 * HOUR)) == []
    assert conditions(state(last_item_at=NOW - 24 * HOUR)) == [("silent", NOW - 24 * HOUR)]
    assert conditions(state(last_item_at=None)) == []


@pytest.mark.parametrize(
    ("gap", "own", "expected"),
    [
        (None, None, timedelta(days=1)),  # rate unknown: the minimum
        (timedelta(hours=1), None, timedelta(days=1)),  # 4 h, below the minimum
        (timedelta(days=2), None, timedelta(days=8)),  # 4 x the gap
        (timedelta(minutes=5), timedelta(hours=2), timedelta(hours=2)),  # the feed's own
    ],
)
def test_the_expected_silence_follows_the_rate(
    gap: timedelta | None, own: timedelta | None, expected: timedelta
) -> None:
    assert expected_silence(gap, own=own, factor=4, minimum=timedelta(days=1)) == expected


def test_an_incident_opens_once_and_closes_once() -> None:
    down = state(failing_since=NOW - 2 * HOUR, last_error="timed out", last_error_kind="timeout")
    failing = feed_conditions(
        down, now=NOW, failing_after=HOUR, silent_after=24 * HOUR, silent_min=24 * HOUR
    )
    to_open, to_close = incident_changes(down, failing)
    assert [c.kind for c in to_open] == ["failing"] and to_close == set()
    opened: frozenset[IncidentKind] = frozenset({"failing"})
    still_down = replace(down, open_incidents=opened)
    assert incident_changes(still_down, failing) == ([], set()), "still failing: nothing new"
    recovered = state(open_incidents=opened)
    assert incident_changes(recovered, []) == ([], {"failing"}), "recovered: close it"


def test_a_failure_says_nothing_about_a_silence() -> None:
    silent = frozenset({"silent"})
    down = state(failing_since=NOW - 10 * 60 * timedelta(seconds=1), open_incidents=silent)
    assert incident_changes(down, []) == ([], set()), "kept open while failing"
    assert incident_changes(state(open_incidents=silent), []) == ([], {"silent"})


def test_ops_alerts_read_like_news_for_the_desk() -> None:
    incident = Incident(1, "wire", "failing", NOW - 3 * HOUR, "timed out (timeout)", NOW - 2 * HOUR)
    (condition,) = feed_conditions(
        state(failing_since=NOW - 3 * HOUR, last_error="timed out", last_error_kind="timeout"),
        now=NOW,
        failing_after=HOUR,
        silent_after=24 * HOUR,
        silent_min=24 * HOUR,
    )
    alert = ops_alert("wire", "https://news.example/rss", condition, NOW)
    assert alert.title == "Feed wire has been failing for 3 h 00 min: the desk is blind to it"
    assert (alert.rule_id, alert.severity, alert.summary) == (
        "ops.feed-failing",
        Severity.WARNING,
        "timed out (timeout)",
    )
    notice = recovery_alert("wire", "/srv/feeds/wire.xml", incident, NOW)
    assert notice.title == "Feed wire is back after failing for 3 h 00 min"
    assert (notice.rule_id, notice.severity, notice.link) == (
        "ops.feed-recovered",
        Severity.INFO,
        None,
    )
    assert notice.item_identity != alert.item_identity


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3), "3 d"),
        (timedelta(days=3, hours=4, minutes=30), "3 d 4 h"),
        (timedelta(seconds=20), "20 s"),  # a short limit never reads "0 min"
        (timedelta(seconds=59, microseconds=900_000), "59 s"),
        (timedelta(seconds=61), "1 min"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_spans_read_as_a_person_says_them(value: timedelta, text: str) -> None:
    assert span(value) == text


def test_a_cut_list_says_how_many_more_and_where_they_are() -> None:
    names = [f"feed-{n:03d}" for n in range(182)]
    assert listed_within(names[:3], 100) == "feed-000, feed-001, feed-002"
    cut = listed_within(names, 120)
    assert cut.startswith("feed-000, feed-001, ") and len(cut) <= 120
    shown, rest = cut.split(" …and ")
    assert rest == f"{182 - len(shown.split(', '))} more (see monitor status)"
    assert listed_within(names, 10) == "…and 182 more (see monitor status)"


def test_counts_agree_with_their_nouns() -> None:
    assert (counted(1, "feed"), counted(0, "feed"), counted(2, "feed")) == (
        "1 feed",
        "0 feeds",
        "2 feeds",
    )
    assert counted(1, "new feed") == "1 new feed"


def test_a_poll_is_overdue_only_when_far_later_than_its_interval_and_failing_after() -> None:
    minute, five = timedelta(minutes=1), timedelta(minutes=5)

    def overdue(due: datetime | None, interval: timedelta = five) -> timedelta | None:
        return poll_overdue(due, now=NOW, interval=interval, failing_after=HOUR)

    assert overdue(NOW + five) is None, "not due yet"
    assert overdue(NOW) is None and overdue(NOW - 10 * minute) is None, "merely due"
    assert overdue(NOW - HOUR) is None
    assert overdue(NOW - HOUR - minute) == HOUR + minute, "later than ops.failing_after"
    assert overdue(NOW - 2 * HOUR, interval=HOUR) is None, "within three of its intervals"
    assert overdue(NOW - 3 * HOUR - minute, interval=HOUR) == 3 * HOUR + minute
    assert overdue(None) is None, "never scheduled"
