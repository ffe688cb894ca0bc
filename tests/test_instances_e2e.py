"""Two and three `monitor run` processes on one PostgreSQL database (issue
19): real processes, the real server, the loopback feed server and the
Slack emulator.

What the desk sees: the instances share the feeds (each polls some), every
alert is posted exactly once, and no feed is fetched twice within its
interval whoever polls it; an instance killed in the middle of its polls
leaves those feeds to the others at once (a dead process of the same host
holds no lease), and nothing is lost; an instance killed after Slack took a
post but before it could record it leaves no gap and no second post (the
others find the post in the channel's history); posts to one channel keep
Slack's pace whichever instance sends them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.support.feeds import Entry, rss
from tests.support.held_server import HOLD
from tests.support.instances import (
    CHANNEL,
    TOKEN,
    Fleet,
    InstanceFeed,
    TimedFeedServer,
    alert_statuses,
    fleet_config,
    headline,
    lease_holders,
    sender_of,
    shared_schema,
    watch_rule,
)
from tests.support.setup import run_monitor
from tests.support.slack_emulator import Fault, SlackEmulator
from tests.test_e2e import wait_until

pytestmark = pytest.mark.e2e

CLOCK_GRANULARITY = 0.001
"""Seconds: a request's arrival at the feed server and a monitor's next
poll are both read from the system's wall clock (microseconds, and the
database keeps microseconds); a millisecond covers the rounding."""
POST_TRIP = 0.1
"""Seconds a post may take from the moment its sender booked for it to its
arrival at the emulator, where the emulator stamps it: the bookings are
what the pace spaces, so a post arriving late by this much (a busy machine)
brings the next one closer by as much. Two senders not pacing together
post a few milliseconds apart."""
WAIT = 90.0
"""A generous limit for what the fleet does within seconds (a hang only)."""


@pytest.fixture
def state_url(tmp_path: Path) -> Iterator[str]:
    with shared_schema(str(tmp_path)) as url:
        yield url


@pytest.fixture
def feeds() -> Iterator[TimedFeedServer]:
    with TimedFeedServer() as server:
        yield server


def watched_fleet(
    directory: Path,
    specs: Sequence[InstanceFeed],
    feeds: TimedFeedServer,
    state_url: str,
    slack: SlackEmulator,
    **settings: Any,
) -> Path:
    """The config of a fleet polling ``specs`` on ``feeds`` into the schema
    ``state_url``, alerting to ``slack`` on the word of :func:`watch_rule`;
    ``settings``: fleet_config's own (lease, timeouts, pace, concurrency)."""
    return fleet_config(
        directory,
        specs,
        feed_base=feeds.base_url,
        state_url=state_url,
        slack_api_url=slack.base_url,
        rules_dir=watch_rule(directory),
        **settings,
    )


def fleet_feeds(count: int, intervals: Sequence[float]) -> list[InstanceFeed]:
    return [
        InstanceFeed(f"feed-{n:02d}", f"/feed-{n:02d}", intervals[n % len(intervals)])
        for n in range(count)
    ]


def calm(feed: int) -> Entry:
    """An item no rule matches, in every document, so no feed is ever empty."""
    link = f"https://news.example/calm-{feed}"
    return Entry(f"Weather and markets {feed}", link=link, guid=link, published=datetime.now(UTC))


def publish(server: TimedFeedServer, feed: int, path: str, waves: int, *, delay: float = 0) -> None:
    """Serve feed number ``feed`` at ``path`` with its matching items of waves
    1..``waves``, all published now (so even a first read alerts)."""
    now = datetime.now(UTC)
    entries = [headline(feed, wave, now)[1] for wave in range(1, waves + 1)]
    server.set(path, rss([*entries, calm(feed)]), delay=delay)


def markers(count: int, waves: int) -> list[str]:
    return [headline(f, w, None)[0] for f in range(count) for w in range(1, waves + 1)]


def posts_of(slack: SlackEmulator, marker: str) -> int:
    return sum(marker in message.text for message in slack.messages)


def assert_each_posted_once(slack: SlackEmulator, expected: list[str]) -> None:
    counts = {marker: posts_of(slack, marker) for marker in expected}
    assert {m: n for m, n in counts.items() if n != 1} == {}, "each alert exactly once"
    assert len(slack.messages) == len(expected), [m.text for m in slack.messages]


