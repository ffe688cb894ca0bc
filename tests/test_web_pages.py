"""The web console's pages over a real monitor's state: a monitor that polled
loopback feeds and posted to the Slack emulator, with a story two outlets
told, a failed alert, a feed failing long enough to open an incident, and
hostile text in every field a feed or a rule file controls. The console is
the real waitress server on loopback; httpx is the browser.

What the desk sees: every page answers, shows what happened and says so
when there is nothing; filters and paging narrow the alerts; a bad search
says how to write one; no feed text ever becomes markup or a script link.
"""

from __future__ import annotations

import re

import httpx

from tests.support.feed_server import FeedServer
from tests.support.feeds import rss
from tests.support.monitors import MonitorMaker
from tests.support.web_console import injection_problems, serving_console
from tests.support.web_desk import PAYLOAD, Desk


def get(base: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=10)


def test_the_alerts_page_shows_each_alert_with_its_story_and_delivery(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        page = get(base, "/")
    assert page.status_code == 200
    html = page.text
    assert "<title>Alerts · watch-desk monitor</title>" in html
    assert 'id="alerts"' in html and html.count('class="alert ') >= 5
    assert "US adds 42 Chinese companies to Entity List" in html
    # The story two outlets told: its title and both outlets, by publisher.
    stories = re.findall(r'<div class="story" data-story="[^"]+">.*?</div>', html, re.S)
    told = [s for s in stories if "US adds 42 Chinese companies" in s]
    assert told, stories
    assert "2 sources: Outlet A" in told[0] and ", Outlet B" in told[0]
    assert 'class="badge backfill"' in html, "a backfill alert is marked"
    assert "status-sent" in html and "status-failed" in html and "status-pending" in html
    assert "msg_too_long" in html, "the failed alert's last error"


def test_filters_narrow_the_alerts_and_older_pages_go_back(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        critical = get(base, "/", severity="critical").text
        by_rule = get(base, "/", rule="kursk-watch").text
        by_channel = get(base, "/", channel="#desk-1").text
        by_text = get(base, "/", q="ENTITY list").text
        nothing = get(base, "/", q="no such words anywhere").text
        bad = get(base, "/", severity="loud")
        first = get(base, "/", limit="2").text
        older_link = re.search(r'id="older" rel="next" href="([^"]+)"', first)
        assert older_link is not None
        older = httpx.get(base + older_link.group(1).replace("&amp;", "&"), timeout=10).text
    assert "Entity List" in critical and "Kursk watch" not in critical.split('id="alerts"')[1]
    assert "Entity List" not in by_rule.split('id="alerts"')[1]
    assert by_channel.count('class="alert ') == 1 and "msg_too_long" in by_channel
    assert by_text.count('class="alert ') == 2, "both outlets' Entity List alerts"
    assert 'id="no-alerts"' in nothing and "No alerts match these filters" in nothing
    assert bad.status_code == 400 and "severity must be one of info, warning, critical" in bad.text
    ids = [int(n) for n in re.findall(r'id="alert-(\d+)"', first)]
    older_ids = [int(n) for n in re.findall(r'id="alert-(\d+)"', older)]
    assert len(ids) == 2 and older_ids and max(older_ids) < min(ids)


def test_search_finds_archived_items_and_a_bad_query_says_how_to_write_one(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        found = get(base, "/search", q="kursk", since="1d")
        by_feed = get(base, "/search", q="kursk", feed="outlet-b")
        form = get(base, "/search")
        bad = get(base, "/search", q='"unterminated')
        bad_since = get(base, "/search", q="kursk", since="soon")
    assert found.status_code == 200 and 'id="results"' in found.text
    assert found.text.count('class="result"') >= 4
    assert "alerted: " in found.text and "kursk-watch" in found.text
    assert by_feed.text.count('class="result"') == 1
    assert form.status_code == 200 and 'id="no-query"' in form.text
    assert bad.status_code == 400 and 'id="search-error"' in bad.text
    assert "not a valid search query" in bad.text and "double quotes" in bad.text
    assert "Traceback" not in bad.text
    assert bad_since.status_code == 400 and "since:" in bad_since.text


def test_the_feeds_page_shows_each_feed_and_the_failing_ones_incident(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        page = get(base, "/feeds")
    assert page.status_code == 200
    row = re.search(
        r'<tr class="feed state-failing blind" id="feed-broken">.*?</tr>', page.text, re.S
    )
    assert row is not None, page.text
    assert "FAILING" in row.group(0) and "file: " in row.group(0)
    assert "open incident: failing" in row.group(0)
    assert 'id="feed-outlet-a"' in page.text and "state-ok" in page.text
    assert "1 the desk cannot see" in page.text


def test_the_rules_page_shows_cases_and_thirty_days_of_alerts(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        page = get(base, "/rules")
        again = get(base, "/rules")
    assert page.status_code == 200 and again.text == page.text
    assert '<li class="rule failing" id="rule-kursk-watch">' in page.text
    assert '<li class="rule" id="rule-entity-list">' in page.text
    assert "1 of 2 test cases pass" in page.text
    assert "expected warning, got no alert" in page.text
    assert page.text.count('<svg class="chart"') == 2
    assert page.text.count('<rect class="bar"') == 2, "one day with alerts per rule"


def test_the_outbox_page_lists_what_waits_and_what_failed(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        page = get(base, "/outbox")
    assert page.status_code == 200
    failed = re.search(
        rf'<tr class="outbox-entry status-failed" id="outbox-{desk.failed_alert_id}">.*?</tr>',
        page.text,
        re.S,
    )
    assert failed is not None
    assert "msg_too_long" in failed.group(
        0
    ) and f"monitor retry {desk.failed_alert_id}" in failed.group(0)
    assert 'class="count-failed"' in page.text and "status-pending" in page.text


PAGES = [
    ("/", {}),
    ("/", {"q": PAYLOAD, "rule": PAYLOAD, "channel": PAYLOAD}),
    ("/", {"severity": PAYLOAD, "limit": PAYLOAD}),
    ("/search", {"q": "kursk"}),
    ("/search", {"q": PAYLOAD, "feed": PAYLOAD, "tag": PAYLOAD, "since": PAYLOAD}),
    ("/search", {"q": f'"{PAYLOAD}"'}),
    ("/feeds", {}),
    ("/rules", {}),
    ("/outbox", {}),
    ("/nowhere" + "%3Cscript%3E", {}),
]


def test_no_page_prints_feed_text_rules_or_queries_as_markup(desk: Desk) -> None:
    with serving_console(desk.monitor) as base:
        for path, params in PAGES:
            page = get(base, path, **params)
            assert page.status_code in (200, 400, 404), (path, page.status_code)
            assert injection_problems(page.text) == [], (path, params)
            assert page.text.count("</title>") == 1 or path == "/rules", path
    assert "javascript:alert(1)" in get_text(desk, "/"), "an unsafe link is shown as text"


def get_text(desk: Desk, path: str) -> str:
    with serving_console(desk.monitor) as base:
        return get(base, path).text


def test_empty_pages_say_there_is_nothing_yet(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    with serving_console(monitor) as base:
        alerts = get(base, "/").text
        outbox = get(base, "/outbox").text
        feeds = get(base, "/feeds").text
        search = get(base, "/search", q="anything").text
    assert 'id="no-alerts"' in alerts and "No alerts yet" in alerts
    assert 'id="outbox-empty"' in outbox
    assert "not polled yet" in feeds and "never polled" in feeds
    assert 'id="no-results"' in search
