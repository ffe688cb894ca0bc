"""Outbox rows of the PostgreSQL store: queueing alerts, reading entries back
(see monitor.store.sqlite.rows); used by the outbox and by every commit that queues alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from monitor.domain.alert import Alert, FoldedAlert, OutboxEntry, RoutedAlert, Target
from monitor.store.postgres.core import Connection, Row


def utc(value: datetime) -> datetime:
    """A timestamptz read back, as UTC (as the SQLite store returns moments)."""
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    """``utc`` of a moment that may be absent."""
    return value.astimezone(UTC) if value is not None else None


def outbox_entry(row: Row) -> OutboxEntry:
    """An alerts row as the outbox shows it."""
    mentions = row["mentions"]
    return OutboxEntry(
        id=row["id"],
        alert=Alert.from_json(row["payload"]),
        attempts=row["attempts"],
        channel=row["channel"],
        mentions=tuple(str(m) for m in mentions) if isinstance(mentions, list) else (),
        digest=row["digest"],
        status=row["status"],
        # A claim that expired means a sender died mid-send: the sink may have the post.
        uncertain=bool(row["uncertain"]) or row["status"] == "sending",
        last_error=row["last_error"],
        next_attempt_at=utc(row["next_attempt_at"]),
    )


_INSERT_ALERT = (
    "INSERT INTO alerts (rule_id, item_identity, item_link, feed, severity, "
    "payload, created_at, next_attempt_at, channel, mentions, digest, status, sent_at, "
    "last_error, story_key, backfill) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (rule_id, item_identity, channel) DO NOTHING"
)


def _alert_row(
    alert: Alert, target: Target, now: datetime, *, folded_because: str | None = None
) -> tuple[Any, ...]:
    """An outbox row: pending, or silenced (never sent) when a flood alert stands for it."""
    pending = folded_because is None
    return (
        alert.rule_id,
        alert.item_identity,
        alert.link,
        alert.feed,
        alert.severity.value,
        alert.to_json(),
        now,
        target.not_before if target.not_before and pending else now,
        target.channel,
        Jsonb(list(target.mentions) if pending else []),
        target.digest if pending else None,
        "pending" if pending else "silenced",
        None if pending else now,
        folded_because,
        alert.story,
        alert.is_backfill,
    )


def queue(conn: Connection, alerts: Sequence[RoutedAlert], now: datetime) -> int:
    """Put alerts in the outbox; one for the same rule, item and channel exists at most once."""
    if not alerts:
        return 0
    with conn.cursor() as cursor:
        # executemany sums the rows each statement inserted: a conflict adds none.
        cursor.executemany(
            _INSERT_ALERT, [_alert_row(alert, target, now) for alert, target in alerts]
        )
        return max(cursor.rowcount, 0)


def record_folded(conn: Connection, folded: Sequence[FoldedAlert], now: datetime) -> None:
    """Keep alerts a flood alert stands for, as silenced (never sent), with why."""
    if not folded:
        return
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT_ALERT,
            [_alert_row(a, target, now, folded_because=why) for a, target, why in folded],
        )
