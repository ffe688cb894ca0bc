"""The PostgreSQL store's FeedStates: each feed's state, and a poll's commit
(see monitor.store.sqlite.feeds).

Nothing is deferred: an unchanged poll's timestamps are written at once, so
every instance sharing the database sees them. That write alone commits
without waiting for the disk (LAZY_COMMIT, see monitor.store.postgres.core):
a crash of the server may lose it, and the feed is then polled again sooner.
"""

from __future__ import annotations

from datetime import datetime

from monitor.domain.feed import FeedHealth, FeedState
from monitor.domain.kinds import FeedErrorKind
from monitor.domain.poll import PollOutcome
from monitor.store.postgres.archive import write_archive
from monitor.store.postgres.core import LAZY_COMMIT, PostgresCore
from monitor.store.postgres.feed_rows import (
    OPEN_INCIDENTS,
    feed_state,
    gap,
    incident_kinds,
    seconds,
    unchanged_after,
)
from monitor.store.postgres.lists import write_list_update
from monitor.store.postgres.rows import optional_utc, queue, record_folded
from monitor.store.postgres.stories import write_stories

_BY_NAME = 'ORDER BY name COLLATE "C"'
"""Feeds in the order of their names' bytes, as the SQLite store lists them,
whatever the database's collation."""

_SUCCEEDED = (
    "INSERT INTO feeds (name, url, etag, last_modified, first_success_at, last_success_at, "
    "last_polled_at, consecutive_failures, body_hash, next_poll_at, publish_gap, last_item_at) "
    "VALUES (%(feed)s, %(url)s, %(etag)s, %(last_modified)s, %(now)s, %(now)s, %(now)s, 0, "
    "%(body_hash)s, %(next_poll_at)s, %(publish_gap)s, COALESCE(%(newest)s::timestamptz, %(now)s)) "
    "ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = excluded.etag, "
    "last_modified = excluded.last_modified, "
    "first_success_at = CASE WHEN feeds.url = excluded.url "
    "THEN COALESCE(feeds.first_success_at, excluded.first_success_at) "
    "ELSE excluded.first_success_at END, "
    "last_success_at = excluded.last_success_at, last_polled_at = excluded.last_polled_at, "
    "last_error = NULL, last_error_kind = NULL, consecutive_failures = 0, "
    "failing_since = NULL, body_hash = excluded.body_hash, "
    "next_poll_at = COALESCE(excluded.next_poll_at, feeds.next_poll_at), "
    "publish_gap = COALESCE(excluded.publish_gap, feeds.publish_gap), "
    "last_item_at = CASE WHEN %(newest)s::timestamptz IS NULL "
    "THEN COALESCE(feeds.last_item_at, excluded.last_item_at) "
    # GREATEST skips a NULL: a feed's first dated item sets it.
    "ELSE GREATEST(feeds.last_item_at, %(newest)s::timestamptz) END"
)
"""A successful poll's row of the feed, in one statement."""

_MARK_SEEN = (
    "INSERT INTO seen (feed, key, first_seen_at, last_seen_at) "
    "SELECT %(feed)s, key, %(now)s, %(now)s FROM unnest(%(keys)b::text[]) AS key "
    "ON CONFLICT (feed, key) DO UPDATE SET last_seen_at = excluded.last_seen_at"
)
"""Every key of the document's items marked seen now. The keys go in binary:
the text form of an array is escaped element by element, in Python."""

_SEEN_AND_SUCCEEDED = f"WITH marked AS ({_MARK_SEEN}) {_SUCCEEDED}"
"""Both, in one statement: a transaction of its own without the two round
trips of BEGIN and COMMIT. PostgreSQL runs a writing WITH that the statement
does not read after the statement itself: the feed's row is locked before
its seen rows, as commit_poll's transaction and redact_stored lock them."""

_NOT_MODIFIED = (
    "UPDATE feeds SET last_success_at = %s, last_polled_at = %s, last_error = NULL, "  # noqa: S608
    "last_error_kind = NULL, consecutive_failures = 0, failing_since = NULL, "
    f"next_poll_at = COALESCE(%s, next_poll_at) FROM {LAZY_COMMIT} "
    "WHERE name = %s AND url = %s"
)
"""A poll that found nothing new: the feed is healthy again, if it was not."""

_FAILED = (
    "INSERT INTO feeds (name, url, last_polled_at, last_error, last_error_kind, "
    "consecutive_failures, failing_since, next_poll_at) VALUES (%s, %s, %s, %s, %s, 1, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET last_polled_at = excluded.last_polled_at, "
    "last_error = excluded.last_error, last_error_kind = excluded.last_error_kind, "
    "consecutive_failures = feeds.consecutive_failures + 1, "
    "failing_since = COALESCE(feeds.failing_since, excluded.failing_since), "
    "next_poll_at = COALESCE(excluded.next_poll_at, feeds.next_poll_at)"
)

