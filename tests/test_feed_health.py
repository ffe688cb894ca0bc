"""Feed health: failing feeds back off and recover, and `monitor status` shows it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FakeClock, FeedSpec, write_config


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    feed_server.set("/good", rss([Entry("Markets", link="https://x.example/1")]))
    feed_server.set("/bad", "down", status=503)
    return write_config(
        tmp_path,
        [FeedSpec("good", feed_server.url("/good")), FeedSpec("bad", feed_server.url("/bad"))],
    )


def test_a_failing_feed_backs_off_and_returns_to_its_interval_on_success(
    config: Path, feed_server: FeedServer
) -> None:
    clock = FakeClock()
    monitor = build_monitor(load_config(config), clock=clock, jitter=lambda: 0.0)
    bad = next(f for f in monitor.config.feeds if f.name == "bad")

    def next_poll() -> object:
        report = monitor.poll_feed(bad)
        state = monitor.store.feed_state("bad")
        assert state is not None and state.next_poll_at == report.next_poll_at, (
            "the next poll is in the state, where every instance's claims read it"
        )
        return report.next_poll_at

    try:
        assert [next_poll() for _ in range(3)] == [
            clock.now + timedelta(minutes=10),
            clock.now + timedelta(minutes=20),
            clock.now + timedelta(minutes=40),
        ]
        feed_server.set("/bad", rss([]))
        assert next_poll() == clock.now + timedelta(minutes=5), (
            "a success goes back to the plain interval"
        )
        state = monitor.store.feed_state("bad")
        assert state is not None and state.consecutive_failures == 0
        assert state.next_poll_at == clock.now + timedelta(minutes=5)
    finally:
        monitor.close()


def test_status_shows_each_feeds_health(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["once", "--config", str(config)])
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 1, "a feed is failing"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FEED")
    good = next(line for line in out if line.startswith("good "))
    bad = next(line for line in out if line.startswith("bad "))
    assert " ok " in good and " FAILING " in bad
    assert "http: HTTP 503 Service Unavailable" in bad
    assert out[-1] == "2 feeds, 1 failing, 0 silent"
    assert "   5m " in good, "the interval each feed is polled at"

    assert main(["status", "--json", "--config", str(config)]) == 1
    rows = {row["feed"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["bad"]["consecutive_failures"] == 1 and rows["bad"]["last_error_kind"] == "http"
    assert rows["good"]["items_seen"] == 1 and rows["good"]["state"] == "ok"
    assert rows["bad"]["next_poll"] is not None
    assert rows["bad"]["failing_since"] is not None and rows["good"]["failing_since"] is None
    assert rows["good"]["interval_seconds"] == 300 and rows["good"]["open_incidents"] == []
    assert rows["good"]["last_new_item"] is not None


@pytest.mark.parametrize(
    ("headers", "body", "status", "minutes"),
    [
        ({"Retry-After": "1800"}, "slow down", 429, 30),
        ({"Cache-Control": "public, max-age=1200"}, None, 200, 20),
        ({}, "ttl", 200, 45),
        ({"Retry-After": "86400"}, "slow down", 429, 60),  # capped at polling.max_backoff
        ({"Cache-Control": "max-age=60"}, None, 200, 5),  # never sooner than the interval
    ],
)
def test_the_server_can_ask_for_a_longer_wait(
    config: Path,
    feed_server: FeedServer,
    headers: dict[str, str],
    body: str | None,
    status: int,
    minutes: int,
) -> None:
    text = body if body not in (None, "ttl") else rss([])
    if body == "ttl":
        text = rss([]).replace(
            "<description>d</description>", "<description>d</description><ttl>45</ttl>"
        )
    feed_server.set("/good", text, status=status, headers=headers)
    clock = FakeClock()
    monitor = build_monitor(load_config(config), clock=clock, jitter=lambda: 0.0)
    good = next(f for f in monitor.config.feeds if f.name == "good")
    try:
        report = monitor.poll_feed(good)
        assert report.next_poll_at == clock.now + timedelta(minutes=minutes)
    finally:
        monitor.close()
