"""The US Consolidated Screening List (trade.gov): one JSON file of eleven
export-screening lists (the Entity List, the SDN list, the Denied Persons
List...), read entry by entry.

The document is a JSON object whose ``results`` array holds one object per
party. Of a result this reads (other keys are ignored): ``id`` (the key),
``name``, ``alt_names``, ``type`` (``Entity``, ``Individual``, ``Vessel``,
``Aircraft``; absent or unknown reads as an entity), ``programs``,
``addresses[].country``, ``nationalities``, ``citizenships``,
``ids[].country`` (the country that issued a registration number or
passport), ``vessel_flag``, ``start_date`` (the listing date),
``federal_register_notice`` and ``remarks`` (the remarks, the notice
cited), ``source`` (the list the party is on: each entry's ``list_name``,
so rules tell the Entity List from the others) and ``source_list_url``.
Countries are ISO codes in this file; :func:`country_name` spells them.

The file is a few tens of megabytes and arrives whole in memory anyway.
Rather than building the whole document as Python objects, the text is
walked with the standard decoder's ``raw_decode``: the object's other keys
are read (and dropped) one at a time, and the ``results`` array one entry
at a time as the entries are asked for, so memory holds the text and one
entry.

Publicly documented download, not checked from this machine (no internet
here): ``https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, BinaryIO

from monitor.domain.countries import country_name
from monitor.domain.listing import EntityType, ListingEntry
from monitor.errors import FeedError
from monitor.sources.base import Source
from monitor.sources.list_source import ListFormat, ParsedList, PlainListSource, list_fetcher
from monitor.sources.parts import SharedParts

RESULTS_KEY = "results"

_ENTITY_TYPES: dict[str, EntityType] = {
    "entity": "entity",
    "individual": "individual",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _NotThisFormat(Exception):
    """The document is JSON, but not the screening list's."""


def parse_csl(stream: BinaryIO, *, list_name: str, source: str, link: str | None) -> ParsedList:
    """Find the ``results`` array of a screening-list ``stream`` and return
    its entries lazily.

    Each entry's ``list_name`` is its own ``source`` list (``list_name`` when
    it names none); ``source`` is stamped on every entry. An entry's link is
    ``link`` with ``{key}`` replaced by its id when ``link`` has that
    placeholder, else its own ``source_list_url``, else ``link``. Raises
    :class:`FeedError` (kind ``parse``) if the document is not JSON or has no
    ``results`` array; entries raise it where the document turns out malformed.
    """
    text = _text_of(stream.read(), list_name)
    walk = _Walk(text, list_name)
    try:
        walk.to_results()
    except _NotThisFormat as error:
        raise FeedError("parse", f"{list_name}: not a screening list: {error}") from None
    entries = _entries(walk, list_name=list_name, source=source, link=link)
    return ParsedList(published=None, declared_count=None, entries=entries)


def _text_of(body: bytes, list_name: str) -> str:
    found = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not found:
        raise FeedError("parse", f"{list_name}: the document is empty, not a screening list")
    if not found.startswith(b"{"):
        shown = found[:40].decode("utf-8", "replace")
        raise FeedError(
            "parse", f"{list_name}: not a JSON object, not a screening list: it starts {shown!r}"
        )
    try:
        return found.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FeedError("parse", f"{list_name}: the document is not UTF-8: {error}") from None