def short_gaps(server: TimedFeedServer, feeds: list[InstanceFeed]) -> dict[str, list[float]]:
    """Per feed, the gaps between two of its fetches shorter than its interval."""
    short: dict[str, list[float]] = {}
    for feed in feeds:
        gaps = [b - a for a, b in pairwise(server.arrivals(feed.path))]
        if too_short := [round(g, 3) for g in gaps if g < feed.interval - CLOCK_GRANULARITY]:
            short[feed.name] = too_short
    return short


def instance_rows(config: Path, cwd: Path) -> list[dict[str, object]]:
    """`monitor status --instances --json`: one object per instance."""
    done = run_monitor("status", "--instances", "--json", "--config", str(config), cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("count", [2, 3])
def test_instances_share_the_feeds_post_each_alert_once_and_fetch_no_feed_twice_in_its_interval(
    count: int,
    tmp_path: Path,
    state_url: str,
    feeds: TimedFeedServer,
    slack_emulator: SlackEmulator,
) -> None:
    """30 feeds polled every 2 to 5 s by ``count`` instances, two waves of
    matching items: each alert is one post, each instance polled some
    feeds, each answers /healthz with the database reachable and is listed
    by `monitor status`, and the feed server saw no feed fetched twice
    within its interval (jitter only ever lengthens a wait)."""
    slack_emulator.token = TOKEN
    specs = fleet_feeds(30, (2.0, 3.0, 4.0, 5.0))
    for n, spec in enumerate(specs):
        publish(feeds, n, spec.path, 1)
    config = watched_fleet(tmp_path, specs, feeds, state_url, slack_emulator)
    fleet = Fleet(config)
    try:
        fleet.start(count)
        wait_until(lambda: len(slack_emulator.messages) >= 30, "the first wave", WAIT)
        for n, spec in enumerate(specs):
            publish(feeds, n, spec.path, 2)
        wait_until(lambda: len(slack_emulator.messages) >= 60, "the second wave", WAIT)
        wait_until(
            lambda: all(feeds.hits(spec.path) >= 3 for spec in specs),
            "three fetches of every feed",
            WAIT,
        )
        for monitor in fleet.alive:
            status, body = fleet.healthz(monitor)
            assert (status, body["database"]["reachable"]) == (200, True), body
        listed = instance_rows(config, tmp_path)
        assert {row["pid"] for row in listed} == {m.process.pid for m in fleet.alive}
        assert not any(row["silent"] for row in listed)
        logs = fleet.stop()
    finally:
        fleet.close()
    assert_each_posted_once(slack_emulator, markers(30, 2))
    assert short_gaps(feeds, specs) == {}, "a feed fetched twice within its interval"
    assert all("poll feed=feed-" in log for log in logs), "every instance polled feeds"
    assert alert_statuses(state_url) == {"sent": 60}


def test_a_process_killed_mid_poll_leaves_its_feeds_to_the_others_at_once(
    tmp_path: Path, state_url: str, feeds: TimedFeedServer, slack_emulator: SlackEmulator
) -> None:
    """The first instance's fetches of two feeds hang at the server; two more
    instances start and poll the rest, leaving those two alone while the
    first holds their leases. SIGKILL the first: the others poll the two
    feeds within seconds, long before their 2-minute lease would end (this
    host sees the process is gone), and every alert is posted once."""
    slack_emulator.token = TOKEN
    specs = fleet_feeds(12, (2.0, 3.0))
    hung = specs[:2]
    for n, spec in enumerate(specs):
        publish(feeds, n, spec.path, 1, delay=HOLD if spec in hung else 0)
    config = watched_fleet(
        tmp_path,
        specs,
        feeds,
        state_url,
        slack_emulator,
        feed_lease="2m",
        fetch_timeout="5m",
    )
    fleet = Fleet(config)
    try:
        (first,) = fleet.start(1)
        wait_until(
            lambda: all(feeds.hits(spec.path) == 1 for spec in hung), "the hung fetches", WAIT
        )
        others = fleet.start(2)
        wait_until(
            lambda: all("poll feed=feed-" in m.log for m in others), "the others polling", WAIT
        )
        holders = lease_holders(state_url, [spec.name for spec in hung])
        assert holders == {spec.name: first.process.pid for spec in hung}
        assert [feeds.hits(spec.path) for spec in hung] == [1, 1], "left to their holder"

        fleet.kill(first)
        for n, spec in enumerate(hung):
            publish(feeds, n, spec.path, 1)  # answered at once from now on
        feeds.release_delays()
        wait_until(
            lambda: all(feeds.hits(spec.path) >= 2 for spec in hung),
            "the killed instance's feeds polled by the others (well within their lease)",
            WAIT,
        )
        wait_until(lambda: len(slack_emulator.messages) >= 12, "every alert", WAIT)
        logs = fleet.stop()
    finally:
        feeds.release_delays()
        fleet.close()
    assert_each_posted_once(slack_emulator, markers(12, 1))
    assert all("stopped; outbox: " in log for log in logs)
    assert alert_statuses(state_url) == {"sent": 12}


def test_a_process_killed_between_slack_accepting_and_recording_a_post_leaves_no_gap_or_double(
    tmp_path: Path, state_url: str, feeds: TimedFeedServer, slack_emulator: SlackEmulator
) -> None:
    """Slack takes the first post and holds its answer; the instance sending
    it is SIGKILLed while it waits. Another takes the alert over at once,
    finds the post in the channel's history instead of posting it again
    (its log says so), and the survivors deliver everything else once."""
    slack_emulator.token = TOKEN
    slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(120))
    specs = fleet_feeds(6, (2.0,))
    for n, spec in enumerate(specs):
        publish(feeds, n, spec.path, 2)
    config = watched_fleet(
        tmp_path,
        specs,
        feeds,
        state_url,
        slack_emulator,
        slack_timeout="60s",  # the sender waits for the held answer until killed
    )
    fleet = Fleet(config)
    try:
        fleet.start(3)
        accepted = slack_emulator.wait_for_messages(1, timeout=WAIT)[0]
        found = re.search(r"k\d\dx\dq", accepted.text)
        assert found is not None, accepted.text
        sender = sender_of(state_url, f"https://news.example/{found[0]}")
        assert sender is not None, "the post is still being sent: Slack has not answered"
        fleet.kill(fleet.by_pid(sender))
        wait_until(lambda: len(slack_emulator.messages) >= 12, "every alert", WAIT)
        wait_until(
            lambda: any("its answer was lost); not posting it again" in m.log for m in fleet.alive),
            "a survivor finding the post in the channel's history",
            WAIT,
        )
        logs = fleet.stop()
    finally:
        slack_emulator.release_delays()
        fleet.close()
    assert_each_posted_once(slack_emulator, markers(6, 2))
    assert len(logs) == 2
    assert alert_statuses(state_url) == {"sent": 12}


