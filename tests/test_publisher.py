"""Who published an item: the feed's ``source`` elements (RSS, Atom, Google
News's outlet) parsed by feedparser, carried through the parser processes
and the rules to the alert, and shown beside the feed's name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from monitor.delivery.message import alert_post
from monitor.delivery.render import slack_message
from monitor.delivery.sinks.console import console_line
from monitor.domain.alert import Alert
from monitor.domain.severity import Severity
from monitor.rules.load import load_rules
from monitor.sources.parser_pool import ParserPool
from monitor.sources.rss import ParsedFeed, ParseOptions, parse_feed
from monitor.text import item_identity

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

AGGREGATOR = ParseOptions(feed_name="harbour-wire", feed_url="https://wire.example/ports.xml")
GOOGLE_NEWS = ParseOptions(
    feed_name="gnews-ports",
    feed_url="https://news.google.com/rss/search?q=port+strike&hl=en-US&gl=US&ceid=US:en",
)
ATOM_PLANET = ParseOptions(feed_name="shipping-planet", feed_url="https://planet.example/atom.xml")

AGGREGATOR_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Harbour Wire</title>
    <link>https://wire.example/</link>
    <description>Port news from many outlets</description>
    <item>
      <title>Cranes idle as the dock strike enters its third day</title>
      <link>https://www.harbour-gazette.example/news/cranes-idle</link>
      <guid>https://www.harbour-gazette.example/news/cranes-idle</guid>
      <source url="https://www.harbour-gazette.example/rss.xml">  Harbour
        Gazette </source>
    </item>
    <item>
      <title>Pilots vote to join the stoppage</title>
      <link>https://quayside.example/pilots-vote</link>
      <source url="https://WWW.Quayside.example/feed"></source>
    </item>
    <item>
      <title>Why the strike matters for grain prices - Analysis</title>
      <link>https://wire.example/grain-analysis</link>
    </item>
    <item>
      <title>Insurers weigh the cost of delays - Analysis</title>
      <link>https://www.harbour-gazette.example/news/insurers</link>
      <source url="https://www.harbour-gazette.example/rss.xml">Harbour Gazette</source>
    </item>
    <item>
      <title>Our own round-up of the week</title>
      <link>https://wire.example/round-up</link>
      <source url="https://wire.example/round-ups.xml">Harbour Wire round-ups</source>
    </item>
    <item>
      <title>Terminal operators meet the union</title>
      <link>https://forum.example/t/terminal-operators/17</link>
      <source url="https://forum.example/t/terminal-operators/17.rss"
        >Terminal operators meet the union</source>
    </item>
  </channel>
</rss>
"""

GOOGLE_NEWS_RSS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <generator>NFE/5.0</generator>
    <title>"port strike" - Google News</title>
    <link>https://news.google.com/search?q=port+strike&amp;hl=en-US&amp;gl=US&amp;ceid=US:en</link>
    <language>en-US</language>
    <description>Google News</description>
    <item>
      <title>Dock strike spreads to a second terminal - Example Daily News</title>
      <link>https://news.google.com/rss/articles/CBMiExampleOne?oc=5</link>
      <guid isPermaLink="false">CBMiExampleOne</guid>
      <pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate>
      <description>&lt;a href="https://news.google.com/rss/articles/CBMiExampleOne?oc=5"
        target="_blank"&gt;Dock strike spreads to a second terminal&lt;/a&gt;&amp;nbsp;&amp;nbsp;
        &lt;font color="#6f6f6f"&gt;Example Daily News&lt;/font&gt;</description>
      <source url="https://www.exampledaily.example">Example Daily News</source>
    </item>
    <item>
      <title>Shippers reroute cargo - Strike day three - Coastal Tribune</title>
      <link>https://news.google.com/rss/articles/CBMiExampleTwo?oc=5</link>
      <guid isPermaLink="false">CBMiExampleTwo</guid>
      <pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate>
      <source url="https://coastal-tribune.example">Coastal Tribune</source>
    </item>
    <item>
      <title>Coastal Tribune</title>
      <link>https://news.google.com/rss/articles/CBMiExampleThree?oc=5</link>
      <guid isPermaLink="false">CBMiExampleThree</guid>
      <source url="https://coastal-tribune.example">Coastal Tribune</source>
    </item>
  </channel>
