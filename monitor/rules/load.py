"""Reading rule and list files into a compiled rule set, reporting every problem at once."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from monitor.errors import Problem, RuleError
from monitor.items import Item
from monitor.rules.compile import Compiler, SourcedList
from monitor.rules.match import ItemMatches, Match, Matcher, Rule, TermIndex
from monitor.rules.model import ListSpec, RuleSpec
from monitor.validation import did_you_mean, problems_from_validation
from monitor.yamlsource import YamlDocument, load_yaml

RULE_SUFFIXES = (".yaml", ".yml")
LISTS_DIR = "lists"

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class RulesSource:
    """Where a rule set was loaded from, and a digest of the files as they were
    then: another process loading the directory knows whether it got the same
    rules."""

    directory: str
    digest: str


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    files: tuple[Path, ...]
    lists: tuple[str, ...]
    matcher: Matcher
    source: RulesSource | None = None
    """None when the files changed while they were being loaded."""

    def by_id(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    def match(self, item: Item) -> list[Match]:
        return self.matcher.match(item)

    def rebuild(self, matches: ItemMatches | None, items: Iterable[Item]) -> list[Match] | None:
        """The matches of ``items`` from matches made elsewhere by these same
        rules; None if they were made by other rules (or none were made)."""
        if matches is None or self.source is None:
            return None
        if matches.rules_digest != self.source.digest:
            return None
        rebuilt: list[Match] = []
        for item in items:
            for rule_id, severity, matched, guard in matches.by_identity.get(item.identity, ()):
                rule = self.by_id(rule_id)
                if rule is None:
                    return None
                rebuilt.append(Match(rule, item, severity, matched, guard))
        return rebuilt

    def match_all_items(self, items: Iterable[Item]) -> ItemMatches | None:
        """Every item's matches, to hand to the process that loaded the same rules."""
        if self.source is None:
            return None
        found = {}
        for item in items:
            matches = self.match(item)
            if matches:
                found[item.identity] = tuple(match.record() for match in matches)
        return ItemMatches(self.source.digest, found)


def yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)


def rules_fingerprint(directory: Path) -> dict[str, str]:
    """A content digest of every rule and list file, by path.

    Contents, not modification times: a copy that keeps times (cp -p, rsync)
    is still seen. A file that vanishes while being read counts as changed.
    """
    digests = {}
    for path in [*yaml_files(directory), *yaml_files(directory / LISTS_DIR)]:
        try:
            digests[str(path.relative_to(directory))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
        except OSError:
            digests[str(path.relative_to(directory))] = "unreadable"
    return digests


def load_rules(directory: Path, shown_dir: str | None = None) -> RuleSet:
    """Load lists and rules from ``directory`` and compile them.

    Raises RuleError listing every problem in every file, so that one run of
    ``monitor check`` shows all mistakes. ``shown_dir`` is how the directory
    is named in messages (the path as the config wrote it).
    """
    label = (shown_dir if shown_dir is not None else str(directory)).rstrip("/")
    before = rules_fingerprint(directory)
    if not directory.is_dir():
        raise RuleError([Problem(label, None, "rules directory not found")])
    files = yaml_files(directory)
    if not files:
        raise RuleError([Problem(label, None, "no rule files (*.yaml) in the rules directory")])
    problems: list[Problem] = []

    lists: dict[str, SourcedList] = {}
    for path in yaml_files(directory / LISTS_DIR):
        shown = f"{label}/{LISTS_DIR}/{path.name}"
        if path.stem in lists:
            problems.append(Problem(shown, None, f"a second file defines the list '${path.stem}'"))
            continue
        listed = _load_spec(path, shown, ListSpec, problems)
        if listed is not None:
            list_spec, list_document = listed
            lists[path.stem] = SourcedList(path.stem, list_spec, shown, list_document.line_of)

    index = TermIndex()
    compiler = Compiler(index, lists)
    rules: list[Rule] = []
    first_seen: dict[str, str] = {}
    for path in files:
        shown = f"{label}/{path.name}"
        loaded = _load_spec(path, shown, RuleSpec, problems)
        if loaded is None:
            continue
        spec, document = loaded
        if spec.id in first_seen:
            problems.append(
                Problem(
                    shown,
                    document.line_of(("id",)),
                    f"duplicate rule id '{spec.id}' (also in {first_seen[spec.id]})",
                )
            )
            continue
        first_seen[spec.id] = shown
        rule = compiler.compile_rule(spec, shown, document.line_of)
        if rule is not None:
            rules.append(rule)
    problems.extend(_supersedes_problems(rules))
    for name in lists:  # report problems in lists no rule uses, too
        compiler.resolve_list(name, lists[name].file, None)
    problems.extend(compiler.problems)
    if problems:
        raise RuleError(_unique(problems))
    after = rules_fingerprint(directory)
    return RuleSet(
        rules=tuple(rules),
        files=tuple(files),
        lists=tuple(sorted(lists)),
        matcher=Matcher(rules, index),
        source=RulesSource(str(directory.resolve()), fingerprint_digest(after))
        if before == after
        else None,
    )


def fingerprint_digest(fingerprint: dict[str, str]) -> str:
    """One digest for a whole :func:`rules_fingerprint`."""
    return hashlib.sha256(repr(sorted(fingerprint.items())).encode()).hexdigest()


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _load_spec(
    path: Path, shown: str, model: type[SpecT], problems: list[Problem]
) -> tuple[SpecT, YamlDocument] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, None, f"cannot read file: {exc}"))
        return None
    document, yaml_problems = load_yaml(text, shown)
    problems.extend(yaml_problems)
    if document is None:
        return None
    if not isinstance(document.data, dict):
        problems.append(Problem(shown, 1, f"expected a mapping ({', '.join(model.model_fields)})"))
        return None
    try:
        spec = model.model_validate(document.data)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, model, shown, document.line_of))
        return None
    if yaml_problems:
        return None
    return spec, document


def _supersedes_problems(rules: list[Rule]) -> list[Problem]:
    """Unknown ids, and rules superseding themselves or each other (no alert at all)."""
    problems = []
    known = {rule.id: rule for rule in rules}
    for rule in rules:
        for other in sorted(rule.supersedes - known.keys()):
            hint = did_you_mean(other, sorted(known))
            problems.append(Problem(rule.source, None, f"supersedes unknown rule '{other}'{hint}"))
        # Walk what this rule supersedes, directly or not; meeting itself is a cycle.
        seen: set[str] = set()
        todo = list(rule.supersedes & known.keys())
        while todo:
            current = todo.pop()
            if current == rule.id:
                problems.append(
                    Problem(
                        rule.source,
                        None,
                        f"rule '{rule.id}' supersedes itself, directly or through other rules: "
                        "an item matching them all would alert none of them",
                    )
                )
                break
            if current not in seen:
                seen.add(current)
                todo.extend(known[current].supersedes & known.keys())
    return problems
