from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.monitors",
    "tests.support.web_desk",
    "tests.support.browser",
]


@pytest.fixture(autouse=True)
def restore_root_logging() -> Iterator[None]:
    """`monitor.cli.main` installs its own log handler on the root logger,
    bound to the stream of that test; later tests must not write to it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
