"""Smoke test of bench/bench_state_stores.py: a few feeds, one warm cycle,
both stores, every figure printed (no figure is judged here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import postgres_url, server_problem

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_state_stores.py"


def schema_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(postgres_url()) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone()
    return found is not None


def test_bench_compares_monitor_once_on_sqlite_and_postgres_and_cleans_up() -> None:
    pytest.importorskip("psutil", reason="psutil is a bench-only dependency")
    if (problem := server_problem()) is not None:
        pytest.skip(f"no PostgreSQL server answers at {postgres_url()} ({problem})")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--feeds=12", "--cycles=1", "--changed-every=3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for cycle in ("0", "1"):
        for store in ("sqlite", "postgres"):
            assert f"{cycle:>5} {store:<8}" in out, f"cycle {cycle} on {store} is shown"
    assert out.count("12/12 read, 0 failed") == 4, "every feed is read in every run"
    assert out.count("ratio    wall ") == 2, "the cold and the warm cycles are compared"
    assert "the server's share" in out
    assert "the PostgreSQL server's CPU during the SQLite runs" in out
    where = re.search(r"state in (\S+) and in the schema (\w+) on", out)
    assert where is not None, out
    assert not Path(where[1]).exists(), "the temporary state directory is removed"
    assert not schema_exists(where[2]), "the run's schema is dropped"
