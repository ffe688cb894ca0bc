"""The SQLite store's Outbox and OutboxReview ports: the alerts table.

An alert is claimed (status 'sending') before it is handed to a sink, so
that two processes sharing the state file never send the same alert. A
claim that is never settled (the process died mid-send, or could not record
the result) expires after the lease and the alert is sent again: at most
one duplicate, never a loss. A claim names its sender, and the claim of a
sender known to be gone (it ran on this host, in this boot and PID
namespace, and its process is no more) is taken over at once, lease or not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from monitor.domain.alert import OutboxEntry, RoutedAlert, Silence
from monitor.domain.kinds import OutboxStatus
from monitor.store.claims import claim_owner_gone
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, outbox_entry, queue, ts

log = logging.getLogger("monitor.store")


class SQLiteOutbox(SQLiteCore):
    """The send loop's side of the outbox (see monitor.store.ports.Outbox)."""

    def queue_alerts(self, alerts: Sequence[RoutedAlert], *, now: datetime) -> int:
        """Queue alerts of no poll or incident; how many were queued."""
        with self._transaction() as db:
            return queue(db, alerts, ts(now))

    def _gone_owners(self, now: datetime) -> list[str]:
        """The senders of claims still within their lease that are known to be gone."""
        rows = self._query(
            "SELECT DISTINCT claimed_by FROM alerts WHERE status = 'sending' AND claimed_at > ? "
            "AND claimed_by IS NOT NULL",
            (ts(now - self.claim_lease),),
        )
        return [row[0] for row in rows if claim_owner_gone(row[0], self.owner)]

    def due_alerts(
        self, now: datetime, limit: int, *, skip_channels: Sequence[str] = ()
    ) -> list[OutboxEntry]:
        """Up to ``limit`` due alerts, in the order the Outbox port states."""
        marks = ",".join("?" * len(skip_channels))
        gone = self._gone_owners(now)
        gone_marks = ",".join("?" * len(gone))
        # Critical first; then in turns across (feed, rule) groups, oldest
        # first within each: a flood queued by one feed or rule takes one
        # place per turn, and every other group's next alert goes before its
        # second. The order is worked out on ids alone, and only the chosen
        # rows are read whole: sorting a large backlog's payloads costs more.
        rows = self._query(
            "SELECT alerts.* FROM (SELECT id, urgent, turn FROM (SELECT id, "  # noqa: S608 - only "?" marks are interpolated
            "severity = 'critical' AS urgent, "
            "ROW_NUMBER() OVER (PARTITION BY feed, rule_id ORDER BY id) AS turn FROM alerts "
            "WHERE ((status = 'pending' AND next_attempt_at <= ?) "
            f"OR (status = 'sending' AND (claimed_at <= ? OR claimed_by IN ({gone_marks})))) "
            f"AND digest IS NULL AND channel NOT IN ({marks})) "
            "ORDER BY urgent DESC, turn, id LIMIT ?) AS chosen JOIN alerts USING (id) "
            "ORDER BY chosen.urgent DESC, chosen.turn, chosen.id",
            (ts(now), ts(now - self.claim_lease), *gone, *skip_channels, limit),
        )
        return [outbox_entry(row) for row in rows]

    def digest_queue(self, channel: str, digest: str, now: datetime) -> list[OutboxEntry]:
        """Alerts waiting for one channel's digest, oldest first."""
        gone = self._gone_owners(now)
        rows = self._query(
            "SELECT * FROM alerts WHERE channel = ? AND digest = ? AND "  # noqa: S608 - "?" marks
            "(status = 'pending' OR (status = 'sending' AND (claimed_at <= ? "
            f"OR claimed_by IN ({','.join('?' * len(gone))})))) ORDER BY id",
            (channel, digest, ts(now - self.claim_lease), *gone),
        )
        return [outbox_entry(row) for row in rows]

    def entry(self, alert_id: int) -> OutboxEntry | None:
        """One alert as the outbox holds it now; None if there is none."""
        rows = self._query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return outbox_entry(rows[0]) if rows else None

    def claim(self, alert_id: int, *, now: datetime) -> bool:
        """Take an alert for sending, or take over a lapsed claim or one whose sender is gone."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, claimed_at, claimed_by FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
            if row is None or row[0] not in ("pending", "sending"):
                return False
            status, claimed_at, claimed_by = row
            taken_over = False
            if status == "sending" and (claimed_at or "") > ts(now - self.claim_lease):
                if not claim_owner_gone(claimed_by, self.owner):
                    return False
                taken_over = True
            db.execute(
                "UPDATE alerts SET status = 'sending', claimed_at = ?, claimed_by = ? WHERE id = ?",
                (ts(now), str(self.owner), alert_id),
            )
        if taken_over:
            log.warning(
                "alert %d was being sent by %s, which is no longer running; taking it over",
                alert_id,
                claimed_by,
            )
        return True

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        destination: str,
        ref: str | None,
        channel_ref: str | None = None,
        thread_ref: str | None = None,
    ) -> None:
        """Settle an alert as sent, with the references the sink gave back."""
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'sent', sent_at = ?, destination = ?, delivery_ref = ?, "
                "channel_ref = ?, thread_ref = ?, attempts = attempts + 1, last_error = NULL, "
                "claimed_at = NULL, uncertain = 0 WHERE id = ?",
                (ts(now), destination, ref, channel_ref, thread_ref, alert_id),
            )

    def reschedule(
        self,
        alert_id: int,
        *,
        attempts: int,
        next_attempt_at: datetime,
        error: str,
        uncertain: bool = False,
    ) -> None:
        """Release a claim to try again later."""
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'pending', attempts = ?, next_attempt_at = ?, "
                "last_error = ?, claimed_at = NULL, uncertain = MAX(uncertain, ?) WHERE id = ?",
                (attempts, ts(next_attempt_at), error, int(uncertain), alert_id),
            )

    def mark_failed(self, alert_id: int, *, attempts: int, now: datetime, error: str) -> None:
        """Give up on an alert until it is requeued."""
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'failed', attempts = ?, last_error = ?, "
                "next_attempt_at = ?, claimed_at = NULL WHERE id = ?",
                (attempts, error, ts(now), alert_id),
            )

    def mark_silenced(self, alert_id: int, *, now: datetime, silence: Silence) -> None:
        """Settle an alert as never to be sent, because of ``silence``."""
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'silenced', claimed_at = NULL, sent_at = ?, "
                "last_error = ? WHERE id = ?",
                (ts(now), f"silenced by silence {silence.id}: {silence.reason}", alert_id),
            )

    def story_waits(self, story_key: str, channel: str, *, before_id: int) -> datetime | None:
        """When the earliest unsent earlier alert of the story in the channel is due."""
        rows = self._query(
            "SELECT MIN(next_attempt_at) FROM alerts WHERE story_key = ? AND channel = ? "
            "AND id < ? AND status = 'pending' AND digest IS NULL "
            "AND (attempts = 0 OR uncertain = 1)",
            (story_key, channel, before_id),
        )
        return dt(rows[0][0]) if rows and rows[0][0] else None

    def post_ref(self, alert_id: int) -> str | None:
        """The sink's reference for the post that carried an alert (None: none known)."""
        rows = self._query("SELECT delivery_ref FROM alerts WHERE id = ?", (alert_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def release_held(self, story_key: str, *, now: datetime) -> int:
        """Make a story's held, untried alerts due now; how many."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE alerts SET next_attempt_at = ? WHERE story_key = ? AND status = 'pending' "
                "AND attempts = 0 AND digest IS NULL AND next_attempt_at > ?",
                (ts(now), story_key, ts(now)),
            ).rowcount

    def top_level_posts(self, channel: str, since: datetime) -> int:
        """Top-level posts to a channel since a time; a roll-up counts once."""
        rows = self._query(
            "SELECT COUNT(DISTINCT COALESCE(delivery_ref, 'alert:' || id)) FROM alerts "
            "WHERE channel = ? AND status = 'sent' AND thread_ref IS NULL AND sent_at >= ?",
            (channel, ts(since)),
        )
        return int(rows[0][0])

    def known_channel_ref(self, channel: str) -> str | None:
        """The channel's reference from the sink's latest answer that gave one."""
        rows = self._query(
            "SELECT channel_ref FROM alerts WHERE channel = ? AND channel_ref IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (channel,),
        )
        return str(rows[0][0]) if rows else None


class SQLiteOutboxReview(SQLiteCore):
    """The operators' side of the outbox (see monitor.store.ports.OutboxReview)."""

    def outbox(self, statuses: Sequence[OutboxStatus], limit: int = 200) -> list[OutboxEntry]:
        """Alerts in the given states, oldest first, for ``monitor outbox``."""
        marks = ",".join("?" * len(statuses))
        rows = self._query(
            f"SELECT * FROM alerts WHERE status IN ({marks}) ORDER BY id LIMIT ?",  # noqa: S608
            (*statuses, limit),
        )
        return [outbox_entry(row) for row in rows]

    def requeue(self, alert_ids: Sequence[int], *, now: datetime) -> int:
        """Queue failed alerts again (all failed ones when no id is given)."""
        with self._transaction() as db:
            if alert_ids:
                marks = ",".join("?" * len(alert_ids))
                cursor = db.execute(
                    "UPDATE alerts SET status = 'pending', attempts = 0, next_attempt_at = ? "  # noqa: S608
                    f"WHERE status = 'failed' AND id IN ({marks})",
                    (ts(now), *alert_ids),
                )
            else:
                cursor = db.execute(
                    "UPDATE alerts SET status = 'pending', attempts = 0, next_attempt_at = ? "
                    "WHERE status = 'failed'",
                    (ts(now),),
                )
            return cursor.rowcount

    def outbox_counts(self) -> dict[str, int]:
        """How many alerts are in each status, every status present."""
        rows = self._query("SELECT status, COUNT(*) AS n FROM alerts GROUP BY status")
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "silenced": 0}
        counts.update({row["status"]: row["n"] for row in rows})
        return counts
