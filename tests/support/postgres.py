"""The PostgreSQL server the tests use, and a schema of a test's own on it.

Every development and CI machine runs one on 127.0.0.1:5432 (trust auth,
database ``test``); ``MONITOR_TEST_POSTGRES_URL`` names another. Tests that
need it skip, saying why, where none answers.
"""

from __future__ import annotations

import hashlib
import os

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL_ENV = "MONITOR_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


def postgres_url() -> str:
    """``$MONITOR_TEST_POSTGRES_URL``, else the local server."""
    return os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL


def server_problem() -> str | None:
    """Why no PostgreSQL server answers, or None when one does."""
    try:
        psycopg.connect(postgres_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def require_server() -> None:
    """Skip the test, saying why, when no server answers."""
    problem = server_problem()
    if problem is not None:
        pytest.skip(
            f"no PostgreSQL server answers at {postgres_url()} ({problem}): this test "
            f"needs one (set {POSTGRES_URL_ENV} to another)"
        )


def schema_name(key: str) -> str:
    """A schema name of its own for ``key`` (a test's tmp path)."""
    return "t_" + hashlib.sha256(key.encode()).hexdigest()[:20]


def create_schema(name: str) -> str:
    """Create the schema ``name`` unless it exists (opening it again is a
    restart on the same state); the URL of the test database with it as the
    search path (what a monitor's ``state.url`` would name)."""
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name)))
    separator = "&" if "?" in postgres_url() else "?"
    return f"{postgres_url()}{separator}options=-csearch_path%3D{name}"


def drop_schema(name: str) -> None:
    """Drop the schema ``name`` and everything in it."""
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
