"""Smoke test of bench/bench_archive.py: a few thousand items, every part run
once, every figure printed (no figure is judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_archive.py"
CORPUS = ROOT.parent / "shared" / "corpora" / "realworld"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not present at {CORPUS}"),
]


def test_bench_archive_prints_size_insert_cost_search_and_poll_figures(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--items=2000",
            "--corpus-files=6",
            "--search-runs=2",
            "--poll-feeds=3",
            "--poll-items=10",
            "--poll-new=3",
            "--poll-reps=1",
            f"--dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "commit cost per item, 2,000 items" in out
    assert "last tenth / first tenth: commit with archive" in out
    for share in ("archive rows", "archive indexes", "full-text index", "seen records"):
        assert f"    {share}" in out, f"the database size shows the {share}"
    for label in ("rare word", "common word: Russia", "phrase:", "prefix: sanction*", "AND / OR"):
        assert label in out, f"search times the {label} query"
    assert "--since 2d --feed" in out
    assert "DIFFERENT ITEMS" not in out, "the search finds what the one-statement query finds"
    assert out.count("; same items") == 7
    assert out.count("on / off: CPU") == 2, "polls compared from empty and from the filled archive"
    assert "FAILED" not in out
    assert list(tmp_path.iterdir()) == [], "the databases are deleted without --keep"
