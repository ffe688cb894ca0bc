"""From validated rule and list specs to compiled rules sharing one term index.

Resolves ``$list`` references (lists may include lists), and finds what
the schema cannot see: undefined or circular references, regular
expressions where positions are needed, and conditions that can never hold.
Every problem carries the file and line it is about.

A rule that failed the schema can be compiled from what validated of it
(``partial``), so that one run reports its undefined lists and
contradictions too. Checks that look for something absent (a selection
never used, a condition made only of ``none``) then stay quiet: the
absent part may be the one the schema refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from monitor.domain.listing import EntityType, ListingChange
from monitor.errors import Problem
from monitor.rules.compiled import (
    DEFAULT_FIELDS,
    Case,
    Condition,
    Escalation,
    Guard,
    ListRef,
    Near,
    Node,
    Rule,
    TermRef,
    Tier,
    positive_terms,
    required_term_sets,
    requires_fields,
)
from monitor.rules.index import TermIndex
from monitor.rules.model import CaseSpec, ConditionSpec, ListSpec, NearSpec, RuleSpec
from monitor.rules.terms import Regex, is_list_reference, list_name, parse_term
from monitor.rules.text import LISTING_FIELDS
from monitor.validation import Location, did_you_mean

_LISTING = frozenset(LISTING_FIELDS)

LineOf = Callable[[Location], int | None]

MAX_CONDITION_DEPTH = 32
"""Deepest nesting of conditions, counting those of the selections used: a
selection using one using another, hundreds deep, would exhaust Python's
recursion limit when compiled or matched."""


@dataclass(frozen=True, slots=True)
class ListingCase(Case):
    """A rule test whose item is an official list's change (a case with
    ``listing:``): the case's title is the entity's name, its summary the
    list's remarks."""

    change: ListingChange
    list_name: str
    programs: tuple[str, ...]
    entity_type: EntityType
    countries: tuple[str, ...]


def compile_case(case: CaseSpec, default_tags: tuple[str, ...], line: int | None) -> Case:
    """The compiled form of one rule test."""
    tags = case.tags if case.tags is not None else default_tags
    expect = None if case.expect == "none" else case.expect
    if case.listing is None:
        return Case(case.title, case.summary, tags, expect, case.note, line)
    listing = case.listing
    return ListingCase(
        case.title,
        case.summary,
        tags,
        expect,
        case.note,
        line,
        change=listing.change,
        list_name=listing.list,
        programs=listing.programs,
        entity_type=listing.entity_type,
        countries=listing.countries,
    )


@dataclass
class SourcedList:
    name: str
    spec: ListSpec
    file: str
    line_of: LineOf


