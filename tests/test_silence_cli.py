"""`monitor silence` with a scope (story, feed, severity, keyword, or a rule
and any of them), its author, and `monitor silences`: through the real
command line, SQLite state and the Slack emulator. (A rule alone, as before
scopes: tests/test_delivery_cli.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.store.factory import open_store
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, run_cli, write_config
from tests.support.slack_emulator import SlackEmulator

NOW = datetime.now(UTC)
DPRK = Entry(
    "North Korean troops fight in the Kursk region, Ukraine says",
    link="https://news.example/dprk-kursk",
    summary="Ukraine says North Korean soldiers took part in an assault near Sudzha.",
    published=NOW - timedelta(minutes=5),
)


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
    feed_server.set("/wire", rss([]))
    return write_config(
        tmp_path,
        [FeedSpec("news", feed_server.url("/news")), FeedSpec("wire", feed_server.url("/wire"))],
        slack_api_url=slack_emulator.base_url,
    )


def silence(capsys: pytest.CaptureFixture[str], setup: Path, *scope: str) -> tuple[int, str, str]:
    return run_cli(
        capsys, "silence", *scope, "--for", "6h", "--reason", "known", "--config", str(setup)
    )


def test_a_feed_and_keyword_silence_is_set_listed_with_its_author_and_holds_back(
    setup: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = silence(capsys, setup, "--feed", "news", "--keyword", "Kursk", "--by", "ana")
    assert code == 0 and out.startswith('silence 1: feed news, keyword "Kursk" until ')
    code, out, _ = run_cli(capsys, "silences", "--config", str(setup))
    assert 'feed news, keyword "Kursk"' in out and "by ana" in out and "known" in out
    run_cli(capsys, "once", "--config", str(setup))
    assert slack_emulator.messages == []
    _, out, _ = run_cli(capsys, "outbox", "--all", "--config", str(setup))
    assert "silenced by silence 1: known" in out


def test_a_severity_silence_must_match_exactly(
    setup: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert silence(capsys, setup, "--severity", "info")[0] == 0
    run_cli(capsys, "once", "--config", str(setup))
    assert len(slack_emulator.messages) == 1, "the alert is no info alert: it is sent"


def test_the_author_is_the_user_else_cli(
    setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "desk-lead")
    assert silence(capsys, setup, "dprk-troops-combat")[0] == 0
    monkeypatch.delenv("USER")
    assert silence(capsys, setup, "--feed", "wire")[0] == 0
    _, out, _ = run_cli(capsys, "silences", "--config", str(setup))
    first, second = out.splitlines()
    assert "dprk-troops-combat" in first and "by desk-lead" in first
    assert "feed wire" in second and "by cli" in second


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ((), "say what to silence: a RULE, or --story, --feed, --severity or --keyword"),
        (("--feed", "nwes"), "no feed 'nwes' (did you mean 'news'?)"),
        (("dprk-troops-combt", "--feed", "news"), "did you mean 'dprk-troops-combat'?"),
        (("--story", "no-such-story"), "no story 'no-such-story' in the state"),
        (("--keyword", "..."), "keyword '...' has no word to match"),
    ],
)
def test_a_silence_without_scope_or_of_unknown_names_is_refused(
    setup: Path, capsys: pytest.CaptureFixture[str], scope: tuple[str, ...], problem: str
) -> None:
    code, _, err = silence(capsys, setup, *scope)
    assert code == 2 and problem in err
    assert run_cli(capsys, "silences", "--config", str(setup))[1].strip() == "no active silences"


def test_a_story_silence_names_the_story_and_is_listed_with_its_title(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "once", "--config", str(setup))
    with open_store(load_config(setup).state_path) as store:
        (story,) = store.recent_stories(rule_id="dprk-troops-combat", since=NOW - timedelta(days=1))
    _, out, _ = run_cli(capsys, "outbox", "--all", "--config", str(setup))
    assert f"[story {story.key}]" in out, "where the desk finds a story's key"
    code, out, _ = silence(capsys, setup, "--story", story.key)
    assert code == 0 and out.startswith(f"silence 1: story {story.key} until ")
    _, out, _ = run_cli(capsys, "silences", "--config", str(setup))
    assert f'story {story.key} ("North Korean troops fight in the Kursk' in out
