"""Feed text made safe to show: links that may become an href, and long
text shortened. Pure. (Escaping itself is Jinja's autoescape: every value a
template prints is escaped.)"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http://", "https://")


def safe_href(url: str | None) -> str | None:
    """``url`` if it may be a link's href: http or https with a host, and
    nothing a browser would strip or reinterpret (whitespace, control
    characters, backslashes). Anything else (``javascript:``, ``data:``,
    relative paths) is None, and the page shows it as text."""
    if not url or not url.lower().startswith(WEB_SCHEMES):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def shorten(text: str | None, limit: int = 280) -> str:
    """``text`` cut at a word near ``limit`` characters, with an ellipsis when cut."""
    if not text:
        return ""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + "…"
