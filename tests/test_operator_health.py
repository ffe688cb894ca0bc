"""A blind monitor says so: /healthz over real HTTP, `monitor status` exit
codes from a subprocess, and feeds that look stale at their first read
reported once, together, instead of a silent-feed alert each."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.delivery.render import SNIPPET_CHARS, TITLE_CHARS, slack_message
from monitor.domain.feed import FeedState, Incident
from monitor.domain.kinds import IncidentKind
from monitor.domain.ops import FAILING, SILENT
from monitor.domain.severity import Severity
from monitor.pipeline.desk_health import DeskStatus, desk_health
from monitor.pipeline.feed_health import (
    Closing,
    FeedCondition,
    StaleFeed,
    closing_cause,
    feed_conditions,
    looks_stale_at_first_read,
    silent_group_alert,
    silent_together,
    stale_log_line,
    stale_notice,
)
from monitor.server import HealthServer
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.records import FEED_NOW, make_feed_state
from tests.support.run_loop import monitor_run_in_thread
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator
from tests.test_e2e import TOKEN, RunningMonitor, monitor_command, wait_until

OPS = """
[ops]
channel = "#desk-ops"
failing_after = "1h"
silent_min = "1d"
silent_factor = 4
"""
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@contextmanager
def running(config: Path, clock: FakeClock) -> Iterator[Monitor]:
    """The monitor of ``config`` on ``clock``, closed after; a second one on
    the same config is a restart."""
    monitor = build_monitor(load_config(config), clock=clock, sleep=lambda _: None)
    try:
        yield monitor
    finally:
        monitor.close()


def week_old(now: datetime, name: str) -> list[Entry]:
    """Three items a few hours apart, the newest a week old."""
    return [
        Entry(
            f"{name} item {n}",
            link=f"https://news.example/{name}/{n}",
            published=now - timedelta(days=7, hours=3 * n),
        )
        for n in range(3)
    ]


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.pop("SLACK_WEBHOOK_URL", None)
    return env


def monitor_cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = subprocess_env()
    if token is None:
        env.pop("SLACK_BOT_TOKEN", None)
    else:
        env["SLACK_BOT_TOKEN"] = token
    return subprocess.run(
        [*monitor_command(), *args], capture_output=True, text=True, env=env, timeout=120
    )


# --- /healthz over real HTTP ----------------------------------------------------------


@pytest.fixture
def served(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Monitor, str, FakeClock]]:
    """A monitor on two loopback feeds (both failing until a test says
    otherwise), its scheduler marked running, and its real health server."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    for path in ("/a", "/b"):
        feed_server.set(path, "down", status=503)
    config = write_config(
        tmp_path,
        [FeedSpec("a", feed_server.url("/a")), FeedSpec("b", feed_server.url("/b"))],
        extra=OPS,
    )
    clock = FakeClock()
    monitor = build_monitor(load_config(config), clock=clock, jitter=lambda: 0.0)
    monitor.scheduler_running = True
    server = HealthServer(monitor.metrics, monitor.health, port=0).start()
    try:
        yield monitor, f"http://127.0.0.1:{server.port}/healthz", clock
    finally:
        server.stop()
        monitor.close()


def test_healthz_answers_503_with_the_reason_when_every_feed_fails(
    served: tuple[Monitor, str, FakeClock],
) -> None:
    monitor, url, _ = served
    monitor.poll_all()
    answer = httpx.get(url)
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unhealthy"
    assert body["reason"] == "blind: every feed's last poll failed (2 of 2: http 2)"
    assert [(f["feed"], f["kind"], f["failures"]) for f in body["failing_feeds"]] == [
        ("a", "http", 1),
        ("b", "http", 1),
    ]
    assert body["failing_feeds"][0]["error"] == "HTTP 503 Service Unavailable"


def test_healthz_answers_200_listing_the_failing_feeds_when_only_some_fail(
    served: tuple[Monitor, str, FakeClock], feed_server: FeedServer
) -> None:
    monitor, url, clock = served
    feed_server.set("/a", rss([Entry("Markets", link="https://news.example/m")]))
    monitor.poll_all()
    answer = httpx.get(url)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["reason"]) == ("degraded", "1 of 2 feeds failing: b")
    (failing,) = body["failing_feeds"]
    assert failing == {
        "feed": "b",
        "since": clock.now.isoformat(),
        "failures": 1,
        "kind": "http",
        "error": "HTTP 503 Service Unavailable",
    }

    feed_server.set("/b", rss([]))
    monitor.poll_all()
    body = httpx.get(url).json()
    assert (body["status"], body["reason"], body["failing_feeds"]) == ("ok", None, [])