_HEALTH = (
    "SELECT f.*, COALESCE(s.items_seen, 0) AS items_seen, "
    "COALESCE(a.alerts_raised, 0) AS alerts_raised, i.incidents "
    "FROM feeds f "
    "LEFT JOIN (SELECT feed, COUNT(*) AS items_seen FROM seen "
    "WHERE NOT starts_with(key, 'link+title:') GROUP BY feed) s ON s.feed = f.name "
    "LEFT JOIN (SELECT feed, COUNT(DISTINCT (rule_id, item_identity)) AS alerts_raised "
    "FROM alerts WHERE NOT starts_with(rule_id, 'ops.') GROUP BY feed) a ON a.feed = f.name "
    "LEFT JOIN (SELECT feed, array_agg(kind) AS incidents FROM incidents "
    "WHERE closed_at IS NULL GROUP BY feed) i ON i.feed = f.name "
    'ORDER BY f.name COLLATE "C"'
)
"""Every feed with its counts: one pass over each table, not one per feed."""


class PostgresFeedStates(PostgresCore):
    """Feeds and polls (see monitor.store.ports.FeedStates)."""

    def feed_state(self, name: str) -> FeedState | None:
        """The feed's row."""
        rows = self._query(
            f"SELECT *, {OPEN_INCIDENTS} FROM feeds WHERE name = %s",  # noqa: S608 - a constant
            (name,),
        )
        return feed_state(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        """Every feed's row, by name."""
        query = f"SELECT *, {OPEN_INCIDENTS} FROM feeds {_BY_NAME}"  # noqa: S608 - constants
        return [feed_state(row) for row in self._query(query)]

    def feed_health(self) -> list[FeedHealth]:
        """Every feed with its counts."""
        return [
            FeedHealth(
                name=row["name"],
                url=row["url"],
                last_success_at=optional_utc(row["last_success_at"]),
                last_polled_at=optional_utc(row["last_polled_at"]),
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                consecutive_failures=row["consecutive_failures"],
                next_poll_at=optional_utc(row["next_poll_at"]),
                items_seen=row["items_seen"],
                alerts_raised=row["alerts_raised"],
                failing_since=optional_utc(row["failing_since"]),
                last_item_at=optional_utc(row["last_item_at"]),
                publish_gap=gap(row["publish_gap"]),
                incidents=incident_kinds(row["incidents"]),
                first_success_at=optional_utc(row["first_success_at"]),
            )
            for row in self._query(_HEALTH)
        ]

    def commit_poll(self, outcome: PollOutcome, *, now: datetime) -> int:
        """The feed's row, seen records, archived items, queued and folded
        alerts, list events and stories, in one transaction; in one
        statement when the poll only marks items seen and moves the feed's
        row (as most polls that find something new do)."""
        params = {
            "feed": outcome.feed,
            "url": outcome.url,
            "etag": outcome.validators.etag,
            "last_modified": outcome.validators.last_modified,
            "now": now,
            "body_hash": outcome.body_hash,
            "next_poll_at": outcome.next_poll_at,
            "publish_gap": seconds(outcome.publish_gap),
            "newest": outcome.newest_item_at,
            "keys": _seen_keys(outcome),
        }
        if not (
            outcome.archive
            or outcome.alerts
            or outcome.folded
            or outcome.list_update is not None
            or outcome.stories
        ):
            self._query(_SEEN_AND_SUCCEEDED, params)
            return 0
        with self._transaction() as conn:
            conn.execute(_SUCCEEDED, params)  # the feed's row first (see _SEEN_AND_SUCCEEDED)
            if params["keys"]:
                conn.execute(_MARK_SEEN, params)
            if outcome.archive:
                write_archive(conn, outcome, now)
            queued = queue(conn, outcome.alerts, now) if outcome.alerts else 0
            if outcome.folded:
                record_folded(conn, outcome.folded, now)
            if outcome.list_update is not None:
                write_list_update(conn, outcome.list_update, now)
            if outcome.stories:
                write_stories(conn, outcome.stories)  # stories carry their own times
        return queued

    def record_not_modified(
        self, *, feed: str, url: str, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState | None:
        """One statement, the state it leaves read back from it."""
        rows = self._query(
            f"{_NOT_MODIFIED} RETURNING feeds.*, {OPEN_INCIDENTS}",
            (now, now, next_poll_at, feed, url),
        )
        return feed_state(rows[0]) if rows else None

    def record_unchanged(
        self, state: FeedState, *, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState:
        """Written at once, as record_not_modified (the SQLite store defers a
        healthy feed's), but not read back: the state it leaves is ``state``
        with the write laid over it (unchanged_after), as the SQLite store
        gives a deferred one; ``state`` itself if the feed is gone or
        repointed."""
        written = self._execute(_NOT_MODIFIED, (now, now, next_poll_at, state.name, state.url))
        return unchanged_after(state, now=now, next_poll_at=next_poll_at) if written else state

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
        """One statement: the count goes up in the row, whoever else writes it."""
        self._query(_FAILED, (feed, url, now, message, kind, now, next_poll_at))


def _seen_keys(outcome: PollOutcome) -> list[str]:
    """The keys of every item of the document, to mark seen now: each once
    (two items may share one), sorted by code point (the order of their
    UTF-8 bytes), so two commits of a feed, and a prune
    (monitor.store.postgres.maintenance), lock its rows in the same order."""
    return sorted({key for item in outcome.items for key in item.seen_keys})
