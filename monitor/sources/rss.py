"""From feed bytes to normalised items, through feedparser.

feedparser runs with HTML sanitising and relative-URI resolution off: they
dominate its parse time and we reduce every field to plain text ourselves
(:mod:`monitor.text`), so no markup survives either way.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from io import BytesIO
from typing import Any, TypeGuard
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.domain.item import Item, fingerprint
from monitor.errors import FeedError, NotAFeedError
from monitor.rules.match import ItemMatches
from monitor.text import canonical_link, fold_whitespace, item_identity, plain_text, utc_datetime

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5000
# A missing or non-XML Content-Type (text/plain, octet-stream) flags bozo
# though the document parses perfectly; warning about it would be noise.
_BENIGN_BOZO = (feedparser.NonXMLContentType,)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)

# feedparser picks its XML parser from this list of driver modules; ours
# goes first (see monitor.sources.rss_sax: same result, far fewer calls).
# The list is feedparser's documented hook, and ours is only an expat with
# text buffering, so every process parsing feeds gets it by importing us.
_SAX_DRIVER = "monitor.sources.rss_sax"
if _SAX_DRIVER not in feedparser.api.PREFERRED_XML_PARSERS:
    feedparser.api.PREFERRED_XML_PARSERS.insert(0, _SAX_DRIVER)


def _character_table(mapping: Mapping[int, str]) -> str:
    """``mapping`` as a string to index: what str.translate does with it is
    the same, but a dict makes it raise and catch a KeyError for each
    character it does not map, where a string is simply indexed."""
    chars = [chr(code) for code in range(0x10000)]
    for code, char in mapping.items():
        chars[code] = char
    return "".join(chars)


def _is_small_character_map(value: object) -> TypeGuard[dict[int, str]]:
    return isinstance(value, dict) and all(
        isinstance(code, int) and 0 <= code < 0x10000 and isinstance(char, str) and len(char) == 1
        for code, char in value.items()
    )


# feedparser passes the text of every element through
# ``text.translate(_cp1252)``, a dict of 32 code points (C1 controls to the
# Windows-1252 characters they were meant as). For text that is not all
# ASCII, CPython then looks each character up in the dict and handles a
# KeyError for nearly all of them: over 100 ns a character, 2 s of the 10 s
# feedparser spends on the real-world corpus. The same mapping as a string
# gives the same text in half the time (a test compares the two on the
# corpora). Characters above U+FFFF are past its end, which str.translate
# takes, as with the dict, as "not mapped".
_feedparser_cp1252 = getattr(feedparser.mixin, "_cp1252", None)
if _is_small_character_map(_feedparser_cp1252):
    feedparser.mixin._cp1252 = _character_table(_feedparser_cp1252)

# Even with the string, that translation cost 1.2 s of feedparser's 7 s on
# the real-world corpus, and it changes only text holding a C1 control
# (U+0080 to U+009F), which almost none does. feedparser offers no hook
# for it, so its one line ``output = output.translate(_cp1252)`` in
# _FeedParserMixin.pop is rewritten to translate only such text, and pop
# recompiled in feedparser's own namespace. Where that line is not exactly
# there (another feedparser), pop is left as it is, and only slower.
_TRANSLATION = "output = output.translate(_cp1252)"
_FEEDPARSER_POP = feedparser.mixin._FeedParserMixin.pop


def _pop_translating_only_c1_text() -> Callable[..., Any] | None:
    try:
        lines, first_line = inspect.getsourcelines(_FEEDPARSER_POP)
        filename = inspect.getsourcefile(_FEEDPARSER_POP) or "<feedparser>"
    except (OSError, TypeError):
        return None  # no source at hand
    source = textwrap.dedent("".join(lines))
    if source.count(_TRANSLATION) != 1 or "super()" in source or "__class__" in source:
        return None
    source = source.replace(
        _TRANSLATION, f"{_TRANSLATION} if _monitor_c1_control.search(output) else output"
    )
    # Blank lines first, so that tracebacks still point into mixin.py.
    code = compile("\n" * (first_line - 1) + source, filename, "exec")
    feedparser.mixin._monitor_c1_control = re.compile("[\x80-\x9f]")
    namespace: dict[str, Any] = {}
    exec(code, vars(feedparser.mixin), namespace)  # noqa: S102 - feedparser's own code, one line changed
    pop: Callable[..., Any] = namespace["pop"]
    return pop


_faster_pop = _pop_translating_only_c1_text()
if _faster_pop is not None:
    feedparser.mixin._FeedParserMixin.pop = _faster_pop

# feedparser works out the base URI of every element it opens, by resolving
# the element's xml:base, or else the base in force, against the base in
# force: 69,000 URL joins on the real-world corpus for some 400 distinct
# pairs, a third of feedparser's time. The function is pure (strings in, a
# string out), so remembering its recent answers changes nothing else.
if feedparser.mixin.make_safe_absolute_uri is feedparser.urls.make_safe_absolute_uri:
    feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=256)(
        feedparser.urls.make_safe_absolute_uri
    )


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    items: tuple[Item, ...]
    warning: str | None = None
    """Set when feedparser flagged the document (bozo) but it still gave items."""
    skipped: int = 0
    """Entries dropped as empty (no title, text or link) or as exact repeats."""
    ttl_minutes: int | None = None
    """RSS <ttl>: how long the publisher asks readers to wait between polls."""
    matches: ItemMatches | None = None
    """Every item's matches, when a parser process matched them too."""


