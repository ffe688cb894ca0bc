"""The web console as a server: who may read it, what every answer carries,
what it refuses, and `monitor run` serving it.

Each test starts the real console (waitress on a loopback port) over a
monitor's state and asks it with httpx, as a browser or a script would.
"""

from __future__ import annotations

import base64
import logging
import re
import signal
import socket
from pathlib import Path

import httpx
import pytest

from monitor.settings_web import WebSettings
from monitor.web.app import SECURITY_HEADERS
from monitor.web.auth import PASSWORD_ENV, TOKEN_ENV
from monitor.web.console import start_web_console
from tests.support.feed_server import FeedServer
from tests.support.feeds import rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FeedSpec, write_config
from tests.support.web_console import console_data, serving_console
from tests.test_e2e import RunningMonitor, wait_until

TOKEN = "web-token-7f3a9c-not-for-logs"
PASSWORD = "desk password ünïcode 42"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_without_secrets_loopback_is_open_and_other_hosts_are_turned_away(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    with serving_console(make_monitor()) as base:
        assert httpx.get(base + "/").status_code == 200
        port = base.rsplit(":", 1)[1]
        assert httpx.get(base + "/", headers={"Host": f"localhost:{port}"}).status_code == 200
        # A page elsewhere reaching loopback through a DNS name of its own.
        rebound = httpx.get(base + "/", headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 421
    assert "localhost only" in rebound.text


def test_a_bearer_token_opens_the_console(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    with serving_console(make_monitor(), {TOKEN_ENV: TOKEN}) as base:
        none = httpx.get(base + "/")
        wrong = httpx.get(base + "/", headers={"Authorization": "Bearer nope"})
        right = httpx.get(base + "/feeds", headers={"Authorization": f"Bearer {TOKEN}"})
    assert none.status_code == 401 and wrong.status_code == 401
    assert none.headers.get_list("WWW-Authenticate") == ['Bearer realm="monitor web console"']
    assert right.status_code == 200 and 'id="feeds"' in right.text
    assert TOKEN not in none.text + right.text


def test_a_password_makes_the_browser_prompt_and_lets_the_user_in(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    with serving_console(make_monitor(), {PASSWORD_ENV: PASSWORD}, user="desk") as base:
        none = httpx.get(base + "/")
        wrong = httpx.get(base + "/", headers={"Authorization": basic("desk", "guess")})
        other_user = httpx.get(base + "/", headers={"Authorization": basic("root", PASSWORD)})
        garbage = httpx.get(base + "/", headers={"Authorization": "Basic %%%"})
        right = httpx.get(base + "/outbox", headers={"Authorization": basic("desk", PASSWORD)})
    for refused in (none, wrong, other_user, garbage):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith('Basic realm="monitor web console"')
    assert right.status_code == 200 and 'id="outbox-counts"' in right.text
    assert PASSWORD not in right.text


def test_with_both_secrets_either_opens_it(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    secrets = {TOKEN_ENV: TOKEN, PASSWORD_ENV: PASSWORD}
    with serving_console(make_monitor(), secrets) as base:
        by_token = httpx.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}"})
        by_password = httpx.get(base + "/", headers={"Authorization": basic("monitor", PASSWORD)})
        refused = httpx.get(base + "/")
        # A secret in a Host no one checks: with credentials any Host is fine.
        port = base.rsplit(":", 1)[1]
        named = httpx.get(
            base + "/",
            headers={"Authorization": f"Bearer {TOKEN}", "Host": f"desk.example:{port}"},
        )
    assert by_token.status_code == by_password.status_code == named.status_code == 200
    assert refused.status_code == 401
    assert len(refused.headers.get_list("WWW-Authenticate")) == 2


def test_another_address_without_secrets_is_refused_and_logged(
    make_monitor: MonitorMaker, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    settings = WebSettings(enabled=True, host="0.0.0.0", port=0)
    with caplog.at_level(logging.ERROR, logger="monitor.web"):
        server = start_web_console(
            settings,
            console_data(monitor),
            clock=monitor.clock,
            snapshot=lambda: monitor.snapshot,
            environ={},
        )
    assert server is None
    assert "not serving the web console: it would serve 0.0.0.0 without credentials" in caplog.text
    assert "[web] open = true" in caplog.text


def test_every_answer_carries_the_security_headers(
    make_monitor: MonitorMaker, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    with serving_console(make_monitor(), {TOKEN_ENV: TOKEN}) as base:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        answers = {
            "page": httpx.get(base + "/rules", headers=auth),
            "stylesheet": httpx.get(base + "/static/console.css", headers=auth),
            "missing": httpx.get(base + "/nowhere", headers=auth),
            "unauthorized": httpx.get(base + "/"),
            "post": httpx.post(base + "/", headers=auth, data={"a": "b"}),
        }
    assert [a.status_code for a in answers.values()] == [200, 200, 404, 401, 405]
    for what, answer in answers.items():
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (what, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert answers["stylesheet"].headers["Content-Type"].startswith("text/css")


def test_it_is_read_only(make_monitor: MonitorMaker, feed_server: FeedServer) -> None:
    feed_server.set("/news", rss([]))
    with serving_console(make_monitor()) as base:
        answers = [
            httpx.request(method, base + path)
            for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS")
            for path in ("/", "/search", "/nowhere")
        ]
        head = httpx.head(base + "/feeds")
    assert {a.status_code for a in answers} == {405}
    assert all(a.headers["Allow"] == "GET, HEAD" for a in answers)
    assert head.status_code == 200 and head.content == b""


def test_a_port_in_use_is_logged_and_nothing_else_breaks(
    make_monitor: MonitorMaker, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="monitor.web"):
            server = start_web_console(
                WebSettings(enabled=True, port=port),
                console_data(monitor),
                clock=monitor.clock,
                snapshot=lambda: monitor.snapshot,
                environ={},
            )
    assert server is None
    assert f"cannot serve the web console on 127.0.0.1:{port}" in caplog.text
    assert "running without it" in caplog.text


def test_secrets_never_reach_the_log(
    make_monitor: MonitorMaker, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.set("/news", rss([]))
    with (
        caplog.at_level(logging.DEBUG),
        serving_console(make_monitor(), {TOKEN_ENV: TOKEN, PASSWORD_ENV: PASSWORD}) as base,
    ):
        httpx.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert "serving the web console on http://127.0.0.1:" in caplog.text
    assert f"a bearer token ({TOKEN_ENV})" in caplog.text
    assert TOKEN not in caplog.text and PASSWORD not in caplog.text


@pytest.mark.e2e
def test_monitor_run_serves_the_console_and_stops_it(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.set("/news", rss([]))
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        extra="[web]\nenabled = true\nport = 0",
    )
    monitor = RunningMonitor(config, token=None)
    try:
        monitor.wait_for_log("serving the web console on http://")
        found = re.search(r"serving the web console on http://127\.0\.0\.1:(\d+)/", monitor.log)
        assert found is not None, monitor.log
        base = f"http://127.0.0.1:{found.group(1)}"
        wait_until(lambda: feed_server.hits("/news") >= 1, "the first poll")
        feeds = httpx.get(base + "/feeds", timeout=10)
        alerts = httpx.get(base + "/", timeout=10)
    finally:
        log = monitor.stop(signal.SIGTERM)
    assert feeds.status_code == 200 and 'id="feed-news"' in feeds.text
    assert alerts.status_code == 200 and "Recent alerts" in alerts.text
    assert "stopped; outbox:" in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/", timeout=5)
