"""`monitor check`: every problem of the config and the rules, in one run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig, config_draft, load_config, read_config_draft
from monitor.errors import ConfigError, Problem
from monitor.pipeline.reload import rule_reference_problems
from monitor.rules.load import RuleCheck, check_rules


def check(config_path: Path, *, console: Console) -> ExitCode:
    """Every problem of the config, of every rule and list file, and between
    them, in one run: an invalid config still names its rules directory and
    routes, and an invalid rule still its lists, selections and supersedes."""
    problems: list[Problem] = []
    loaded: LoadedConfig | None = None
    try:
        loaded = load_config(config_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    draft = read_config_draft(config_path)
    if draft is None and loaded is not None:  # the file changed since: check what was loaded
        draft = config_draft(loaded)
    rules_dir = draft.rules_dir() if draft is not None else None
    if draft is None and (config_path.parent / "rules").is_dir():
        # No TOML to say where the rules are: check the default place anyway,
        # so that fixing the config does not reveal a second list of problems.
        rules_dir = (config_path.parent / "rules", str(config_path.parent / "rules"))
    checked: RuleCheck | None = None
    if rules_dir is not None:
        checked = check_rules(*rules_dir)
        problems.extend(checked.problems)
        if draft is not None:
            problems.extend(rule_reference_problems(draft, checked))
    if problems:
        console.problems(by_file(problems), to_out=True)
        console.warn(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        return ExitCode.PROBLEMS
    assert loaded is not None
    assert checked is not None
    assert checked.rules is not None
    disabled = loaded.config.disabled_feeds
    off = (
        f" (and {len(disabled)} disabled: {', '.join(f.name for f in disabled)})"
        if disabled
        else ""
    )
    console.say(
        f"OK: {config_path}: {len(loaded.config.feeds)} feeds{off}; "
        f"{loaded.config.rules.dir}: {len(checked.rules.rules)} rules "
        f"in {len(checked.rules.files)} files"
    )
    return ExitCode.OK


def by_file(problems: Sequence[Problem]) -> list[Problem]:
    """Each file's problems together and in line order, files in the order met."""
    order: dict[str, int] = {}
    for problem in problems:
        order.setdefault(problem.file, len(order))
    return sorted(problems, key=lambda p: (order[p.file], p.line or 0))
