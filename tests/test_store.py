"""The SQLite state store: durable across restarts, atomic per poll, strict about its schema."""

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

from monitor.domain.alert import Alert, Target
from monitor.domain.feed import FeedState, Validators
from monitor.domain.item import Item
from monitor.domain.kinds import OutboxStatus
from monitor.domain.severity import Severity
from monitor.errors import StateError
from monitor.store import sqlite as store_module
from monitor.store.sqlite import SEND_LEASE, SQLiteStore
from tests.support.records import make_item

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def item(guid: str, link: str | None = None) -> Item:
    return make_item(guid, guid=f"urn:{guid}", link=link, published=NOW)


def alert_for(it: Item, rule: str = "r") -> Alert:
    return Alert(
        rule_id=rule,
        rule_title="R",
        severity=Severity.WARNING,
        feed=it.feed,
        item_identity=it.identity,
        item_guid=it.guid,
        title=it.title,
        link=it.link,
        summary="",
        published=it.published,
        matched_terms=(),
        created_at=NOW,
    )


def commit(store: SQLiteStore, items: list[Item], alerts: list[Alert] | None = None) -> int:
    return store.commit_poll(
        feed="f",
        url="https://x/feed",
        items=items,
        alerts=[(alert, Target("#desk")) for alert in alerts or []],
        validators=Validators('"e"'),
        now=NOW,
    )


def test_seen_items_and_validators_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "monitor.db"
    store = SQLiteStore(path)
    a, b = item("a"), item("b")
    assert store.unseen("f", [a, b]) == [a, b]
    assert store.feed_state("f") is None
    commit(store, [a])
    store.close()

    reopened = SQLiteStore(path)
    assert reopened.unseen("f", [a, b]) == [b]
    assert reopened.unseen("other-feed", [a]) == [a], "seen is per feed"
    state = reopened.feed_state("f")
    assert (
        state is not None
        and state.validators == Validators('"e"')
        and state.first_success_at == NOW
    )
    assert reopened.db_mode() == "wal"


@pytest.mark.parametrize("returning", [True, False], ids=["RETURNING", "SQLite before 3.35"])
def test_a_poll_finding_nothing_new_returns_the_state_it_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    monkeypatch.setattr(store_module, "_HAS_RETURNING", returning)
    with SQLiteStore(tmp_path / "monitor.db") as store:
        commit(store, [item("a")])
        store.record_failure(feed="f", url="https://x/feed", kind="http", message="502", now=NOW)
        assert store.open_incident(
            feed="f", kind="failing", since=NOW, detail="HTTP 502", alerts=[], now=NOW
        )
        later = NOW + timedelta(minutes=20)
        state = store.record_not_modified(
            feed="f", url="https://x/feed", now=later, next_poll_at=later + timedelta(hours=1)
        )
        assert state == store.feed_state("f")
        assert state is not None and state.consecutive_failures == 0
        assert state.open_incidents == {"failing"}
        assert state.last_success_at == later and state.next_poll_at == later + timedelta(hours=1)

        (incident,) = store.open_incidents("f")
        store.close_incident(incident.id, alerts=[], now=later)
        state = store.feed_state("f")
        assert state is not None and state.open_incidents == set()
        # A feed repointed elsewhere is left alone: its state belongs to the old URL.
        assert store.record_not_modified(feed="f", url="https://y/feed", now=later) is None


def commit_feed(store: SQLiteStore, name: str) -> None:
    store.commit_poll(
        feed=name,
        url=f"https://x/{name}",
        items=[],
        alerts=[],
        validators=Validators('"e"'),
        now=NOW,
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
        store.flush_bookkeeping(older_than=3600)
        assert last_success_on_disk(path, "f") == stamp(NOW)
        store.flush_bookkeeping()
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
        store.flush_bookkeeping()
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
        store.flush_bookkeeping(wait=False)
        release.set()
        holder.join()
        assert last_success_on_disk(path, "f") == stamp(NOW)
        store.flush_bookkeeping(wait=False)
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
            store.flush_bookkeeping()
            store.flush_bookkeeping()
            (failure,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert failure.startswith("cannot write the timestamps of 1 unchanged polls to")
            assert failure.endswith(
                "(tried again every 1 s; a poll's own outcome is not held up): disk full"
            )
            assert store.feed_state("f") == store.record_unchanged(before, now=later)
            accept_updates(path)
            store.flush_bookkeeping()
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
                once.commit_poll(
                    feed="g",
                    url="https://x/feed",
                    items=[],
                    alerts=[],
                    validators=Validators(),
                    now=NOW,
                )
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
        once.commit_poll(
            feed="g",
            url="https://y/feed",
            items=[],
            alerts=[],
            validators=Validators(),
            now=later + timedelta(seconds=1),
        )
        failing, moved = running.feed_state("f"), running.feed_state("g")
        running.flush_bookkeeping()
        assert running.feed_state("f") == failing and running.feed_state("g") == moved
    assert failing is not None and failing.consecutive_failures == 1
    assert moved is not None and moved.url == "https://y/feed"


def test_an_item_whose_guid_changed_but_link_and_title_did_not_is_not_new(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    commit(store, [make_item("Story", guid="urn:old", link="https://x/story")])
    assert store.unseen("f", [make_item("Story", guid="urn:new", link="https://x/story")]) == []
    # A live blog gives each post the page's link: another title is another item.
    other = make_item("Update 2", guid="urn:new2", link="https://x/story")
    assert store.unseen("f", [other]) == [other]


def test_alerts_are_unique_per_rule_and_item(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first = item("a", link="https://x/story")
    assert commit(store, [first], [alert_for(first)]) == 1
    assert commit(store, [first], [alert_for(first)]) == 0, "same rule and item"
    assert commit(store, [first], [alert_for(first, rule="other")]) == 1, "another rule may alert"
    assert store.outbox_counts() == {
        "pending": 2,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "silenced": 0,
    }


def test_a_claimed_alert_is_not_due_until_its_lease_expires(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    it = item("a")
    commit(store, [it], [alert_for(it)])
    (entry,) = store.due_alerts(NOW, limit=10)
    assert store.claim(entry.id, now=NOW)
    assert not store.claim(entry.id, now=NOW), "a second sender is refused"
    assert store.due_alerts(NOW + SEND_LEASE - timedelta(seconds=1), limit=10) == []
    assert [e.id for e in store.due_alerts(NOW + SEND_LEASE, limit=10)] == [entry.id]
    assert store.claim(entry.id, now=NOW + SEND_LEASE), "an abandoned claim can be taken over"


def test_outbox_lifecycle(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    items = [item(name) for name in "abc"]
    commit(store, items, [alert_for(i) for i in items])
    due = store.due_alerts(NOW, limit=10)
    assert [e.alert.title for e in due] == ["a", "b", "c"] and all(e.attempts == 0 for e in due)

    store.mark_sent(due[0].id, now=NOW, destination="slack:#d", ref="1.2")
    store.reschedule(
        due[1].id, attempts=1, next_attempt_at=NOW + timedelta(minutes=1), error="HTTP 500"
    )
    store.mark_failed(due[2].id, attempts=1, now=NOW, error="channel_not_found")
    assert store.due_alerts(NOW, limit=10) == []
    (retry,) = store.due_alerts(NOW + timedelta(minutes=1), limit=10)
    assert retry.alert.title == "b" and retry.attempts == 1
    assert store.outbox_counts() == {
        "pending": 1,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "silenced": 0,
    }


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
