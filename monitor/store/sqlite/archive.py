"""The SQLite store's Archive port: each new item's text, searched with FTS5.

The ``archive`` table holds the text once; ``archive_text`` is an FTS5
index over its title and summary (external content), kept in step by
triggers (schema version 8). A poll writes its new items in its commit
(:func:`write_archive`); pruning removes them by age (:func:`prune_archive`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from monitor.domain.archive import QUERY_HELP, AlertMark, ArchivedItem
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.errors import SearchError, StateError
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, optional_ts, required_dt, ts

_QUERY_ERRORS = ("fts5:", "no such column", "unterminated string", "unknown special query")
"""How SQLite's messages about a full-text query (not about the database) begin."""

_SELECT = (
    "SELECT a.*, (SELECT json_group_array(json_array(l.rule_id, l.severity, l.status, "
    "l.channel)) FROM (SELECT * FROM alerts l WHERE l.item_identity = a.identity "
    "ORDER BY l.id) l) AS alerted FROM archive a"
)
"""An archived row with the alerts its item raised. By identity alone: an
item two feeds carry alerts once (the outbox keeps one row per rule, item
and channel, under the feed that read it first), and each feed's copy shows it."""

_NEWEST_FIRST = "ORDER BY a.first_seen_at DESC, a.id DESC"
_BY_IDS = f"{_SELECT} WHERE a.id IN (SELECT value FROM json_each(?)) {_NEWEST_FIRST}"  # noqa: S608 - constants
"""Archived rows by id (a JSON array of them), newest first."""
_NEWEST_IDS = "SELECT a.id, a.first_seen_at FROM archive a"
_MATCHES_FROM = "a.id IN (SELECT rowid FROM archive_text WHERE archive_text MATCH ? AND rowid >= ?)"
"""The condition of a search: the query's matches among rows numbered from a floor."""
_LOOKS = (16, 256)
"""How many of the newest rows a search looks among first, per item asked
for, before it sorts every match (see SQLiteArchive._newest_matches)."""


def write_archive(db: sqlite3.Connection, outcome: PollOutcome, stamp: str) -> None:
    """Keep a poll's new items, inside its transaction; an item the archive
    holds already for the feed stays as first written."""
    db.executemany(
        "INSERT INTO archive (feed, identity, guid, title, summary, link, published, updated, "
        "publisher, tags, first_seen_at, first_poll) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (feed, identity) DO NOTHING",
        [
            (
                outcome.feed,
                item.identity,
                item.guid,
                item.title,
                item.summary,
                item.link,
                optional_ts(item.published),
                optional_ts(item.updated),
                item.publisher,
                json.dumps(list(item.feed_tags)),
                stamp,
                int(outcome.first_poll),
            )
            for item in outcome.archive
        ],
    )


def prune_archive(db: sqlite3.Connection, stamp: str) -> int:
    """Forget archived items first seen before ``stamp``, inside the caller's
    transaction (the triggers take them out of the index); how many."""
    return db.execute("DELETE FROM archive WHERE first_seen_at < ?", (stamp,)).rowcount


def _archived(row: sqlite3.Row) -> ArchivedItem:
    item = Item(
        feed=row["feed"],
        feed_tags=tuple(json.loads(row["tags"])),
        identity=row["identity"],
        guid=row["guid"],
        title=row["title"],
        summary=row["summary"],
        link=row["link"],
        published=dt(row["published"]),
        updated=dt(row["updated"]),
        publisher=row["publisher"],
    )
    marks = tuple(
        AlertMark(rule_id=rule_id, severity=Severity(severity), status=status, channel=channel)
        for rule_id, severity, status, channel in json.loads(row["alerted"] or "[]")
    )
    return ArchivedItem(
        item=item,
        first_seen_at=required_dt(row["first_seen_at"]),
        first_poll=bool(row["first_poll"]),
        alerted=marks,
    )


def _exact(
    found: Sequence[tuple[int, str]],
    newest_below: str | None,
    *,
    since: datetime | None,
    limit: int,
) -> bool:
    """Whether the newest matches ``found`` among the rows of a range are the
    newest of all: no row below the range could take a place among them."""
    if newest_below is None or (since is not None and newest_below < ts(since)):
        return True
    # A row below the range first seen at the same time as the last match has
    # a lower id, so it sorts after it.
    return len(found) == limit and newest_below <= found[-1][1]


