"""The PostgreSQL store's Archive: items as first read, searched with
PostgreSQL's text search (see monitor.store.sqlite.archive).

Each row keeps a ``tsvector`` of its title and summary made in Python
(monitor.store.postgres.search_query), and a search translates its FTS5
query to a ``tsquery`` the same way. Matches are sorted newest first by the
database, exactly (no look among the newest rows first, as SQLite's has).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb

from monitor.domain.archive import QUERY_HELP, AlertMark, ArchivedItem
from monitor.domain.item import Item
from monitor.domain.kinds import OutboxStatus
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.errors import SearchError
from monitor.store.postgres.core import Connection, PostgresCore, Row
from monitor.store.postgres.rows import optional_utc, utc
from monitor.store.postgres.search_query import document, translate

_SELECT = (
    "SELECT a.feed, a.identity, a.guid, a.title, a.summary, a.link, a.published, a.updated, "
    "a.publisher, a.tags, a.first_seen_at, a.first_poll, (SELECT COALESCE(jsonb_agg("
    "jsonb_build_array(l.rule_id, l.severity, l.status, l.channel) ORDER BY l.id), '[]') "
    "FROM alerts l WHERE l.item_identity = a.identity) AS alerted FROM archive a"
)
"""An archived row with the alerts its item raised. By identity alone: an
item two feeds carry alerts once (the outbox keeps one row per rule, item
and channel, under the feed that read it first), and each feed's copy shows it."""


def write_archive(conn: Connection, outcome: PollOutcome, now: datetime) -> None:
    """Keep a poll's new items (``outcome.archive``), inside its transaction;
    an item the archive holds already for the feed stays as first written."""
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO archive (feed, identity, guid, title, summary, link, published, "
            "updated, publisher, tags, first_seen_at, first_poll, words) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::tsvector) "
            "ON CONFLICT (feed, identity) DO NOTHING",
            [
                (
                    outcome.feed,
                    item.identity,
                    item.guid,
                    item.title,
                    item.summary,
                    item.link,
                    item.published,
                    item.updated,
                    item.publisher,
                    Jsonb(list(item.feed_tags)),
                    now,
                    outcome.first_poll,
                    document(item.title, item.summary),
                )
                for item in outcome.archive
            ],
        )


def prune_archive(conn: Connection, cutoff: datetime) -> int:
    """Forget archived items first seen before ``cutoff``; how many."""
    return conn.execute("DELETE FROM archive WHERE first_seen_at < %s", (cutoff,)).rowcount


class PostgresArchive(PostgresCore):
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
        """Full-text search (FTS5 query syntax, translated), newest first.
        ``NEAR(...)`` groups are refused as not valid here."""
        if not query.strip():
            raise SearchError(f"an empty search query finds nothing: {QUERY_HELP}")
        words = translate(query)
        if words is None or limit < 1:
            return []
        where, params = _filters(["a.words @@ %s::tsquery"], [words], since=since, feed=feed)
        if tag is not None:
            where.append("a.tags @> %s")
            params.append(Jsonb([tag]))
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.first_seen_at DESC, a.id DESC LIMIT %s"
        return [_archived(row) for row in self._query(sql, [*params, limit])]

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
) -> tuple[list[str], list[object]]:
    """The WHERE conditions and their parameters, the optional ones added."""
    conditions, values = list(where), list(params)
    if since is not None:
        conditions.append("a.first_seen_at >= %s")
        values.append(since)
    if until is not None:
        conditions.append("a.first_seen_at < %s")
        values.append(until)
    if feed is not None:
        conditions.append("a.feed = %s")
        values.append(feed)
    if not conditions:
        conditions.append("true")
    return conditions, values


def _archived(row: Row) -> ArchivedItem:
    item = Item(
        feed=row["feed"],
        feed_tags=tuple(str(tag) for tag in row["tags"]),
        identity=row["identity"],
        guid=row["guid"],
        title=row["title"],
        summary=row["summary"],
        link=row["link"],
        published=optional_utc(row["published"]),
        updated=optional_utc(row["updated"]),
        publisher=row["publisher"],
    )
    return ArchivedItem(
        item=item,
        first_seen_at=utc(row["first_seen_at"]),
        first_poll=bool(row["first_poll"]),
        alerted=tuple(_mark(mark) for mark in row["alerted"]),
    )


def _mark(stored: Any) -> AlertMark:
    rule_id, severity, status, channel = stored
    return AlertMark(
        rule_id=str(rule_id),
        severity=Severity(severity),
        status=cast(OutboxStatus, status),  # the alerts table's CHECK holds it
        channel=str(channel),
    )
