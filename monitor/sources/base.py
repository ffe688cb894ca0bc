"""The Source contract: one feed read into Items (or one official list read
whole), whatever the feed's format.

A poll asks a source for a feed's document with a :class:`SourceRequest`
and gets back :class:`Unchanged` (nothing to look at) or a
:class:`Document` (its items, deduplicated, with what the next request
needs), or the source raises :class:`~monitor.errors.FeedError`. The
source does its own fetching and conditional requests; what the poll
remembers between reads (validators, the last body's digest) comes in with
the request and goes back out with the document. Sources are picked by a
feed's ``type`` (see :mod:`monitor.sources.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.listing import ListPublication
from monitor.rules.compiled import ItemMatches
from monitor.rules.load import RulesSource
from monitor.sources.dedupe import dedupe_items

UnchangedReason = Literal["HTTP 304", "same body", "same publication"]


@dataclass(frozen=True)
class SourceRequest:
    """One read of one feed, and what the poll remembers of the last read."""

    feed: str
    """The feed's name: its items carry it, and a source keeps per-feed memory under it."""
    url: str
    """The URL to read, secrets and all."""
    redact: Callable[[str], str]
    """A URL as it may be shown and stored (secrets masked): item identities,
    relative links and messages use that form, never ``url`` itself."""
    tags: tuple[str, ...] = ()
    """The feed's tags, given to its items."""
    validators: Validators = Validators()
    """Those of the last read at this URL, for a conditional request; empty
    for a first read or a feed repointed at another URL."""
    last_body_hash: str | None = None
    """The digest of the last body read at this URL (None if unknown or
    another URL): the same bytes again are :class:`Unchanged`."""
    probe_url: str | None = None
    """Where a list source learns cheaply whether its list changed (a
    checksum feed, a publication history), when the feed sets one."""
    rules: RulesSource | None = None
    """The rules the poll runs: a source that parses in other processes may
    match there too (see :attr:`Document.matches`)."""


@dataclass(frozen=True)
class Unchanged:
    """Nothing new to read: the server said so, or sent the same bytes again."""

    reason: UnchangedReason
    asked_wait: float | None = None
    """Seconds the server asked readers to wait before asking again (Cache-Control max-age)."""


@dataclass(frozen=True)
class Document:
    """The items of one read, deduplicated, and what the next read needs."""

    items: tuple[Item, ...]
    validators: Validators = Validators()
    """To send with the next request."""
    body_hash: str | None = None
    """The digest of the bytes read, for :attr:`SourceRequest.last_body_hash`."""
    warning: str | None = None
    """A problem worth logging that did not stop the read (a malformed but usable feed)."""
    asked_wait: float | None = None
    """Seconds the publisher asked readers to wait (the longest of Cache-Control
    max-age and RSS ttl), if it said."""
    matches: ItemMatches | None = None
    """Every item's matches, when the source matched them with :attr:`SourceRequest.rules`."""
    skipped: int = 0
    """Entries dropped as empty or as exact repeats."""

    @classmethod
    def of_items(
        cls,
        items: Iterable[Item],
        *,
        validators: Validators = Validators(),
        body_hash: str | None = None,
        warning: str | None = None,
        asked_wait: float | None = None,
    ) -> Document:
        """A document of ``items`` as a source read them, empties and exact
        repeats dropped (:func:`~monitor.sources.dedupe.dedupe_items`): the
        way for a source to build one, unless it deduplicated them already."""
        kept, skipped = dedupe_items(items)
        return cls(
            kept,
            validators=validators,
            body_hash=body_hash,
            warning=warning,
            asked_wait=asked_wait,
            skipped=skipped,
        )


@dataclass(frozen=True)
class ListDocument:
    """One publication of an official list, read whole and checked, and what
    the next read needs. The poll diffs it against the list's last snapshot
    (see :mod:`monitor.pipeline.list_poll`)."""

    publication: ListPublication
    validators: Validators = Validators()
    body_hash: str | None = None
    """What the next read compares with: the body's digest, or for a source
    that probes first, the marker its probe found (a checksum, a publication id)."""
    warning: str | None = None
    asked_wait: float | None = None


class Source(Protocol):
    """Reads feeds of one type into Items. One instance serves every feed of
    its type, from several poll threads at once."""

    def read(self, request: SourceRequest) -> Unchanged | Document | ListDocument:
        """The feed's document (a list source's: the list), or Unchanged;
        raises FeedError when it cannot be read."""
        ...

    def close(self) -> None:
        """Let go of what the source itself holds (not the shared parts it was built from)."""
        ...
