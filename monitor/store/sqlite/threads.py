"""The SQLite store's Threads port: the story_threads table (each story's
thread in a channel, numbered by generation where the alerts name their
story, so that a story has one thread per channel and window)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from monitor.domain.alert import StoryThread
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import ts


class SQLiteThreads(SQLiteCore):
    """Threads and their threads (see monitor.store.ports.Threads)."""

    def recent_threads(self, *, rule_id: str, channel: str, since: datetime) -> list[StoryThread]:
        """A rule's stories in a channel begun since ``since``, newest first."""
        rows = self._query(
            "SELECT * FROM story_threads WHERE rule_id = ? AND channel = ? AND first_at >= ? ORDER BY id DESC",
            (rule_id, channel, ts(since)),
        )
        return [_thread(row) for row in rows]

    def thread_of_story(
        self, story_key: str, channel: str, *, since: datetime
    ) -> StoryThread | None:
        """The latest thread the story began in the channel since ``since``."""
        rows = self._query(
            "SELECT * FROM story_threads WHERE story_key = ? AND channel = ? AND first_at >= ? "
            "ORDER BY id DESC LIMIT 1",
            (story_key, channel, ts(since)),
        )
        return _thread(rows[0]) if rows else None

    def add_thread(
        self, story: StoryThread, *, now: datetime, since: datetime | None = None
    ) -> StoryThread:
        """Record a story begun now, with one source; the thread recorded, or
        the story's thread another sender recorded first (see the port). The
        read and the write are one BEGIN IMMEDIATE transaction, and the
        unique key on story, channel and generation backs it."""
        with self._transaction() as db:
            generation: int | None = None
            if story.story_key is not None:
                latest = _row(
                    db,
                    "SELECT * FROM story_threads WHERE story_key = ? AND channel = ? "
                    "ORDER BY generation DESC, id DESC LIMIT 1",
                    (story.story_key, story.channel),
                )
                if latest is not None and (since is None or latest["first_at"] >= ts(since)):
                    return _thread(latest)
                generation = 1 if latest is None else int(latest["generation"] or 0) + 1
            cursor = db.execute(
                "INSERT INTO story_threads (rule_id, channel, channel_ref, link, title, "
                "parent_alert_id, parent_ref, sources, first_at, last_at, story_key, generation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    story.rule_id,
                    story.channel,
                    story.channel_ref,
                    story.link,
                    story.title,
                    story.parent_alert_id,
                    story.parent_ref,
                    ts(now),
                    ts(now),
                    story.story_key,
                    generation,
                ),
            )
            added = _row(db, "SELECT * FROM story_threads WHERE id = ?", (cursor.lastrowid,))
        assert added is not None
        return _thread(added)

    def add_thread_source(self, story_id: int, *, now: datetime) -> int:
        """Count one more source in a story's thread; the new count."""
        with self._transaction() as db:
            db.execute(
                "UPDATE story_threads SET sources = sources + 1, last_at = ? WHERE id = ?",
                (ts(now), story_id),
            )
            row = db.execute(
                "SELECT sources FROM story_threads WHERE id = ?", (story_id,)
            ).fetchone()
        return int(row[0])


def _row(db: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> sqlite3.Row | None:
    cursor = db.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    row: sqlite3.Row | None = cursor.fetchone()
    return row


def _thread(row: sqlite3.Row) -> StoryThread:
    return StoryThread(
        id=row["id"],
        rule_id=row["rule_id"],
        channel=row["channel"],
        channel_ref=row["channel_ref"],
        link=row["link"],
        title=row["title"],
        parent_alert_id=row["parent_alert_id"],
        parent_ref=row["parent_ref"],
        sources=row["sources"],
        story_key=row["story_key"],
    )
