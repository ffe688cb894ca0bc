"""Credentials in feed URLs (a user name and password, a token in the query)
reach the feed's server and nowhere else: not the log (text or JSON), the
state database, `monitor status`, `monitor outbox`, /healthz, /metrics or
Slack."""

from __future__ import annotations

import base64
import functools
import io
import json
import re
import signal
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, FeedError
from monitor.pipeline.reload import keep_restart_only
from monitor.redact import Redactor, redact_url
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, run_monitor, write_config
from tests.support.slack_emulator import SlackEmulator
from tests.test_e2e import TOKEN, RunningMonitor, wait_until

PASSWORD = "pa55word-SECRET"
QUERY_TOKEN = "TOKEN-SECRET"
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, QUERY_TOKEN, BASIC)


def leaks(text: str | bytes) -> list[str]:
    """The secrets found in ``text``."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


def with_credentials(url: str) -> str:
    """``url`` (http://127.0.0.1:PORT/path) with a user and password, and a token."""
    return url.replace("http://", f"http://user:{PASSWORD}@", 1) + f"?token={QUERY_TOKEN}&page=2"


def shown(url: str) -> str:
    """What the monitor shows of ``with_credentials(url)``."""
    return url.replace("http://", "http://***@", 1) + "?token=***&page=2"


def refused_url() -> str:
    """A loopback address nothing listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed"


def news(n: int, published: datetime, *, linked: bool = True) -> Entry:
    """An item a shipped rule alerts on. Its guid is no URI: the item's
    identity is qualified with the feed's URL. Its link is relative,
    resolved against the feed's URL; without one, the guid is all that
    tells the item was seen."""
    return Entry(
        f"North Korean soldiers captured in combat in Kursk region, Ukraine says ({n})",
        link=f"item/{n}" if linked else None,
        guid=f"story-{n}",
        published=published,
    )


# --- redact_url and the text scrubber, as pure functions -------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://user:pa55word@feeds.example/rss?token=abc&page=2",
            "http://***@feeds.example/rss?token=***&page=2",
        ),
        # A token as the user name (as GitHub's are): the whole userinfo goes.
        ("https://ghp_0123456789abcdef@github.example/feed", "https://***@github.example/feed"),
        (
            "https://feeds.example/rss?API_KEY=k1&Sig=s2&q=korea",
            "https://feeds.example/rss?API_KEY=***&Sig=***&q=korea",
        ),
        (
            "https://feeds.example/rss?access_token=a%2Fb#frag",
            "https://feeds.example/rss?access_token=***#frag",
        ),
        (
            "https://feeds.example/cb#access_token=xyz&state=1",
            "https://feeds.example/cb#access_token=***&state=1",
        ),
        # Nothing secret: the URL comes back character for character.
        ("https://feeds.example/rss?page=2&q=a%20b&", "https://feeds.example/rss?page=2&q=a%20b&"),
        ("https://feeds.example/rss?token=&key", "https://feeds.example/rss?token=&key"),
        ("feeds/local.xml", "feeds/local.xml"),
        ("file:///srv/feeds/local.xml", "file:///srv/feeds/local.xml"),
        # A password holding an "@": everything before the host's "@" goes.
        ("http://u:p@ss@feeds.example/rss", "http://***@feeds.example/rss"),
        # Malformed (an unclosed IPv6 literal): redacted as text, no exception.
        ("http://user:pa55word@[::1/rss?token=abc", "http://***@[::1/rss?token=***"),
    ],
)
def test_redact_url_hides_userinfo_and_secret_parameters(url: str, expected: str) -> None:
    """The form every feed URL is shown and stored in."""
    assert redact_url(url) == expected
    assert redact_url(expected) == expected, "a redacted URL redacts to itself"


def test_configured_parameters_are_secret_too_whatever_their_case() -> None:
    redactor = Redactor.for_urls([], ["x-desk-key"])
    assert redactor.url("https://f.example/rss?X-Desk-Key=v1&token=v2&page=3") == (
        "https://f.example/rss?X-Desk-Key=***&token=***&page=3"
    )


def test_the_scrubber_hides_known_values_in_every_spelling_and_urls_by_their_shape() -> None:
    """Library errors quote a URL's path and query, decoded or encoded."""
    feed = "http://desk:s3cret%2Fpass@feeds.example/rss?token=tok%20en-123&page=2"
    redactor = Redactor.for_urls([feed])
    for message, expected in [
        (
            "Max retries exceeded with url: /rss?token=tok%20en-123&page=2 (Caused by X)",
            "Max retries exceeded with url: /rss?token=***&page=2 (Caused by X)",
        ),
        ("login as desk with s3cret/pass refused", "login as desk with *** refused"),
        ("value tok en-123 rejected", "value *** rejected"),
        ("header Basic " + base64.b64encode(b"desk:s3cret/pass").decode(), "header Basic ***"),
        # Any URL's userinfo and any secret parameter, known or not.
        (
            "redirected to 'https://a:b@other.example/x?sig=zz9'",
            "redirected to 'https://***@other.example/x?sig=***'",
        ),
        # Words of the message that are no secret stay.
        ("poll feed=news key=value page=2 (desk)", "poll feed=news key=value page=2 (desk)"),
    ]:
        assert redactor.text(message) == expected
        assert redactor.text(expected) == expected


def test_short_values_are_hidden_in_urls_but_not_hunted_in_free_text() -> None:
    """A value of a few characters is too likely an ordinary word of the message."""
    redactor = Redactor.for_urls(["http://bob:pw@feeds.example/rss?sid=42"])
    assert redactor.url("http://bob:pw@feeds.example/rss?sid=42") == (
        "http://***@feeds.example/rss?sid=***"
    )
    assert redactor.text("bob polled 42 feeds") == "bob polled 42 feeds"


def test_a_feed_error_keeps_its_kind_and_loses_its_secrets() -> None:
    redactor = Redactor.for_urls([f"http://feeds.example/rss?token={QUERY_TOKEN}"])
    error = redactor.error(FeedError("connect", f"refused: /rss?token={QUERY_TOKEN}"))
    assert (error.kind, str(error)) == ("connect", "refused: /rss?token=***")


# --- config -------------------------------------------------------------------------


def test_secret_query_params_are_checked_and_a_reload_applies_them(tmp_path: Path) -> None:
    """Unlike the other fetch settings, a reload applies secret_query_params
    at once: a feed added in the same edit must not show its secret."""
    path = write_config(tmp_path, [])
    path.write_text(
        path.read_text().replace("[fetch]\n", '[fetch]\nsecret_query_params = ["X-Desk-Key"]\n')
    )
    loaded = load_config(path)
    assert loaded.config.fetch.secret_query_params == ["x-desk-key"]
    assert loaded.config.redactor().url("http://f.example/?x-desk-key=v") == (
        "http://f.example/?x-desk-key=***"
    )
    changed = loaded.config.model_copy(
        update={"fetch": loaded.config.fetch.model_copy(update={"secret_query_params": ["acct"]})}
    )
    running, restart_only = keep_restart_only(loaded.config, changed)
    assert restart_only == []
    assert running.fetch.secret_query_params == ["acct"]

    path.write_text(path.read_text().replace('"X-Desk-Key"', '"a=b"'))
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "secret_query_params entries must be query parameter names" in str(refused.value)


def test_config_errors_show_a_feed_url_redacted(tmp_path: Path) -> None:
    """`monitor check` and a refused reload print the problem, not the password."""
    url = f"http://user:{PASSWORD}@feeds.example/rss?token={QUERY_TOKEN}"
    bad_port = url.replace("feeds.example", "feeds.example:99999")
    for feeds, expected in [
        ([FeedSpec("a", bad_port)], "invalid URL 'http://***@feeds.example:99999/rss?token=***'"),
        (
            [FeedSpec("a", url), FeedSpec("b", url)],
            "two feeds have the same url 'http://***@feeds.example/rss?token=***'",
        ),
    ]:
        with pytest.raises(ConfigError) as refused:
            load_config(write_config(tmp_path, feeds))
        assert expected in str(refused.value)
        assert leaks(str(refused.value)) == []


def test_feeds_whose_urls_differ_only_in_their_secrets_are_refused_until_told_apart(
    tmp_path: Path,
) -> None:
    """Two accounts' private feeds at one address would be one feed to the
    monitor (their items one item): config.toml is refused, saying how to
    tell them apart."""
    url = "https://feeds.example/private?token="
    feeds = [FeedSpec("alice", url + "alice-0123456"), FeedSpec("bob", url + "bob-0123456")]
    with pytest.raises(ConfigError) as refused:
        load_config(write_config(tmp_path, feeds))
    assert (
        "feeds 'alice' and 'bob' have URLs that differ only in their secrets "
        "('https://feeds.example/private?token=***' with the secrets hidden)"
    ) in str(refused.value)
    assert "such as #bob (not sent to the server)" in str(refused.value)
    assert "alice-0123456" not in str(refused.value)

    told_apart = [FeedSpec(f.name, f"{f.url}#{f.name}") for f in feeds]
    assert len(load_config(write_config(tmp_path, told_apart)).config.feeds) == 2


# --- the state database and the source a feed is ---------------------------------------


def test_a_new_password_is_the_same_source(tmp_path: Path, feed_server: FeedServer) -> None:
    """Changing a feed's password or token does not make it a new feed: its
    next new item alerts (a new feed's backlog would be baselined)."""
    now = datetime.now(UTC)
    feed_server.set("/f", rss([news(1, now - timedelta(hours=12))]), etag='"v1"')
    url = with_credentials(feed_server.url("/f"))

    def poll(feed_url: str) -> tuple[int, bool]:
        monitor = build_monitor(
            load_config(write_config(tmp_path, [FeedSpec("f", feed_url)])), console=io.StringIO()
        )
        try:
            (report,) = monitor.poll_all()
        finally:
            monitor.close()
        assert report.ok, report.error
        return report.alerts, report.first_read

    assert poll(url) == (0, True), "a new feed's half-day-old backlog is baselined"
    feed_server.set(
        "/f",
        rss([news(2, now - timedelta(hours=12)), news(1, now - timedelta(hours=12))]),
        etag='"v2"',
    )
    new_secrets = url.replace(PASSWORD, "n3w-pa55word").replace(QUERY_TOKEN, "N3W-TOKEN")
    assert poll(new_secrets) == (1, False), "the half-day-old new item alerts: same source"
    asked = [
        r.headers.get("if-none-match") for r in feed_server.requests if r.path.startswith("/f")
    ]
    assert asked == [None, '"v1"'], "its validators still apply"


def test_state_written_in_the_clear_by_an_older_version_is_redacted_at_start(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """An older version stored the feed URL with its secrets, and qualified
    item identities with it. At start the monitor rewrites them redacted,
    items included, so that nothing alerts a second time, and no trace of
    the secret is left in the file."""
    now = datetime.now(UTC)
    backlog = [news(n, now - timedelta(hours=12), linked=False) for n in (1, 2)]
    feed_server.set("/f", rss(backlog))
    url = with_credentials(feed_server.url("/f"))
    config = write_config(tmp_path, [FeedSpec("f", url)])
    monitor = build_monitor(load_config(config), console=io.StringIO())
    try:
        assert [r.alerts for r in monitor.poll_all()] == [0]
    finally:
        monitor.close()
    database = tmp_path / "state" / "monitor.db"
    with sqlite3.connect(database) as db:  # what an older version left
        redacted = shown(feed_server.url("/f"))
        db.execute(
            "UPDATE feeds SET url = ?, last_error = ?",
            (url, f"connect: refused for {url}"),
        )
        db.execute("UPDATE seen SET key = replace(key, ?, ?)", (redacted, url))
        db.execute(
            "INSERT INTO incidents (feed, kind, since, detail, opened_at, closed_at) "
            "VALUES ('f', 'failing', ?, ?, ?, ?)",
            (now.isoformat(), f"cannot read {url}", now.isoformat(), now.isoformat()),
        )
    db.close()
    assert leaks(database.read_bytes())

    feed_server.set("/f", rss([news(3, now - timedelta(hours=12), linked=False), *backlog]))
    console = io.StringIO()
    monitor = build_monitor(load_config(config), console=console)
    try:
        (report,) = monitor.poll_all()
        assert (report.new, report.alerts) == (1, 1), "only the new item alerts"
        assert monitor.deliver_due().sent == 1
    finally:
        monitor.close()
    assert "(3)" in console.getvalue() and "(1)" not in console.getvalue()
    for path in database.parent.iterdir():
        assert leaks(path.read_bytes()) == [], path.name


def test_replay_names_a_source_by_its_redacted_url(tmp_path: Path, feed_server: FeedServer) -> None:
    """`monitor replay` (plain and --explain) names a source no feed lists,
    and one that fails, by its URL with the secrets hidden."""
    feed_server.set("/f", rss([news(1, datetime.now(UTC))]))
    feed_server.set("/down", "down", status=500, content_type="text/plain")
    config = write_config(tmp_path, [])
    source, failing = (with_credentials(feed_server.url(path)) for path in ("/f", "/down"))
    for option in ("--json", "--explain"):
        replayed = run_monitor(
            "replay",
            source,
            failing,
            option,
            "--tag",
            "news",
            "--config",
            str(config),
            cwd=tmp_path,
        )
        output = replayed.stdout + replayed.stderr
        assert replayed.returncode == 1, output
        assert leaks(output) == [], output
        assert shown(feed_server.url("/f")) in replayed.stdout
        assert f"{shown(feed_server.url('/down'))}: http: HTTP 500" in replayed.stderr


# --- every output of a running monitor ----------------------------------------------


@pytest.mark.e2e
def test_feed_credentials_reach_the_feed_server_and_no_output(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """Three feeds with a password and a token in their URLs: one works, one
    answers 500 and one refuses connections, long enough for ops alerts.
    The feed's server gets the credentials; the log (text and JSON),
    Slack, /healthz, /metrics, `monitor status` (text and --json),
    `monitor outbox` and every byte of the state database show the URLs
    redacted and hold neither secret."""
    slack_emulator.token = TOKEN
    now = datetime.now(UTC)
    feed_server.set("/secure", rss([news(1, now), news(2, now, linked=False)]))
    feed_server.set("/broken", "server error", status=500, content_type="text/plain")
    refused = refused_url()
    feeds = {
        "secure": with_credentials(feed_server.url("/secure")),
        "broken": with_credentials(feed_server.url("/broken")),
        "refused": with_credentials(refused),
    }
    config = write_config(
        tmp_path,
        [FeedSpec(name, url, interval="1s") for name, url in feeds.items()],
        slack_api_url=slack_emulator.base_url,
        extra='[ops]\nfailing_after = "1s"\n',
    )

    def slack_says(text: str) -> bool:
        return any(text in message.text for message in slack_emulator.messages)

    monitor = RunningMonitor(config)
    try:
        wait_until(lambda: slack_says("North Korean soldiers captured"), "the item's alert")
        for failing in ("Feed broken has been failing", "Feed refused has been failing"):
            wait_until(functools.partial(slack_says, failing), failing)
        served = re.search(r"serving /healthz and /metrics on (http://[\d.:]+/)", monitor.log)
        assert served is not None, monitor.log
        health = httpx.get(served.group(1) + "healthz").text
        metrics = httpx.get(served.group(1) + "metrics").text
    finally:
        run_log = monitor.stop(signal.SIGTERM)
    assert "failing_feeds" in health and 'monitor_polls_total{feed="broken"' in metrics

    status = run_monitor("status", "--config", str(config), cwd=tmp_path)
    status_json = run_monitor("status", "--json", "--config", str(config), cwd=tmp_path)
    outbox = run_monitor("outbox", "--all", "--config", str(config), cwd=tmp_path)
    once = run_monitor("once", "--log-format", "json", "--config", str(config), cwd=tmp_path)
    json_log = [json.loads(line) for line in once.stderr.splitlines() if line.startswith("{")]

    # Every output, for each secret.
    outputs: dict[str, str | bytes] = {
        "text log": run_log,
        "JSON log": once.stderr,
        "monitor once": once.stdout,
        "slack": json.dumps(slack_emulator.calls),
        "/healthz": health,
        "/metrics": metrics,
        "status": status.stdout + status.stderr,
        "status --json": status_json.stdout + status_json.stderr,
        "outbox": outbox.stdout + outbox.stderr,
    }
    for path in (tmp_path / "state").iterdir():
        outputs[path.name] = path.read_bytes()
    assert {where: leaks(text) for where, text in outputs.items() if leaks(text)} == {}

    # What is shown instead.
    broken = shown(feed_server.url("/broken"))
    assert f"poll feed=broken FAILED (http): HTTP 500 Internal Server Error [url {broken}]" in (
        run_log
    )
    assert any(
        (record["level"], record["message"])
        == (
            "ERROR",
            f"poll feed=broken FAILED (http): HTTP 500 Internal Server Error [url {broken}]",
        )
        for record in json_log
    ), once.stderr
    by_feed = {row["feed"]: row for row in map(json.loads, status_json.stdout.splitlines())}
    assert {name: row["url"] for name, row in by_feed.items()} == {
        "secure": shown(feed_server.url("/secure")),
        "broken": broken,
        "refused": shown(refused),
    }
    assert by_feed["refused"]["last_error_kind"] == "connect"
    (ops_alert,) = [m for m in slack_emulator.messages if "Feed broken has been failing" in m.text]
    assert broken in json.dumps(ops_alert.payload), "the ops alert links the redacted URL"
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:
        stored = dict(db.execute("SELECT name, url FROM feeds").fetchall())
        keys = [key for (key,) in db.execute("SELECT key FROM seen WHERE feed = 'secure'")]
    assert stored["secure"] == shown(feed_server.url("/secure"))
    assert f"guid:{shown(feed_server.url('/secure'))}#story-2" in keys

    # ... while the feed's server got them, as Basic authorization and in the query.
    secure = [r for r in feed_server.requests if r.path.startswith("/secure")]
    assert secure and all(r.headers.get("authorization") == f"Basic {BASIC}" for r in secure)
    assert all(r.path == f"/secure?token={QUERY_TOKEN}&page=2" for r in secure)
