"""The monitor with its state on PostgreSQL (``state.url``): real `monitor`
processes, the real server, loopback feeds and the Slack emulator.

What the desk sees: alerts posted once across runs, the state (what was
read, what was sent) kept in the database and searchable; a server that
does not answer is a clear message naming it, without a traceback; a
password in config.toml is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import TOKEN
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name
from tests.support.setup import FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator

DPRK = "North Korean troops killed in Kursk fighting, Ukraine says"


@pytest.fixture
def state_url(tmp_path: Path) -> Iterator[str]:
    """A schema of the test's own on the test server, as a monitor's state.url."""
    require_server()
    name = schema_name(str(tmp_path))
    drop_schema(name)
    yield create_schema(name)
    drop_schema(name)


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "SLACK_BOT_TOKEN": TOKEN},
        timeout=120,
        check=False,
    )


def entry(title: str, slug: str, published: datetime) -> Entry:
    link = f"https://news.example/{slug}"
    return Entry(title, link=link, guid=link, summary=f"{title}.", published=published)


def test_monitor_once_keeps_its_state_in_postgres_and_posts_once(
    tmp_path: Path, state_url: str, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        slack_api_url=slack_emulator.base_url,
        state_extra=f'url = "{state_url}"',
    )
    now = datetime.now(UTC).replace(microsecond=0)
    feed_server.set("/news", rss([]))
    first = monitor(config, "once")
    assert first.returncode == 0, first.stderr
    feed_server.set("/news", rss([entry(DPRK, "dprk", now)]))
    for _ in range(2):  # the second run finds the item seen and the alert sent
        done = monitor(config, "once")
        assert done.returncode == 0, done.stderr
    assert [m.text for m in slack_emulator.messages] == [
        f"CRITICAL: North Korean troops in combat in Russia's war on Ukraine: {DPRK}"
    ]
    assert not (tmp_path / "state" / "monitor.db").exists(), "no SQLite file is made"
    found = monitor(config, "search", "Kursk")
    assert found.returncode == 0, found.stderr
    assert DPRK in found.stdout and "dprk-troops-combat" in found.stdout


def test_a_server_that_does_not_answer_is_named(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [FeedSpec("news", "https://news.invalid/feed")],
        state_extra='url = "postgresql://monitor@127.0.0.1:1/monitor"',
    )
    done = monitor(config, "once")
    assert done.returncode != 0
    assert "cannot connect to the state database postgresql://127.0.0.1:1/monitor" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_in_the_config_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [FeedSpec("news", "https://news.invalid/feed")],
        state_extra='url = "postgresql://monitor:hunter2@db.example/monitor"',
    )
    done = monitor(config, "check")
    assert done.returncode != 0
    assert "state.url must not hold the password" in done.stdout + done.stderr
    assert "hunter2" not in done.stdout + done.stderr
