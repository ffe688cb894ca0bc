"""Reading rule and list files into a compiled rule set, reporting every problem at once."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.domain.item import Item
from monitor.errors import Problem, RuleError
from monitor.rules.compile import Compiler, LineOf, SourcedList
from monitor.rules.compiled import ItemMatches, Match, Rule
from monitor.rules.index import TermIndex
from monitor.rules.match import Matcher
from monitor.rules.model import ListSpec, RuleSpec
from monitor.salvage import salvage
from monitor.validation import Location, did_you_mean, problems_from_validation
from monitor.yamlsource import YamlDocument, read_yaml

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
    facts: tuple[RuleFacts, ...] = ()
    """Of each rule, where its file gives its id and feed tags."""

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
    """The rule or list files in ``directory``; none where it cannot be read
    (``unreadable_because`` says why)."""
    try:
        if not directory.is_dir():
            return []
        return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)
    except OSError:
        return []


def unreadable_because(directory: Path) -> str | None:
    """Why the listing of an existing ``directory`` cannot be read (its
    permissions, most often), or None when it can or does not exist."""
    try:
        with os.scandir(directory):
            return None
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return exc.strerror or str(exc)


def rules_fingerprint(directory: Path) -> dict[str, str]:
    """A content digest of every rule and list file, by path.

    Contents, not modification times: a copy that keeps times (cp -p, rsync)
    is still seen. A file that vanishes while being read counts as changed.
    """
    digests = {}
    for listed in (directory, directory / LISTS_DIR):
        if (reason := unreadable_because(listed)) is not None:
            digests[f"{listed.relative_to(directory)}/"] = f"unreadable: {reason}"
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
    checked = check_rules(directory, shown_dir)
    if checked.rules is None:
        raise RuleError(list(checked.problems))
    return checked.rules


@dataclass(frozen=True)
class RuleFacts:
    """What a rule file says of itself, valid or not: enough to check what
    refers to it (supersedes, config routes) and what it refers to."""

    id: str
    file: str
    line: int | None
    feed_tags: tuple[str, ...] = ()
    feed_tags_line: int | None = None
    supersedes: tuple[tuple[str, int | None], ...] = ()
    """Each superseded rule id with its line."""


@dataclass(frozen=True)
class RuleCheck:
    """All that one pass over a rules directory found."""

    rules: RuleSet | None
    """None when there are problems."""
    problems: tuple[Problem, ...]
    facts: tuple[RuleFacts, ...]
    """Of every rule file whose id could be read, valid or not."""
    unknown_ids: frozenset[str] = frozenset()
    """Names (file stems) of rule files too broken to tell their id: a
    reference to one of these names is not reported as unknown, since the
    file's own problems are."""

    def may_exist(self, rule_id: str) -> bool:
        return rule_id in self.unknown_ids or any(fact.id == rule_id for fact in self.facts)

    def rule_ids(self) -> list[str]:
        return sorted({fact.id for fact in self.facts})


_RULE_DEFAULTS: dict[str, object] = {
    # Stand-ins for required keys that are missing or invalid, so that the
    # rest of the rule is still checked. The highest severity, so that no
    # guard's 'to' is taken for one raising it.
    "id": "invalid-rule",
    "title": "invalid rule",
    "severity": "critical",
    "match": {"any": ["invalid rule"]},
}


