"""The PostgreSQL store's cheap writes (issue 19): the writes that only move
bookkeeping timestamps (an unchanged poll, feed leases, heartbeats) commit
without waiting for the server's disk, and everything else still does; and
the lists a claim or a poll sends in binary keep names and keys exactly.

What the desk sees: a server crash can cost at most a feed polled once more,
never an alert or a seen item; and a feed or an item whose name holds
quotes, commas, braces or backslashes is claimed, released and recognised
like any other.

How a commit waits is watched from inside the server: a trigger of the
test's own records ``synchronous_commit`` as each write saw it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from monitor.domain.alert import RoutedAlert
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.store.postgres import PostgresStore
from tests.store_contract.records import DESK, NOW, URL, alert_for, item
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name

LEASE = timedelta(minutes=2)
ODD_NAMES = ["a,b", "{braced}", 'quote"d', "back\\slash", "NULL", "sp ace", "ünï"]
"""Names that the text form of an array would have to quote or escape."""


@pytest.fixture
def state_url(tmp_path: Path) -> Iterator[str]:
    """A schema of the test's own on the test server."""
    require_server()
    name = schema_name(str(tmp_path))
    drop_schema(name)
    yield create_schema(name)
    drop_schema(name)


@pytest.fixture
def store(state_url: str) -> Iterator[PostgresStore]:
    """One pooled connection only: every write goes through the same
    session, so a setting one of them left behind would show in the next."""
    with PostgresStore(state_url, pool_size=1) as opened:
        yield opened


def watch_commits(state_url: str, *tables: str, when: str = "AFTER") -> None:
    """Record, for every row written to ``tables``, the table and the
    ``synchronous_commit`` its transaction runs with (in ``commits``); with
    ``when`` BEFORE, as each row is about to be written, so in the order the
    rows are locked."""
    with psycopg.connect(state_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE commits (n serial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL, "
            "setting text NOT NULL)"
        )
        conn.execute(
            "CREATE FUNCTION note_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO commits (tbl, op, setting) "
            "VALUES (TG_TABLE_NAME, TG_OP, current_setting('synchronous_commit')); "
            "RETURN NEW; END $$"
        )
        for table in tables:
            conn.execute(
                f"CREATE TRIGGER note_commit {when} INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION note_commit()"
            )


def commits_seen(state_url: str) -> list[tuple[str, str, str]]:
    """What the trigger recorded since the last call, in order: (table, operation, setting)."""
    with psycopg.connect(state_url, autocommit=True) as conn:
        rows = conn.execute("DELETE FROM commits RETURNING n, tbl, op, setting").fetchall()
    return [(table, op, setting) for _, table, op, setting in sorted(rows)]


def found(items: list[Item], *, feed: str = "f") -> PollOutcome:
    """A poll of ``feed`` that read ``items`` and raised nothing."""
    return PollOutcome(feed=feed, url=URL, items=items, alerts=[], validators=Validators('"e"'))


def test_an_unchanged_poll_commits_without_waiting_for_the_disk_and_news_still_waits(
    store: PostgresStore, state_url: str
) -> None:
    watch_commits(state_url, "feeds", "seen", "alerts")
    store.commit_poll(found([item("1")]), now=NOW)
    assert sorted(commits_seen(state_url)) == [
        ("feeds", "INSERT", "on"),
        ("seen", "INSERT", "on"),
    ], "a poll's new items are on disk before its commit returns"

    state = store.feed_state("f")
    assert state is not None
    after = store.record_unchanged(state, now=NOW + LEASE, next_poll_at=NOW + 2 * LEASE)
    assert after.next_poll_at == NOW + 2 * LEASE
    store.record_not_modified(feed="f", url=URL, now=NOW + 2 * LEASE)
    assert commits_seen(state_url) == [("feeds", "UPDATE", "off"), ("feeds", "UPDATE", "off")], (
        "a poll that found nothing new only moves timestamps: a crash may lose them"
    )

    routed: list[RoutedAlert] = [(alert_for(item("2")), DESK)]
    news = PollOutcome(
        feed="f", url=URL, items=[item("2")], alerts=routed, validators=Validators('"e"')
    )
    assert store.commit_poll(news, now=NOW + 3 * LEASE) == 1
    store.record_failure(feed="f", url=URL, kind="http", message="503", now=NOW + 4 * LEASE)
    assert {setting for _, _, setting in commits_seen(state_url)} == {"on"}, (
        "on the same connection, the alert, the seen item and the failure wait for the disk"
    )


def test_leases_and_heartbeats_commit_without_waiting_for_the_disk(
    store: PostgresStore, state_url: str
) -> None:
    store.claim_due_feeds({"a": NOW}, now=NOW, limit=1, lease=LEASE)
    store.release_feed("a")
    watch_commits(state_url, "feed_leases", "instances", "feeds")
    assert store.claim_due_feeds({"a": NOW}, now=NOW, limit=1, lease=LEASE) == ["a"]
    assert store.renew_feed_leases(["a"], now=NOW, lease=LEASE) == ["a"]
    store.release_feed("a")
    store.heartbeat(now=NOW, version="test")
    store.heartbeat(now=NOW + LEASE, version="test")
    assert commits_seen(state_url) == [
        ("feed_leases", "UPDATE", "off"),
        ("feed_leases", "UPDATE", "off"),
        ("feed_leases", "UPDATE", "off"),
        ("instances", "INSERT", "off"),
        ("instances", "UPDATE", "off"),
    ]
    store.commit_poll(found([item("1")], feed="a"), now=NOW)
    assert commits_seen(state_url) == [("feeds", "INSERT", "on")], (
        "after them, the same session's poll waits for the disk again"
    )
    [instance] = store.instances(now=NOW + LEASE)
    assert instance.started_at == NOW, "the first heartbeat is kept as the start"
    assert instance.last_heartbeat == NOW + LEASE


def test_odd_feed_names_are_claimed_renewed_and_released_like_any_other(
    state_url: str,
) -> None:
    due = {name: NOW - timedelta(seconds=n) for n, name in enumerate(ODD_NAMES)}
    with PostgresStore(state_url, pool_size=2) as first, PostgresStore(state_url) as second:
        claimed = first.claim_due_feeds(due, now=NOW, limit=100, lease=LEASE)
        assert sorted(claimed) == sorted(ODD_NAMES)
        assert claimed == sorted(ODD_NAMES, key=lambda name: due[name]), "soonest due first"
        assert first.renew_feed_leases(ODD_NAMES, now=NOW, lease=LEASE) == ODD_NAMES
        assert second.claim_due_feeds(due, now=NOW, limit=100, lease=LEASE) == []
        for name in ODD_NAMES:
            first.release_feed(name)
        assert sorted(second.claim_due_feeds(due, now=NOW, limit=100, lease=LEASE)) == sorted(
            ODD_NAMES
        ), "each is free again once released"


def test_a_feed_named_after_the_first_claim_is_claimed_too(store: PostgresStore) -> None:
    assert store.claim_due_feeds({"a": NOW}, now=NOW, limit=10, lease=LEASE) == ["a"]
    later = NOW + timedelta(minutes=1)
    named = {"a": NOW, "b": later}
    assert store.claim_due_feeds(named, now=later, limit=10, lease=LEASE) == ["b"], (
        "a feed added to the configuration is due when first named"
    )


def test_items_with_odd_keys_are_seen_again_after_a_poll(store: PostgresStore) -> None:
    items = [
        item(name, link=f"https://x/{n}", title=f"t{name}") for n, name in enumerate(ODD_NAMES)
    ]
    assert store.unseen("f", items) == items
    store.commit_poll(found(items), now=NOW)
    assert store.unseen("f", items) == [], "every key is stored exactly as the item gave it"
    state = store.feed_state("f")
    assert state is not None
    assert state.last_success_at == NOW


def test_a_polls_commit_locks_the_feeds_row_before_its_seen_rows_in_either_form(
    store: PostgresStore, state_url: str
) -> None:
    """Both forms of a commit take the locks in one order, so two commits of
    one feed at once (a `monitor once` beside a `monitor run`) wait for each
    other rather than deadlock."""
    watch_commits(state_url, "feeds", "seen", when="BEFORE")
    store.commit_poll(found([item("1"), item("2")]), now=NOW)  # one statement
    routed: list[RoutedAlert] = [(alert_for(item("3")), DESK)]
    news = PollOutcome(
        feed="f", url=URL, items=[item("3")], alerts=routed, validators=Validators('"e"')
    )
    store.commit_poll(news, now=NOW + LEASE)  # a transaction: it queues an alert
    tables = [table for table, _, _ in commits_seen(state_url)]
    assert tables == ["feeds", "seen", "seen", "feeds", "feeds", "seen"], (
        "each commit writes the feed's row (an insert, then an update of it) before its items"
    )
