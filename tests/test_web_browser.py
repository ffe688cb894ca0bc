"""The web console in a real browser: headless Chromium loads every page
against a monitor with data (the ``desk`` fixture: hostile text in every field
a feed or rule controls), and against a calm desk the README shows.

What the desk sees: each page renders its content; the filters and the
search form work by clicking; no feed text runs a script, opens a dialog or
adds an element, whatever it says; the password prompt guards the pages.
Screenshots are saved (``$MONITOR_TEST_SCREENSHOTS``, else the test's tmp
directory) to be looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import screenshot_dir
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.web_console import serving_console
from tests.support.web_desk import PAYLOAD, Desk

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Request

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the browser fixture skips, saying why
    PlaywrightError = Exception  # type: ignore[misc,assignment]

PAGES = {
    "alerts": ("/", "#alerts .alert"),
    "search": ("/search?q=kursk", "#results li"),
    "feeds": ("/feeds", "#feeds tr.feed"),
    "rules": ("/rules", "#rules .rule"),
    "outbox": ("/outbox", "#outbox tr.outbox-entry"),
}
"""Each page: its path, and what it lists (at least one must show)."""


class Watched:
    """A page, with what it did that no page of ours does: dialogs opened
    (alert, confirm, prompt), errors thrown, console errors (a script the
    CSP refused), requests to anywhere but the console."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.console: list[str] = []
        self.base = base
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("request", self._request)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _request(self, request: Request) -> None:
        if not request.url.startswith((self.base, "data:")):
            self.foreign.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        # An answer's own status (a 400 to a bad search) is logged too: not a script.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console.append(message.text)

    def problems(self) -> list[str]:
        """Anything a payload made the browser do, and any element it added."""
        page = self.page
        added = page.locator("#pwned, script, iframe, object, embed, img[onerror]").count()
        bad_links = page.evaluate(
            "[...document.querySelectorAll('a[href]')]"
            ".map(a => a.href).filter(h => !/^https?:/.test(h))"
        )
        return [
            *(f"dialog {m!r}" for m in self.dialogs),
            *(f"console error {m!r}" for m in self.console),
            *(f"page error {e!r}" for e in self.errors),
            *(f"request to {url}" for url in self.foreign),
            *([f"{added} element(s) from data"] if added else []),
            *(f"link {href!r}" for href in bad_links),
        ]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_renders_its_content_and_no_feed_text_runs(
    desk: Desk, page: Page, name: str, tmp_path: Path
) -> None:
    path, listed = PAGES[name]
    with serving_console(desk.monitor) as base:
        watched = Watched(page, base)
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 200
        assert page.locator(listed).count() >= 1, f"{name} lists nothing"
        assert page.title().endswith("· watch-desk monitor")
        # The stylesheet loaded (the CSP allows only the console's own).
        assert page.evaluate("document.styleSheets.length") == 1
        assert watched.problems() == []
        page.screenshot(path=str(screenshot_dir(tmp_path) / f"hostile-{name}.png"), full_page=True)


def test_hostile_text_shows_as_text(desk: Desk, page: Page) -> None:
    with serving_console(desk.monitor) as base:
        watched = Watched(page, base)
        page.goto(base + "/")
        titles = page.locator("#alerts .alert-title").all_inner_texts()
        assert any(PAYLOAD in title for title in titles), "the payload is shown, as text"
        # A javascript: link is shown, never followed.
        assert page.locator("a[href^='javascript']").count() == 0
        page.goto(base + "/search?q=" + PAYLOAD)
        assert page.locator("#search-error, #no-results").count() == 1
        assert watched.problems() == []


def test_filters_and_search_work_by_clicking(desk: Desk, page: Page) -> None:
    with serving_console(desk.monitor) as base:
        watched = Watched(page, base)
        page.goto(base + "/")
        every = page.locator("#alerts .alert").count()
        page.select_option("select[name=severity]", "critical")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**/?*severity=critical*")
        critical = page.locator("#alerts .alert")
        assert 0 < critical.count() < every
        assert all("critical" in c for c in critical.evaluate_all("e => e.map(x => x.className)"))
        page.click("#nav-search")
        page.fill("#search-form input[name=q]", '"Entity List"')
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#results li")
        assert "Entity List" in page.inner_text("#results")
        page.click("#nav-rules")
        chart = page.locator("#rules .rule svg").first
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
        assert watched.problems() == []


def test_the_password_guards_every_page(desk: Desk, browser: Browser) -> None:
    secret = "correct horse battery staple"
    with serving_console(desk.monitor, environ={"MONITOR_WEB_PASSWORD": secret}) as base:
        anonymous = browser.new_context()
        try:
            # Headless, Chromium cannot show the password prompt: it gives up.
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                anonymous.new_page().goto(base + "/feeds")
        finally:
            anonymous.close()
        wrong = browser.new_context(http_credentials={"username": "monitor", "password": "no"})
        try:
            answer = wrong.new_page().goto(base + "/feeds")
            assert answer is not None and answer.status == 401
            assert "feed-summary" not in answer.text()
        finally:
            wrong.close()
        signed_in = browser.new_context(
            http_credentials={"username": "monitor", "password": secret}
        )
        try:
            tab = signed_in.new_page()
            for path, listed in PAGES.values():
                answer = tab.goto(base + path)
                assert answer is not None and answer.status == 200, path
                assert tab.locator(listed).count() >= 1, path
                assert secret not in tab.content()
        finally:
            signed_in.close()


CALM = [
    ("North Korean troops killed in Kursk fighting, Ukraine says", "ukrinform"),
    ("US sanctions Chinese firms over drone parts for Russia", "wire"),
    ("South Korea weighs sending artillery shells to Ukraine", "wire"),
    ("Seoul summons Russian ambassador over troop deployment", "ukrinform"),
    ("Football: cup final ends in a draw", "wire"),
]


def test_screenshots_of_a_calm_desk(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    page: Page,
    tmp_path: Path,
) -> None:
    """The README's screenshot: the shipped rules over plain headlines."""
    feeds = [FeedSpec(name, feed_server.url(f"/{name}")) for name in ("wire", "ukrinform")]
    for spec in feeds:
        feed_server.set(f"/{spec.name}", rss([]))
    monitor = make_monitor(feeds=feeds)
    monitor.poll_all()
    for number, (title, feed) in enumerate(CALM):
        clock.advance(minutes=7)
        link = f"https://{feed}.example/{number}"
        entries = [Entry(title, link=link, guid=link, summary=f"{title}.", published=clock.now)]
        feed_server.set(f"/{feed}", rss(entries))
        monitor.poll_all()
        monitor.deliver_due()
    clock.advance(minutes=3)
    with serving_console(monitor) as base:
        watched = Watched(page, base)
        for name, (path, listed) in PAGES.items():
            page.goto(base + path)
            page.screenshot(path=str(screenshot_dir(tmp_path) / f"calm-{name}.png"))
            if name != "outbox":  # everything was delivered: nothing waits
                assert page.locator(listed).count() >= 1, name
        page.goto(base + "/")
        assert page.locator("#alerts .alert").count() >= 3
        assert watched.problems() == []
