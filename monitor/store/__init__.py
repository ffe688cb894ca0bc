"""State: feed validators, seen items, and the alert outbox, behind one interface."""

from monitor.store.base import FeedHealth, FeedState, Store
from monitor.store.sqlite import SQLiteStore

__all__ = ["FeedHealth", "FeedState", "SQLiteStore", "Store"]
