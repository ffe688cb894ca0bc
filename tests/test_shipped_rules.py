"""The shipped rule pack against realistic headlines.

These pin what the first, keyword-only rule language can tell apart. Hedged
statements ("could send") and who-acts-on-whom beyond the listed exclusions
need the richer language of the next version.
"""

from __future__ import annotations

import pytest

from monitor.rules import load_rules
from tests.support.records import make_item
from tests.support.setup import SHIPPED_RULES

RULES = load_rules(SHIPPED_RULES)


def rules_matching(title: str, summary: str = "") -> set[str]:
    return {m.rule.id for m in RULES.match(make_item(title, summary))}


@pytest.mark.parametrize(
    ("rule_id", "title", "summary"),
    [
        (
            "sanctions-chinese-firms",
            "US sanctions Chinese firms supplying Russia's drone makers",
            "",
        ),
        (
            "sanctions-chinese-firms",
            "Additions to the Entity List",
            "BIS adds 12 entities under destinations of the People's Republic of China (China) and Russia.",
        ),
        (
            "sanctions-chinese-firms",
            "EU's 19th package blacklists Hong Kong companies over Russian war machine",
            "",
        ),
        (
            "sanctions-chinese-firms",
            "UK designates China-based suppliers of drone components to Russia",
            "",
        ),
        (
            "sanctions-chinese-firms",
            "Treasury targets network of PRC entities shipping Iranian oil",
            "OFAC designated six companies.",
        ),
        ("dprk-troops-combat", "North Korean troops killed in Kursk fighting, Ukraine says", ""),
        (
            "dprk-troops-combat",
            "Ukraine captures two North Korean soldiers",
            "The prisoners were taken in Kursk.",
        ),
        (
            "dprk-troops-combat",
            "DPRK forces suffer heavy casualties in assaults on Ukrainian positions",
            "",
        ),
        (
            "dprk-troops-combat",
            "Zelensky: Pyongyang's soldiers now in combat alongside Russian units",
            "",
        ),
        (
            "dprk-troops-combat",
            "N. Korean troops wounded on the front line in Russia, Seoul says",
            "",
        ),
        (
            "seoul-weapons-ukraine",
            "South Korea approves shipment of artillery shells to Ukraine",
            "",
        ),
        ("seoul-weapons-ukraine", "Seoul decides to send air defence systems to Kyiv", ""),
        ("seoul-weapons-ukraine", "S. Korea delivers K9 howitzers to Ukraine", ""),
        ("seoul-weapons-ukraine", "South Korean weapons shipped to Ukraine for the first time", ""),
        ("seoul-weapons-ukraine", "Republic of Korea to supply missiles to Ukrainian forces", ""),
    ],
)
def test_rule_alerts_on_reported_events(rule_id: str, title: str, summary: str) -> None:
    assert rule_id in rules_matching(title, summary)


@pytest.mark.parametrize(
    ("rule_id", "title"),
    [
        ("sanctions-chinese-firms", "China sanctions US defence firms over Taiwan arms sales"),
        ("sanctions-chinese-firms", "Beijing imposes countersanctions on American companies"),
        ("sanctions-chinese-firms", "Chinese firm removed from the Entity List after appeal"),
        ("sanctions-chinese-firms", "EU fines Chinese company in antitrust case"),
        ("sanctions-chinese-firms", "US sanctions Russian banks"),
        (
            "dprk-troops-combat",
            "Korean War veterans remember North Korean troops at Inchon in 1950",
        ),
        ("dprk-troops-combat", "North Korean soldiers cross the DMZ briefly, warning shots fired"),
        ("dprk-troops-combat", "North Korean diplomats meet Russian officials in Moscow"),
        ("dprk-troops-combat", "North Korea fires ballistic missile into the sea"),
        ("dprk-troops-combat", "Ukrainian troops fight on in Donetsk"),
        ("seoul-weapons-ukraine", "North Korea sends shells to Russia, Seoul says"),
        ("seoul-weapons-ukraine", "South Korea sells K2 tanks to Poland"),
        ("seoul-weapons-ukraine", "Seoul hosts Ukraine reconstruction conference"),
        ("seoul-weapons-ukraine", "South Korea sends humanitarian aid to Ukraine"),
        ("seoul-weapons-ukraine", "Yonhap: South Korean exports rise in November"),
    ],
)
def test_rule_stays_quiet_on_look_alikes(rule_id: str, title: str) -> None:
    assert rule_id not in rules_matching(title)
