"""Ctrl-C in a terminal: the terminal sends SIGINT to the whole foreground
process group, the monitor and its parser processes alike. The user must see
the monitor's own stop lines and nothing else, and the exit code of a clean
stop (0, as the README documents)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, write_config
from tests.test_e2e import RunningMonitor, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX"),
]

PARSE_PROCESSES = 2
"""Set in the config, so the parser processes run even on a one-core machine."""

STOP_LINE = "monitor.scheduler: stopped; outbox: "


def large_feed() -> str:
    """A document large enough to be parsed in a parser process."""
    published = datetime.now(UTC) - timedelta(hours=1)
    body = rss(
        [
            Entry(
                f"Market report {n}",
                link=f"https://news.example/report-{n}",
                summary="Prices and volumes of the day, region by region. " * 4,
                published=published,
            )
            for n in range(200)
        ]
    )
    assert len(body) > 16 * 1024
    return body


def config_with_parser_processes(tmp_path: Path, feed_server: FeedServer) -> Path:
    config = write_config(tmp_path, [FeedSpec("news", feed_server.url("/news"), interval="1s")])
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[fetch]\n", f"[fetch]\nparse_processes = {PARSE_PROCESSES}\n", 1),
        encoding="utf-8",
    )
    return config


class TerminalSession(RunningMonitor):
    """`monitor run` in a process group of its own, as a shell runs a
    foreground job, so that a Ctrl-C can be sent the way a terminal sends it."""

    def __init__(self, config: Path) -> None:
        super().__init__(config, token=None, own_session=True)

    @property
    def stderr(self) -> str:
        return self.log

    def children(self) -> list[str]:
        """Command lines of the monitor's child processes (Linux /proc)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
        return found

    def press_ctrl_c(self) -> str:
        """SIGINT to every process of the job, then the job's stderr once it ended."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"monitor did not stop on Ctrl-C:\n{self.stderr}") from None
        self._reader.join(timeout=30)
        return self.stderr

    def kill(self) -> None:
        """End the job if it still runs (a failed test), and close its pipe."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._reader.join(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


def assert_clean_stop(session: TerminalSession, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
    last_line = stderr.rstrip("\n").splitlines()[-1]
    assert STOP_LINE in last_line, stderr
    assert "stopping: waiting for running polls and deliveries to finish" in stderr
    assert session.process.returncode == 0, stderr


def test_ctrl_c_after_polling_prints_only_the_clean_stop_lines(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.set("/news", large_feed())
    session = TerminalSession(config_with_parser_processes(tmp_path, feed_server))
    try:
        wait_until(lambda: feed_server.hits("/news") >= 2, "two polls of the feed")
        wait_until(lambda: "poll feed=news items=200" in session.stderr, "the first poll's log")
        workers = [cmd for cmd in session.children() if "spawn_main" in cmd]
        assert len(workers) >= PARSE_PROCESSES, "the parser processes run when Ctrl-C comes"
        stderr = session.press_ctrl_c()
    finally:
        session.kill()
    assert_clean_stop(session, stderr)


def test_ctrl_c_while_the_parser_processes_start_stops_cleanly(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The parser processes import feedparser and the rules as they start; a
    Ctrl-C in that moment must neither print their tracebacks nor break the
    monitor's start."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see the parser processes start")
    feed_server.set("/news", large_feed())
    session = TerminalSession(config_with_parser_processes(tmp_path, feed_server))
    try:
        wait_until(
            lambda: any("spawn_main" in cmd for cmd in session.children()),
            "the first parser process to start",
            timeout=60,
        )
        stderr = session.press_ctrl_c()
    finally:
        session.kill()
    assert_clean_stop(session, stderr)
