"""The normalised feed item and the pure helpers that build one.

Everything here is pure: text in, text out. HTML is stripped here, once, so
that no markup from a feed ever reaches matching or Slack.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.domain.item import fingerprint

# --- text -----------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})
_CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS or tag == "img":
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS or tag == "img":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def fold_whitespace(text: str) -> str:
    """Remove control and bidi-override characters and fold runs of white space.

    Control characters are dropped because feed text ends up on terminals
    and in Slack, where they can forge or hide content.
    """
    # str.split() splits at exactly what r"\s" matches (str.isspace), and
    # folds the runs for less than re.sub would.
    return " ".join(_CONTROL_CHARS.sub("", text).split())


HTML_CHUNK_CHARS = 16 * 1024

# Markup of the plainest kind, which most feed HTML is: tags with well-formed
# attributes and comments without dashes or brackets inside. For it, text
# between tags unescaped, and a space for block tags, is exactly what
# HTMLParser gives, for much less work; anything else (a bare "<",
# declarations, elements whose content HTMLParser treats as raw text, and
# those we skip) goes to HTMLParser. A test checks the two agree on the
# corpora and on generated markup.
_TAG_NAME = r"[a-zA-Z][-.a-zA-Z0-9:_]*"
_ATTRIBUTE = r"""\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?"""
_SIMPLE_MARKUP = re.compile(
    rf"<(?:({_TAG_NAME})(?:{_ATTRIBUTE})*\s*/?|/({_TAG_NAME})\s*|!--(?:[^<>-]|-(?!-))*--)>"
)
_SPACE_AT_START = _BLOCK_TAGS | {"img"}
# Elements whose content some Python versions' HTMLParser reads as raw text.
_RAW_TEXT_TAGS = frozenset({"iframe", "noembed", "noframes", "plaintext", "textarea", "xmp"})
_NOT_SIMPLE_TAGS = _SKIPPED_TAGS | _RAW_TEXT_TAGS


def _simple_html_text(markup: str, limit: int | None) -> str | None:
    """What :func:`html_to_text` gives for plain markup, or None if the
    markup is not of the plainest kind."""
    if limit is not None:
        # Text comes from the markup in order, so the text of the markup up
        # to a "<" starts the text of the whole: a long article is read only
        # as far as the caller keeps.
        end = max(4 * limit, 4096)
        while (cut := markup.find("<", end)) > 0:
            head = _plain_markup_text(markup[:cut])
            if head is None or len(head) > limit:
                return head
            end = 2 * cut
    return _plain_markup_text(markup)


def _plain_markup_text(markup: str) -> str | None:
    pieces = _SIMPLE_MARKUP.split(markup)
    parts: list[str] = []
    for at in range(0, len(pieces), 3):
        text = pieces[at]
        if "<" in text:
            return None
        if text:
            parts.append(unescape(text) if "&" in text else text)
        if at + 1 == len(pieces):
            break
        start, end = pieces[at + 1], pieces[at + 2]
        if start is not None:
            name = start.lower()
            if name in _NOT_SIMPLE_TAGS:
                # An empty embed (<iframe src=...></iframe>) reads alike in every version.
                follows = pieces[at + 5] if at + 5 < len(pieces) else None
                if not (
                    name == "iframe" and not pieces[at + 3] and (follows or "").lower() == name
                ):
                    return None
            elif name in _SPACE_AT_START:
                parts.append(" ")
        elif end is not None:
            name = end.lower()
            if name in _NOT_SIMPLE_TAGS and name != "iframe":
                return None
            if name in _BLOCK_TAGS:
                parts.append(" ")
    return fold_whitespace("".join(parts))


def html_to_text(markup: str, limit: int | None = None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, space folded.

    With ``limit``, the result may stop once it is longer than ``limit``
    characters: a caller that keeps only that much is spared parsing the
    rest of a whole article embedded in a description. Its first ``limit``
    characters are those of the full text.
    """
    if "<" not in markup and "&" not in markup:
        return fold_whitespace(markup)
    simple = _simple_html_text(markup, limit)
    if simple is not None:
        return simple
    extractor = _TextExtractor()
    try:
        for start in range(0, len(markup), HTML_CHUNK_CHARS):
            extractor.feed(markup[start : start + HTML_CHUNK_CHARS])
            if limit is not None and sum(map(len, extractor.parts)) > limit:
                text = fold_whitespace("".join(extractor.parts))
                if len(text) > limit:
                    return text
        extractor.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser is lenient
        return fold_whitespace(markup)
    return fold_whitespace("".join(extractor.parts))


def plain_text(value: str, content_type: str | None, limit: int | None = None) -> str:
    """Text of a feed field; only fields typed as (X)HTML are parsed as markup.

    A plain-text title such as "Profits<losses" must not lose its "<losses".
    ``limit`` as for :func:`html_to_text`.
    """
    if content_type and ("html" in content_type or "xml" in content_type):
        return html_to_text(value, limit)
    return fold_whitespace(value)


# --- links and identity ---------------------------------------------------

_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|at_medium|at_campaign|ocid|cmpid)$", re.I
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_link(link: str) -> str:
    """A stable form of a URL: lower-case scheme and host, no default port,
    no tracking parameters. Non-HTTP links are only trimmed.

    The fragment is kept: live blogs tell their posts apart by it
    (``/live#post-2``). Control characters are removed because links are
    printed on terminals and sent to Slack.
    """
    link = _CONTROL_CHARS.sub("", link).strip().replace(" ", "%20")
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return link
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return link
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, parts.fragment))


