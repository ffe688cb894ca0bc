"""The Federal Register source: the Federal Register API's JSON read into
Items, one per document, so that rules see rules and notices (an Entity
List addition, an OFAC sanctions notice) as they see news.

A feed's URL is one of two API endpoints, told apart by what each result
holds rather than by the URL:

- a documents search, ``/api/v1/documents.json?conditions[...]=...``:
  published documents, filtered by the API itself;
- public inspection, ``/api/v1/public-inspection-documents/current.json``:
  documents filed for publication, usually a day or two ahead of it. Each
  result has ``filed_at``, which published documents lack.

``current.json`` takes no conditions, so for public inspection the source
applies those of the feed's URL itself: ``conditions[agencies][]`` keeps
the documents of those agencies (by slug, as the documents search takes
them), and ``conditions[type][]`` those of those types (``RULE``,
``PRORULE``, ``NOTICE``, ``PRESDOCU``). A feed can then carry the same
conditions on either endpoint. Other conditions are not applied.

A document keeps one identity, ``federal-register:<document number>``,
from public inspection to publication: a feed reading both endpoints, or
two feeds each reading one, alert on it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from monitor.domain.item import Item
from monitor.errors import FeedError, NotAFeedError
from monitor.sources.base import Document, Source, SourceRequest, Unchanged
from monitor.sources.http import Fetcher
from monitor.text import canonical_link, fold_whitespace, html_to_text

API = "the Federal Register API"
IDENTITY_PREFIX = "federal-register:"
PUBLIC_INSPECTION_PREFIX = "Public inspection: "
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5000

TYPE_WORDS: Mapping[str, str] = {
    "RULE": "Rule",
    "PRORULE": "Proposed Rule",
    "NOTICE": "Notice",
    "PRESDOCU": "Presidential Document",
}
"""The API's document type codes (as conditions take them) and the words
its results give the types in."""

_AGENCY_CONDITION = re.compile(r"conditions\[agencies\]\[\d*\]")
_TYPE_CONDITION = re.compile(r"conditions\[type\]\[\d*\]")
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Conditions:
    """The conditions of a feed's URL that the source applies to public
    inspection documents; empty sets keep everything."""

    agencies: frozenset[str] = frozenset()
    """Agency slugs, e.g. ``industry-and-security-bureau``."""
    types: frozenset[str] = frozenset()
    """Document types in words, e.g. ``Rule``."""

    @classmethod
    def of_url(cls, url: str) -> Conditions:
        """The agency and type conditions in ``url``'s query string."""
        agencies: set[str] = set()
        types: set[str] = set()
        for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
            if _AGENCY_CONDITION.fullmatch(key):
                agencies.add(value.strip().lower())
            elif _TYPE_CONDITION.fullmatch(key):
                code = value.strip().upper()
                types.add(TYPE_WORDS.get(code, value.strip()))
        return cls(frozenset(agencies), frozenset(types))

    def keeps(self, agency_slugs: Iterable[str], type_words: str | None) -> bool:
        """Whether a document of these agencies and this type passes.

        A type the API is not known to give (none, or new) passes a type
        condition: a filing missed is worse than one too many.
        """
        if self.agencies and not self.agencies.intersection(agency_slugs):
            return False
        known_type = type_words in TYPE_WORDS.values()
        return not (self.types and known_type and type_words not in self.types)


@dataclass(frozen=True)
class FederalRegisterItems:
    """The items of one API response, in its order, and what was left out."""

    items: list[Item]
    filtered_out: int = 0
    """Public inspection documents the URL's conditions did not keep."""
    unreadable: int = 0
    """Results that were no document (not an object, or no document number)."""

    @property
    def warning(self) -> str | None:
        """A note for the log when results had to be skipped."""
        if not self.unreadable:
            return None
        return f"{self.unreadable} results from {API} had no document number and were skipped"


