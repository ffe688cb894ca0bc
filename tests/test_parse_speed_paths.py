"""The fast paths of parsing and matching give exactly what the slow ones give."""

from __future__ import annotations

import random
import re
import unicodedata
import xml.sax
from io import BytesIO
from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor import text as items_module
from monitor.domain.item import Item
from monitor.errors import FeedError
from monitor.rules import index as index_module
from monitor.rules.load import load_rules
from monitor.rules.testing import run_cases
from monitor.rules.text import _ABBREVIATIONS, Document, split_sentences
from monitor.sources import rss as parse_module
from monitor.sources.rss import BufferedExpatParser
from monitor.text import COMBINING_MARKS_BELOW, fold_for_matching, html_to_text
from tests.support.feeds import Entry, rss
from tests.support.setup import SHIPPED_RULES
from tests.test_corpus import _declared_headers

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def parse_both(body: bytes) -> tuple[Any, Any]:
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


def test_feedparser_maps_windows_1252_as_with_its_own_table_and_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own_table = feedparser.html._cp1252
    assert isinstance(own_table, dict) and isinstance(feedparser.mixin._cp1252, str)
    patched_pop = feedparser.mixin._FeedParserMixin.pop
    assert patched_pop is parse_module._faster_pop is not parse_module._FEEDPARSER_POP, (
        "the feedparser pinned in pyproject.toml gets the faster pop"
    )
    paths = sorted((CORPORA / "realworld").iterdir())[::7] if CORPORA.is_dir() else []
    bodies = [p.read_bytes() for p in paths] + [
        # C1 controls that Windows-1252 text decoded as Latin-1 leaves behind,
        # next to non-ASCII text and a character beyond the table's end.
        rss([Entry("Seoul\x93s \x80 arms — 北朝鮮 😀 \x9f", summary="Kim\x92s \x85 ü")]).encode(),
    ]
    options = {"sanitize_html": False, "resolve_relative_uris": False}
    ours = [feedparser.parse(BytesIO(body), **options) for body in bodies]
    monkeypatch.setattr(feedparser.mixin, "_cp1252", own_table)
    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, "pop", parse_module._FEEDPARSER_POP)
    theirs = [feedparser.parse(BytesIO(body), **options) for body in bodies]
    for result in ours + theirs:
        result.pop("bozo_exception", None)
    assert ours == theirs
    assert ours[-1]["entries"][0]["title"] == "Seoul“s € arms — 北朝鮮 😀 Ÿ"
    assert ours[-1]["entries"][0]["summary"] == "Kim’s … ü"


def test_feedparser_errors_still_point_into_its_own_source() -> None:
    assert parse_module._faster_pop is not None, "the faster pop is installed on this feedparser"
    code = parse_module._faster_pop.__code__
    assert code.co_filename == feedparser.mixin.__file__
    assert code.co_firstlineno == parse_module._FEEDPARSER_POP.__code__.co_firstlineno


def test_feedparser_resolves_base_uris_with_its_memo_as_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = feedparser.mixin.make_safe_absolute_uri
    assert memo is not feedparser.urls.make_safe_absolute_uri, "the memo is installed on import"
    paths = (
        [
            *sorted((CORPORA / "feedparser" / "wellformed" / "base").glob("*.xml")),
            *sorted((CORPORA / "realworld").iterdir())[3::7],
        ]
        if CORPORA.is_dir()
        else []
    )
    documents = [(p.read_bytes(), "https://feeds.example/dir/feed.xml") for p in paths] + [
        (  # xml:base, absolute and relative, nested and unsafe
            b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/x/">'
            b'<entry xml:base="y/"><id>1</id><link href="z.html"/></entry>'
            b'<entry xml:base="javascript:alert(1)"><id>2</id><link href="w"/></entry>'
            b'<entry xml:base="/root/"><id>3</id><link href="../v?q#f"/></entry></feed>',
            "http://fallback.example/",
        )
    ]

    def parse_all() -> list[Any]:
        results = []
        for body, url in documents:
            headers = {"content-location": url, **_declared_headers(body)}
            result = feedparser.parse(
                BytesIO(body),
                response_headers=headers,
                sanitize_html=False,
                resolve_relative_uris=False,
            )
            result.pop("bozo_exception", None)
            results.append(result)
        return results

    memoised = parse_all()
    monkeypatch.setattr(
        feedparser.mixin, "make_safe_absolute_uri", feedparser.urls.make_safe_absolute_uri
    )
    assert memoised == parse_all()
    links = [e["link"] for e in memoised[-1]["entries"]]
    assert links == [
        "http://a.example/x/y/z.html",
        "http://a.example/x/w",
        "http://a.example/v?q#f",
    ]
    assert memo.cache_info().hits > 0


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


def html_by_htmlparser(markup: str, limit: int | None = None) -> str:
    """html_to_text with its fast path for plain markup turned off."""
    plain_path = items_module._simple_html_text
    items_module._simple_html_text = lambda markup, limit: None
    try:
        return html_to_text(markup, limit)
    finally:
        items_module._simple_html_text = plain_path


