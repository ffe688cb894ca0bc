"""Builders for small RSS 2.0, Atom and RDF documents used across the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Entry:
    title: str
    link: str | None = None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    source: str | None = None
    """The outlet, as an RSS <source> element names it (Google News style)."""


def _when(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


def rss(
    entries: list[Entry], *, title: str = "Test feed", link: str = "https://news.example/"
) -> str:
    parts = []
    for e in entries:
        fields = [f"<title>{escape(e.title)}</title>"]
        if e.link:
            fields.append(f"<link>{escape(e.link)}</link>")
        if e.guid:
            fields.append(f'<guid isPermaLink="false">{escape(e.guid)}</guid>')
        if e.summary:
            fields.append(f"<description>{escape(e.summary)}</description>")
        if e.published:
            fields.append(f"<pubDate>{_when(e.published)}</pubDate>")
        if e.source:
            outlet = "https://" + "".join(c for c in e.source.lower() if c.isalnum()) + ".example/"
            fields.append(f'<source url="{outlet}">{escape(e.source)}</source>')
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def atom(entries: list[Entry], *, title: str = "Test Atom feed") -> str:
    parts = []
    for e in entries:
        fields = [f'<title type="html">{escape(e.title)}</title>']
        if e.link:
            fields.append(f'<link rel="alternate" href="{escape(e.link)}"/>')
        fields.append(f"<id>{escape(e.guid or 'urn:uuid:' + e.title)}</id>")
        if e.summary:
            fields.append(f'<summary type="html">{escape(e.summary)}</summary>')
        if e.published:
            fields.append(f"<updated>{e.published.astimezone(UTC).isoformat()}</updated>")
        parts.append("<entry>" + "".join(fields) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2026-01-01T00:00:00Z</updated>"
        + "".join(parts)
        + "</feed>"
    )


def rdf(entries: list[Entry], *, title: str = "Test RDF feed") -> str:
    parts = []
    for e in entries:
        about = escape(e.link or e.title)
        fields = [f"<title>{escape(e.title)}</title>"]
        if e.link:
            fields.append(f"<link>{escape(e.link)}</link>")
        if e.summary:
            fields.append(f"<description>{escape(e.summary)}</description>")
        if e.published:
            fields.append(f"<dc:date>{e.published.astimezone(UTC).isoformat()}</dc:date>")
        parts.append(f'<item rdf:about="{about}">' + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="https://news.example/"><title>{escape(title)}</title>'
        "<link>https://news.example/</link><description>d</description></channel>"
        + "".join(parts)
        + "</rdf:RDF>"
    )
