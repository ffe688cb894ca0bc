"""A state written before story threads were kept unique (SQLite version
10, PostgreSQL version 2) upgrades with its threads whole, even a story
that two senders had threaded twice in one channel, and from then on keeps
one thread per story and channel."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from monitor.domain.alert import StoryThread
from monitor.store.ports import Store
from monitor.store.postgres import PostgresStore
from monitor.store.postgres import schema as postgres_schema
from monitor.store.sqlite import SQLiteStore
from monitor.store.sqlite import schema as sqlite_schema
from monitor.store.sqlite.rows import ts
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
WINDOW = timedelta(hours=6)
THREADS = [
    # (parent alert, parent ref, story key, first at)
    (1, "p1", "story-a", T0),
    (2, "p2", "story-a", T0 + timedelta(seconds=1)),  # a race of two senders, before
    (3, "p3", "story-b", T0),
    (4, "p4", None, T0),
]


def sqlite_at_version_10(path: Path) -> None:
    """A state database as version 10 made it, with THREADS."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    sqlite_schema._run_script(db, sqlite_schema._SCHEMA, T0.isoformat())
    for version in range(2, 11):
        sqlite_schema._run_script(db, sqlite_schema._MIGRATIONS[version], T0.isoformat())
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '10')")
    db.executemany(
        "INSERT INTO story_threads (rule_id, channel, title, parent_alert_id, parent_ref, "
        "first_at, last_at, story_key) VALUES ('r', '#desk', 'Story', ?, ?, ?, ?, ?)",
        [(p, ref, ts(at), ts(at), key) for p, ref, key, at in THREADS],
    )
    db.execute("COMMIT")
    db.close()


def postgres_at_version_2(url: str) -> None:
    """A state schema as version 2 made it, with THREADS."""
    with psycopg.connect(url) as conn:
        for version in (1, 2):
            conn.execute(postgres_schema._MIGRATIONS[version].encode())
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
        for parent, ref, key, at in THREADS:
            conn.execute(
                "INSERT INTO story_threads (rule_id, channel, title, parent_alert_id, "
                "parent_ref, first_at, last_at, story_key) "
                "VALUES ('r', '#desk', 'Story', %s, %s, %s, %s, %s)",
                (parent, ref, at, at, key),
            )


@pytest.fixture(params=["sqlite", "postgres"])
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The old state, opened (so upgraded) by this code."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        sqlite_at_version_10(path)
        with SQLiteStore(path) as store:
            yield store
        return
    require_server()
    name = schema_name(str(tmp_path))
    drop_schema(name)
    url = create_schema(name)
    postgres_at_version_2(url)
    try:
        with PostgresStore(url, pool_size=2) as store:
            yield store
    finally:
        drop_schema(name)


def thread(parent: int, ref: str, key: str) -> StoryThread:
    return StoryThread(0, "r", "#desk", None, None, "Story", parent, ref, story_key=key)


def test_old_threads_survive_and_a_story_keeps_its_latest(upgraded: Store) -> None:
    found = upgraded.recent_threads(rule_id="r", channel="#desk", since=T0)
    assert sorted(t.parent_ref for t in found) == ["p1", "p2", "p3", "p4"], "none lost"
    latest = upgraded.thread_of_story("story-a", "#desk", since=T0)
    assert latest is not None and latest.parent_ref == "p2"
    later = T0 + timedelta(minutes=5)
    again = upgraded.add_thread(thread(5, "p5", "story-a"), now=later, since=later - WINDOW)
    assert again == latest, "within the window, the story's thread is the one there"


def test_after_the_upgrade_a_story_begins_its_next_thread_past_its_window(
    upgraded: Store,
) -> None:
    later = T0 + WINDOW + timedelta(minutes=1)
    began = upgraded.add_thread(thread(6, "p6", "story-a"), now=later, since=later - WINDOW)
    assert began.parent_ref == "p6"
    assert upgraded.thread_of_story("story-a", "#desk", since=later - WINDOW) == began
    other = upgraded.add_thread(thread(7, "p7", "story-b"), now=later, since=later - WINDOW)
    assert other.parent_ref == "p7", "story-b's first thread is past its window too"
