"""Sinks by name, and what each is told.

The registry names the three sinks and the environment picks one as the
README documents; what a sink can do beyond posting (threads, one fixed
channel) is a property of its type; and a sink written here, knowing
nothing of Slack, receives neutral messages from the outbox loop: each
alert with its mentions as config writes them, then a storm's roll-up.
Real SQLite and a local feed server.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from monitor.app import Monitor
from monitor.config import load_config
from monitor.delivery.message import AlertPost, Message, Notice, RollUp
from monitor.delivery.sinks.base import (
    Posted,
    SinkSetup,
    ThreadingSink,
    posts_to_one_channel,
)
from monitor.delivery.sinks.console import ConsoleSink
from monitor.delivery.sinks.registry import build_named_sink, register_sink, sink_names
from monitor.delivery.sinks.slack import SlackSink
from monitor.delivery.sinks.webhook import WebhookSink
from monitor.wiring import build_monitor, build_sink
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FakeClock, FeedSpec, write_config

RUMOUR_RULE = "id: rumour\ntitle: Rumour\nseverity: warning\nmatch:\n  any: [rumour]\n"
ROUTES = """
[[slack.routes]]
rules = ["rumour"]
mentions = ["user:U0ANALYST"]
[slack.mentions]
warning = ["@here"]
"""


class RecordingSink:
    """A sink of the test's own: it keeps what it is asked to post."""

    destination = "recording"
    min_interval = 0.0

    def __init__(self) -> None:
        self.posts: list[tuple[str, Message]] = []

    def post(self, channel: str, message: Message) -> Posted:
        self.posts.append((channel, message))
        return Posted()


@pytest.fixture
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    return monkeypatch


def test_the_registry_names_the_three_sinks() -> None:
    assert {"slack", "webhook", "console"} <= set(sink_names())


@pytest.mark.parametrize(
    ("token", "webhook", "destination"),
    [
        ("xoxb-a-token", None, "slack"),
        ("xoxb-a-token", "https://hooks.slack.invalid/x", "slack"),
        (None, "https://hooks.slack.invalid/x", "slack-webhook"),
        (None, None, "console"),
        ("  ", "", "console"),
    ],
)
def test_the_environment_picks_the_sink_as_documented(
    tmp_path: Path,
    no_slack_env: pytest.MonkeyPatch,
    token: str | None,
    webhook: str | None,
    destination: str,
) -> None:
    """SLACK_BOT_TOKEN -> Slack, else SLACK_WEBHOOK_URL -> the webhook, else the console."""
    if token is not None:
        no_slack_env.setenv("SLACK_BOT_TOKEN", token)
    if webhook is not None:
        no_slack_env.setenv("SLACK_WEBHOOK_URL", webhook)
    loaded = load_config(write_config(tmp_path, []))
    assert build_sink(loaded).destination == destination


def test_what_a_sink_can_do_is_a_property_of_its_type() -> None:
    slack = SlackSink(WebClient(token="xoxb-x", base_url="https://slack.invalid/api/"))
    webhook = WebhookSink(WebhookClient("https://hooks.slack.invalid/x"))
    console = ConsoleSink(io.StringIO())
    assert isinstance(slack, ThreadingSink)
    assert not isinstance(webhook, ThreadingSink)
    assert not isinstance(console, ThreadingSink)
    assert not isinstance(RecordingSink(), ThreadingSink)
    assert [posts_to_one_channel(s) for s in (slack, webhook, console, RecordingSink())] == [
        False,
        True,
        False,
        False,
    ]


def test_a_sink_registered_by_name_is_built_from_its_setup() -> None:
    built: list[SinkSetup] = []

    def factory(setup: SinkSetup) -> RecordingSink:
        built.append(setup)
        return RecordingSink()

    register_sink("test-recording", factory)
    setup = SinkSetup(min_interval=0.5, secret="s3cret")
    sink = build_named_sink("test-recording", setup)
    assert isinstance(sink, RecordingSink) and built == [setup]
    assert "test-recording" in sink_names()


def test_an_unknown_sink_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no sink named 'pager'.*slack, webhook, console"):
        build_named_sink("pager", SinkSetup())


def test_the_console_sink_prints_one_line_per_message() -> None:
    stream = io.StringIO()
    sink = build_named_sink("console", SinkSetup(console=stream))
    sink.post("#watch-desk", Notice("Watch-desk monitor test message"))
    assert stream.getvalue() == "Watch-desk monitor test message -> #watch-desk\n"


@pytest.fixture
def desk(
    tmp_path: Path, feed_server: FeedServer, no_slack_env: pytest.MonkeyPatch
) -> Iterator[tuple[Monitor, FakeClock]]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rumour.yaml").write_text(RUMOUR_RULE, encoding="utf-8")
    config = write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        rules_dir=rules,
        extra=ROUTES,
        slack_extra="storm_threshold = 2",
    )
    clock = FakeClock()
    monitor = build_monitor(load_config(config), clock=clock, jitter=lambda: 0.5)
    yield monitor, clock
    monitor.close()


def test_a_new_sink_is_told_neutral_messages_by_the_outbox_loop(
    desk: tuple[Monitor, FakeClock], feed_server: FeedServer
) -> None:
    monitor, clock = desk
    feed_server.set(
        "/news",
        rss(
            [
                Entry(
                    f"Rumour number {n} <b>&",
                    link=f"https://news.example/{n}",
                    guid=f"urn:{n}",
                    published=clock.now - timedelta(minutes=n),
                )
                for n in range(1, 6)
            ]
        ),
    )
    monitor.poll_all()
    sink = RecordingSink()
    monitor.deliverer.sink = sink
    report = monitor.deliver_due()
    assert (report.sent, report.rolled_up) == (5, 3)
    alerts = [m for _, m in sink.posts if isinstance(m, AlertPost)]
    roll_ups = [m for _, m in sink.posts if isinstance(m, RollUp)]
    assert len(alerts) == 2 and len(roll_ups) == 1
    for post in alerts:
        assert post.mentions == ("user:U0ANALYST", "@here"), "as config writes them"
        assert post.title.endswith(" <b>&"), "feed text as the feed gave it: the sink escapes"
        assert post.rule_id == "rumour" and post.alert_id > 0
    (roll_up,) = roll_ups
    assert roll_up.count == 3 and len(roll_up.lines) == 3
    assert roll_up.mentions == ("user:U0ANALYST", "@here")
    assert {channel for channel, _ in sink.posts} == {"#watch-desk"}
    assert monitor.store.outbox_counts()["sent"] == 5