def _query_error(exc: sqlite3.OperationalError, query: str) -> SearchError | None:
    message = str(exc)
    if not message.startswith(_QUERY_ERRORS):
        return None
    return SearchError(f"not a valid search query {query!r} ({message}): {QUERY_HELP}")


class SQLiteArchive(SQLiteCore):
    """The item archive (see monitor.store.ports.Archive)."""

    def search(
        self,
        query: str,
        *,
        since: datetime | None = None,
        feed: str | None = None,
        tag: str | None = None,
        limit: int = 50,
    ) -> list[ArchivedItem]:
        """Full-text search (FTS5 query syntax), newest first."""
        if not query.strip():
            raise SearchError(f"an empty search query finds nothing: {QUERY_HELP}")
        with self._lock:
            try:
                # One snapshot for the several statements, as one statement would see.
                self._db.execute("BEGIN")
                try:
                    ids = self._newest_matches(query, since=since, feed=feed, tag=tag, limit=limit)
                    cursor = self._db.execute(_BY_IDS, (json.dumps(ids),))
                    cursor.row_factory = sqlite3.Row
                    rows = cursor.fetchall()
                finally:
                    self._rollback()
            except sqlite3.OperationalError as exc:
                if (error := _query_error(exc, query)) is not None:
                    raise error from exc
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc
        return [_archived(row) for row in rows]

    def _newest_matches(
        self,
        query: str,
        *,
        since: datetime | None,
        feed: str | None,
        tag: str | None,
        limit: int,
    ) -> list[int]:
        """The ids of the newest ``limit`` matches, newest first.

        Sorting every match by age reads every matching row, and a common
        word matches a large share of the archive. Rows are numbered as they
        are written, so mostly in the order they were first seen, and FTS5
        reads the matches of a range of ids directly: the search looks among
        the newest rows first, twice at most, and sorts every match only if
        those looks fall short (a rare word, or filters few matches pass).
        A look's answer stands once no row below its range was first seen
        after the last match it found (or, with ``since``, at or after
        ``since``): polls commit out of order and clocks step back, so that
        is checked, not assumed.
        """
        if limit < 1:
            return []
        newest = self._db.execute("SELECT MAX(id) FROM archive").fetchone()[0] or 0
        for rows_per_item in (*_LOOKS, None):
            low = 1 if rows_per_item is None else newest - rows_per_item * limit + 1
            where, params = _filters([_MATCHES_FROM], [query, low], since=since, feed=feed, tag=tag)
            sql = f"{_NEWEST_IDS} WHERE {' AND '.join(where)} {_NEWEST_FIRST} LIMIT ?"
            found = self._db.execute(sql, (*params, limit)).fetchall()
            if low <= 1 or _exact(found, self._newest_below(low), since=since, limit=limit):
                break
        return [row[0] for row in found]

    def _newest_below(self, low: int) -> str | None:
        """When the newest row numbered below ``low`` was first seen; None if none is."""
        # From the newest end of the age index: rows are mostly numbered in
        # age order, so few rows of the range come before one below it (the
        # looks are small for that reason: this costs a read per row).
        row = self._db.execute(
            "SELECT first_seen_at FROM archive INDEXED BY archive_by_age WHERE id < ? "
            "ORDER BY first_seen_at DESC LIMIT 1",
            (low,),
        ).fetchone()
        return None if row is None else str(row[0])

    def archived(self, *, since: datetime, until: datetime | None = None) -> list[ArchivedItem]:
        """Items first seen at or after ``since`` (and before ``until``), oldest first."""
        where, params = _filters([], [], since=since, until=until)
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.first_seen_at, a.id"
        return [_archived(row) for row in self._query(sql, params)]


def _filters(
    where: Sequence[str],
    params: Sequence[object],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    feed: str | None = None,
    tag: str | None = None,
) -> tuple[list[str], list[object]]:
    """The WHERE conditions and their parameters, the optional ones added."""
    conditions, values = list(where), list(params)
    if since is not None:
        conditions.append("a.first_seen_at >= ?")
        values.append(ts(since))
    if until is not None:
        conditions.append("a.first_seen_at < ?")
        values.append(ts(until))
    if feed is not None:
        conditions.append("a.feed = ?")
        values.append(feed)
    if tag is not None:
        conditions.append("EXISTS (SELECT 1 FROM json_each(a.tags) WHERE json_each.value = ?)")
        values.append(tag)
    if not conditions:
        conditions.append("1")
    return conditions, values
