"""What the streaming readers of the official lists' XML share.

OFAC's SDN XML, the UK Sanctions List, the UN consolidated list and the
EU's Financial Sanctions Files are each read with :func:`list_events`: the
document's start and end events, tags matched by local name (a namespace a
publisher adds or renames changes nothing), each entry element removed from
its parent once its end event has been handled (memory holds one entry,
however long the list), and the XML library's errors raised as
:class:`FeedError` (kind ``parse``) with the line and column.

:func:`sniffed_list_events` first says what a body is when it is plainly
not the list (empty, JSON, text, an HTML error page by its title). The rest
are the small readers the parsers build entries with.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Protocol

from monitor.errors import FeedError


class ByteStream(Protocol):
    """What the readers read: a download's body, a file, or :class:`HeadThenRest`."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left if negative); b"" at the end."""
        ...


Event = tuple[str, ET.Element]
"""An iterparse event, ``start`` or ``end``, and its element."""

HEAD_BYTES = 1024
"""How much of the body :func:`sniffed_list_events` keeps to say what it is,
if it is not the list."""


def list_events(
    stream: ByteStream,
    *,
    list_name: str,
    root: str,
    entries: AbstractSet[str],
    wrong_root: Callable[[str], str],
    xml_name: str = "XML",
) -> Iterator[Event]:
    """Start and end events of the XML in ``stream``, with namespaces stripped from tags.

    An element whose tag is in ``entries`` is removed from its parent after
    its end event has been handled. A root element other than ``root``
    raises :class:`FeedError` with ``wrong_root(tag)`` after the list's name;
    XML that is not well-formed raises it as "malformed or truncated
    ``xml_name`` at line L, column C".
    """
    # ElementTree never fetches external entities, and expat (2.4 and later,
    # as bundled with Python 3.11) refuses entity-expansion bombs, so an
    # untrusted download cannot reach the network or blow up memory here.
    parser = ET.iterparse(stream, events=("start", "end"))  # noqa: S314 - see above
    open_elements: list[ET.Element] = []
    try:
        for event, element in parser:
            if event == "start":
                element.tag = local_name(element.tag)
                if not open_elements and element.tag != root:
                    raise FeedError("parse", f"{list_name}: {wrong_root(element.tag)}")
                open_elements.append(element)
                yield event, element
                continue
            open_elements.pop()
            yield event, element
            if element.tag in entries and open_elements:
                # Read and done with. Removing the entry itself, not clearing
                # the root, holds wherever the entries sit (the UN's are
                # grandchildren of the root).
                open_elements[-1].remove(element)
    except ET.ParseError as error:
        line, column = error.position
        raise FeedError(
            "parse",
            f"{list_name}: malformed or truncated {xml_name} at line {line}, column {column}: "
            f"{error}",
        ) from error


def sniffed_list_events(
    stream: ByteStream, *, list_name: str, root: str, entries: AbstractSet[str], document: str
) -> Iterator[Event]:
    """:func:`list_events`, once the start of the body has shown it is XML.

    What is plainly not XML, or is an HTML page, raises :class:`FeedError`
    saying what was found instead; another root element is named, with
    ``document`` (with its article: "a UN consolidated list") as what it is not.
    """
    head = stream.read(HEAD_BYTES)
    found = _not_xml(head)
    if found is not None:
        raise FeedError("parse", f"{list_name}: not the list's XML: {found}")

    def wrong_root(tag: str) -> str:
        if tag.casefold() == "html":
            return f"not the list's XML: found an HTML page{_html_title(head)}"
        return f"not {document}: the root element is <{tag}>, not <{root}>"

    yield from list_events(
        HeadThenRest(head, stream),
        list_name=list_name,
        root=root,
        entries=entries,
        wrong_root=wrong_root,
    )


class HeadThenRest:
    """A stream that gives back the bytes already read from its start, then the rest."""

    def __init__(self, head: bytes, rest: ByteStream) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left if negative), the head's first."""
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def _not_xml(head: bytes) -> str | None:
    """What the start of a body is, when it is plainly not an XML document."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16: the XML parser reads it
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "the body is empty" if not head else "the body is blank"
    if text[:1] in (b"{", b"["):
        return "found JSON"
    if text[:1] != b"<":
        return f"found text that is not XML ({_snippet(text)!r})"
    if text[:14].lower().startswith((b"<!doctype html", b"<html")):
        return f"found an HTML page{_html_title(head)}"
    return None


def _html_title(head: bytes) -> str:
    match = re.search(rb"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    if match is None:
        return ""
    return f" titled {_snippet(match.group(1))!r}"


def _snippet(data: bytes) -> str:
    return " ".join(data.decode("utf-8", "replace").split())[:80]


# --- reading the events -------------------------------------------------------------


def root_attribute(events: Iterator[Event], name: str) -> str:
    """The root's attribute ``name``, spaces folded ("" when absent),
    consuming only the root's start event."""
    for event, element in events:
        if event == "start":
            return attribute(element, name)
    return ""


def entry_elements(events: Iterator[Event], entries: AbstractSet[str]) -> Iterator[ET.Element]:
    """Each element whose tag is in ``entries``, whole: at its end event."""
    for event, element in events:
        if event == "end" and element.tag in entries:
            yield element


# --- small readers ------------------------------------------------------------------


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2]


def children(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    """The children of ``element`` named ``tag``."""
    return (child for child in element if child.tag == tag)


def grandchildren(element: ET.Element, holder: str, tag: str) -> Iterator[ET.Element]:
    """The ``tag`` children of every ``holder`` child of ``element``."""
    for child in children(element, holder):
        yield from children(child, tag)


def child_text(element: ET.Element, tag: str) -> str:
    """The text of the first ``tag`` child ("" when there is none)."""
    for child in children(element, tag):
        return text_of(child)
    return ""


def text_of(element: ET.Element) -> str:
    """The element's own text (not its children's), spaces folded."""
    return " ".join((element.text or "").split())


def attribute(element: ET.Element, name: str) -> str:
    """The attribute ``name``, spaces folded ("" when absent)."""
    return " ".join(element.get(name, "").split())


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, each once, in the order first met."""
    return tuple(dict.fromkeys(value for value in values if value))


def shortened(text: str, max_chars: int) -> str:
    """``text``, cut to ``max_chars`` with an ellipsis when longer."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1].rstrip() + "…"


def iso_moment(text: str) -> datetime | None:
    """ISO 8601, a date or a date and time; None for anything else."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
