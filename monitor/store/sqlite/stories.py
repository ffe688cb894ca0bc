"""The SQLite store's Stories port: the stories, story_members and feedback tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from monitor.domain.alert import Alert
from monitor.domain.kinds import FEEDBACK_KINDS, FeedbackKind
from monitor.domain.story import Feedback, Story, StoryMember, StoryUpdate
from monitor.errors import StateError
from monitor.store.records import feedback_of, story_of
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, optional_ts, required_dt, ts


class SQLiteStories(SQLiteCore):
    """Stories across feeds (see monitor.store.ports.Stories)."""

    @contextmanager
    def placing_stories(self) -> Iterator[None]:
        """Nothing to hold: one process runs polls on a SQLite state, and
        its poller serialises its own threads' placing."""
        yield

    def recent_stories(self, *, rule_id: str, since: datetime) -> list[Story]:
        """A rule's stories last seen at or after ``since``, with their members, newest first."""
        with self._lock, self._translated():
            db = self._db
            db.execute("BEGIN")
            try:
                rows = _rows(
                    db,
                    "SELECT * FROM stories WHERE rule_id = ? AND last_seen_at >= ? "
                    "ORDER BY last_seen_at DESC",
                    (rule_id, ts(since)),
                )
                members = _members(db, [row["key"] for row in rows])
            finally:
                self._rollback()
        return [_story(row, members.get(row["key"], ())) for row in rows]

    def story(self, key: str) -> Story | None:
        """One story with its members; None if unknown (or pruned)."""
        with self._lock, self._translated():
            db = self._db
            db.execute("BEGIN")
            try:
                rows = _rows(db, "SELECT * FROM stories WHERE key = ?", (key,))
                members = _members(db, [key]) if rows else {}
            finally:
                self._rollback()
        return _story(rows[0], members.get(key, ())) if rows else None

    def record_feedback(
        self,
        kind: FeedbackKind,
        *,
        alert_id: int,
        user_id: str,
        user_name: str,
        now: datetime,
    ) -> Feedback | None:
        """Record what a desk member said of an outbox alert; None if the alert is unknown."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT rule_id, story_key, payload FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
            if row is None:
                return None
            cursor = db.execute(
                "INSERT INTO feedback (kind, alert_id, story_key, rule_id, user_id, user_name, "
                "at, alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, alert_id, row[1], row[0], user_id, user_name, ts(now), row[2]),
            )
            feedback_id = cursor.lastrowid
        return Feedback(
            id=int(feedback_id or 0),
            kind=kind,
            alert=Alert.from_json(str(row[2])),
            alert_id=alert_id,
            user_id=user_id,
            user_name=user_name,
            at=now,
        )

    def feedback(
        self,
        kinds: Sequence[FeedbackKind],
        *,
        limit: int = 200,
        alert_id: int | None = None,
    ) -> list[Feedback]:
        """Feedback of the given kinds (on one alert, if given), newest first."""
        wanted = [kind for kind in FEEDBACK_KINDS if kind in set(kinds)]
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            f"SELECT * FROM feedback WHERE kind IN ({marks}) "  # noqa: S608 - only "?" marks
            "AND (? IS NULL OR alert_id = ?) ORDER BY id DESC LIMIT ?",
            (*wanted, alert_id, alert_id, max(limit, 0)),
        )
        return [feedback_of(row, required_dt) for row in rows]


def write_stories(db: sqlite3.Connection, updates: Sequence[StoryUpdate]) -> None:
    """Upsert each story as it now stands and add its new members, in the caller's transaction."""
    for update in updates:
        story = update.story
        db.execute(
            "INSERT INTO stories (key, rule_id, title, severity, first_seen_at, last_seen_at, "
            "sources, official, escalated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET title = excluded.title, "
            "severity = excluded.severity, last_seen_at = excluded.last_seen_at, "
            "sources = excluded.sources, official = excluded.official, "
            "escalated_at = COALESCE(stories.escalated_at, excluded.escalated_at)",
            (
                story.key,
                story.rule_id,
                story.title,
                story.severity.value,
                ts(story.first_seen_at),
                ts(story.last_seen_at),
                json.dumps(list(story.sources), ensure_ascii=False),
                int(story.official),
                optional_ts(story.escalated_at),
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO story_members (story_key, item_identity, feed, publisher, "
            "link, title, seen_at, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    story.key,
                    member.item_identity,
                    member.feed,
                    member.publisher,
                    member.link,
                    member.title,
                    ts(member.seen_at),
                    json.dumps(dict(member.text), ensure_ascii=False, sort_keys=True),
                )
                for member in update.new_members
            ],
        )


def _rows(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
    cursor = db.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def _members(db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, list[StoryMember]]:
    found: dict[str, list[StoryMember]] = {}
    for key in keys:
        for row in _rows(
            db, "SELECT * FROM story_members WHERE story_key = ? ORDER BY seen_at, rowid", (key,)
        ):
            try:
                text = json.loads(row["text"])
            except ValueError as exc:
                raise StateError(f"story {key}: a member's text is unreadable: {exc}") from exc
            found.setdefault(key, []).append(
                StoryMember(
                    item_identity=row["item_identity"],
                    feed=row["feed"],
                    publisher=row["publisher"],
                    link=row["link"],
                    title=row["title"],
                    seen_at=required_dt(row["seen_at"]),
                    text=text if isinstance(text, dict) else {},
                )
            )
    return found


def _story(row: sqlite3.Row, members: Sequence[StoryMember]) -> Story:
    return story_of(
        row,
        members,
        sources=json.loads(row["sources"]),
        moment=required_dt,
        optional_moment=dt,
    )