def decode_payload(body: bytes, content_type: str | None = None) -> object:
    """The JSON of a response body; raises FeedError (``not-a-feed`` for a
    body that is no JSON at all, ``parse`` for broken JSON)."""
    head = body[:4096].lstrip().lower()
    if not head:
        raise NotAFeedError(f"not {API}'s JSON: the response body is empty")
    looks_like_json = head.startswith((b"{", b"["))
    if not looks_like_json and (
        head.startswith((b"<!doctype html", b"<html")) or "text/html" in (content_type or "")
    ):
        match = _HTML_TITLE.search(body[:65536])
        title = fold_whitespace(match.group(1).decode("utf-8", "replace"))[:80] if match else ""
        shown = f" (page title: {title!r})" if title else ""
        raise NotAFeedError(f"not {API}'s JSON: the server returned an HTML page{shown}")
    if head.startswith(b"<"):
        raise NotAFeedError(
            f"not {API}'s JSON: the body is XML (an RSS feed is read with type 'rss')"
        )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise FeedError("parse", f"{API} sent unreadable JSON: {type(exc).__name__}") from exc
    except json.JSONDecodeError as exc:
        raise FeedError("parse", f"{API} sent broken JSON: {exc.msg} at {exc.pos}") from exc


def items_of(
    payload: object,
    *,
    feed: str,
    tags: tuple[str, ...] = (),
    conditions: Conditions = Conditions(),
) -> FederalRegisterItems:
    """The items of a decoded documents search or public inspection
    response, in the order given; raises FeedError when ``payload`` is not
    such a response. ``conditions`` filter public inspection documents only
    (the API has filtered a search already)."""
    results = _results(payload)
    items: list[Item] = []
    filtered_out = unreadable = 0
    for result in results:
        number = result.get("document_number") if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(number, str) or not number.strip():
            unreadable += 1
            continue
        document = _Document(result, number.strip())
        if document.at_public_inspection and not conditions.keeps(
            document.agency_slugs, document.type_words
        ):
            filtered_out += 1
            continue
        items.append(document.item(feed, tags))
    if results and unreadable == len(results):
        raise FeedError("parse", f"none of the {len(results)} results from {API} is a document")
    return FederalRegisterItems(items, filtered_out, unreadable)


def _results(payload: object) -> list[object]:
    if not isinstance(payload, dict):
        raise NotAFeedError(
            f"not {API}'s JSON: a {type(payload).__name__}, not an object with results"
        )
    results = payload.get("results")
    if results is None:
        if payload.get("count") == 0:  # a search matching nothing may leave results out
            return []
        errors = payload.get("errors")
        shown = f" (errors: {_shown(errors)})" if errors else ""
        raise NotAFeedError(f"not {API}'s JSON: an object without results{shown}")
    if not isinstance(results, list):
        raise FeedError("parse", f"{API} sent results that are not a list")
    return results


@dataclass(frozen=True)
class _Agency:
    name: str
    slug: str


class _Document:
    """One result of either endpoint, read field by field."""

    def __init__(self, fields: dict[str, object], number: str) -> None:
        self.fields = fields
        self.number = number
        self.agencies = list(_agencies(fields.get("agencies")))

    @property
    def at_public_inspection(self) -> bool:
        return "filed_at" in self.fields or "filing_type" in self.fields

    @property
    def agency_slugs(self) -> list[str]:
        return [agency.slug for agency in self.agencies]

    @property
    def type_words(self) -> str | None:
        given = self._text("type")
        return TYPE_WORDS.get(given.upper(), given) if given else None

    def item(self, feed: str, tags: tuple[str, ...]) -> Item:
        if self.at_public_inspection:
            title = PUBLIC_INSPECTION_PREFIX + (self._text("title") or self._made_up_title())
            lead = self._filing()
            published = _aware_time(self.fields.get("filed_at"))
        else:
            title = self._text("title") or self._made_up_title()
            lead = self._text("abstract") or html_to_text(
                _string(self.fields.get("excerpts")), MAX_SUMMARY_CHARS
            )
            published = _day(self.fields.get("publication_date"))
        return Item(
            feed=feed,
            feed_tags=tags,
            identity=IDENTITY_PREFIX + self.number,
            guid=self.number,
            title=_cap(title, MAX_TITLE_CHARS),
            summary=_cap(
                " ".join(part for part in (lead, self._about()) if part), MAX_SUMMARY_CHARS
            ),
            link=_web_link(self.fields.get("html_url")) or _web_link(self.fields.get("pdf_url")),
            published=published,
            updated=None,
        )

    def _made_up_title(self) -> str:
        """A title for a filing listed without one: agency, type and subjects."""
        agencies = ", ".join(agency.name for agency in self.agencies) or "Federal Register"
        kind = (self.type_words or "document").lower()
        subjects = [self._text(f"subject_{n}") for n in (1, 2, 3)]
        about = "; ".join(subject for subject in subjects if subject) or self.number
        return f"{agencies} {kind}: {about}"

    def _filing(self) -> str:
        sentences = []
        if self._text("filing_type").lower() == "special":
            sentences.append("Special filing.")
        filed = _aware_time(self.fields.get("filed_at"), in_utc=False)
        scheduled = _day(self.fields.get("publication_date"))
        if filed and scheduled:
            sentences.append(f"Filed {_shown_time(filed)}; to be published {scheduled:%Y-%m-%d}.")
        elif filed:
            sentences.append(f"Filed {_shown_time(filed)}.")
        elif scheduled:
            sentences.append(f"To be published {scheduled:%Y-%m-%d}.")
        return " ".join(sentences)

    def _about(self) -> str:
        """The agencies and type in words, for rules to match on."""
        sentences = []
        if self.agencies:
            label = "Agency" if len(self.agencies) == 1 else "Agencies"
            sentences.append(f"{label}: {'; '.join(a.name for a in self.agencies)}.")
        if self.type_words:
            sentences.append(f"Type: {self.type_words}.")
        return " ".join(sentences)

    def _text(self, key: str) -> str:
        return fold_whitespace(_string(self.fields.get(key)))


