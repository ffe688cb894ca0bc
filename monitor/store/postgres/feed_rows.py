"""Feeds rows of the PostgreSQL store read back as domain records (see
monitor.store.sqlite.rows); moments are read with monitor.store.postgres.rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from monitor.domain.feed import FeedState, Validators
from monitor.domain.kinds import IncidentKind
from monitor.store.postgres.core import Row
from monitor.store.postgres.rows import optional_utc


def gap(seconds: float | None) -> timedelta | None:
    """A stored duration (seconds) read back."""
    return timedelta(seconds=seconds) if seconds is not None else None


def seconds(duration: timedelta | None) -> float | None:
    """A duration as stored (seconds)."""
    return duration.total_seconds() if duration is not None else None


OPEN_INCIDENTS = (
    "(SELECT array_agg(incidents.kind) FROM incidents WHERE incidents.feed = feeds.name "
    "AND incidents.closed_at IS NULL) AS open_incidents"
)
"""A column for a query of feeds: the kinds of each one's open incidents (NULL for none)."""


def incident_kinds(kinds: Sequence[str] | None) -> tuple[IncidentKind, ...]:
    """The kinds an OPEN_INCIDENTS column lists, sorted (the incidents
    table's CHECK holds them to IncidentKind)."""
    return tuple(sorted(cast(IncidentKind, kind) for kind in kinds or ()))


def feed_state(row: Row) -> FeedState:
    """A feeds row, with the OPEN_INCIDENTS column."""
    return FeedState(
        name=row["name"],
        url=row["url"],
        validators=Validators(row["etag"], row["last_modified"]),
        first_success_at=optional_utc(row["first_success_at"]),
        next_poll_at=optional_utc(row["next_poll_at"]),
        body_hash=row["body_hash"],
        last_success_at=optional_utc(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=optional_utc(row["failing_since"]),
        last_item_at=optional_utc(row["last_item_at"]),
        publish_gap=gap(row["publish_gap"]),
        open_incidents=frozenset(incident_kinds(row["open_incidents"])),
    )


def unchanged_after(state: FeedState, *, now: datetime, next_poll_at: datetime | None) -> FeedState:
    """``state`` as a poll at ``now`` that found nothing new leaves it: healthy,
    last read now, due again at ``next_poll_at`` (None keeps its next poll)."""
    return replace(
        state,
        last_success_at=now,
        next_poll_at=next_poll_at or state.next_poll_at,
        last_error=None,
        last_error_kind=None,
        consecutive_failures=0,
        failing_since=None,
    )
