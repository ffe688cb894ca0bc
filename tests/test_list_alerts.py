"""A publication's alerts, decided without I/O: one per rule, its headline,
its capped list of entities (the shipped rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from monitor.domain.alert import Alert
from monitor.domain.listing import EntityType, ListingEntry, ListPublication
from monitor.domain.ops import LIST_REFUSED_RULE_ID
from monitor.pipeline.list_poll import (
    MAX_NAMED_ENTRIES,
    plan_list_poll,
    publication_alerts,
    refused_snapshot_alert,
)
from monitor.pipeline.listings import snapshot_digests
from monitor.rules.load import load_rules
from tests.support.setup import SHIPPED_RULES

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
RULES = load_rules(SHIPPED_RULES)


def party(
    key: str, country: str, *, program: str = "RUSSIA-EO14024", kind: EntityType = "entity"
) -> ListingEntry:
    return ListingEntry(
        list_name="OFAC SDN List",
        source="ofac-sdn",
        key=key,
        name=f"EXAMPLE PARTY {key} CO., LTD.",
        aliases=(),
        entity_type=kind,
        programs=(program,),
        countries=(country,),
        listed_on=None,
        remarks="",
        link=None,
    )


def publication(
    entries: list[ListingEntry], published: date = date(2026, 12, 1)
) -> ListPublication:
    return ListPublication(
        list_name="OFAC SDN List",
        publisher="OFAC",
        publication=published.isoformat(),
        published=published,
        entries={e.key: e for e in entries},
        link="https://ofac.treasury.gov/recent-actions",
    )


def alerts_after(old: list[ListingEntry], new: list[ListingEntry]) -> list[Alert]:
    before = publication(old, date(2026, 11, 28))
    after = publication(new)
    plan = plan_list_poll(
        after,
        feed="ofac-sdn",
        feed_tags=("sanctions",),
        previous=snapshot_digests(before.entries),
        previous_entry=before.entries.get,
        max_loss_share=0.2,
    )
    matches = [m for item in plan.items for m in RULES.match(item)]
    return publication_alerts(matches, after, feed="ofac-sdn", events=plan.diff.events, now=NOW)


BASE = [party(f"b{n}", "Russia") for n in range(10)]


def test_one_alert_for_a_publication_naming_the_first_entities_and_counting_the_rest() -> None:
    chinese = [party(f"c{n}", "China" if n % 2 else "Hong Kong") for n in range(20)]
    elsewhere = [party(f"e{n}", "Turkey") for n in range(5)]
    (alert,) = alerts_after(BASE, [*BASE, *chinese, *elsewhere])
    assert alert.rule_id == "sanctions-chinese-firms"
    assert alert.title in (
        "OFAC added 25 entries, 20 in China or Hong Kong (RUSSIA-EO14024)",
        "OFAC added 25 entries, 20 in Hong Kong or China (RUSSIA-EO14024)",
    )
    assert len(alert.details) == MAX_NAMED_ENTRIES
    assert all("Turkey" not in line for line in alert.details)
    assert alert.summary.startswith("20 entries; the first 15 are named, 5 more.")
    assert alert.item_identity == "listing:ofac-sdn:2026-12-01"
    assert alert.link == "https://ofac.treasury.gov/recent-actions"


def test_all_additions_in_china_read_as_such_and_programmes_are_named() -> None:
    new = [
        party("c1", "China", program="CMIC-EO13959"),
        party("c2", "China", program="RUSSIA-EO14024"),
    ]
    (alert,) = alerts_after(BASE, [*BASE, *new])
    assert alert.title in (
        "OFAC added 2 entries in China (CMIC-EO13959, RUSSIA-EO14024)",
        "OFAC added 2 entries in China (RUSSIA-EO14024, CMIC-EO13959)",
    )


def test_removals_and_changes_in_china_and_additions_elsewhere_alert_no_chinese_firms_rule() -> (
    None
):
    changed = [*BASE[:9], party("b9", "China")]  # moved to China: a change, not an addition
    assert alerts_after(BASE, changed) == []
    with_chinese = [*BASE, party("c1", "China")]
    assert alerts_after(with_chinese, BASE) == []  # a delisting
    assert alerts_after(BASE, [*BASE, party("e1", "Kyrgyzstan")]) == []


def test_a_refused_snapshot_is_one_ops_alert_per_file() -> None:
    pub = publication(BASE)

    def refused() -> Alert:
        return refused_snapshot_alert(
            "ofac-sdn",
            list_name=pub.list_name,
            link=pub.link,
            reason="lost 4 of 6",
            marker="abc",
            now=NOW,
        )

    first, again = refused(), refused()
    assert first.rule_id == LIST_REFUSED_RULE_ID
    assert first.item_identity == again.item_identity
    assert "last good snapshot kept" in first.title


def test_rules_written_for_news_never_judge_a_list_entry() -> None:
    supplier = ListingEntry(
        list_name="OFAC SDN List",
        source="ofac-sdn",
        key="s1",
        name="EXAMPLE CHINESE DRONE ENGINE MAKER CO., LTD.",
        aliases=(),
        entity_type="entity",
        programs=("RUSSIA-EO14024",),
        countries=("Russia",),
        listed_on=None,
        remarks="Chinese firm that supplied drone engines and components to Russia's military.",
        link=None,
    )
    before = publication(BASE, date(2026, 11, 28))
    after = publication([*BASE, supplier])
    plan = plan_list_poll(
        after,
        feed="ofac-sdn",
        feed_tags=("sanctions", "news"),
        previous=snapshot_digests(before.entries),
        previous_entry=before.entries.get,
        max_loss_share=0.2,
    )
    (item,) = plan.items
    # The same words as a headline would alert the supply rule.
    as_news = replace(item, listing=None, identity="news", feed_tags=("news",))
    assert [m.rule.id for m in RULES.match(as_news)] == ["china-military-supply-russia"]
    assert [m.rule.id for m in RULES.match(item)] == []
