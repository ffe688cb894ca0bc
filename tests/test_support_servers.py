"""Tests of the loopback test servers themselves, driven by the real clients the app uses.

The integration tests trust FeedServer and SlackEmulator to behave like real feed hosts and
like Slack; these tests pin that behaviour down with httpx and slack_sdk.WebClient, so a
failure in an integration test points at the monitor, not at its test doubles.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.feed_server import FeedServer
from tests.support.slack_emulator import Fault, SlackEmulator

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title>
<item><title>Sanctions list updated</title><guid>item-1</guid></item>
</channel></rss>
"""
SLACK_TS = re.compile(r"^\d{10}\.\d{6}$")
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Alert* sanctions hit"}}]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A shared-connection httpx client, closed explicitly (warnings are errors here)."""
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def slack(slack_emulator: SlackEmulator) -> WebClient:
    """The real WebClient, without retry handlers so tests observe raw responses."""
    return WebClient(
        token=slack_emulator.token, base_url=slack_emulator.base_url, retry_handlers=[], timeout=5
    )


# --------------------------------------------------------------------------------------
# FeedServer
# --------------------------------------------------------------------------------------


def test_feed_serves_body_with_length_and_type(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.set("/wire.rss", RSS)

    response = http.get(feed_server.url("/wire.rss"))

    assert response.status_code == 200
    assert response.text == RSS
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["content-length"] == str(len(RSS.encode()))


def test_feed_status_and_extra_headers(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.set(
        "/busy", "slow down", status=503, content_type="text/plain", headers={"Retry-After": "7"}
    )

    response = http.get(feed_server.url("/busy"))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.text == "slow down"


def test_feed_etag_answers_304_when_matching(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.set("/feed", RSS, etag='"v1"')
    url = feed_server.url("/feed")

    first = http.get(url)
    again = http.get(url, headers={"If-None-Match": first.headers["etag"]})
    stale = http.get(url, headers={"If-None-Match": '"v0"'})

    assert first.status_code == 200
    assert first.headers["etag"] == '"v1"'
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == '"v1"'
    assert stale.status_code == 200
    assert stale.text == RSS


def test_feed_last_modified_answers_304_when_matching(
    feed_server: FeedServer, http: httpx.Client
) -> None:
    stamp = "Wed, 01 Jan 2025 10:00:00 GMT"
    feed_server.set("/feed", RSS, last_modified=stamp)
    url = feed_server.url("/feed")

    first = http.get(url)
    again = http.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    older = http.get(url, headers={"If-Modified-Since": "Tue, 31 Dec 2024 10:00:00 GMT"})

    assert first.headers["last-modified"] == stamp
    assert again.status_code == 304
    assert again.content == b""
    assert older.status_code == 200


def test_feed_gzip_only_when_client_accepts_it(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.set("/feed", RSS, gzip=True)
    url = feed_server.url("/feed")

    compressed = http.get(url)  # httpx sends Accept-Encoding: gzip, deflate by default
    plain = http.get(url, headers={"Accept-Encoding": "identity"})

    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.text == RSS  # decoded transparently by httpx
    assert int(compressed.headers["content-length"]) == len(gzip.compress(RSS.encode(), mtime=0))
    assert "content-encoding" not in plain.headers
    assert plain.text == RSS


def test_feed_redirect_is_followed(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.redirect("/old", "/new", status=301)
    feed_server.set("/new", RSS)

    response = http.get(feed_server.url("/old"), follow_redirects=True)

    assert response.status_code == 200
    assert response.text == RSS
    assert [r.status_code for r in response.history] == [301]
    assert str(response.url) == feed_server.url("/new")
    assert (feed_server.hits("/old"), feed_server.hits("/new")) == (1, 1)


def test_feed_unknown_path_is_404_html(feed_server: FeedServer, http: httpx.Client) -> None:
    response = http.get(feed_server.url("/missing"))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "/missing" in response.text


def test_feed_delay_causes_client_read_timeout(feed_server: FeedServer, http: httpx.Client) -> None:
    # The 30 s delay is cut short when the fixture stops the server.
    feed_server.set("/slow", RSS, delay=30.0)

    with pytest.raises(httpx.ReadTimeout):
        http.get(feed_server.url("/slow"), timeout=httpx.Timeout(5.0, read=0.2))

    assert feed_server.hits("/slow") == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["close-delimited", "chunked"])
def test_feed_stream_has_no_content_length(
    feed_server: FeedServer, http: httpx.Client, chunked: bool
) -> None:
    feed_server.set_stream("/huge", b"x" * 1024, 64, chunked=chunked)

    response = http.get(feed_server.url("/huge"))

    assert "content-length" not in response.headers
    assert (response.headers.get("transfer-encoding") == "chunked") is chunked
    assert response.content == b"x" * 1024 * 64


def test_feed_stream_survives_client_hanging_up_early(
    feed_server: FeedServer, http: httpx.Client
) -> None:
    """A client enforcing a size cap abandons the body; the server must shrug it off."""
    feed_server.set_stream("/huge", b"y" * 65536, 1000)  # ~64 MiB if read to the end
    feed_server.set("/small", RSS)
    cap = 256 * 1024

    received = 0
    with http.stream("GET", feed_server.url("/huge")) as response:
        for piece in response.iter_bytes():
            received += len(piece)
            if received > cap:
                break
        follow_up = http.get(feed_server.url("/small"))

    assert received > cap
    assert follow_up.text == RSS


def test_feed_records_requests_with_lowercased_headers(
    feed_server: FeedServer, http: httpx.Client
) -> None:
    feed_server.set("/feed", RSS)

    http.get(feed_server.url("/feed?since=1"), headers={"X-Probe": "one"})
    http.head(feed_server.url("/feed"))

    first, second = feed_server.requests
    assert (first.method, first.path) == ("GET", "/feed?since=1")
    assert first.headers["x-probe"] == "one"
    assert first.headers["host"] == f"127.0.0.1:{feed_server.port}"
    assert (second.method, second.path) == ("HEAD", "/feed")
    assert feed_server.hits("/feed") == 2
    assert feed_server.hits("/feed?since=1") == 1
    assert feed_server.hits("/other") == 0


def test_feed_route_replacement_takes_effect(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.set("/feed", "version one")
    before = http.get(feed_server.url("/feed")).text
    feed_server.set("/feed", "version two", etag='"2"')
    after = http.get(feed_server.url("/feed"))
    feed_server.remove("/feed")
    gone = http.get(feed_server.url("/feed"))

    assert before == "version one"
    assert (after.text, after.headers["etag"]) == ("version two", '"2"')
    assert gone.status_code == 404


def test_feed_counts_concurrency_per_host(feed_server: FeedServer) -> None:
    """Hold three requests open at once, two for one Host and one for another."""
    feed_server.set("/slow", RSS, delay=30.0)
    statuses: list[int] = []
    lock = threading.Lock()

    def fetch(host: str) -> None:
        response = httpx.get(feed_server.url("/slow"), headers={"Host": host}, timeout=30.0)
        with lock:
            statuses.append(response.status_code)

    workers = [
        threading.Thread(target=fetch, args=(host,))
        for host in ("a.example", "a.example", "b.example")
    ]
    for worker in workers:
        worker.start()
    feed_server.wait_for_in_flight(3)
    peaks = (
        feed_server.max_concurrent("a.example"),
        feed_server.max_concurrent("B.EXAMPLE:80"),
        feed_server.max_concurrent(),
        feed_server.max_concurrent("unseen.example"),
    )
    feed_server.release_delays()
    for worker in workers:
        worker.join(timeout=10)

    assert peaks == (2, 1, 3, 0)
    assert statuses == [200, 200, 200]


def test_feed_stop_interrupts_delay_promptly() -> None:
    """stop() must not wait out an artificial delay (the test would hang for 60 s)."""
    failures: list[Exception] = []
    with FeedServer() as server:
        server.set("/slow", RSS, delay=60.0)

        def fetch() -> None:
            try:
                httpx.get(server.url("/slow"), timeout=60.0)
            except httpx.HTTPError as error:
                failures.append(error)

        worker = threading.Thread(target=fetch)
        worker.start()
        server.wait_for_in_flight(1)
        server.stop()  # what the test is about; __exit__ then finds it already stopped
        worker.join(timeout=10)

    assert not worker.is_alive()
    assert len(failures) == 1  # connection dropped without a response
    assert isinstance(failures[0], httpx.RemoteProtocolError)


# --------------------------------------------------------------------------------------
# SlackEmulator
# --------------------------------------------------------------------------------------


def test_no_proxy_env_clears_proxies() -> None:
    assert not {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} & set(os.environ)
    assert os.environ["NO_PROXY"] == "127.0.0.1,localhost"


def test_slack_auth_test(slack: WebClient) -> None:
    response = slack.auth_test()

    assert response["ok"] is True
    assert response["user_id"]
    assert response["bot_id"]
    assert response["team"]


def test_slack_post_is_recorded_with_text_and_blocks(
    slack: WebClient, slack_emulator: SlackEmulator
) -> None:
    response = slack.chat_postMessage(channel="C-ALERTS", text="sanctions hit", blocks=BLOCKS)

    (message,) = slack_emulator.messages
    assert response["ok"] is True
    assert response["channel"] == "C-ALERTS"
    assert response["ts"] == message.ts
    assert SLACK_TS.match(message.ts)
    assert response["message"]["text"] == "sanctions hit"
    assert (message.channel, message.text, message.blocks) == ("C-ALERTS", "sanctions hit", BLOCKS)
    assert message.thread_ts is None
    assert message.payload["channel"] == "C-ALERTS"


def test_slack_accepts_form_encoded_post_with_json_blocks(
    slack: WebClient, slack_emulator: SlackEmulator
) -> None:
    """Form bodies carry blocks as a JSON string; the emulator must decode it."""
    slack.api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "form", "blocks": json.dumps(BLOCKS)},
    )

    (message,) = slack_emulator.messages
    assert message.blocks == BLOCKS
    assert message.text == "form"


def test_slack_timestamps_strictly_increase(
    slack: WebClient, slack_emulator: SlackEmulator
) -> None:
    for n in range(5):
        slack.chat_postMessage(channel="C1", text=f"m{n}")

    stamps = [m.ts for m in slack_emulator.messages]
    assert all(SLACK_TS.match(ts) for ts in stamps)
    assert [float(ts) for ts in stamps] == sorted({float(ts) for ts in stamps})


def test_slack_post_requires_channel_and_content(slack: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_channel:
        slack.api_call("chat.postMessage", json={"text": "orphan"})
    with pytest.raises(SlackApiError) as no_text:
        slack.api_call("chat.postMessage", json={"channel": "C1"})

    assert no_channel.value.response["error"] == "channel_not_found"
    assert no_text.value.response["error"] == "no_text"


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), (None, "not_authed")])
def test_slack_rejects_bad_or_missing_token(
    slack_emulator: SlackEmulator, token: str | None, error: str
) -> None:
    client = WebClient(token=token, base_url=slack_emulator.base_url, retry_handlers=[])

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == error
    assert slack_emulator.messages == []
    assert [method for method, _ in slack_emulator.calls] == ["chat.postMessage"]


def test_slack_unknown_method_is_404(slack: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack.api_call("chat.teleport", json={"channel": "C1"})

    assert raised.value.response.status_code == 404
    assert raised.value.response["error"] == "unknown_method"


def test_slack_rate_limited_then_recovers(slack: WebClient, slack_emulator: SlackEmulator) -> None:
    slack_emulator.queue_faults("chat.postMessage", Fault.rate_limited(retry_after=3))

    with pytest.raises(SlackApiError) as raised:
        slack.chat_postMessage(channel="C1", text="first try")
    retried = slack.chat_postMessage(channel="C1", text="second try")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    assert raised.value.response["error"] == "ratelimited"
    assert retried["ok"] is True
    assert [m.text for m in slack_emulator.messages] == ["second try"]
    assert len(slack_emulator.calls_to("chat.postMessage")) == 2


def test_slack_server_error(slack: WebClient, slack_emulator: SlackEmulator) -> None:
    slack_emulator.queue_faults("chat.postMessage", Fault.server_error(503))

    with pytest.raises(SlackApiError) as raised:
        slack.chat_postMessage(channel="C1", text="during outage")

    assert raised.value.response.status_code == 503
    assert slack_emulator.messages == []
    assert slack.chat_postMessage(channel="C1", text="after outage")["ok"] is True


def test_slack_faults_are_fifo_per_method(slack: WebClient, slack_emulator: SlackEmulator) -> None:
    slack_emulator.queue_faults(
        "chat.postMessage", Fault.error("channel_not_found"), Fault.error("is_archived")
    )

    slack.auth_test()  # other methods are unaffected
    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            slack.chat_postMessage(channel="C1", text="x")
        errors.append((raised.value.response.status_code, raised.value.response["error"]))
    slack.chat_postMessage(channel="C1", text="x")

    assert errors == [(200, "channel_not_found"), (200, "is_archived")]
    assert len(slack_emulator.messages) == 1


def test_slack_failed_channel_until_healed(slack: WebClient, slack_emulator: SlackEmulator) -> None:
    slack_emulator.fail_channel("C-GONE", error="is_archived")

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            slack.chat_postMessage(channel="C-GONE", text="lost")
        assert raised.value.response["error"] == "is_archived"
    slack.chat_postMessage(channel="C-OK", text="fine")
    slack_emulator.heal_channel("C-GONE")
    slack.chat_postMessage(channel="C-GONE", text="back")

    assert [(m.channel, m.text) for m in slack_emulator.messages] == [
        ("C-OK", "fine"),
        ("C-GONE", "back"),
    ]


def test_slack_accept_then_hang_times_out_but_records(slack_emulator: SlackEmulator) -> None:
    """The client gives up, yet Slack kept the message: the duplicate-post trap."""
    client = WebClient(
        token=slack_emulator.token, base_url=slack_emulator.base_url, timeout=1, retry_handlers=[]
    )
    slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(30))

    # urllib raises the raw socket timeout from getresponse(): not URLError, not SlackApiError.
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="delivered anyway")

    assert [m.text for m in slack_emulator.messages] == ["delivered anyway"]


