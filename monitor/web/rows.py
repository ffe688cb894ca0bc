"""What the feeds and rules pages show, row by row. Pure: the config, the
rules and what the store read in, rows out (each value still raw text:
the templates escape it)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from monitor.commands.status import BLIND_STATES, status_label
from monitor.domain.feed import FeedHealth, Incident
from monitor.pipeline.feed_status import FeedStatus, configured_feed_status
from monitor.redact import Redactor
from monitor.rules.compiled import Rule
from monitor.rules.load import RuleSet
from monitor.rules.testing import CaseResult, run_cases
from monitor.settings import Config
from monitor.store.alert_log import DailyAlertCount
from monitor.web.charts import CHART_DAYS, DayChart, counts_by_rule, day_chart


@dataclass(frozen=True)
class FeedRow:
    """One configured feed as ``monitor status`` judges it."""

    name: str
    url: str
    """Redacted: a secret in its query is hidden."""
    tags: tuple[str, ...]
    status: FeedStatus
    label: str
    """The state as ``monitor status`` names it (a problem in capitals)."""
    health: FeedHealth | None
    """What the store holds of it; None: never polled."""
    interval: timedelta
    """Its poll interval before backoff."""
    last_error: str | None
    """Redacted, with its kind."""
    incidents: tuple[Incident, ...]
    """Its open incidents, their details redacted."""

    @property
    def blind(self) -> bool:
        """The desk cannot see this feed: failing, silent or overdue."""
        return self.label in BLIND_STATES


def feed_rows(
    config: Config,
    health: Sequence[FeedHealth],
    incidents: Sequence[Incident],
    redactor: Redactor,
    *,
    now: datetime,
) -> list[FeedRow]:
    """A row per configured feed, in the config's order."""
    by_name = {found.name: found for found in health}
    open_by_feed: dict[str, list[Incident]] = {}
    for incident in incidents:
        open_by_feed.setdefault(incident.feed, []).append(incident)
    rows = []
    for feed in config.feeds:
        found = by_name.get(feed.name)
        status, interval = configured_feed_status(
            config,
            feed,
            found,
            polled=found is not None and found.last_polled_at is not None,
            incidents=found.incidents if found else (),
            now=now,
        )
        error = None
        if found is not None and found.last_error:
            kind = f"{found.last_error_kind}: " if found.last_error_kind else ""
            error = kind + redactor.text(found.last_error)
        rows.append(
            FeedRow(
                name=feed.name,
                url=redactor.url(feed.url),
                tags=tuple(feed.tags),
                status=status,
                label=status_label(status),
                health=found,
                interval=interval,
                last_error=error,
                incidents=tuple(
                    Incident(
                        id=incident.id,
                        feed=incident.feed,
                        kind=incident.kind,
                        since=incident.since,
                        detail=redactor.text(incident.detail),
                        opened_at=incident.opened_at,
                    )
                    for incident in open_by_feed.get(feed.name, ())
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class RuleRow:
    """One rule with its test cases' results and its alerts per day."""

    rule: Rule
    results: tuple[CaseResult, ...]
    chart: DayChart

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(result for result in self.results if not result.passed)


class CaseResults:
    """The rules' own test cases run once per rule set: rules change only on
    a reload, which makes a new rule set. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: RuleSet | None = None
        self._results: dict[str, tuple[CaseResult, ...]] = {}

    def of(self, rules: RuleSet) -> Mapping[str, tuple[CaseResult, ...]]:
        """Each rule's case results, by rule id."""
        with self._lock:
            if self._rules is not rules:
                grouped: dict[str, list[CaseResult]] = {}
                for result in run_cases(rules):
                    grouped.setdefault(result.rule.id, []).append(result)
                self._results = {rule_id: tuple(found) for rule_id, found in grouped.items()}
                self._rules = rules
            return self._results


def chart_start(today: date, days: int = CHART_DAYS) -> date:
    """The first day the rules page charts, ending today."""
    return today - timedelta(days=days - 1)


def rule_rows(
    rules: RuleSet,
    results: Mapping[str, tuple[CaseResult, ...]],
    counts: Sequence[DailyAlertCount],
    *,
    today: date,
) -> list[RuleRow]:
    """A row per rule, in the rule set's order, charting ``CHART_DAYS`` days up to ``today``."""
    by_rule = counts_by_rule(counts)
    return [
        RuleRow(
            rule=rule,
            results=results.get(rule.id, ()),
            chart=day_chart(by_rule.get(rule.id, {}), last_day=today),
        )
        for rule in rules.rules
    ]
