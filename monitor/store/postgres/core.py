"""An open PostgreSQL state database: what every part of the PostgreSQL
store builds on (the counterpart of monitor.store.sqlite.core).

Connections come from a pool (psycopg_pool): each thread takes one for a
statement or a transaction and gives it back, so polls, deliveries and the
web console read and write at once, and several instances share the
database. Every session runs in UTC; rows come back as dicts. The password
never comes from the URL: libpq reads ``PGPASSWORD`` (or a password file)
from the environment.

Pooled connections are in autocommit mode: a statement alone
(``_query``) is a transaction of its own in one round trip to the server,
where an explicit one costs two more (BEGIN and COMMIT), and a poll makes
several such statements. Statements that must commit together run in
``_transaction``.

Every commit waits for its changes to reach the server's disk, except those
of writes that only move bookkeeping timestamps, which name LAZY_COMMIT:
an unchanged poll's last success and next poll, feed leases taken, renewed
and released, heartbeats. Such a commit returns before its WAL is flushed
(``synchronous_commit = off``, for that transaction alone); other sessions
see it at once, as any commit. A crash of the server (not of the monitor)
can lose the last fraction of a second of them, about three times
``wal_writer_delay``: a feed then shows its poll before and is polled again
sooner, or its lease is held until it runs out, as one an instance did not
release. Nothing is held in the monitor's memory: every such write is on the
server, for every instance, once its statement returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Self

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from monitor.errors import StateError
from monitor.store.claims import ClaimOwner, this_process
from monitor.store.ports import SEND_LEASE
from monitor.store.postgres.schema import migrate

Row = dict[str, Any]
Connection = psycopg.Connection[Row]

ROWS = pq.ExecStatus.TUPLES_OK
"""A result's status when the statement returns rows (even none)."""

POOL_SIZE = 8
"""Connections an instance holds at most (polls, deliveries, the console)."""
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the server, or for a free pooled connection."""
LAZY_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS lazy_commit"
"""A FROM item of a statement run alone (``_query``) whose commit need not wait
for the disk (see the module's docstring): ``SET LOCAL`` in the statement
itself, so it costs no round trip of its own. It applies once the statement
finds a row to write; one that finds none writes nothing to wait for."""
ANSWER_TIMEOUT = 2.0
"""Seconds /healthz waits for the database to answer (database_problem)."""
POOL_WAIT = 0.5
"""Seconds database_problem waits for a pooled connection before it asks
the server on a connection of its own: a busy pool is no unreachable
database."""


def describe(url: str) -> str:
    """The database as messages name it: host, port and name, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable PostgreSQL URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
        self._url = url
        self._check_lock = threading.Lock()
        self._check: Future[str | None] | None = None
        self._check_started = 0.0
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={
                "row_factory": dict_row,
                "connect_timeout": int(CONNECT_TIMEOUT),
                "autocommit": True,
            },
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
            raise StateError(
                f"cannot connect to the state database {self.where}: {_first_line(exc)}"
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

    def database_problem(self) -> str | None:
        """Why the database does not answer ``SELECT 1`` now, or None.

        Asked in a thread of its own and waited for ``ANSWER_TIMEOUT`` at
        most: a server that stopped answering (paused, or cut off without a
        reset) would otherwise hold /healthz until TCP gives up, minutes
        later. One check at a time: while one hangs, callers wait for it
        and say how long it has gone unanswered."""
        with self._check_lock:
            check = self._check
            if check is None or check.done():
                check = self._check = Future()
                self._check_started = time.monotonic()
                threading.Thread(
                    target=self._answer, args=(check,), name="state-db-check", daemon=True
                ).start()
            started = self._check_started
        try:
            return check.result(timeout=ANSWER_TIMEOUT)
        except FutureTimeout:
            waited = time.monotonic() - started
            return f"the state database {self.where} has not answered for {waited:.0f} s"

    def _answer(self, check: Future[str | None]) -> None:
        """Settle ``check``: None if ``SELECT 1`` is answered, else why not.

        A pooled connection the server dropped (a restart, a failover)
        fails once and leaves the pool, so another is tried before the
        database is called unreachable; when the pool gives none at once, a
        connection of the check's own says whether the server answers."""
        try:
            problem: str | None = None
            for _ in range(POOL_SIZE + 1):
                try:
                    with self._pool.connection(timeout=POOL_WAIT) as conn:
                        conn.execute("SELECT 1")
                    problem = None
                    break
                except PoolTimeout:
                    problem = self._answer_alone()
                    break
                except psycopg.OperationalError as exc:
                    problem = f"cannot reach the state database {self.where}: {_first_line(exc)}"
                    if self._pool.closed:
                        break
        except Exception as exc:  # a health check says what went wrong, never raises
            problem = f"cannot check the state database {self.where}: {_first_line(exc)}"
        check.set_result(problem)

    def _answer_alone(self) -> str | None:
        """``SELECT 1`` on a connection of its own, outside the pool."""
        try:
            with psycopg.connect(
                self._url, connect_timeout=int(ANSWER_TIMEOUT), autocommit=True
            ) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return f"cannot reach the state database {self.where}: {_first_line(exc)}"
        return None

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
    def _connection(self) -> Iterator[Connection]:
        """A pooled connection, each statement a transaction of its own; its
        errors raised as StateError."""
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

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction on a pooled connection: committed when the block
        ends, rolled back when it raises."""
        with self._connection() as conn, conn.transaction():
            yield conn

    def _query(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> list[Row]:
        """The rows of one statement, a transaction of its own: one round trip."""
        with self._connection() as conn:
            cursor = conn.execute(sql, params or None)
            # Asked of the result's status: ``description`` builds an object
            # for every column at each call.
            result = cursor.pgresult
            return cursor.fetchall() if result is not None and result.status == ROWS else []

    def _execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """One statement that returns no rows, a transaction of its own; how
        many rows it wrote."""
        with self._connection() as conn:
            return conn.execute(sql, params or None).rowcount