def test_slack_update_in_place(slack: WebClient, slack_emulator: SlackEmulator) -> None:
    posted = slack.chat_postMessage(channel="C1", text="draft", blocks=BLOCKS)
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "resolved"}}]

    updated = slack.chat_update(channel="C1", ts=posted["ts"], text="final", blocks=new_blocks)
    with pytest.raises(SlackApiError) as missing:
        slack.chat_update(channel="C1", ts="1.000001", text="nope")

    (message,) = slack_emulator.messages
    (update,) = slack_emulator.updates
    assert updated["ts"] == posted["ts"]
    assert (message.ts, message.text, message.blocks) == (posted["ts"], "final", new_blocks)
    assert (update.channel, update.ts, update.text) == ("C1", posted["ts"], "final")
    assert missing.value.response["error"] == "message_not_found"


def test_slack_history_is_newest_first_without_replies(
    slack: WebClient, slack_emulator: SlackEmulator
) -> None:
    first = slack.chat_postMessage(channel="C1", text="one")["ts"]
    slack.chat_postMessage(channel="C1", text="reply", thread_ts=first)
    second = slack.chat_postMessage(channel="C1", text="two")["ts"]
    slack.chat_postMessage(channel="C2", text="elsewhere")

    history = slack.conversations_history(channel="C1")
    limited = slack.conversations_history(channel="C1", limit=1)
    newer = slack.conversations_history(channel="C1", oldest=first)

    assert [m["text"] for m in history["messages"]] == ["two", "one"]
    assert [m["ts"] for m in history["messages"]] == [second, first]
    parent = history["messages"][1]
    assert (parent["thread_ts"], parent["reply_count"]) == (first, 1)
    assert "thread_ts" not in history["messages"][0]
    assert ([m["text"] for m in limited["messages"]], limited["has_more"]) == (["two"], True)
    assert [m["text"] for m in newer["messages"]] == ["two"]
    assert [m.text for m in slack_emulator.top_level("C1")] == ["one", "two"]
    assert [m.text for m in slack_emulator.replies_to(first)] == ["reply"]


