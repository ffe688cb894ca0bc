"""The PostgreSQL store's Stories and feedback (see monitor.store.sqlite.stories).

Members of a story seen at the same moment come in the order they were
written (``story_members.position``), as in the SQLite store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from psycopg.types.json import Jsonb

from monitor.domain.alert import Alert
from monitor.domain.kinds import FeedbackKind
from monitor.domain.story import Feedback, Story, StoryMember, StoryUpdate
from monitor.errors import StateError
from monitor.store.postgres.core import Connection, PostgresCore, Row
from monitor.store.postgres.rows import optional_utc, utc
from monitor.store.records import feedback_of, story_of

STORY_PLACEMENT_LOCK = 0x6D6F6E5F73746F72
"""The advisory lock (a number of our own) that placing stories holds
across every instance sharing the database."""

_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
"""A read of stories and their members sees one moment of the database."""


class PostgresStories(PostgresCore):
    """Stories across feeds (see monitor.store.ports.Stories)."""

    @contextmanager
    def placing_stories(self) -> Iterator[None]:
        """Held from reading stories to committing the poll that placed
        alerts in them, by one instance at a time: a session advisory lock
        on a pooled connection of its own, which the server releases if
        this process dies holding it."""
        with self._pool.connection() as conn:  # pooled connections commit each statement
            conn.execute("SELECT pg_advisory_lock(%s)", (STORY_PLACEMENT_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (STORY_PLACEMENT_LOCK,))

    def recent_stories(self, *, rule_id: str, since: datetime) -> list[Story]:
        """A rule's stories last seen at or after ``since``, with their members, newest first."""
        with self._transaction() as conn:
            conn.execute(_SNAPSHOT)
            rows = conn.execute(
                "SELECT * FROM stories WHERE rule_id = %s AND last_seen_at >= %s "
                "ORDER BY last_seen_at DESC",
                (rule_id, since),
            ).fetchall()
            members = _members(conn, [row["key"] for row in rows])
        return [_story(row, members.get(row["key"], ())) for row in rows]

    def story(self, key: str) -> Story | None:
        """One story with its members; None if unknown (or pruned)."""
        with self._transaction() as conn:
            conn.execute(_SNAPSHOT)
            row = conn.execute("SELECT * FROM stories WHERE key = %s", (key,)).fetchone()
            members = _members(conn, [key]) if row is not None else {}
        return _story(row, members.get(key, ())) if row is not None else None

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
        rows = self._query(
            "INSERT INTO feedback (kind, alert_id, story_key, rule_id, user_id, user_name, at, "
            "alert) SELECT %s, id, story_key, rule_id, %s, %s, %s, payload FROM alerts "
            "WHERE id = %s RETURNING id, alert",
            (kind, user_id, user_name, now, alert_id),
        )
        if not rows:
            return None
        return Feedback(
            id=int(rows[0]["id"]),
            kind=kind,
            alert=Alert.from_json(str(rows[0]["alert"])),
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
        rows = self._query(
            "SELECT * FROM feedback WHERE kind = ANY(%s) "
            "AND (%s::bigint IS NULL OR alert_id = %s) ORDER BY id DESC LIMIT %s",
            (list(kinds), alert_id, alert_id, max(limit, 0)),
        )
        return [feedback_of(row, utc) for row in rows]


def write_stories(conn: Connection, updates: Sequence[StoryUpdate]) -> None:
    """Write stories as they now stand, with their new members, inside a commit
    (an escalation is kept as first recorded)."""
    with conn.cursor() as cursor:
        for update in updates:
            story = update.story
            cursor.execute(
                "INSERT INTO stories (key, rule_id, title, severity, first_seen_at, "
                "last_seen_at, sources, official, escalated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (key) DO UPDATE SET title = excluded.title, "
                "severity = excluded.severity, last_seen_at = excluded.last_seen_at, "
                "sources = excluded.sources, official = excluded.official, "
                "escalated_at = COALESCE(stories.escalated_at, excluded.escalated_at)",
                (
                    story.key,
                    story.rule_id,
                    story.title,
                    story.severity.value,
                    story.first_seen_at,
                    story.last_seen_at,
                    Jsonb(list(story.sources)),
                    story.official,
                    story.escalated_at,
                ),
            )
            if update.new_members:
                cursor.executemany(
                    "INSERT INTO story_members (story_key, item_identity, feed, publisher, "
                    "link, title, seen_at, text) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (story_key, item_identity) DO NOTHING",
                    [
                        (
                            story.key,
                            member.item_identity,
                            member.feed,
                            member.publisher,
                            member.link,
                            member.title,
                            member.seen_at,
                            Jsonb(dict(member.text)),
                        )
                        for member in update.new_members
                    ],
                )


def _members(conn: Connection, keys: Sequence[str]) -> dict[str, list[StoryMember]]:
    found: dict[str, list[StoryMember]] = {}
    rows = conn.execute(
        "SELECT * FROM story_members WHERE story_key = ANY(%s) "
        "ORDER BY story_key, seen_at, position",
        (list(keys),),
    ).fetchall()
    for row in rows:
        text = row["text"]
        if not isinstance(text, dict):
            raise StateError(f"story {row['story_key']}: a member's text is not a JSON object")
        found.setdefault(row["story_key"], []).append(
            StoryMember(
                item_identity=row["item_identity"],
                feed=row["feed"],
                publisher=row["publisher"],
                link=row["link"],
                title=row["title"],
                seen_at=utc(row["seen_at"]),
                text=text,
            )
        )
    return found


def _story(row: Row, members: Sequence[StoryMember]) -> Story:
    return story_of(row, members, sources=row["sources"], moment=utc, optional_moment=optional_utc)
