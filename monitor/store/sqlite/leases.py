"""The SQLite store's FeedLeases and Instances ports (schema version 10):
which process polls which feed, and each process's heartbeats.

A claim reads the candidate leases, judges them and writes the chosen ones
in one BEGIN IMMEDIATE transaction: the store's lock serialises this
process's threads, the database's write lock the processes sharing the file.
Timestamps of unchanged polls may wait in this store's memory
(monitor.store.sqlite.deferral): a claim reads a feed's next poll through
them, and a release writes them out with the release, so that another
process sees the feed's next poll as soon as it sees the lease free.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from monitor.domain.instance import InstanceRecord
from monitor.store.claims import claim_owner_gone
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.deferral import DEFERRED_NOT_MODIFIED, Deferred, applies
from monitor.store.sqlite.rows import dt, required_dt, ts


def _due_at(row: sqlite3.Row, deferred: Deferred | None) -> datetime:
    """When a lease row's feed is due: its next poll (a deferred one first),
    else when it was first due."""
    if deferred is not None and deferred[2] is not None and applies(deferred, row):
        return required_dt(deferred[2])
    return dt(row["next_poll_at"]) or required_dt(row["first_due"])


class SQLiteFeedLeases(SQLiteCore):
    """Feed leases (see monitor.store.ports.FeedLeases)."""

    def claim_due_feeds(
        self, due_first: Mapping[str, datetime], *, now: datetime, limit: int, lease: timedelta
    ) -> list[str]:
        """Due feeds leased to this owner, soonest first (see the port)."""
        if limit <= 0 or not due_first:
            return []
        names = sorted(due_first)
        owner = str(self.owner)
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO feed_leases (feed, first_due) VALUES (?, ?) "
                "ON CONFLICT (feed) DO NOTHING",
                [(name, ts(due_first[name])) for name in names],
            )
            cursor = db.execute(
                "SELECT l.feed, l.owner, l.until, l.first_due, f.url, f.last_polled_at, "
                "f.next_poll_at FROM feed_leases l LEFT JOIN feeds f ON f.name = l.feed "
                "WHERE l.feed IN (SELECT value FROM json_each(?))",
                (json.dumps(names),),
            )
            cursor.row_factory = sqlite3.Row
            rows = cursor.fetchall()
            gone = self._gone_lease_owners(rows, now)
            due: list[tuple[datetime, str]] = []
            for row in rows:
                until = dt(row["until"])
                held = row["owner"] is not None and until is not None and until > now
                if held and row["owner"] not in gone:
                    continue
                at = _due_at(row, self._deferred.get(row["feed"]))
                if at <= now:
                    due.append((at, row["feed"]))
            chosen = [feed for _, feed in sorted(due)[:limit]]
            db.executemany(
                "UPDATE feed_leases SET owner = ?, until = ? WHERE feed = ?",
                [(owner, ts(now + lease), feed) for feed in chosen],
            )
        return chosen

    def _gone_lease_owners(self, rows: Sequence[sqlite3.Row], now: datetime) -> set[str]:
        """The owners of leases still running among ``rows`` known to be gone."""
        running = {
            row["owner"]
            for row in rows
            if row["owner"] is not None and (dt(row["until"]) or now) > now
        }
        return {owner for owner in running if claim_owner_gone(owner, self.owner)}

    def renew_feed_leases(
        self, feeds: Sequence[str], *, now: datetime, lease: timedelta
    ) -> list[str]:
        """This owner's leases of ``feeds`` extended; the feeds it still holds."""
        if not feeds:
            return []
        owner, named = str(self.owner), json.dumps(list(feeds))
        with self._transaction() as db:
            db.execute(
                "UPDATE feed_leases SET until = ? WHERE owner = ? "
                "AND feed IN (SELECT value FROM json_each(?))",
                (ts(now + lease), owner, named),
            )
            held = {
                str(row[0])
                for row in db.execute(
                    "SELECT feed FROM feed_leases WHERE owner = ? "
                    "AND feed IN (SELECT value FROM json_each(?))",
                    (owner, named),
                )
            }
        return [feed for feed in feeds if feed in held]

    def release_feed(self, feed: str) -> None:
        """The lease ended, and the feed's deferred timestamps written with it
        (without the fsync, as the deferral would: see SQLiteCore._bookkeeping)."""
        with self._lock:
            pending = self._deferred.get(feed)
            db = self._bookkeeping_db
            with self._translated():
                try:
                    db.execute("BEGIN")
                    if pending is not None:
                        db.execute(DEFERRED_NOT_MODIFIED, pending)
                    db.execute(
                        "UPDATE feed_leases SET owner = NULL, until = NULL "
                        "WHERE feed = ? AND owner = ?",
                        (feed, str(self.owner)),
                    )
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            if pending is not None:
                self._deferred.supersede(feed)


class SQLiteInstances(SQLiteCore):
    """Instances' heartbeats (see monitor.store.ports.Instances)."""

    def heartbeat(self, *, now: datetime, version: str) -> None:
        """Written without the fsync (see SQLiteCore._bookkeeping): a lost
        heartbeat is the next one's to give."""
        owner = self.owner
        self._bookkeeping(
            "INSERT INTO instances (owner, host, pid, started_at, last_heartbeat, version) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET "
            "last_heartbeat = excluded.last_heartbeat, version = excluded.version",
            (str(owner), owner.host, owner.pid, ts(now), ts(now), version),
        )

    def instances(self, *, now: datetime) -> list[InstanceRecord]:
        """Every instance, newest heartbeat first, with its leases at ``now``."""
        rows = self._query(
            "SELECT i.*, (SELECT COUNT(*) FROM feed_leases l WHERE l.owner = i.owner "
            "AND l.until > ?) AS feeds_claimed FROM instances i "
            "ORDER BY i.last_heartbeat DESC, i.host, i.pid",
            (ts(now),),
        )
        return [
            InstanceRecord(
                host=row["host"],
                pid=row["pid"],
                started_at=required_dt(row["started_at"]),
                last_heartbeat=required_dt(row["last_heartbeat"]),
                version=row["version"],
                feeds_claimed=row["feeds_claimed"],
            )
            for row in rows
        ]

    def forget_instances(self, *, before: datetime) -> int:
        """Instances last heard of before ``before`` deleted; how many."""
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM instances WHERE last_heartbeat < ?", (ts(before),)
            ).rowcount

    def leave(self) -> None:
        """This owner's instance deleted."""
        with self._transaction() as db:
            db.execute("DELETE FROM instances WHERE owner = ?", (str(self.owner),))