def test_healthz_answers_503_when_no_feed_was_read_within_failing_after_of_the_start(
    served: tuple[Monitor, str, FakeClock],
) -> None:
    _, url, clock = served  # nothing polled: every poll hangs, or none is due yet
    answer = httpx.get(url)
    assert (answer.status_code, answer.json()["status"]) == (200, "starting")
    clock.advance(minutes=59)
    assert httpx.get(url).status_code == 200
    clock.advance(minutes=1)
    answer = httpx.get(url)
    assert answer.status_code == 503
    assert answer.json()["reason"] == (
        "blind: no feed read in the 1 h 00 min since the start (ops.failing_after is 1 h 00 min)"
    )


def test_healthz_answers_503_when_the_scheduler_is_not_running(
    served: tuple[Monitor, str, FakeClock], feed_server: FeedServer
) -> None:
    monitor, url, _ = served
    feed_server.set("/a", rss([]))
    feed_server.set("/b", rss([]))
    monitor.poll_all()
    assert httpx.get(url).status_code == 200
    monitor.scheduler_running = False
    answer = httpx.get(url)
    assert answer.status_code == 503
    assert answer.json()["reason"] == "the scheduler is not running"
    assert answer.json()["scheduler_running"] is False


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_healthz_answers_503_when_the_scheduler_thread_dies_under_monitor_run(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The wiring `monitor run` uses: the real scheduler, the real health
    server. APScheduler's loop dies of an error it does not catch; the
    process goes on, and so must not claim to be healthy."""
    feed_server.set("/a", rss([Entry("Markets", link="https://news.example/m")]))
    config = write_config(tmp_path, [FeedSpec("a", feed_server.url("/a"), interval="1s")])
    with monitor_run_in_thread(config, monkeypatch, caplog) as loop:
        url = f"{loop.base_url}/healthz"
        wait_until(lambda: httpx.get(url).json()["status"] == "ok", "a first good poll")

        loop.kill_scheduler()
        wait_until(lambda: httpx.get(url).status_code == 503, "/healthz to notice")
        body = httpx.get(url).json()
        assert (body["reason"], body["scheduler_running"]) == (
            "the scheduler's thread has died",
            False,
        )
        wait_until(
            lambda: "the scheduler's thread has died: no feed is polled any more" in caplog.text,
            "the log to say so",
        )


@pytest.mark.e2e
def test_monitor_run_serves_503_with_the_reason_once_every_feed_fails(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.token = TOKEN
    feed_server.set("/a", rss([Entry("Markets", link="https://news.example/m")]))
    feed_server.set("/b", "down", status=503)
    config = write_config(
        tmp_path,
        [
            FeedSpec("a", feed_server.url("/a"), interval="1s"),
            FeedSpec("b", feed_server.url("/b"), interval="1s"),
        ],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    monitor = RunningMonitor(config)
    try:
        monitor.wait_for_log("serving /healthz and /metrics on http://")
        port = re.search(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", monitor.log)
        assert port is not None
        url = f"http://127.0.0.1:{port.group(1)}/healthz"

        def failing() -> tuple[int, list[str]]:
            answer = httpx.get(url)
            return answer.status_code, [f["feed"] for f in answer.json()["failing_feeds"]]

        wait_until(lambda: failing() == (200, ["b"]), "200 listing the failing feed")
        feed_server.set("/a", "down", status=500)
        wait_until(lambda: failing()[0] == 503, "503 once every feed fails")
        body = httpx.get(url).json()
        assert body["status"] == "unhealthy"
        assert body["reason"].startswith("blind: every feed's last poll failed (2 of 2: http 2)")
    finally:
        monitor.stop(15)


# --- `monitor status` exit codes ---------------------------------------------------------


@pytest.mark.e2e
def test_status_exits_1_when_feeds_fail_and_0_when_all_are_read(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feeds = [FeedSpec(name, feed_server.url(f"/{name}")) for name in ("a", "b")]
    for name in ("a", "b"):
        feed_server.set(f"/{name}", "down", status=503)
    config = write_config(tmp_path, feeds, extra=OPS)
    assert monitor_cli("once", "--config", str(config)).returncode == 1
    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 1, status.stdout + status.stderr
    assert status.stdout.splitlines()[-1] == "2 feeds, 2 failing, 0 silent"
    assert monitor_cli("status", "--json", "--config", str(config)).returncode == 1

    for name in ("a", "b"):
        feed_server.set(f"/{name}", rss([Entry("Markets", link=f"https://news.example/{name}")]))
    assert monitor_cli("once", "--config", str(config)).returncode == 0
    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.splitlines()[-1] == "2 feeds, 0 failing, 0 silent"


@pytest.mark.e2e
def test_status_exits_1_when_a_feed_is_silent(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    clock = FakeClock(datetime.now(UTC))
    feed_server.set(
        "/quiet", rss([Entry("Item", link="https://news.example/q", published=clock.now)])
    )
    config = write_config(tmp_path, [FeedSpec("quiet", feed_server.url("/quiet"))], extra=OPS)
    monitor = build_monitor(load_config(config), clock=clock)
    try:
        monitor.poll_all()
        clock.advance(days=1, minutes=1)
        monitor.poll_all()
        assert [i.kind for i in monitor.store.open_incidents()] == [SILENT]
    finally:
        monitor.close()
    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 1, status.stdout + status.stderr
    assert " SILENT " in status.stdout
    assert status.stdout.splitlines()[-1] == "1 feed, 0 failing, 1 silent"


# --- feeds stale at their first read ----------------------------------------------------


@pytest.mark.e2e
def test_twenty_new_week_old_feeds_give_one_grouped_notice_on_monitor_once(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    now = datetime.now(UTC)
    names = [f"feed-{n:02d}" for n in range(20)]
    for name in names:
        feed_server.set(f"/{name}", rss(week_old(now, name)))
    config = write_config(
        tmp_path,
        [FeedSpec(name, feed_server.url(f"/{name}")) for name in names],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    once = monitor_cli("once", "--config", str(config), token=slack_emulator.token)
    assert once.returncode == 0, once.stderr

    (notice,) = slack_emulator.messages
    assert notice.channel == "#desk-ops"
    assert "20 new feeds look stale at first read: feed-00, feed-01" in notice.text
    assert "feed silent" not in str(slack_emulator.messages).lower()
    (line,) = [line for line in once.stderr.splitlines() if "look stale at first read (" in line]
    assert "WARNING" in line and "20 new feeds look stale at first read" in line
    assert all(f"{name} (newest item 7 d old, limit 1 d)" in line for name in names)

    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 0, "stale at first read is not silent: nothing judged yet"
    rows = [line for line in status.stdout.splitlines() if line.startswith("feed-")]
    assert len(rows) == 20
    assert all(
        " STALE " in row and "stale at first read: newest item was 7 d old" in row for row in rows
    )
    assert status.stdout.splitlines()[-1] == "20 feeds, 0 failing, 0 silent, 20 stale at first read"

    assert monitor_cli("once", "--config", str(config), token=slack_emulator.token).returncode == 0
    assert len(slack_emulator.messages) == 1, "reported once"


@pytest.mark.e2e
def test_twenty_new_week_old_feeds_give_one_grouped_notice_on_monitor_run(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.token = TOKEN
    now = datetime.now(UTC)
    names = [f"feed-{n:02d}" for n in range(20)]
    for name in names:
        feed_server.set(f"/{name}", rss(week_old(now, name)))
    config = write_config(
        tmp_path,
        [FeedSpec(name, feed_server.url(f"/{name}"), interval="1s") for name in names],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    monitor = RunningMonitor(config)
    try:
        (notice,) = slack_emulator.wait_for_messages(1, timeout=60)
        wait_until(
            lambda: all(feed_server.hits(f"/{name}") >= 3 for name in names),
            "every feed polled twice more",
            timeout=60,
        )
    finally:
        log = monitor.stop(15)
    assert notice.channel == "#desk-ops"
    assert "20 new feeds look stale at first read" in notice.text
    assert len(slack_emulator.messages) == 1, "one grouped notice, no silent-feed alert each"
    assert log.count("look stale at first read (newest item older than") == 1


def test_feeds_polled_one_by_one_are_reported_together_after_the_last_first_poll(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the scheduler polls them: each feed on its own, one failing."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    for name in ("a", "b"):
        feed_server.set(f"/{name}", rss(week_old(clock.now, name)))
    feed_server.set(
        "/fresh", rss([Entry("Now", link="https://news.example/n", published=clock.now)])
    )
    feed_server.set("/down", "down", status=503)
    config = write_config(
        tmp_path,
        [FeedSpec(n, feed_server.url(f"/{n}")) for n in ("a", "fresh", "down", "b")],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    with running(config, clock) as monitor:
        feeds = {feed.name: feed for feed in monitor.config.feeds}
        for name in ("a", "fresh", "down"):
            monitor.poll_feed(feeds[name])
            monitor.deliver_due()
            assert slack_emulator.messages == [], f"feed b has not been read yet ({name})"
        monitor.poll_feed(feeds["b"])
        monitor.deliver_due()
        (notice,) = slack_emulator.messages
        assert "2 new feeds look stale at first read: a, b" in notice.text
        for name in ("a", "b", "fresh"):
            monitor.poll_feed(feeds[name])
        monitor.deliver_due()
        assert len(slack_emulator.messages) == 1


def test_a_stale_feed_alone_watched_longer_than_silent_min_raises_its_own_silent_alert(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    feed_server.set("/old", rss(week_old(clock.now, "old")))
    config = write_config(
        tmp_path,
        [FeedSpec("old", feed_server.url("/old"))],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    with running(config, clock) as monitor:
        monitor.poll_all()
        clock.advance(hours=23, minutes=59)
        monitor.poll_all()
        monitor.deliver_due()
        (notice,) = slack_emulator.messages
        assert "1 new feed looks stale at first read: old" in notice.text
        clock.advance(minutes=1)
        monitor.poll_all()
        monitor.deliver_due()
        _, alert = slack_emulator.messages_in("#desk-ops")
        assert "Feed old has brought nothing new for 8 d" in alert.text
        assert [i.kind for i in monitor.store.open_incidents()] == [SILENT]


def test_a_new_feed_with_fresh_items_still_goes_silent_after_its_limit(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    feed_server.set("/f", rss([Entry("Now", link="https://news.example/n", published=clock.now)]))
    config = write_config(
        tmp_path,
        [FeedSpec("f", feed_server.url("/f"))],
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
    )
    with running(config, clock) as monitor:
        monitor.poll_all()
        monitor.deliver_due()
        assert slack_emulator.messages == [], "fresh at first read: no notice"
        clock.advance(days=1)
        monitor.poll_all()
        monitor.deliver_due()
        (alert,) = slack_emulator.messages
        assert "Feed f has brought nothing new for 1 d" in alert.text


def twenty_week_old_feeds(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator, clock: FakeClock
) -> tuple[Path, list[str]]:
    names = [f"feed-{n:02d}" for n in range(20)]
    for name in names:
        feed_server.set(f"/{name}", rss(week_old(clock.now, name)))
    config = write_config(
        tmp_path,
        [FeedSpec(name, feed_server.url(f"/{name}")) for name in names],
        slack_api_url=slack_emulator.base_url,
        extra=OPS + 'mentions = ["@here"]\n',
    )
    return config, names


def test_twenty_stale_feeds_watched_for_silent_min_go_silent_in_one_message_across_restarts(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock(datetime.now(UTC))  # `monitor status` below reads the real clock
    config, names = twenty_week_old_feeds(tmp_path, feed_server, slack_emulator, clock)

    with running(config, clock) as monitor:
        monitor.poll_all()
        monitor.deliver_due()
    (notice,) = slack_emulator.messages
    assert "20 new feeds look stale at first read" in notice.text

    clock.advance(days=1, minutes=1)
    with running(config, clock) as monitor:  # a restart between the notice and silent_min
        monitor.poll_all()
        monitor.deliver_due()
        _, grouped = slack_emulator.messages_in("#desk-ops")
        assert len(slack_emulator.messages) == 2, "one message for the twenty, not twenty"
        assert "20 feeds silent: feed-00, feed-01, feed-02" in grouped.text
        assert grouped.text.startswith("<!here>"), "the ops mentions, once"
        assert "Feed feed-00 has brought nothing new" not in str(slack_emulator.messages)
        incidents = monitor.store.open_incidents()
        assert sorted(i.feed for i in incidents) == names, "an incident each"
        assert {i.kind for i in incidents} == {SILENT}
        assert monitor.health()[1]["silent_feeds"] == names

    status = monitor_cli("status", "--config", str(config))
    rows = [line for line in status.stdout.splitlines() if line.startswith("feed-")]
    assert status.returncode == 1 and all(" SILENT " in row for row in rows)

    clock.advance(hours=1)
    with running(config, clock) as monitor:  # a restart after the message
        monitor.poll_all()
        monitor.deliver_due()
        assert len(slack_emulator.messages) == 2, "nothing sent again"


def test_stale_feeds_first_read_minutes_apart_go_silent_in_the_same_message(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the scheduler polls them: each feed on its own, the first read of
    a large batch spread over minutes, and the polls a day later too."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    config, names = twenty_week_old_feeds(tmp_path, feed_server, slack_emulator, clock)
    with running(config, clock) as monitor:
        for feed in monitor.config.feeds:
            monitor.poll_feed(feed)
            clock.advance(seconds=30)  # the last first read is 9 min 30 s after the first
        monitor.deliver_due()
        assert len(slack_emulator.messages) == 1, "the stale notice"

        clock.advance(days=1, minutes=-9)  # the first feed has been watched a day; the last not
        for feed in monitor.config.feeds:
            monitor.poll_feed(feed)
            clock.advance(seconds=30)
        monitor.deliver_due()
        _, grouped = slack_emulator.messages_in("#desk-ops")
        assert len(slack_emulator.messages) == 2
        assert grouped.text.startswith("<!here>")
        assert "20 feeds silent: feed-00, feed-01" in grouped.text
        assert sorted(i.feed for i in monitor.store.open_incidents()) == names


def test_one_feed_going_silent_among_feeds_that_publish_gets_its_own_alert(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    names = ["a", "b", "quiet"]
    for name in names:
        feed_server.set(
            f"/{name}", rss([Entry(name, link=f"https://news.example/{name}", published=clock.now)])
        )
    config = write_config(
        tmp_path,
        [FeedSpec(name, feed_server.url(f"/{name}")) for name in names],
        slack_api_url=slack_emulator.base_url,
        extra=OPS + 'mentions = ["@here"]\n',
    )
    with running(config, clock) as monitor:
        monitor.poll_all()
        for hour in range(1, 26):
            clock.advance(hours=1)
            for name in ("a", "b"):  # they publish every hour; quiet does not
                entry = Entry(
                    f"{name} {hour}",
                    link=f"https://news.example/{name}/{hour}",
                    published=clock.now,
                )
                feed_server.set(f"/{name}", rss([entry]))
            monitor.poll_all()
        monitor.deliver_due()
        (alert,) = slack_emulator.messages_in("#desk-ops")
        assert alert.text.startswith("<!here>")
        assert "Feed quiet has brought nothing new for 1 d" in alert.text
        assert "feeds silent" not in alert.text
        assert [(i.feed, i.kind) for i in monitor.store.open_incidents()] == [("quiet", SILENT)]


@pytest.mark.parametrize(
    ("start", "change", "expected"),
    [
        (
            SILENT,  # 12 h between items: silent after 4 x 12 h = 2 d, then after 10 x 12 h
            ("silent_factor = 4", "silent_factor = 10"),
            "Feed f is no longer counted as silent (its limit is now 5 d); "
            "it has still brought nothing new for 2 d",
        ),
        (
            FAILING,
            ('failing_after = "1h"', 'failing_after = "3h"'),
            "Feed f is no longer counted as failing (its limit is now 3 h 00 min); "
            "it has still been failing for 1 h 20 min",
        ),
    ],
)
def test_a_limit_change_closing_an_incident_does_not_claim_a_recovery(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    start: str,
    change: tuple[str, str],
    expected: str,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    clock = FakeClock()
    twelve_hourly = [
        Entry(f"item {n}", link=f"https://news.example/{n}", published=clock.now - 12 * n * HOUR)
        for n in range(6)
    ]
    feed_server.set("/f", rss(twelve_hourly))
    feeds = [FeedSpec("f", feed_server.url("/f"))]
    config = write_config(tmp_path, feeds, slack_api_url=slack_emulator.base_url, extra=OPS)
    with running(config, clock) as monitor:
        monitor.poll_all()
        if start == SILENT:
            clock.advance(days=2, minutes=1)
        else:
            feed_server.set("/f", "down", status=503)
            monitor.poll_all()
            clock.advance(hours=1, minutes=1)
        monitor.poll_all()
        monitor.deliver_due()
        assert [i.kind for i in monitor.store.open_incidents()] == [start]

        write_config(
            tmp_path, feeds, slack_api_url=slack_emulator.base_url, extra=OPS.replace(*change)
        )
        monitor.reload_config()
        assert monitor.reload_config() is not None, "the changed config settled and applied"
        clock.advance(minutes=19)
        monitor.poll_all()
        monitor.deliver_due()
        _, closed = slack_emulator.messages_in("#desk-ops")
        assert expected in closed.text
        assert "brings new items again" not in closed.text
        assert "is back after" not in closed.text
        assert monitor.store.open_incidents() == []


def test_spans_under_a_minute_read_in_seconds_in_healthz_and_in_ops_alerts(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    feed_server.set("/a", "down", status=503)
    config = write_config(
        tmp_path,
        [FeedSpec("a", feed_server.url("/a"))],
        slack_api_url=slack_emulator.base_url,
        extra=OPS.replace('failing_after = "1h"', 'failing_after = "20s"'),
    )
    clock = FakeClock()
    monitor = build_monitor(load_config(config), clock=clock, sleep=lambda _: None)
    monitor.scheduler_running = True
    server = HealthServer(monitor.metrics, monitor.health, port=0).start()
    try:
        clock.advance(seconds=25)
        answer = httpx.get(f"http://127.0.0.1:{server.port}/healthz")
        assert answer.status_code == 503
        assert answer.json()["reason"] == (
            "blind: no feed read in the 25 s since the start (ops.failing_after is 20 s)"
        )
        monitor.poll_all()
        clock.advance(seconds=21)
        monitor.poll_all()
        monitor.deliver_due()
        (alert,) = slack_emulator.messages_in("#desk-ops")
        assert "Feed a has been failing for 21 s: the desk is blind to it" in alert.text
    finally:
        server.stop()
        monitor.close()


def move_back(database: Path, feed: str, by: timedelta, *columns: str) -> None:
    """What a monitor that stopped polling leaves: the feed's times in the past."""
    when = (datetime.now(UTC) - by).isoformat(timespec="microseconds")
    with sqlite3.connect(database) as db:
        for column in columns:
            db.execute(f"UPDATE feeds SET {column} = ? WHERE name = ?", (when, feed))


@pytest.mark.e2e
def test_status_shows_overdue_and_exits_1_when_nobody_polls_a_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    for name in ("a", "b"):
        feed_server.set(f"/{name}", rss([Entry("Markets", link=f"https://news.example/{name}")]))
    config = write_config(
        tmp_path, [FeedSpec(name, feed_server.url(f"/{name}")) for name in ("a", "b")], extra=OPS
    )
    assert monitor_cli("once", "--config", str(config)).returncode == 0
    database = tmp_path / "state" / "monitor.db"
    move_back(database, "a", 2 * DAY, "next_poll_at", "last_success_at", "last_polled_at")
    move_back(database, "b", timedelta(minutes=1), "next_poll_at")  # merely due now

    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 1, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    (a,) = [line for line in lines if line.startswith("a ")]
    (b,) = [line for line in lines if line.startswith("b ")]
    assert " OVERDUE " in a and " overdue " in a
    assert "poll due 2 d ago: is monitor run running?" in a
    assert " ok " in b and " due " in b, "a poll due now is no sign of a stopped monitor"
    assert lines[-1] == "2 feeds, 0 failing, 0 silent, 1 overdue"
    assert "1 feed not polled for longer than max(ops.failing_after, 3 x its interval): " in (
        status.stderr
    )
    assert "is `monitor run` running?" in status.stderr

    as_json = monitor_cli("status", "--json", "--config", str(config))
    assert as_json.returncode == 1
    rows = {row["feed"]: row for row in map(json.loads, as_json.stdout.splitlines())}
    assert (rows["a"]["state"], rows["a"]["overdue"]) == ("OVERDUE", True)
    assert (rows["b"]["state"], rows["b"]["overdue"]) == ("ok", False)

    move_back(database, "a", timedelta(minutes=50), "next_poll_at")  # within ops.failing_after
    status = monitor_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.splitlines()[-1] == "2 feeds, 0 failing, 0 silent"


# --- the pure decisions -------------------------------------------------------------------

NOW = FEED_NOW


feed = make_feed_state


def silent_kinds(state: FeedState, silent_after: timedelta = DAY) -> list[str]:
    return [
        c.kind
        for c in feed_conditions(
            state, now=NOW, failing_after=HOUR, silent_after=silent_after, silent_min=DAY
        )
    ]


def test_silence_is_judged_only_after_silent_min_of_watching() -> None:
    week_ago = NOW - 7 * DAY
    assert silent_kinds(feed(first_success_at=NOW, last_item_at=week_ago)) == []
    assert silent_kinds(feed(first_success_at=NOW - DAY + HOUR, last_item_at=week_ago)) == []
    assert silent_kinds(feed(first_success_at=NOW - DAY, last_item_at=week_ago)) == [SILENT]
    assert silent_kinds(feed(first_success_at=None, last_item_at=week_ago)) == []


def test_a_feeds_own_shorter_silent_limit_is_also_its_watch_time() -> None:
    state = feed(first_success_at=NOW - 3 * HOUR, last_item_at=NOW - 5 * HOUR)
    assert silent_kinds(state, silent_after=2 * HOUR) == [SILENT]


def test_stale_at_first_read_means_the_newest_item_was_past_the_limit_then() -> None:
    first = NOW - HOUR
    assert looks_stale_at_first_read(first, first - 7 * DAY, DAY)
    assert not looks_stale_at_first_read(first, first - 23 * HOUR, DAY)
    assert not looks_stale_at_first_read(first, NOW, DAY), "a new item since: not stale"
    assert not looks_stale_at_first_read(None, first - 7 * DAY, DAY)


@pytest.mark.parametrize(
    ("kind", "state", "cause"),
    [
        (FAILING, feed(), Closing.RECOVERED),
        (FAILING, feed(failing_since=NOW - HOUR, consecutive_failures=3), Closing.WITHDRAWN),
        (SILENT, feed(last_item_at=NOW - HOUR), Closing.RECOVERED),
        (SILENT, feed(last_item_at=NOW - 3 * DAY), Closing.WITHDRAWN),
    ],
)
def test_an_incident_recovers_only_when_the_feed_does(
    kind: IncidentKind, state: FeedState, cause: Closing
) -> None:
    incident = Incident(1, "wire", kind, NOW - 3 * DAY, "detail", NOW - DAY)
    assert closing_cause(incident, state) is cause


def verdict(
    states: dict[str, FeedState] | None,
    *,
    last_success: datetime | None = NOW,
    started_at: datetime = NOW - DAY,
    scheduler_problem: str | None = None,
    state_problem: str | None = None,
) -> tuple[DeskStatus, str | None]:
    health = desk_health(
        ["a", "b"],
        states,
        now=NOW,
        started_at=started_at,
        last_success=last_success,
        failing_after=HOUR,
        scheduler_problem=scheduler_problem,
        state_problem=state_problem,
    )
    assert health.healthy is (health.status is not DeskStatus.UNHEALTHY)
    return health.status, health.reason


def test_the_desk_health_verdicts() -> None:
    down = {"consecutive_failures": 2, "failing_since": NOW - HOUR, "last_error_kind": "timeout"}
    ok = {"a": feed(name="a"), "b": feed(name="b")}
    assert verdict(ok) == (DeskStatus.OK, None)
    assert verdict({"a": feed(name="a", **down)}) == (
        DeskStatus.DEGRADED,
        "1 of 2 feeds failing: a",
    ), "b never polled: not every feed failed"
    assert verdict({"a": feed(name="a", **down), "b": feed(name="b", **down)}) == (
        DeskStatus.UNHEALTHY,
        "blind: every feed's last poll failed (2 of 2: timeout 2)",
    )
    silent = feed(name="b", open_incidents=frozenset({SILENT}))
    assert verdict({"a": ok["a"], "b": silent}) == (DeskStatus.DEGRADED, "1 silent: b")
    assert verdict(ok, last_success=None, started_at=NOW - HOUR + timedelta(seconds=1)) == (
        DeskStatus.STARTING,
        "no feed read yet since the start",
    )
    assert verdict(ok, scheduler_problem="the scheduler has stopped") == (
        DeskStatus.UNHEALTHY,
        "the scheduler has stopped",
    )
    assert verdict(None, state_problem="disk I/O error") == (
        DeskStatus.UNHEALTHY,
        "the state database cannot be read: disk I/O error",
    )


def test_a_notice_about_182_stale_feeds_names_what_fits_and_how_many_more() -> None:
    names = [f"realworld-feed-{n:03d}" for n in range(182)]
    stale = [StaleFeed(name, NOW - 7 * DAY, DAY) for name in names]
    notice = stale_notice(stale, now=NOW, silent_min=DAY)
    heading = "182 new feeds look stale at first read: realworld-feed-000, realworld-feed-001, "
    assert notice.title.startswith(heading)
    cut = re.fullmatch(r"[^:]+: (.*) …and (\d+) more \(see monitor status\)", notice.title)
    assert cut is not None, notice.title
    shown, more = cut.groups()
    assert len(shown.split(", ")) + int(more) == 182
    assert len(notice.title) <= TITLE_CHARS
    assert notice.summary.endswith("more (see monitor status)")
    assert len(notice.summary) <= SNIPPET_CHARS
    message = slack_message(notice, now=NOW)
    assert f"…and {more} more (see monitor status)*" in message.blocks[1]["text"]["text"], (
        "Slack shows the whole title: nothing cut after the count"
    )
    log_line = stale_log_line(stale, now=NOW, silent_min=DAY)
    assert all(name in log_line for name in names), "the log lists every one"


def test_a_grouped_silent_message_names_what_fits_and_how_many_more() -> None:
    silent = [
        (f"realworld-feed-{n:03d}", FeedCondition(SILENT, NOW - 8 * DAY, "detail", DAY))
        for n in range(182)
    ]
    alert = silent_group_alert(silent, NOW)
    assert (alert.rule_id, alert.severity) == ("ops.feed-silent", Severity.WARNING)
    assert alert.title.startswith("182 feeds silent: realworld-feed-000, realworld-feed-001, ")
    assert alert.title.endswith("more (see monitor status)") and len(alert.title) <= TITLE_CHARS
    assert alert.summary.startswith(
        "Each has brought nothing new for longer than expected: "
        "realworld-feed-000 (nothing new for 8 d, limit 1 d), "
    )
    assert alert.summary.endswith("more (see monitor status)")
    assert len(alert.summary) <= SNIPPET_CHARS
    few = silent_group_alert(silent[:3], NOW)
    assert few.title == "3 feeds silent: realworld-feed-000, realworld-feed-001, realworld-feed-002"


def test_feeds_go_silent_together_only_when_their_items_are_old_enough() -> None:
    def candidate(name: str, **changes: object) -> tuple[FeedState, timedelta]:
        return feed(name=name, **changes), DAY

    week_ago = NOW - 7 * DAY
    together = silent_together(
        [
            candidate("silent-now", last_item_at=NOW - 2 * DAY),
            candidate(
                "stale-read-20-min-later",
                first_success_at=NOW - DAY + 20 * MINUTE,
                last_item_at=week_ago,
            ),
            candidate(
                "stale-read-an-hour-later", first_success_at=NOW - DAY + HOUR, last_item_at=week_ago
            ),
            candidate("silent-in-10-min", last_item_at=NOW - DAY + 10 * MINUTE),
            candidate("already-open", last_item_at=week_ago, open_incidents=frozenset({SILENT})),
            candidate("failing", last_item_at=week_ago, failing_since=NOW - 2 * HOUR),
        ],
        now=NOW,
        failing_after=HOUR,
        silent_min=DAY,
    )
    assert [name for name, _ in together] == ["silent-now", "stale-read-20-min-later"]