def item_identity(
    feed_url: str, guid: str | None, link: str | None, title: str, summary: str
) -> str:
    """The layered identity: guid, else canonical link, else content fingerprint.

    A guid that is not a URI (``"12345"``) is only unique within its feed, so it
    is qualified with the feed URL; URI-like guids are global and let the same
    story carried by two feeds be recognised as one item.
    """
    if guid:
        return "guid:" + (guid if ":" in guid else f"{feed_url}#{guid}")
    if link:
        return "link:" + link
    return "fp:" + fingerprint(title, summary)


# --- dates ----------------------------------------------------------------

# Zone names feedparser does not know and silently reads as UTC (it knows the
# US zones, UT/GMT/Z and MET/MEST). Ambiguous names (IST, CST for China) are
# deliberately absent: a wrong guess is worse than feedparser's UTC.
_EXTRA_ZONES = {
    "kst": "+0900", "jst": "+0900", "hkt": "+0800", "sgt": "+0800", "awst": "+0800",
    "msk": "+0300", "eet": "+0200", "eest": "+0300", "cet": "+0100", "cest": "+0200",
    "wet": "+0000", "west": "+0100", "bst": "+0100", "aest": "+1000", "aedt": "+1100",
}  # fmt: skip
# A zone name ending the date and not preceded by a numeric offset
# ("09:00 +0900 KST" is already right).
_TRAILING_ZONE = re.compile(r"(?<![A-Za-z])([A-Za-z]{3,4})\s*$")
_NUMERIC_OFFSET = re.compile(r"[+-]\d\d:?\d\d\s*$|Z\s*$")


def utc_datetime(parsed: tuple[int, ...] | None, raw: str | None) -> datetime | None:
    """A timezone-aware UTC datetime from feedparser's parsed tuple and the raw text.

    Where the raw text ends in a zone name feedparser does not know (it reads
    ``KST`` silently as UTC, a nine-hour error), the date is parsed again
    with the name replaced by its offset, rather than corrected afterwards:
    some of feedparser's date parsers do know a zone, and a correction on top
    would be wrong twice.
    """
    if raw:
        corrected = _reparse_with_offset(raw.strip())
        if corrected is not None:
            return corrected
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _reparse_with_offset(raw: str) -> datetime | None:
    zone = _TRAILING_ZONE.search(raw)
    if not zone or zone.group(1).lower() not in _EXTRA_ZONES:
        return None
    head = raw[: zone.start()].strip()
    if _NUMERIC_OFFSET.search(head):
        return None
    text = f"{head} {_EXTRA_ZONES[zone.group(1).lower()]}"
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            value = datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            return None
    return value.astimezone(UTC) if value.tzinfo else None


# --- matching text --------------------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")
COMBINING_MARKS_BELOW = 0x20000
"""No code point from here up has a combining class (Unicode 14 ends at U+1E94A);
a test checks this against the running Python's Unicode database."""


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


_COMBINING_MARKS_LOCK = threading.Lock()
_combining_mark_classes: tuple[re.Pattern[str], re.Pattern[str]] | None = None


def _combining_marks() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # Built on first use, once: poll threads meet their first accent together.
    global _combining_mark_classes
    if _combining_mark_classes is None:
        with _COMBINING_MARKS_LOCK:
            if _combining_mark_classes is None:
                _combining_mark_classes = _build_combining_marks()
    return _combining_mark_classes


def _build_combining_marks() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Every character with a non-zero combining class, as two character
    classes: those in the Basic Multilingual Plane and those above it.

    Removing them with a regular expression is far cheaper than asking
    unicodedata about each character, and many items of real feeds hold
    some non-ASCII text. The classes are split because re tests a class of
    BMP characters with a bitmap, and one reaching above it with a list of
    ranges, which is much slower: most text then pays only for the bitmap.
    """
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for code in range(COMBINING_MARKS_BELOW + 1):
        if code < COMBINING_MARKS_BELOW and unicodedata.combining(chr(code)):
            start = code if start is None else start
        elif start is not None:
            ranges.append((start, code - 1))
            start = None

    def character_class(spans: list[tuple[int, int]]) -> re.Pattern[str]:
        body = "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in spans)
        return re.compile(f"[{body}]+")

    return (
        character_class([span for span in ranges if span[1] < 0x10000]),
        character_class([span for span in ranges if span[1] >= 0x10000]),
    )


def fold_letters(text: str) -> str:
    """Lower-case and accent-free, punctuation and spacing left as they are:
    the part of :func:`fold_for_matching` that works character by character,
    so that text folded as a whole folds as its pieces do."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    basic_marks, astral_marks = _combining_marks()
    folded = basic_marks.sub("", unicodedata.normalize("NFKD", folded))
    if _ASTRAL.search(folded):
        folded = astral_marks.sub("", folded)
    return folded.replace("đ", "d")


def fold_for_matching(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text with single spaces.

    "North-Korean" and "north korean", "Đà Nẵng" and "da nang" fold alike,
    so terms match whole words regardless of punctuation and diacritics.
    """
    return _NON_WORD.sub(" ", fold_letters(text)).strip()
