"""An open PostgreSQL state database: what every part of the PostgreSQL
store builds on (the counterpart of monitor.store.sqlite.core).

Connections come from a pool (psycopg_pool): each thread takes one for a
statement or a transaction and gives it back, so polls, deliveries and the
web console read and write at once, and several instances share the
database. Every session runs in UTC; rows come back as dicts. The password
never comes from the URL: libpq reads ``PGPASSWORD`` (or a password file)
from the environment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from monitor.errors import StateError
from monitor.store.claims import ClaimOwner, this_process
from monitor.store.ports import SEND_LEASE
from monitor.store.postgres.schema import migrate

Row = dict[str, Any]
Connection = psycopg.Connection[Row]

POOL_SIZE = 8
"""Connections an instance holds at most (polls, deliveries, the console)."""
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the server, or for a free pooled connection."""


def describe(url: str) -> str:
    """The database as messages name it: host, port and name, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable PostgreSQL URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"


def _utc(conn: Connection) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


class PostgresCore:
    """An open state database on a PostgreSQL server."""

    def __init__(
        self,
        url: str,
        *,
        claim_lease: timedelta = SEND_LEASE,
        owner: ClaimOwner | None = None,
        pool_size: int = POOL_SIZE,
    ) -> None:
        """Connect to the database at ``url`` and create or upgrade its schema."""
        self.where = describe(url)
        self.claim_lease = claim_lease
        self.owner = owner or this_process()
        """Who this store's claims name as their sender."""
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "connect_timeout": int(CONNECT_TIMEOUT)},
            configure=_utc,
            timeout=CONNECT_TIMEOUT,
            name="monitor-state",
            open=False,
        )
        try:
            # One plain connection first: a refused one says why at once,
            # where the pool would retry until its timeout.
            psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT)).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StateError(
                f"cannot connect to the state database {self.where}: {reason}"
            ) from exc
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
            with self._transaction() as conn:
                self.state_id = migrate(conn, self.where)
        except PoolTimeout as exc:
            self._pool.close()
            raise StateError(
                f"cannot reach the state database {self.where} within "
                f"{CONNECT_TIMEOUT:.0f} s: is the server running, and may this user "
                "connect (PGPASSWORD)?"
            ) from exc
        except BaseException:
            self._pool.close()
            raise

    @property
    def sync_period(self) -> timedelta:
        """Nothing is deferred: every write is committed as it is made."""
        return timedelta(0)

    def sync(self, older_than: timedelta = timedelta(0), *, wait: bool = True) -> None:
        """Nothing to write: this store defers nothing."""

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()

    def __enter__(self) -> Self:
        """The store itself, closed when the ``with`` block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction on a pooled connection: committed when the block
        ends, rolled back when it raises."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StateError(
                f"no connection to the state database {self.where} within "
                f"{CONNECT_TIMEOUT:.0f} s: {exc}"
            ) from exc
        except psycopg.Error as exc:
            raise StateError(f"state database error in {self.where}: {exc}") from exc

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """The rows of one statement (in a transaction of its own)."""
        with self._transaction() as conn:
            cursor = conn.execute(sql, params or None)
            return cursor.fetchall() if cursor.description is not None else []
