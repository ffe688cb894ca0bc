"""The PostgreSQL store's Outbox and OutboxReview: alerts queued, claimed, sent
(see monitor.store.sqlite.outbox, whose claims and leases these are).

Several instances share the table, so a claim is one conditional UPDATE: it
takes the alert only while it is pending or its claim has lapsed, and a
claim whose sender is gone is taken over only if it is still the claim this
process judged (the same sender and claim time), never a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from monitor.domain.alert import OutboxEntry, RoutedAlert, Silence
from monitor.domain.kinds import OutboxStatus
from monitor.store.claims import claim_owner_gone
from monitor.store.postgres.core import PostgresCore
from monitor.store.postgres.rows import outbox_entry, queue, utc

log = logging.getLogger("monitor.store")


class PostgresOutbox(PostgresCore):
    """The send loop's side of the outbox (see monitor.store.ports.Outbox)."""

    def queue_alerts(self, alerts: Sequence[RoutedAlert], *, now: datetime) -> int:
        """Queue alerts of no poll or incident; how many were queued."""
        with self._transaction() as conn:
            return queue(conn, alerts, now)

    def _gone_owners(self, now: datetime) -> list[str]:
        """The senders of claims still within their lease that are known to be gone."""
        rows = self._query(
            "SELECT DISTINCT claimed_by FROM alerts WHERE status = 'sending' AND claimed_at > %s "
            "AND claimed_by IS NOT NULL",
            (now - self.claim_lease,),
        )
        return [
            row["claimed_by"] for row in rows if claim_owner_gone(row["claimed_by"], self.owner)
        ]

    def due_alerts(
        self, now: datetime, limit: int, *, skip_channels: Sequence[str] = ()
    ) -> list[OutboxEntry]:
        """Up to ``limit`` due alerts, in the order the Outbox port states."""
        gone = self._gone_owners(now)
        # Critical first; then in turns across (feed, rule) groups, oldest
        # first within each: a flood queued by one feed or rule takes one
        # place per turn, and every other group's next alert goes before its
        # second. The order is worked out on ids alone, and only the chosen
        # rows are read whole.
        rows = self._query(
            "SELECT alerts.* FROM (SELECT id, urgent, turn FROM (SELECT id, "
            "severity = 'critical' AS urgent, "
            "ROW_NUMBER() OVER (PARTITION BY feed, rule_id ORDER BY id) AS turn FROM alerts "
            "WHERE ((status = 'pending' AND next_attempt_at <= %s) OR (status = 'sending' "
            "AND (claimed_at IS NULL OR claimed_at <= %s OR claimed_by = ANY(%s::text[])))) "
            "AND digest IS NULL AND NOT (channel = ANY(%s::text[]))) AS due "
            "ORDER BY urgent DESC, turn, id LIMIT %s) AS chosen JOIN alerts USING (id) "
            "ORDER BY chosen.urgent DESC, chosen.turn, chosen.id",
            (now, now - self.claim_lease, gone, list(skip_channels), limit),
        )
        return [outbox_entry(row) for row in rows]

    def digest_queue(self, channel: str, digest: str, now: datetime) -> list[OutboxEntry]:
        """Alerts waiting for one channel's digest, oldest first."""
        rows = self._query(
            "SELECT * FROM alerts WHERE channel = %s AND digest = %s AND "
            "(status = 'pending' OR (status = 'sending' AND (claimed_at IS NULL "
            "OR claimed_at <= %s OR claimed_by = ANY(%s::text[])))) ORDER BY id",
            (channel, digest, now - self.claim_lease, self._gone_owners(now)),
        )
        return [outbox_entry(row) for row in rows]

    def entry(self, alert_id: int) -> OutboxEntry | None:
        """One alert as the outbox holds it now; None if there is none."""
        rows = self._query("SELECT * FROM alerts WHERE id = %s", (alert_id,))
        return outbox_entry(rows[0]) if rows else None

    def claim(self, alert_id: int, *, now: datetime) -> bool:
        """Take an alert for sending, or take over a lapsed claim or one whose sender is gone."""
        owner = str(self.owner)
        with self._transaction() as conn:
            taken = conn.execute(
                "UPDATE alerts SET status = 'sending', claimed_at = %s, claimed_by = %s "
                "WHERE id = %s AND (status = 'pending' OR (status = 'sending' "
                "AND (claimed_at IS NULL OR claimed_at <= %s))) RETURNING id",
                (now, owner, alert_id, now - self.claim_lease),
            ).fetchone()
            if taken is not None:
                return True
            held = conn.execute(
                "SELECT claimed_at, claimed_by FROM alerts WHERE id = %s AND status = 'sending'",
                (alert_id,),
            ).fetchone()
        if held is None or not claim_owner_gone(held["claimed_by"], self.owner):
            return False
        with self._transaction() as conn:
            taken = conn.execute(
                "UPDATE alerts SET status = 'sending', claimed_at = %s, claimed_by = %s "
                "WHERE id = %s AND status = 'sending' AND claimed_at = %s AND claimed_by = %s "
                "RETURNING id",
                (now, owner, alert_id, held["claimed_at"], held["claimed_by"]),
            ).fetchone()
        if taken is None:
            return False
        log.warning(
            "alert %d was being sent by %s, which is no longer running; taking it over",
            alert_id,
            held["claimed_by"],
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
        with self._transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'sent', sent_at = %s, destination = %s, "
                "delivery_ref = %s, channel_ref = %s, thread_ref = %s, attempts = attempts + 1, "
                "last_error = NULL, claimed_at = NULL, uncertain = false WHERE id = %s",
                (now, destination, ref, channel_ref, thread_ref, alert_id),
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
        with self._transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'pending', attempts = %s, next_attempt_at = %s, "
                "last_error = %s, claimed_at = NULL, uncertain = (uncertain OR %s) WHERE id = %s",
                (attempts, next_attempt_at, error, uncertain, alert_id),
            )

    def mark_failed(self, alert_id: int, *, attempts: int, now: datetime, error: str) -> None:
        """Give up on an alert until it is requeued."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'failed', attempts = %s, last_error = %s, "
                "next_attempt_at = %s, claimed_at = NULL WHERE id = %s",
                (attempts, error, now, alert_id),
            )

    def mark_silenced(self, alert_id: int, *, now: datetime, silence: Silence) -> None:
        """Settle an alert as never to be sent, because of ``silence``."""
        # silenced_count (monitor.store.postgres.silences) reads the silence's id back from this text.
        with self._transaction() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'silenced', claimed_at = NULL, sent_at = %s, "
                "last_error = %s WHERE id = %s",
                (now, f"silenced by silence {silence.id}: {silence.reason}", alert_id),
            )

    def story_waits(self, story_key: str, channel: str, *, before_id: int) -> datetime | None:
        """When the earliest unsent earlier alert of the story in the channel is due."""
        rows = self._query(
            "SELECT MIN(next_attempt_at) AS first_due FROM alerts WHERE story_key = %s "
            "AND channel = %s AND id < %s AND status = 'pending' AND digest IS NULL "
            "AND (attempts = 0 OR uncertain)",
            (story_key, channel, before_id),
        )
        first_due = rows[0]["first_due"] if rows else None
        return utc(first_due) if first_due is not None else None

    def post_ref(self, alert_id: int) -> str | None:
        """The sink's reference for the post that carried an alert (None: none known)."""
        rows = self._query("SELECT delivery_ref FROM alerts WHERE id = %s", (alert_id,))
        ref = rows[0]["delivery_ref"] if rows else None
        return str(ref) if ref is not None else None

    def release_held(self, story_key: str, *, now: datetime) -> int:
        """Make a story's held, untried alerts due now; how many."""
        with self._transaction() as conn:
            return conn.execute(
                "UPDATE alerts SET next_attempt_at = %s WHERE story_key = %s "
                "AND status = 'pending' AND attempts = 0 AND digest IS NULL "
                "AND next_attempt_at > %s",
                (now, story_key, now),
            ).rowcount

    def top_level_posts(self, channel: str, since: datetime) -> int:
        """Top-level posts to a channel since a time; a roll-up counts once."""
        rows = self._query(
            "SELECT COUNT(DISTINCT COALESCE(delivery_ref, 'alert:' || id::text)) AS posts "
            "FROM alerts WHERE channel = %s AND status = 'sent' AND thread_ref IS NULL "
            "AND sent_at >= %s",
            (channel, since),
        )
        return int(rows[0]["posts"])

    def known_channel_ref(self, channel: str) -> str | None:
        """The channel's reference from the sink's latest answer that gave one."""
        rows = self._query(
            "SELECT channel_ref FROM alerts WHERE channel = %s AND channel_ref IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (channel,),
        )
        return str(rows[0]["channel_ref"]) if rows else None


