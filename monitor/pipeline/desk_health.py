"""What /healthz says: can the desk see? Pure: the feeds' states, the
scheduler's condition, whether the state database answers and ``now`` in,
a verdict out.

A monitor whose every feed fails, or that has read nothing since it
started, is blind: it answers 503 like a monitor whose scheduler died,
because a probe that only asks "is the process up" would call it healthy
while the desk misses everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.domain.feed import FeedState
from monitor.domain.ops import SILENT
from monitor.pipeline.feed_health import span

ERROR_CHARS = 300


class DeskStatus(StrEnum):
    OK = "ok"
    STARTING = "starting"
    """Nothing read yet since the start, and ``ops.failing_after`` has not passed."""
    DEGRADED = "degraded"
    """Some feeds fail or are silent; the others are read."""
    UNHEALTHY = "unhealthy"
    """The scheduler is dead, the state database does not answer or is
    unusable, the desk is blind, or delivery is held (Slack rejects the
    token)."""


@dataclass(frozen=True)
class DeskHealth:
    status: DeskStatus
    reason: str | None
    body: dict[str, object]

    @property
    def healthy(self) -> bool:
        """True for a 200 answer, False for a 503."""
        return self.status is not DeskStatus.UNHEALTHY


def _failing_entry(state: FeedState) -> dict[str, object]:
    error = state.last_error or ""
    return {
        "feed": state.name,
        "since": state.failing_since.isoformat() if state.failing_since else None,
        "failures": state.consecutive_failures,
        "kind": state.last_error_kind,
        "error": error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…",
    }


def _kinds(failing: Sequence[FeedState]) -> str:
    counts: dict[str, int] = {}
    for state in failing:
        kind = state.last_error_kind or "error"
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))


def desk_health(
    feeds: Sequence[str],
    states: Mapping[str, FeedState] | None,
    *,
    now: datetime,
    started_at: datetime,
    last_success: datetime | None,
    failing_after: timedelta,
    scheduler_problem: str | None,
    state_problem: str | None = None,
    delivery_problem: str | None = None,
    database_problem: str | None = None,
) -> DeskHealth:
    """The verdict on the desk's sight.

    ``feeds``: the watched feeds, in config order; ``states``: their stored
    states (None when the state could not be read, ``state_problem`` saying
    why); ``last_success``: the last successful poll since ``started_at``;
    ``scheduler_problem``: why the scheduler runs no jobs, if it does not;
    ``delivery_problem``: why no alert can go out, if so;
    ``database_problem``: why the state database does not answer now, if
    it does not (Maintenance.database_problem; ``states`` is then None).

    Unhealthy (503): the scheduler is dead; the state database does not
    answer, or the state is unusable; no alert
    can go out (Slack rejects the token); every
    feed's last poll failed; or no feed has been read within
    ``failing_after`` of the start. Degraded (200): some feeds fail or are
    silent. A feed not polled yet counts neither way.
    """
    known = [states[name] for name in feeds if states is not None and name in states]
    failing = [s for s in known if s.consecutive_failures > 0]
    silent = [s.name for s in known if SILENT in s.open_incidents and s.consecutive_failures == 0]
    problems: list[str] = []
    if scheduler_problem is not None:
        problems.append(scheduler_problem)
    if database_problem is not None:
        problems.append(database_problem)
    if state_problem is not None:
        problems.append(f"the state database cannot be read: {state_problem}")
    if delivery_problem is not None:
        problems.append(delivery_problem)
    if feeds and failing and len(failing) == len(feeds):
        problems.append(
            f"blind: every feed's last poll failed ({len(failing)} of {len(feeds)}: "
            f"{_kinds(failing)})"
        )
    running_for = now - started_at
    if last_success is None and running_for >= failing_after:
        problems.append(
            f"blind: no feed read in the {span(running_for)} since the start "
            f"(ops.failing_after is {span(failing_after)})"
        )
    if problems:
        status, reason = DeskStatus.UNHEALTHY, "; ".join(problems)
    elif failing or silent:
        parts = []
        if failing:
            parts.append(
                f"{len(failing)} of {len(feeds)} feeds failing: "
                + ", ".join(s.name for s in failing)
            )
        if silent:
            parts.append(f"{len(silent)} silent: {', '.join(silent)}")
        status, reason = DeskStatus.DEGRADED, "; ".join(parts)
    elif last_success is None:
        status, reason = DeskStatus.STARTING, "no feed read yet since the start"
    else:
        status, reason = DeskStatus.OK, None
    body: dict[str, object] = {
        "status": status.value,
        "reason": reason,
        "scheduler_running": scheduler_problem is None,
        "database": {"reachable": database_problem is None, "problem": database_problem},
        "last_successful_poll_age_seconds": (now - last_success).total_seconds()
        if last_success is not None
        else None,
        "feeds": len(feeds),
        "failing_feeds": [_failing_entry(s) for s in failing],
        "silent_feeds": silent,
    }
    return DeskHealth(status, reason, body)
