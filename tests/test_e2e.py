"""End to end: the real `monitor run` process against a loopback feed server
and the local Slack emulator, stopped and restarted like a deployment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, write_config
from tests.support.slack_emulator import Fault, SlackEmulator

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


class RunningMonitor:
    """The `monitor run` process, with its log read as it is written, so that
    a test can wait for a log line instead of sleeping."""

    def __init__(
        self, config: Path, *, token: str | None = TOKEN, own_session: bool = False
    ) -> None:
        """``token``: the Slack token (None: none, alerts go to the console);
        ``own_session``: a process group of its own, as a shell runs a job."""
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.pop("SLACK_WEBHOOK_URL", None)
        env.pop("SLACK_BOT_TOKEN", None)
        if token is not None:
            env["SLACK_BOT_TOKEN"] = token
        self.process = subprocess.Popen(
            [*monitor_command(), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=own_session,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self._lines)

    def wait_for_log(self, text: str) -> None:
        wait_until(lambda: text in self.log, f"the log line {text!r}")

    def kill(self) -> None:
        """SIGKILL, then read the log to its end: the parser processes hold
        the log pipe open until they notice the monitor is gone (within
        PARENT_CHECK_SECONDS), and closing it under the reader would fail it."""
        self.process.kill()
        self.process.wait()
        self._reader.join(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self, sig: int) -> str:
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"monitor did not stop on signal {sig}:\n{self.log}") from None
        self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        assert self.process.returncode == 0, self.log
        return self.log


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

    monitor = RunningMonitor(config)
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
        err = monitor.stop(signal.SIGTERM)
    assert "stopping: waiting for running polls and deliveries to finish" in err
    assert TOKEN not in err

    monitor = RunningMonitor(config)
    try:
        polls = feed_server.hits("/news")
        wait_until(lambda: feed_server.hits("/news") >= polls + 2, "two polls after the restart")
        assert len(slack_emulator.messages) == 1, "a restart does not re-alert"
        feed_server.set("/news", rss([story(3, datetime.now(UTC)), story(2, now), *backlog]))
        messages = slack_emulator.wait_for_messages(2, timeout=30)
        assert "(3)" in messages[1].text
    finally:
        err = monitor.stop(signal.SIGINT)
    assert "poll feed=news items=" in err
    assert TOKEN not in err


def test_run_reloads_changed_rules_and_refuses_broken_ones(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "watch.yaml"
    rule.write_text(
        "id: watch\ntitle: Watch\nseverity: info\nmatch:\n  any: [alpha]\n", encoding="utf-8"
    )
    feed_server.set("/news", rss([]))
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=slack_emulator.base_url,
        rules_dir=rules,
    )
    slack_emulator.token = TOKEN
    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: feed_server.hits("/news") >= 2, "the baseline poll")
        rule.write_text(
            "id: watch\ntitle: Watch\nseverity: info\nmatch:\n  any: [beta]\n", encoding="utf-8"
        )
        monitor.wait_for_log("rules reloaded: 1 rules")
        feed_server.set(
            "/news",
            rss(
                [Entry("Beta headline", link="https://news.example/b", published=datetime.now(UTC))]
            ),
        )
        (message,) = slack_emulator.wait_for_messages(1, timeout=30)
        assert "Beta headline" in message.text, "the reloaded rule alerted without a restart"

        rule.write_text(
            "id: watch\ntitle: Watch\nserverity: info\nmatch:\n  any: [gamma]\n", encoding="utf-8"
        )
        monitor.wait_for_log("but are invalid; still running")
        feed_server.set(
            "/news",
            rss([Entry("Beta again", link="https://news.example/b2", published=datetime.now(UTC))]),
        )
        messages = slack_emulator.wait_for_messages(2, timeout=30)
        assert "Beta again" in messages[1].text, "the last good rules keep running"
    finally:
        err = monitor.stop(signal.SIGTERM)
    assert "rules reloaded: 1 rules" in err
    assert "but are invalid; still running the previous 1 rules" in err
    assert "watch.yaml:3: unknown key 'serverity' (did you mean 'severity'?)" in err


def test_killed_between_slack_accepting_and_recording_then_restarted(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """The documented window: Slack has the post, the outbox does not know.
    After the claim lease the restarted monitor finds the post in the channel
    history instead of sending it again, and delivers everything else."""
    slack_emulator.token = TOKEN
    feed_server.set("/news", rss([]))
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"), interval="1s")],
        slack_api_url=slack_emulator.base_url,
        extra='claim_lease = "2s"',
    )
    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: feed_server.hits("/news") >= 2, "the baseline poll")
        slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(60))
        feed_server.set("/news", rss([story(7, datetime.now(UTC)), story(8, datetime.now(UTC))]))
        slack_emulator.wait_for_messages(1, timeout=30)
    finally:
        monitor.kill()  # SIGKILL: no chance to record anything

    restarted = RunningMonitor(config)
    try:
        restarted.wait_for_log("its answer was lost); not posting it again")
        wait_until(lambda: len(slack_emulator.messages) >= 2, "the second alert")
    finally:
        err = restarted.stop(signal.SIGTERM)
    titles = sorted(m.text for m in slack_emulator.messages)
    assert len(titles) == 2 and len(set(titles)) == 2, "each alert exactly once"
    assert "(7)" in titles[0] + titles[1] and "(8)" in titles[0] + titles[1]
    assert "outbox: 0 pending, 0 failed" in err


def test_run_picks_up_feeds_added_and_removed_in_config_without_a_restart(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    for path in ("/old", "/new"):
        feed_server.set(path, rss([]))
    old = FeedSpec("old", feed_server.url("/old"), interval="1s")
    new = FeedSpec("new", feed_server.url("/new"), interval="1s")
    config = write_config(tmp_path, [old], slack_api_url=slack_emulator.base_url)
    slack_emulator.token = TOKEN
    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: feed_server.hits("/old") >= 2, "polls of the first feed")
        write_config(tmp_path, [new], slack_api_url=slack_emulator.base_url)
        monitor.wait_for_log("config reloaded: 1 feed; added: new; removed: old")
        wait_until(lambda: feed_server.hits("/new") >= 2, "polls of the added feed")
        hits_after_removal = feed_server.hits("/old")
        # Polled every second before: three more seconds of polls of the
        # new feed, and the old one is not polled again.
        after = feed_server.hits("/new")
        wait_until(lambda: feed_server.hits("/new") >= after + 3, "more polls of the added feed")
        assert (
            feed_server.hits("/old") <= hits_after_removal + 1
        )  # one poll may have been under way
    finally:
        err = monitor.stop(signal.SIGTERM)
    assert "poll feed=new" in err
