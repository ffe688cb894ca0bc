"""What one poll of one feed did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.errors import FeedError


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did, for logs, metrics and `monitor once`."""

    feed: str
    items: int = 0
    new: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: FeedError | None = None
    next_poll_at: datetime | None = None
    """When the feed is due again (None if that could not be recorded)."""
    first_read: bool = False
    """This poll was the feed's first successful read (at its URL)."""

    @property
    def ok(self) -> bool:
        """The poll read the feed (changed or not)."""
        return self.error is None


def seconds(value: float | None) -> timedelta | None:
    """A wait a server asked for (seconds), as a poll's decisions take it."""
    return timedelta(seconds=value) if value else None