def kept(text: str, limit: int) -> str:
    return parse_module._cap(text, limit)


# Markup HTMLParser reads plainly, and markup it reads its own way (which
# the fast path must leave to it): pieces of both, mixed.
_PLAIN_PIECES = [
    "Seoul",
    " sends ",
    "shells",
    "\n\t",
    " ",
    "a > b",
    "&amp;",
    "&amp",
    "&#233;",
    "&#x263A;",
    "&bogus;",
    "& ",
    "&",
    "&lt;p&gt;",
    "é—’",
    "<p>",
    "</p>",
    "<P CLASS=x>",
    "<br>",
    "<br/>",
    "<br />",
    "<img src=a.png>",
    "<img alt='x>y'>",
    '<a href="/x?a=1&amp;b=2">',
    "</a>",
    "<b>",
    "</B>",
    "<div\nid=d>",
    "</div >",
    '<span data-x="\'">',
    "<o:p>",
    "</o:p>",
    "<h2 id=h>",
    "</h2>",
    "<li>",
    "<td>",
    "<iframe src=v></iframe>",
    "<!-- more -->",
    "<!--x-->",
    "<!---->",
    "<a b=c d e='f' g=\"h\">",
    "x--y",
    "->",
]
_AWKWARD_PIECES = [
    "1 < 2",
    '<a title="x<y">',
    "<iframe>x</iframe>",
    "<script>var a = '<p>';</script>",
    "<style>p{}</style>",
    "<title>T</title>",
    "<noscript>n</noscript>",
    "<textarea>t</textarea>",
    "<!-->",
    "<!-- a -- b -->",
    "<!--[if x]><p><![endif]-->",
    "<!DOCTYPE html>",
    "<?php ?>",
    "<![CDATA[c]]>",
    "</>",
    "< p>",
    "<",
    "<a",
    "<a href='x",
    "<p/ >",
    "<a =x>",
    "<a b==c>",
    "<a b=`c`>",
    "</iframe>",
    "<iframe src=v>",
]


def test_plain_markup_reads_as_htmlparser_reads_it() -> None:
    shuffle = random.Random(20261201)
    plain = 0
    for _ in range(4000):
        pieces = [
            shuffle.choice(_AWKWARD_PIECES if shuffle.random() < 0.05 else _PLAIN_PIECES)
            for _ in range(shuffle.randint(1, 12))
        ]
        markup = "".join(pieces)
        plain += items_module._plain_markup_text(markup) is not None
        assert html_to_text(markup) == html_by_htmlparser(markup), markup
        assert kept(html_to_text(markup, 20), 20) == kept(html_by_htmlparser(markup, 20), 20)
    assert plain > 2000, "both paths are exercised"


def test_a_long_plain_article_is_read_only_as_far_as_is_kept() -> None:
    article = "".join(f"<p>Paragraph {n} &amp; <b>bold</b> text</p>\n" for n in range(5000))
    assert items_module._plain_markup_text(article) is not None, "the fast path is taken"
    whole = html_by_htmlparser(article)
    for limit in (10, 300, 5000):
        short = html_to_text(article, limit)
        assert whole.startswith(short) and limit < len(short) < len(whole) // 10


@pytest.mark.corpus
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not present at {CORPORA}")
def test_every_corpus_html_value_reads_as_htmlparser_reads_it() -> None:
    values: list[str] = []
    for path in sorted((CORPORA / "realworld").iterdir())[1::3]:
        parsed = feedparser.parse(BytesIO(path.read_bytes()), sanitize_html=False)
        for entry in parsed["entries"]:
            values += [entry.get("summary", "")] + [
                c.get("value", "") for c in entry.get("content", [])
            ]
    values = [v for v in values if "<" in v or "&" in v]
    assert len(values) > 1000
    plain = [v for v in values if items_module._plain_markup_text(v) is not None]
    assert len(plain) > 0.8 * len(values), "most real feed HTML takes the fast path"
    assert [v[:80] for v in plain if html_to_text(v) != html_by_htmlparser(v)] == []
    different = [
        v[:80]
        for v in values
        if kept(html_to_text(v, 5000), 5000) != kept(html_by_htmlparser(v, 5000), 5000)
    ]
    assert different == []


def test_matching_is_the_same_when_the_token_cache_keeps_filling_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "CANDIDATE_CACHE_TOKENS", 3)  # cleared again and again
    results = run_cases(load_rules(SHIPPED_RULES))
    assert len(results) > 200
    assert [r.describe() for r in results if not r.passed] == []


# --- the matcher's view of an item: the plain definitions, one call per
# clause and per character, that monitor.rules.text and monitor.text speed up.

_REFERENCE_BOUNDARY = re.compile(r"([.!?…;]+)([\"'”’)\]]*)\s+")
_REFERENCE_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_REFERENCE_CLAUSE_BREAK = re.compile(r"(?<!\d)[,:](?!\d)|[,:](?=\s)|[;()\[\]–—]|\s-\s")


