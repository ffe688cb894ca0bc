"""The SQLite state store's own behaviour: its file, deferred writes, locking,
schema and old SQLite versions. What every store must do is in
tests/store_contract/ (run against SQLite too); the upgrade of a database
written by an earlier version is in tests/test_store_migration.py."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from monitor.domain.feed import FeedState, Validators
from monitor.domain.item import Item
from monitor.domain.kinds import OutboxStatus
from monitor.domain.poll import PollOutcome
from monitor.errors import StateError
from monitor.store import sqlite as store_module
from monitor.store.sqlite import SQLiteStore
from monitor.store.sqlite import feeds as sqlite_feeds
from tests.store_contract.test_feed_states import (
    test_a_poll_finding_nothing_new_returns_the_state_it_leaves as poll_finding_nothing_new_returns_the_state_it_leaves,
)
from tests.support.records import make_item

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def item(guid: str, link: str | None = None) -> Item:
    return make_item(guid, guid=f"urn:{guid}", link=link, published=NOW)


def commit(store: SQLiteStore, items: list[Item]) -> int:
    return store.commit_poll(
        PollOutcome(
            feed="f", url="https://x/feed", items=items, alerts=[], validators=Validators('"e"')
        ),
        now=NOW,
    )


def test_the_database_is_a_file_in_wal_mode_created_with_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "monitor.db"
    with SQLiteStore(path) as store:
        commit(store, [item("a")])
        assert store.db_mode() == "wal"
    assert path.is_file()
    assert (tmp_path / "state" / "monitor.db.id").read_text(encoding="utf-8").strip()


def test_before_sqlite_3_35_a_poll_finding_nothing_new_reads_its_state_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without UPDATE ... RETURNING (Debian 11, Ubuntu 20.04) the contract holds too."""
    monkeypatch.setattr(sqlite_feeds, "HAS_RETURNING", False)
    with SQLiteStore(tmp_path / "monitor.db") as store:
        poll_finding_nothing_new_returns_the_state_it_leaves(store)


def commit_feed(store: SQLiteStore, name: str, url: str | None = None, at: datetime = NOW) -> None:
    store.commit_poll(
        PollOutcome(
            feed=name,
            url=url or f"https://x/{name}",
            items=[],
            alerts=[],
            validators=Validators('"e"'),
        ),
        now=at,
    )


def last_success_on_disk(path: Path, feed: str) -> str | None:
    """As another process (``monitor status``) reads it."""
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT last_success_at FROM feeds WHERE name = ?", (feed,)).fetchone()
    return row[0] if row else None


LATER = NOW + timedelta(minutes=5)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


@contextmanager
def store_with_feed(path: Path) -> Iterator[tuple[SQLiteStore, FeedState]]:
    """A store at ``path`` that has polled feed f once, and f's state."""
    with SQLiteStore(path) as store:
        commit(store, [item("a")])
        state = store.feed_state("f")
        assert state is not None
        yield store, state


def test_a_healthy_feed_unchanged_moves_its_timestamps_in_a_deferred_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    with store_with_feed(path) as (store, before):
        after = store.record_unchanged(before, now=later, next_poll_at=later + timedelta(hours=1))
        assert after.last_success_at == later and after.next_poll_at == later + timedelta(hours=1)
        # This store reads it back at once; another process sees it once written.
        assert store.feed_state("f") == after
        assert last_success_on_disk(path, "f") == stamp(NOW)
        store.sync(older_than=timedelta(hours=1))
        assert last_success_on_disk(path, "f") == stamp(NOW)
        store.sync()
        assert last_success_on_disk(path, "f") == stamp(later)
        assert store.feed_state("f") == after, "what was read back is what was written"


