"""The PostgreSQL store's Silences (see monitor.store.sqlite.silences).

As in the SQLite store, the NOT NULL ``rule_id`` column holds an empty
string for a scope that names no rule, read back as None.
"""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import Silence, SilenceScope
from monitor.store.postgres.core import PostgresCore
from monitor.store.postgres.rows import utc
from monitor.store.records import silence_of

ANY_RULE = ""
"""What the rule_id column holds for a scope that names no rule."""


class PostgresSilences(PostgresCore):
    """Silences (see monitor.store.ports.Silences)."""

    def add_silence(
        self, *, scope: SilenceScope, until: datetime, reason: str, author: str, now: datetime
    ) -> Silence:
        """Silence what ``scope`` covers until ``until``; the silence recorded."""
        if scope == SilenceScope():
            raise ValueError("a silence needs a scope: a rule, story, feed, severity or keyword")
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO silences (rule_id, story_key, feed, severity, keyword, until, "
                "reason, author, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id",
                (
                    scope.rule_id or ANY_RULE,
                    scope.story_key,
                    scope.feed,
                    scope.severity.value if scope.severity else None,
                    scope.keyword,
                    until,
                    reason,
                    author,
                    now,
                ),
            ).fetchone()
        assert row is not None
        return Silence(int(row["id"]), scope, until, reason, now, author)

    def active_silences(self, now: datetime) -> list[Silence]:
        """Silences neither removed nor over at ``now``, oldest first."""
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until > %s ORDER BY id", (now,)
        )
        return [silence_of(row, utc) for row in rows]

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool:
        """End a silence early; False if there is no such active silence."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE silences SET removed_at = %s WHERE id = %s AND removed_at IS NULL",
                (now, silence_id),
            )
            return cursor.rowcount == 1

    def ended_silences(self, now: datetime) -> list[Silence]:
        """Silences over at ``now``, not removed, whose end had no notice yet, oldest first."""
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until <= %s "
            "AND ended_notice_at IS NULL ORDER BY id",
            (now,),
        )
        return [silence_of(row, utc) for row in rows]

    def mark_silence_ended_notice(self, silence_id: int, *, now: datetime) -> bool:
        """Record the notice of a silence's end; False if it had one already."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE silences SET ended_notice_at = %s "
                "WHERE id = %s AND ended_notice_at IS NULL",
                (now, silence_id),
            )
            return cursor.rowcount == 1

    def silenced_count(self, silence_id: int) -> int:
        """How many outbox alerts the silence held back, one per channel."""
        # mark_silenced (monitor.store.postgres.outbox) names the silence so:
        # "silenced by silence <id>: <reason>"; the colon ends the id.
        rows = self._query(
            "SELECT COUNT(*) AS held FROM alerts WHERE status = 'silenced' "
            "AND starts_with(last_error, %s)",
            (f"silenced by silence {silence_id}:",),
        )
        return int(rows[0]["held"])
