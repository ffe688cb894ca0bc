"""What a successful poll leaves to remember: the store writes it in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.alert import FoldedAlert, RoutedAlert
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.listing import ListUpdate
from monitor.domain.story import StoryUpdate


@dataclass(frozen=True)
class PollOutcome:
    """A feed read and decided on: its items, the alerts they raise, and what
    the next poll needs (see :meth:`monitor.store.ports.FeedStates.commit_poll`)."""

    feed: str
    """The feed's name."""
    url: str
    """The URL it was read from, as stored (redacted)."""
    items: Sequence[Item]
    """Every item of the document, new or not: each is marked present now."""
    alerts: Sequence[RoutedAlert]
    """Alerts to queue, one per target (one that exists already is not queued twice)."""
    validators: Validators
    """The conditional-request state the server gave for the next poll."""
    folded: Sequence[FoldedAlert] = ()
    """Alerts recorded as never to be sent, each with why (a flood alert stands for them)."""
    body_hash: str | None = None
    """Digest of the body read, to skip parsing the same body next time."""
    publish_gap: timedelta | None = None
    """The feed's publishing rate as measured now; None keeps the stored one."""
    newest_item_at: datetime | None = None
    """When the newest new item appeared; moves the feed's last item forward, never back."""
    next_poll_at: datetime | None = None
    """When the feed is due again; None keeps the stored time."""
    list_update: ListUpdate | None = None
    """For a list source: the snapshot and the listing events the poll accepted."""
    stories: Sequence[StoryUpdate] = ()
    """The stories the poll's alerts began or joined, as they now stand."""
    archive: Sequence[Item] = ()
    """The new items to keep in the archive (see monitor.domain.archive); one
    the archive holds already for the feed is kept as first written."""
    first_poll: bool = False
    """The poll was the feed's first successful read at its URL (its backlog
    baselined): the archive notes it, so a backtest judges those items alike."""