@dataclass
class Compiler:
    index: TermIndex
    lists: dict[str, SourcedList]
    problems: list[Problem] = field(default_factory=list)
    unreadable_lists: frozenset[str] = frozenset()
    """Lists whose file exists but is invalid: its own problems say so, and
    a reference to it is no further problem."""
    _resolved: dict[str, tuple[TermRef, ...]] = field(default_factory=dict)
    _resolving: list[str] = field(default_factory=list)

    # --- lists --------------------------------------------------------------

    def resolve_list(self, name: str, file: str, line: int | None) -> tuple[TermRef, ...] | None:
        if name in self._resolved:
            return self._resolved[name]
        source = self.lists.get(name)
        if source is None and name in self.unreadable_lists:
            return None
        if source is None:
            hint = did_you_mean(name, list(self.lists), prefix="$")
            self.problems.append(Problem(file, line, f"undefined list '${name}'{hint}"))
            return None
        if name in self._resolving:
            cycle = " -> ".join(
                f"${n}" for n in [*self._resolving[self._resolving.index(name) :], name]
            )
            self.problems.append(
                Problem(
                    source.file, source.line_of(("terms",)), f"lists include each other: {cycle}"
                )
            )
            return None
        self._resolving.append(name)
        try:
            terms: dict[int, TermRef] = {}
            for position, text in enumerate(source.spec.terms):
                line_here = source.line_of(("terms", position))
                if is_list_reference(text):
                    for term in self.resolve_list(list_name(text), source.file, line_here) or ():
                        terms.setdefault(term.id, term)
                else:
                    term = self.term(text)
                    terms.setdefault(term.id, term)
            resolved = tuple(terms.values())
        finally:
            self._resolving.pop()
        self._resolved[name] = resolved
        return resolved

    def term(self, text: str) -> TermRef:
        pattern = parse_term(text)
        return TermRef(self.index.add(pattern), pattern.key)

    # --- rules --------------------------------------------------------------

    def compile_rule(
        self,
        spec: RuleSpec,
        file: str,
        line_of: LineOf,
        *,
        partial: bool = False,
        lost_selections: frozenset[str] | None = frozenset(),
    ) -> Rule | None:
        """The compiled rule, or None with its problems added to ``problems``.

        ``partial``: ``spec`` is what validated of an invalid rule (see the
        module's docstring); ``lost_selections`` names its selections that
        did not validate, None when any ``$name`` may have been one.
        """
        before = len(self.problems)
        context = _Context(self, file, line_of, spec.selections, lost_selections, partial)
        condition = context.condition(spec.match, ("match",))
        tiers = tuple(
            Tier(tier.severity, context.condition(tier.when, ("tiers", i, "when")))
            for i, tier in enumerate(spec.tiers)
        )
        guards = tuple(
            Guard(
                name=guard.name,
                cues=context.positional_terms(guard.cues, ("guards", i, "cues"), "a guard's cues"),
                action=guard.action,
                to=guard.to,
                window=guard.window,
                questions=guard.questions,
                clause=guard.clause,
                near_anchors=guard.anchors == "near",
                ignore_matched_cues=guard.matched_cues == "ignore",
            )
            for i, guard in enumerate(spec.guards)
        )
        cases = tuple(
            compile_case(case, spec.feed_tags, line_of(("tests", i)))
            for i, case in enumerate(spec.tests)
        )
        context.check_inherited_fields(spec)
        for i, guard in enumerate(spec.guards):
            if guard.to is not None and guard.to.rank > spec.severity.rank:
                context.problem(
                    ("guards", i, "to"),
                    f"'to: {guard.to.value}' would raise the severity above the rule's "
                    f"{spec.severity.value}; a guard can only lower it (or use action: keep)",
                )
        unused = set() if partial else spec.selections.keys() - context.used_selections
        for name in sorted(unused):
            context.problem(
                ("selections", name),
                f"selection '${name}' is defined but never used (in match, tiers or "
                "another selection)",
            )
        for name in sorted(spec.selections.keys() & self.lists.keys()):
            context.problem(
                ("selections", name),
                f"selection '${name}' has the name of the list rules/lists/{name}.yaml: "
                "'$" + name + "' would be ambiguous; rename the selection",
            )
        required = required_term_sets(condition)
        if not required and len(self.problems) == before and not partial:
            context.problem(
                ("match",),
                "this rule would alert on items that contain none of its terms "
                "(its match is made only of 'none' parts); give it a term it requires",
            )
        if len(self.problems) > before:
            return None
        return Rule(
            id=spec.id,
            title=spec.title,
            severity=spec.severity,
            description=spec.description,
            feed_tags=frozenset(spec.feed_tags),
            condition=condition,
            tiers=tiers,
            guards=guards,
            cases=cases,
            source=file,
            supersedes=frozenset(spec.supersedes),
            escalate=Escalation(spec.escalate.to, spec.escalate.sources, spec.escalate.official)
            if spec.escalate
            else None,
            positive_terms=frozenset(term.id for term in positive_terms(condition)),
            term_texts={term.id: term.text for term in positive_terms(condition)},
            required=required,
            reads_listings=any(
                requires_fields(c, _LISTING) for c in (condition, *(t.when for t in tiers))
            ),
        )


