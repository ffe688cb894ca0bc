"""The shipped rule pack: every rule's own cases pass, every rule has enough
of them, and the look-alikes the issue names stay quiet."""

from __future__ import annotations

import pytest

from monitor.rules.compiled import Rule
from monitor.rules.load import load_rules
from monitor.rules.testing import CaseResult, run_cases
from tests.support.records import make_item
from tests.support.setup import SHIPPED_RULES

RULES = load_rules(SHIPPED_RULES)
RESULTS = run_cases(RULES)
REQUIRED = {
    "sanctions-chinese-firms",
    "dprk-troops-combat",
    "seoul-weapons-ukraine",
    "dprk-troops-deployment",
    "iran-arms-russia",
    "china-military-supply-russia",
    "sanctions-escalation-china",
    "xi-putin-contact",
    "middle-east-energy-escalation",
    "us-sanctions-public-inspection",
}


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: f"{r.rule.id}:{r.case.line}")
def test_rule_case(result: CaseResult) -> None:
    assert result.passed, result.describe()


def test_the_pack_has_every_watch_point() -> None:
    assert {rule.id for rule in RULES.rules} == REQUIRED


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.id)
def test_every_rule_has_at_least_8_positive_and_8_negative_cases(rule: Rule) -> None:
    positive = sum(case.expect is not None for case in rule.cases)
    negative = sum(case.expect is None for case in rule.cases)
    assert positive >= 8 and negative >= 8, (positive, negative)


def alerts(title: str, summary: str = "") -> dict[str, str]:
    return {m.rule.id: m.severity.value for m in RULES.match(make_item(title, summary))}


@pytest.mark.parametrize(
    ("title", "rule_id"),
    [
        ("China sanctions US defence firms over Taiwan arms sales", "sanctions-chinese-firms"),
        (
            "Austin warns North Korean troops in combat would be a serious problem",
            "dprk-troops-combat",
        ),
        ("North Korea sends shells to Russia", "seoul-weapons-ukraine"),
        ("South Korea sends humanitarian aid to Ukraine", "seoul-weapons-ukraine"),
        ("Korean War veterans recall battles against North Korean troops", "dprk-troops-combat"),
    ],
)
def test_the_issues_hard_negatives_stay_quiet(title: str, rule_id: str) -> None:
    assert rule_id not in alerts(title)


def test_one_item_gets_one_alert_where_a_rule_supersedes_another() -> None:
    found = alerts("North Korean troops killed in Kursk fighting, Ukraine says")
    assert found == {"dprk-troops-combat": "critical"}, "combat replaces the deployment alert"
    found = alerts("US sanctions Chinese firms supplying drone parts to Russia's military")
    assert "sanctions-chinese-firms" in found and "china-military-supply-russia" not in found


def test_seoul_tiers() -> None:
    assert alerts("South Korea approves shipment of artillery shells to Ukraine") == {
        "seoul-weapons-ukraine": "critical"
    }
    assert (
        alerts("South Korea considers sending weapons to Ukraine")["seoul-weapons-ukraine"]
        == "warning"
    )
