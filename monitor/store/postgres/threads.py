"""The PostgreSQL store's Threads: story threads per channel (see monitor.store.sqlite.threads)."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import StoryThread
from monitor.errors import StateError
from monitor.store.postgres.core import PostgresCore, Row

_INSERT = (
    "INSERT INTO story_threads (rule_id, channel, channel_ref, link, title, parent_alert_id, "
    "parent_ref, sources, first_at, last_at, story_key, generation) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s)"
)


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

    def add_thread(
        self, story: StoryThread, *, now: datetime, since: datetime | None = None
    ) -> StoryThread:
        """Record a story begun now, with one source; the thread recorded, or
        the story's thread another sender recorded first (see the port).

        Two instances recording one story's thread at once both number it
        the same; the unique key lets one insert through, and the other
        (waiting for it to commit, then doing nothing) reads the winner."""
        values = (
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
        )
        if story.story_key is None:
            rows = self._query(f"{_INSERT} RETURNING *", (*values, None))
            return _thread(rows[0])
        while True:
            latest = self._latest(story.story_key, story.channel)
            if latest is not None and (since is None or latest["first_at"] >= since):
                return _thread(latest)
            generation = 1 if latest is None else int(latest["generation"] or 0) + 1
            rows = self._query(
                f"{_INSERT} ON CONFLICT (story_key, channel, generation) DO NOTHING RETURNING *",
                (*values, generation),
            )
            if rows:
                return _thread(rows[0])

    def _latest(self, story_key: str, channel: str) -> Row | None:
        rows = self._query(
            "SELECT * FROM story_threads WHERE story_key = %s AND channel = %s "
            "ORDER BY generation DESC, id DESC LIMIT 1",
            (story_key, channel),
        )
        return rows[0] if rows else None

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
