"""A feed as the monitor remembers it between polls, and its incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.kinds import FeedErrorKind, IncidentKind


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered between polls for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedState:
    name: str
    url: str
    validators: Validators
    first_success_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_kind: FeedErrorKind | None
    consecutive_failures: int
    next_poll_at: datetime | None = None
    body_hash: str | None = None
    """Digest of the last body read, to skip parsing a server's unchanged repeat."""
    failing_since: datetime | None = None
    """When the current run of failures began (None while the feed works)."""
    last_item_at: datetime | None = None
    """When the feed last brought a new item (its date, else when first seen)."""
    publish_gap: timedelta | None = None
    """The typical time between its items, as last measured."""
    open_incidents: frozenset[IncidentKind] = frozenset()
    """The kinds of its open ops incidents: a health check finding nothing to
    open or close need not look the incidents themselves up."""


@dataclass(frozen=True)
class FeedHealth:
    """One feed as `monitor status` shows it."""

    name: str
    url: str
    last_success_at: datetime | None
    last_polled_at: datetime | None
    last_error: str | None
    last_error_kind: FeedErrorKind | None
    consecutive_failures: int
    next_poll_at: datetime | None
    items_seen: int
    alerts_raised: int
    failing_since: datetime | None = None
    last_item_at: datetime | None = None
    publish_gap: timedelta | None = None
    incidents: tuple[IncidentKind, ...] = ()
    """Kinds of its open incidents (failing, silent)."""
    first_success_at: datetime | None = None
    """Its first successful read (at its current URL): watched since then."""


@dataclass(frozen=True)
class Incident:
    """A feed failing or silent for too long: one ops alert opened it, and
    one recovery notice closes it."""

    id: int
    feed: str
    kind: IncidentKind
    since: datetime
    detail: str
    opened_at: datetime


@dataclass(frozen=True)
class PruneReport:
    seen: int = 0
    alerts: int = 0
    stories: int = 0
    incidents: int = 0
