"""The SQLite store's AlertLog port (monitor.store.alert_log): the alerts
table read as a log, with each alert's story from stories and story_members.

The text filter folds case in Python (``str.casefold``), through a function
registered on the connection: SQLite's own LIKE and lower() fold ASCII only,
and headlines are not all ASCII.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime

from monitor.domain.alert import Alert
from monitor.store.alert_log import AlertQuery, DailyAlertCount, LoggedAlert, StoryBrief
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, required_dt, ts

_FOLDED_CONTAINS = "monitor_folded_contains"
"""The SQL name of :func:`_folded_contains` on this store's connection."""


def _folded_contains(text: str | None, wanted: str | None) -> bool:
    return text is not None and wanted is not None and wanted.casefold() in text.casefold()


class SQLiteAlertLog(SQLiteCore):
    """The outbox as a log (see monitor.store.alert_log.AlertLog)."""

    _text_match_registered = False

    def recent_alerts(self, query: AlertQuery, *, limit: int = 50) -> list[LoggedAlert]:
        """Up to ``limit`` alerts matching ``query``, newest first."""
        where, params = _conditions(query)
        with self._lock, self._translated():
            db = self._db
            if not self._text_match_registered:
                db.create_function(_FOLDED_CONTAINS, 2, _folded_contains, deterministic=True)
                self._text_match_registered = True
            # One read transaction: the alerts and their stories as of one moment.
            db.execute("BEGIN")
            try:
                rows = _rows(
                    db,
                    f"SELECT * FROM alerts WHERE {' AND '.join(where)} "  # noqa: S608 - fixed SQL, "?" marks
                    "ORDER BY id DESC LIMIT ?",
                    (*params, limit),
                )
                stories = _story_briefs(db, {row["story_key"] for row in rows} - {None})
            finally:
                self._rollback()
        return [_logged(row, stories) for row in rows]

    def daily_alert_counts(self, *, since: datetime) -> list[DailyAlertCount]:
        """Per rule and UTC day, the items alerted on from ``since`` on."""
        rows = self._query(
            # created_at is stored as UTC ISO text: its first ten characters are the day.
            "SELECT rule_id, substr(created_at, 1, 10) AS day, "
            "COUNT(DISTINCT item_identity) AS alerts FROM alerts WHERE created_at >= ? "
            "GROUP BY rule_id, day ORDER BY rule_id, day",
            (ts(since),),
        )
        return [
            DailyAlertCount(
                rule_id=row["rule_id"], day=date.fromisoformat(row["day"]), alerts=row["alerts"]
            )
            for row in rows
        ]


def _conditions(query: AlertQuery) -> tuple[list[str], list[object]]:
    tests = query.column_tests()
    where = ["1", *(f"{test} ?" for test, _ in tests)]
    params = [value for _, value in tests]
    if query.text:
        where.append(
            f"({_FOLDED_CONTAINS}(json_extract(payload, '$.title'), ?) "
            f"OR {_FOLDED_CONTAINS}(json_extract(payload, '$.summary'), ?))"
        )
        params += [query.text, query.text]
    return where, params


def _rows(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
    cursor = db.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def _story_briefs(db: sqlite3.Connection, keys: set[str]) -> dict[str, StoryBrief]:
    """The stories named by ``keys``: a key whose story is pruned still gets a
    brief (no title) so that the alert shows which story it belonged to."""
    if not keys:
        return {}
    ordered = sorted(keys)
    marks = ",".join("?" * len(ordered))
    titles = {
        row["key"]: row["title"]
        for row in _rows(db, f"SELECT key, title FROM stories WHERE key IN ({marks})", ordered)  # noqa: S608
    }
    sources: dict[str, dict[str, None]] = {key: {} for key in ordered}
    members = dict.fromkeys(ordered, 0)
    for row in _rows(
        db,
        "SELECT story_key, feed, publisher FROM story_members "  # noqa: S608 - "?" marks
        f"WHERE story_key IN ({marks}) ORDER BY story_key, seen_at, rowid",
        ordered,
    ):
        key = row["story_key"]
        sources[key][row["publisher"] or row["feed"]] = None
        members[key] += 1
    return {
        key: StoryBrief(
            key=key, title=titles.get(key), sources=tuple(sources[key]), members=members[key]
        )
        for key in ordered
    }


def _logged(row: sqlite3.Row, stories: dict[str, StoryBrief]) -> LoggedAlert:
    key = row["story_key"]
    return LoggedAlert(
        id=row["id"],
        alert=Alert.from_json(row["payload"]),
        channel=row["channel"],
        created_at=required_dt(row["created_at"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=dt(row["sent_at"]),
        digest=row["digest"],
        backfill=bool(row["backfill"]),
        story=stories.get(key) if key is not None else None,
    )
