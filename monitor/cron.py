"""Cron expressions (digest times): parsed and checked without running anything.

Its own module so that config validation and the scheduler share one parser
while config imports nothing that runs the monitor.
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.triggers.cron import CronTrigger


def cron_trigger(expression: str) -> CronTrigger:
    """A UTC cron trigger from "minute hour day month weekday"; ValueError if invalid."""
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"invalid cron expression {expression!r}: {exc} (five fields: minute hour day month weekday)"
        ) from exc
