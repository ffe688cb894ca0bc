"""`monitor slack-test` against the Slack emulator, through the real command
line: every channel the config can post to, the scopes the monitor needs
with the fix for each missing one, and webhook mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.delivery.slack_check import (
    PUBLIC_HISTORY_SCOPE,
    ChannelUse,
    channels_to_test,
    missing_scopes,
)
from tests.support.setup import FeedSpec, write_config
from tests.support.slack_emulator import WEBHOOK_CHANNEL, Fault, SlackEmulator

ROUTES = """
[[slack.routes]]
rules = ["dprk-troops-combat"]
channels = ["#korea-desk", "#watch-desk"]

[[slack.routes]]
severities = ["info"]
channels = ["#digest"]
digest = "0 8 * * *"

[[slack.routes]]
rules = ["sanctions-chinese-firms"]
digest = "30 7 * * 1-5"

[ops]
channel = "#desk-ops"
"""
SCOPE_FIX = (
    "under OAuth & Permissions > Bot Token Scopes of the Slack app, reinstall the app to the "
    "workspace, and set the new token as SLACK_BOT_TOKEN"
)


@pytest.fixture
def config(tmp_path: Path, slack_emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    return write_config(
        tmp_path,
        [FeedSpec("news", "https://news.example/rss")],
        slack_api_url=slack_emulator.base_url,
        extra=ROUTES,
    )


def slack_test(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, list[str], str]:
    code = main(["slack-test", "--config", str(config)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_every_channel_gets_a_test_message_routes_digests_and_ops_included(
    config: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = slack_test(capsys, config)
    assert code == 0, lines
    assert sorted(m.channel for m in slack_emulator.messages) == [
        "#desk-ops",
        "#digest",
        "#korea-desk",
        "#watch-desk",
    ], "one test message per channel"
    read_back = "test message posted and found in the channel's history"
    assert lines == [
        "Slack workspace Watch Desk (emulated), bot watchdesk-bot",
        "token scopes: channels:history, chat:write, groups:history",
        "ok   #watch-desk (default channel; slack.routes[0]; slack.routes[2] digest 30 7 * * 1-5)"
        f": {read_back}",
        f"ok   #korea-desk (slack.routes[0]): {read_back}",
        f"ok   #digest (slack.routes[1] digest 0 8 * * *): {read_back}",
        f"ok   #desk-ops (ops alerts): {read_back}",
        "slack-test: 4 channels, 0 failed, 0 scopes missing",
    ]
    ops = slack_emulator.messages_in("#desk-ops")[0]
    assert ops.text == "Watch-desk monitor test message for #desk-ops (ops alerts): delivery works."


@pytest.mark.parametrize(
    "scopes", [frozenset({"chat:write"}), frozenset({"chat:write", "groups:history"})]
)
def test_a_token_that_cannot_read_history_gets_the_fix_and_fails(
    config: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    scopes: frozenset[str],
) -> None:
    slack_emulator.scopes = scopes
    code, lines, _ = slack_test(capsys, config)
    assert code == 1
    assert (
        "FAIL #desk-ops (ops alerts): test message posted, but the channel's history cannot be "
        "read: missing_scope: the token lacks channels:history (fix below)"
    ) in lines
    (missing,) = [line for line in lines if line.startswith("MISSING SCOPE")]
    assert missing.startswith("MISSING SCOPE channels:history: needed for reading a public")
    assert "instead of posting it a second time" in missing
    assert missing.endswith(f"Fix: add channels:history {SCOPE_FIX}")
    assert lines[-1] == "slack-test: 4 channels, 4 failed, 1 scope missing"


def test_a_private_channel_needs_groups_history(
    config: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_emulator.scopes = frozenset({"chat:write", "channels:history"})
    slack_emulator.private_channels = {"#desk-ops"}
    code, lines, _ = slack_test(capsys, config)
    assert code == 1
    assert [line.split(" (")[0] for line in lines if line.startswith(("ok", "FAIL"))] == [
        "ok   #watch-desk",
        "ok   #korea-desk",
        "ok   #digest",
        "FAIL #desk-ops",
    ]
    assert any(
        line.startswith("MISSING SCOPE groups:history: needed for reading a private")
        and line.endswith(f"Fix: add groups:history {SCOPE_FIX}")
        for line in lines
    )


def test_a_token_that_cannot_post_gets_the_fix_and_fails(
    config: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_emulator.scopes = frozenset({"channels:history", "groups:history"})
    code, lines, _ = slack_test(capsys, config)
    assert code == 1
    assert slack_emulator.messages == []
    assert (
        "FAIL #watch-desk (default channel; slack.routes[0]; slack.routes[2] digest 30 7 * * 1-5)"
        ": cannot post: missing_scope: the token lacks chat:write (fix below)"
    ) in lines
    assert [line for line in lines if line.startswith("MISSING SCOPE")] == [
        f"MISSING SCOPE chat:write: needed for posting alerts. Fix: add chat:write {SCOPE_FIX}"
    ]


def test_channel_errors_name_their_fix(
    config: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    slack_emulator.fail_channel("#korea-desk", "not_in_channel")
    slack_emulator.fail_channel("#digest", "is_archived")
    code, lines, _ = slack_test(capsys, config)
    assert code == 1
    assert (
        "FAIL #korea-desk (slack.routes[0]): cannot post: not_in_channel: "
        "invite the bot to #korea-desk (/invite @watchdesk-bot in that channel)"
    ) in lines
    assert (
        "FAIL #digest (slack.routes[1] digest 0 8 * * *): cannot post: is_archived: "
        "unarchive #digest or send its alerts elsewhere in config.toml"
    ) in lines
    assert lines[-1] == "slack-test: 4 channels, 2 failed, 0 scopes missing"


def test_a_bad_token_fails_at_once_with_its_fix(
    config: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-right-one")
    code, lines, _ = slack_test(capsys, config)
    assert code == 1
    assert lines == [
        "FAIL token: invalid_auth: SLACK_BOT_TOKEN is not a valid token: "
        "copy the app's Bot User OAuth Token"
    ]
    assert slack_emulator.messages == []


def test_webhook_mode_posts_its_one_test_message(
    config: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_emulator.webhook_url)
    code, lines, err = slack_test(capsys, config)
    assert code == 0, [*lines, err]
    (message,) = slack_emulator.messages
    assert message.channel == WEBHOOK_CHANNEL
    assert "test message" in message.text
    assert lines == [
        "ok   incoming webhook: test message posted to the webhook's own channel",
        "note: every alert goes to that one channel; the channels in the config "
        "(#watch-desk, #korea-desk, #digest, #desk-ops) are not used, and there are no "
        "threads, edits or duplicate check",
    ]
    assert "secret" not in "".join(lines) + err, "the webhook URL is a secret"

    slack_emulator.queue_faults("webhook", Fault.error("no_service"))
    code, lines, err = slack_test(capsys, config)
    assert code == 1
    assert lines == [
        "FAIL incoming webhook: Slack webhook refused the message: HTTP 400 no_service"
    ]


def test_without_a_token_or_webhook_there_is_nothing_to_test(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = slack_test(capsys, config)
    assert code == 2
    assert "set SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL)" in err


def test_the_channels_to_test_follow_the_config(config: Path) -> None:
    loaded = load_config(config)
    assert channels_to_test(loaded.config) == [
        ChannelUse(
            "#watch-desk",
            ("default channel", "slack.routes[0]", "slack.routes[2] digest 30 7 * * 1-5"),
        ),
        ChannelUse("#korea-desk", ("slack.routes[0]",)),
        ChannelUse("#digest", ("slack.routes[1] digest 0 8 * * *",)),
        ChannelUse("#desk-ops", ("ops alerts",)),
    ]
    no_ops = loaded.config.model_copy(
        update={"ops": loaded.config.ops.model_copy(update={"enabled": False})}
    )
    assert "#desk-ops" not in [use.channel for use in channels_to_test(no_ops)]


def test_missing_scopes_come_from_slacks_refusals_and_the_tokens_scope_list() -> None:
    everything = frozenset({"chat:write", "channels:history", "groups:history"})
    assert missing_scopes(everything, named={}, history_read=True) == []
    assert missing_scopes(None, named={}, history_read=False) == [], "no list: nothing to say"
    assert missing_scopes(frozenset({"chat:write"}), named={}, history_read=False) == [
        PUBLIC_HISTORY_SCOPE
    ], "no history scope at all, and no channel could be read to tell which"
    assert missing_scopes(frozenset({"channels:history"}), named={}, history_read=False) == [
        "chat:write"
    ]
    assert missing_scopes(
        frozenset({"chat:write", "channels:history"}),
        named={"groups:history": None},
        history_read=True,
    ) == ["groups:history"]
