"""The SQLite store's FeedStates port: the feeds table, and each poll's outcome."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from monitor.domain.feed import FeedHealth, FeedState
from monitor.domain.kinds import FeedErrorKind
from monitor.domain.poll import PollOutcome
from monitor.store.sqlite.archive import write_archive
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.deferral import NOT_MODIFIED, after_write, applies, deferred_write
from monitor.store.sqlite.lists import write_list_update
from monitor.store.sqlite.rows import (
    OPEN_INCIDENTS,
    dt,
    feed_state,
    gap,
    incident_kinds,
    optional_ts,
    queue,
    record_folded,
    ts,
)
from monitor.store.sqlite.stories import write_stories

HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
"""UPDATE ... RETURNING came with SQLite 3.35; older ones (Debian 11,
Ubuntu 20.04) read the row back with a second statement."""


class SQLiteFeedStates(SQLiteCore):
    """Feeds and polls (see monitor.store.ports.FeedStates)."""

    def feed_state(self, name: str) -> FeedState | None:
        """The feed's row, with its deferred timestamps laid over it."""
        # Writing every feed's deferral first, at the start of every poll,
        # would defer nothing.
        with self._lock:
            rows = self._query(
                f"SELECT *, {OPEN_INCIDENTS} FROM feeds WHERE name = ?",  # noqa: S608 - a constant
                (name,),
            )
            deferred = self._deferred.get(name)
        if not rows:
            return None
        state = feed_state(rows[0])
        if deferred is not None and applies(deferred, rows[0]):
            state = after_write(state, deferred)
        return state

    def feed_states(self) -> list[FeedState]:
        """Every feed's row, deferred timestamps laid over them."""
        # Read only: a health probe every few seconds must not force the
        # deferred writes out.
        with self._lock:
            rows = self._query(
                f"SELECT *, {OPEN_INCIDENTS} FROM feeds ORDER BY name",  # noqa: S608 - a constant
            )
            deferred = self._deferred.all()
        states = []
        for row in rows:
            state = feed_state(row)
            pending = deferred.get(state.name)
            if pending is not None and applies(pending, row):
                state = after_write(state, pending)
            states.append(state)
        return states

    def feed_health(self) -> list[FeedHealth]:
        """Every feed with its counts, as the file stands (deferred writes written first)."""
        self.sync()
        rows = self._query(
            "SELECT f.*, "
            "(SELECT COUNT(*) FROM seen s WHERE s.feed = f.name AND s.key NOT LIKE 'link+title:%') "
            "AS items_seen, "
            "(SELECT COUNT(DISTINCT a.rule_id || ' ' || a.item_identity) FROM alerts a "
            "WHERE a.feed = f.name AND a.rule_id NOT LIKE 'ops.%') AS alerts_raised, "
            "(SELECT GROUP_CONCAT(i.kind) FROM incidents i WHERE i.feed = f.name "
            "AND i.closed_at IS NULL) AS incidents FROM feeds f ORDER BY f.name"
        )
        return [
            FeedHealth(
                name=row["name"],
                url=row["url"],
                last_success_at=dt(row["last_success_at"]),
                last_polled_at=dt(row["last_polled_at"]),
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                consecutive_failures=row["consecutive_failures"],
                next_poll_at=dt(row["next_poll_at"]),
                items_seen=row["items_seen"],
                alerts_raised=row["alerts_raised"],
                failing_since=dt(row["failing_since"]),
                last_item_at=dt(row["last_item_at"]),
                publish_gap=gap(row["publish_gap"]),
                incidents=incident_kinds(row["incidents"]),
                first_success_at=dt(row["first_success_at"]),
            )
            for row in rows
        ]

    def commit_poll(self, outcome: PollOutcome, *, now: datetime) -> int:
        """Seen records, archived items, queued and folded alerts, and the
        feed's row, in one transaction."""
        stamp = ts(now)
        feed, validators = outcome.feed, outcome.validators
        self._deferred.supersede(feed)
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO seen (feed, key, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (feed, key) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                [(feed, key, stamp, stamp) for item in outcome.items for key in item.seen_keys],
            )
            write_archive(db, outcome, stamp)
            queued = queue(db, outcome.alerts, stamp)
            record_folded(db, outcome.folded, stamp)
            if outcome.list_update is not None:
                write_list_update(db, outcome.list_update, stamp)
            write_stories(db, outcome.stories)  # stories carry their own times
            db.execute(
                "INSERT INTO feeds (name, url, etag, last_modified, first_success_at, last_success_at, "
                "last_polled_at, consecutive_failures) VALUES (?, ?, ?, ?, ?, ?, ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = excluded.etag, "
                "last_modified = excluded.last_modified, "
                "first_success_at = CASE WHEN feeds.url = excluded.url "
                "THEN COALESCE(feeds.first_success_at, excluded.first_success_at) "
                "ELSE excluded.first_success_at END, "
                "last_success_at = excluded.last_success_at, last_polled_at = excluded.last_polled_at, "
                "last_error = NULL, last_error_kind = NULL, consecutive_failures = 0",
                (feed, outcome.url, validators.etag, validators.last_modified, stamp, stamp, stamp),
            )
            newest = outcome.newest_item_at
            db.execute(
                "UPDATE feeds SET body_hash = ?, failing_since = NULL, "
                "next_poll_at = COALESCE(?, next_poll_at), "
                "publish_gap = COALESCE(?, publish_gap), "
                "last_item_at = CASE WHEN ? IS NULL THEN COALESCE(last_item_at, ?) "
                "ELSE MAX(COALESCE(last_item_at, ''), ?) END WHERE name = ?",
                (
                    outcome.body_hash,
                    optional_ts(outcome.next_poll_at),
                    outcome.publish_gap.total_seconds()
                    if outcome.publish_gap is not None
                    else None,
                    *((None, stamp, None) if newest is None else (1, stamp, ts(newest))),
                    feed,
                ),
            )
        return queued

    def record_not_modified(
        self, *, feed: str, url: str, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState | None:
        """Written at once, without the fsync (see SQLiteCore._bookkeeping)."""
        stamp = ts(now)
        params = (stamp, stamp, ts(next_poll_at) if next_poll_at else None, feed, url)
        self._deferred.supersede(feed)
        if not HAS_RETURNING:
            self._bookkeeping(NOT_MODIFIED, params)
            state = self.feed_state(feed)
            return state if state is not None and state.url == url else None
        rows = self._bookkeeping(f"{NOT_MODIFIED} RETURNING *, {OPEN_INCIDENTS}", params)
        return feed_state(rows[0]) if rows else None

    def record_unchanged(
        self, state: FeedState, *, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState:
        """Like record_not_modified, for a feed whose state at the poll's
        start was ``state``; returns the state it leaves.

        For a healthy feed the write only moves timestamps: it is deferred
        (see monitor.store.sqlite.deferral). Until it is written this
        store's feed_state shows it; other processes see it when it is
        written. A later write of the feed's poll, here or by another
        process, supersedes it. A failing feed's recovery is written at once.
        """
        healthy = (
            state.consecutive_failures == 0
            and state.last_error is None
            and state.last_error_kind is None
            and state.failing_since is None
        )
        if not healthy:
            after = self.record_not_modified(
                feed=state.name, url=state.url, now=now, next_poll_at=next_poll_at
            )
            return after if after is not None else state
        deferred = deferred_write(
            state.name, state.url, ts(now), ts(next_poll_at) if next_poll_at else None
        )
        self._deferred.defer(state.name, deferred)
        return after_write(state, deferred)

    def record_failure(
        self,
        *,
        feed: str,
        url: str,
        kind: FeedErrorKind,
        message: str,
        now: datetime,
        next_poll_at: datetime | None = None,
    ) -> None:
        """Written at once, without the fsync (see SQLiteCore._bookkeeping)."""
        stamp = ts(now)
        self._deferred.supersede(feed)
        self._bookkeeping(
            "INSERT INTO feeds (name, url, last_polled_at, last_error, last_error_kind, "
            "consecutive_failures, failing_since, next_poll_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET last_polled_at = excluded.last_polled_at, "
            "last_error = excluded.last_error, last_error_kind = excluded.last_error_kind, "
            "consecutive_failures = feeds.consecutive_failures + 1, "
            "failing_since = COALESCE(feeds.failing_since, excluded.failing_since), "
            "next_poll_at = COALESCE(excluded.next_poll_at, feeds.next_poll_at)",
            (feed, url, stamp, message, kind, stamp, ts(next_poll_at) if next_poll_at else None),
        )