def test_posts_to_one_channel_keep_its_pace_whichever_instance_sends_them(
    tmp_path: Path, state_url: str, feeds: TimedFeedServer, slack_emulator: SlackEmulator
) -> None:
    """24 feeds polled by two instances bring an alert each for one channel
    at about the same time: each instance's polls raise some, and the
    emulator saw the posts slack.min_interval (Slack's second) apart."""
    slack_emulator.token = TOKEN
    specs = fleet_feeds(24, (2.0,))
    for n, spec in enumerate(specs):
        publish(feeds, n, spec.path, 0)
    config = watched_fleet(
        tmp_path,
        specs,
        feeds,
        state_url,
        slack_emulator,
        min_interval="1s",
        concurrency=2,
    )
    fleet = Fleet(config)
    try:
        pair = fleet.start(2)
        wait_until(
            lambda: all("poll feed=feed-" in m.log for m in pair), "both instances polling", WAIT
        )
        for n, spec in enumerate(specs):
            publish(feeds, n, spec.path, 1)
        wait_until(lambda: len(slack_emulator.messages) >= 24, "every alert", WAIT)
        logs = fleet.stop()
    finally:
        fleet.close()
    assert_each_posted_once(slack_emulator, markers(24, 1))
    raised = [re.search(r"poll feed=feed-\d+ items=\d+ new=\d+ alerts=[1-9]", log) for log in logs]
    assert all(raised), "each instance's polls raised alerts for the channel"
    stamps = [Decimal(m.ts) for m in slack_emulator.messages_in(CHANNEL)]
    gaps = [float(b - a) for a, b in pairwise(stamps)]
    assert min(gaps) >= 1 - POST_TRIP, f"posts closer than slack.min_interval: {gaps}"
