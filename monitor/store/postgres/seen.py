"""The PostgreSQL store's SeenItems: which items are new (see monitor.store.sqlite.seen)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.domain.item import Item
from monitor.store.postgres.core import PostgresCore


class PostgresSeenItems(PostgresCore):
    """Seen items (see monitor.store.ports.SeenItems)."""

    def unseen(self, feed: str, items: Sequence[Item]) -> list[Item]:
        """The items none of whose keys this feed has seen before, in their
        order; every key looked up in one statement (an array parameter)."""
        if not items:
            return []
        keys = sorted({key for item in items for key in item.seen_keys})
        rows = self._query("SELECT key FROM seen WHERE feed = %s AND key = ANY(%s)", (feed, keys))
        known = {row["key"] for row in rows}
        return [item for item in items if known.isdisjoint(item.seen_keys)]
