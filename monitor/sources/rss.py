"""From feed bytes to normalised items, through feedparser, and the speed-ups
that make feedparser fast enough for a fleet: all of it in this one file.

feedparser runs with HTML sanitising and relative-URI resolution off: they
dominate its parse time and we reduce every field to plain text ourselves
(:mod:`monitor.text`), so no markup survives either way. The speed-ups below
change how fast feedparser works, never what it gives; tests compare both
ways on the real-world corpora.

This module is also the SAX driver feedparser finds by module name (it has
``create_parser``): see :class:`BufferedExpatParser`.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, TypeGuard
from urllib.parse import urljoin, urlsplit
from xml.sax import expatreader

import feedparser

from monitor.domain.item import Item
from monitor.errors import FeedError, NotAFeedError
from monitor.rules.compiled import ItemMatches
from monitor.sources.dedupe import dedupe_items
from monitor.text import canonical_link, fold_whitespace, item_identity, plain_text, utc_datetime

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5000
MAX_PUBLISHER_CHARS = 200
# A missing or non-XML Content-Type (text/plain, octet-stream) flags bozo
# though the document parses perfectly; warning about it would be noise.
_BENIGN_BOZO = (feedparser.NonXMLContentType,)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)

# --- a SAX driver that reports each run of text once ----------------------------------

TEXT_BUFFER_BYTES = 64 * 1024


class BufferedExpatParser(expatreader.ExpatParser):
    """expat with text buffering, as feedparser's XML parser.

    Plain expat reports character data in pieces: at every line break,
    entity and buffer boundary. Escaped HTML in a description
    (``&lt;p&gt;...``) comes as dozens of pieces per item, and feedparser
    spends Python calls and dictionary lookups on each, a large part of its
    parse time. With expat's ``buffer_text`` the pieces come joined, and
    feedparser, which only ever appends them to one list, builds exactly the
    same result.
    """

    def reset(self) -> None:
        """A new pyexpat parser, buffering text."""
        super().reset()
        # reset() has just made a new pyexpat parser; the stubs do not name it.
        expat: Any = self._parser  # type: ignore[attr-defined]
        expat.buffer_size = TEXT_BUFFER_BYTES
        expat.buffer_text = True


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    """What makes this module a SAX driver: xml.sax.make_parser calls it."""
    return BufferedExpatParser(*args, **kwargs)


# feedparser picks its XML parser from this list of driver modules (module
# names for xml.sax.make_parser); this one goes first. The list is
# feedparser's documented hook, and ours is only an expat with text
# buffering, so every process parsing feeds gets it by importing us.
_SAX_DRIVER = __name__
if _SAX_DRIVER not in feedparser.api.PREFERRED_XML_PARSERS:
    feedparser.api.PREFERRED_XML_PARSERS.insert(0, _SAX_DRIVER)


# --- feedparser's slow paths, made fast -----------------------------------------------


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
# KeyError for nearly all of them, a large share of feedparser's time on
# real-world feeds. The same mapping as a string gives the same text much
# faster (a test compares the two on the corpora). Characters above U+FFFF
# are past its end, which str.translate takes, as with the dict, as "not
# mapped".
_feedparser_cp1252 = getattr(feedparser.mixin, "_cp1252", None)
if _is_small_character_map(_feedparser_cp1252):
    feedparser.mixin._cp1252 = _character_table(_feedparser_cp1252)

# Even with the string, that translation is a noticeable share of
# feedparser's time, and it changes only text holding a C1 control
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
# force: on real-world feeds, a great many URL joins of few distinct pairs,
# a large part of feedparser's time. The function is pure (strings in, a
# string out), so remembering its recent answers changes nothing else.
if feedparser.mixin.make_safe_absolute_uri is feedparser.urls.make_safe_absolute_uri:
    feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=256)(
        feedparser.urls.make_safe_absolute_uri
    )


# --- documents into items -------------------------------------------------------------


@dataclass(frozen=True)
class ParseOptions:
    """Whose items a document holds and how it was served: everything
    :func:`parse_feed` needs besides the bytes. Picklable, for parser processes."""

    feed_name: str
    feed_url: str
    """The feed's URL as shown (secrets redacted): part of its items' identities."""
    tags: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    """The response's headers (Content-Type tells feedparser the encoding)."""
    base_url: str | None = None
    """Where the body finally came from (as shown), for relative links; else ``feed_url``."""


@dataclass(frozen=True)
class ParsedFeed:
    """One document's items, deduplicated, and what else the feed said."""

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


