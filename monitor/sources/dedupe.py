"""Repeats and empties inside one document, whatever source it came from.

A document may list an entry twice, or an entry with nothing in it. Both
are dropped here, before matching and before the store sees the items, so
that every source (RSS today, sanctions lists later) gives the pipeline one
item per identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from monitor.domain.item import Item, fingerprint


def dedupe_items(items: Iterable[Item]) -> tuple[tuple[Item, ...], int]:
    """The items of one document in order, each identity once, and how many
    were dropped.

    Dropped: an item with no title, text or link, and an exact repeat (same
    identity, title, text and link) of an earlier one. A different item
    under an identity already taken (a guid repeated by mistake) is kept
    under its own identity, the taken one qualified by its content; if that
    too is taken, it is dropped.
    """
    kept: list[Item] = []
    positions: dict[str, int] = {}
    dropped = 0
    for item in items:
        if not (item.title or item.summary or item.link):
            dropped += 1
            continue
        earlier = positions.get(item.identity)
        if earlier is not None:
            if _same_content(kept[earlier], item):
                dropped += 1
                continue
            item = replace(
                item, identity=f"{item.identity}#fp:{fingerprint(item.title, item.summary)}"
            )
            if item.identity in positions:
                dropped += 1
                continue
        positions[item.identity] = len(kept)
        kept.append(item)
    return tuple(kept), dropped


def _same_content(first: Item, second: Item) -> bool:
    return (first.title, first.summary, first.link) == (second.title, second.summary, second.link)
