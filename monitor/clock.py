"""The wall clock, at the edge: pure logic takes ``now`` as an argument, and
the parts that need the time take a :data:`Clock`, so tests give them a fake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A source of the current time (timezone-aware, UTC)."""


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
