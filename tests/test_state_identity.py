"""A lost state database is noticed, not taken for a first start: where the
monitor has run before, a database found empty, missing, schema-less or
replaced stops it with exit 2 before anything is posted again."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, run_monitor, write_config
from tests.support.slack_emulator import SlackEmulator

NOW = datetime.now(UTC)
DPRK = Entry(
    "North Korean troops killed in Kursk, Ukraine says",
    link="https://news.example/dprk",
    guid="tag:news.example,2026:dprk",
    published=NOW - timedelta(minutes=10),
)


def monitor(
    *args: str, cwd: Path, slack: SlackEmulator | None = None
) -> subprocess.CompletedProcess[str]:
    return run_monitor(*args, cwd=cwd, slack_token=slack.token if slack is not None else None)


def desk(tmp_path: Path, feed_server: FeedServer, slack: SlackEmulator) -> Path:
    """A desk whose one feed carries one alerting item; returns the state path."""
    feed_server.set("/news", rss([DPRK]))
    write_config(
        tmp_path, [FeedSpec("kyiv", feed_server.url("/news"))], slack_api_url=slack.base_url
    )
    return tmp_path / "state" / "monitor.db"


def state_id(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return str(db.execute("SELECT value FROM meta WHERE key='state_id'").fetchone()[0])


def marker(database: Path) -> Path:
    return database.with_name(database.name + ".id")


def assert_refused(result: subprocess.CompletedProcess[str], database: Path) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert str(database) in result.stderr
    assert "--new-state" in result.stderr
    assert "deleting" in result.stderr and str(marker(database)) in result.stderr


def test_first_run_creates_the_database_and_its_marker_and_a_rerun_posts_nothing_twice(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    first = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert first.returncode == 0, first.stderr
    assert len(slack_emulator.messages) == 1
    assert marker(database).read_text(encoding="utf-8").strip() == state_id(database)
    again = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert again.returncode == 0, again.stderr
    assert len(slack_emulator.messages) == 1


def test_a_database_truncated_to_zero_bytes_is_refused_and_nothing_is_posted_again(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    assert len(slack_emulator.messages) == 1
    database.write_bytes(b"")

    refused = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert_refused(refused, database)
    assert "is empty (0 bytes)" in refused.stderr
    assert len(slack_emulator.messages) == 1
    assert database.stat().st_size == 0  # left as found, for whoever investigates
    assert_refused(monitor("run", cwd=tmp_path, slack=slack_emulator), database)
    assert_refused(monitor("status", cwd=tmp_path), database)
    assert len(slack_emulator.messages) == 1


def test_new_state_starts_over_on_purpose_after_a_truncated_database(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    old_id = state_id(database)
    database.write_bytes(b"")

    fresh = monitor("once", "--new-state", cwd=tmp_path, slack=slack_emulator)
    assert fresh.returncode == 0, fresh.stderr
    assert len(slack_emulator.messages) == 2  # the item alerts again: that is starting over
    assert state_id(database) != old_id
    assert marker(database).read_text(encoding="utf-8").strip() == state_id(database)
    # And from then on the new database is the one expected.
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    assert len(slack_emulator.messages) == 2


def test_deleting_both_files_starts_over_too(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    database.unlink()
    assert_refused(monitor("once", cwd=tmp_path, slack=slack_emulator), database)
    marker(database).unlink()
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    assert len(slack_emulator.messages) == 2


def test_a_schema_less_or_another_database_in_its_place_is_refused(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    expected = marker(database).read_text(encoding="utf-8")

    # Another monitor's database copied over this one.
    other = tmp_path / "other"
    other.mkdir()
    other_database = desk(other, feed_server, slack_emulator)
    assert monitor("once", cwd=other, slack=slack_emulator).returncode == 0
    database.write_bytes(other_database.read_bytes())
    replaced = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert_refused(replaced, database)
    assert "is not the database the monitor used here" in replaced.stderr

    # A SQLite file without the monitor's tables.
    database.unlink()
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE unrelated (x)")
    schema_less = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert_refused(schema_less, database)
    assert "has no monitor schema" in schema_less.stderr
    assert marker(database).read_text(encoding="utf-8") == expected
    assert len(slack_emulator.messages) == 2  # one from each desk's first run


def test_a_database_from_before_identities_still_opens_and_gets_a_marker(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    database = desk(tmp_path, feed_server, slack_emulator)
    assert monitor("once", cwd=tmp_path, slack=slack_emulator).returncode == 0
    # As the previous version left it: no identity inside, no marker beside.
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM meta WHERE key='state_id'")
    marker(database).unlink()

    upgraded = monitor("once", cwd=tmp_path, slack=slack_emulator)
    assert upgraded.returncode == 0, upgraded.stderr
    assert len(slack_emulator.messages) == 1  # its seen items still count
    assert marker(database).read_text(encoding="utf-8").strip() == state_id(database)
