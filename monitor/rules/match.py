"""Compiled rules and the pure matcher: item and rules in, matches out. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.items import Item, fold_for_matching
from monitor.rules.model import ConditionSpec, RuleSpec, Severity


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    """The term as the rule file wrote it."""
    folded: str
    """The term folded like item text, padded with spaces for whole-word search."""


@dataclass(frozen=True, slots=True)
class Condition:
    all: tuple[Term | Condition, ...] = ()
    any: tuple[Term | Condition, ...] = ()
    none: tuple[Term | Condition, ...] = ()

    def holds(self, text: str) -> bool:
        return (
            all(_holds(node, text) for node in self.all)
            and (not self.any or any(_holds(node, text) for node in self.any))
            and not any(_holds(node, text) for node in self.none)
        )

    def positive_terms(self) -> Iterable[Term]:
        """Terms whose presence can make the condition hold (not those under none)."""
        for node in (*self.all, *self.any):
            if isinstance(node, Term):
                yield node
            else:
                yield from node.positive_terms()


def _holds(node: Term | Condition, text: str) -> bool:
    if isinstance(node, Term):
        return node.folded in text
    return node.holds(text)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    description: str
    feed_tags: frozenset[str]
    condition: Condition
    source: str
    """The file the rule came from, for error messages and ``monitor check``."""
    terms: tuple[Term, ...]

    def applies_to(self, item: Item) -> bool:
        return not self.feed_tags or not self.feed_tags.isdisjoint(item.feed_tags)


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    item: Item
    matched_terms: tuple[str, ...]


def compile_term(text: str) -> Term:
    folded = fold_for_matching(text)
    if not folded:
        raise ValueError(f"term {text!r} has no letters or digits, so it can never match")
    return Term(text=text, folded=f" {folded} ")


def compile_condition(spec: ConditionSpec) -> Condition:
    def nodes(children: tuple[str | ConditionSpec, ...] | None) -> tuple[Term | Condition, ...]:
        return tuple(
            compile_term(child) if isinstance(child, str) else compile_condition(child)
            for child in children or ()
        )

    return Condition(all=nodes(spec.all), any=nodes(spec.any), none=nodes(spec.none))


def compile_rule(spec: RuleSpec, source: str) -> Rule:
    condition = compile_condition(spec.match)
    unique_terms = {term.folded: term for term in condition.positive_terms()}
    return Rule(
        id=spec.id,
        title=spec.title,
        severity=spec.severity,
        description=spec.description,
        feed_tags=frozenset(spec.feed_tags),
        condition=condition,
        source=source,
        terms=tuple(unique_terms.values()),
    )


def matching_text(item: Item) -> str:
    """Title and summary folded for whole-word search.

    Fields are joined with " | " (never part of a folded term) so that a phrase
    cannot match across the end of the title and the start of the summary.
    """
    return f" {fold_for_matching(item.title)} | {fold_for_matching(item.summary)} "


def match_item(item: Item, rules: Sequence[Rule]) -> list[Match]:
    """Every rule the item satisfies, in rule order."""
    text = matching_text(item)
    matches = []
    for rule in rules:
        if rule.applies_to(item) and rule.condition.holds(text):
            found = tuple(term.text for term in rule.terms if term.folded in text)
            matches.append(Match(rule=rule, item=item, matched_terms=found))
    return matches
