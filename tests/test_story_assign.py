"""Placing a poll's alerts in stories (pure): join, begin, count sources by
publisher (a copy once), confirm by an official feed, escalate once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.domain.story import Story, is_escalation
from monitor.pipeline.story_assign import assign_stories, story_key
from monitor.rules.compiled import Escalation

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EVENT = [
    (
        "Ukraine says North Korean troops killed in Kursk assault",
        "Kyiv's army said dozens of North Korean soldiers died attacking Ukrainian lines in Russia's Kursk region.",
    ),
    (
        "Dozens of North Korean soldiers die in Kursk attack, Kyiv says",
        "Ukraine's military said North Korean troops suffered heavy losses assaulting its positions in Kursk.",
    ),
    (
        "North Korean troops suffer heavy losses in Kursk fighting, Ukraine claims",
        "Ukrainian forces killed dozens of North Korean soldiers in the Kursk region, Kyiv said.",
    ),
]
OTHER = (
    "Seoul weighs sending artillery shells to Ukraine",
    "South Korea is reviewing a request for 155mm shells.",
)


def item(
    n: int, title: str, summary: str, *, feed: str = "wire", publisher: str | None = None
) -> Item:
    return Item(
        feed=feed,
        feed_tags=("news",),
        identity=f"guid:{feed}:{n}",
        guid=str(n),
        title=title,
        summary=summary,
        link=f"https://{feed}.example/{n}",
        published=NOW,
        updated=None,
        publisher=publisher,
    )


def alert(it: Item, severity: Severity = Severity.WARNING) -> Alert:
    return Alert(
        rule_id="dprk-troops-combat",
        rule_title="North Korean troops in combat",
        severity=severity,
        feed=it.feed,
        item_identity=it.identity,
        item_guid=it.guid,
        title=it.title,
        link=it.link,
        summary=it.summary,
        published=it.published,
        matched_terms=(),
        created_at=NOW,
        publisher=it.publisher,
    )


def place(items: list[Item], recent: list[Story] | None = None, **options: object):  # type: ignore[no-untyped-def]
    return assign_stories(
        [alert(i) for i in items],
        {i.identity: i for i in items},
        {"dprk-troops-combat": recent or []},
        official_feeds=frozenset(options.get("official", ())),  # type: ignore[call-overload]
        escalations=options.get("escalations", {}),  # type: ignore[arg-type]
        now=NOW,
    )


def test_one_event_from_three_publishers_is_one_story_and_another_event_another() -> None:
    items = [
        item(1, *EVENT[0], publisher="Outlet A"),
        item(2, *EVENT[1], publisher="Outlet B"),
        item(3, *OTHER, publisher="Outlet A"),
    ]
    placed = place(items)
    keys = [a.story for a in placed.alerts]
    assert keys[0] == keys[1] != keys[2]
    assert placed.leads == {
        ("dprk-troops-combat", "guid:wire:1"),
        ("dprk-troops-combat", "guid:wire:3"),
    }
    assert keys[0] == story_key("dprk-troops-combat", "guid:wire:1")
    by_key = {u.story.key: u for u in placed.updates}
    assert by_key[keys[0]].story.sources == ("Outlet A", "Outlet B")
    assert len(by_key[keys[0]].new_members) == 2


def test_a_later_poll_joins_the_stored_story_and_a_copy_counts_once() -> None:
    first = place([item(1, *EVENT[0], publisher="Outlet A")])
    (update,) = first.updates
    stored = replace(update.story, members=update.new_members)
    copy = item(7, *EVENT[0], feed="aggregator", publisher="Outlet C")  # the same wire text
    later = place([copy, item(2, *EVENT[1], publisher="Outlet B")], [stored])
    assert {a.story for a in later.alerts} == {stored.key}
    assert later.leads == frozenset()
    (now_stands,) = later.updates
    assert now_stands.story.sources == ("Outlet A", "Outlet B")


def test_corroboration_escalates_once_with_an_alert_of_its_own() -> None:
    rule = {"dprk-troops-combat": Escalation(Severity.CRITICAL, sources=3)}
    items = [item(n, *EVENT[n], publisher=f"Outlet {n}") for n in range(3)]
    placed = place(items, escalations=rule)
    (escalation,) = placed.escalations
    assert is_escalation(escalation) and escalation.severity is Severity.CRITICAL
    assert "3 independent sources" in escalation.summary
    (update,) = placed.updates
    assert update.story.severity is Severity.CRITICAL and update.story.escalated_at == NOW
    again = place(
        [item(9, *EVENT[2], publisher="Outlet 9")],
        [replace(update.story, members=update.new_members)],
        escalations=rule,
    )
    assert again.escalations == ()


def test_an_official_feed_confirms_and_a_list_publication_stands_alone() -> None:
    rule = {"dprk-troops-combat": Escalation(Severity.CRITICAL, official=True)}
    items = [item(1, *EVENT[0], publisher="Outlet A"), item(2, *EVENT[1], feed="gov")]
    placed = place(items, escalations=rule, official={"gov"})
    (update,) = placed.updates
    assert update.story.official and len(placed.escalations) == 1
    lonely = replace(alert(items[0]), item_identity="listing:ofac-sdn:2026-12-01")
    alone = assign_stories([lonely], {}, {}, official_feeds=frozenset(), escalations={}, now=NOW)
    assert alone.alerts == (lonely,) and alone.updates == () and alone.leads == frozenset()


def test_a_story_older_than_the_window_is_not_joined() -> None:
    month_ago = replace(
        item(1, *EVENT[0], publisher="Outlet A"), published=NOW - timedelta(days=30)
    )
    (update,) = place([month_ago]).updates
    stored = replace(update.story, members=update.new_members)
    placed = place([item(2, *EVENT[1], publisher="Outlet B")], [stored])
    assert placed.leads == {("dprk-troops-combat", "guid:wire:2")}, (
        "a look-alike a month later is another event"
    )


def test_a_party_an_official_list_added_confirms_the_story() -> None:
    rule = {"dprk-troops-combat": Escalation(Severity.CRITICAL, official=True)}
    it = item(1, *EVENT[0], publisher="Outlet A")
    listed = replace(
        alert(it), details=("EXAMPLE CO.: listed on the OFAC SDN List on 2026-12-01 under X",)
    )
    placed = assign_stories(
        [listed],
        {it.identity: it},
        {},
        official_feeds=frozenset(),
        escalations=rule,
        now=NOW,
    )
    (update,) = placed.updates
    assert update.story.official