@dataclass
class _Context:
    compiler: Compiler
    file: str
    line_of: LineOf
    selections: dict[str, ConditionSpec | NearSpec] = field(default_factory=dict)
    lost_selections: frozenset[str] | None = frozenset()
    partial: bool = False
    used_selections: set[str] = field(default_factory=set)
    _compiled: dict[str, Condition | None] = field(default_factory=dict)
    _compiling: list[str] = field(default_factory=list)
    _depth: int = 0

    def problem(self, loc: Location, message: str) -> None:
        self.compiler.problems.append(Problem(self.file, self.line_of(loc), message))

    def lost(self, name: str) -> bool:
        """Whether ``$name`` may be a selection that did not validate."""
        if name in self.compiler.lists or name in self.compiler.unreadable_lists:
            return False
        return self.lost_selections is None or name in self.lost_selections

    def condition(self, spec: ConditionSpec, loc: Location) -> Condition:
        if self._depth >= MAX_CONDITION_DEPTH:
            chain = self._compiling
            via = (
                f" (through {len(chain)} selections, ${chain[0]} to ${chain[-1]})" if chain else ""
            )
            self.problem(
                loc,
                f"conditions nested more than {MAX_CONDITION_DEPTH} deep, counting those of "
                f"the selections used{via}; flatten them",
            )
            # The selections beyond the limit are used, only not compiled.
            self.used_selections.update(self.selections)
            return Condition()
        self._depth += 1
        try:
            nodes = {
                key: tuple(
                    self.node(child, (*loc, key, i))
                    for i, child in enumerate(getattr(spec, key) or ())
                )
                for key in ("all", "any", "none")
            }
        finally:
            self._depth -= 1
        condition = Condition(
            all=tuple(n for n in nodes["all"] if n is not None),
            any=tuple(n for n in nodes["any"] if n is not None),
            none=tuple(n for n in nodes["none"] if n is not None),
            fields=frozenset(spec.fields) if spec.fields else None,
            sentence=spec.scope == "sentence",
        )
        if condition.sentence:
            self._check_sentence_scope(condition, loc)
        excluded = {n.id for n in condition.none if isinstance(n, TermRef)}
        for term in (n for n in condition.all if isinstance(n, TermRef) and n.id in excluded):
            self.problem(
                (*loc, "none"),
                f"can never match: '{term.text}' is both required (all) and excluded (none)",
            )
        if (
            condition.any
            and not self.partial
            and len(condition.any) == len(spec.any or ())
            and all(isinstance(n, TermRef) and n.id in excluded for n in condition.any)
        ):
            self.problem(
                (*loc, "any"), "can never match: every term in 'any' is also excluded in 'none'"
            )
        return condition

    def _check_sentence_scope(self, condition: Condition, loc: Location) -> None:
        """What cannot work within one sentence: words of no sentence, and
        a condition that asks only for absences."""
        if not condition.all and not condition.any and not self.partial:
            self.problem(
                loc,
                "'scope: sentence' needs 'all' or 'any': with only 'none' it would hold "
                "in any sentence that lacks the words",
            )
        pending: list[Node] = [condition]
        while pending:
            node = pending.pop()
            if isinstance(node, Condition):
                outside = sorted((node.fields or frozenset()) - DEFAULT_FIELDS)
                if outside:
                    self.problem(
                        loc,
                        f"'scope: sentence' looks at the sentences of title and summary; "
                        f"fields {', '.join(outside)} have no sentences{_listing_hint(outside)}",
                    )
                pending.extend((*node.all, *node.any, *node.none))
            elif isinstance(node, TermRef | ListRef):
                terms = (node,) if isinstance(node, TermRef) else node.terms
                regex = next(
                    (t for t in terms if isinstance(self.compiler.index.patterns[t.id], Regex)),
                    None,
                )
                if regex is not None:
                    self.problem(
                        loc,
                        f"regular expressions cannot be used under 'scope: sentence' "
                        f"('{regex.text}'): they look at a whole field, not at one sentence",
                    )

    def check_inherited_fields(self, spec: RuleSpec) -> None:
        """Refuse a 'near' test or a sentence-scoped condition that takes
        fields without sentences from the condition around it, or from the
        place its selection is used: it could never hold there. Fields a
        condition names itself are checked where it is compiled."""
        Pending = tuple[str | ConditionSpec | NearSpec, Location, frozenset[str], str]
        pending: list[Pending] = [
            (spec.match, ("match",), DEFAULT_FIELDS, ""),
            *((t.when, ("tiers", i, "when"), DEFAULT_FIELDS, "") for i, t in enumerate(spec.tiers)),
        ]
        followed: set[tuple[str, frozenset[str]]] = set()
        while pending:
            node, loc, inherited, via = pending.pop()
            if isinstance(node, str):
                name = list_name(node) if is_list_reference(node) else ""
                selection = self.selections.get(name)
                if selection is not None and (name, inherited) not in followed:
                    followed.add((name, inherited))
                    line = self.line_of(loc)
                    used = f" (as ${name} is used{f' on line {line}' if line else ''})"
                    pending.append((selection, ("selections", name), inherited, used))
                continue
            outside = sorted(inherited - DEFAULT_FIELDS)
            if node.fields is None and outside:
                if isinstance(node, NearSpec):
                    what = "a 'near' test measures words within sentences of title and summary"
                else:
                    what = "'scope: sentence' looks at the sentences of title and summary"
                if isinstance(node, NearSpec) or node.scope == "sentence":
                    self.problem(
                        loc,
                        f"{what}, but here it takes fields {', '.join(outside)}, which have "
                        f"no sentences, from the condition around it{via}; give it fields "
                        f"of its own{_listing_hint(outside)}",
                    )
            if isinstance(node, ConditionSpec):
                fields = frozenset(node.fields) if node.fields else inherited
                for key in ("all", "any", "none"):
                    for i, child in enumerate(getattr(node, key) or ()):
                        pending.append((child, (*loc, key, i), fields, via))

    def node(self, spec: str | ConditionSpec | NearSpec, loc: Location) -> Node | None:
        if isinstance(spec, ConditionSpec):
            return self.condition(spec, loc)
        if isinstance(spec, NearSpec):
            groups = tuple(
                self.positional_terms(group, (*loc, "near", i), "'near'")
                for i, group in enumerate(spec.near)
            )
            return Near(
                groups=groups,
                within=spec.within,
                ordered=spec.ordered,
                fields=frozenset(spec.fields) if spec.fields else None,
            )
        if is_list_reference(spec):
            name = list_name(spec)
            if name in self.selections:
                return self.selection(name, loc)
            if self.lost(name):
                return None
            if self.selections and name not in self.compiler.lists:
                hint = did_you_mean(name, [*self.selections, *self.compiler.lists], prefix="$")
                self.problem(loc, f"undefined list or selection '${name}'{hint}")
                return None
            terms = self.compiler.resolve_list(name, self.file, self.line_of(loc))
            return ListRef(name, terms) if terms is not None else None
        return self.compiler.term(spec)

    def selection(self, name: str, loc: Location) -> Condition | None:
        """A named selection, compiled once however often it is used."""
        self.used_selections.add(name)
        if name in self._compiled:
            return self._compiled[name]
        spec = self.selections.get(name)
        if spec is None:
            return None
        if name in self._compiling:
            cycle = " -> ".join(
                f"${n}" for n in [*self._compiling[self._compiling.index(name) :], name]
            )
            self.problem(("selections", name), f"selections use each other: {cycle}")
            return None
        self._compiling.append(name)
        try:
            loc = ("selections", name)
            if isinstance(spec, NearSpec):
                near = self.node(spec, loc)
                compiled = Condition(all=(near,) if near is not None else (), name=name)
            else:
                compiled = replace(self.condition(spec, loc), name=name)
        finally:
            self._compiling.pop()
        self._compiled[name] = compiled
        return compiled

    def positional_terms(
        self, texts: tuple[str, ...], loc: Location, where: str
    ) -> tuple[TermRef, ...]:
        """Terms with word positions: lists are expanded, regular expressions refused."""
        terms: dict[int, TermRef] = {}
        for i, text in enumerate(texts):
            if is_list_reference(text) and self.lost(list_name(text)):
                continue
            if is_list_reference(text) and list_name(text) in self.selections:
                self.used_selections.add(list_name(text))
                self.problem(
                    (*loc, i),
                    f"'{text}' is a selection, a condition: it can be an entry of "
                    f"all/any/none but not a term in {where}",
                )
                continue
            if is_list_reference(text):
                found = (
                    self.compiler.resolve_list(list_name(text), self.file, self.line_of((*loc, i)))
                    or ()
                )
            else:
                found = (self.compiler.term(text),)
            for term in found:
                if isinstance(self.compiler.index.patterns[term.id], Regex):
                    self.problem(
                        (*loc, i),
                        f"regular expressions cannot be used in {where}: they have no word positions",
                    )
                    continue
                terms.setdefault(term.id, term)
        return tuple(terms.values())


def _listing_hint(fields: list[str]) -> str:
    listing = [f for f in fields if f in LISTING_FIELDS]
    if not listing:
        return ""
    return (
        f" ({', '.join(listing)}: an official list's values, not text; test them with "
        "terms in a condition of their own, outside 'scope: sentence' and 'near')"
    )
