"""The SQLite store's Silences port: the silences table."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import Silence
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import required_dt, ts


class SQLiteSilences(SQLiteCore):
    """Silences (see monitor.store.ports.Silences)."""

    def add_silence(self, *, rule_id: str, until: datetime, reason: str, now: datetime) -> Silence:
        """Silence a rule until ``until``; the silence recorded."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO silences (rule_id, until, reason, created_at) VALUES (?, ?, ?, ?)",
                (rule_id, ts(until), reason, ts(now)),
            )
            silence_id = cursor.lastrowid
        assert silence_id is not None
        return Silence(silence_id, rule_id, until, reason, now)

    def active_silences(self, now: datetime) -> list[Silence]:
        """Silences neither removed nor over at ``now``, oldest first."""
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until > ? ORDER BY id", (ts(now),)
        )
        return [
            Silence(
                row["id"],
                row["rule_id"],
                required_dt(row["until"]),
                row["reason"],
                required_dt(row["created_at"]),
            )
            for row in rows
        ]

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool:
        """End a silence early; False if there is no such active silence."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE silences SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (ts(now), silence_id),
            )
            return cursor.rowcount == 1
