"""The EU's Financial Sanctions Files (FSF): the consolidated list as XML, read as a stream,
and a source that asks the files' RSS feed for a checksum before downloading the list.

The list
--------
The document is an ``export`` whose ``generationDate`` attribute dates the
publication, holding one ``sanctionEntity`` per party. Of an entity this
reads (elements matched by local name, data in their attributes, anything
else ignored):

- ``sanctionEntity/@logicalId``: the key; ``@designationDate``: the listing date;
- ``regulation/@programme``: the programmes (the regime codes: ``RUS``,
  ``PRK``...); the earliest ``regulation/@publicationDate`` stands in for a
  missing designation date;
- ``subjectType/@code`` (``person``, ``enterprise``) or its
  ``@classificationCode`` (``P``, ``E``): the entity type;
- ``nameAlias`` (``@wholeName``, else ``@firstName``, ``@middleName``,
  ``@lastName``): the first one not marked ``strong="false"`` is the name,
  the others aliases;
- ``citizenship``, ``address``, ``birthdate`` and ``identification`` (the
  issuing country of a registration number or passport): their
  ``@countryIso2Code``, or ``@countryDescription`` when the code is one
  :func:`country_name` does not know (``00`` and ``UNKNOWN`` read as none);
- ``remark`` (element text): the remarks.

The default namespace is matched away, so any revision of the schema's
namespace reads the same. The whole file is some 25 MB: entries are built
one at a time and dropped from the tree once read.

The source
----------
The EU publishes an RSS feed of the files (the feed's ``probe_url``; the
monitor has not verified it from here) whose items carry each file's
checksum. The format this source assumes, RSS 2.0 with one ``item`` per
file::

    <rss version="2.0"><channel>
      <item>
        <title>Consolidated list (XML 1.1)</title>
        <link>https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=...</link>
        <description>Checksum (MD5): 5f0c...e1</description>   (or, instead:)
        <checksum algorithm="MD5">5f0c...e1</checksum>          (any namespace)
      </item>
      ...
    </channel></rss>

The list's item is the one whose ``link`` is the feed's URL, or else has
the same path (the host and the query's token may differ). The checksum is
an item child named ``checksum`` (any namespace), or else a run of 32 to
128 hex digits following the word "checksum" in the description; it is
compared case-insensitively, whatever algorithm made it. The same checksum
as the last read (remembered as ``checksum:<value>`` in the body hash) is
:class:`Unchanged` without downloading the list; a probe that fails in any
way falls back to the plain conditional download, with a warning (logged
here when the download is a 304, since :class:`Unchanged` carries none).
A document read that way remembers the body's digest, not a checksum, so
the first probe that works again costs one more download; a new checksum
whose download the server answers 304 leaves the old marker, and the next
probe asks again (a cheap 304).

The service answers slowly and in bursts of HTTP 500: a 5xx answer (to the
probe or the download) is asked again after a short pause, a few times.

Publicly documented URLs, not checked from this machine (no internet here):
the list ``https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=...``
and the feed ``https://webgate.ec.europa.eu/fsd/fsf/public/rss``.
"""

from __future__ import annotations

import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from typing import BinaryIO
from urllib.parse import urlsplit

from monitor.domain.countries import country_name
from monitor.domain.feed import Validators
from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError
from monitor.sources.base import ListDocument, Source, SourceRequest, Unchanged
from monitor.sources.http import FetchResult
from monitor.sources.list_source import (
    DownloadedList,
    ListFetcher,
    ListFormat,
    ParsedList,
    list_fetcher,
    read_after_probe,
)
from monitor.sources.list_xml import (
    Event,
    HeadThenRest,
    attribute,
    children,
    entry_elements,
    list_events,
    local_name,
    root_attribute,
    unique,
)
from monitor.sources.parts import SharedParts

log = logging.getLogger("monitor.lists")

ROOT_ELEMENT = "export"
ENTRY_ELEMENT = "sanctionEntity"
CHECKSUM_MARKER = "checksum:"
"""Prefix of the body hash this source hands back: the checksum the probe read."""

RETRY_PAUSES: tuple[float, ...] = (2.0, 5.0, 10.0)
"""Seconds to wait before each new attempt after a 5xx answer: one attempt
more than there are pauses in all."""
MAX_RETRY_AFTER = 30.0
"""A Retry-After longer than this is not waited out here: the poll honours it."""

