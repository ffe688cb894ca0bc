"""The PostgreSQL store's FeedLeases and Instances ports (schema version 2):
which instance polls which feed, and each instance's heartbeats.

A claim locks the lease rows it takes with ``FOR UPDATE SKIP LOCKED``, in
the order the feeds are due: two instances claiming at once each pass over
the rows the other has locked, and a row another claim changed meanwhile is
judged again as it now stands, so no feed is leased twice. Nothing is
deferred in this store: a feed's next poll is in ``feeds`` once its poll
is committed.

Leases taken, renewed and released, and heartbeats, commit without waiting
for the disk (LAZY_COMMIT, see monitor.store.postgres.core): a crash of the
server may lose the last of them, so a feed is polled once more, or waits
for a lease that was released to run out. Lists of names go to the server
in binary (``%b``): PostgreSQL's text form of an array is quoted and
escaped element by element, in Python, and a claim names every feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from monitor.domain.instance import InstanceRecord
from monitor.store.claims import claim_owner_gone
from monitor.store.postgres.core import LAZY_COMMIT, PostgresCore

_CLAIM = (
    "UPDATE feed_leases SET owner = %s, until = %s FROM ("  # noqa: S608 - constants
    "SELECT l.feed, COALESCE(f.next_poll_at, l.first_due) AS due "
    "FROM feed_leases l LEFT JOIN feeds f ON f.name = l.feed "
    "WHERE l.feed = ANY(%b::text[]) "
    "AND (l.owner IS NULL OR l.until IS NULL OR l.until <= %s "
    "OR l.owner = ANY(%b::text[])) "
    "AND COALESCE(f.next_poll_at, l.first_due) <= %s "
    "ORDER BY due, l.feed LIMIT %s FOR UPDATE OF l SKIP LOCKED) AS chosen, "
    f"{LAZY_COMMIT} WHERE feed_leases.feed = chosen.feed "
    "RETURNING chosen.feed, chosen.due"
)
"""Lease the due feeds of those named that no one holds (or whose holder is
gone), soonest first, in one statement."""

_RENEW = (
    f"UPDATE feed_leases SET until = %s FROM {LAZY_COMMIT} "  # noqa: S608 - a constant
    "WHERE owner = %s AND feed = ANY(%b::text[]) RETURNING feed"
)

_RELEASE = (
    f"UPDATE feed_leases SET owner = NULL, until = NULL FROM {LAZY_COMMIT} "  # noqa: S608
    "WHERE feed = %s AND owner = %s"
)

_HEARTBEAT = (
    "INSERT INTO instances (owner, host, pid, started_at, last_heartbeat, version) "  # noqa: S608
    f"SELECT %s, %s, %s, %s, %s, %s FROM {LAZY_COMMIT} "
    "ON CONFLICT (owner) DO UPDATE SET "
    "last_heartbeat = excluded.last_heartbeat, version = excluded.version"
)
"""This owner's heartbeat, its first one kept as its start."""


class PostgresFeedLeases(PostgresCore):
    """Feed leases (see monitor.store.ports.FeedLeases)."""

    _named: frozenset[str] = frozenset()
    """The feeds this store knows have a row in ``feed_leases`` (it inserted
    them, or found them there): a claim inserts only the others, where
    inserting every feed at every claim cost more than the claim itself.
    Nothing deletes those rows; one that did would have to forget these."""

    def claim_due_feeds(
        self, due_first: Mapping[str, datetime], *, now: datetime, limit: int, lease: timedelta
    ) -> list[str]:
        """Due feeds leased to this owner, soonest first (see the port)."""
        if limit <= 0 or not due_first:
            return []
        # In name order: two instances naming new feeds at once then wait
        # for each other's rows in one order, never in a cycle.
        names = sorted(due_first)
        new = [name for name in names if name not in self._named]
        if new:
            self._query(
                "INSERT INTO feed_leases (feed, first_due) "
                "SELECT * FROM unnest(%b::text[], %b::timestamptz[]) "
                "ON CONFLICT (feed) DO NOTHING",
                (new, [due_first[name] for name in new]),
            )
            self._named = self._named | frozenset(new)
        gone = self._gone_lease_owners(now)
        rows = self._query(
            _CLAIM,
            (str(self.owner), now + lease, names, now, gone, now, limit),
        )
        return [row["feed"] for row in sorted(rows, key=lambda row: (row["due"], row["feed"]))]

    def _gone_lease_owners(self, now: datetime) -> list[str]:
        """The owners of running leases known to be gone: read through the
        index of held leases (``feed_leases_by_owner``), whatever feeds they
        are of, as the claim looks only at the feeds it names."""
        rows = self._query(
            "SELECT DISTINCT owner FROM feed_leases WHERE owner IS NOT NULL AND until > %s",
            (now,),
        )
        return [row["owner"] for row in rows if claim_owner_gone(row["owner"], self.owner)]

    def renew_feed_leases(
        self, feeds: Sequence[str], *, now: datetime, lease: timedelta
    ) -> list[str]:
        """This owner's leases of ``feeds`` extended; the feeds it still holds."""
        if not feeds:
            return []
        rows = self._query(
            _RENEW,
            (now + lease, str(self.owner), list(feeds)),
        )
        held = {row["feed"] for row in rows}
        return [feed for feed in feeds if feed in held]

    def release_feed(self, feed: str) -> None:
        """This owner's lease of ``feed`` ended."""
        self._query(
            _RELEASE,
            (feed, str(self.owner)),
        )


class PostgresInstances(PostgresCore):
    """Instances' heartbeats (see monitor.store.ports.Instances)."""

    def heartbeat(self, *, now: datetime, version: str) -> None:
        """This owner's heartbeat, upserted (its first one kept as its start)."""
        owner = self.owner
        self._query(
            _HEARTBEAT,
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

    def leave(self) -> None:
        """This owner's instance deleted."""
        self._query("DELETE FROM instances WHERE owner = %s", (str(self.owner),))
