"""A backtest as data: what rules would have alerted on archived items, next
to what did alert (``monitor backtest``). Pure: items and a matcher in, rows out.

Each item is judged as the poll that first read it judged it: its matches
through :func:`~monitor.pipeline.decide.decide` at the time it was first
seen, a first read's backlog baselined as it was then. What did alert is the
outbox's record of the item (kept while the outbox keeps it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.domain.archive import ArchivedItem
from monitor.domain.item import Item
from monitor.domain.ops import OPS_RULE_IDS
from monitor.domain.severity import Severity
from monitor.pipeline.decide import AlertPolicy, decide
from monitor.rules.compiled import Match

BacktestChange = Literal["added", "lost", "changed"]
"""How a rule's verdict on an item moves: it would alert and did not, did
and would not, or both at another severity."""


@dataclass(frozen=True)
class BacktestRow:
    """One rule on one archived item whose verdict would change."""

    change: BacktestChange
    rule_id: str
    archived: ArchivedItem
    would: Severity | None
    """The severity the rules tried would alert at; None: no alert."""
    did: Severity | None
    """The severity it alerted at; None: it did not alert."""


@dataclass(frozen=True)
class BacktestReport:
    """The rows, and the counts behind them."""

    items: int
    """Archived items judged."""
    would: int
    """(rule, item) alerts the rules tried would raise."""
    did: int
    """(rule, item) alerts that were raised, of the rules compared."""
    rows: tuple[BacktestRow, ...]
    """Every change, in the order the items were first seen, then by rule."""

    def of_change(self, change: BacktestChange) -> tuple[BacktestRow, ...]:
        """The rows of one kind of change."""
        return tuple(row for row in self.rows if row.change == change)


def would_alert(
    archived: ArchivedItem, matches_of: Callable[[Item], Sequence[Match]], policy: AlertPolicy
) -> dict[str, Severity]:
    """Each rule that would alert on the item, with its severity, as the poll
    that first read it would have decided."""
    decision = decide(
        matches_of(archived.item),
        now=archived.first_seen_at,
        first_poll=archived.first_poll,
        policy=policy,
    )
    return {alert.rule_id: alert.severity for alert in decision.alerts}


def did_alert(archived: ArchivedItem) -> dict[str, Severity]:
    """Each rule that alerted on the item (ops notices aside), at its highest
    severity across channels."""
    found: dict[str, Severity] = {}
    for mark in archived.alerted:
        if mark.rule_id in OPS_RULE_IDS or mark.rule_id.startswith("ops."):
            continue
        before = found.get(mark.rule_id)
        if before is None or mark.severity.rank > before.rank:
            found[mark.rule_id] = mark.severity
    return found


def backtest(
    archived: Sequence[ArchivedItem],
    matches_of: Callable[[Item], Sequence[Match]],
    policy: AlertPolicy,
    *,
    rule_ids: Collection[str] = (),
) -> BacktestReport:
    """What ``matches_of`` (the rules tried) would alert on each item, against
    what did; ``rule_ids``: compare only these rules (all when empty)."""

    def kept(verdicts: dict[str, Severity]) -> dict[str, Severity]:
        return {r: s for r, s in verdicts.items() if not rule_ids or r in rule_ids}

    rows: list[BacktestRow] = []
    would_total = did_total = 0
    for item in archived:
        would, did = kept(would_alert(item, matches_of, policy)), kept(did_alert(item))
        would_total, did_total = would_total + len(would), did_total + len(did)
        for rule_id in sorted(would.keys() | did.keys()):
            now, then = would.get(rule_id), did.get(rule_id)
            if now == then:
                continue
            change: BacktestChange = (
                "added" if then is None else "lost" if now is None else "changed"
            )
            rows.append(BacktestRow(change, rule_id, item, would=now, did=then))
    return BacktestReport(items=len(archived), would=would_total, did=did_total, rows=tuple(rows))
