"""Small builders for the frozen records, for unit tests of pure logic."""

from __future__ import annotations

from datetime import datetime

from monitor.items import Item


def make_item(
    title: str = "",
    summary: str = "",
    *,
    tags: tuple[str, ...] = ("news",),
    guid: str = "urn:x",
    link: str | None = None,
    published: datetime | None = None,
) -> Item:
    return Item(
        feed="f",
        feed_tags=tags,
        identity=f"guid:{guid}",
        guid=guid,
        title=title,
        summary=summary,
        link=link,
        published=published,
        updated=None,
    )
