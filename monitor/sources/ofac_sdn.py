"""OFAC's classic SDN XML (the SDN list and the consolidated non-SDN list), read as a stream.

The document is an ``sdnList`` holding a ``publshInformation`` header (sic:
OFAC's spelling) with ``Publish_Date`` (``MM/DD/YYYY``) and ``Record_Count``,
then one ``sdnEntry`` per party: ``uid``, ``firstName``, ``lastName``,
``sdnType``, ``remarks``, and lists of ``program``, ``aka``, ``address``,
``nationality``, ``citizenship`` and ``id`` elements, and ``vesselInfo`` for
vessels. Every element sits in one default namespace whose URI OFAC has
changed before, so elements are matched by local name only.

The full SDN file is tens of megabytes: entries are built one at a time and
each is dropped from the tree once read, so memory holds one entry, not the
document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError

ROOT_ELEMENT = "sdnList"
ENTRY_ELEMENT = "sdnEntry"

_ENTITY_TYPES: dict[str, EntityType] = {
    "entity": "entity",
    "individual": "individual",
    "vessel": "vessel",
    "aircraft": "aircraft",
}

_Event = tuple[str, ET.Element]


@dataclass(frozen=True)
class SdnDocument:
    """One SDN-format document: its header, and its entries as a one-pass stream.

    ``entries`` parses as it is consumed, so a malformed or truncated document
    raises :class:`FeedError` (kind ``parse``) while it is iterated, possibly
    after some entries: a caller must consume it whole before trusting any of
    it. ``declared_count`` is the header's ``Record_Count``, for the caller to
    compare with what it read.
    """

    published: date | None
    declared_count: int | None
    entries: Iterator[ListingEntry]


def parse_sdn(stream: BinaryIO, *, list_name: str, source: str, link: str | None) -> SdnDocument:
    """Read the header of an SDN-format ``stream`` and return its entries lazily.

    ``list_name`` and ``source`` are stamped on every entry; ``link`` too, with
    ``{key}`` in it replaced by the entry's uid (a per-entry page), if present.
    Raises :class:`FeedError` (kind ``parse``) if the document is not
    well-formed XML or not an ``sdnList``.
    """
    events = _local_events(stream, list_name)
    published, declared_count = _read_header(events, list_name)
    entries = _read_entries(events, list_name=list_name, source=source, link=link)
    return SdnDocument(published=published, declared_count=declared_count, entries=entries)


def _local_events(stream: BinaryIO, list_name: str) -> Iterator[_Event]:
    """Start and end events with namespaces stripped from tags, each entry
    dropped from the tree after its end event has been handled, and the XML
    library's errors translated into :class:`FeedError`."""
    # ElementTree never fetches external entities, and expat (2.4 and later,
    # as bundled with Python 3.11) refuses entity-expansion bombs, so an
    # untrusted download cannot reach the network or blow up memory here.
    parser = ET.iterparse(stream, events=("start", "end"))  # noqa: S314 - see above
    root: ET.Element | None = None
    try:
        for event, element in parser:
            element.tag = _local(element.tag)
            if root is None:
                root = element
                if element.tag != ROOT_ELEMENT:
                    raise FeedError(
                        "parse",
                        f"{list_name}: not an SDN list: the document's root element is "
                        f"<{element.tag}>, not <{ROOT_ELEMENT}>",
                    )
            yield event, element
            if event == "end" and element.tag == ENTRY_ELEMENT:
                # The entry has been read: dropping the root's children keeps
                # memory to one entry however long the list is.
                root.clear()
    except ET.ParseError as error:
        line, column = error.position
        raise FeedError(
            "parse",
            f"{list_name}: malformed or truncated SDN XML at line {line}, column {column}: {error}",
        ) from error


