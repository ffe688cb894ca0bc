"""Smoke test of bench/bench_fleet.py: a few feeds, the monitor only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_fleet.py"
CORPUS = ROOT.parent / "shared" / "corpora" / "realworld"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not present at {CORPUS}"),
]


def test_bench_fleet_runs_the_monitor_cycles_on_a_few_feeds(tmp_path: Path) -> None:
    pytest.importorskip("psutil", reason="psutil is a bench-only dependency")
    figures = tmp_path / "fleet.json"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--limit",
            "3",
            "--skip",
            "reader,naive",
            "--repeats",
            "2",
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for cycle in ("cold", "warm-304", "warm-same"):
        assert f"monitor   {cycle}" in result.stdout
    data = json.loads(figures.read_text(encoding="utf-8"))
    cycles = data["contenders"]["monitor"]["cycles"]
    assert cycles["cold"]["info"]["feeds"] == 3
    ok = cycles["cold"]["info"]["ok"]
    assert cycles["warm-304"]["info"]["not_modified"] == ok
    assert cycles["warm-same"]["info"]["not_modified"] == ok
    # Warm cycles this short run twice and report medians of runs that did the same work.
    assert len(cycles["cold"]["walls"]) == 1
    for cycle in ("warm-304", "warm-same"):
        assert len(cycles[cycle]["walls"]) == 2 and cycles[cycle]["info"]["runs_alike"]
        assert f"{cycle}: median of 2 runs; walls" in result.stdout
