"""The package and its tests stay mypy-strict and ruff-clean; CI fails otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.setup import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.timeout(600)
def test_mypy_strict_passes_on_the_package_and_tests() -> None:
    # pyproject's [tool.mypy] files lists both monitor/ and tests/, so a bare run covers both.
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_is_clean() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
