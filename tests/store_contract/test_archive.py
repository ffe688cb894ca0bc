"""Archive: each poll's new items kept with their text, searched by words,
phrases and prefixes, filtered, pruned by age, and kept across a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from monitor.domain.alert import Target
from monitor.domain.archive import ArchivedItem
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.errors import SearchError
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW, URL, alert_for, item

DAY = timedelta(days=1)


def story(
    key: str,
    title: str,
    summary: str = "",
    *,
    feed: str = "f",
    link: str | None = None,
    publisher: str | None = None,
    feed_tags: tuple[str, ...] = ("news",),
) -> Item:
    """An item of ``feed`` with its text."""
    return replace(
        item(key, feed=feed, link=link),
        title=title,
        summary=summary,
        publisher=publisher,
        feed_tags=feed_tags,
    )


def poll(
    store: Store,
    items: list[Item],
    *,
    feed: str = "f",
    now: datetime = NOW,
    alerts: tuple[tuple[Item, str, Severity], ...] = (),
    first_poll: bool = False,
) -> None:
    """A poll of ``feed`` whose new items are ``items`` (all archived)."""
    store.commit_poll(
        PollOutcome(
            feed=feed,
            url=URL,
            items=items,
            alerts=[
                (alert_for(it, rule, severity), Target("#desk")) for it, rule, severity in alerts
            ],
            validators=Validators(),
            archive=items,
            first_poll=first_poll,
        ),
        now=now,
    )


def titles(found: list[ArchivedItem]) -> list[str]:
    return [archived.item.title for archived in found]


KURSK = story(
    "kursk",
    "Drone strike reported in Kursk region",
    "Officials of Example Province said a depot was hit overnight.",
    link="https://news.example/kursk",
    publisher="Example Wire",
    feed_tags=("news", "russia"),
)
SANCTIONS = story(
    "sanctions",
    "Treasury sanctions Example Trading Co., Limited",
    "The designations target suppliers of drone engines.",
)
FOOTBALL = story("football", "Football results", "Example United won 2-1.")


def test_a_polls_new_items_are_archived_with_their_text_and_what_they_alerted(
    store: Store,
) -> None:
    poll(store, [KURSK, FOOTBALL], alerts=((KURSK, "kursk-watch", Severity.CRITICAL),))
    (found,) = store.search("kursk")
    assert found.item == KURSK
    assert found.first_seen_at == NOW
    assert [(m.rule_id, m.severity, m.status, m.channel) for m in found.alerted] == [
        ("kursk-watch", Severity.CRITICAL, "pending", "#desk")
    ]
    assert found.alerted_rules == ("kursk-watch",)
    (quiet,) = store.search("football")
    assert quiet.alerted == ()


def test_search_by_words_phrase_prefix_and_field(store: Store) -> None:
    poll(store, [KURSK, SANCTIONS, FOOTBALL])
    assert titles(store.search("drone")) == [SANCTIONS.title, KURSK.title], "title or summary"
    assert titles(store.search("depot kursk")) == [KURSK.title], "all words, in any order"
    assert titles(store.search('"drone strike"')) == [KURSK.title], "a phrase"
    assert titles(store.search('"strike drone"')) == [], "a phrase keeps its order"
    assert titles(store.search("sanction*")) == [SANCTIONS.title], "a prefix"
    assert titles(store.search("title:drone")) == [KURSK.title], "one field"
    assert titles(store.search("football OR kursk")) == [FOOTBALL.title, KURSK.title]
    assert titles(store.search("DRONE NOT engines")) == [KURSK.title], "case does not matter"


def test_search_is_newest_first_filtered_and_limited(store: Store) -> None:
    poll(store, [KURSK], feed="f", now=NOW - 3 * DAY)
    later = story("later", "Kursk region: second drone strike", feed="g")
    poll(store, [later], feed="g", now=NOW)
    assert titles(store.search("kursk")) == [later.title, KURSK.title]
    assert titles(store.search("kursk", since=NOW - DAY)) == [later.title]
    assert titles(store.search("kursk", feed="f")) == [KURSK.title]
    assert titles(store.search("kursk", tag="russia")) == [KURSK.title]
    assert titles(store.search("kursk", tag="news")) == [later.title, KURSK.title]
    assert titles(store.search("kursk", limit=1)) == [later.title]


def test_an_item_is_archived_once_per_feed_as_first_read(store: Store) -> None:
    poll(store, [KURSK], now=NOW)
    poll(store, [replace(KURSK, title="Kursk: an edited headline")], now=NOW + DAY)
    (found,) = store.search("kursk")
    assert (found.item.title, found.first_seen_at) == (KURSK.title, NOW)
    poll(store, [replace(KURSK, feed="g")], feed="g", now=NOW + DAY)
    assert len(store.search("kursk")) == 2, "another feed's copy is its own"


def test_a_poll_without_archive_items_archives_nothing(store: Store) -> None:
    store.commit_poll(
        PollOutcome(feed="f", url=URL, items=[KURSK], alerts=[], validators=Validators()),
        now=NOW,
    )
    assert store.search("kursk") == []


def test_archived_lists_a_window_oldest_first_with_the_first_poll_marked(store: Store) -> None:
    poll(store, [KURSK], now=NOW - 2 * DAY, first_poll=True)
    poll(store, [SANCTIONS], now=NOW - DAY)
    poll(store, [FOOTBALL], now=NOW)
    window = store.archived(since=NOW - 2 * DAY, until=NOW)
    assert titles(window) == [KURSK.title, SANCTIONS.title]
    assert [a.first_poll for a in window] == [True, False]
    assert titles(store.archived(since=NOW - DAY)) == [SANCTIONS.title, FOOTBALL.title]


def test_prune_forgets_archived_items_past_their_own_cutoff(store: Store) -> None:
    poll(store, [KURSK], now=NOW - 40 * DAY)
    poll(store, [SANCTIONS], now=NOW - 10 * DAY)
    poll(store, [FOOTBALL], now=NOW)
    store.prune(NOW - 90 * DAY, archive_cutoff=NOW - 30 * DAY)
    assert titles(store.archived(since=NOW - 100 * DAY)) == [SANCTIONS.title, FOOTBALL.title]
    assert store.search("kursk") == [], "gone from the index too"
    store.prune(NOW - 5 * DAY)
    assert titles(store.archived(since=NOW - 100 * DAY)) == [FOOTBALL.title], (
        "without an archive cutoff, the cutoff itself"
    )
    assert titles(store.search("drone OR football")) == [FOOTBALL.title]


def test_the_archive_survives_a_restart(open_store: OpenStore) -> None:
    first = open_store()
    poll(first, [KURSK], alerts=((KURSK, "kursk-watch", Severity.WARNING),))
    first.close()
    (found,) = open_store().search('"Kursk region"')
    assert found.item.link == KURSK.link
    assert found.alerted_rules == ("kursk-watch",)


@pytest.mark.parametrize("query", ["Kursk-region", '"unterminated', "AND", "(kursk", "nope:kursk"])
def test_a_query_that_is_not_valid_says_how_to_write_one(store: Store, query: str) -> None:
    poll(store, [KURSK])
    with pytest.raises(SearchError) as raised:
        store.search(query)
    message = str(raised.value)
    assert f"not a valid search query {query!r}" in message
    assert "double quotes" in message


def test_an_empty_query_is_refused(store: Store) -> None:
    with pytest.raises(SearchError, match="empty search query"):
        store.search("   ")


def test_an_item_two_feeds_carry_shows_its_alert_under_each(store: Store) -> None:
    shared = story("shared", "Troops cross the river at dawn", link="https://wire.example/1")
    poll(store, [shared], feed="wire", alerts=((shared, "kursk-watch", Severity.WARNING),))
    again = replace(shared, feed="aggregator")
    poll(store, [again], feed="aggregator", alerts=((again, "kursk-watch", Severity.WARNING),))
    found = store.archived(since=NOW - timedelta(hours=1))
    assert sorted(a.item.feed for a in found) == ["aggregator", "wire"]
    assert all([m.rule_id for m in a.alerted] == ["kursk-watch"] for a in found)