def check_rules(directory: Path, shown_dir: str | None = None) -> RuleCheck:
    """Read, validate and compile every list and rule in ``directory``, and
    report every problem of every file.

    A file that fails the schema is still checked where the rest of it is
    readable: what validates of it (every part an error points at left
    out) is compiled for undefined lists and selections, regular expressions
    where positions are needed, contradictions and its supersedes, and its
    id counts as known to other rules and to config routes.
    """
    label = (shown_dir if shown_dir is not None else str(directory)).rstrip("/")
    before = rules_fingerprint(directory)
    # Asked first: where the directory's parent cannot be searched, even
    # whether it exists cannot be told.
    if (reason := unreadable_because(directory)) is not None:
        return RuleCheck(None, (Problem(label, None, _cannot_list("rules", reason)),), ())
    if not directory.is_dir():
        return RuleCheck(None, (Problem(label, None, "rules directory not found"),), ())
    files = yaml_files(directory)
    if not files:
        return RuleCheck(
            None, (Problem(label, None, "no rule files (*.yaml) in the rules directory"),), ()
        )
    problems: list[Problem] = []

    lists: dict[str, SourcedList] = {}
    unreadable_lists: set[str] = set()
    if (reason := unreadable_because(directory / LISTS_DIR)) is not None:
        problems.append(Problem(f"{label}/{LISTS_DIR}", None, _cannot_list("lists", reason)))
    for path in yaml_files(directory / LISTS_DIR):
        shown = f"{label}/{LISTS_DIR}/{path.name}"
        if path.stem in lists or path.stem in unreadable_lists:
            problems.append(Problem(shown, None, f"a second file defines the list '${path.stem}'"))
            continue
        listed = _read_spec(path, shown, ListSpec, problems)
        if listed is None or listed.spec is None:
            unreadable_lists.add(path.stem)
        else:
            lists[path.stem] = SourcedList(path.stem, listed.spec, shown, listed.line_of)

    index = TermIndex()
    compiler = Compiler(index, lists, unreadable_lists=frozenset(unreadable_lists))
    rules: list[Rule] = []
    facts: list[RuleFacts] = []
    duplicates: list[RuleFacts] = []
    unknown_ids: set[str] = set()
    first_seen: dict[str, str] = {}
    for path in files:
        shown = f"{label}/{path.name}"
        loaded = _read_spec(path, shown, RuleSpec, problems, _RULE_DEFAULTS)
        fact = _rule_facts(loaded, shown) if loaded is not None else None
        if fact is None:
            unknown_ids.add(path.stem)
        duplicate = fact is not None and fact.id in first_seen
        if fact is not None and duplicate:
            duplicates.append(fact)
            problems.append(
                Problem(
                    shown,
                    fact.line,
                    f"duplicate rule id '{fact.id}' (also in {first_seen[fact.id]})",
                )
            )
        elif fact is not None:
            first_seen[fact.id] = shown
            facts.append(fact)
        if loaded is None or loaded.spec is None:
            continue
        rule = compiler.compile_rule(
            loaded.spec,
            shown,
            loaded.line_of,
            partial=not loaded.conditions_complete,
            lost_selections=_lost_selections(loaded),
        )
        if rule is not None and loaded.complete and not duplicate:
            rules.append(rule)
    problems.extend(_supersedes_problems(facts, duplicates, unknown_ids))
    for name in lists:  # report problems in lists no rule uses, too
        compiler.resolve_list(name, lists[name].file, None)
    problems.extend(compiler.problems)
    if problems:
        shown_files = [
            *(f"{label}/{p.name}" for p in files),
            *(f"{label}/{LISTS_DIR}/{p.name}" for p in yaml_files(directory / LISTS_DIR)),
        ]
        order = {shown: i for i, shown in enumerate(shown_files)}
        return RuleCheck(
            None,
            tuple(
                sorted(
                    _unique(problems), key=lambda p: (order.get(p.file, len(order)), p.line or 0)
                )
            ),
            tuple(facts),
            frozenset(unknown_ids),
        )
    after = rules_fingerprint(directory)
    rule_set = RuleSet(
        rules=tuple(rules),
        files=tuple(files),
        lists=tuple(sorted(lists)),
        matcher=Matcher(rules, index),
        source=RulesSource(str(directory.resolve()), fingerprint_digest(after))
        if before == after
        else None,
        facts=tuple(facts),
    )
    return RuleCheck(rule_set, (), tuple(facts))


def _cannot_list(kind: str, reason: str) -> str:
    return (
        f"cannot read the {kind} directory ({reason}); the user the monitor runs as "
        "needs read and search permission on it"
    )


def fingerprint_digest(fingerprint: dict[str, str]) -> str:
    """One digest for a whole :func:`rules_fingerprint`."""
    return hashlib.sha256(repr(sorted(fingerprint.items())).encode()).hexdigest()


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


@dataclass(frozen=True)
class _Read(Generic[SpecT]):
    """A rule or list file as far as it could be read and validated."""

    document: YamlDocument
    spec: SpecT | None
    """The spec, or what validated of it; None if nothing did."""
    complete: bool
    """The file is valid: ``spec`` is all of it."""
    conditions_complete: bool
    """``spec`` has every condition of the file (match, tiers and
    selections): a check for something absent from them may run."""
    line_of: LineOf