def parse_feed(body: bytes, options: ParseOptions) -> ParsedFeed:
    """Parse one feed document into items; raise NotAFeedError if it is no feed."""
    response_headers = {k.lower(): v for k, v in options.headers.items()}
    base = options.base_url or options.feed_url
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
    own_sites = _own_sites(options.feed_url, base, parsed.get("feed", {}).get("link"))
    items, skipped = dedupe_items(
        _normalise(
            entry,
            feed_name=options.feed_name,
            feed_url=options.feed_url,
            tags=options.tags,
            base=base,
            own_sites=own_sites,
        )
        for entry in entries
    )
    feed_title = fold_whitespace(str(parsed.get("feed", {}).get("title", "")))
    ttl = str(parsed.get("feed", {}).get("ttl", "")).strip()
    return ParsedFeed(
        title=feed_title,
        items=items,
        warning=warning,
        skipped=skipped,
        ttl_minutes=int(ttl) if ttl.isdigit() else None,
    )


def _normalise(
    entry: Any,
    *,
    feed_name: str,
    feed_url: str,
    tags: tuple[str, ...],
    base: str,
    own_sites: frozenset[str],
) -> Item:
    given_title = _cap(
        plain_text(_text(entry.get("title")), _detail_type(entry, "title_detail"), MAX_TITLE_CHARS),
        MAX_TITLE_CHARS,
    )
    publisher = _publisher(entry.get("source"), given_title, own_sites)
    summary = _summary(entry)
    link = _link(entry, base)
    raw_guid = _text(entry.get("id")).strip()
    guid = raw_guid or None
    return Item(
        feed=feed_name,
        feed_tags=tags,
        # The title as the feed gave it, so that an item identified by its
        # text keeps the identity it had before publishers were split off.
        identity=item_identity(feed_url, guid, link, given_title, summary),
        guid=guid,
        title=_without_publisher_suffix(given_title, publisher),
        summary=summary,
        link=link,
        published=utc_datetime(entry.get("published_parsed"), _text(entry.get("published"))),
        # dict.get bypasses feedparser's deprecated updated -> published fallback.
        updated=utc_datetime(dict.get(entry, "updated_parsed"), _text(dict.get(entry, "updated"))),
        publisher=publisher,
    )


# --- who published an item -----------------------------------------------------------

_PUBLISHER_SEPARATOR = " - "
"""What Google News (and aggregators like it) put between a headline and its outlet."""


def _publisher(source: object, title: str, own_sites: frozenset[str]) -> str | None:
    """The publisher an entry's ``source`` element names (RSS ``<source
    url=...>Name</source>``, Atom ``<source><title>``): its name, else its
    site's host. None without one, and for a source that is no other
    publisher: the feed's own site, or named after the item itself (forums
    such as Discourse point each topic's ``source`` at the topic's own feed).
    """
    if not isinstance(source, Mapping):
        return None
    name = _cap(
        plain_text(_text(source.get("title")), _detail_type(source, "title_detail")),
        MAX_PUBLISHER_CHARS,
    )
    site = _site(_source_url(source))
    if (site and site in own_sites) or (name and name.casefold() == title.casefold()):
        return None
    return name or site


def _without_publisher_suffix(title: str, publisher: str | None) -> str:
    """``title`` without a trailing ``" - Publisher"`` naming exactly this
    publisher (how Google News titles its items), so that rules and stories
    see the headline alone. A headline that merely ends in ``" - Something"``
    else, or that would be left empty, is kept whole."""
    if not publisher:
        return title
    suffix = _PUBLISHER_SEPARATOR + publisher
    # The tail compared is as long as the suffix, so that cutting it off cuts
    # exactly it (case folding can change a text's length: "ß" is "ss").
    if len(title) <= len(suffix) or title[-len(suffix) :].casefold() != suffix.casefold():
        return title
    return title[: -len(suffix)].rstrip() or title


def _source_url(source: Mapping[str, Any]) -> str:
    """The source's URL: RSS gives it as ``href``, Atom as its links."""
    url = _text(source.get("href")) or _text(source.get("link"))
    if not url:
        for link in source.get("links") or ():
            if isinstance(link, Mapping) and _text(link.get("href")):
                return _text(link.get("href"))
    return url.strip()


def _site(url: str | None) -> str | None:
    """A URL's host as a publisher's name: lower case, without ``www.``."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return fold_whitespace(host.removeprefix("www.")) or None


def _own_sites(*urls: object) -> frozenset[str]:
    """The sites of the feed itself (where it was asked for and served from,
    and the site it links to): a source there names no other publisher."""
    return frozenset(site for url in urls if (site := _site(_text(url))))


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
