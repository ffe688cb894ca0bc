"""The normalised feed item: what every source produces and every rule reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.listing import ListingEvent


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry, normalised.

    ``identity`` is the durable key: the entry's guid when it has one, else its
    canonical link, else a fingerprint of its text (see :func:`item_identity`).
    ``guid`` is the publisher's id as given, for display and ``replay --json``.
    """

    feed: str
    feed_tags: tuple[str, ...]
    identity: str
    guid: str | None
    title: str
    summary: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    publisher: str | None = None
    """Who published the item, when the feed says (an RSS ``source``
    element, the outlet a Google News item names): stories count sources by
    publisher, not by feed."""
    listing: ListingEvent | None = None
    """For an item made from an official list's change (see
    :mod:`monitor.pipeline.list_poll`): the change, which rules test through
    the fields ``change``, ``list``, ``program``, ``entity_type``, ``country``."""

    @property
    def timestamp(self) -> datetime | None:
        """When the item was published, else last updated, else unknown."""
        return self.published or self.updated

    @property
    def seen_keys(self) -> tuple[str, ...]:
        """Every key under which this item counts as already seen.

        Link and title together are a second key, so that a publisher who
        edits an item's guid but keeps its link and headline does not make it
        look new (a classic source of duplicate alerts in feed readers). The
        link alone is not enough: live blogs and some feeds give many distinct
        items one page link.
        """
        if self.link and not self.identity.startswith("link:"):
            return (self.identity, f"link+title:{self.link}|{fingerprint(self.title, '')}")
        return (self.identity,)


def fingerprint(title: str, summary: str) -> str:
    """A content hash for items that have neither guid nor link."""
    digest = hashlib.sha256(f"{title}\n{summary}".casefold().encode("utf-8")).hexdigest()
    return digest[:32]


FUTURE_SKEW = timedelta(days=1)
"""How far ahead of our clock an item's date may be and still count: a
publisher's clock running a little fast, or a time zone stamped wrongly. A
date further ahead (a placeholder year 9999, an embargo, a broken clock) says
nothing about when the item appeared."""


def effective_time(timestamp: datetime | None, now: datetime) -> datetime | None:
    """The date an item is judged by at ``now``: its own, unless that is more
    than :data:`FUTURE_SKEW` ahead, in which case it is unknown (None), as for
    an undated item, whose time is then the time it was first seen.

    Without this a far-future date would pass every age check: a new feed's
    baseline, ``max_item_age``, and the publishing rate.
    """
    if timestamp is None or timestamp > now + FUTURE_SKEW:
        return None
    return timestamp
