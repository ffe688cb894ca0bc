"""The FCDO's UK Sanctions List XML (the UK's one official list since January 2026), read as a stream.

Written from the FCDO's published format as we know it, not checked against
a live download (this was built without internet access). The documented
download is :data:`DOCUMENTED_URL`, linked from :data:`LIST_PAGE`; both are
unverified here, and a feed names its own URL in config.toml anyway.

The document is a ``Designations`` root holding a ``DateGenerated`` header
(``DD/MM/YYYY``, or ISO 8601 with or without a time), then one
``Designation`` per listed party. Of each designation this parser reads:

- ``UniqueID``: the key (``RUS0001``, ``CYB0012``...);
- ``Names/Name``: ``Name1`` to ``Name5`` (given and middle names) and
  ``Name6`` (the family name, or the whole name of an entity or ship), with
  ``NameType``: the ``Primary Name`` is the entry's name, written given names
  first; every other name (``Primary Name Variation``, ``Alias``) an alias;
- every ``NameNonLatinScript`` (under ``NonLatinNames``): aliases too;
- every ``RegimeName``: the programmes;
- ``IndividualEntityShip``: ``Individual``, ``Entity`` or ``Ship``;
- every ``AddressCountry`` (addresses), ``Nationality`` (individuals) and
  ``CurrentBelievedFlagOfShip`` (ships), wherever they sit in the
  designation: the countries;
- ``DateDesignated`` (``DD/MM/YYYY`` or ISO 8601): the listing date;
- ``OtherInformation``: the remarks.

Elements are matched by local name (a namespace the FCDO adds later changes
nothing) and every other element (``LastUpdated``, ``SanctionsImposed``,
``UKStatementofReasons``, ``IndividualDetails`` beyond nationalities,
``ShipDetails`` beyond flags, and whatever the FCDO adds) is skipped. The
list carries no entry count. Each designation is dropped from the tree once
read, so memory holds one designation, not the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO

from monitor.domain.countries import country_name
from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError
from monitor.sources.base import Source
from monitor.sources.list_source import ListFormat, ParsedList, PlainListSource, list_fetcher
from monitor.sources.list_xml import (
    Event,
    child_text,
    entry_elements,
    grandchildren,
    iso_moment,
    shortened,
    sniffed_list_events,
    text_of,
    unique,
)
from monitor.sources.parts import SharedParts

DOCUMENTED_URL = "https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.xml"
"""Where the FCDO documents the XML download (unverified: built offline)."""
LIST_PAGE = "https://www.gov.uk/government/publications/the-uk-sanctions-list"
"""The FCDO's page about the list, for alerts."""

ROOT_ELEMENT = "Designations"
ENTRY_ELEMENT = "Designation"
REMARKS_MAX_CHARS = 500
"""Remarks ride in every alert about an entry; the FCDO's run to paragraphs."""

_ENTITY_TYPES: dict[str, EntityType] = {
    "individual": "individual",
    "entity": "entity",
    "ship": "vessel",
}
_COUNTRY_ELEMENTS = frozenset({"AddressCountry", "Nationality", "CurrentBelievedFlagOfShip"})
_GIVEN_NAME_ELEMENTS = ("Name1", "Name2", "Name3", "Name4", "Name5")
_FAMILY_NAME_ELEMENT = "Name6"
_PRIMARY_NAME_TYPE = "primary name"

_ENTRIES = frozenset({ENTRY_ELEMENT})


def parse_uk_sanctions(
    stream: BinaryIO, *, list_name: str, source: str, link: str | None
) -> ParsedList:
    """Read the header of a UK Sanctions List ``stream`` and return its entries lazily.

    ``list_name`` and ``source`` are stamped on every entry; ``link`` too,
    with ``{key}`` in it replaced by the entry's unique id, if present.
    Raises :class:`FeedError` (kind ``parse``) if the body is not
    well-formed XML or not a ``Designations`` document; the entries raise it
    where the document turns out malformed or truncated.
    """
    events = sniffed_list_events(
        stream,
        list_name=list_name,
        root=ROOT_ELEMENT,
        entries=_ENTRIES,
        document="a UK Sanctions List document",
    )
    generated = _read_header(events)
    published, publication = _generation(generated)
    entries = (
        _entry(designation, list_name=list_name, source=source, link=link)
        for designation in entry_elements(events, _ENTRIES)
    )
    return ParsedList(
        published=published, declared_count=None, entries=entries, publication=publication
    )


