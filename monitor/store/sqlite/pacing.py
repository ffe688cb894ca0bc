"""The SQLite store's ChannelPacing port (schema version 11): each channel's
last booked post and hold (``channel_pacing``), and the destination's hold
(``destination_hold``, one row).

A booking reads the channel's last slot and writes the next in one BEGIN
IMMEDIATE transaction, so two processes booking one channel at once get
slots an interval apart. Moments are stored as ``rows.ts`` writes them
(UTC, to the microsecond), which compare as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.store.coordination import PACING_HORIZON, DeliveryHolds
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import dt, required_dt, ts


class SQLiteChannelPacing(SQLiteCore):
    """Posts paced and held per channel (see monitor.store.ports.ChannelPacing)."""

    def reserve_post(self, channel: str, *, now: datetime, interval: timedelta) -> datetime:
        """The channel's next slot, booked (see the port)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT last_slot FROM channel_pacing WHERE channel = ?", (channel,)
            ).fetchone()
            last = dt(row[0]) if row is not None else None
            slot = now  # no booking yet, or one a wrong clock made: free now
            if last is not None and last <= now + PACING_HORIZON:
                slot = max(now, last + interval)
            db.execute(
                "INSERT INTO channel_pacing (channel, last_slot) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET last_slot = excluded.last_slot",
                (channel, ts(slot)),
            )
        return slot

    def hold_channel(self, channel: str, until: datetime) -> None:
        """``channel`` held until ``until`` at least."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO channel_pacing (channel, held_until) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET held_until = "
                "max(COALESCE(held_until, excluded.held_until), excluded.held_until)",
                (channel, ts(until)),
            )

    def hold_all(self, until: datetime) -> None:
        """Everything held until ``until`` at least."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO destination_hold (one_row, until) VALUES (1, ?) "
                "ON CONFLICT (one_row) DO UPDATE SET until = max(until, excluded.until)",
                (ts(until),),
            )

    def holds(self, now: datetime) -> DeliveryHolds:
        """The holds running at ``now``."""
        stamp = ts(now)
        everything = self._query("SELECT until FROM destination_hold WHERE until > ?", (stamp,))
        channels = self._query(
            "SELECT channel, held_until FROM channel_pacing WHERE held_until > ?", (stamp,)
        )
        return DeliveryHolds(
            required_dt(everything[0][0]) if everything else None,
            {str(row[0]): required_dt(row[1]) for row in channels},
        )
