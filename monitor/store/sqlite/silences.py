"""The SQLite store's Silences port: the silences table.

The table's ``rule_id`` column predates scopes and is NOT NULL: a silence
whose scope names no rule stores an empty string there, read back as None.
"""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import Silence, SilenceScope
from monitor.store.records import silence_of
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import required_dt, ts

ANY_RULE = ""
"""What the rule_id column holds for a scope that names no rule."""


class SQLiteSilences(SQLiteCore):
    """Silences (see monitor.store.ports.Silences)."""

    def add_silence(
        self, *, scope: SilenceScope, until: datetime, reason: str, author: str, now: datetime
    ) -> Silence:
        """Silence what ``scope`` covers until ``until``; the silence recorded."""
        if scope == SilenceScope():
            raise ValueError("a silence needs a scope: a rule, story, feed, severity or keyword")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO silences (rule_id, story_key, feed, severity, keyword, until, "
                "reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope.rule_id or ANY_RULE,
                    scope.story_key,
                    scope.feed,
                    scope.severity.value if scope.severity else None,
                    scope.keyword,
                    ts(until),
                    reason,
                    author,
                    ts(now),
                ),
            )
            silence_id = cursor.lastrowid
        assert silence_id is not None
        return Silence(silence_id, scope, until, reason, now, author)

    def active_silences(self, now: datetime) -> list[Silence]:
        """Silences neither removed nor over at ``now``, oldest first."""
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until > ? ORDER BY id", (ts(now),)
        )
        return [silence_of(row, required_dt) for row in rows]

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool:
        """End a silence early; False if there is no such active silence."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE silences SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (ts(now), silence_id),
            )
            return cursor.rowcount == 1

    def ended_silences(self, now: datetime) -> list[Silence]:
        """Silences over at ``now``, not removed, whose end had no notice yet, oldest first."""
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until <= ? "
            "AND ended_notice_at IS NULL ORDER BY id",
            (ts(now),),
        )
        return [silence_of(row, required_dt) for row in rows]

    def mark_silence_ended_notice(self, silence_id: int, *, now: datetime) -> bool:
        """Record the notice of a silence's end; False if it had one already."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE silences SET ended_notice_at = ? WHERE id = ? AND ended_notice_at IS NULL",
                (ts(now), silence_id),
            )
            return cursor.rowcount == 1

    def silenced_count(self, silence_id: int) -> int:
        """How many outbox alerts the silence held back, one per channel."""
        # mark_silenced (monitor.store.sqlite.outbox) names the silence so:
        # "silenced by silence <id>: <reason>"; the colon ends the id.
        prefix = f"silenced by silence {silence_id}:"
        rows = self._query(
            "SELECT COUNT(*) FROM alerts WHERE status = 'silenced' AND substr(last_error, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return int(rows[0][0])