FORMAT = ListFormat(
    list_name="UK Sanctions List",
    publisher="FCDO",
    parse=parse_uk_sanctions,
    link=LIST_PAGE,
)


def build_source(parts: SharedParts) -> Source:
    """The ``uk-sanctions-list`` source: downloads the list whole with its own HTTP client."""
    return PlainListSource(list_fetcher(parts.limits), FORMAT)


# --- the header -------------------------------------------------------------------


def _read_header(events: Iterator[Event]) -> str:
    """Consume events up to the first designation (or the end), keeping the
    text of ``DateGenerated``."""
    generated = ""
    for event, element in events:
        if event == "start" and element.tag == ENTRY_ELEMENT:
            break
        if event == "end" and element.tag == "DateGenerated":
            generated = text_of(element)
    return generated


# --- one designation --------------------------------------------------------------


def _entry(
    designation: ET.Element, *, list_name: str, source: str, link: str | None
) -> ListingEntry:
    key = child_text(designation, "UniqueID")
    if not key:
        raise FeedError("parse", f"{list_name}: a <{ENTRY_ELEMENT}> has no <UniqueID>")
    name, other_names = _names(designation)
    non_latin = (text_of(found) for found in _descendants(designation, "NameNonLatinScript"))
    return ListingEntry(
        list_name=list_name,
        source=source,
        key=key,
        name=name,
        aliases=tuple(alias for alias in unique([*other_names, *non_latin]) if alias != name),
        # A kind the FCDO adds later reads as an entity rather than failing
        # the whole list: one odd designation must not stop every update.
        entity_type=_ENTITY_TYPES.get(
            child_text(designation, "IndividualEntityShip").casefold(), "entity"
        ),
        programs=unique(text_of(found) for found in _descendants(designation, "RegimeName")),
        countries=unique(
            country_name(text_of(found))
            for found in designation.iter()
            if found.tag in _COUNTRY_ELEMENTS and len(found) == 0
        ),
        listed_on=_date(child_text(designation, "DateDesignated")),
        remarks=shortened(child_text(designation, "OtherInformation"), REMARKS_MAX_CHARS),
        link=link.replace("{key}", key) if link else None,
    )


def _names(designation: ET.Element) -> tuple[str, list[str]]:
    """The primary name, and every other name in the order written.

    A designation without a name marked primary takes its first name.
    """
    primary = ""
    others: list[str] = []
    for name_element in grandchildren(designation, "Names", "Name"):
        written = _written_name(name_element)
        name_type = child_text(name_element, "NameType").casefold()
        if not primary and name_type == _PRIMARY_NAME_TYPE:
            primary = written
        else:
            others.append(written)
    if not primary and others:
        primary = others.pop(0)
    return primary, others


def _written_name(name_element: ET.Element) -> str:
    """Given and middle names first, then the family (or whole) name: the
    order a person writes the name in."""
    parts = [child_text(name_element, tag) for tag in _GIVEN_NAME_ELEMENTS]
    parts.append(child_text(name_element, _FAMILY_NAME_ELEMENT))
    return " ".join(part for part in parts if part)


# --- small readers ----------------------------------------------------------------


def _generation(text: str) -> tuple[date | None, str | None]:
    """The publication date of a ``DateGenerated``, and the stamp as written
    when it names a time of day too (two publications on one day then stay
    two publications)."""
    moment = _moment(text)
    if moment is None:
        return None, None
    has_time = (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0)
    return moment.date(), text if has_time else None


def _date(text: str) -> date | None:
    moment = _moment(text)
    return moment.date() if moment else None


def _moment(text: str) -> datetime | None:
    """``DD/MM/YYYY`` (the FCDO's usual way) or ISO 8601; None for anything else."""
    try:
        return datetime.strptime(text, "%d/%m/%Y")
    except ValueError:
        return iso_moment(text)


def _descendants(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    return (found for found in element.iter(tag) if found is not element)