def _read_header(events: Iterator[_Event], list_name: str) -> tuple[date | None, int | None]:
    """Consume events up to the first entry (or the end), keeping the header's
    publication date and record count."""
    published: date | None = None
    declared_count: int | None = None
    for event, element in events:
        if event == "start" and element.tag == ENTRY_ELEMENT:
            break
        if event != "end":
            continue
        if element.tag == "Publish_Date":
            published = _publish_date(_text_of(element))
        elif element.tag == "Record_Count":
            declared_count = _record_count(_text_of(element), list_name)
    return published, declared_count


def _read_entries(
    events: Iterator[_Event], *, list_name: str, source: str, link: str | None
) -> Iterator[ListingEntry]:
    for event, element in events:
        if event == "end" and element.tag == ENTRY_ELEMENT:
            yield _entry(element, list_name=list_name, source=source, link=link)


def _entry(element: ET.Element, *, list_name: str, source: str, link: str | None) -> ListingEntry:
    key = _child_text(element, "uid")
    if not key:
        raise FeedError("parse", f"{list_name}: an <{ENTRY_ELEMENT}> has no <uid>")
    name = _person_name(element)
    aliases: list[str] = []
    for aka in _grandchildren(element, "akaList", "aka"):
        alias = _person_name(aka)
        if alias and alias != name and alias not in aliases:
            aliases.append(alias)
    return ListingEntry(
        list_name=list_name,
        source=source,
        key=key,
        name=name,
        aliases=tuple(aliases),
        entity_type=_entity_type(_child_text(element, "sdnType")),
        programs=_unique(_text_of(p) for p in _grandchildren(element, "programList", "program")),
        countries=_countries(element),
        # The classic format carries no listing date; the publication that
        # first shows an entry is the caller's to stamp.
        listed_on=None,
        remarks=_child_text(element, "remarks"),
        link=link.replace("{key}", key) if link else None,
    )


def _countries(element: ET.Element) -> tuple[str, ...]:
    """Every country the entry names: addresses, nationalities, citizenships,
    the countries that issued its ids (registration numbers give the place of
    registration), and a vessel's flag."""
    found: list[str] = []
    for holder, item, field in (
        ("addressList", "address", "country"),
        ("nationalityList", "nationality", "country"),
        ("citizenshipList", "citizenship", "country"),
        ("idList", "id", "idCountry"),
    ):
        found.extend(_child_text(child, field) for child in _grandchildren(element, holder, item))
    found.extend(_child_text(info, "vesselFlag") for info in _children(element, "vesselInfo"))
    return _unique(found)


def _person_name(element: ET.Element) -> str:
    """OFAC's own way of writing a name: ``LAST, First`` for a person, the
    whole name (kept in ``lastName``) for anything else."""
    last = _child_text(element, "lastName")
    first = _child_text(element, "firstName")
    if last and first:
        return f"{last}, {first}"
    return last or first


def _entity_type(sdn_type: str) -> EntityType:
    # A type OFAC adds later reads as an entity rather than failing the whole
    # list: one odd entry must not stop every update.
    return _ENTITY_TYPES.get(sdn_type.casefold(), "entity")


def _publish_date(text: str) -> date | None:
    for layout in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def _record_count(text: str, list_name: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FeedError(
            "parse", f"{list_name}: the header's Record_Count {text!r} is not a number"
        ) from None


def _local(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2]


def _children(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    return (child for child in element if child.tag == tag)


def _grandchildren(element: ET.Element, holder: str, tag: str) -> Iterator[ET.Element]:
    for child in _children(element, holder):
        yield from _children(child, tag)


def _child_text(element: ET.Element, tag: str) -> str:
    for child in _children(element, tag):
        return _text_of(child)
    return ""


def _text_of(element: ET.Element) -> str:
    return " ".join((element.text or "").split())


def _unique(values: Iterator[str] | list[str]) -> tuple[str, ...]:
    """The non-empty values, each once, in the order first met."""
    return tuple(dict.fromkeys(value for value in values if value))
