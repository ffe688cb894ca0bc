"""Rule directories a user or a bad deploy can produce that must be refused
with a message, never a traceback: rules nested hundreds of levels deep (in the file, or
through selections using each other), and
a rules directory the monitor's user may not read."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.rules.compile import MAX_CONDITION_DEPTH
from monitor.wiring import build_monitor
from monitor.yamlsource import MAX_NESTING, pure_python_loader, read_yaml
from tests.support.setup import FeedSpec, run_monitor, write_config

CROSSING_LINES = (4 + 2 * (MAX_NESTING // 2), 5 + 2 * (MAX_NESTING // 2))
"""The two lines of the first nesting level past the limit in deeply_nested_rule."""

GOOD_RULE = """\
id: dprk-troops
title: North Korean troops
severity: warning
match:
  all: [north korean, troops]
"""


def monitor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_monitor(*args, cwd=cwd)


def deeply_nested_rule(depth: int) -> str:
    """A rule whose match is ``depth`` conditions each inside the next, in
    block style: every level is a mapping and a list, two lines."""
    lines = ["id: deep", "title: Deep", "severity: warning", "match:"]
    indent = "  "
    for _ in range(depth):
        lines += [f"{indent}all:", f"{indent}  -"]
        indent += "    "
    lines[-1] += " north korean"
    return "\n".join(lines) + "\n"


def rules_with_deep_rule(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dprk.yaml").write_text(GOOD_RULE, encoding="utf-8")
    (rules / "deep.yaml").write_text(deeply_nested_rule(600), encoding="utf-8")
    write_config(tmp_path, [FeedSpec("local", str(tmp_path / "feed.xml"))], rules_dir=rules)
    return rules


def test_check_refuses_a_rule_nested_600_deep_naming_file_line_and_limit(tmp_path: Path) -> None:
    rules_with_deep_rule(tmp_path)
    result = monitor("check", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "RecursionError" not in result.stderr + result.stdout
    problem = next(line for line in result.stdout.splitlines() if "deep.yaml" in line)
    assert f"nested more than {MAX_NESTING} levels deep" in problem
    # Where the limit is crossed: a line of the first level too deep (each
    # level is two lines; libyaml builds differ on which one a block list
    # starts at).
    assert int(problem.split(":")[1]) in CROSSING_LINES


def test_run_refuses_to_start_on_a_rule_nested_600_deep(tmp_path: Path) -> None:
    rules_with_deep_rule(tmp_path)
    result = monitor("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert any(f"deep.yaml:{line}: nested more than" in result.stderr for line in CROSSING_LINES)


@pytest.mark.parametrize("pure_python", [False, True], ids=["default-loader", "pure-python"])
def test_deep_nesting_is_a_problem_with_either_yaml_loader(pure_python: bool) -> None:
    # A tab sends a file to the pure-Python loader, which composes
    # recursively: it must stop at the limit too, not at the interpreter's.
    text = deeply_nested_rule(600)
    if pure_python:
        with pure_python_loader():
            document, problems = read_yaml(text, "deep.yaml")
    else:
        document, problems = read_yaml(text, "deep.yaml")
    assert document is None
    assert len(problems) == 1
    assert problems[0].file == "deep.yaml" and problems[0].line is not None
    assert f"more than {MAX_NESTING} levels" in problems[0].message


def test_a_rule_nested_within_the_limit_still_loads() -> None:
    document, problems = read_yaml(deeply_nested_rule(MAX_NESTING // 2 - 2), "ok.yaml")
    assert problems == []
    assert document is not None


# --- a rules directory the monitor may not read ----------------------------------


def as_unprivileged() -> list[str] | None:
    """A command prefix under which directory permissions apply, or None.
    Root ignores them; root without the capabilities that let it is held to
    them like anyone (setpriv drops them, where it is installed)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=60, check=False)
    return prefix if probe.returncode == 0 else None


