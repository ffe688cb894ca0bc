"""The SQLite store's Maintenance port: retention and rewriting what is stored
(deferred writes, closing and the context manager are SQLiteCore's)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import datetime

from monitor.domain.feed import PruneReport
from monitor.store.sqlite.archive import prune_archive
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import ts


class SQLiteMaintenance(SQLiteCore):
    """Retention and redaction (see monitor.store.ports.Maintenance)."""

    def prune(self, cutoff: datetime, *, archive_cutoff: datetime | None = None) -> PruneReport:
        """Forget what is older than ``cutoff`` (archived items: than
        ``archive_cutoff``, if given), in one transaction."""
        stamp = ts(cutoff)
        with self._transaction() as db:
            prune_archive(db, ts(archive_cutoff if archive_cutoff is not None else cutoff))
            seen = 0
            # The keys of a feed's latest document carry its newest stamp and
            # are spared however old: they are still in the feed, and would
            # alert again if forgotten.
            latest = db.execute("SELECT feed, MAX(last_seen_at) FROM seen GROUP BY feed").fetchall()
            for feed, newest in latest:
                seen += db.execute(
                    "DELETE FROM seen WHERE feed = ? AND last_seen_at < ? AND last_seen_at < ?",
                    (feed, stamp, newest),
                ).rowcount
            alerts = db.execute(
                "DELETE FROM alerts WHERE status IN ('sent', 'silenced') AND created_at < ?",
                (stamp,),
            ).rowcount
            stories = db.execute("DELETE FROM story_threads WHERE last_at < ?", (stamp,)).rowcount
            db.execute(
                "DELETE FROM story_members WHERE story_key IN "
                "(SELECT key FROM stories WHERE last_seen_at < ?)",
                (stamp,),
            )
            db.execute("DELETE FROM stories WHERE last_seen_at < ?", (stamp,))
            db.execute("DELETE FROM listing_events WHERE recorded_at < ?", (stamp,))
            incidents = db.execute(
                "DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?", (stamp,)
            ).rowcount
        return PruneReport(seen=seen, alerts=alerts, stories=stories, incidents=incidents)

    def redact_stored(self, url: Callable[[str], str], text: Callable[[str], str]) -> int:
        """Rewrite feed URLs, errors and incident details; the old values are
        overwritten in the file too (secure_delete, then a checkpoint)."""
        changed = []
        for row in self._query("SELECT name, url, last_error FROM feeds"):
            shown = url(row["url"])
            shown_error = text(row["last_error"]) if row["last_error"] else row["last_error"]
            if (shown, shown_error) != (row["url"], row["last_error"]):
                changed.append((row["name"], row["url"], shown, shown_error))
        scrubbed = [
            (shown_detail, row["id"])
            for row in self._query("SELECT id, detail FROM incidents")
            if (shown_detail := text(row["detail"])) != row["detail"]
        ]
        if not changed and not scrubbed:
            return 0
        self.sync()  # deferred writes name a feed by its URL as stored
        with self._lock, self._translated():
            # The old values must not linger in the file's free space.
            self._db.execute("PRAGMA secure_delete = ON")
            try:
                with self._transaction() as db:
                    for name, stored, shown, shown_error in changed:
                        db.execute(
                            "UPDATE feeds SET url = ?, last_error = ? WHERE name = ? AND url = ?",
                            (shown, shown_error, name, stored),
                        )
                        if shown != stored:
                            # A guid that is no URI is qualified with the feed's
                            # URL (monitor.text.item_identity): those keys follow.
                            old, new = f"guid:{stored}#", f"guid:{shown}#"
                            db.execute(
                                "UPDATE OR IGNORE seen SET key = ? || substr(key, ?) "
                                "WHERE feed = ? AND substr(key, 1, ?) = ?",
                                (new, len(old) + 1, name, len(old), old),
                            )
                            db.execute(
                                "DELETE FROM seen WHERE feed = ? AND substr(key, 1, ?) = ?",
                                (name, len(old), old),
                            )
                    db.executemany("UPDATE incidents SET detail = ? WHERE id = ?", scrubbed)
            finally:
                self._db.execute("PRAGMA secure_delete = OFF")
            with contextlib.suppress(sqlite3.Error):  # another process may be reading
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(changed)
