"""The web console's pure pieces: who gets in, what a query string asks for,
which links may be links, how a chart is drawn, and rule cases run once
per rule set. What the desk sees through them is in test_web_pages and
test_web_console; these pin the rules down case by case."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from pathlib import Path

import pytest

from monitor.domain.severity import Severity
from monitor.rules.load import load_rules
from monitor.store.alert_log import AlertQuery, DailyAlertCount
from monitor.web.auth import (
    PASSWORD_ENV,
    TOKEN_ENV,
    Credentials,
    authorized,
    challenges,
    is_loopback,
    loopback_host_header,
    refusal,
)
from monitor.web.charts import MIN_BAR, counts_by_rule, day_chart
from monitor.web.filters import (
    DEFAULT_LIMIT,
    AlertPage,
    alert_page,
    older_args,
    search_request,
)
from monitor.web.links import safe_href, shorten
from monitor.web.rows import CaseResults

BOTH = Credentials(user="desk", token="t0ken", password="pässword")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("Bearer t0ken", True),
        ("bearer   t0ken ", True),
        ("Bearer t0ken2", False),
        ("Bearer ", False),
        (basic("desk", "pässword"), True),
        (basic("desk", "password"), False),
        (basic("Desk", "pässword"), False),
        (basic("desk", "pässword:extra"), False),
        ("Basic not-base64!", False),
        ("Basic " + base64.b64encode(b"no colon").decode(), False),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), False),
        ("Digest t0ken", False),
        ("", False),
        (None, False),
    ],
)
def test_a_request_gets_in_with_the_token_or_the_user_and_password(
    header: str | None, allowed: bool
) -> None:
    assert authorized(BOTH, header) is allowed


def test_each_secret_opens_only_its_own_scheme() -> None:
    token_only = Credentials(user="monitor", token="t0ken")
    password_only = Credentials(user="monitor", password="t0ken")
    assert not authorized(token_only, basic("monitor", "t0ken"))
    assert not authorized(password_only, "Bearer t0ken")
    assert challenges(token_only) == ['Bearer realm="monitor web console"']
    assert challenges(password_only) == ['Basic realm="monitor web console", charset="UTF-8"']
    assert authorized(Credentials(user="monitor"), None), "nothing set: nothing asked"


def test_credentials_come_from_the_environment_and_never_show_their_secrets() -> None:
    found = Credentials.from_environ({TOKEN_ENV: " abc ", PASSWORD_ENV: "  "}, user="desk")
    assert (found.token, found.password, found.required) == ("abc", None, True)
    assert "abc" not in repr(found) and "abc" not in found.describe()
    assert found.describe() == f"a bearer token ({TOKEN_ENV})"
    assert Credentials.from_environ({}, user="desk").describe() == "no credentials"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("desk.example", False),
        ("", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_address_beyond_loopback_needs_a_secret_or_open() -> None:
    nobody = Credentials(user="monitor")
    assert refusal("127.0.0.1", nobody, open_to_all=False) is None
    assert refusal("0.0.0.0", BOTH, open_to_all=False) is None
    assert refusal("0.0.0.0", nobody, open_to_all=True) is None
    why = refusal("0.0.0.0", nobody, open_to_all=False)
    assert why is not None and TOKEN_ENV in why and PASSWORD_ENV in why and "open = true" in why


@pytest.mark.parametrize(
    ("host_header", "loopback"),
    [
        ("127.0.0.1:9109", True),
        ("localhost:9109", True),
        ("localhost", True),
        ("[::1]:9109", True),
        ("evil.example:9109", False),
        ("127.0.0.1.evil.example", False),
        ("[::1", False),
        ("[::1]9109", False),
        ("127.0.0.1:http", False),
        ("::1", False),
        (None, False),
    ],
)
def test_host_headers_that_name_loopback(host_header: str | None, loopback: bool) -> None:
    assert loopback_host_header(host_header) is loopback


def test_the_alerts_page_reads_its_filters() -> None:
    page = alert_page(
        {"rule": " r1 ", "severity": "Critical", "channel": "#ops", "q": "kursk", "limit": "20"}
    )
    assert page.problem is None
    assert page.query == AlertQuery(
        rule_id="r1", severity=Severity.CRITICAL, channel="#ops", text="kursk"
    )
    assert page.limit == 20
    assert page.args() == {
        "rule": "r1",
        "severity": "critical",
        "channel": "#ops",
        "q": "kursk",
        "limit": "20",
    }
    assert alert_page({"rule": "", "severity": ""}) == AlertPage(query=AlertQuery())


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"severity": "loud"}, "severity must be one of info, warning, critical (got 'loud')"),
        ({"limit": "0"}, "limit must be from 1 to 200 (got 0)"),
        ({"limit": "1000"}, "limit must be from 1 to 200 (got 1000)"),
        ({"before": "x"}, "before must be a whole number (got 'x')"),
        ({"before": "-3"}, "before must be from 1 to 4611686018427387904 (got -3)"),
        ({"before": str(10**30)}, f"before must be from 1 to 4611686018427387904 (got {10**30})"),
    ],
)
def test_a_bad_filter_is_named(args: dict[str, str], problem: str) -> None:
    assert alert_page(args).problem == problem


def test_the_older_link_starts_before_the_last_alert_shown() -> None:
    page = alert_page({"rule": "r1", "limit": "2"})
    assert older_args(page, [9, 8]) is None, "no third alert: this is the last page"
    assert older_args(page, [9, 8, 5]) == {"rule": "r1", "limit": "2", "before": "8"}
    default = alert_page({})
    ids = list(range(100, 100 - DEFAULT_LIMIT - 1, -1))
    assert older_args(default, ids) == {"before": str(ids[DEFAULT_LIMIT - 1])}


def test_a_search_reads_its_window_and_names_a_bad_one() -> None:
    asked = search_request({"q": " kursk ", "since": "2d", "feed": "bbc", "tag": ""})
    assert (asked.text, asked.since, asked.feed, asked.tag, asked.problem) == (
        "kursk",
        timedelta(days=2),
        "bbc",
        None,
        None,
    )
    assert search_request({}).text == ""
    bad = search_request({"q": "x", "since": "soon"}).problem
    assert bad is not None and bad.startswith("since: invalid duration 'soon'")
    assert (
        search_request({"q": "x", "since": "0s"}).problem
        == "since: not a duration from 1s to 3650 days: '0s'"
    )
    assert (
        search_request({"q": "x", "since": "4000d"}).problem
        == "since: not a duration from 1s to 3650 days: '4000d'"
    )
    assert (
        search_request({"q": "x", "since": "1000000000d"}).problem
        == "since: duration '1000000000d' is too long: at most 999999999 days"
    )


@pytest.mark.parametrize(
    "url",
    ["https://news.example/a?b=c#d", "http://127.0.0.1:8080/x", "HTTPS://NEWS.EXAMPLE/"],
)
def test_web_links_are_hrefs(url: str) -> None:
    assert safe_href(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox",
        "//evil.example/x",
        "/relative",
        "https:evil.example",
        "https://",
        "https://news.example/a b",
        "https://news.example/\nx",
        "https:\\\\evil.example",
        "http://[not-an-ip/",
        "",
        None,
    ],
)
def test_anything_else_is_text(url: str | None) -> None:
    assert safe_href(url) is None


def test_long_text_is_cut_at_a_word() -> None:
    assert shorten("  a   short\ntext ") == "a short text"
    assert shorten("alpha beta gamma", limit=12) == "alpha beta…"
    assert shorten("x" * 20, limit=5) == "xxxxx…"
    assert shorten(None) == ""


def test_a_chart_has_a_bar_per_day_scaled_to_the_busiest() -> None:
    today = date(2026, 12, 1)
    chart = day_chart(
        {today: 10, today - timedelta(days=1): 1, today - timedelta(days=40): 99},
        last_day=today,
        days=30,
        width=300,
        height=50,
    )
    assert len(chart.bars) == 30
    assert chart.first_day == today - timedelta(days=29) and chart.last_day == today
    assert (chart.peak, chart.total) == (10, 11), "a day outside the window is left out"
    last, before = chart.bars[-1], chart.bars[-2]
    assert (last.height, last.y) == (50, 0)
    assert before.height == 5.0 and before.y == 45.0
    assert all(bar.height == 0 for bar in chart.bars[:-2])
    assert chart.bars[1].x - chart.bars[0].x == pytest.approx(10)
    assert all(bar.x >= 0 and bar.x + bar.width <= 300 for bar in chart.bars)


def test_a_quiet_day_next_to_a_busy_one_still_shows() -> None:
    today = date(2026, 12, 1)
    chart = day_chart({today: 1000, today - timedelta(days=1): 1}, last_day=today, height=40)
    assert chart.bars[-2].height == MIN_BAR


def test_a_chart_of_nothing_is_flat() -> None:
    chart = day_chart({}, last_day=date(2026, 12, 1))
    assert chart.peak == chart.total == 0 and all(bar.height == 0 for bar in chart.bars)
    with pytest.raises(ValueError):
        day_chart({}, last_day=date(2026, 12, 1), days=0)


def test_daily_counts_are_grouped_by_rule() -> None:
    day = date(2026, 12, 1)
    rows = [
        DailyAlertCount("a", day, 2),
        DailyAlertCount("b", day, 1),
        DailyAlertCount("a", day, 1),
    ]
    assert counts_by_rule(rows) == {"a": {day: 3}, "b": {day: 1}}


def test_rule_cases_run_once_per_rule_set(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "id: r\ntitle: R\nseverity: info\nmatch:\n  any: [alpha]\n"
        "tests:\n  - title: alpha here\n    expect: info\n  - title: beta\n    expect: info\n",
        encoding="utf-8",
    )
    loaded = load_rules(rules)
    cache = CaseResults()
    first = cache.of(loaded)
    assert [result.passed for result in first["r"]] == [True, False]
    assert cache.of(loaded) is first, "the same rule set: not run again"
    reloaded = load_rules(rules)
    assert cache.of(reloaded) is not first, "a reload's new rule set is run anew"
