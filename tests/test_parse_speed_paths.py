"""The fast paths of parsing and matching give exactly what the slow ones give."""

from __future__ import annotations

import xml.sax
from io import BytesIO
from pathlib import Path

import feedparser
import pytest

from monitor.feeds import parse as parse_module
from monitor.feeds.saxdriver import BufferedExpatParser
from monitor.items import html_to_text
from monitor.rules import load_rules
from monitor.rules import match as match_module
from monitor.rules.testing import run_cases
from tests.support.feeds import Entry, rss
from tests.support.setup import SHIPPED_RULES

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def parse_both(body: bytes) -> tuple[object, object]:
    """feedparser's result with our SAX driver and with plain expat."""
    drivers = feedparser.api.PREFERRED_XML_PARSERS
    assert drivers[0] == parse_module._SAX_DRIVER, "the driver is registered on import"
    options = {"sanitize_html": False, "resolve_relative_uris": False}
    buffered = feedparser.parse(BytesIO(body), **options)
    try:
        drivers.remove(parse_module._SAX_DRIVER)
        plain = feedparser.parse(BytesIO(body), **options)
    finally:
        drivers.insert(0, parse_module._SAX_DRIVER)
    for result in (buffered, plain):
        result.pop("bozo_exception", None)
    return buffered, plain


def test_feedparser_gets_our_buffered_expat() -> None:
    parser = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    assert isinstance(parser, BufferedExpatParser)


def test_text_in_many_pieces_parses_the_same_joined() -> None:
    summary = "&lt;p&gt;Seoul &amp;amp; Kyiv&lt;/p&gt;\n" * 500 + "&#233;&#x263A; end"
    body = rss([Entry("A &amp; B", link="https://news.example/1", summary="x")]).replace(
        "<description>x</description>", f"<description>{summary}</description>"
    )
    buffered, plain = parse_both(body.encode())
    assert buffered == plain
    assert buffered["entries"][0]["summary"].endswith("é☺ end")


@pytest.mark.corpus
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not present at {CORPORA}")
def test_every_corpus_document_parses_the_same_with_the_buffered_driver() -> None:
    paths = (
        sorted((CORPORA / "realworld").iterdir())[::10]
        + sorted((CORPORA / "feedparser").rglob("*.xml"))[::5]
    )
    different = [p.name for p in paths if (pair := parse_both(p.read_bytes()))[0] != pair[1]]
    assert different == []


def test_html_cut_short_at_a_limit_starts_exactly_like_the_whole() -> None:
    article = "".join(
        f"<p>Paragraph {n} &amp; <b>bold</b> <script>var x = '<p>';</script>text</p>\n"
        for n in range(3000)
    )
    whole = html_to_text(article)
    for limit in (10, 300, 5000):
        short = html_to_text(article, limit)
        assert len(short) > limit and whole.startswith(short[:limit])
    assert html_to_text("<p>short</p>", 5000) == "short"


def test_matching_is_the_same_when_the_token_cache_keeps_filling_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(match_module, "CANDIDATE_CACHE_TOKENS", 3)  # cleared again and again
    results = run_cases(load_rules(SHIPPED_RULES))
    assert len(results) > 200
    assert [r.describe() for r in results if not r.passed] == []
