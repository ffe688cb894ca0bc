"""A list's change as an item: how a listing event meets the rules.

Rules read items. A listing event becomes one whose text fields are the
entity's name (title) and its aliases and the list's remarks (summary),
and whose structured fields (``change``, ``list``, ``program``,
``entity_type``, ``country``) come from the event itself (see
:attr:`Item.listing`). The list's prose about programmes and countries is
left out of the text on purpose: rules test those as fields, and words like
"China" in a summary would let a rule written for news fire on a removal.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from monitor.domain.item import Item
from monitor.domain.listing import LISTING_IDENTITY_PREFIX, ListingEvent


def listing_item(
    event: ListingEvent,
    *,
    feed: str,
    feed_tags: tuple[str, ...],
    publication: str,
) -> Item:
    """The item rules see for ``event``, from the publication named ``publication``."""
    entry = event.entry
    summary_parts = []
    if entry.aliases:
        summary_parts.append("Also known as: " + "; ".join(entry.aliases) + ".")
    if entry.remarks:
        summary_parts.append(entry.remarks)
    listed = (
        datetime.combine(entry.listed_on, time(0, 0), tzinfo=UTC)
        if entry.listed_on is not None
        else None
    )
    return Item(
        feed=feed,
        feed_tags=feed_tags,
        identity=f"{LISTING_IDENTITY_PREFIX}{entry.source}:{publication}:{event.change}:{entry.key}",
        guid=entry.key,
        title=entry.name,
        summary=" ".join(summary_parts),
        link=entry.link,
        published=listed,
        updated=None,
        listing=event,
    )
