"""The PostgreSQL store's ListSnapshots: official lists' snapshots and events
(see monitor.store.sqlite.lists).

Writers of one source's snapshot take turns: each write begins by upserting
the source's ``list_snapshots`` row, whose lock it holds to its commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from psycopg.types.json import Jsonb

from monitor.domain.listing import (
    LISTING_CHANGES,
    ListingChange,
    ListingEntry,
    ListUpdate,
    RecordedListing,
)
from monitor.errors import StateError
from monitor.store.postgres.core import Connection, PostgresCore, Row
from monitor.store.postgres.rows import utc

_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
"""A snapshot's rows are read at one moment: never half old, half new."""


class PostgresListSnapshots(PostgresCore):
    """List sources' last snapshots (see monitor.store.ports.ListSnapshots)."""

    def list_snapshot(self, source: str) -> dict[str, str] | None:
        """Each key of the source's last snapshot with its entry's digest;
        None if the source never had one."""
        with self._transaction() as conn:
            conn.execute(_SNAPSHOT)
            taken = conn.execute(
                "SELECT 1 FROM list_snapshots WHERE source = %s", (source,)
            ).fetchone()
            if taken is None:
                return None
            rows = conn.execute(
                "SELECT key, digest FROM list_entries WHERE source = %s", (source,)
            ).fetchall()
        return {str(row["key"]): str(row["digest"]) for row in rows}

    def list_entry(self, source: str, key: str) -> str | None:
        """The JSON of one entry of the source's last snapshot; None if absent."""
        rows = self._query(
            "SELECT entry::text AS entry FROM list_entries WHERE source = %s AND key = %s",
            (source, key),
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
        with self._transaction() as conn:
            write_list_update(conn, update, now)

    def list_snapshot_taken(self, source: str) -> datetime | None:
        """When the source's last snapshot was stored; None if it has none."""
        rows = self._query("SELECT taken_at FROM list_snapshots WHERE source = %s", (source,))
        return utc(rows[0]["taken_at"]) if rows else None

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
            "WHERE recorded_at >= %s AND change = ANY(%s) "
            "AND (%s::text IS NULL OR source = %s) ORDER BY id",
            (since, list(changes), source, source),
        )
        return [_recorded(row) for row in rows]


def write_list_update(conn: Connection, update: ListUpdate, now: datetime) -> None:
    """Write an accepted list snapshot and its listing events, inside a poll's transaction."""
    source = update.source
    conn.execute(
        "INSERT INTO list_snapshots (source, published, taken_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (source) DO UPDATE SET published = excluded.published, "
        "taken_at = excluded.taken_at",
        (source, update.published.isoformat() if update.published else None, now),
    )
    with conn.cursor() as cursor:
        if update.baseline:
            cursor.execute("DELETE FROM list_entries WHERE source = %s", (source,))
        elif update.removed:
            cursor.execute(
                "DELETE FROM list_entries WHERE source = %s AND key = ANY(%s)",
                (source, list(update.removed)),
            )
        # The entry's JSON is sent as text: the column keeps what the source wrote.
        cursor.executemany(
            "INSERT INTO list_entries (source, key, digest, entry) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (source, key) DO UPDATE SET digest = excluded.digest, "
            "entry = excluded.entry",
            [(source, key, digest, entry) for key, (digest, entry) in update.upserts.items()],
        )
        # A publication read again after a crash records its events once.
        cursor.executemany(
            "INSERT INTO listing_events "
            "(source, change, key, publication, happened_on, recorded_at, entry) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (source, publication, change, key) DO NOTHING",
            [
                (
                    source,
                    event.change,
                    event.entry.key,
                    event.publication,
                    event.on,
                    now,
                    Jsonb(event.entry.to_json()),
                )
                for event in update.events
            ],
        )


def _recorded(row: Row) -> RecordedListing:
    change = next((c for c in LISTING_CHANGES if c == row["change"]), None)
    if change is None:
        raise StateError(f"a stored listing event has an unknown change {row['change']!r}")
    stored = row["entry"]
    try:
        if not isinstance(stored, dict):
            raise ValueError("not a JSON object")
        entry = ListingEntry.from_json(stored)
    except ValueError as exc:
        raise StateError(f"a stored listing event is unreadable: {exc}") from exc
    return RecordedListing(
        change=change,
        entry=entry,
        on=row["happened_on"],
        publication=str(row["publication"]),
    )