def reference_fold(text: str) -> str:
    folded = text.casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")
    return re.sub(r"[\W_]+", " ", folded).strip()


def reference_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for boundary in _REFERENCE_BOUNDARY.finditer(text):
        word = _REFERENCE_LAST_WORD.search(text[start : boundary.start()])
        if boundary.group(1) == "." and word:
            token = word.group(1)
            if len(token.replace(".", "")) == 1 or "." in token or token.lower() in _ABBREVIATIONS:
                continue
        following = text[boundary.end() : boundary.end() + 1]
        if following and following.islower() and ";" not in boundary.group(1):
            continue
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    if rest := text[start:].strip():
        sentences.append(rest)
    return sentences


def reference_document(item: Item) -> tuple[object, ...]:
    """Tokens, sentence and clause of every token, and the sentences, of the
    title and summary, each clause folded on its own."""
    view: list[object] = []
    clause_count = 0
    sentence_count = 0
    for field in ("title", "summary"):
        words: list[str] = []
        owners: list[int] = []
        clauses: list[int] = []
        for text in reference_sentences(getattr(item, field)):
            first = len(words)
            for clause in _REFERENCE_CLAUSE_BREAK.split(text):
                if clause_words := reference_fold(clause).split():
                    words += clause_words
                    clauses += [clause_count] * len(clause_words)
                    clause_count += 1
            if len(words) > first:
                question = text.rstrip("\"'”’) ").endswith("?")
                view.append((field, sentence_count, first, len(words), question))
                owners += [sentence_count] * (len(words) - first)
                sentence_count += 1
        view += [tuple(words), tuple(owners), tuple(clauses)]
    return tuple(view)


def document_view(document: Document) -> tuple[object, ...]:
    view: list[object] = []
    for field in ("title", "summary"):
        view += [
            (s.field, s.index, s.start, s.end, s.question)
            for s in document.sentences
            if s.field == field
        ]
        view += [document.tokens[field], document.sentence_of[field], document.clause_of[field]]
    return tuple(view)


def text_item(title: str, summary: str = "") -> Item:
    return Item("feed", (), "id", None, title, summary, None, None, None)


TRICKY_TEXTS = [
    "N. Korea's troops: 1,000 (est.) at 10:30; U.S. officials - who declined - said so.",
    "Seoul [update] – arms – to Kyiv? Yes!” Next… and more; then (more) Gen. Kim spoke.",
    "ＫＰＡ、Đà Nẵng, Škoda: ﬁnal 𝐁𝐨𝐥𝐝 text ａ-ｂ. Café, naïve; coöperate…",
    "word\n. Next one.  A.B.C. Thing.",
    "nul\x00inside\x01and\x02 marks, here. Then. Another",
    "a,b :c ,d - e -f- g ; h 5,x 7:y z,9 2024, then",
    "",
    "?!",
    "北朝鮮軍、ロシアに派兵。 국군, 우크라이나에 무기 지원? 制裁：中国企业",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_sentences_and_clauses_are_what_folding_each_clause_alone_gives(text: str) -> None:
    assert split_sentences(text) == reference_sentences(text)
    item = text_item(text, text + " " + text)
    assert document_view(Document.of(item)) == reference_document(item)


@pytest.mark.corpus
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not present at {CORPORA}")
def test_every_corpus_item_reads_the_same_as_folding_each_clause_alone() -> None:
    items: list[Item] = []
    for path in sorted((CORPORA / "realworld").iterdir())[::4]:
        try:
            items += parse_module.parse_feed(
                path.read_bytes(), parse_module.ParseOptions(feed_name="f", feed_url="u")
            ).items
        except FeedError:
            continue
    assert len(items) > 1000
    different = [
        item.title for item in items if document_view(Document.of(item)) != reference_document(item)
    ]
    assert different == []


def test_every_character_folds_as_unicodedata_says() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert fold_for_matching(every) == reference_fold(every)
    # A piece of text holding combining marks both sides of the BMP boundary.
    mixed = "e\u0301 𝐀\U0001e94a x\u0301\U0001d165y"
    assert fold_for_matching(mixed) == reference_fold(mixed)
    beyond = [c for c in range(COMBINING_MARKS_BELOW, 0x110000) if unicodedata.combining(chr(c))]
    assert beyond == [], "raise COMBINING_MARKS_BELOW for this Python's Unicode database"


def test_white_space_folds_as_the_regular_expression_folds_it() -> None:
    def reference(text: str) -> str:
        return re.sub(r"\s+", " ", items_module._CONTROL_CHARS.sub("", text)).strip()

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    spaced = [" ".join(every[i : i + 7]) for i in range(0, len(every), 7)]
    texts = [every, "  \u3000a\u00a0\u2029b\x1c c\t\n", *spaced[::997]]
    # A character white space to one and not the other would show in the first.
    assert [items_module.fold_whitespace(t) for t in texts] == [reference(t) for t in texts]
