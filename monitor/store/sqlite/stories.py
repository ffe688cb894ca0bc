"""The SQLite store's Stories port: the stories table."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import Story
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import ts


class SQLiteStories(SQLiteCore):
    """Stories and their threads (see monitor.store.ports.Stories)."""

    def recent_stories(self, *, rule_id: str, channel: str, since: datetime) -> list[Story]:
        """A rule's stories in a channel begun since ``since``, newest first."""
        rows = self._query(
            "SELECT * FROM stories WHERE rule_id = ? AND channel = ? AND first_at >= ? ORDER BY id DESC",
            (rule_id, channel, ts(since)),
        )
        return [
            Story(
                id=row["id"],
                rule_id=row["rule_id"],
                channel=row["channel"],
                channel_ref=row["channel_ref"],
                link=row["link"],
                title=row["title"],
                parent_alert_id=row["parent_alert_id"],
                parent_ref=row["parent_ref"],
                sources=row["sources"],
            )
            for row in rows
        ]

    def add_story(self, story: Story, *, now: datetime) -> None:
        """Record a story begun now, with one source."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO stories (rule_id, channel, channel_ref, link, title, parent_alert_id, "
                "parent_ref, sources, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
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
                ),
            )

    def add_source(self, story_id: int, *, now: datetime) -> int:
        """Count one more source in a story's thread; the new count."""
        with self._transaction() as db:
            db.execute(
                "UPDATE stories SET sources = sources + 1, last_at = ? WHERE id = ?",
                (ts(now), story_id),
            )
            row = db.execute("SELECT sources FROM stories WHERE id = ?", (story_id,)).fetchone()
        return int(row[0])
