"""Official lists read whole over HTTP: the download, the checks, the parse.

A list source fetches one document (conditionally: a 304 or the same bytes
again cost no parse), parses it with a format's streaming parser into
entries, and checks what it read before the poll may diff it: a document
that declares more entries than it holds, or repeats a key, is not a list
to trust. Formats plug in as a :class:`ListFormat`; sources that can learn
cheaply whether their list changed (a checksum in an RSS item, a
publication id) ask that first and call :meth:`DownloadedList.read` only
when it did.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import BinaryIO, Protocol

from monitor.domain.feed import Validators
from monitor.domain.listing import ListingEntry, ListPublication
from monitor.errors import FeedError
from monitor.sources.base import ListDocument, SourceRequest, Unchanged
from monitor.sources.http import FetchLimits, FetchResult, HttpFetcher

LIST_MAX_BYTES = 256 * 2**20
"""Official lists run to tens of megabytes (OFAC's SDN XML about 30, the
EU's about 25): far past a news feed's cap, so list sources fetch with
their own."""
LIST_TIMEOUT = 180.0
"""Seconds for one list download: the EU's service answers slowly."""


@dataclass(frozen=True)
class ParsedList:
    """One list document as a format's parser reads it: its header, and its
    entries as a one-pass stream that raises :class:`FeedError` (kind
    ``parse``) where the document turns out malformed or truncated."""

    published: date | None
    declared_count: int | None
    """How many entries the document says it holds, when it says."""
    entries: Iterator[ListingEntry]
    publication: str | None = None
    """The publication's own id, when the document names one."""


class ListParser(Protocol):
    """A format's streaming parser."""

    def __call__(
        self, stream: BinaryIO, *, list_name: str, source: str, link: str | None
    ) -> ParsedList:
        """Read the header of ``stream`` and return its entries lazily; raise
        :class:`FeedError` (kind ``parse``) if it is not this format."""
        ...


@dataclass(frozen=True)
class ListFormat:
    """How one list is named and parsed."""

    list_name: str
    publisher: str
    parse: ListParser
    link: str | None = None
    """A page about the list or its recent changes, for alerts."""


def list_fetcher(limits: FetchLimits | None) -> HttpFetcher:
    """An HTTP client for list downloads: the monitor's limits, with room for a whole list."""
    base = limits or FetchLimits()
    return HttpFetcher(
        replace(
            base,
            max_bytes=max(base.max_bytes, LIST_MAX_BYTES),
            timeout=max(base.timeout, LIST_TIMEOUT),
        )
    )


def read_list_body(
    body: bytes, list_format: ListFormat, *, source: str, body_hash: str
) -> ListPublication:
    """Parse a whole list held in memory and check it (see :func:`read_list_stream`)."""
    return read_list_stream(io.BytesIO(body), list_format, source=source, body_hash=body_hash)


def read_list_stream(
    stream: BinaryIO, list_format: ListFormat, *, source: str, body_hash: str
) -> ListPublication:
    """Parse a whole downloaded list from ``stream`` and check it; raises
    :class:`FeedError` (kind ``parse``) when it cannot be trusted whole."""
    parsed = list_format.parse(
        stream, list_name=list_format.list_name, source=source, link=list_format.link
    )
    entries: dict[str, ListingEntry] = {}
    repeated: list[str] = []
    for entry in parsed.entries:
        if entry.key in entries:
            repeated.append(entry.key)
        entries[entry.key] = entry
    if repeated:
        shown = ", ".join(repeated[:5])
        raise FeedError(
            "parse",
            f"{list_format.list_name}: {len(repeated)} keys appear twice ({shown}); "
            "a list whose ids are not unique cannot be diffed",
        )
    if parsed.declared_count is not None and parsed.declared_count != len(entries):
        raise FeedError(
            "parse",
            f"{list_format.list_name}: the document declares {parsed.declared_count} entries "
            f"but holds {len(entries)}; a truncated or half-written download?",
        )
    return ListPublication(
        list_name=list_format.list_name,
        publisher=list_format.publisher,
        publication=parsed.publication or _publication_id(parsed.published, body_hash),
        published=parsed.published,
        entries=entries,
        link=list_format.link,
    )


class ListFetcher(Protocol):
    """What a list source fetches with: small documents in memory (probes),
    the list itself into a file (see :meth:`HttpFetcher.download`)."""

    def fetch(self, url: str, validators: Validators) -> FetchResult:
        """The response, or 304's empty one; raises FetchError."""
        ...

    def download(self, url: str, validators: Validators, into: BinaryIO) -> FetchResult:
        """The response with its body written to ``into`` and hashed; raises FetchError."""
        ...

    def close(self) -> None:
        """Let go of every connection kept open."""
        ...


def _publication_id(published: date | None, body_hash: str) -> str:
    """A publication's id when the document names none: its date, and the
    body's digest, since a list can be published twice in a day (OFAC's
    classic format dates a publication to the day)."""
    digest = f"sha256:{body_hash[:12]}"
    return f"{published.isoformat()}#{digest}" if published else digest


class DownloadedList:
    """Reads a list by downloading it whole (see the module's docstring).

    The body goes to a temporary file as it arrives and is parsed from
    there: memory holds the entries, never the document as well."""

    def __init__(self, fetcher: ListFetcher, list_format: ListFormat) -> None:
        self.fetcher = fetcher
        self.format = list_format

    def read(self, request: SourceRequest) -> Unchanged | ListDocument:
        """Download (conditionally), parse and check the request's list; raises FeedError."""
        with tempfile.TemporaryFile(prefix="monitor-list-") as spool:
            result = self.fetcher.download(request.url, request.validators, spool)
            if result.body is None:
                return Unchanged("HTTP 304", result.max_age)
            body_hash = result.sha256 or hashlib.sha256(result.body).hexdigest()
            if body_hash == request.last_body_hash:
                return Unchanged("same body", result.max_age)
            spool.seek(0)
            publication = read_list_stream(
                spool, self.format, source=request.feed, body_hash=body_hash
            )
        return ListDocument(
            publication,
            validators=result.validators,
            body_hash=body_hash,
            asked_wait=result.max_age,
        )


_DIGEST_MARK = ";sha256="


@dataclass(frozen=True)
class ProbeState:
    """What a probing list source remembers between reads (kept as the
    feed's body hash): the probe's marker for the publication last read,
    when the download was shown to be that publication, and the digest of
    the body last read."""

    marker: str | None
    digest: str | None

    @classmethod
    def parse(cls, stored: str | None) -> ProbeState:
        """The state :meth:`stored` wrote (or a bare digest, or None)."""
        if not stored:
            return cls(None, None)
        marker, found, digest = stored.partition(_DIGEST_MARK)
        if found:
            return cls(marker or None, digest or None)
        # A marker alone ("checksum:...", "publication:..."): a digest is bare hex.
        return cls(stored, None) if ":" in stored else cls(None, stored)

    def stored(self) -> str:
        """The state as the feed's body hash keeps it."""
        return f"{self.marker or ''}{_DIGEST_MARK}{self.digest or ''}"


def read_after_probe(
    downloaded: DownloadedList,
    request: SourceRequest,
    marker: str | None,
    *,
    shows: Callable[[ListPublication, str | None], bool],
) -> Unchanged | ListDocument:
    """The list, unless the probe's ``marker`` says it is the publication
    last read (``None``: the probe told nothing).

    The marker is kept for the next read only when the download ``shows``
    itself to be that publication (``shows`` is given the publication read
    and the sha256 of its body): a server may announce a publication
    before it serves the new file, and a marker kept for the old file
    would skip the new one until the next. Until then each poll probes and
    downloads conditionally (a 304, or the same bytes), which costs little.
    """
    last = ProbeState.parse(request.last_body_hash)
    if marker is not None and marker == last.marker:
        return Unchanged("same publication")
    result = downloaded.read(replace(request, last_body_hash=last.digest))
    if isinstance(result, Unchanged):
        return result
    kept = marker if marker is not None and shows(result.publication, result.body_hash) else None
    return replace(result, body_hash=ProbeState(kept, result.body_hash).stored())


class PlainListSource:
    """A list source that downloads its list whole at every read (conditionally)."""

    def __init__(self, fetcher: ListFetcher, list_format: ListFormat) -> None:
        self._fetcher = fetcher
        self._list = DownloadedList(fetcher, list_format)

    def read(self, request: SourceRequest) -> Unchanged | ListDocument:
        """The list, checked whole, or Unchanged; raises FeedError."""
        return self._list.read(request)

    def close(self) -> None:
        """Close this source's own HTTP client."""
        self._fetcher.close()
