"""The monitor's own alerts about itself: their rule ids and incident kinds."""

from __future__ import annotations

from monitor.domain.alert import Alert
from monitor.domain.kinds import IncidentKind

FAILING: IncidentKind = "failing"
SILENT: IncidentKind = "silent"
RULE_IDS = {
    FAILING: "ops.feed-failing",
    SILENT: "ops.feed-silent",
}
RECOVERED_RULE_ID = "ops.feed-recovered"
WITHDRAWN_RULE_ID = "ops.feed-withdrawn"
STALE_RULE_ID = "ops.feeds-stale"
FLOOD_RULE_ID = "ops.feed-flood"
LIST_REFUSED_RULE_ID = "ops.list-refused"
SILENCE_ENDED_RULE_ID = "ops.silence-ended"
OPS_RULE_IDS = (
    *RULE_IDS.values(),
    RECOVERED_RULE_ID,
    WITHDRAWN_RULE_ID,
    STALE_RULE_ID,
    FLOOD_RULE_ID,
    LIST_REFUSED_RULE_ID,
    SILENCE_ENDED_RULE_ID,
)
"""Ops alerts carry these rule ids, so `monitor silence` and routes-by-rule
treat them like any rule's alerts."""


def is_ops_alert(alert: Alert) -> bool:
    """Whether the monitor raised this alert about itself (a feed's health, a flood)."""
    return alert.rule_id.startswith("ops.")
