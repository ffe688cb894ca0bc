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
document (the streaming is :mod:`monitor.sources.list_xml`'s).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO

from monitor.domain.countries import country_name
from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError
from monitor.sources.list_source import ParsedList
from monitor.sources.list_xml import (
    Event,
    child_text,
    children,
    entry_elements,
    grandchildren,
    list_events,
    text_of,
    unique,
)

ROOT_ELEMENT = "sdnList"
ENTRY_ELEMENT = "sdnEntry"

_ENTITY_TYPES: dict[str, EntityType] = {
    "entity": "entity",
    "individual": "individual",
    "vessel": "vessel",
    "aircraft": "aircraft",
}

_ENTRIES = frozenset({ENTRY_ELEMENT})


def parse_sdn(stream: BinaryIO, *, list_name: str, source: str, link: str | None) -> ParsedList:
    """Read the header of an SDN-format ``stream`` and return its entries lazily.

    ``list_name`` and ``source`` are stamped on every entry; ``link`` too, with
    ``{key}`` in it replaced by the entry's uid (a per-entry page), if present.
    Raises :class:`FeedError` (kind ``parse``) if the document is not
    well-formed XML or not an ``sdnList``.
    """
    events = list_events(
        stream,
        list_name=list_name,
        root=ROOT_ELEMENT,
        entries=_ENTRIES,
        wrong_root=_wrong_root,
        xml_name="SDN XML",
    )
    published, declared_count = _read_header(events, list_name)
    entries = (
        _entry(element, list_name=list_name, source=source, link=link)
        for element in entry_elements(events, _ENTRIES)
    )
    return ParsedList(published=published, declared_count=declared_count, entries=entries)


def _read_header(events: Iterator[Event], list_name: str) -> tuple[date | None, int | None]:
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
            published = _publish_date(text_of(element))
        elif element.tag == "Record_Count":
            declared_count = _record_count(text_of(element), list_name)
    return published, declared_count


def _entry(element: ET.Element, *, list_name: str, source: str, link: str | None) -> ListingEntry:
    key = child_text(element, "uid")
    if not key:
        raise FeedError("parse", f"{list_name}: an <{ENTRY_ELEMENT}> has no <uid>")
    name = _person_name(element)
    aliases: list[str] = []
    for aka in grandchildren(element, "akaList", "aka"):
        alias = _person_name(aka)
        if alias and alias != name and alias not in aliases:
            aliases.append(alias)
    return ListingEntry(
        list_name=list_name,
        source=source,
        key=key,
        name=name,
        aliases=tuple(aliases),
        entity_type=_entity_type(child_text(element, "sdnType")),
        programs=unique(text_of(p) for p in grandchildren(element, "programList", "program")),
        countries=_countries(element),
        # The classic format carries no listing date; the publication that
        # first shows an entry is the caller's to stamp.
        listed_on=None,
        remarks=child_text(element, "remarks"),
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
        found.extend(child_text(child, field) for child in grandchildren(element, holder, item))
    found.extend(child_text(info, "vesselFlag") for info in children(element, "vesselInfo"))
    return unique(country_name(country) for country in found)


def _person_name(element: ET.Element) -> str:
    """OFAC's own way of writing a name: ``LAST, First`` for a person, the
    whole name (kept in ``lastName``) for anything else."""
    last = child_text(element, "lastName")
    first = child_text(element, "firstName")
    if last and first:
        return f"{last}, {first}"
    return last or first


def _entity_type(sdn_type: str) -> EntityType:
    # A type OFAC adds later reads as an entity rather than failing the whole
    # list: one odd entry must not stop every update.
    return _ENTITY_TYPES.get(sdn_type.casefold(), "entity")


def _wrong_root(root: str) -> str:
    return f"not an SDN list: the document's root element is <{root}>, not <{ROOT_ELEMENT}>"


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
