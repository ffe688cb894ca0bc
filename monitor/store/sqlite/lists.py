"""The SQLite store's ListSnapshots port: the list_snapshots and list_entries tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, optional_ts, ts


class SQLiteListSnapshots(SQLiteCore):
    """List sources' last snapshots (see monitor.store.ports.ListSnapshots)."""

    def list_snapshot(self, source: str) -> dict[str, str] | None:
        """Each key of the source's last snapshot with its entry's digest;
        None if the source never had one."""
        # One read transaction: a snapshot replaced by another process between
        # the two statements is never seen half old, half new.
        with self._lock, self._translated():
            db = self._db
            db.execute("BEGIN")
            try:
                taken = db.execute(
                    "SELECT 1 FROM list_snapshots WHERE source = ?", (source,)
                ).fetchone()
                if taken is None:
                    return None
                rows = db.execute(
                    "SELECT key, digest FROM list_entries WHERE source = ?", (source,)
                ).fetchall()
            finally:
                self._rollback()
        return {str(key): str(digest) for key, digest in rows}

    def list_entry(self, source: str, key: str) -> str | None:
        """The JSON of one entry of the source's last snapshot; None if absent."""
        rows = self._query(
            "SELECT entry FROM list_entries WHERE source = ? AND key = ?", (source, key)
        )
        return str(rows[0]["entry"]) if rows else None

    def replace_list_snapshot(
        self,
        source: str,
        entries: Mapping[str, tuple[str, str]],
        *,
        published: datetime | None,
        now: datetime,
    ) -> None:
        """Make ``entries`` (key -> (digest, entry JSON)) the source's whole
        snapshot, in one transaction."""
        with self._transaction() as db:
            db.execute("DELETE FROM list_entries WHERE source = ?", (source,))
            db.executemany(
                "INSERT INTO list_entries (source, key, digest, entry) VALUES (?, ?, ?, ?)",
                ((source, key, digest, entry) for key, (digest, entry) in entries.items()),
            )
            db.execute(
                "INSERT OR REPLACE INTO list_snapshots (source, published, taken_at) "
                "VALUES (?, ?, ?)",
                (source, optional_ts(published), ts(now)),
            )

    def list_snapshot_taken(self, source: str) -> datetime | None:
        """When the source's last snapshot was stored; None if it has none."""
        rows = self._query("SELECT taken_at FROM list_snapshots WHERE source = ?", (source,))
        return dt(rows[0]["taken_at"]) if rows else None