def test_slack_replies_and_permalink(slack: WebClient) -> None:
    parent = slack.chat_postMessage(channel="C1", text="parent")["ts"]
    slack.chat_postMessage(channel="C1", text="r1", thread_ts=parent)
    slack.chat_postMessage(channel="C1", text="r2", thread_ts=parent)

    thread = slack.conversations_replies(channel="C1", ts=parent)
    link = slack.chat_getPermalink(channel="C1", message_ts=parent)

    assert [m["text"] for m in thread["messages"]] == ["parent", "r1", "r2"]
    assert link["permalink"].endswith("/archives/C1/p" + parent.replace(".", ""))


def test_slack_wait_for_messages(slack_emulator: SlackEmulator) -> None:
    def post_later() -> None:
        client = WebClient(token=slack_emulator.token, base_url=slack_emulator.base_url)
        for n in range(3):
            client.chat_postMessage(channel="C1", text=f"bg{n}")

    poster = threading.Thread(target=post_later)
    poster.start()
    messages = slack_emulator.wait_for_messages(3)
    poster.join(timeout=10)

    assert [m.text for m in messages] == ["bg0", "bg1", "bg2"]


def test_slack_wait_for_messages_reports_what_arrived(
    slack: WebClient, slack_emulator: SlackEmulator
) -> None:
    slack.chat_postMessage(channel="C1", text="only one")

    with pytest.raises(AssertionError, match=r"got 1.*only one"):
        slack_emulator.wait_for_messages(2, timeout=0.1)


def test_slack_queue_faults_rejects_unknown_method(slack_emulator: SlackEmulator) -> None:
    with pytest.raises(ValueError, match=r"chat\.postMesage"):
        slack_emulator.queue_faults("chat.postMesage", Fault.error("x"))
