"""End to end: the real `monitor run` process against a loopback feed server
and the local Slack emulator, stopped and restarted like a deployment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.e2e

TOKEN = "xoxb-e2e-secret-token-value"


def monitor_command() -> list[str]:
    script = shutil.which("monitor", path=str(Path(sys.executable).parent)) or shutil.which(
        "monitor"
    )
    return [script] if script else [sys.executable, "-m", "monitor"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for an event (not a timed assertion: the limit only catches a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["SLACK_BOT_TOKEN"] = TOKEN
    return subprocess.Popen(
        [*monitor_command(), "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop(process: subprocess.Popen[str], sig: int) -> tuple[str, str]:
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"monitor did not stop on signal {sig}:\n{err}") from None
    assert process.returncode == 0, err
    return out, err


def story(n: int, published: datetime) -> Entry:
    return Entry(
        f"North Korean soldiers captured in combat in Kursk region, Ukraine says ({n})",
        link=f"https://news.example/pow-{n}",
        guid=f"https://news.example/pow-{n}",
        published=published,
    )


def test_run_alerts_once_per_new_matching_item_across_restarts(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.token = TOKEN
    now = datetime.now(UTC)
    backlog = [
        story(1, now - timedelta(days=2)),
        Entry("Markets today", link="https://news.example/m"),
    ]
    feed_server.set("/news", rss(backlog))
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=slack_emulator.base_url,
    )

    process = start(config)
    try:
        wait_until(
            lambda: feed_server.hits("/news") >= 2, "the first two polls (baseline committed)"
        )
        assert slack_emulator.messages == [], "the backlog of a new feed is baselined silently"

        feed_server.set(
            "/news",
            rss(
                [
                    story(2, datetime.now(UTC)),
                    Entry("Weather", link="https://news.example/w"),
                    *backlog,
                ]
            ),
        )
        (message,) = slack_emulator.wait_for_messages(1, timeout=30)
        assert message.channel == "#watch-desk" and "(2)" in message.text
        polls = feed_server.hits("/news")
        wait_until(lambda: feed_server.hits("/news") >= polls + 2, "two more polls")
        assert len(slack_emulator.messages) == 1, "exactly one message per matching item"
    finally:
        _, err = stop(process, signal.SIGTERM)
    assert "stopping: waiting for running polls and deliveries to finish" in err
    assert TOKEN not in err

    process = start(config)
    try:
        polls = feed_server.hits("/news")
        wait_until(lambda: feed_server.hits("/news") >= polls + 2, "two polls after the restart")
        assert len(slack_emulator.messages) == 1, "a restart does not re-alert"
        feed_server.set("/news", rss([story(3, datetime.now(UTC)), story(2, now), *backlog]))
        messages = slack_emulator.wait_for_messages(2, timeout=30)
        assert "(3)" in messages[1].text
    finally:
        _, err = stop(process, signal.SIGINT)
    assert "poll feed=news items=" in err
    assert TOKEN not in err
