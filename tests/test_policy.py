"""Alert policy is pure: now and data in, decisions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.delivery.policy import retry_delay
from monitor.pipeline.decide import AlertPolicy, decide
from monitor.rules.compiled import Match
from tests.support.records import make_item, make_match

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = AlertPolicy(baseline_window=timedelta(hours=6), max_item_age=timedelta(days=3))


def match_at(published: datetime | None) -> Match:
    return make_match(make_item("x", guid=f"urn:{published}", published=published))


def test_first_poll_baselines_backlog_but_alerts_recent_items() -> None:
    matches = [
        match_at(NOW - timedelta(hours=1)),
        match_at(NOW - timedelta(days=1)),
        match_at(None),
    ]
    decision = decide(matches, now=NOW, first_poll=True, policy=POLICY)
    assert [a.published for a in decision.alerts] == [NOW - timedelta(hours=1)]
    assert decision.baselined == 2


def test_later_polls_alert_new_items_including_undated_but_not_stale_ones() -> None:
    matches = [match_at(NOW - timedelta(days=1)), match_at(None), match_at(NOW - timedelta(days=4))]
    decision = decide(matches, now=NOW, first_poll=False, policy=POLICY)
    assert len(decision.alerts) == 2 and decision.stale == 1
    assert decision.alerts[0].rule_id == "r" and decision.alerts[0].created_at == NOW


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"),
    [(1, 0.5, 30), (2, 0.5, 60), (3, 0.5, 120), (20, 0.5, 1800), (1, 0.0, 24), (1, 0.999999, 36)],
)
def test_retry_delay_doubles_with_a_cap_and_bounded_jitter(
    attempts: int, jitter: float, seconds: float
) -> None:
    delay = retry_delay(
        attempts, initial=timedelta(seconds=30), maximum=timedelta(minutes=30), jitter=jitter
    )
    assert delay.total_seconds() == pytest.approx(seconds, rel=1e-4)
