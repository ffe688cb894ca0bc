"""The web console served for tests: a real waitress server on loopback over
a monitor's store, and what a page must never contain whatever the feeds say."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html.parser import HTMLParser

from monitor.app import Monitor
from monitor.settings_web import WebSettings
from monitor.store.alert_log import AlertLog
from monitor.web.app import ConsoleData
from monitor.web.console import start_web_console

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</title><b id=pwned>",
    "<svg onload=alert(1)>",
)
"""Feed text that would run, or break out of its element, if a page printed it raw."""

HOSTILE_LINKS = ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>")
"""Links that must never become an href."""

ALLOWED_TAGS = frozenset(
    {
        *("html", "head", "meta", "title", "link", "body", "header", "nav", "main", "h1"),
        *("span", "a", "p", "ol", "ul", "li", "div", "code", "figure", "figcaption"),
        *("form", "label", "input", "select", "option", "datalist", "button"),
        *("table", "thead", "tbody", "tr", "th", "td", "svg", "rect"),
    }
)
"""Every element the console's templates write; anything else came from data."""

SAFE_HREF = re.compile(r"^(/|https?://)")


def console_data(monitor: Monitor) -> ConsoleData:
    """The monitor's store as the console reads it."""
    store = monitor.store
    assert isinstance(store, AlertLog)
    return ConsoleData(alerts=store, archive=store, feeds=store, incidents=store, outbox=store)


@contextmanager
def serving_console(
    monitor: Monitor, environ: Mapping[str, str] | None = None, **settings: object
) -> Iterator[str]:
    """The console over ``monitor``'s store on a free loopback port, as
    ``monitor run`` starts it; yields its base URL, and stops it after."""
    web = WebSettings.model_validate({"enabled": True, "port": 0, **settings})
    server = start_web_console(
        web,
        console_data(monitor),
        clock=monitor.clock,
        snapshot=lambda: monitor.snapshot,
        environ=environ or {},
    )
    assert server is not None, "the console did not start"
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"element <{tag}> from data")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action") and value and not SAFE_HREF.match(value):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "id" and value == "pwned":
                self.problems.append(f"<{tag} id=pwned> from data")


def injection_problems(page: str) -> list[str]:
    """What in ``page`` came from data unescaped: elements the templates
    never write, event handlers, links that are not http(s) or the console's
    own, and any hostile payload printed raw."""
    parser = _Elements()
    parser.feed(page)
    parser.close()
    raw = [f"raw payload {payload!r}" for payload in HOSTILE if payload in page]
    unsafe = [f"link {link!r} as href" for link in HOSTILE_LINKS if f'href="{link}' in page]
    return parser.problems + raw + unsafe
