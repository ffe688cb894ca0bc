"""Parsing real document shapes into items; what a broken feed reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.domain.item import Item
from monitor.errors import NotAFeedError
from monitor.sources.rss import ParseOptions, parse_feed
from tests.support.feeds import Entry, atom, rdf, rss

WHEN = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
FEED_URL = "https://news.example/feed.xml"


def parse(body: str | bytes, headers: dict[str, str] | None = None) -> list[Item]:
    data = body.encode() if isinstance(body, str) else body
    options = ParseOptions(feed_name="news", feed_url=FEED_URL, tags=("news",))
    return list(parse_feed(data, replace(options, headers=headers or {})).items)


@pytest.mark.parametrize("build", [rss, atom, rdf], ids=["rss2", "atom", "rdf"])
def test_each_format_gives_normalised_items(build: Callable[[list[Entry]], str]) -> None:
    body = build(
        [
            Entry(
                "North Korean troops <b>killed</b> in Kursk",
                link="https://news.example/a?utm_source=rss",
                guid="https://news.example/a",
                summary="<p>Ukraine says &amp; confirms</p>",
                published=WHEN,
            )
        ]
    )
    (item,) = parse(body)
    assert item.title == "North Korean troops killed in Kursk", "escaped HTML in titles is stripped"
    assert item.summary == "Ukraine says & confirms"
    assert item.link == "https://news.example/a"
    assert item.timestamp == WHEN
    assert item.feed == "news" and item.feed_tags == ("news",)


def test_atom_html_title_is_stripped() -> None:
    (item,) = parse(
        atom(
            [Entry("Sanctions on <i>Chinese</i> firms", link="https://x.example/1", guid="urn:x:1")]
        )
    )
    assert item.title == "Sanctions on Chinese firms"


def test_rss_item_without_guid_uses_its_link_then_a_fingerprint() -> None:
    items = parse(
        rss(
            [
                Entry("With link", link="https://x.example/1"),
                Entry("No link or guid", summary="text"),
            ]
        )
    )
    assert items[0].identity == "link:https://x.example/1"
    assert items[1].identity.startswith("fp:")


def test_atom_entry_without_alternate_link_has_no_link_not_its_urn() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>'
        "<entry><title>x</title><id>urn:uuid:42</id><updated>2026-01-01T00:00:00Z</updated></entry></feed>"
    )
    (item,) = parse(body)
    assert item.link is None
    assert item.identity == "guid:urn:uuid:42"


def test_repeated_guid_inside_one_feed_does_not_hide_a_different_item() -> None:
    body = rss(
        [
            Entry("First story", link="https://x.example/1", guid="dup"),
            Entry("Second story", link="https://x.example/2", guid="dup"),
            Entry("First story", link="https://x.example/1", guid="dup"),  # an exact repeat
        ]
    )
    items = parse(body)
    assert [i.title for i in items] == ["First story", "Second story"]
    assert len({i.identity for i in items}) == 2


def test_relative_links_resolve_against_the_feed_url() -> None:
    (item,) = parse(rss([Entry("Relative", link="/news/1")]))
    assert item.link == "https://news.example/news/1"


def test_dc_date_only_items_get_a_timestamp() -> None:
    (item,) = parse(rdf([Entry("Dated", link="https://x.example/d", published=WHEN)]))
    assert item.published is None and item.updated == WHEN and item.timestamp == WHEN


def test_html_page_is_not_a_feed_and_says_so() -> None:
    page = "<!doctype html><html><head><title>Just a moment...</title></head><body>challenge</body></html>"
    with pytest.raises(NotAFeedError) as caught:
        parse(page, headers={"Content-Type": "text/html"})
    assert (
        str(caught.value)
        == "not a feed: the server returned an HTML page (page title: 'Just a moment...')"
    )
    assert caught.value.kind == "not-a-feed"


def test_empty_body_is_not_a_feed() -> None:
    with pytest.raises(NotAFeedError, match="the response body is empty"):
        parse(b"  \n")


def test_broken_but_usable_feed_gives_items_and_a_warning() -> None:
    body = rss([Entry("Fine item", link="https://x.example/1")]).replace(
        "</channel>", "<broken></channel>"
    )
    result = parse_feed(body.encode(), ParseOptions(feed_name="n", feed_url=FEED_URL))
    assert [i.title for i in result.items] == ["Fine item"]
    assert result.warning is not None and result.warning.startswith(
        "the feed is not well-formed but usable"
    )


def test_missing_content_type_alone_is_no_warning() -> None:
    result = parse_feed(
        rss([Entry("x", link="https://x.example/1")]).encode(),
        ParseOptions(feed_name="n", feed_url=FEED_URL),
    )
    assert result.warning is None


def test_empty_entries_are_skipped() -> None:
    result = parse_feed(
        rss([Entry(""), Entry("Real", link="https://x.example/r")]).encode(),
        ParseOptions(feed_name="n", feed_url=FEED_URL),
    )
    assert [i.title for i in result.items] == ["Real"] and result.skipped == 1


@pytest.mark.parametrize(
    "raw",
    [
        "Tue, 01 Dec 2026 09:00:00 KST",  # feedparser alone reads this as 09:00 UTC
        "Tue, 01 Dec 2026 09:00:00 +0900 KST",
        "2026-12-01T09:00:00+09:00",
        "2026-12-01 09:00:00 KST",  # one of feedparser's own parsers applies +9 here
    ],
)
def test_korean_times_come_out_right_through_feedparser(raw: str) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><item><title>x</title><pubDate>{raw}</pubDate></item></channel></rss>'
    (item,) = parse(body)
    assert item.published == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_feed_text_cannot_smuggle_terminal_escapes_into_links_or_titles() -> None:
    body = rss([Entry("Title &#27;[2J&#7;done", link="https://x.example/a&#27;]2;pwned&#7;")])
    (item,) = parse(body)
    assert "\x1b" not in item.title + (item.link or "") and "\x07" not in item.title + (
        item.link or ""
    )
    assert item.title == "Title [2Jdone"


def test_overlong_titles_are_capped() -> None:
    (item,) = parse(rss([Entry("North Korea " * 2000, link="https://x.example/long")]))
    assert len(item.title) == 500 and item.title.endswith("…")
