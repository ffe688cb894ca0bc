"""The PostgreSQL store's Incidents: failing and silent feeds (see
monitor.store.sqlite.incidents)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.domain.alert import RoutedAlert
from monitor.domain.feed import Incident
from monitor.domain.kinds import IncidentKind
from monitor.store.postgres.core import PostgresCore
from monitor.store.postgres.rows import queue, utc
from monitor.store.records import incident_of


class PostgresIncidents(PostgresCore):
    """Ops incidents (see monitor.store.ports.Incidents)."""

    def open_incidents(self, feed: str | None = None) -> list[Incident]:
        """The open incidents (of one feed, if given), oldest first."""
        rows = self._query(
            "SELECT * FROM incidents WHERE closed_at IS NULL "
            "AND (%s::text IS NULL OR feed = %s) ORDER BY id",
            (feed, feed),
        )
        return [incident_of(row, utc) for row in rows]

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
        False (and nothing queued) if one of that kind is open already (the
        unique index on open incidents decides, whoever opens it at once)."""
        with self._transaction() as conn:
            opened = conn.execute(
                "INSERT INTO incidents (feed, kind, since, detail, opened_at) "
                "VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (feed, kind) WHERE closed_at IS NULL DO NOTHING",
                (feed, kind, since, detail, now),
            ).rowcount
            if opened == 0:
                return False
            if alerts:
                queue(conn, alerts, now)
        return True

    def close_incident(
        self, incident_id: int, *, alerts: Sequence[RoutedAlert], now: datetime
    ) -> bool:
        """Close an incident and queue its recovery notice in one transaction."""
        with self._transaction() as conn:
            closed = conn.execute(
                "UPDATE incidents SET closed_at = %s WHERE id = %s AND closed_at IS NULL",
                (now, incident_id),
            ).rowcount
            if closed == 0:
                return False
            if alerts:
                queue(conn, alerts, now)
        return True