</rss>
"""

ATOM_WITH_SOURCES = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Shipping Planet</title>
  <id>https://planet.example/</id>
  <link href="https://planet.example/"/>
  <updated>2026-12-01T10:00:00Z</updated>
  <entry>
    <title>Notes from the picket line</title>
    <id>https://lighthouse-log.example/2026/picket-line</id>
    <link href="https://lighthouse-log.example/2026/picket-line"/>
    <updated>2026-12-01T09:30:00Z</updated>
    <source>
      <id>https://lighthouse-log.example/</id>
      <title type="html">The Lighthouse   &amp;amp; Log</title>
      <link rel="self" href="https://lighthouse-log.example/atom.xml"/>
      <updated>2026-12-01T09:30:00Z</updated>
    </source>
  </entry>
  <entry>
    <title>Berth schedules, week 49</title>
    <id>https://berths.example/week-49</id>
    <link href="https://berths.example/week-49"/>
    <updated>2026-12-01T08:00:00Z</updated>
    <source>
      <link rel="self" href="https://www.berths.example/feed.atom"/>
    </source>
  </entry>
  <entry>
    <title>A post of the planet's own</title>
    <id>https://planet.example/own-post</id>
    <link href="https://planet.example/own-post"/>
    <updated>2026-12-01T07:00:00Z</updated>
  </entry>
</feed>
"""


def titles_and_publishers(parsed: ParsedFeed) -> list[tuple[str, str | None]]:
    return [(item.title, item.publisher) for item in parsed.items]


# --- parsing ------------------------------------------------------------------------


def test_an_rss_source_element_names_the_publisher_by_its_name_else_its_site() -> None:
    assert titles_and_publishers(parse_feed(AGGREGATOR_RSS, AGGREGATOR)) == [
        ("Cranes idle as the dock strike enters its third day", "Harbour Gazette"),
        ("Pilots vote to join the stoppage", "quayside.example"),
        # No source: the feed itself is the publisher, and the headline is whole.
        ("Why the strike matters for grain prices - Analysis", None),
        # The suffix names no publisher of the item: it is part of the headline.
        ("Insurers weigh the cost of delays - Analysis", "Harbour Gazette"),
        # A source on the feed's own site, or named after the item itself (as
        # forums point each topic at its own feed), is no other publisher.
        ("Our own round-up of the week", None),
        ("Terminal operators meet the union", None),
    ]


def test_a_google_news_item_gives_its_outlet_and_the_headline_alone() -> None:
    parsed = parse_feed(GOOGLE_NEWS_RSS, GOOGLE_NEWS)
    assert titles_and_publishers(parsed) == [
        ("Dock strike spreads to a second terminal", "Example Daily News"),
        # Only the last " - " part, and only because it is the source's name.
        ("Shippers reroute cargo - Strike day three", "Coastal Tribune"),
        # Nothing would be left of the title: it stays, and names no publisher.
        ("Coastal Tribune", None),
    ]


def test_an_atom_source_names_the_publisher_by_its_title_else_its_link() -> None:
    assert titles_and_publishers(parse_feed(ATOM_WITH_SOURCES, ATOM_PLANET)) == [
        ("Notes from the picket line", "The Lighthouse & Log"),
        ("Berth schedules, week 49", "berths.example"),
        ("A post of the planet's own", None),
    ]


def test_the_suffix_goes_whatever_its_case_and_spacing_in_the_title() -> None:
    body = GOOGLE_NEWS_RSS.replace(
        b"<title>Dock strike spreads to a second terminal - Example Daily News</title>",
        b"<title>Dock strike spreads to a second terminal  -  example daily\n news</title>",
    )
    first = parse_feed(body, GOOGLE_NEWS).items[0]
    assert (first.title, first.publisher) == (
        "Dock strike spreads to a second terminal",
        "Example Daily News",
    )


def test_an_item_known_by_its_text_keeps_the_identity_its_whole_title_gave_it() -> None:
    body = b"""<?xml version="1.0"?>
    <rss version="2.0"><channel><title>t</title><link>https://news.google.com/</link>
      <item>
        <title>Tug crews walk out - Example Daily News</title>
        <description>Crews at the outer harbour stopped work at dawn.</description>
        <source url="https://www.exampledaily.example">Example Daily News</source>
      </item>
    </channel></rss>"""
    (item,) = parse_feed(body, GOOGLE_NEWS).items
    assert item.title == "Tug crews walk out"
    assert item.identity == item_identity(
        GOOGLE_NEWS.feed_url,
        None,
        None,
        "Tug crews walk out - Example Daily News",
        "Crews at the outer harbour stopped work at dawn.",
    )


# --- through the parser pool --------------------------------------------------------


@pytest.fixture(scope="module", params=[0, 1], ids=["in-process", "worker-process"])
def pool(request: pytest.FixtureRequest) -> Iterator[ParserPool]:
    parser = ParserPool(request.param, offload_bytes=0)  # with a worker, every document goes to it
    yield parser
    parser.close()


