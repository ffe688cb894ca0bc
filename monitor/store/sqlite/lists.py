"""The SQLite store's ListSnapshots port: the list_snapshots, list_entries and listing_events tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from monitor.domain.listing import (
    LISTING_CHANGES,
    ListingChange,
    ListingEntry,
    ListUpdate,
    RecordedListing,
)
from monitor.errors import StateError
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, ts


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
        published: date | None,
        now: datetime,
    ) -> None:
        """Make ``entries`` (key -> (digest, entry JSON)) the source's whole
        snapshot, in one transaction."""
        update = ListUpdate(
            source, published, baseline=True, upserts=entries, removed=(), events=()
        )
        with self._transaction() as db:
            write_list_update(db, update, ts(now))

    def list_snapshot_taken(self, source: str) -> datetime | None:
        """When the source's last snapshot was stored; None if it has none."""
        rows = self._query("SELECT taken_at FROM list_snapshots WHERE source = ?", (source,))
        return dt(rows[0]["taken_at"]) if rows else None

    def listing_history(
        self,
        *,
        since: datetime,
        changes: Sequence[ListingChange] = LISTING_CHANGES,
        source: str | None = None,
    ) -> list[RecordedListing]:
        """Listing events recorded at or after ``since``, oldest first."""
        rows = self._query(
            "SELECT change, publication, happened_on, entry FROM listing_events "
            "WHERE recorded_at >= ? AND (? IS NULL OR source = ?) ORDER BY id",
            (ts(since), source, source),
        )
        wanted = set(changes)
        return [_recorded(row) for row in rows if row["change"] in wanted]


def write_list_update(db: sqlite3.Connection, update: ListUpdate, stamp: str) -> None:
    """Apply an accepted snapshot and record its events, in the caller's transaction."""
    source = update.source
    if update.baseline:
        db.execute("DELETE FROM list_entries WHERE source = ?", (source,))
    else:
        db.executemany(
            "DELETE FROM list_entries WHERE source = ? AND key = ?",
            ((source, key) for key in update.removed),
        )
    db.executemany(
        "INSERT OR REPLACE INTO list_entries (source, key, digest, entry) VALUES (?, ?, ?, ?)",
        ((source, key, digest, entry) for key, (digest, entry) in update.upserts.items()),
    )
    db.execute(
        "INSERT OR REPLACE INTO list_snapshots (source, published, taken_at) VALUES (?, ?, ?)",
        (source, update.published.isoformat() if update.published else None, stamp),
    )
    # A publication read again after a crash records its events once.
    db.executemany(
        "INSERT OR IGNORE INTO listing_events "
        "(source, change, key, publication, happened_on, recorded_at, entry) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                source,
                event.change,
                event.entry.key,
                event.publication,
                event.on.isoformat() if event.on else None,
                stamp,
                json.dumps(event.entry.to_json(), ensure_ascii=False, sort_keys=True),
            )
            for event in update.events
        ),
    )


def _recorded(row: sqlite3.Row) -> RecordedListing:
    change = next((c for c in LISTING_CHANGES if c == row["change"]), None)
    try:
        entry = ListingEntry.from_json(json.loads(row["entry"]))
    except ValueError as exc:
        raise StateError(f"a stored listing event is unreadable: {exc}") from exc
    if change is None:
        raise StateError(f"a stored listing event has an unknown change {row['change']!r}")
    happened = row["happened_on"]
    return RecordedListing(
        change=change,
        entry=entry,
        on=date.fromisoformat(happened) if happened else None,
        publication=str(row["publication"]),
    )
