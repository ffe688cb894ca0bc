"""Items dated far in the future (a bad clock, a placeholder year 9999) are
treated as undated: they cannot skip a new feed's baseline or the age limit,
and they do not move a feed's polling interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.domain.item import FUTURE_SKEW, effective_time
from monitor.pipeline.decide import AlertPolicy, decide
from monitor.pipeline.schedule import publish_gap
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.records import make_item, make_match
from tests.support.setup import FakeClock, FeedSpec, write_config

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = AlertPolicy(baseline_window=timedelta(hours=6), max_item_age=timedelta(days=3))


def test_a_date_a_little_ahead_counts_but_one_further_ahead_is_unknown() -> None:
    assert effective_time(NOW - timedelta(days=4), NOW) == NOW - timedelta(days=4)
    assert effective_time(NOW + FUTURE_SKEW, NOW) == NOW + FUTURE_SKEW
    assert effective_time(NOW + FUTURE_SKEW + timedelta(seconds=1), NOW) is None
    assert effective_time(FAR_FUTURE, NOW) is None
    assert effective_time(None, NOW) is None


def test_far_future_items_are_baselined_on_a_first_poll_like_undated_ones() -> None:
    matches = [
        make_match(make_item("x", guid=f"urn:{n}", published=when))
        for n, when in enumerate([FAR_FUTURE, NOW + timedelta(days=2), NOW + timedelta(hours=2)])
    ]
    decision = decide(matches, now=NOW, first_poll=True, policy=POLICY)
    assert decision.baselined == 2
    assert [a.published for a in decision.alerts] == [NOW + timedelta(hours=2)]


def test_far_future_dates_do_not_count_in_the_publishing_rate() -> None:
    dates = [NOW - timedelta(minutes=10 * k) for k in range(4)]
    far = [FAR_FUTURE + timedelta(days=k) for k in range(10)]
    assert publish_gap([*dates, *far], NOW) == timedelta(minutes=10)
    assert publish_gap(far, NOW) is None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor(
    tmp_path: Path, feed_server: FeedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Monitor]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    path = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval=None)],
    )
    built = build_monitor(load_config(path), clock=clock, jitter=lambda: 0.0)
    yield built
    built.close()


def troops(n: int, when: datetime) -> Entry:
    return Entry(
        f"North Korean troops killed in Kursk fighting, Ukraine says ({n})",
        link=f"https://news.example/dprk-{n}",
        guid=f"https://news.example/dprk-{n}",
        summary="Ukraine's army said North Korean soldiers were killed.",
        published=when,
    )


def test_items_dated_9999_on_a_new_feed_are_baselined_not_alerted(
    monitor: Monitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.set("/news", rss([troops(n, FAR_FUTURE + timedelta(days=n)) for n in range(5)]))
    (report,) = monitor.poll_all()
    assert (report.items, report.new, report.alerts) == (5, 5, 0)
    assert report.next_poll_at == clock.now + timedelta(minutes=5)


def test_disguised_items_stay_quiet_later_and_do_not_move_the_interval(
    monitor: Monitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    disguised = [troops(n, FAR_FUTURE + timedelta(hours=n)) for n in range(5)]
    feed_server.set("/news", rss(disguised))
    assert monitor.poll_all()[0].alerts == 0

    # Days later, past max_item_age (3d): the same items and an archive item
    # alert nothing, and a feed publishing every 10 minutes is read every 5
    # (half its gap), whatever the far-future dates among its items say.
    clock.advance(days=4)
    archive = troops(10, clock.now - timedelta(days=5))
    fresh = [
        Entry(f"Weather in Seoul ({n})", link=f"https://news.example/w{n}", published=when)
        for n, when in enumerate(clock.now - timedelta(minutes=10 * k) for k in range(4))
    ]
    feed_server.set("/news", rss([*fresh, *disguised, archive]))
    (report,) = monitor.poll_all()
    assert (report.new, report.alerts) == (5, 0)
    assert report.next_poll_at == clock.now + timedelta(minutes=5)


def test_a_new_item_dated_9999_on_a_known_feed_alerts_once_as_news(
    monitor: Monitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.set("/news", rss([troops(1, clock.now - timedelta(days=1))]))
    assert monitor.poll_all()[0].alerts == 0
    clock.advance(minutes=5)
    feed_server.set("/news", rss([troops(2, FAR_FUTURE), troops(1, clock.now - timedelta(days=1))]))
    assert monitor.poll_all()[0].alerts == 1
    clock.advance(minutes=5)
    assert monitor.poll_all()[0].alerts == 0
