"""Delivery as ops drive it: outbox, retry, silences, preview, slack-test and
webhook mode, through the real command line, SQLite state and the local
Slack emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, run_cli, write_config
from tests.support.slack_emulator import WEBHOOK_CHANNEL, Fault, SlackEmulator

NOW = datetime.now(UTC)
DPRK = Entry(
    "North Korean troops killed in Kursk, Ukraine says",
    link="https://news.example/dprk",
    summary="Ukraine says North Korean soldiers were killed in fighting.",
    published=NOW - timedelta(minutes=5),
)
ROUTES = """
[[slack.routes]]
rules = ["dprk-troops-combat"]
channels = ["#korea-desk", "#watch-desk"]
mentions = ["subteam:S0KOREA"]
"""


@pytest.fixture
def setup(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    feed_server.set("/news", rss([DPRK]))
    return write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news"))],
        slack_api_url=slack_emulator.base_url,
        extra=ROUTES,
    )


def test_failed_alerts_are_listed_with_reasons_and_retried(
    setup: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_emulator.fail_channel("#korea-desk", "not_in_channel")
    assert run_cli(capsys, "once", "--config", str(setup))[0] == 0
    code, out, _ = run_cli(capsys, "outbox", "--config", str(setup))
    assert code == 0
    (line,) = [row for row in out.splitlines() if "failed" in row and "#korea-desk" in row]
    assert "not_in_channel (invite the bot to the channel, then run monitor retry)" in line
    assert out.splitlines()[-1] == "0 pending, 0 sending, 1 sent, 1 failed, 0 silenced"

    slack_emulator.heal_channel("#korea-desk")
    code, out, _ = run_cli(capsys, "retry", "--config", str(setup))
    assert (code, out.split(" ")[0]) == (0, "1")
    assert run_cli(capsys, "once", "--config", str(setup))[0] == 0
    assert {m.channel for m in slack_emulator.messages} == {"#korea-desk", "#watch-desk"}


def test_a_silenced_rule_is_recorded_not_sent_and_not_sent_later(
    setup: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys,
        "silence",
        "dprk-troops-combat",
        "--for",
        "6h",
        "--reason",
        "known story",
        "--config",
        str(setup),
    )
    assert code == 0 and out.startswith("silence 1: dprk-troops-combat until ")
    code, out, _ = run_cli(capsys, "silences", "--config", str(setup))
    assert "dprk-troops-combat" in out and "known story" in out
    run_cli(capsys, "once", "--config", str(setup))
    assert slack_emulator.messages == []
    _, out, _ = run_cli(capsys, "outbox", "--all", "--config", str(setup))
    assert out.splitlines()[-1] == "0 pending, 0 sending, 0 sent, 0 failed, 2 silenced"
    assert "silenced by silence 1: known story" in out

    assert run_cli(capsys, "unsilence", "1", "--config", str(setup))[0] == 0
    run_cli(capsys, "once", "--config", str(setup))
    assert slack_emulator.messages == [], "a silenced alert is not sent later either"
    assert run_cli(capsys, "silences", "--config", str(setup))[1].strip() == "no active silences"
    assert run_cli(capsys, "unsilence", "1", "--config", str(setup))[0] == 1


def test_silence_refuses_unknown_rules_and_bad_durations(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        capsys,
        "silence",
        "dprk-troops-combt",
        "--for",
        "6h",
        "--reason",
        "x",
        "--config",
        str(setup),
    )
    assert code == 2 and "did you mean 'dprk-troops-combat'?" in err
    code, _, err = run_cli(
        capsys,
        "silence",
        "dprk-troops-combat",
        "--for",
        "6 hours",
        "--reason",
        "x",
        "--config",
        str(setup),
    )
    assert code == 2 and "invalid duration '6 hours'" in err


def test_preview_prints_the_exact_payload_for_each_channel(
    setup: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(
        capsys,
        "preview",
        "dprk-troops-combat",
        "--item",
        feed_server.url("/news"),
        "--config",
        str(setup),
    )
    assert code == 0
    decoder = json.JSONDecoder()
    payloads, position = [], 0
    while position < len(out.strip()):
        payload, position = decoder.raw_decode(out, position)
        payloads.append(payload)
        while position < len(out) and out[position].isspace():
            position += 1
    assert [p["channel"] for p in payloads] == ["#korea-desk", "#watch-desk"]
    assert payloads[0]["text"].startswith("<!subteam^S0KOREA> CRITICAL:")
    assert payloads[0]["blocks"][0]["type"] == "header"
    assert payloads[0]["unfurl_links"] is False
    assert slack_emulator.messages == [], "preview sends nothing"


def test_slack_test_reports_each_channel(
    setup: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_emulator.fail_channel("#korea-desk", "not_in_channel")
    code, out, _ = run_cli(capsys, "slack-test", "--config", str(setup))
    assert code == 1
    lines = out.splitlines()
    assert (
        "ok   #watch-desk (default channel; slack.routes[0]; ops alerts): "
        "test message posted and found in the channel's history"
    ) in lines
    assert (
        "FAIL #korea-desk (slack.routes[0]): cannot post: not_in_channel: "
        "invite the bot to #korea-desk (/invite @watchdesk-bot in that channel)"
    ) in lines


def test_webhook_mode_posts_blocks_and_handles_its_errors(
    setup: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_emulator.webhook_url)
    slack_emulator.queue_faults("webhook", Fault.server_error(503))
    assert run_cli(capsys, "once", "--config", str(setup))[0] == 0
    assert slack_emulator.messages == []
    _, out, _ = run_cli(capsys, "outbox", "--config", str(setup))
    assert "Slack webhook answered HTTP 503" in out


def test_webhook_mode_delivers_to_the_webhooks_channel(
    setup: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_emulator.webhook_url)
    code, _, err = run_cli(capsys, "once", "--config", str(setup))
    assert code == 0
    (message,) = slack_emulator.messages
    messages = [message]
    assert message.channel == WEBHOOK_CHANNEL, "one post: the webhook has one channel"
    assert messages[0].text.startswith("<!subteam^S0KOREA> CRITICAL:")
    assert messages[0].blocks and messages[0].blocks[0]["type"] == "header"
    assert "secret" not in err, "the webhook URL is a secret too"