def test_deferred_bookkeeping_is_written_before_the_feeds_are_listed_and_yields_to_later_polls(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    with store_with_feed(path) as (store, before):
        store.record_unchanged(before, now=later)
        (health,) = store.feed_health()
        assert health.last_success_at == later
        # A failure after it is not undone by it: the order of the polls holds.
        store.record_unchanged(before, now=later + timedelta(minutes=5))
        store.record_failure(feed="f", url="https://x/feed", kind="http", message="502", now=later)
        state = store.feed_state("f")
        assert state is not None and state.consecutive_failures == 1 and state.last_error == "502"
        store.sync()
        assert store.feed_state("f") == state


def test_deferred_bookkeeping_is_written_for_many_feeds_at_once_and_at_close(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    names = [f"feed{n:03d}" for n in range(store_module.DEFER_ROWS)]
    store = SQLiteStore(path)
    for name in names:
        commit_feed(store, name)
    states = {name: store.feed_state(name) for name in names}
    for name in names[:-1]:
        store.record_unchanged(states[name], now=later)  # type: ignore[arg-type]
    assert last_success_on_disk(path, names[0]) == stamp(NOW)
    store.record_unchanged(states[names[-1]], now=later)  # type: ignore[arg-type]
    assert last_success_on_disk(path, names[0]) == stamp(later)
    assert last_success_on_disk(path, names[-1]) == stamp(later)
    latest = later + timedelta(minutes=5)
    store.record_unchanged(states[names[0]], now=latest)  # type: ignore[arg-type]
    assert last_success_on_disk(path, names[0]) == stamp(later)
    store.close()
    assert last_success_on_disk(path, names[0]) == stamp(latest)


def test_a_flush_that_must_not_wait_leaves_a_busy_store_alone(tmp_path: Path) -> None:
    """The run loop flushes every 0.2 s without waiting: a poll's long commit
    must not hold it up."""
    path = tmp_path / "monitor.db"
    later = LATER
    with store_with_feed(path) as (store, before):
        store.record_unchanged(before, now=later)
        busy, release = threading.Event(), threading.Event()

        def commit_in_progress() -> None:
            with store._lock:  # as a poll's transaction holds it
                busy.set()
                release.wait(10)

        holder = threading.Thread(target=commit_in_progress)
        holder.start()
        busy.wait(10)
        store.sync(wait=False)
        release.set()
        holder.join()
        assert last_success_on_disk(path, "f") == stamp(NOW)
        store.sync(wait=False)
        assert last_success_on_disk(path, "f") == stamp(later)


def test_a_failing_feed_that_recovers_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    with SQLiteStore(path) as store:
        commit(store, [item("a")])
        store.record_failure(feed="f", url="https://x/feed", kind="http", message="502", now=NOW)
        failing = store.feed_state("f")
        assert failing is not None
        after = store.record_unchanged(failing, now=later)
        assert after.consecutive_failures == 0 and after.failing_since is None
        assert last_success_on_disk(path, "f") == stamp(later)


def refuse_updates(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON feeds "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )


def accept_updates(path: Path) -> None:
    with sqlite3.connect(path) as other:
        other.execute("DROP TRIGGER refuse")


def test_a_deferred_write_that_fails_is_logged_once_kept_and_written_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    with store_with_feed(path) as (store, before):
        store.record_unchanged(before, now=later)
        refuse_updates(path)
        with caplog.at_level(logging.INFO, logger="monitor.store"):
            store.sync()
            store.sync()
            (failure,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert failure.startswith("cannot write the timestamps of 1 unchanged polls to")
            assert failure.endswith(
                "(tried again every 1 s; a poll's own outcome is not held up): disk full"
            )
            assert store.feed_state("f") == store.record_unchanged(before, now=later)
            accept_updates(path)
            store.sync()
        assert caplog.records[-1].getMessage() == "the timestamps of 1 unchanged polls are written"
        assert last_success_on_disk(path, "f") == stamp(later)


def test_a_failing_write_at_the_deferral_limit_does_not_fail_the_poll(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    names = [f"feed{n:03d}" for n in range(store_module.DEFER_ROWS)]
    with SQLiteStore(path) as store:
        for name in names:
            commit_feed(store, name)
        states = {name: store.feed_state(name) for name in names}
        refuse_updates(path)
        attempts: list[str] = []
        store._bookkeeping_db.set_trace_callback(
            lambda sql: attempts.append(sql) if sql == "BEGIN" else None
        )
        for _ in range(3):  # the limit is reached, then polls go on while writes are refused
            for name in names:
                after = store.record_unchanged(states[name], now=later)  # type: ignore[arg-type]
                assert after.last_success_at == later
        assert len(attempts) == 1, "tried again a second later, not at every poll"
        assert last_success_on_disk(path, names[0]) == stamp(NOW)
        accept_updates(path)
    assert last_success_on_disk(path, names[0]) == stamp(later)


def test_a_store_closing_when_its_deferred_write_fails_says_what_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "monitor.db"
    store = SQLiteStore(path)
    commit(store, [item("a")])
    before = store.feed_state("f")
    assert before is not None
    store.record_unchanged(before, now=NOW + timedelta(minutes=5))
    refuse_updates(path)
    with caplog.at_level(logging.ERROR, logger="monitor.store"):
        store.close()
    assert (
        "the timestamps of 1 unchanged polls are lost (last success, last and next poll); "
        "those feeds show their poll before and are polled again sooner" in caplog.text
    )
    assert last_success_on_disk(path, "f") == stamp(NOW)


def test_a_deferred_write_never_undoes_a_later_poll_written_by_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    later = LATER
    with SQLiteStore(path) as running, SQLiteStore(path) as once:
        commit(running, [item("a")])
        for feed in ("f", "g"):
            if feed == "g":
                commit_feed(once, "g", "https://x/feed")
            before = running.feed_state(feed)
            assert before is not None
            running.record_unchanged(before, now=later)
        # Meanwhile `monitor once` polls both: one fails, one moved to another URL.
        once.record_failure(
            feed="f",
            url="https://x/feed",
            kind="http",
            message="502",
            now=later + timedelta(seconds=1),
        )
        commit_feed(once, "g", "https://y/feed", at=later + timedelta(seconds=1))
        failing, moved = running.feed_state("f"), running.feed_state("g")
        running.sync()
        assert running.feed_state("f") == failing and running.feed_state("g") == moved
    assert failing is not None and failing.consecutive_failures == 1
    assert moved is not None and moved.url == "https://y/feed"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StateError, match="schema version 99, newer than this monitor understands"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="cannot open state database"):
        SQLiteStore(path)


def test_the_outbox_statuses_the_code_knows_are_those_the_database_accepts(
    tmp_path: Path,
) -> None:
    """A status added on one side only would be refused by the database, or
    read back as a value the code never handles."""
    with SQLiteStore(tmp_path / "state.db"):
        pass
    with sqlite3.connect(tmp_path / "state.db") as db:
        (schema,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'alerts'").fetchone()
    check = re.search(r"CHECK \(status IN \(([^)]*)\)\)", schema)
    assert check is not None, schema
    assert set(re.findall(r"'([a-z]+)'", check.group(1))) == set(get_args(OutboxStatus))
