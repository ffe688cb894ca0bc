"""`monitor search` on an archive of many items: the newest matches first,
exactly, whatever the order the polls committed in. The SQLite store looks
among the newest rows first; these tests hold it to the order a plain sort
of every match gives, on a real database larger than its first look."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.store.sqlite import SQLiteStore
from tests.store_contract.records import NOW, URL, item

MINUTE = timedelta(minutes=1)


@dataclass
class Archive:
    """A real store, and what a plain sort expects of it: every archived
    item with its first-seen time, in the order written (the order of ids)."""

    store: SQLiteStore
    written: list[tuple[datetime, Item]] = field(default_factory=list)

    def poll(self, feed: str, now: datetime, *titles: str) -> None:
        items = [
            item(f"{feed}-{len(self.written) + n}", feed=feed, title=title)
            for n, title in enumerate(titles)
        ]
        self.store.commit_poll(
            PollOutcome(
                feed=feed, url=URL, items=items, alerts=[], validators=Validators(), archive=items
            ),
            now=now,
        )
        self.written += [(now, it) for it in items]

    def expected(
        self, word: str, limit: int, *, since: datetime | None = None, feed: str | None = None
    ) -> list[str]:
        """The newest first (then the last written first), as a plain sort orders them."""
        matches = [
            (at, order, it.identity)
            for order, (at, it) in enumerate(self.written)
            if word in it.title.split()
            and (since is None or at >= since)
            and (feed is None or it.feed == feed)
        ]
        return [identity for _, _, identity in sorted(matches, reverse=True)[:limit]]

    def found(
        self, word: str, limit: int, *, since: datetime | None = None, feed: str | None = None
    ) -> list[str]:
        return [
            a.item.identity for a in self.store.search(word, limit=limit, since=since, feed=feed)
        ]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """Three days of polls, one a minute, of three feeds in turn: every item
    says "news"; one in seven says "kursk"; the first ten polls say "dprk"."""
    store = SQLiteStore(tmp_path / "state.db")
    filled = Archive(store)
    start = NOW - timedelta(days=3)
    for number in range(400):
        words = (
            ["news"] + (["kursk"] if number % 7 == 0 else []) + (["dprk"] if number < 10 else [])
        )
        filled.poll(f"feed{number % 3}", start + number * MINUTE, " ".join(words), "news brief")
    yield filled
    store.close()


def test_a_common_word_shows_the_newest_items_first(archive: Archive) -> None:
    for limit in (1, 3, 50):
        assert archive.found("news", limit) == archive.expected("news", limit)
    assert archive.found("kursk", 5) == archive.expected("kursk", 5)


def test_a_rare_word_of_the_oldest_items_is_found(archive: Archive) -> None:
    for limit in (5, 50):
        assert archive.found("dprk", limit) == archive.expected("dprk", limit)
    assert len(archive.found("dprk", 50)) == 10


def test_an_item_written_late_but_first_seen_early_takes_its_place_by_time(
    archive: Archive,
) -> None:
    # A poll that began before others and committed after them.
    archive.poll("feed0", NOW - timedelta(days=3) + 60 * MINUTE, "kursk late commit")
    for limit in (5, 50, 60):
        assert archive.found("kursk", limit) == archive.expected("kursk", limit)
    found = archive.found("kursk", 60)
    assert found[0] != "guid:urn:feed0-800", "written last, but not the newest"


def test_an_item_written_early_with_a_later_time_still_comes_first(tmp_path: Path) -> None:
    # The clock stood ahead for the first poll, then stepped back.
    with SQLiteStore(tmp_path / "state.db") as store:
        archive = Archive(store)
        archive.poll("feed0", NOW + timedelta(days=1), "news from a clock ahead")
        for number in range(300):
            archive.poll("feed1", NOW + number * MINUTE, "news")
        found = archive.found("news", 3)
        assert found == archive.expected("news", 3)
        assert found[0] == "guid:urn:feed0-0"


def test_since_and_feed_filter_the_newest_exactly(archive: Archive) -> None:
    since = NOW - timedelta(days=3) + 200 * MINUTE
    for feed in ("feed0", "feed2", None):
        for limit in (2, 50):
            assert archive.found("kursk", limit, since=since, feed=feed) == archive.expected(
                "kursk", limit, since=since, feed=feed
            )
    assert archive.found("dprk", 50, since=since) == [], "the rare word is older than since"


def test_items_first_seen_at_the_same_time_come_last_written_first(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "state.db") as store:
        archive = Archive(store)
        for _ in range(100):
            archive.poll("feed0", NOW, "news", "news again")
        assert archive.found("news", 7) == archive.expected("news", 7)
