"""The PostgreSQL store's AlertLog: the web console's reads (see monitor.store.sqlite.alert_log).

The text filter folds case with ``lower()`` under the database's ctype (a
UTF-8 one folds letters beyond ASCII, a ``C`` one ASCII only), where the
SQLite store uses Python's ``str.casefold``: even under UTF-8 they differ on
letters whose folded form is longer (German ß matches "ss" there, not here).
"""

from __future__ import annotations

from datetime import datetime

from monitor.domain.alert import Alert
from monitor.store.alert_log import AlertQuery, DailyAlertCount, LoggedAlert, StoryBrief
from monitor.store.postgres.core import Connection, PostgresCore, Row
from monitor.store.postgres.rows import optional_utc, utc


class PostgresAlertLog(PostgresCore):
    """The outbox as a log (see monitor.store.alert_log.AlertLog)."""

    def recent_alerts(self, query: AlertQuery, *, limit: int = 50) -> list[LoggedAlert]:
        """Up to ``limit`` alerts matching ``query``, newest first."""
        where, params = _conditions(query)
        with self._transaction() as conn:
            # One snapshot for both reads: the alerts and their stories as of one moment.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            rows = conn.execute(
                f"SELECT * FROM alerts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",  # noqa: S608 - fixed SQL, %s marks
                (*params, limit),
            ).fetchall()
            stories = _story_briefs(conn, {row["story_key"] for row in rows} - {None})
        return [_logged(row, stories) for row in rows]

    def daily_alert_counts(self, *, since: datetime) -> list[DailyAlertCount]:
        """Per rule and UTC day, the items alerted on from ``since`` on."""
        rows = self._query(
            "SELECT rule_id, (created_at AT TIME ZONE 'UTC')::date AS day, "
            "COUNT(DISTINCT item_identity) AS alerts FROM alerts WHERE created_at >= %s "
            "GROUP BY rule_id, day ORDER BY rule_id, day",
            (since,),
        )
        return [
            DailyAlertCount(rule_id=row["rule_id"], day=row["day"], alerts=int(row["alerts"]))
            for row in rows
        ]


def _conditions(query: AlertQuery) -> tuple[list[str], list[object]]:
    tests = query.column_tests()
    where = ["true", *(f"{test} %s" for test, _ in tests)]
    params = [value for _, value in tests]
    if query.text:
        # strpos, not LIKE: the text's % and _ are no wildcards.
        where.append(
            "(strpos(lower(payload::jsonb ->> 'title'), lower(%s)) > 0 "
            "OR strpos(lower(payload::jsonb ->> 'summary'), lower(%s)) > 0)"
        )
        params += [query.text, query.text]
    return where, params


def _story_briefs(conn: Connection, keys: set[str]) -> dict[str, StoryBrief]:
    """The stories named by ``keys``: a key whose story is pruned still gets a
    brief (no title) so that the alert shows which story it belonged to."""
    if not keys:
        return {}
    ordered = sorted(keys)
    titles = {
        row["key"]: row["title"]
        for row in conn.execute(
            "SELECT key, title FROM stories WHERE key = ANY(%s::text[])", (ordered,)
        ).fetchall()
    }
    sources: dict[str, dict[str, None]] = {key: {} for key in ordered}
    members = dict.fromkeys(ordered, 0)
    # Members seen at the same moment come in the order they were written.
    for row in conn.execute(
        "SELECT story_key, feed, publisher FROM story_members "
        "WHERE story_key = ANY(%s::text[]) ORDER BY story_key, seen_at, position",
        (ordered,),
    ).fetchall():
        key = row["story_key"]
        sources[key][row["publisher"] or row["feed"]] = None
        members[key] += 1
    return {
        key: StoryBrief(
            key=key, title=titles.get(key), sources=tuple(sources[key]), members=members[key]
        )
        for key in ordered
    }


def _logged(row: Row, stories: dict[str, StoryBrief]) -> LoggedAlert:
    key = row["story_key"]
    return LoggedAlert(
        id=row["id"],
        alert=Alert.from_json(row["payload"]),
        channel=row["channel"],
        created_at=utc(row["created_at"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=optional_utc(row["sent_at"]),
        digest=row["digest"],
        backfill=bool(row["backfill"]),
        story=stories.get(key) if key is not None else None,
    )