@pytest.mark.parametrize(
    ("body", "options"),
    [
        (AGGREGATOR_RSS, AGGREGATOR),
        (GOOGLE_NEWS_RSS, GOOGLE_NEWS),
        (ATOM_WITH_SOURCES, ATOM_PLANET),
    ],
    ids=["rss-source", "google-news", "atom-source"],
)
def test_the_parser_pool_gives_the_publishers_parsing_here_gives(
    pool: ParserPool, body: bytes, options: ParseOptions
) -> None:
    goes_to_a_worker = pool._executor_for(len(body)) is not None
    assert goes_to_a_worker == (pool.processes > 0)
    parsed = pool.parse(body, options=options)
    assert parsed == parse_feed(body, options)
    assert any(item.publisher for item in parsed.items)


# --- to the alert -------------------------------------------------------------------


def test_rules_see_the_headline_and_the_alert_carries_the_publisher(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "port-strike.yaml").write_text(
        dedent(
            """\
            id: port-strike
            title: Port strike
            severity: warning
            match:
              all:
                - fields: [title]
                  any: [dock strike]
            """
        ),
        encoding="utf-8",
    )
    # Google's description names the outlet too; the title no longer does.
    (rules / "outlet-in-title.yaml").write_text(
        dedent(
            """\
            id: outlet-in-title
            title: The outlet named in a title
            severity: info
            match:
              all:
                - fields: [title]
                  any: [example daily news]
            """
        ),
        encoding="utf-8",
    )
    rule_set = load_rules(rules)
    item = parse_feed(GOOGLE_NEWS_RSS, GOOGLE_NEWS).items[0]
    (match,) = rule_set.match(item)
    alert = match.to_alert(NOW)
    assert (alert.title, alert.publisher) == (
        "Dock strike spreads to a second terminal",
        "Example Daily News",
    )
    assert Alert.from_json(alert.to_json()) == alert


# --- shown ----------------------------------------------------------------------------


def alert(**overrides: Any) -> Alert:
    default = Alert(
        rule_id="port-strike",
        rule_title="Port strike",
        severity=Severity.WARNING,
        feed="gnews-ports",
        item_identity="guid:CBMiExampleOne",
        item_guid="CBMiExampleOne",
        title="Dock strike spreads to a second terminal",
        link="https://news.google.com/rss/articles/CBMiExampleOne",
        summary="",
        published=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        matched_terms=("dock strike",),
        created_at=NOW,
    )
    return replace(default, **overrides)


def context_line(shown: Alert) -> str:
    context = slack_message(shown, now=NOW).blocks[-1]
    assert context["type"] == "context"
    text: str = context["elements"][0]["text"]
    return text


def test_slack_names_the_publisher_via_the_feed() -> None:
    assert context_line(alert(publisher="Example Daily News")) == (
        "*Example Daily News* via gnews-ports · <!date^1796115600^{date_short_pretty} {time} ({ago})|2026-12-01 09:00 UTC> · rule `port-strike`"
    )


@pytest.mark.parametrize("publisher", [None, "", "GNEWS-ports"])
def test_slack_names_the_feed_alone_without_another_publisher(publisher: str | None) -> None:
    assert context_line(alert(publisher=publisher)) == (
        "*gnews-ports* · <!date^1796115600^{date_short_pretty} {time} ({ago})|2026-12-01 09:00 UTC> · rule `port-strike`"
    )


def test_a_publishers_name_is_escaped_for_slack() -> None:
    assert context_line(alert(publisher="Tide & Time <!channel>")).startswith(
        "*Tide &amp; Time &lt;!channel&gt;* via gnews-ports · "
    )


def test_the_console_names_the_publisher_via_the_feed() -> None:
    post = alert_post(alert(publisher="Example Daily News"), now=NOW)
    assert post.publisher == "Example Daily News"
    assert console_line(post, "#ports") == (
        "ALERT WARNING  port-strike [Example Daily News via gnews-ports] 2026-12-01T09:00Z "
        "Dock strike spreads to a second terminal "
        "<https://news.google.com/rss/articles/CBMiExampleOne> -> #ports"
    )


def test_the_console_names_the_feed_alone_without_another_publisher() -> None:
    for publisher in (None, "gnews-ports"):
        line = console_line(alert_post(alert(publisher=publisher), now=NOW))
        assert line.startswith("ALERT WARNING  port-strike [gnews-ports] 2026-12-01T09:00Z ")