def unreadable_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    (rules / "lists").mkdir(parents=True)
    (rules / "dprk.yaml").write_text(GOOD_RULE, encoding="utf-8")
    write_config(tmp_path, [FeedSpec("local", str(tmp_path / "feed.xml"))], rules_dir=rules)
    rules.chmod(0)
    return rules


@pytest.mark.parametrize(("command", "exit_code"), [("check", 1), ("once", 2), ("run", 2)])
def test_an_unreadable_rules_directory_is_named_without_a_traceback(
    tmp_path: Path, command: str, exit_code: int
) -> None:
    prefix = as_unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: directory permissions would not apply")
    rules = unreadable_rules(tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "monitor", command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        rules.chmod(0o755)
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    assert "Traceback" not in output
    assert f"{rules}: cannot read the rules directory (Permission denied)" in output


def test_a_rules_directory_turning_unreadable_during_a_run_logs_one_error_and_keeps_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Permissions cannot be taken from root in-process: the refusal is the
    # operating system's, so it is stood in for here.
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "dprk.yaml").write_text(GOOD_RULE, encoding="utf-8")
    config = write_config(
        tmp_path, [FeedSpec("local", str(tmp_path / "feed.xml"))], rules_dir=rules
    )
    monitor_app = build_monitor(load_config(config))
    try:
        real_scandir, real_iterdir = os.scandir, Path.iterdir

        def refused_scandir(path: Any) -> Any:
            if Path(path).is_relative_to(rules):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        def refused_iterdir(self: Path) -> Any:
            if self.is_relative_to(rules):
                raise PermissionError(13, "Permission denied", str(self))
            return real_iterdir(self)

        monkeypatch.setattr(os, "scandir", refused_scandir)
        monkeypatch.setattr(Path, "iterdir", refused_iterdir)
        with caplog.at_level(logging.INFO, logger="monitor"):
            replaced = [monitor_app.reload_rules() for _ in range(6)]
        assert replaced == [False] * 6
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors
        assert "still running the previous 1 rules" in errors[0]
        assert "cannot read the rules directory (Permission denied)" in errors[0]
        assert not any(r.exc_info for r in caplog.records)
        assert [rule.id for rule in monitor_app.rules.rules] == ["dprk-troops"]
    finally:
        monitor_app.close()


def selection_chain_rule(length: int) -> str:
    """A rule whose match uses a selection using the next, ``length`` long,
    with a test case that the deepest term must decide."""
    lines = ["id: chain", "title: Chain", "severity: warning", "selections:"]
    for i in range(length):
        last = i == length - 1
        lines += [f"  s{i}:", "    any: [north korean]" if last else f"    any: [$s{i + 1}]"]
    lines += [
        "match:",
        "  all: [$s0]",
        "tests:",
        "  - title: North Korean troops",
        "    expect: warning",
    ]
    return "\n".join(lines) + "\n"


def test_check_and_run_refuse_a_chain_of_600_selections_with_file_line_and_limit(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "chain.yaml").write_text(selection_chain_rule(600), encoding="utf-8")
    write_config(tmp_path, [FeedSpec("local", str(tmp_path / "feed.xml"))], rules_dir=rules)
    expected = (
        f"chain.yaml:{3 + 2 * MAX_CONDITION_DEPTH}: conditions nested more than "
        f"{MAX_CONDITION_DEPTH} deep, counting those of the selections used "
        f"(through {MAX_CONDITION_DEPTH} selections, $s0 to ${'s' + str(MAX_CONDITION_DEPTH - 1)})"
    )
    checked = monitor("check", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr
    assert expected in checked.stdout
    assert "1 problem found" in checked.stdout + checked.stderr  # not one per selection beyond
    started = monitor("run", cwd=tmp_path)
    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr
    assert expected in started.stderr


def test_a_chain_of_selections_within_the_limit_compiles_and_matches(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "chain.yaml").write_text(
        selection_chain_rule(MAX_CONDITION_DEPTH - 1), encoding="utf-8"
    )
    write_config(tmp_path, [FeedSpec("local", str(tmp_path / "feed.xml"))], rules_dir=rules)
    tested = monitor("test", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
