"""The PostgreSQL store's FeedLeases and Instances ports (schema version 2):
which instance polls which feed, and each instance's heartbeats.

A claim locks the lease rows it takes with ``FOR UPDATE SKIP LOCKED``, in
the order the feeds are due: two instances claiming at once each pass over
the rows the other has locked, and a row another claim changed meanwhile is
judged again as it now stands, so no feed is leased twice. Nothing is
deferred in this store: a feed's next poll is in ``feeds`` once its poll
is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from monitor.domain.instance import InstanceRecord
from monitor.store.claims import claim_owner_gone
from monitor.store.postgres.core import PostgresCore


class PostgresFeedLeases(PostgresCore):
    """Feed leases (see monitor.store.ports.FeedLeases)."""

    def claim_due_feeds(
        self, due_first: Mapping[str, datetime], *, now: datetime, limit: int, lease: timedelta
    ) -> list[str]:
        """Due feeds leased to this owner, soonest first (see the port)."""
        if limit <= 0 or not due_first:
            return []
        # In name order: two instances naming new feeds at once then wait
        # for each other's rows in one order, never in a cycle.
        names = sorted(due_first)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO feed_leases (feed, first_due) "
                "SELECT * FROM unnest(%s::text[], %s::timestamptz[]) "
                "ON CONFLICT (feed) DO NOTHING",
                (names, [due_first[name] for name in names]),
            )
        gone = self._gone_lease_owners(names, now)
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE feed_leases SET owner = %s, until = %s FROM ("
                "SELECT l.feed, COALESCE(f.next_poll_at, l.first_due) AS due "
                "FROM feed_leases l LEFT JOIN feeds f ON f.name = l.feed "
                "WHERE l.feed = ANY(%s::text[]) "
                "AND (l.owner IS NULL OR l.until IS NULL OR l.until <= %s "
                "OR l.owner = ANY(%s::text[])) "
                "AND COALESCE(f.next_poll_at, l.first_due) <= %s "
                "ORDER BY due, l.feed LIMIT %s FOR UPDATE OF l SKIP LOCKED) AS chosen "
                "WHERE feed_leases.feed = chosen.feed RETURNING chosen.feed, chosen.due",
                (str(self.owner), now + lease, names, now, gone, now, limit),
            ).fetchall()
        return [row["feed"] for row in sorted(rows, key=lambda row: (row["due"], row["feed"]))]

    def _gone_lease_owners(self, names: Sequence[str], now: datetime) -> list[str]:
        """The owners of running leases of ``names`` known to be gone."""
        rows = self._query(
            "SELECT DISTINCT owner FROM feed_leases WHERE feed = ANY(%s::text[]) "
            "AND owner IS NOT NULL AND until > %s",
            (list(names), now),
        )
        return [row["owner"] for row in rows if claim_owner_gone(row["owner"], self.owner)]

    def renew_feed_leases(
        self, feeds: Sequence[str], *, now: datetime, lease: timedelta
    ) -> list[str]:
        """This owner's leases of ``feeds`` extended; the feeds it still holds."""
        if not feeds:
            return []
        rows = self._query(
            "UPDATE feed_leases SET until = %s WHERE owner = %s AND feed = ANY(%s::text[]) "
            "RETURNING feed",
            (now + lease, str(self.owner), list(feeds)),
        )
        held = {row["feed"] for row in rows}
        return [feed for feed in feeds if feed in held]

    def release_feed(self, feed: str) -> None:
        """This owner's lease of ``feed`` ended."""
        self._query(
            "UPDATE feed_leases SET owner = NULL, until = NULL WHERE feed = %s AND owner = %s",
            (feed, str(self.owner)),
        )


class PostgresInstances(PostgresCore):
    """Instances' heartbeats (see monitor.store.ports.Instances)."""

    def heartbeat(self, *, now: datetime, version: str) -> None:
        """This owner's heartbeat, upserted (its first one kept as its start)."""
        owner = self.owner
        self._query(
            "INSERT INTO instances (owner, host, pid, started_at, last_heartbeat, version) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (owner) DO UPDATE SET "
            "last_heartbeat = excluded.last_heartbeat, version = excluded.version",
            (str(owner), owner.host, owner.pid, now, now, version),
        )

    def instances(self, *, now: datetime) -> list[InstanceRecord]:
        """Every instance, newest heartbeat first, with its leases at ``now``."""
        rows = self._query(
            "SELECT i.*, (SELECT COUNT(*) FROM feed_leases l WHERE l.owner = i.owner "
            "AND l.until > %s) AS feeds_claimed FROM instances i "
            "ORDER BY i.last_heartbeat DESC, i.host, i.pid",
            (now,),
        )
        return [
            InstanceRecord(
                host=row["host"],
                pid=row["pid"],
                started_at=row["started_at"].astimezone(UTC),
                last_heartbeat=row["last_heartbeat"].astimezone(UTC),
                version=row["version"],
                feeds_claimed=row["feeds_claimed"],
            )
            for row in rows
        ]

    def forget_instances(self, *, before: datetime) -> int:
        """Instances last heard of before ``before`` deleted; how many."""
        with self._transaction() as conn:
            return conn.execute(
                "DELETE FROM instances WHERE last_heartbeat < %s", (before,)
            ).rowcount
