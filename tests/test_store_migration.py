"""A state database written before issue 15's redesign (schema version 3)
opens with the current code and keeps every record.

The database in tests/fixtures/state/ was written by the code of commit
d718d1f; tests/fixtures/state/make_state_v3.py says what is in it and how
to write it again.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.store.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.support.setup import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "state" / "state-v3.db"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)
SLACK_WORDS = ("thread_ts", "channel_id", "parent_ts")


def copy_of_fixture(folder: Path) -> Path:
    """The fixture and its identity marker, copied (the test must not change them)."""
    path = folder / FIXTURE.name
    shutil.copyfile(FIXTURE, path)
    shutil.copyfile(FIXTURE.with_name(FIXTURE.name + ".id"), path.with_name(path.name + ".id"))
    return path


def wire_item(key: str) -> Item:
    """An item as the generator made it (its seen keys are what matter)."""
    return Item(
        feed="wire",
        feed_tags=("news",),
        identity=f"guid:urn:{key}",
        guid=f"urn:{key}",
        title=f"Story {key}",
        summary=f"Summary of {key}",
        link=f"https://news.example/{key}",
        published=T0 - timedelta(minutes=5),
        updated=None,
    )


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def test_the_fixture_is_a_version_3_database() -> None:
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == "3"
    assert {"channel_id", "thread_ts"} <= set(columns(FIXTURE, "alerts"))


def test_feeds_seen_items_and_incidents_survive_the_upgrade(tmp_path: Path) -> None:
    path = copy_of_fixture(tmp_path)
    with SQLiteStore(path) as store:
        wire = store.feed_state("wire")
        assert wire is not None
        assert wire.url == "https://news.example/wire.xml"
        assert wire.validators == Validators('"v1"', "Sun, 01 Nov 2026 07:59:00 GMT")
        assert (wire.body_hash, wire.publish_gap) == ("sha256:0123abcd", timedelta(minutes=15))
        assert (wire.first_success_at, wire.last_success_at) == (T0, T0)
        assert wire.last_item_at == T0 - timedelta(minutes=5)
        assert wire.next_poll_at == T0 + timedelta(minutes=10)
        assert (wire.consecutive_failures, wire.open_incidents) == (0, frozenset())

        down = store.feed_state("down")
        assert down is not None
        assert (down.consecutive_failures, down.last_error, down.last_error_kind) == (
            2,
            "HTTP 503",
            "http",
        )
        assert down.failing_since == T0 and down.first_success_at is None
        assert down.next_poll_at == T0 + timedelta(minutes=30)
        assert down.open_incidents == {"failing"}

        items = [wire_item(key) for key in "abcdefgh"]
        assert store.unseen("wire", items) == []
        assert store.unseen("wire", [wire_item("new")]) == [wire_item("new")]
        (incident,) = store.open_incidents()
        assert (incident.feed, incident.kind, incident.since, incident.detail) == (
            "down",
            "failing",
            T0,
            "HTTP 503",
        )
        health = {h.name: h for h in store.feed_health()}
        assert sorted(health) == ["down", "quiet", "wire"]
        assert (health["wire"].items_seen, health["wire"].alerts_raised) == (
            8,
            9,
        )  # with the folded one
        assert health["quiet"].incidents == ()


def test_the_outbox_survives_the_upgrade_in_every_status(tmp_path: Path) -> None:
    path = copy_of_fixture(tmp_path)
    with SQLiteStore(path) as store:
        assert store.outbox_counts() == {
            "pending": 5,
            "sending": 1,
            "sent": 2,
            "failed": 1,
            "silenced": 2,
        }
        first = store.entry(1)
        assert first is not None
        assert (first.status, first.channel, first.mentions) == ("pending", "#desk", ("@oncall",))
        assert first.alert.title == "Story a" and first.alert.matched_terms == ("term",)
        digest = store.entry(7)
        assert digest is not None and (digest.channel, digest.digest) == ("#digest", "0 8 * * *")
        retried = store.entry(8)
        assert retried is not None
        assert (retried.attempts, retried.uncertain, retried.last_error) == (2, True, "timed out")
        failed = store.entry(5)
        assert failed is not None
        assert (failed.status, failed.last_error) == ("failed", "channel_not_found")
        silenced = [(e.id, e.last_error) for e in store.outbox(["silenced"])]
        assert silenced == [
            (6, "silenced by silence 1: noisy"),
            (9, "folded into a flood alert"),
        ]
        # The renamed columns kept their values: the channel's reference, and
        # the reply that is no top-level post.
        assert store.known_channel_ref("#desk") == "C0DESK"
        assert store.top_level_posts("#desk", T0) == 1
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT id, delivery_ref, channel_ref, thread_ref FROM alerts WHERE status = 'sent' "
            "ORDER BY id"
        ).fetchall()
    assert rows == [
        (3, "1793000000.000100", "C0DESK", None),
        (4, "1793000000.000200", "C0DESK", "1793000000.000100"),
    ]


def test_stories_and_silences_survive_the_upgrade(tmp_path: Path) -> None:
    path = copy_of_fixture(tmp_path)
    with SQLiteStore(path) as store:
        (story,) = store.recent_threads(rule_id="breach", channel="#desk", since=T0)
        assert (story.channel_ref, story.parent_ref, story.parent_alert_id, story.sources) == (
            "C0DESK",
            "1793000000.000100",
            3,
            2,
        )
        assert (story.link, story.title) == ("https://news.example/c", "Story c")
        (silence,) = store.active_silences(T0 + timedelta(days=2))
        assert (silence.id, silence.rule_id, silence.reason, silence.created_at) == (
            1,
            "muted",
            "noisy",
            T0,
        )


def test_the_upgrade_moves_the_schema_to_the_latest_version_without_slacks_words(
    tmp_path: Path,
) -> None:
    path = copy_of_fixture(tmp_path)
    marker = path.with_name(path.name + ".id").read_text(encoding="utf-8")
    SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        schema = " ".join(
            row[0] for row in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
        )
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["state_id"] == marker.strip(), "the same database, as its marker says"
    assert not any(word in schema for word in SLACK_WORDS), schema
    fresh = tmp_path / "fresh.db"
    SQLiteStore(fresh).close()
    for table in (
        "feeds",
        "seen",
        "alerts",
        "stories",
        "silences",
        "incidents",
        "list_snapshots",
        "list_entries",
        "meta",
    ):
        assert columns(path, table) == columns(fresh, table), table
