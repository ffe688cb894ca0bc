"""Smoke test of bench/bench_instances.py: a few feeds, short windows, one
instance and two on both servers, every figure printed (none is judged
here), the schemas dropped."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import postgres_url, server_problem
from tests.test_bench_state_stores import schema_exists

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_instances.py"


def test_bench_compares_one_instance_with_two_and_drops_its_schemas() -> None:
    if (problem := server_problem()) is not None:
        pytest.skip(f"no PostgreSQL server answers at {postgres_url()} ({problem})")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--feeds=20", "--seconds=2", "--delay=20"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for speed in ("slow", "fast"):
        for instances in (1, 2):
            row = re.search(rf"^{speed:<6} {instances:>9} .*$", out, re.M)
            assert row is not None, f"{speed} with {instances} instance(s) is shown:\n{out}"
            polls = int(row[0].split()[3])
            assert polls > 0, f"the feed server counted polls: {row[0]}"
        assert f"{speed}: two instances poll " in out
    schemas = re.findall(r"state in the schema (\w+)", out)
    assert len(schemas) == 2, out
    assert not any(schema_exists(name) for name in schemas), "the run's schemas are dropped"
