"""Signals to `monitor run`: SIGTERM finishes the polls under way and drops
the queue (the next start polls those feeds); SIGHUP reloads config and
rules at once and the monitor keeps running."""

from __future__ import annotations

import re
import signal
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.held_server import HOLD, HeldFeedServer, fetch_settings
from tests.support.setup import FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator
from tests.test_e2e import TOKEN, RunningMonitor, wait_until

pytestmark = pytest.mark.e2e

FEEDS = 20
UNDER_WAY = 2
"""fetch.concurrency and fetch.per_host: the polls a stop lets finish."""


def polls_waiting(monitor: RunningMonitor) -> float | None:
    """monitor_polls_waiting on the running monitor's /metrics."""
    port = re.search(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/", monitor.log)
    if port is None:
        return None
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    value = re.search(r"^monitor_polls_waiting (\S+)$", metrics, re.M)
    return float(value.group(1)) if value else None


def test_a_stop_finishes_the_polls_under_way_drops_the_queue_and_the_next_start_polls_it(
    tmp_path: Path,
) -> None:
    """SIGTERM with 2 polls under way (held by the server) and 2 more claimed
    and queued behind them (an instance claims twice its threads): the log
    says the 2 queued were dropped, their leases released, the monitor
    exits once the 2 under way end (the feed server saw 2 fetches, not 20),
    and the next start polls the other 18 feeds at once."""
    with HeldFeedServer() as server:
        feeds = [
            FeedSpec(f"feed-{n}", server.url(f"/feed-{n}"), interval="1h") for n in range(FEEDS)
        ]
        for feed in feeds:
            server.set(f"/{feed.name}", rss([]), delay=HOLD)
        config = write_config(tmp_path, feeds)
        config.write_text(
            fetch_settings(
                config.read_text(),
                f'concurrency = {UNDER_WAY}\nper_host = {UNDER_WAY}\ntimeout = "60s"',
            ),
            encoding="utf-8",
        )
        monitor = RunningMonitor(config, token=None)
        try:
            server.wait_for_in_flight(UNDER_WAY)
            wait_until(
                lambda: polls_waiting(monitor) == UNDER_WAY,
                f"{UNDER_WAY} polls queued behind the held ones (monitor_polls_waiting)",
            )
            monitor.process.send_signal(signal.SIGTERM)
            monitor.wait_for_log(f"stopping: dropped {UNDER_WAY} queued polls")
            server.release_delays()  # the polls under way end
            err = monitor.stop(signal.SIGTERM)
        finally:
            server.release_delays()
            if monitor.process.poll() is None:
                monitor.kill()
        assert len(server.requests) == UNDER_WAY, (
            f"a stop ran the queued polls too: {len(server.requests)} fetches"
        )
        assert "their feeds are polled at the next start" in err
        assert "stopped; outbox: " in err

        restarted = RunningMonitor(config, token=None)
        try:
            wait_until(
                lambda: all(server.hits(f"/{feed.name}") for feed in feeds),
                "the dropped feeds to be polled after the restart",
            )
        finally:
            restarted.stop(signal.SIGTERM)


@pytest.mark.skipif(sys.platform == "win32", reason="there is no SIGHUP on Windows")
def test_sighup_reloads_config_and_rules_at_once_and_the_monitor_keeps_running(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """With the periodic reload an hour away, SIGHUP applies a changed rule
    and an added feed at once, saying so in the log; a SIGHUP with nothing
    changed says that; the process runs on and stops cleanly."""
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "watch.yaml"
    rule.write_text(
        "id: watch\ntitle: Watch\nseverity: info\nmatch:\n  any: [alpha]\n", encoding="utf-8"
    )
    feed_server.set("/news", rss([]))
    feed_server.set("/extra", rss([]))
    news = FeedSpec("news", feed_server.url("/news"), interval="1s")
    extra = FeedSpec("extra", feed_server.url("/extra"), interval="1s")

    def configure(feeds: list[FeedSpec]) -> Path:
        config = write_config(
            tmp_path, feeds, slack_api_url=slack_emulator.base_url, rules_dir=rules
        )
        text = config.read_text(encoding="utf-8")
        assert 'reload_interval = "1s"' in text
        config.write_text(text.replace('reload_interval = "1s"', 'reload_interval = "1h"'))
        return config

    config = configure([news])
    slack_emulator.token = TOKEN
    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: feed_server.hits("/news") >= 2, "the baseline poll")
        rule.write_text(
            "id: watch\ntitle: Watch\nseverity: info\nmatch:\n  any: [beta]\n", encoding="utf-8"
        )
        configure([news, extra])
        monitor.process.send_signal(signal.SIGHUP)
        monitor.wait_for_log("SIGHUP: reloading config and rules now")
        monitor.wait_for_log("rules reloaded: 1 rules")
        monitor.wait_for_log("config reloaded: 2 feeds; added: extra")
        wait_until(lambda: feed_server.hits("/extra") >= 1, "a poll of the added feed")
        feed_server.set(
            "/news",
            rss(
                [Entry("Beta headline", link="https://news.example/b", published=datetime.now(UTC))]
            ),
        )
        (message,) = slack_emulator.wait_for_messages(1, timeout=30)
        assert "Beta headline" in message.text, "the new rule is in effect"

        monitor.process.send_signal(signal.SIGHUP)
        monitor.wait_for_log("SIGHUP: no new config or rules to apply; running as before")
        assert monitor.process.poll() is None, "SIGHUP does not stop the monitor"
    finally:
        err = monitor.stop(signal.SIGTERM)
    assert err.count("SIGHUP: reloading config and rules now") == 2
