"""State: feed validators, seen items, and the alert outbox, behind one interface."""

from monitor.store.base import FeedState, Store
from monitor.store.sqlite import SQLiteStore

__all__ = ["FeedState", "SQLiteStore", "Store"]
