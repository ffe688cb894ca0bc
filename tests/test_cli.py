"""The command line as ops use it: exit codes, messages, and replay output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import ROOT, FeedSpec, run_cli, write_config
from tests.support.slack_emulator import Fault, SlackEmulator

NOW = datetime.now(UTC)

DPRK = Entry(
    "North Korean troops killed in Kursk, Ukraine says",
    link="https://news.example/dprk",
    guid="tag:news.example,2026:dprk",
    published=NOW - timedelta(minutes=10),
)
CHINA = Entry(
    "US sanctions Chinese firms supplying Russia's drone makers",
    link="https://news.example/china",
    published=NOW - timedelta(minutes=10),
)
NOISE = Entry("Football results", link="https://news.example/football", published=NOW)


# --- check ------------------------------------------------------------------


def test_check_passes_on_the_bundled_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check", "--config", str(ROOT / "config.toml"))
    assert code == 0
    assert out.startswith("OK: ") and "rules: 10 rules in 10 files" in out


def test_check_reports_every_problem_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dprk.yaml").write_text(
        "id: dprk\ntitle: T\nserverity: critical\nmatch:\n  any: [dprk]\n", encoding="utf-8"
    )
    (rules / "tagged.yaml").write_text(
        "id: tagged\ntitle: T\nseverity: info\nfeed_tags: [sanctons]\nmatch:\n  any: [x]\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path, [FeedSpec("news", "https://x.example/rss")], rules_dir=rules)
    code, out, err = run_cli(capsys, "check", "--config", str(config))
    assert code == 1
    lines = out.splitlines()
    assert f"{rules}/dprk.yaml:3: unknown key 'serverity' (did you mean 'severity'?)" in lines
    assert any("tagged.yaml:4: rule 'tagged' is limited to feed tags" in line for line in lines), (
        "the other file's problem shows in the same run"
    )
    assert err.strip() == "3 problems found"


def test_check_flags_a_rule_scoped_to_tags_no_feed_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "t.yaml").write_text(
        "id: t\ntitle: T\nseverity: info\nfeed_tags: [sanctons]\nmatch:\n  any: [x]\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path, [FeedSpec("news", "https://x.example/rss")], rules_dir=rules)
    code, out, _ = run_cli(capsys, "check", "--config", str(config))
    assert code == 1
    assert "rule 't' is limited to feed tags ['sanctons'] that no configured feed has" in out


def test_check_on_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[slack]\nchanel = "#x"\n', encoding="utf-8")
    code, out, _ = run_cli(capsys, "check", "--config", str(config))
    assert code == 1
    assert f"{config}:2: unknown key 'chanel' (did you mean 'channel'?)" in out.splitlines()


# --- replay -----------------------------------------------------------------


def test_replay_json_prints_one_object_per_match(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.set("/news", rss([DPRK, CHINA, NOISE]))
    config = write_config(tmp_path, [FeedSpec("kyiv", feed_server.url("/news"), tags=("news",))])
    code, out, err = run_cli(
        capsys, "replay", feed_server.url("/news"), "--json", "--config", str(config)
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["rule"], r["severity"]) for r in rows] == [
        ("dprk-troops-combat", "critical"),
        ("sanctions-chinese-firms", "critical"),
    ]
    assert rows[0]["id"] == "tag:news.example,2026:dprk", "the guid when the item has one"
    assert rows[1]["id"] == "link:https://news.example/china", "else the identity"
    assert rows[0]["feed"] == "kyiv" and rows[0]["tags"] == ["news"], (
        "named after the configured feed"
    )
    assert rows[0]["link"] == "https://news.example/dprk"
    assert "north korean" in rows[0]["matched_terms"]
    assert err.strip().splitlines()[-1] == "replay: 3 items, 2 matches, 0 sources failed"
    assert not (tmp_path / "state").exists(), "replay touches no state"


def test_replay_tag_option_lets_tag_scoped_rules_be_tried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "s.yaml").write_text(
        "id: s\ntitle: S\nseverity: info\nfeed_tags: [sanctions]\nmatch:\n  any: [entity list]\n",
        encoding="utf-8",
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(
        rss([Entry("Additions to the Entity List", link="https://fr.example/1")]), encoding="utf-8"
    )
    config = write_config(tmp_path, [], rules_dir=rules)
    assert run_cli(capsys, "replay", str(feed), "--json", "--config", str(config))[1] == ""
    code, out, _ = run_cli(
        capsys, "replay", str(feed), "--json", "--tag", "sanctions", "--config", str(config)
    )
    assert code == 0 and json.loads(out)["rule"] == "s"


def test_replay_text_output_and_a_failing_source(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.set("/news", rss([DPRK]))
    config = write_config(tmp_path, [])
    code, out, err = run_cli(
        capsys,
        "replay",
        "--config",
        str(config),
        feed_server.url("/news"),
        feed_server.url("/missing"),
    )
    assert code == 1
    assert out.startswith(
        "CRITICAL dprk-troops-combat  North Korean troops killed in Kursk, Ukraine says"
    )
    assert f"{feed_server.url('/missing')}: http: HTTP 404 Not Found" in err


# --- once -------------------------------------------------------------------


def test_once_exit_code_and_failed_feed_list(
    tmp_path: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    feed_server.set("/good", rss([DPRK]))
    config = write_config(tmp_path, [FeedSpec("good", feed_server.url("/good"))])
    code, out, _ = run_cli(capsys, "once", "--config", str(config))
    assert code == 0
    assert "ALERT CRITICAL dprk-troops-combat [good]" in out, "console sink without a token"
    assert "polled 1 feed: 1 read, 0 failed; 1 new alert; delivered 1" in out

    config = write_config(
        tmp_path,
        [FeedSpec("good", feed_server.url("/good")), FeedSpec("gone", feed_server.url("/gone"))],
    )
    code, out, err = run_cli(capsys, "once", "--config", str(config))
    assert code == 1
    assert "feeds that failed:\n  gone: http: HTTP 404 Not Found" in err
    assert "ALERT" not in out, "no repeat of the alert already delivered"


def test_invalid_config_stops_commands_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[slack]\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "once", "--config", str(config))
    assert code == 2
    assert err.strip() == f"{config}:1: missing required key 'channel' in slack"


def test_python_dash_m_works_like_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(ROOT / "config.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ")
    version = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.stdout.startswith("monitor ")


def test_once_with_slack_down_still_exits_0_and_says_what_waits(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_emulator.token)
    slack_emulator.queue_faults("chat.postMessage", Fault.server_error(503))
    feed_server.set("/good", rss([DPRK]))
    config = write_config(
        tmp_path,
        [FeedSpec("good", feed_server.url("/good"))],
        slack_api_url=slack_emulator.base_url,
    )
    code, out, err = run_cli(capsys, "once", "--config", str(config))
    assert code == 0, "every feed was read"
    assert "1 new alert; delivered 0; outbox: 1 pending" in out
    assert "outbox: 1 alerts waiting for delivery, 0 failed" in err


# --- replay of an official list ---------------------------------------------------

LISTS = Path(__file__).parent / "fixtures" / "lists"


def test_replay_type_shows_what_a_new_list_publication_would_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    old, new = str(LISTS / "ofac-sdn-a.xml"), str(LISTS / "ofac-sdn-b.xml")
    code, out, err = run_cli(
        capsys, "replay", "--type", "ofac-sdn", old, new, "--json", "--config", str(config)
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {"added": 3, "removed": 1, "changed": 1}
    (alert,) = report["alerts"]
    assert alert["rule"] == "sanctions-chinese-firms"
    assert alert["title"] == "OFAC added 3 entries, 2 in China or Hong Kong (RUSSIA-EO14024)"
    assert {m["key"] for m in report["matches"]} == {"2001", "2002"}
    assert {c["key"] for c in report["changes"]} == {"2001", "2002", "2003", "1005", "1006"}
    assert "3 added, 1 removed, 1 changed; 1 alerts" in err
    assert not (tmp_path / "state").exists(), "replay touches no state"

    # Text: the alert, its entities, then every change.
    code, out, err = run_cli(
        capsys, "replay", "--type", "ofac-sdn", old, new, "--config", str(config)
    )
    assert code == 0
    assert "CRITICAL sanctions-chinese-firms  OFAC added 3 entries" in out
    assert "removed  1005  BLUE RIVER HOLDINGS LTD" in out


def test_replay_type_names_a_refused_snapshot_and_wants_two_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    good = LISTS / "ofac-sdn-b.xml"
    emptied = tmp_path / "emptied.xml"
    text = good.read_text(encoding="utf-8")
    head = text.split("<sdnEntry>")[0].replace("<Record_Count>8</Record_Count>", "")
    emptied.write_text(head + "</sdnList>\n", encoding="utf-8")
    code, _out, err = run_cli(
        capsys, "replay", "--type", "ofac-sdn", str(good), str(emptied), "--config", str(config)
    )
    assert code == 1
    assert "the new snapshot would be REFUSED: the new snapshot is empty" in err

    code, _, err = run_cli(
        capsys, "replay", "--type", "ofac-sdn", str(good), "--config", str(config)
    )
    assert code == 2
    assert "takes two snapshots of the list, OLD NEW (got 1)" in err

    truncated = tmp_path / "cut.xml"
    truncated.write_bytes(good.read_bytes()[:2000])
    code, _, err = run_cli(
        capsys, "replay", "--type", "ofac-sdn", str(good), str(truncated), "--config", str(config)
    )
    assert code == 1
    assert "replay: parse: OFAC SDN List: malformed or truncated" in err


def test_replay_of_a_configured_list_without_type_says_how_to_replay_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = str(LISTS / "ofac-sdn-b.xml")
    config = write_config(
        tmp_path, [FeedSpec("ofac-sdn", snapshot, tags=("sanctions",), type="ofac-sdn")]
    )
    code, _, err = run_cli(capsys, "replay", snapshot, "--config", str(config))
    assert code == 1
    assert "is an official list (ofac-sdn)" in err
    assert "run replay --type ofac-sdn OLD NEW" in err
