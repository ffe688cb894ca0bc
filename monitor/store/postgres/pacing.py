"""The PostgreSQL store's ChannelPacing port (schema version 3): each
channel's last booked post and hold (``channel_pacing``), and the
destination's hold (``destination_hold``, one row).

Each write is one upsert: a booking computes the next slot from the row as
it stands under the row's lock, so instances booking one channel at once
take turns and get slots an interval apart; a hold keeps the later end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store.coordination import PACING_HORIZON, DeliveryHolds
from monitor.store.postgres.core import PostgresCore


class PostgresChannelPacing(PostgresCore):
    """Posts paced and held per channel (see monitor.store.ports.ChannelPacing)."""

    def reserve_post(self, channel: str, *, now: datetime, interval: timedelta) -> datetime:
        """The channel's next slot, booked (see the port)."""
        rows = self._query(
            "INSERT INTO channel_pacing AS p (channel, last_slot) VALUES (%s, %s) "
            "ON CONFLICT (channel) DO UPDATE SET last_slot = CASE "
            "WHEN p.last_slot IS NULL OR p.last_slot > %s THEN excluded.last_slot "
            "ELSE GREATEST(excluded.last_slot, p.last_slot + %s) END RETURNING last_slot",
            (channel, now, now + PACING_HORIZON, interval),
        )
        slot: datetime = rows[0]["last_slot"]
        return slot.astimezone(UTC)

    def hold_channel(self, channel: str, until: datetime) -> None:
        """``channel`` held until ``until`` at least."""
        self._query(
            "INSERT INTO channel_pacing AS p (channel, held_until) VALUES (%s, %s) "
            "ON CONFLICT (channel) DO UPDATE SET "
            "held_until = GREATEST(p.held_until, excluded.held_until)",
            (channel, until),
        )

    def hold_all(self, until: datetime) -> None:
        """Everything held until ``until`` at least."""
        self._query(
            "INSERT INTO destination_hold AS h (one_row, until) VALUES (true, %s) "
            "ON CONFLICT (one_row) DO UPDATE SET until = GREATEST(h.until, excluded.until)",
            (until,),
        )

    def holds(self, now: datetime) -> DeliveryHolds:
        """The holds running at ``now``."""
        with self._transaction() as conn:
            everything = conn.execute(
                "SELECT until FROM destination_hold WHERE until > %s", (now,)
            ).fetchall()
            channels = conn.execute(
                "SELECT channel, held_until FROM channel_pacing WHERE held_until > %s", (now,)
            ).fetchall()
        return DeliveryHolds(
            everything[0]["until"].astimezone(UTC) if everything else None,
            {row["channel"]: row["held_until"].astimezone(UTC) for row in channels},
        )
