"""The Source contract, as the RSS source keeps it, against a loopback feed server;
in-document dedupe; the registry of source types."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.errors import NotAFeedError
from monitor.redact import redact_url
from monitor.rules.load import RulesSource
from monitor.sources.base import Document, Source, SourceRequest, Unchanged
from monitor.sources.dedupe import dedupe_items
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.parser_pool import ParserPool
from monitor.sources.registry import DEFAULT_TYPE, SOURCE_TYPES, SharedParts, build_sources
from monitor.sources.rss import ParsedFeed, ParseOptions
from monitor.sources.rss_source import RssSource
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss

HTML_PAGE = "<html><head><title>Just a moment</title></head><body>wait</body></html>"


class CountingPool(ParserPool):
    """Parses in the calling thread, counting the documents it is given."""

    def __init__(self) -> None:
        super().__init__(0)
        self.parsed = 0

    def parse(
        self, body: bytes, *, options: ParseOptions, rules: RulesSource | None = None
    ) -> ParsedFeed:
        self.parsed += 1
        return super().parse(body, options=options, rules=rules)


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    parser = CountingPool()
    yield parser
    parser.close()


@pytest.fixture
def source(pool: CountingPool) -> Iterator[Source]:
    with HttpFetcher(FetchLimits(timeout=5.0, connect_timeout=5.0)) as fetcher:
        rss_source = RssSource(fetcher, pool)
        yield rss_source
        rss_source.close()


def request(url: str, **fields: Any) -> SourceRequest:
    return SourceRequest(feed="news", url=url, redact=redact_url, tags=("news",), **fields)


def item(identity: str, title: str, link: str | None = None, summary: str = "") -> Item:
    return Item("news", (), identity, None, title, summary, link, None, None)


def test_a_first_read_gives_the_document_and_what_the_next_read_needs(
    feed_server: FeedServer, source: Source
) -> None:
    feed_server.set(
        "/news",
        rss([Entry("Troops cross the border", link="https://news.example/1")]),
        etag='"v1"',
        headers={"Cache-Control": "max-age=600"},
    )
    read = source.read(request(feed_server.url("/news")))
    assert isinstance(read, Document)
    assert [(i.feed, i.feed_tags, i.title) for i in read.items] == [
        ("news", ("news",), "Troops cross the border")
    ]
    assert read.validators == Validators(etag='"v1"')
    assert read.body_hash is not None and read.asked_wait == 600.0
    assert (read.warning, read.matches, read.skipped) == (None, None, 0)


def test_nothing_changed_is_unchanged_by_304_or_by_the_same_bytes(
    feed_server: FeedServer, source: Source, pool: CountingPool
) -> None:
    feed_server.set("/news", rss([Entry("One", link="https://news.example/1")]), etag='"v1"')
    first = source.read(request(feed_server.url("/news")))
    assert isinstance(first, Document)
    again = source.read(request(feed_server.url("/news"), validators=first.validators))
    assert again == Unchanged("HTTP 304")
    # A server that ignores validators but sends the same bytes.
    feed_server.set("/plain", rss([Entry("One", link="https://news.example/1")]))
    plain = source.read(request(feed_server.url("/plain")))
    assert isinstance(plain, Document) and plain.body_hash == first.body_hash
    same = source.read(request(feed_server.url("/plain"), last_body_hash=plain.body_hash))
    assert same == Unchanged("same body")
    assert pool.parsed == 2, "nothing unchanged is parsed"


def test_the_longest_wait_the_publisher_asks_for_counts(
    feed_server: FeedServer, source: Source
) -> None:
    body = rss([Entry("One", link="https://news.example/1")]).replace(
        "<description>d</description>", "<description>d</description><ttl>30</ttl>"
    )
    feed_server.set("/news", body, headers={"Cache-Control": "max-age=60"})
    read = source.read(request(feed_server.url("/news")))
    assert isinstance(read, Document) and read.asked_wait == 1800.0


def test_the_same_page_that_is_no_feed_gets_its_verdict_again_without_a_parse(
    feed_server: FeedServer, source: Source, pool: CountingPool
) -> None:
    url = feed_server.url("/news")
    feed_server.set("/news", HTML_PAGE, content_type="text/html")
    verdicts = []
    for _ in range(2):
        with pytest.raises(NotAFeedError) as caught:
            source.read(request(url))
        verdicts.append(str(caught.value))
    assert (
        verdicts
        == ["not a feed: the server returned an HTML page (page title: 'Just a moment')"] * 2
    )
    assert pool.parsed == 1
    # Served as another type, the same bytes are looked at again.
    feed_server.set("/news", HTML_PAGE, content_type="text/plain")
    with pytest.raises(NotAFeedError):
        source.read(request(url))
    assert pool.parsed == 2
    # A feed read fine forgets the verdict: the page coming back is parsed again.
    feed_server.set("/news", rss([Entry("Back", link="https://news.example/b")]))
    assert isinstance(source.read(request(url)), Document)
    feed_server.set("/news", HTML_PAGE, content_type="text/plain")
    with pytest.raises(NotAFeedError):
        source.read(request(url))
    assert pool.parsed == 4


def test_items_are_identified_by_the_shown_url_never_its_secrets(
    feed_server: FeedServer, source: Source
) -> None:
    feed_server.set("/news", rss([Entry("Numbered", guid="42")]))
    read = source.read(request(feed_server.url("/news?token=s3cret")))
    assert isinstance(read, Document)
    (found,) = read.items
    assert "s3cret" not in found.identity and found.identity.endswith("#42")


def test_dedupe_drops_empties_and_exact_repeats_and_keeps_a_reused_guid_apart() -> None:
    items = [
        item("guid:a", "First", "https://x.example/1"),
        item("fp:empty", ""),
        item("guid:a", "First", "https://x.example/1"),  # an exact repeat
        item("guid:a", "Second", "https://x.example/2"),  # another story, same guid
        item("guid:a", "Second", "https://x.example/2"),
    ]
    kept, dropped = dedupe_items(items)
    assert [i.title for i in kept] == ["First", "Second"]
    assert kept[0].identity == "guid:a" and kept[1].identity.startswith("guid:a#fp:")
    assert dropped == 3
    assert dedupe_items(kept) == (kept, 0), "deduplicated items stay as they are"


def test_a_document_built_from_items_is_deduplicated() -> None:
    document = Document.of_items(
        [item("link:1", "One", "https://x.example/1")] * 2, body_hash="h", asked_wait=60.0
    )
    assert (len(document.items), document.skipped, document.body_hash) == (1, 1, "h")


def test_parse_options_travel_to_parser_processes() -> None:
    options = ParseOptions(
        feed_name="news",
        feed_url="https://news.example/feed",
        tags=("news",),
        headers={"content-type": "application/rss+xml"},
        base_url="https://news.example/",
    )
    assert pickle.loads(pickle.dumps(options)) == options


def test_every_type_in_the_registry_builds_a_source(pool: CountingPool) -> None:
    assert DEFAULT_TYPE in SOURCE_TYPES
    with HttpFetcher(FetchLimits()) as fetcher:
        sources = build_sources(SharedParts(fetcher=fetcher, parser=pool))
        assert sources.keys() == SOURCE_TYPES.keys()
        assert isinstance(sources["rss"], RssSource)
        for built in sources.values():
            built.close()
