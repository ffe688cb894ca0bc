"""News meets lists: a news alert naming a party a list added lately says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from monitor.domain.item import Item
from monitor.domain.listing import EntityType, ListingEntry, RecordedListing
from monitor.pipeline.list_mentions import ListedNames, name_cores
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "lists"


def entry(
    name: str,
    *aliases: str,
    entity_type: EntityType = "entity",
    key: str = "1",
) -> ListingEntry:
    return ListingEntry(
        list_name="OFAC SDN List",
        source="ofac-sdn",
        key=key,
        name=name,
        aliases=aliases,
        entity_type=entity_type,
        programs=("RUSSIA-EO14024",),
        countries=("China",),
        listed_on=None,
        remarks="",
        link=None,
    )


def added(listed: ListingEntry, on: date) -> RecordedListing:
    return RecordedListing(change="added", entry=listed, on=on, publication=on.isoformat())


def news(title: str, summary: str = "") -> Item:
    return Item(
        feed="wire",
        feed_tags=("news",),
        identity=title,
        guid=None,
        title=title,
        summary=summary,
        link=None,
        published=NOW,
        updated=None,
    )


def test_names_are_matched_without_their_legal_form_and_people_given_name_first() -> None:
    assert name_cores(entry("SHENZHEN BRIGHTSTAR MICROELECTRONICS CO., LTD.")) == (
        "shenzhen brightstar microelectronics",
    )
    assert "brightriver semiconductor" in name_cores(
        entry("Brightriver Semiconductor (Shenzhen) Co., Ltd.")
    )
    assert set(name_cores(entry("PETROVSKY, Ivan", entity_type="individual"))) == {
        "petrovsky ivan",
        "ivan petrovsky",
    }  # two words, 13 letters: distinctive enough


def test_names_too_common_to_name_one_party_are_not_matched() -> None:
    assert name_cores(entry("ORBIT")) == ()  # one short word
    assert name_cores(entry("GLOBAL TRADING CO., LTD.")) == ()  # only common words
    assert name_cores(entry("LI", entity_type="individual")) == ()
    assert name_cores(entry("ROSATOMEXPORT")) == ("rosatomexport",)
    assert name_cores(entry("SUPREME", entity_type="vessel")) == ()  # a ship's one word
    assert name_cores(entry("FORTUNE")) == ()  # a short one-word firm
    assert name_cores(entry("LI, Wei", entity_type="individual")) == ()
    assert name_cores(entry("WANG, Jun", entity_type="individual")) == ()
    assert "ivan sergeevich petrovsky" in name_cores(
        entry("PETROVSKY, Ivan Sergeevich", entity_type="individual")
    )


def test_a_news_item_naming_a_recent_addition_gets_the_listing_noted() -> None:
    names = ListedNames(
        [
            added(
                entry("SHENZHEN BRIGHTSTAR MICROELECTRONICS CO., LTD.", "BRIGHTSTAR MICRO"),
                date(2026, 12, 1),
            )
        ],
        now=NOW,
    )
    (note,) = names.notes(news("Washington blacklists Brightstar Micro over drone parts"))
    assert note == (
        "SHENZHEN BRIGHTSTAR MICROELECTRONICS CO., LTD.: listed on the OFAC SDN List "
        "on 2026-12-01 under RUSSIA-EO14024"
    )
    assert names.notes(news("Brightstar shares rise")) == ()  # one word of the name: no


def test_additions_older_than_thirty_days_and_other_changes_are_not_noted() -> None:
    old = added(entry("NORTHWIND LOGISTICS FZE", key="1"), (NOW - timedelta(days=31)).date())
    removed = RecordedListing(
        change="removed",
        entry=entry("BLUE RIVER HOLDINGS LTD", key="2"),
        on=NOW.date(),
        publication="p",
    )
    names = ListedNames([old, removed], now=NOW)
    assert names.notes(news("Northwind Logistics and Blue River Holdings named in probe")) == ()


def test_a_news_alert_names_the_listing_of_a_party_a_list_added(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    path = "/api/PublicationPreview/exports/SDN.XML"
    feed_server.set(
        path, (FIXTURES / "ofac-sdn-a.xml").read_bytes(), content_type="application/xml"
    )
    feed_server.set("/news", rss([]))
    feeds = [
        FeedSpec("ofac-sdn", feed_server.url(path), tags=("sanctions",), type="ofac-sdn"),
        FeedSpec("news", feed_server.url("/news")),
    ]
    monitor = make_monitor(feeds)
    monitor.poll_all()
    feed_server.set(
        path, (FIXTURES / "ofac-sdn-b.xml").read_bytes(), content_type="application/xml"
    )
    clock.advance(hours=1)
    monitor.poll_all()
    monitor.deliver_due()
    before = len(slack_emulator.messages)

    story = Entry(
        "US sanctions Chinese chipmaker Shenzhen Brightstar Microelectronics over Russia",
        link="https://news.example/brightstar",
        guid="https://news.example/brightstar",
        summary="The Treasury added the Chinese firm to its blacklist on Monday.",
        published=clock.now,
    )
    feed_server.set("/news", rss([story]))
    clock.advance(hours=1)
    monitor.poll_all()
    monitor.deliver_due()
    posts = slack_emulator.messages[before:]
    assert posts, "the news item should alert"
    text = str(posts[0].blocks)
    assert "listed on the OFAC SDN List on 2026-12-01 under RUSSIA-EO14024" in text
