"""Entries of official sanctions lists, and the events a new snapshot of a list makes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

EntityType = Literal["entity", "individual", "vessel", "aircraft"]
"""What a listed party is, whatever words its list uses for it."""

ListingChange = Literal["added", "removed", "changed"]
"""How an entry differs between two snapshots of its list."""

LISTED_NOTE = ": listed on the "
"""How a news alert's detail says an official list added a party it names
(see monitor.pipeline.list_mentions): the list's word confirms its story."""

LISTING_IDENTITY_PREFIX = "listing:"
"""How the identities of a list's items and of its publications' alerts begin."""

DIGEST_VERSION = "v1"
"""Stamped on every entry digest. Raise it when what the digest covers, or
how a parser or :mod:`monitor.domain.countries` normalises an entry,
changes: entries whose stored digest has another stamp then make no
"changed" event (a new spelling is not a change of the list), and their
digests are rewritten."""

ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)
LISTING_CHANGES: tuple[ListingChange, ...] = get_args(ListingChange)


def digest_version(digest: str) -> str:
    """The :data:`DIGEST_VERSION` a stored digest was made with ("" before versions)."""
    version, found, _ = digest.partition(":")
    return version if found else ""


def is_listing_identity(identity: str) -> bool:
    """Whether an item or alert identity is an official list's (see :data:`LISTING_IDENTITY_PREFIX`)."""
    return identity.startswith(LISTING_IDENTITY_PREFIX)


@dataclass(frozen=True, slots=True)
class ListingEntry:
    """One party on one official list, normalised.

    ``key`` is the list's own id for the entry (OFAC ``uid``, UK unique id, EU
    logical id...), unique within the list. ``countries`` are written as the
    list writes them, in the order first met; Hong Kong stays its own country,
    never folded into China, because rules tell them apart.
    """

    list_name: str
    source: str
    key: str
    name: str
    aliases: tuple[str, ...]
    entity_type: EntityType
    programs: tuple[str, ...]
    countries: tuple[str, ...]
    listed_on: date | None
    remarks: str
    link: str | None

    def digest(self) -> str:
        """A stable sha256 of what the list says about the party, stamped
        with :data:`DIGEST_VERSION`.

        The list's display name and the link are left out: they come from our
        config, and renaming a feed must not make every entry look changed.
        Aliases, programmes and countries count as sets, since a publisher
        reordering them has changed nothing.
        """
        content = {
            "key": self.key,
            "name": self.name,
            "aliases": sorted(self.aliases),
            "entity_type": self.entity_type,
            "programs": sorted(self.programs),
            "countries": sorted(self.countries),
            "listed_on": self.listed_on.isoformat() if self.listed_on else None,
            "remarks": self.remarks,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return f"{DIGEST_VERSION}:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"

    def to_json(self) -> dict[str, object]:
        """The entry as plain JSON values (lists for tuples, ISO text for the date)."""
        return {
            "list_name": self.list_name,
            "source": self.source,
            "key": self.key,
            "name": self.name,
            "aliases": list(self.aliases),
            "entity_type": self.entity_type,
            "programs": list(self.programs),
            "countries": list(self.countries),
            "listed_on": self.listed_on.isoformat() if self.listed_on else None,
            "remarks": self.remarks,
            "link": self.link,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ListingEntry:
        """The entry :meth:`to_json` wrote; ``ValueError`` if ``data`` is not one."""
        listed_on = _optional_text(data, "listed_on")
        return cls(
            list_name=_text(data, "list_name"),
            source=_text(data, "source"),
            key=_text(data, "key"),
            name=_text(data, "name"),
            aliases=_texts(data, "aliases"),
            entity_type=_entity_type(_text(data, "entity_type")),
            programs=_texts(data, "programs"),
            countries=_texts(data, "countries"),
            listed_on=date.fromisoformat(listed_on) if listed_on is not None else None,
            remarks=_text(data, "remarks"),
            link=_optional_text(data, "link"),
        )


@dataclass(frozen=True, slots=True)
class ListingEvent:
    """One entry added to, removed from, or changed on its list.

    ``entry`` is the entry as it stands now, or for ``removed`` as it was last
    listed; ``previous`` is the entry before a change (``None`` for additions
    and removals, and for a change whose earlier form was not kept).
    """

    change: ListingChange
    entry: ListingEntry
    previous: ListingEntry | None


def _text(data: Mapping[str, object], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ValueError(f"listing entry: {field!r} must be a string, not {value!r}")
    return value


def _optional_text(data: Mapping[str, object], field: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"listing entry: {field!r} must be a string or null, not {value!r}")
    return value


def _texts(data: Mapping[str, object], field: str) -> tuple[str, ...]:
    value = data.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"listing entry: {field!r} must be a list of strings, not {value!r}")
    return tuple(str(v) for v in value)


def _entity_type(value: str) -> EntityType:
    for known in ENTITY_TYPES:
        if value == known:
            return known
    raise ValueError(f"listing entry: unknown entity_type {value!r}")


@dataclass(frozen=True)
class ListPublication:
    """One publication of an official list, read whole: what a list source
    hands the poll, and what ``monitor replay`` diffs.

    ``publication`` names this publication among the list's (its date, its
    publication id, or the digest of the file): alerts about it carry it, so
    the same publication read twice never alerts twice.
    """

    list_name: str
    """The list as people name it: "OFAC SDN List"."""
    publisher: str
    """Who publishes it, as an alert's title says it: "OFAC"."""
    publication: str
    published: date | None
    entries: Mapping[str, ListingEntry]
    """Key -> entry, in the list's order."""
    link: str | None
    """Where a person reads the list or its latest changes."""


@dataclass(frozen=True)
class RecordedListing:
    """One listing event as the store keeps it: the history a news item is
    checked against (see :mod:`monitor.pipeline.list_mentions`)."""

    change: ListingChange
    entry: ListingEntry
    on: date | None
    """When it happened: the entry's own listing date, else its publication's date."""
    publication: str
    """The publication that showed it (see :attr:`ListPublication.publication`)."""


@dataclass(frozen=True)
class ListUpdate:
    """What an accepted snapshot writes, in the poll's one transaction.

    ``baseline``: ``upserts`` is the whole snapshot and replaces whatever the
    source had. Otherwise ``upserts`` (key -> (digest, entry JSON)) are the
    added and changed entries and ``removed`` the keys gone.
    """

    source: str
    published: date | None
    baseline: bool
    upserts: Mapping[str, tuple[str, str]]
    removed: tuple[str, ...]
    events: tuple[RecordedListing, ...]