class PostgresOutboxReview(PostgresCore):
    """The operators' side of the outbox (see monitor.store.ports.OutboxReview)."""

    def outbox(self, statuses: Sequence[OutboxStatus], limit: int = 200) -> list[OutboxEntry]:
        """Alerts in the given states, oldest first, for ``monitor outbox``."""
        rows = self._query(
            "SELECT * FROM alerts WHERE status = ANY(%s::text[]) ORDER BY id LIMIT %s",
            (list(statuses), limit),
        )
        return [outbox_entry(row) for row in rows]

    def requeue(self, alert_ids: Sequence[int], *, now: datetime) -> int:
        """Queue failed alerts again (all failed ones when no id is given)."""
        requeue = "UPDATE alerts SET status = 'pending', attempts = 0, next_attempt_at = %s "
        with self._transaction() as conn:
            if not alert_ids:
                return conn.execute(f"{requeue} WHERE status = 'failed'", (now,)).rowcount
            return conn.execute(
                f"{requeue} WHERE status = 'failed' AND id = ANY(%s::bigint[])",
                (now, list(alert_ids)),
            ).rowcount

    def outbox_counts(self) -> dict[str, int]:
        """How many alerts are in each status, every status present."""
        rows = self._query("SELECT status, COUNT(*) AS n FROM alerts GROUP BY status")
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "silenced": 0}
        counts.update({row["status"]: int(row["n"]) for row in rows})
        return counts
