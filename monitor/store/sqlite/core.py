"""The SQLite store's connection: opening (identity, schema), transactions, queries.

One connection guarded by a lock: the monitor's writes are small and few,
and serialising them keeps every poll's commit atomic without retry loops.
Other processes (``monitor once`` beside ``monitor run``) are safe too:
WAL lets them read while one writes, and unique keys stop double alerts.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Self

from monitor.errors import StateError
from monitor.store.claims import ClaimOwner, this_process
from monitor.store.ports import SEND_LEASE
from monitor.store.sqlite.deferral import DEFER_SECONDS, DeferredTimestamps
from monitor.store.sqlite.schema import identity_marker, lost_state, marked_id, migrate

log = logging.getLogger("monitor.store")


def _file_id(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


class SQLiteCore:
    """An open state database: what every part of the SQLite store builds on."""

    def __init__(
        self,
        path: Path,
        *,
        claim_lease: timedelta = SEND_LEASE,
        owner: ClaimOwner | None = None,
        new_state: bool = False,
    ) -> None:
        """Open (creating or upgrading) the database at ``path``.

        ``new_state``: take the database at ``path`` as it is (a new one if
        it is missing or empty) even where the identity marker beside it names
        another: starting over on purpose (``--new-state``)."""
        self.path = path
        self.claim_lease = claim_lease
        self.owner = owner or this_process()
        """Who this store's claims name as their sender."""
        self._lock = threading.RLock()
        in_memory = str(path) == ":memory:"
        try:
            expected_id = None if in_memory or new_state else marked_id(path)
            if expected_id is not None and (not path.exists() or path.stat().st_size == 0):
                raise lost_state(path, "is missing" if not path.exists() else "is empty (0 bytes)")
            if not in_memory:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
            self._file_id = None if in_memory else _file_id(path.stat())
            """The file opened, to tell it from one put in its place later."""
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed alert survives power loss, not only a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            with self._transaction() as db:
                state_id = migrate(db, path, expected_id)
            if not in_memory and expected_id != state_id:
                identity_marker(path).write_text(state_id + "\n", encoding="utf-8")
            # Bookkeeping goes through a connection of its own, without the
            # fsync: switching one connection's synchronous mode around each
            # write cost two more statements per poll.
            self._bookkeeping_db = self._db if in_memory else self._connect()
            self._bookkeeping_db.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open state database {str(path)!r}: {exc}") from exc
        except StateError:
            if hasattr(self, "_db"):
                self._db.close()
            raise
        self._deferred = DeferredTimestamps(self._bookkeeping_db, self._lock, path)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )

    def database_problem(self) -> str | None:
        """Why the database does not answer now, or None: a query on the
        store's connection, and the file still where it was opened. A
        connection keeps reading and writing a file deleted or replaced
        under it, but what it writes is then lost to every later start."""
        try:
            self._query("PRAGMA schema_version")
            if self._file_id is None:
                return None
            found = _file_id(self.path.stat())
        except StateError as exc:
            return str(exc)
        except FileNotFoundError:
            return (
                f"the state database {str(self.path)!r} is gone (deleted or moved): what the "
                "monitor writes now is lost when it stops"
            )
        except OSError as exc:
            return f"cannot see the state database {str(self.path)!r}: {exc}"
        if found != self._file_id:
            return (
                f"the state database {str(self.path)!r} is another file than the one opened "
                "(replaced): what the monitor writes goes to the old one, lost when it stops"
            )
        if not os.access(self.path, os.R_OK | os.W_OK):
            return f"the state database {str(self.path)!r} may no longer be read and written"
        return None

    def db_mode(self) -> str:
        """The journal mode in force (``wal`` unless the file system refused it)."""
        return str(self._query("PRAGMA journal_mode")[0][0])

    @property
    def sync_period(self) -> timedelta:
        """How long a deferred write of timestamps waits at most (see Maintenance.sync)."""
        return timedelta(seconds=DEFER_SECONDS)

    def sync(self, older_than: timedelta = timedelta(0), *, wait: bool = True) -> None:
        """Write the deferred timestamps if the oldest has waited ``older_than``
        (see monitor.store.sqlite.deferral); with ``wait`` false, not while
        another thread uses the database. Failures are logged, never raised."""
        self._deferred.write_waiting(older_than.total_seconds(), wait=wait)

    def close(self) -> None:
        """Write the deferred timestamps and close both connections."""
        with self._lock:
            self._deferred.close()
            self._bookkeeping_db.close()
            self._db.close()

    def __enter__(self) -> Self:
        """The store itself, closed when the ``with`` block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise

    def _bookkeeping(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        """One statement of bookkeeping that may be lost to a power cut (when a
        feed was last polled, its failure count), committed without the
        fsync; the next durable commit writes it too. The database stays
        consistent either way (WAL). One statement needs no BEGIN and COMMIT
        around it, and a poll that finds nothing new is mostly such round
        trips. Returns the rows of its RETURNING clause, if any."""
        return self._rows(self._bookkeeping_db, sql, params)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's errors raised as StateError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """The rows of one statement on the durable connection."""
        return self._rows(self._db, sql, params)

    def _rows(
        self, db: sqlite3.Connection, sql: str, params: Sequence[object]
    ) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = db.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc
