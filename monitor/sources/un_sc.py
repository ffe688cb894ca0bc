"""The UN Security Council Consolidated List XML, read as a stream.

The UN serves the file as ``application/octet-stream``: what it is, is
decided by its content alone, never by its Content-Type. The documented
download is :data:`DOCUMENTED_URL` (public, unverified here: built without
internet access); a feed names its own URL in config.toml anyway.

The document is a ``CONSOLIDATED_LIST`` root whose ``dateGenerated``
attribute (ISO 8601, with a time) stamps the publication, holding
``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``. Of each entry this
parser reads:

- ``REFERENCE_NUMBER``: the key (``QDi.001``, ``KPe.012``...);
- ``FIRST_NAME`` to ``FOURTH_NAME``: the name, in that order (an entity's
  whole name is its ``FIRST_NAME``);
- ``INDIVIDUAL_ALIAS/ALIAS_NAME`` or ``ENTITY_ALIAS/ALIAS_NAME``, and
  ``NAME_ORIGINAL_SCRIPT``: the aliases;
- ``UN_LIST_TYPE``: the programme (the sanctions committee's list);
- ``NATIONALITY/VALUE`` and the ``COUNTRY`` of every
  ``INDIVIDUAL_ADDRESS`` or ``ENTITY_ADDRESS``: the countries (an address
  in China whose ``CITY`` or ``STATE_PROVINCE`` is Hong Kong or Macau
  counts as that region);
- ``LISTED_ON`` (``YYYY-MM-DD``): the listing date;
- ``COMMENTS1``: the remarks.

Elements are matched by local name and every other one (``DATAID``,
``DESIGNATION``, dates and places of birth, documents, ``LAST_DAY_UPDATED``,
whatever the UN adds) is skipped. The list carries no entry count. Each
entry is dropped from the tree once read, so memory holds one entry, not
the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import BinaryIO

from monitor.domain.countries import country_name
from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError
from monitor.sources.base import Source
from monitor.sources.list_source import ListFormat, ParsedList, PlainListSource, list_fetcher
from monitor.sources.list_xml import (
    child_text,
    children,
    entry_elements,
    grandchildren,
    iso_moment,
    root_attribute,
    shortened,
    sniffed_list_events,
    text_of,
    unique,
)
from monitor.sources.parts import SharedParts

DOCUMENTED_URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
"""Where the UN documents the XML download (unverified: built offline)."""
LIST_PAGE = "https://main.un.org/securitycouncil/en/content/un-sc-consolidated-list"
"""The UN's page about the list, for alerts."""

ROOT_ELEMENT = "CONSOLIDATED_LIST"
ENTRY_TYPES: dict[str, EntityType] = {"INDIVIDUAL": "individual", "ENTITY": "entity"}
"""The entry elements, and what each lists."""
REMARKS_MAX_CHARS = 500
"""Remarks ride in every alert about an entry; the UN's run to paragraphs."""

_NAME_ELEMENTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_ALIAS_HOLDERS = ("INDIVIDUAL_ALIAS", "ENTITY_ALIAS")
_ADDRESS_HOLDERS = ("INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS")


def parse_un_sc(stream: BinaryIO, *, list_name: str, source: str, link: str | None) -> ParsedList:
    """Read the header of a UN consolidated list ``stream`` and return its entries lazily.

    ``list_name`` and ``source`` are stamped on every entry; ``link`` too,
    with ``{key}`` in it replaced by the entry's reference number, if
    present. Raises :class:`FeedError` (kind ``parse``) if the body is not
    well-formed XML or not a ``CONSOLIDATED_LIST``; the entries raise it
    where the document turns out malformed or truncated.
    """
    events = sniffed_list_events(
        stream,
        list_name=list_name,
        root=ROOT_ELEMENT,
        entries=ENTRY_TYPES.keys(),
        document="a UN consolidated list",
    )
    generated = root_attribute(events, "dateGenerated")
    entries = (
        _entry(element, ENTRY_TYPES[element.tag], list_name=list_name, source=source, link=link)
        for element in entry_elements(events, ENTRY_TYPES.keys())
    )
    moment = iso_moment(generated)
    return ParsedList(
        published=moment.date() if moment else None,
        declared_count=None,
        entries=entries,
        # The stamp has a time: a second publication on one day is another
        # publication, not a repeat of the first.
        publication=generated if moment else None,
    )


FORMAT = ListFormat(
    list_name="UN Security Council Consolidated List",
    publisher="UN Security Council",
    parse=parse_un_sc,
    link=LIST_PAGE,
)


def build_source(parts: SharedParts) -> Source:
    """The ``un-sc`` source: downloads the list whole with its own HTTP client."""
    return PlainListSource(list_fetcher(parts.limits), FORMAT)


# --- one entry --------------------------------------------------------------------


def _entry(
    element: ET.Element,
    entity_type: EntityType,
    *,
    list_name: str,
    source: str,
    link: str | None,
) -> ListingEntry:
    key = child_text(element, "REFERENCE_NUMBER")
    if not key:
        raise FeedError("parse", f"{list_name}: an <{element.tag}> has no <REFERENCE_NUMBER>")
    name = " ".join(part for part in (child_text(element, tag) for tag in _NAME_ELEMENTS) if part)
    aliases = [
        child_text(alias, "ALIAS_NAME")
        for holder in _ALIAS_HOLDERS
        for alias in children(element, holder)
    ]
    aliases.append(child_text(element, "NAME_ORIGINAL_SCRIPT"))
    return ListingEntry(
        list_name=list_name,
        source=source,
        key=key,
        name=name,
        aliases=tuple(alias for alias in unique(aliases) if alias != name),
        entity_type=entity_type,
        programs=unique(text_of(found) for found in children(element, "UN_LIST_TYPE")),
        countries=_countries(element),
        listed_on=_date(child_text(element, "LISTED_ON")),
        remarks=shortened(child_text(element, "COMMENTS1"), REMARKS_MAX_CHARS),
        link=link.replace("{key}", key) if link else None,
    )


def _countries(element: ET.Element) -> tuple[str, ...]:
    """The nationalities, then the countries of the addresses."""
    found = [text_of(value) for value in grandchildren(element, "NATIONALITY", "VALUE")]
    found.extend(
        _address_country(address)
        for holder in _ADDRESS_HOLDERS
        for address in children(element, holder)
    )
    return unique(country_name(text) for text in found)


_SPECIAL_REGIONS = {"hong kong": "Hong Kong", "macao": "Macau", "macau": "Macau"}


def _address_country(address: ET.Element) -> str:
    """The address's country, except that the UN writes an address in Hong
    Kong (or Macau) as COUNTRY "China" with the region as its city or
    province: rules tell Hong Kong from the mainland, so the region wins."""
    country = child_text(address, "COUNTRY")
    if country_name(country) == "China":
        for field in ("CITY", "STATE_PROVINCE"):
            region = _SPECIAL_REGIONS.get(child_text(address, field).casefold())
            if region is not None:
                return region
    return country


# --- small readers ----------------------------------------------------------------


def _date(text: str) -> date | None:
    moment = iso_moment(text)
    return moment.date() if moment else None
