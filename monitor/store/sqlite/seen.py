"""The SQLite store's SeenItems port: the seen table (commit_poll writes it)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.domain.item import Item
from monitor.store.sqlite.core import SQLiteCore

_CHUNK = 500
"""Keys looked up per statement: under SQLite's bound-parameter limit."""


class SQLiteSeenItems(SQLiteCore):
    """Seen items (see monitor.store.ports.SeenItems)."""

    def unseen(self, feed: str, items: Sequence[Item]) -> list[Item]:
        """The items none of whose keys this feed has seen before, in their order."""
        if not items:
            return []
        keys = sorted({key for item in items for key in item.seen_keys})
        known: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT key FROM seen WHERE feed = ? AND key IN ({marks})",  # noqa: S608 - only "?" marks
                (feed, *chunk),
            )
            known.update(row["key"] for row in rows)
        return [item for item in items if known.isdisjoint(item.seen_keys)]
