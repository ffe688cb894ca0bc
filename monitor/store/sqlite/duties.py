"""The SQLite store's Duties port (schema version 11): work one process
runs at a time, each a lease row in ``duties``.

Taking a duty reads its row, judges its holder (the lease ended, or the
process is known to be gone) and writes the new holder in one BEGIN
IMMEDIATE transaction: the store's lock serialises this process's threads,
the database's write lock the processes sharing the file, so two never
both take it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast, get_args

from monitor.store.claims import claim_owner_gone
from monitor.store.coordination import DutyName
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import required_dt, ts


class SQLiteDuties(SQLiteCore):
    """Duties held as leases (see monitor.store.ports.Duties)."""

    def hold_duty(self, name: DutyName, *, now: datetime, lease: timedelta) -> bool:
        """Whether ``name`` is this owner's until ``now + lease`` (see the port)."""
        owner = str(self.owner)
        with self._transaction() as db:
            row = db.execute("SELECT owner, until FROM duties WHERE name = ?", (name,)).fetchone()
            if row is not None:
                holder, until = str(row[0]), required_dt(row[1])
                free = holder == owner or until <= now or claim_owner_gone(holder, self.owner)
                if not free:
                    return False
            db.execute(
                "INSERT INTO duties (name, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until",
                (name, owner, ts(now + lease)),
            )
        return True

    def release_duty(self, name: DutyName) -> None:
        """This owner's hold of ``name`` ended."""
        with self._transaction() as db:
            db.execute("DELETE FROM duties WHERE name = ? AND owner = ?", (name, str(self.owner)))

    def duty_holders(self, *, now: datetime) -> dict[DutyName, str]:
        """The holder of each duty whose lease runs at ``now``."""
        rows = self._query("SELECT name, owner FROM duties WHERE until > ?", (ts(now),))
        known = get_args(DutyName)
        return {cast(DutyName, row[0]): str(row[1]) for row in rows if row[0] in known}
