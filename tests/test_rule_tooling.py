"""Rule tooling as ops use it: monitor test (with JUnit), monitor schema,
replay --explain and the matched key, and hot reload in a running monitor."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from textwrap import dedent
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml

from monitor.config import load_config
from monitor.rules.load import load_rules
from monitor.rules.model import schema_json
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import SHIPPED_RULES, FeedSpec, run_cli, write_config

RULE = dedent(
    """\
    # yaml-language-server: $schema=./rule.schema.json
    id: seoul-arms
    title: Seoul arms for Kyiv
    severity: critical
    match:
      all: [south korea, weapon*, ukraine]
    guards:
      - name: hedge
        cues: [could]
        action: lower
    tests:
      - title: South Korea sends weapons to Ukraine
        expect: critical
      - title: South Korea could send weapons to Ukraine
        expect: warning
      - title: North Korea sends weapons to Russia
        expect: none
    """
)


def setup_rules(tmp_path: Path, rule: str = RULE) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "seoul-arms.yaml").write_text(rule, encoding="utf-8")
    return write_config(tmp_path, [FeedSpec("news", "https://x.example/rss")], rules_dir=rules)


def test_monitor_test_passes_and_writes_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup_rules(tmp_path)
    junit = tmp_path / "report.xml"
    code, out, _ = run_cli(capsys, "test", "--config", str(config), "--junit", str(junit))
    assert code == 0
    assert out.strip() == "rule tests: 3 passed, 0 failed (1 rules)"
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("3", "0")
    assert (
        next(case.get("name") for case in root.iter("testcase"))
        == "critical: South Korea sends weapons to Ukraine"
    )


def test_a_failing_case_shows_what_matched_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = RULE.replace("    expect: warning", "    expect: critical")
    config = setup_rules(tmp_path, broken)
    junit = tmp_path / "report.xml"
    code, out, _ = run_cli(
        capsys, "test", "seoul-arms", "--config", str(config), "--junit", str(junit)
    )
    assert code == 1
    assert (
        f"FAIL seoul-arms ({tmp_path}/rules/seoul-arms.yaml:14): expected critical, got warning"
        in out
    )
    assert "title:   South Korea could send weapons to Ukraine" in out
    assert "✓ 'south korea' — in title" in out
    assert (
        "guard 'hedge' fired (cue 'could' near 'south korea' in the title): severity lowered to warning"
        in out
    )
    assert out.strip().endswith("rule tests: 2 passed, 1 failed (1 rules)")
    (failure,) = ET.parse(junit).getroot().iter("failure")
    assert failure.get("message") == "expected critical, got warning"


def test_unknown_rule_id_gets_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "test", "seoul-arm", "--config", str(setup_rules(tmp_path)))
    assert code == 2
    assert err.strip() == "monitor test: no rule 'seoul-arm' (did you mean 'seoul-arms'?)"


def test_shipped_schemas_are_current_and_every_file_points_at_them() -> None:
    assert (SHIPPED_RULES / "rule.schema.json").read_text(encoding="utf-8") == schema_json("rule")
    assert (SHIPPED_RULES / "lists" / "list.schema.json").read_text(
        encoding="utf-8"
    ) == schema_json("list")
    for path in SHIPPED_RULES.glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=./rule.schema.json\n"
        ), path
    for path in (SHIPPED_RULES / "lists").glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=./list.schema.json\n"
        ), path


def _schema_errors(kind: str, data: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(schema_json(kind)))
    return [error.message for error in validator.iter_errors(data)]


def test_every_shipped_file_passes_the_schema_as_an_editor_checks_it() -> None:
    """An editor must not flag what the monitor accepts (red squiggles on good
    rules teach ops to ignore the real ones)."""
    for path in SHIPPED_RULES.glob("*.yaml"):
        assert _schema_errors("rule", yaml.safe_load(path.read_text("utf-8"))) == [], path
    for path in (SHIPPED_RULES / "lists").glob("*.yaml"):
        assert _schema_errors("list", yaml.safe_load(path.read_text("utf-8"))) == [], path


def test_schema_takes_unquoted_numbers_as_terms_but_not_booleans() -> None:
    # An editor reads YAML 1.2: 1950 and 0755 are integers to it, 12.50 a float.
    assert _schema_errors("list", {"terms": ["kpa", 1950, 755, 12.5]}) == []
    assert _schema_errors("list", {"terms": ["kpa", False]}) == [
        "False is not valid under any of the given schemas"
    ]


def test_schema_command_prints_a_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and schema["additionalProperties"] is False
    assert {"id", "title", "severity", "match", "guards", "tiers", "tests"} <= set(
        schema["properties"]
    )


def test_replay_json_has_matched_and_explain_shows_the_trace(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup_rules(tmp_path)
    feed_server.set(
        "/news",
        rss(
            [
                Entry("South Korea could send weapons to Ukraine", link="https://x.example/1"),
                Entry("Markets rally", link="https://x.example/2"),
            ]
        ),
    )
    code, out, _ = run_cli(
        capsys, "replay", feed_server.url("/news"), "--json", "--config", str(config)
    )
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert (row["rule"], row["severity"]) == ("seoul-arms", "warning")
    assert row["matched"] == {"title": ["south korea", "weapon*", "ukraine"]}

    code, out, _ = run_cli(
        capsys, "replay", feed_server.url("/news"), "--explain", "--config", str(config)
    )
    assert "== South Korea could send weapons to Ukraine" in out
    assert "  seoul-arms: ALERT warning" in out
    assert (
        "guard 'hedge' fired (cue 'could' near 'south korea' in the title): severity lowered to warning"
        in out
    )
    assert (
        "== Markets rally" in out and "(1 other rules: a term they require does not appear)" in out
    )


def test_a_running_monitor_reloads_valid_rules_and_keeps_the_last_good_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = setup_rules(tmp_path)
    monitor = build_monitor(load_config(config))
    try:
        assert monitor.reload_rules() is False, "nothing changed"
        rule_file = tmp_path / "rules" / "seoul-arms.yaml"
        with caplog.at_level(logging.INFO, logger="monitor"):
            rule_file.write_text(
                RULE.replace("severity: critical", "severity: critical\nfeed_tags: [news]\n", 1),
                encoding="utf-8",
            )
            (tmp_path / "rules" / "other.yaml").write_text(
                "id: other\ntitle: O\nseverity: info\nmatch:\n  any: [x]\n", encoding="utf-8"
            )
            assert monitor.reload_rules() is False, "changed since the last look: let it settle"
            assert monitor.reload_rules() is True
            assert (
                "rules reloaded: 2 rules; added other; changed files: other.yaml, seoul-arms.yaml"
                in caplog.text
            )
            good = monitor.rules

            rule_file.write_text(
                RULE.replace("severity: critical", "serverity: critical"), encoding="utf-8"
            )
            assert monitor.reload_rules() is False
            assert monitor.reload_rules() is False
            assert monitor.rules is good, "the last good rules keep running"
            assert "but are invalid; still running the previous 2 rules" in caplog.text
            assert (
                "seoul-arms.yaml:4: unknown key 'serverity' (did you mean 'severity'?)"
                in caplog.text
            )
            assert monitor.reload_rules() is False, "an invalid change is reported once"
    finally:
        monitor.close()


def test_every_shipped_list_is_used_by_some_rule() -> None:
    rules = load_rules(SHIPPED_RULES)
    used: set[str] = set()
    for path in SHIPPED_RULES.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        used.update(name for name in rules.lists if f"${name}" in text and path.stem != name)
    assert set(rules.lists) - used == set()


def test_copy_of_shipped_rules_loads_from_anywhere(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_RULES, tmp_path / "rules")
    assert len(load_rules(tmp_path / "rules").rules) == len(load_rules(SHIPPED_RULES).rules)


def test_monitor_test_judges_cases_through_the_production_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "deploy.yaml").write_text(
        "id: deploy\ntitle: D\nseverity: warning\nmatch:\n  any: [troops]\n"
        "tests:\n  - title: Troops killed\n    expect: warning\n",
        encoding="utf-8",
    )
    (rules / "combat.yaml").write_text(
        "id: combat\ntitle: C\nseverity: critical\nsupersedes: [deploy]\nmatch:\n  all: [troops, killed]\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path, [FeedSpec("news", "https://x.example/rss")], rules_dir=rules)
    code, out, _ = run_cli(capsys, "test", "deploy", "--config", str(config))
    assert code == 1, "the case expects an alert that production would never send"
    assert "superseded by combat for this item" in out


def test_reload_sees_a_list_change_and_a_same_size_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = setup_rules(tmp_path)
    (tmp_path / "rules" / "lists").mkdir()
    (tmp_path / "rules" / "lists" / "words.yaml").write_text("terms: [alpha]\n", encoding="utf-8")
    monitor = build_monitor(load_config(config))
    try:
        (tmp_path / "rules" / "lists" / "words.yaml").write_text(
            "terms: [gamma]\n", encoding="utf-8"
        )
        assert monitor.reload_rules() is False
        assert monitor.reload_rules() is True, "a list-only, same-size change is a change"
    finally:
        monitor.close()