class _Walk:
    """A position in the document's text, stepping over JSON values whole."""

    def __init__(self, text: str, list_name: str) -> None:
        self.text = text
        self.at = 0
        self.list_name = list_name

    def to_results(self) -> None:
        """Step past ``{`` and the object's keys up to the ``results`` array's ``[``."""
        self._expect("{")
        if self._peek() == "}":
            raise _NotThisFormat(f"the JSON object has no {RESULTS_KEY!r} array")
        seen: list[str] = []
        while True:
            key = self._value()
            if not isinstance(key, str):
                raise self._malformed("a key is not a string")
            self._expect(":")
            if key == RESULTS_KEY:
                if self._peek() != "[":
                    raise _NotThisFormat(f"its {RESULTS_KEY!r} is not an array")
                self._expect("[")
                return
            self._value()
            seen.append(key)
            if self._after_member("}"):
                shown = ", ".join(repr(k) for k in seen[:8])
                raise _NotThisFormat(
                    f"the JSON object has no {RESULTS_KEY!r} array (keys: {shown})"
                )

    def results(self) -> Iterator[object]:
        """The array's members one by one, then the rest of the document checked."""
        if self._peek() == "]":
            self._expect("]")
        else:
            while True:
                yield self._value()
                if self._after_member("]"):
                    break
        while not self._after_member("}"):
            if not isinstance(self._value(), str):  # another key after the array
                raise self._malformed("a key is not a string")
            self._expect(":")
            self._value()
        if self._peek() != "":
            raise self._malformed("more text after the document's end")

    def _value(self) -> Any:
        self._skip_space()
        try:
            value, self.at = _DECODER.raw_decode(self.text, self.at)
        except json.JSONDecodeError as error:
            self.at = error.pos
            raise self._malformed(error.msg) from None
        return value

    def _after_member(self, closing: str) -> bool:
        """Step over the ``,`` after a member (False) or the ``closing`` bracket (True)."""
        found = self._peek()
        if found not in (",", closing):
            raise self._malformed(f"expected ',' or {closing!r}")
        self.at += 1
        return found == closing

    def _expect(self, token: str) -> None:
        if self._peek() != token:
            raise self._malformed(f"expected {token!r}")
        self.at += 1

    def _peek(self) -> str:
        self._skip_space()
        return self.text[self.at : self.at + 1]

    def _skip_space(self) -> None:
        match = _SPACE.match(self.text, self.at)
        if match is not None:
            self.at = match.end()

    def _malformed(self, what: str) -> FeedError:
        line = self.text.count("\n", 0, self.at) + 1
        column = self.at - (self.text.rfind("\n", 0, self.at) + 1) + 1
        ended = " (the document ends there)" if self.at >= len(self.text) else ""
        return FeedError(
            "parse",
            f"{self.list_name}: malformed or truncated screening-list JSON at line {line}, "
            f"column {column}: {what}{ended}",
        )


def _entries(
    walk: _Walk, *, list_name: str, source: str, link: str | None
) -> Iterator[ListingEntry]:
    for number, result in enumerate(walk.results(), start=1):
        if not isinstance(result, dict):
            raise FeedError(
                "parse", f"{list_name}: result {number} is a {type(result).__name__}, not an object"
            )
        yield _entry(result, number, list_name=list_name, source=source, link=link)


def _entry(
    result: dict[str, Any], number: int, *, list_name: str, source: str, link: str | None
) -> ListingEntry:
    key = _scalar(result.get("id"))
    if not key:
        raise FeedError("parse", f"{list_name}: result {number} has no id")
    name = _scalar(result.get("name"))
    own_link = _scalar(result.get("source_list_url"))
    if link and "{key}" in link:
        entry_link: str | None = link.replace("{key}", key)
    else:
        entry_link = own_link or link
    return ListingEntry(
        list_name=_scalar(result.get("source")) or list_name,
        source=source,
        key=key,
        name=name,
        aliases=tuple(alias for alias in _strings(result.get("alt_names")) if alias != name),
        entity_type=_ENTITY_TYPES.get(_scalar(result.get("type")).casefold(), "entity"),
        programs=_strings(result.get("programs")),
        countries=_countries(result),
        listed_on=_date(_scalar(result.get("start_date"))),
        remarks=_remarks(result),
        link=entry_link or None,
    )


def _countries(result: dict[str, Any]) -> tuple[str, ...]:
    written = [
        *_field_of_each(result.get("addresses"), "country"),
        *_strings(result.get("nationalities")),
        *_strings(result.get("citizenships")),
        *_field_of_each(result.get("ids"), "country"),
        _scalar(result.get("vessel_flag")),
    ]
    return _unique(country_name(text) for text in written)


def _remarks(result: dict[str, Any]) -> str:
    remarks = _scalar(result.get("remarks"))
    notice = _scalar(result.get("federal_register_notice"))
    if notice and notice not in remarks:
        cited = f"Federal Register: {notice}."
        return f"{remarks} {cited}" if remarks else cited
    return remarks


def _field_of_each(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        return []
    return [_scalar(item.get(field)) for item in value if isinstance(item, dict)]


def _strings(value: object) -> tuple[str, ...]:
    """A list of texts (or one text) as non-empty texts, each once."""
    values = value if isinstance(value, list) else [value]
    return _unique(_scalar(item) for item in values)


def _scalar(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return " ".join(str(value).split())


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def _unique(values: Iterator[str]) -> tuple[str, ...]:
    """The non-empty values, each once, in the order first met."""
    return tuple(dict.fromkeys(value for value in values if value))


FORMAT = ListFormat(
    list_name="Consolidated Screening List",
    publisher="US Consolidated Screening List",
    parse=parse_csl,
    link="https://www.trade.gov/consolidated-screening-list",
)


def build_source(parts: SharedParts) -> Source:
    """The screening-list source, with its own HTTP client sized for the list."""
    return PlainListSource(list_fetcher(parts.limits), FORMAT)
