"""Reading rule files from a directory into compiled rules, with every problem at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from monitor.errors import Problem, RuleError
from monitor.rules.match import Rule, compile_rule
from monitor.rules.model import RuleSpec
from monitor.validation import problems_from_validation
from monitor.yamlsource import load_yaml

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    files: tuple[Path, ...]

    def by_id(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)


def load_rules(directory: Path, shown_dir: str | None = None) -> RuleSet:
    """Load and compile every rule file in ``directory``.

    Raises RuleError listing every problem in every file, so that one run of
    ``monitor check`` shows all mistakes. ``shown_dir`` is how the directory
    is named in messages (the path as the config wrote it).
    """
    label = shown_dir if shown_dir is not None else str(directory)
    if not directory.is_dir():
        raise RuleError([Problem(label, None, "rules directory not found")])
    files = rule_files(directory)
    if not files:
        raise RuleError([Problem(label, None, "no rule files (*.yaml) in the rules directory")])
    problems: list[Problem] = []
    rules: list[Rule] = []
    first_seen: dict[str, tuple[str, int | None]] = {}
    for path in files:
        shown = f"{label.rstrip('/')}/{path.name}"
        rule, file_problems = _load_rule_file(path, shown)
        problems.extend(file_problems)
        if rule is None:
            continue
        if rule.id in first_seen:
            other, _ = first_seen[rule.id]
            problems.append(
                Problem(
                    shown, first_seen_line(path), f"duplicate rule id '{rule.id}' (also in {other})"
                )
            )
            continue
        first_seen[rule.id] = (shown, None)
        rules.append(rule)
    if problems:
        raise RuleError(problems)
    return RuleSet(rules=tuple(rules), files=tuple(files))


def first_seen_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("id:"):
            return number
    return None


def _load_rule_file(path: Path, shown: str) -> tuple[Rule | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, None, f"cannot read rule file: {exc}")]
    document, problems = load_yaml(text, shown)
    if document is None:
        return None, problems
    if not isinstance(document.data, dict):
        return None, [
            *problems,
            Problem(shown, 1, "a rule file must be a mapping with id, title, severity and match"),
        ]
    try:
        spec = RuleSpec.model_validate(document.data)
    except ValidationError as exc:
        return None, problems + problems_from_validation(exc, RuleSpec, shown, document.line_of)
    if problems:
        return None, problems
    return compile_rule(spec, shown), []
