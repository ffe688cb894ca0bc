"""Whether the state database answers, as /healthz asks it
(Maintenance.database_problem), where each store fails for real: a SQLite
file deleted or replaced under the running monitor; a PostgreSQL server
cut off or frozen behind a loopback relay, and one that dropped the
pool's connections (a restart, a failover) but answers again."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.store.postgres import PostgresStore
from monitor.store.sqlite import SQLiteStore
from tests.support.postgres import (
    create_schema,
    drop_schema,
    postgres_url,
    require_server,
    schema_name,
)
from tests.support.tcp_relay import TcpRelay
from tests.test_e2e import wait_until

# --- SQLite ---------------------------------------------------------------------------


def test_sqlite_deleted_under_the_monitor_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with SQLiteStore(path) as store:
        assert store.database_problem() is None
        path.unlink()
        problem = store.database_problem()
    assert problem is not None
    assert repr(str(path)) in problem and "is gone (deleted or moved)" in problem, problem
    assert "lost when it stops" in problem, "the user is told what it costs"


def test_sqlite_replaced_under_the_monitor_is_a_problem(tmp_path: Path) -> None:
    path, other = tmp_path / "state.db", tmp_path / "backup.db"
    sqlite3.connect(other).close()
    with SQLiteStore(path) as store:
        other.replace(path)
        problem = store.database_problem()
        assert problem is not None and "another file than the one opened" in problem, problem


def test_sqlite_in_memory_answers(tmp_path: Path) -> None:
    with SQLiteStore(Path(":memory:")) as store:
        assert store.database_problem() is None


# --- PostgreSQL -----------------------------------------------------------------------


@pytest.fixture
def relay() -> Iterator[TcpRelay]:
    """A relay to the test server that the test can cut off or freeze."""
    require_server()
    info = psycopg.conninfo.conninfo_to_dict(postgres_url())
    with TcpRelay((str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))) as relay:
        yield relay


@pytest.fixture
def schema(tmp_path: Path) -> Iterator[str]:
    """A schema of the test's own; the query part of a URL naming it."""
    require_server()
    name = schema_name(str(tmp_path))
    url = create_schema(name)
    yield url.partition("?")[2]
    drop_schema(name)


def relayed_url(relay: TcpRelay, schema: str) -> str:
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_url()).get("dbname") or "test"
    return relay.url(str(dbname), schema)


def test_postgres_cut_off_is_a_problem_naming_the_database_and_clears_when_back(
    relay: TcpRelay, schema: str
) -> None:
    with PostgresStore(relayed_url(relay, schema), pool_size=2) as store:
        assert store.database_problem() is None
        relay.stop()
        problem = store.database_problem()
        assert problem is not None
        assert problem.startswith(
            f"cannot reach the state database postgresql://127.0.0.1:{relay.port}/"
        ), problem
        assert "refused" in problem.lower(), "says why"
        assert "search_path" not in problem and "options" not in problem, "host:port/name only"
        relay.start()
        assert store.database_problem() is None, "back as soon as the server answers again"


def test_postgres_frozen_is_a_problem_within_the_check_and_one_check_hangs_at_most(
    relay: TcpRelay, schema: str
) -> None:
    with PostgresStore(relayed_url(relay, schema), pool_size=2) as store:
        assert store.database_problem() is None
        relay.freeze()
        try:
            first = store.database_problem()
            second = store.database_problem()
            checks = [t for t in threading.enumerate() if t.name == "state-db-check"]
        finally:
            relay.thaw()
        for problem in (first, second):
            assert problem is not None and "has not answered for" in problem, problem
            assert f"postgresql://127.0.0.1:{relay.port}/" in problem
        assert len(checks) == 1, "a second caller waits for the check that hangs"
        wait_until(lambda: store.database_problem() is None, "the thawed server's answer")


def test_postgres_that_dropped_the_pools_connections_but_answers_has_no_problem(
    schema: str,
) -> None:
    name = f"status-check-{schema_name(schema)}"
    url = f"{postgres_url()}{'&' if '?' in postgres_url() else '?'}{schema}"
    with PostgresStore(f"{url}&application_name={name}", pool_size=2) as store:
        assert store.feed_states() == []  # a pooled connection, now idle
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert ended, "the pool's connections were there to end"
        assert store.database_problem() is None, "a dropped connection is no unreachable server"
