"""The SQLite store's Incidents port: the incidents table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.domain.alert import RoutedAlert
from monitor.domain.feed import Incident
from monitor.domain.kinds import IncidentKind
from monitor.store.records import incident_of
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import queue, required_dt, ts


class SQLiteIncidents(SQLiteCore):
    """Ops incidents (see monitor.store.ports.Incidents)."""

    def open_incidents(self, feed: str | None = None) -> list[Incident]:
        """The open incidents (of one feed, if given), oldest first."""
        rows = self._query(
            "SELECT * FROM incidents WHERE closed_at IS NULL AND (? IS NULL OR feed = ?) "
            "ORDER BY id",
            (feed, feed),
        )
        return [incident_of(row, required_dt) for row in rows]

    def open_incident(
        self,
        *,
        feed: str,
        kind: IncidentKind,
        since: datetime,
        detail: str,
        alerts: Sequence[RoutedAlert],
        now: datetime,
    ) -> bool:
        """Record an incident and queue its ops alert in one transaction;
        False (and nothing queued) if one of that kind is open already."""
        stamp = ts(now)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO incidents (feed, kind, since, detail, opened_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (feed, kind, ts(since), detail, stamp),
            )
            if cursor.rowcount == 0:
                return False
            queue(db, alerts, stamp)
        return True

    def close_incident(
        self, incident_id: int, *, alerts: Sequence[RoutedAlert], now: datetime
    ) -> bool:
        """Close an incident and queue its recovery notice in one transaction."""
        stamp = ts(now)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (stamp, incident_id),
            )
            if cursor.rowcount == 0:
                return False
            queue(db, alerts, stamp)
        return True
