"""The PostgreSQL store's Maintenance: retention and rewriting what is stored
(sync, close and the context manager are PostgresCore's; see
monitor.store.sqlite.maintenance)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monitor.domain.feed import PruneReport
from monitor.store.postgres.archive import prune_archive
from monitor.store.postgres.core import PostgresCore


class PostgresMaintenance(PostgresCore):
    """Retention and redaction (see monitor.store.ports.Maintenance)."""

    def prune(self, cutoff: datetime, *, archive_cutoff: datetime | None = None) -> PruneReport:
        """Forget what is older than ``cutoff`` (archived items: than
        ``archive_cutoff``, if given), in one transaction."""
        with self._transaction() as conn:
            prune_archive(conn, archive_cutoff if archive_cutoff is not None else cutoff)
            # The keys of a feed's latest document carry its newest stamp and
            # are spared however old: they are still in the feed, and would
            # alert again if forgotten. A key a poll marks seen meanwhile
            # has a newer stamp, and the recheck of its locked row spares it.
            # Rows are locked in the order a poll's commit locks them (by
            # key's bytes), so that the two never deadlock.
            seen = conn.execute(
                "DELETE FROM seen WHERE (feed, key) IN (SELECT s.feed, s.key FROM seen s "
                "JOIN (SELECT feed, MAX(last_seen_at) AS newest FROM seen GROUP BY feed) "
                "AS latest ON latest.feed = s.feed "
                "WHERE s.last_seen_at < %s AND s.last_seen_at < latest.newest "
                'ORDER BY s.feed COLLATE "C", s.key COLLATE "C" FOR UPDATE OF s)',
                (cutoff,),
            ).rowcount
            alerts = conn.execute(
                "DELETE FROM alerts WHERE status IN ('sent', 'silenced') AND created_at < %s",
                (cutoff,),
            ).rowcount
            stories = conn.execute(
                "DELETE FROM story_threads WHERE last_at < %s", (cutoff,)
            ).rowcount
            conn.execute(
                "WITH gone AS (DELETE FROM stories WHERE last_seen_at < %s RETURNING key) "
                "DELETE FROM story_members WHERE story_key IN (SELECT key FROM gone)",
                (cutoff,),
            )
            conn.execute("DELETE FROM listing_events WHERE recorded_at < %s", (cutoff,))
            incidents = conn.execute(
                "DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < %s", (cutoff,)
            ).rowcount
        return PruneReport(seen=seen, alerts=alerts, stories=stories, incidents=incidents)

    def redact_stored(self, url: Callable[[str], str], text: Callable[[str], str]) -> int:
        """Rewrite feed URLs, errors and incident details, in one transaction.

        Unlike the SQLite store (secure_delete), the old values are not
        overwritten at once: they stay in the server's dead row versions
        until a VACUUM reclaims them, and in its write-ahead log until that
        is recycled (or in its archive and backups)."""
        changed = []
        for row in self._query("SELECT name, url, last_error FROM feeds"):
            shown = url(row["url"])
            shown_error = text(row["last_error"]) if row["last_error"] else row["last_error"]
            if (shown, shown_error) != (row["url"], row["last_error"]):
                changed.append((row["name"], row["url"], shown, shown_error))
        scrubbed = [
            (shown_detail, row["id"], row["detail"])
            for row in self._query("SELECT id, detail FROM incidents")
            if (shown_detail := text(row["detail"])) != row["detail"]
        ]
        if not changed and not scrubbed:
            return 0
        with self._transaction() as conn:
            for name, stored, shown, shown_error in changed:
                # A row another process rewrote meanwhile is left as it wrote it.
                conn.execute(
                    "UPDATE feeds SET url = %s, last_error = %s WHERE name = %s AND url = %s",
                    (shown, shown_error, name, stored),
                )
                if shown != stored:
                    # A guid that is no URI is qualified with the feed's URL
                    # (monitor.text.item_identity): those keys follow. A key
                    # present under both spellings is kept once.
                    old, new = f"guid:{stored}#", f"guid:{shown}#"
                    conn.execute(
                        "INSERT INTO seen (feed, key, first_seen_at, last_seen_at) "
                        "SELECT feed, %s || substr(key, %s), first_seen_at, last_seen_at "
                        "FROM seen WHERE feed = %s AND starts_with(key, %s) "
                        "ON CONFLICT (feed, key) DO NOTHING",
                        (new, len(old) + 1, name, old),
                    )
                    conn.execute(
                        "DELETE FROM seen WHERE feed = %s AND starts_with(key, %s)", (name, old)
                    )
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE incidents SET detail = %s WHERE id = %s AND detail = %s", scrubbed
                )
        return len(changed)
