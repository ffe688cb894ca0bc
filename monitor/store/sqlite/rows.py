"""Between rows and records: timestamps as ISO text, rows as domain records,
and the one way an alert enters the outbox table (shared by polls,
incidents and notices)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from monitor.domain.alert import Alert, FoldedAlert, OutboxEntry, RoutedAlert, Target
from monitor.domain.feed import FeedState, Validators
from monitor.domain.kinds import IncidentKind


def ts(value: datetime) -> str:
    """A moment as stored: UTC, ISO 8601 to the microsecond (sorts as text)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def optional_ts(value: datetime | None) -> str | None:
    """``ts`` of a moment that may be absent."""
    return ts(value) if value is not None else None


def dt(value: str | None) -> datetime | None:
    """A stored moment read back; None for none."""
    return datetime.fromisoformat(value) if value else None


def required_dt(value: str | None) -> datetime:
    """A stored moment of a NOT NULL column read back."""
    assert value is not None
    return datetime.fromisoformat(value)


def gap(seconds: float | None) -> timedelta | None:
    """A stored duration (seconds) read back."""
    return timedelta(seconds=seconds) if seconds is not None else None


def outbox_entry(row: sqlite3.Row) -> OutboxEntry:
    """An alerts row as the outbox shows it."""
    return OutboxEntry(
        id=row["id"],
        alert=Alert.from_json(row["payload"]),
        attempts=row["attempts"],
        channel=row["channel"],
        mentions=tuple(json.loads(row["mentions"])),
        digest=row["digest"],
        status=row["status"],
        # A claim that expired means a sender died mid-send: the sink may have the post.
        uncertain=bool(row["uncertain"]) or row["status"] == "sending",
        last_error=row["last_error"],
        next_attempt_at=required_dt(row["next_attempt_at"]),
    )


OPEN_INCIDENTS = (
    "(SELECT GROUP_CONCAT(incidents.kind) FROM incidents WHERE incidents.feed = feeds.name "
    "AND incidents.closed_at IS NULL) AS open_incidents"
)
"""A column for a query of feeds: the kinds of each one's open incidents."""


def incident_kinds(listed: str | None) -> tuple[IncidentKind, ...]:
    """The kinds an OPEN_INCIDENTS column lists, sorted (the incidents
    table's CHECK holds them to IncidentKind)."""
    return tuple(sorted(cast(IncidentKind, kind) for kind in listed.split(","))) if listed else ()


def feed_state(row: sqlite3.Row) -> FeedState:
    """A feeds row, with the OPEN_INCIDENTS column."""
    return FeedState(
        name=row["name"],
        url=row["url"],
        validators=Validators(row["etag"], row["last_modified"]),
        first_success_at=dt(row["first_success_at"]),
        next_poll_at=dt(row["next_poll_at"]),
        body_hash=row["body_hash"],
        last_success_at=dt(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=dt(row["failing_since"]),
        last_item_at=dt(row["last_item_at"]),
        publish_gap=gap(row["publish_gap"]),
        open_incidents=frozenset(incident_kinds(row["open_incidents"])),
    )


_INSERT_ALERT = (
    "INSERT OR IGNORE INTO alerts (rule_id, item_identity, item_link, feed, severity, "
    "payload, created_at, next_attempt_at, channel, mentions, digest, status, sent_at, "
    "last_error, story_key, backfill) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _alert_row(
    alert: Alert, target: Target, stamp: str, *, folded_because: str | None = None
) -> tuple[object, ...]:
    """An outbox row: pending, or silenced (never sent) when a flood alert stands for it."""
    return (
        alert.rule_id,
        alert.item_identity,
        alert.link,
        alert.feed,
        alert.severity.value,
        alert.to_json(),
        stamp,
        ts(target.not_before) if target.not_before and folded_because is None else stamp,
        target.channel,
        json.dumps(list(target.mentions)) if folded_because is None else "[]",
        target.digest if folded_because is None else None,
        "pending" if folded_because is None else "silenced",
        None if folded_because is None else stamp,
        folded_because,
        alert.story,
        int(alert.is_backfill),
    )


def record_folded(db: sqlite3.Connection, folded: Sequence[FoldedAlert], stamp: str) -> None:
    """Keep alerts a flood alert stands for, as silenced (never sent), with why."""
    db.executemany(
        _INSERT_ALERT,
        [_alert_row(a, target, stamp, folded_because=why) for a, target, why in folded],
    )


def queue(db: sqlite3.Connection, alerts: Sequence[RoutedAlert], stamp: str) -> int:
    """Put alerts in the outbox; one for the same rule, item and channel exists at most once."""
    return sum(
        db.execute(_INSERT_ALERT, _alert_row(alert, target, stamp)).rowcount
        for alert, target in alerts
    )