_ENTITY_TYPES: dict[str, EntityType] = {
    "person": "individual",
    "p": "individual",
    "enterprise": "entity",
    "e": "entity",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
_COUNTRY_ELEMENTS = frozenset({"citizenship", "address", "birthdate", "identification"})
_NO_COUNTRY = frozenset({"", "00", "unknown"})
_STATUS = re.compile(r"^HTTP (\d{3})\b")
_DESCRIBED_CHECKSUM = re.compile(r"checksum\b.{0,40}?\b([0-9a-f]{32,128})\b", re.I | re.S)

_ENTRIES = frozenset({ENTRY_ELEMENT})
Pause = Callable[[float], None]


# --- the list --------------------------------------------------------------------


def parse_fsf(stream: BinaryIO, *, list_name: str, source: str, link: str | None) -> ParsedList:
    """Read the header of an FSF export ``stream`` and return its entries lazily.

    ``list_name`` and ``source`` are stamped on every entry; ``link`` too,
    with ``{key}`` in it replaced by the entry's logical id. Raises
    :class:`FeedError` (kind ``parse``) if the document is not XML or not an
    FSF export; entries raise it where the document turns out malformed.
    """
    events = _local_events(stream, list_name)
    generated = root_attribute(events, "generationDate")
    published = _date(generated[:10]) if generated else None
    entries = (
        _entry(element, list_name=list_name, source=source, link=link)
        for element in entry_elements(events, _ENTRIES)
    )
    return ParsedList(
        published=published, declared_count=None, entries=entries, publication=generated or None
    )


def _local_events(stream: BinaryIO, list_name: str) -> Iterator[Event]:
    """:func:`list_events` of the stream, once its start has shown it is XML at all."""
    head = stream.read(256)
    found = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not found:
        raise FeedError("parse", f"{list_name}: the document is empty, not an FSF export")
    if not found.startswith(b"<"):
        shown = found[:40].decode("utf-8", "replace")
        raise FeedError("parse", f"{list_name}: not XML, not an FSF export: it starts {shown!r}")
    yield from list_events(
        HeadThenRest(head, stream),
        list_name=list_name,
        root=ROOT_ELEMENT,
        entries=_ENTRIES,
        wrong_root=_wrong_root,
        xml_name="FSF XML",
    )


def _wrong_root(root: str) -> str:
    return f"not an FSF export: the document's root element is <{root}>, not <{ROOT_ELEMENT}>"


def _entry(element: ET.Element, *, list_name: str, source: str, link: str | None) -> ListingEntry:
    key = attribute(element, "logicalId")
    if not key:
        raise FeedError("parse", f"{list_name}: a <{ENTRY_ELEMENT}> has no logicalId")
    name, aliases = _names(element)
    regulations = list(children(element, "regulation"))
    return ListingEntry(
        list_name=list_name,
        source=source,
        key=key,
        name=name,
        aliases=aliases,
        entity_type=_entity_type(element),
        programs=unique(attribute(r, "programme") for r in regulations),
        countries=_countries(element),
        listed_on=_date(attribute(element, "designationDate")) or _first_published(regulations),
        remarks=" ".join(_text(remark) for remark in children(element, "remark")).strip(),
        link=link.replace("{key}", key) if link else None,
    )


def _names(element: ET.Element) -> tuple[str, tuple[str, ...]]:
    """The entity's name and its other names, each once: the first alias not
    marked weak names it (the EU lists the main name first)."""
    written: list[tuple[str, bool]] = []
    for alias in children(element, "nameAlias"):
        whole = attribute(alias, "wholeName") or " ".join(
            part
            for part in (attribute(alias, f) for f in ("firstName", "middleName", "lastName"))
            if part
        )
        if whole:
            written.append((whole, attribute(alias, "strong").casefold() != "false"))
    if not written:
        return "", ()
    name = next((whole for whole, strong in written if strong), written[0][0])
    return name, unique(whole for whole, _ in written if whole != name)


def _entity_type(element: ET.Element) -> EntityType:
    for subject in children(element, "subjectType"):
        for field in ("code", "classificationCode"):
            known = _ENTITY_TYPES.get(attribute(subject, field).casefold())
            if known is not None:
                return known
    # A subject type the EU adds later reads as an entity: one odd entry must
    # not stop every update.
    return "entity"


def _countries(element: ET.Element) -> tuple[str, ...]:
    found: list[str] = []
    for child in element:
        if child.tag not in _COUNTRY_ELEMENTS:
            continue
        code = attribute(child, "countryIso2Code").upper()
        described = attribute(child, "countryDescription")
        named_by_code = country_name(code) if code.casefold() not in _NO_COUNTRY else ""
        if named_by_code and named_by_code not in (code, code.title()):
            found.append(named_by_code)
        elif described.casefold() not in _NO_COUNTRY:
            found.append(country_name(described))
        elif named_by_code:
            found.append(code)  # a code nobody spelt out: better than nothing
    return unique(found)


def _first_published(regulations: list[ET.Element]) -> date | None:
    dates = [d for d in (_date(attribute(r, "publicationDate")) for r in regulations) if d]
    return min(dates) if dates else None


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


FORMAT = ListFormat(
    list_name="EU Financial Sanctions Files",
    publisher="EU",
    parse=parse_fsf,
    link="https://webgate.ec.europa.eu/fsd/fsf",
)


# --- the checksum feed -----------------------------------------------------------


def checksum_from_rss(body: bytes, list_url: str) -> str:
    """The checksum the files' RSS ``body`` gives for the file at ``list_url``
    (lower case); raises :class:`FeedError` (kind ``parse``) when it gives none."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - expat: no external entities, no bombs
    except ET.ParseError as error:
        raise FeedError("parse", f"the checksum feed is not XML: {error}") from error
    if local_name(root.tag) != "rss":
        raise FeedError("parse", f"the checksum feed is <{local_name(root.tag)}>, not RSS")
    items = [element for element in root.iter() if local_name(element.tag) == "item"]
    item = _item_for(items, list_url)
    if item is None:
        raise FeedError(
            "parse", f"none of the checksum feed's {len(items)} items links to the list"
        )
    for child in item:
        if local_name(child.tag) == "checksum" and _text(child):
            return _text(child).casefold()
    for child in item:
        if local_name(child.tag) == "description":
            match = _DESCRIBED_CHECKSUM.search("".join(child.itertext()))
            if match:
                return match.group(1).casefold()
    raise FeedError("parse", "the checksum feed's item for the list carries no checksum")


def _item_for(items: list[ET.Element], list_url: str) -> ET.Element | None:
    """The item linking to ``list_url`` itself, or else to its path on any host."""
    links = [(item, _child_text(item, "link")) for item in items]
    for item, link in links:
        if link == list_url:
            return item
    wanted = urlsplit(list_url).path.rstrip("/")
    for item, link in links:
        if wanted and urlsplit(link).path.rstrip("/") == wanted:
            return item
    return None


def _child_text(element: ET.Element, tag: str) -> str:
    """The whole text of the first child named ``tag`` in any namespace: the
    feed is read as one tree, its tags as written."""
    for child in element:
        if local_name(child.tag) == tag:
            return _text(child)
    return ""


# --- the source ------------------------------------------------------------------


class RetryingFetcher:
    """A fetcher that asks again, after a short pause, when the server
    answers 5xx; any other failure (4xx, timeout, bot wall) is raised at once."""

    def __init__(
        self,
        fetcher: ListFetcher,
        *,
        pause: Pause = time.sleep,
        pauses: tuple[float, ...] = RETRY_PAUSES,
    ) -> None:
        self._fetcher = fetcher
        self._pause = pause
        self._pauses = pauses

    def fetch(self, url: str, validators: Validators) -> FetchResult:
        """The fetcher's answer, asked up to once more per pause; raises its last FeedError."""
        return self._retrying(lambda: self._fetcher.fetch(url, validators))

    def download(self, url: str, validators: Validators, into: BinaryIO) -> FetchResult:
        """As :meth:`fetch`, the body written to ``into``; a retry starts it afresh."""
        start = into.tell()

        def attempt() -> FetchResult:
            into.seek(start)
            into.truncate()
            return self._fetcher.download(url, validators, into)

        return self._retrying(attempt)

    def _retrying(self, call: Callable[[], FetchResult]) -> FetchResult:
        for wait in self._pauses:
            try:
                return call()
            except FeedError as error:
                if not _is_server_error(error):
                    raise
                if error.retry_after is not None:
                    if error.retry_after > MAX_RETRY_AFTER:
                        raise
                    wait = max(wait, error.retry_after)
            self._pause(wait)
        return call()

    def close(self) -> None:
        """Close the fetcher it wraps."""
        self._fetcher.close()


def _is_server_error(error: FeedError) -> bool:
    # The fetcher says the status only in its message ("HTTP 500 ...").
    match = _STATUS.match(str(error))
    return error.kind == "http" and match is not None and match.group(1).startswith("5")


class EuFsfSource:
    """Reads the FSF list, asking the checksum feed first (see the module's docstring)."""

    def __init__(
        self, fetcher: ListFetcher, *, pause: Pause = time.sleep, list_format: ListFormat = FORMAT
    ) -> None:
        self._fetcher = RetryingFetcher(fetcher, pause=pause)
        self._list = DownloadedList(self._fetcher, list_format)

    def read(self, request: SourceRequest) -> Unchanged | ListDocument:
        """The list, checked whole; Unchanged when the feed's checksum (or the
        server, or the bytes) say it has not changed; raises FeedError."""
        if request.probe_url is None:
            return self._list.read(request)
        try:
            checksum = self._probe(request.probe_url, request.url)
        except FeedError as error:
            warning = (
                f"the checksum feed {request.redact(request.probe_url)} could not be used "
                f"({error}); the list was downloaded instead"
            )
            result = self._list.read(request)
            if isinstance(result, ListDocument):
                return replace(result, warning=warning)
            log.warning("%s: %s", request.feed, warning)  # Unchanged carries no warning
            return result
        # A SHA-256 checksum is checked against the bytes read; one of
        # another digest (the FSF does not say which) cannot be, and new
        # bytes are taken for the announced publication.
        return read_after_probe(
            self._list,
            request,
            CHECKSUM_MARKER + checksum,
            shows=lambda _found, digest: len(checksum) != 64 or checksum.lower() == digest,
        )

    def _probe(self, probe_url: str, list_url: str) -> str:
        answer = self._fetcher.fetch(probe_url, Validators())
        if answer.body is None:
            raise FeedError("parse", "the checksum feed answered 304 to an unconditional request")
        return checksum_from_rss(answer.body, list_url)

    def close(self) -> None:
        """Close this source's own HTTP client."""
        self._fetcher.close()


def build_source(parts: SharedParts) -> Source:
    """The FSF source, with its own HTTP client sized for the list."""
    return EuFsfSource(list_fetcher(parts.limits))
