"""Rule files are parsed by libyaml where PyYAML has it, and read the same
(data, the line of every key, every error and its line) as with PyYAML's
pure-Python loader, which is used where libyaml is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.yamlsource import libyaml_in_use, pure_python_loader, read_yaml
from tests.support.setup import ROOT, SHIPPED_RULES

SHIPPED_FILES = sorted([*SHIPPED_RULES.glob("*.yaml"), *(SHIPPED_RULES / "lists").glob("*.yaml")])

needs_libyaml = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False),
    reason="PyYAML here was built without libyaml: only the pure-Python loader exists",
)


Reading = tuple[object, list[str]]
"""What a loader made of a text: (its data and key lines, or None), and its problems."""


def both_loaders(text: str) -> tuple[Reading, Reading]:
    def read() -> Reading:
        document, problems = read_yaml(text, "rule.yaml")
        return (document.data, document.lines) if document else None, [str(p) for p in problems]

    fast = read()
    with pure_python_loader():
        pure = read()
    return fast, pure


@needs_libyaml
def test_rules_are_parsed_by_libyaml_where_pyyaml_has_it() -> None:
    assert libyaml_in_use()
    with pure_python_loader():
        assert not libyaml_in_use()
    assert libyaml_in_use()


@needs_libyaml
@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_every_shipped_file_reads_the_same_with_both_loaders(path: Path) -> None:
    fast, pure = both_loaders(path.read_text(encoding="utf-8"))
    assert fast == pure
    assert fast[0] is not None, "the shipped files are valid"


BROKEN = [
    ("id: r\ntitle: [unclosed\n", "rule.yaml:3: invalid YAML: expected ',' or ']', but got"),
    ("id: r\n title: x\n", "rule.yaml:2: invalid YAML: mapping values are not allowed here"),
    ("id: r\nmatch:\n  any: [x]\n- y\n", "rule.yaml:4: invalid YAML: expected <block end>"),
    ("id: r\nmatch: *m\n", "rule.yaml:2: invalid YAML: found undefined alias 'm'"),
    ('id: r\nterm: "open\n', "rule.yaml:3: invalid YAML: found unexpected end of stream"),
    ("id: r\n---\nid: s\n", "rule.yaml:2: invalid YAML: but found another document"),
    ("id: r\ntitle:\tTabbed\n", "rule.yaml:2: invalid YAML: found character '\\t'"),
    ("id: r\nid: s\n", "rule.yaml:2: duplicate key 'id' (first given on line 1)"),
    ("match: &m\n  any: [x, *m]\n", "rule.yaml:1: YAML anchors and aliases"),
    ("# only a comment\n", "rule.yaml:1: the file is empty"),
    ("a: !!python/object:os.system x\n", "rule.yaml:1: invalid YAML: could not determine"),
]


@needs_libyaml
@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_both_loaders_report_the_same_problem_on_the_same_line(text: str, expected: str) -> None:
    fast, pure = both_loaders(text)
    assert fast == pure
    (problem,) = fast[1]
    assert problem.startswith(expected)


def test_numbers_are_read_as_written_by_either_loader() -> None:
    text = "terms: [0755, 1_000, '1:20', 12.50, 1950, -3, 1.0e+3]\nwithin: 5\n"
    for pure in (False, True):
        if pure:
            with pure_python_loader():
                document, _ = read_yaml(text, "list.yaml")
        else:
            document, _ = read_yaml(text, "list.yaml")
        assert document is not None
        assert document.data == {
            "terms": ["0755", "1_000", "1:20", "12.50", 1950, -3, "1.0e+3"],
            "within": 5,
        }


def run_check(config: Path, *, without_libyaml: bool) -> subprocess.CompletedProcess[str]:
    """``monitor check`` in a fresh process; ``without_libyaml`` hides
    PyYAML's C extension, as on a machine where PyYAML was built without it."""
    hide = "sys.modules['yaml._yaml'] = None; " if without_libyaml else ""
    code = (
        f"import sys; {hide}"
        "from monitor.yamlsource import libyaml_in_use; "
        "print('libyaml' if libyaml_in_use() else 'pure-Python', file=sys.stderr); "
        "from monitor.cli import main; raise SystemExit(main(sys.argv[1:]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")}
    return subprocess.run(
        [sys.executable, "-c", code, "check", "--config", str(config)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_without_libyaml_the_monitor_falls_back_and_reports_the_same(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "lists").mkdir(parents=True)
    (rules / "lists" / "dprk.yaml").write_text("terms: [dprk, kpa]\n", encoding="utf-8")
    (rules / "syntax.yaml").write_text("id: syntax\ntitle: [unclosed\n", encoding="utf-8")
    (rules / "schema.yaml").write_text(
        "id: schema\ntitle: T\nseverity: urgent\nmatch:\n  all:\n    - $dprc\n    - troops\n",
        encoding="utf-8",
    )
    (rules / "good.yaml").write_text(
        "id: good\ntitle: T\nseverity: info\nmatch:\n  all: [$dprk, troops]\n", encoding="utf-8"
    )
    config = tmp_path / "config.toml"
    config.write_text('[slack]\nchannel = "#x"\n', encoding="utf-8")

    fallback = run_check(config, without_libyaml=True)
    assert fallback.stderr.splitlines()[0] == "pure-Python"
    assert fallback.returncode == 1
    assert fallback.stdout.splitlines() == [
        "rules/schema.yaml:3: severity: must be one of info, warning, critical (got 'urgent')",
        "rules/schema.yaml:6: undefined list '$dprc' (did you mean '$dprk'?)",
        "rules/syntax.yaml:3: invalid YAML: expected ',' or ']', but got '<stream end>'",
    ]
    if getattr(yaml, "__with_libyaml__", False):
        fast = run_check(config, without_libyaml=False)
        assert fast.stderr.splitlines()[0] == "libyaml"
        assert (fast.returncode, fast.stdout) == (fallback.returncode, fallback.stdout)


def test_without_libyaml_the_shipped_config_and_rules_pass(tmp_path: Path) -> None:
    result = run_check(ROOT / "config.toml", without_libyaml=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")
