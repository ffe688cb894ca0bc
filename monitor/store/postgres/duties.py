"""The PostgreSQL store's Duties port (schema version 3): work one instance
runs at a time, each a lease row in ``duties``.

Taking a duty is one upsert whose update is conditional: the row's lock
makes two instances asking at once take turns, and the second finds the
first's lease running, so only one gets the duty. Whether a holder is gone
is judged from ``/proc`` before the statement, and the statement takes the
duty from that holder only if it still holds it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast, get_args

from monitor.store.claims import claim_owner_gone
from monitor.store.coordination import DutyName
from monitor.store.postgres.core import PostgresCore


class PostgresDuties(PostgresCore):
    """Duties held as leases (see monitor.store.ports.Duties)."""

    def hold_duty(self, name: DutyName, *, now: datetime, lease: timedelta) -> bool:
        """Whether ``name`` is this owner's until ``now + lease`` (see the port)."""
        owner = str(self.owner)
        holders = self._query(
            "SELECT owner FROM duties WHERE name = %s AND owner <> %s AND until > %s",
            (name, owner, now),
        )
        gone = [row["owner"] for row in holders if claim_owner_gone(row["owner"], self.owner)]
        rows = self._query(
            "INSERT INTO duties (name, owner, until) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until "
            "WHERE duties.owner = excluded.owner OR duties.until <= %s "
            "OR duties.owner = ANY(%s::text[]) RETURNING owner",
            (name, owner, now + lease, now, gone),
        )
        return bool(rows)

    def release_duty(self, name: DutyName) -> None:
        """This owner's hold of ``name`` ended."""
        self._query("DELETE FROM duties WHERE name = %s AND owner = %s", (name, str(self.owner)))

    def duty_holders(self, *, now: datetime) -> dict[DutyName, str]:
        """The holder of each duty whose lease runs at ``now``."""
        rows = self._query("SELECT name, owner FROM duties WHERE until > %s", (now,))
        known = get_args(DutyName)
        return {cast(DutyName, row["name"]): row["owner"] for row in rows if row["name"] in known}
