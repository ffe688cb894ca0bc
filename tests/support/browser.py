"""A real headless Chromium for the web console's tests, driven by Playwright.

Playwright's own browser downloads come from a CDN a watch desk's CI may
not reach, so the system's Chromium is used (Debian's ``chromium`` package,
which ``.ci/run`` installs where it can); ``MONITOR_TEST_CHROMIUM`` names
another binary. Without Playwright or a Chromium the tests skip, saying which.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ENV = "MONITOR_TEST_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

SCREENSHOTS_ENV = "MONITOR_TEST_SCREENSHOTS"
"""Where the browser tests save their screenshots (default: the test's tmp dir)."""


def chromium_path() -> str | None:
    """The Chromium binary to drive, if one is installed."""
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        return named if Path(named).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (pages are opened per test)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip(
            "browser tests need Playwright: pip install -e '.[test]' installs it "
            "(the package 'playwright' is missing)"
        )
    binary = chromium_path()
    if binary is None:
        pytest.skip(
            "browser tests need a Chromium: install Debian's 'chromium' package "
            f"(apt-get install chromium), or name a binary in {CHROMIUM_ENV}"
        )
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=binary,
                headless=True,
                # Containers often run as root without user namespaces, where
                # Chromium's sandbox cannot start; the pages are our own.
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
        except Error as exc:
            pytest.skip(f"Chromium at {binary} would not start: {str(exc).splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


def screenshot_dir(fallback: Path) -> Path:
    """Where to save screenshots: $MONITOR_TEST_SCREENSHOTS, else ``fallback``."""
    named = os.environ.get(SCREENSHOTS_ENV, "").strip()
    directory = Path(named) if named else fallback
    directory.mkdir(parents=True, exist_ok=True)
    return directory
