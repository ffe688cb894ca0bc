"""Monitors built in-process for tests: on one state database, paced by a
fake clock, posting to the Slack emulator (the ``make_monitor`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.setup import SHIPPED_RULES, FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator

TOKEN = "xoxb-test-token"


class FakePacing:
    """Monotonic time that only moves when the monitor sleeps: pacing without wall-clock waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class MonitorMaker:
    """Builds monitors on one state database, as restarts of the same process would."""

    def __init__(
        self, tmp_path: Path, feed_server: FeedServer, slack_api_url: str, clock: FakeClock
    ) -> None:
        self.tmp_path = tmp_path
        self.feed_server = feed_server
        self.slack_api_url = slack_api_url
        self.clock = clock
        self.pacing = FakePacing()  # the fake clock every monitor paces by
        self.built: list[Monitor] = []

    def __call__(
        self,
        feeds: list[FeedSpec] | None = None,
        api_url: str | None = None,
        extra: str = "",
        slack_extra: str = "",
        stories: str = "hold = {}",
        rules_dir: Path | None = None,
        rules_extra: str = "",
    ) -> Monitor:
        """A monitor polling ``feeds`` (by default one, "news"), posting to
        ``api_url``; ``stories``: its [stories] table (by default nothing is
        held); ``rules_dir``: its rules (by default the shipped ones), and
        ``rules_extra`` more of its [rules] table."""
        specs = feeds or [FeedSpec("news", self.feed_server.url("/news"))]
        path = write_config(
            self.tmp_path,
            specs,
            slack_api_url=api_url or self.slack_api_url,
            extra=extra,
            slack_extra=slack_extra,
            stories=stories,
            rules_extra=rules_extra,
            rules_dir=rules_dir if rules_dir is not None else SHIPPED_RULES,
        )
        monitor = build_monitor(
            load_config(path),
            clock=self.clock,
            jitter=lambda: 0.5,
            sleep=self.pacing.sleep,
            monotonic=self.pacing.monotonic,
        )
        self.built.append(monitor)
        return monitor

    def close(self) -> None:
        """Close every monitor built."""
        for monitor in self.built:
            monitor.close()


@pytest.fixture
def make_monitor(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MonitorMaker]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    maker = MonitorMaker(tmp_path, feed_server, slack_emulator.base_url, clock)
    yield maker
    maker.close()