def _read_spec(
    path: Path,
    shown: str,
    model: type[SpecT],
    problems: list[Problem],
    defaults: dict[str, object] | None = None,
) -> _Read[SpecT] | None:
    """The file validated as ``model``; None if it is no YAML mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, None, f"cannot read file: {exc}"))
        return None
    document, yaml_problems = read_yaml(text, shown)
    problems.extend(yaml_problems)
    if document is None:
        return None
    if not isinstance(document.data, dict):
        problems.append(Problem(shown, 1, f"expected a mapping ({', '.join(model.model_fields)})"))
        return None
    try:
        spec = model.model_validate(document.data)
    except ValidationError as exc:
        problems.extend(
            problems_from_validation(exc, model, shown, document.line_of, document.data)
        )
        salvaged = salvage(model, document.data, defaults)
        if salvaged is None:
            return _Read(document, None, False, False, document.line_of)
        line_of = document.line_of

        def salvaged_line_of(loc: Location) -> int | None:
            return line_of(salvaged.original(loc))

        incomplete = {path[0] for path in salvaged.dropped}
        incomplete |= (defaults or {}).keys() - document.data.keys()
        return _Read(
            document,
            salvaged.model,
            complete=False,
            conditions_complete=not incomplete & _CONDITION_KEYS,
            line_of=salvaged_line_of,
        )
    valid = not yaml_problems
    return _Read(document, spec, valid, valid, document.line_of)


_CONDITION_KEYS = frozenset({"match", "tiers", "selections"})


def _rule_facts(read: _Read[RuleSpec], shown: str) -> RuleFacts | None:
    """The id, feed tags and supersedes a rule file gives, read from what
    validated of it, else from the file as written; None without an id."""
    data, spec = read.document.data, read.spec
    raw_id = data.get("id")
    if spec is not None and read.complete:
        rule_id = spec.id
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id):
        rule_id = str(raw_id)
    else:
        return None
    if spec is not None:
        supersedes = tuple(
            (target, read.line_of(("supersedes", i))) for i, target in enumerate(spec.supersedes)
        )
        feed_tags = spec.feed_tags
    else:
        raw = data.get("supersedes")
        supersedes = tuple(
            (target, read.line_of(("supersedes", i)))
            for i, target in enumerate(raw if isinstance(raw, list) else ())
            if isinstance(target, str)
        )
        feed_tags = ()
    return RuleFacts(
        id=rule_id,
        file=shown,
        line=read.document.line_of(("id",)),
        feed_tags=feed_tags,
        feed_tags_line=read.document.line_of(("feed_tags",)),
        supersedes=supersedes,
    )


def _lost_selections(read: _Read[RuleSpec]) -> frozenset[str] | None:
    """Selections of the file that did not validate; None if the file's
    'selections' could not be read at all (any $name may be one)."""
    raw = read.document.data.get("selections")
    if raw is None or read.spec is None:
        return frozenset()
    if not isinstance(raw, dict):
        return None
    return frozenset(str(name) for name in raw) - read.spec.selections.keys()


def _supersedes_problems(
    facts: list[RuleFacts], duplicates: list[RuleFacts], unknown_ids: set[str]
) -> list[Problem]:
    """Unknown ids, and rules superseding themselves or each other (no alert
    at all). ``duplicates``: rules whose id another file has already."""
    problems = []
    known = {fact.id: fact for fact in facts}
    for fact in [*facts, *duplicates]:
        for target, line in fact.supersedes:
            if target not in known and target not in unknown_ids:
                hint = did_you_mean(target, sorted(known))
                problems.append(
                    Problem(fact.file, line, f"supersedes unknown rule '{target}'{hint}")
                )
        # Walk what this rule supersedes, directly or not; meeting itself is a cycle.
        seen: set[str] = set()
        todo = [target for target, _ in fact.supersedes if target in known]
        while todo:
            current = todo.pop()
            if current == fact.id:
                problems.append(
                    Problem(
                        fact.file,
                        fact.supersedes[0][1],
                        f"rule '{fact.id}' supersedes itself, directly or through other rules: "
                        "an item matching them all would alert none of them",
                    )
                )
                break
            if current not in seen:
                seen.add(current)
                todo.extend(t for t, _ in known[current].supersedes if t in known)
    return problems