def _agencies(value: object) -> Iterable[_Agency]:
    """The named agencies of a result; an agency missing from the API's
    directory has only its ``raw_name``, and a slug made as the API makes them."""
    for agency in value if isinstance(value, list) else ():
        if not isinstance(agency, dict):
            continue
        name = fold_whitespace(_string(agency.get("name")) or _string(agency.get("raw_name")))
        if not name:
            continue
        slug = _string(agency.get("slug")).strip().lower()
        yield _Agency(name, slug or _NOT_SLUG.sub("-", name.lower()).strip("-"))


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _shown(value: object) -> str:
    text = fold_whitespace(json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= 200 else text[:199] + "…"


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _day(value: object) -> datetime | None:
    """A publication date as midnight UTC of that day: the API gives the
    day only."""
    try:
        day = date.fromisoformat(_string(value).strip())
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _aware_time(value: object, *, in_utc: bool = True) -> datetime | None:
    """A filing time with its offset (in UTC unless asked otherwise); one
    without an offset is unknown rather than guessed."""
    try:
        moment = datetime.fromisoformat(_string(value).strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC) if in_utc else moment


def _shown_time(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} UTC{offset[:3]}:{offset[3:]}"


def _web_link(value: object) -> str | None:
    link = _string(value).strip()
    if urlsplit(link).scheme.lower() not in ("http", "https"):
        return None
    return canonical_link(link)


class FederalRegisterSource:
    """Reads Federal Register API feeds with the monitor's shared fetcher
    (which the monitor closes). Keeps nothing between reads: JSON is
    cheap to read again."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def read(self, request: SourceRequest) -> Unchanged | Document:
        """Fetch (conditionally) and read the API's response; raises FeedError."""
        result = self.fetcher.fetch(request.url, request.validators)
        if result.body is None:
            return Unchanged("HTTP 304", result.max_age)
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == request.last_body_hash:  # a server ignoring validators
            return Unchanged("same body", result.max_age)
        read = items_of(
            decode_payload(result.body, result.headers.get("content-type")),
            feed=request.feed,
            tags=request.tags,
            conditions=Conditions.of_url(request.url),
        )
        return Document.of_items(
            read.items,
            validators=result.validators,
            body_hash=body_hash,
            warning=read.warning,
            asked_wait=result.max_age,
        )

    def close(self) -> None:
        """Nothing of its own to let go of."""


class FetcherParts(Protocol):
    """What the source takes of the registry's SharedParts. Named
    structurally: the registry imports this module, so this module does not
    import the registry."""

    @property
    def fetcher(self) -> Fetcher: ...


def build_source(parts: FetcherParts) -> Source:
    """The registry's factory: a source over the shared fetcher."""
    return FederalRegisterSource(parts.fetcher)