def parse_feed(
    body: bytes,
    *,
    feed_name: str,
    feed_url: str,
    tags: tuple[str, ...] = (),
    headers: Mapping[str, str] | None = None,
    base_url: str | None = None,
) -> ParsedFeed:
    """Parse one feed document into items; raise NotAFeedError if it is no feed."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    base = base_url or feed_url
    response_headers.setdefault("content-location", base)
    try:
        parsed = feedparser.parse(
            BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser is meant never to raise; if it does, one feed fails
        raise FeedError("parse", f"the feed parser failed: {type(exc).__name__}: {exc}") from exc
    entries: list[Any] = list(parsed.get("entries") or [])
    if not parsed.get("version") and not entries:
        raise NotAFeedError(_not_a_feed_reason(body, parsed, response_headers))
    warning = None
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _BENIGN_BOZO):
        warning = f"the feed is not well-formed but usable: {_bozo_reason(parsed)}"

    items: list[Item] = []
    positions: dict[str, int] = {}
    skipped = 0
    for entry in entries:
        item = _normalise(entry, feed_name=feed_name, feed_url=feed_url, tags=tags, base=base)
        if item is None:
            skipped += 1
            continue
        earlier = positions.get(item.identity)
        if earlier is not None:
            # A guid repeated inside one feed: an exact repeat is dropped, a
            # different item under the same guid is kept under its own identity.
            if _same_content(items[earlier], item):
                skipped += 1
                continue
            item = replace(
                item, identity=f"{item.identity}#fp:{fingerprint(item.title, item.summary)}"
            )
            if item.identity in positions:
                skipped += 1
                continue
        positions[item.identity] = len(items)
        items.append(item)
    feed_title = fold_whitespace(str(parsed.get("feed", {}).get("title", "")))
    ttl = str(parsed.get("feed", {}).get("ttl", "")).strip()
    return ParsedFeed(
        title=feed_title,
        items=tuple(items),
        warning=warning,
        skipped=skipped,
        ttl_minutes=int(ttl) if ttl.isdigit() else None,
    )


def _normalise(
    entry: Any, *, feed_name: str, feed_url: str, tags: tuple[str, ...], base: str
) -> Item | None:
    title = _cap(
        plain_text(_text(entry.get("title")), _detail_type(entry, "title_detail"), MAX_TITLE_CHARS),
        MAX_TITLE_CHARS,
    )
    summary = _summary(entry)
    link = _link(entry, base)
    if not (title or summary or link):
        return None
    raw_guid = _text(entry.get("id")).strip()
    guid = raw_guid or None
    return Item(
        feed=feed_name,
        feed_tags=tags,
        identity=item_identity(feed_url, guid, link, title, summary),
        guid=guid,
        title=title,
        summary=summary,
        link=link,
        published=utc_datetime(entry.get("published_parsed"), _text(entry.get("published"))),
        # dict.get bypasses feedparser's deprecated updated -> published fallback.
        updated=utc_datetime(dict.get(entry, "updated_parsed"), _text(dict.get(entry, "updated"))),
    )


def _summary(entry: Any) -> str:
    summary = plain_text(
        _text(entry.get("summary")), _detail_type(entry, "summary_detail"), MAX_SUMMARY_CHARS
    )
    if not summary:
        for content in entry.get("content") or ():
            if isinstance(content, Mapping):
                summary = plain_text(
                    _text(content.get("value")),
                    str(content.get("type") or "text/html"),
                    MAX_SUMMARY_CHARS,
                )
                if summary:
                    break
    return _cap(summary, MAX_SUMMARY_CHARS)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link(entry: Any, base: str) -> str | None:
    raw = _text(entry.get("link")).strip()
    if not raw:
        return None
    absolute = urljoin(base, raw) if not urlsplit(raw).scheme else raw
    # feedparser gives an Atom entry without an alternate link its urn: id as
    # link; that is no link a reader can follow.
    if urlsplit(absolute).scheme.lower() not in ("http", "https"):
        return None
    return canonical_link(absolute)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _detail_type(entry: Any, key: str) -> str | None:
    detail = entry.get(key)
    if isinstance(detail, Mapping):
        kind = detail.get("type")
        return kind if isinstance(kind, str) else None
    return None


def _same_content(first: Item, second: Item) -> bool:
    return (first.title, first.summary, first.link) == (second.title, second.summary, second.link)


def _bozo_reason(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    if exc is None:
        return "unknown problem"
    # The message can quote the document itself; it goes to logs and terminals.
    return _cap(fold_whitespace(f"{type(exc).__name__}: {exc}"), 300)


def _not_a_feed_reason(body: bytes, parsed: Any, headers: Mapping[str, str]) -> str:
    if not body.strip():
        return "not a feed: the response body is empty"
    head = body[:4096]
    content_type = headers.get("content-type", "")
    if b"<html" in head.lower() or b"<!doctype html" in head.lower() or "text/html" in content_type:
        title_match = _HTML_TITLE.search(body[:65536])
        title = (
            fold_whitespace(title_match.group(1).decode("utf-8", "replace"))[:80]
            if title_match
            else ""
        )
        shown = f" (page title: {title!r})" if title else ""
        return f"not a feed: the server returned an HTML page{shown}"
    if parsed.get("bozo"):
        return f"not a feed: {_bozo_reason(parsed)}"
    return "not a feed: no RSS, Atom or RDF document found"
