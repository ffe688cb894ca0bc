"""The PostgreSQL store's Threads: story threads per channel (see monitor.store.sqlite.threads)."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import StoryThread
from monitor.errors import StateError
from monitor.store.postgres.core import PostgresCore, Row


class PostgresThreads(PostgresCore):
    """Stories told in a channel's thread (see monitor.store.ports.Threads)."""

    def recent_threads(self, *, rule_id: str, channel: str, since: datetime) -> list[StoryThread]:
        """A rule's stories in a channel begun since ``since``, newest first."""
        rows = self._query(
            "SELECT * FROM story_threads WHERE rule_id = %s AND channel = %s AND first_at >= %s "
            "ORDER BY id DESC",
            (rule_id, channel, since),
        )
        return [_thread(row) for row in rows]

    def thread_of_story(
        self, story_key: str, channel: str, *, since: datetime
    ) -> StoryThread | None:
        """The latest thread the story began in the channel since ``since``."""
        rows = self._query(
            "SELECT * FROM story_threads WHERE story_key = %s AND channel = %s AND first_at >= %s "
            "ORDER BY id DESC LIMIT 1",
            (story_key, channel, since),
        )
        return _thread(rows[0]) if rows else None

    def add_thread(self, story: StoryThread, *, now: datetime) -> None:
        """Record a story begun now, with one source."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO story_threads (rule_id, channel, channel_ref, link, title, "
                "parent_alert_id, parent_ref, sources, first_at, last_at, story_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)",
                (
                    story.rule_id,
                    story.channel,
                    story.channel_ref,
                    story.link,
                    story.title,
                    story.parent_alert_id,
                    story.parent_ref,
                    now,
                    now,
                    story.story_key,
                ),
            )

    def add_thread_source(self, story_id: int, *, now: datetime) -> int:
        """Count one more source in a story's thread; the new count (one
        statement, so that two instances counting at once both count)."""
        rows = self._query(
            "UPDATE story_threads SET sources = sources + 1, last_at = %s WHERE id = %s "
            "RETURNING sources",
            (now, story_id),
        )
        if not rows:
            raise StateError(f"no story thread {story_id} in {self.where}")
        return int(rows[0]["sources"])


def _thread(row: Row) -> StoryThread:
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
