"""Compiled rules as plain records, and the Match a rule makes on an item.

A rule's condition is a tree of :data:`Node`: terms, lists, 'near' tests and
conditions, each term known by its id in the shared
:class:`~monitor.rules.index.TermIndex`. The records are frozen so that one
compiled rule set can be shared by every poll and handed to worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.rules.text import TEXT_FIELDS

DEFAULT_FIELDS = frozenset(TEXT_FIELDS)
"""Where a condition looks for its terms unless it names its own fields."""


@dataclass(frozen=True, slots=True)
class TermRef:
    """One term of the shared index, as a rule refers to it."""

    id: int
    text: str
    """The term in its canonical written form, for reports ("sanction*")."""


@dataclass(frozen=True, slots=True)
class ListRef:
    """A named term list (``$name``): holds when any of its terms is present."""

    name: str
    terms: tuple[TermRef, ...]
    by_id: dict[int, TermRef] = field(default_factory=dict, compare=False, repr=False)
    """The terms by id (filled in from ``terms``): a list is tested by
    looking up the few terms an item holds, never by walking all of its own."""

    def __post_init__(self) -> None:
        if len(self.by_id) != len(self.terms):
            object.__setattr__(self, "by_id", {term.id: term for term in self.terms})


@dataclass(frozen=True, slots=True)
class Near:
    """A proximity test: one term of every group within ``within`` words, in one sentence."""

    groups: tuple[tuple[TermRef, ...], ...]
    within: int
    ordered: bool
    fields: frozenset[str] | None
    positions: tuple[dict[int, int], ...] = field(default=(), compare=False, repr=False)
    """Each group's terms by id, to their place in the group (filled in from
    ``groups``): a group as large as a list is tested like a list."""

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.groups):
            positions = tuple(
                {term.id: place for place, term in reversed(tuple(enumerate(group)))}
                for group in self.groups
            )
            object.__setattr__(self, "positions", positions)


@dataclass(frozen=True, slots=True)
class Condition:
    """Every node of 'all', one of 'any' and none of 'none' hold, in the fields given."""

    all: tuple[Node, ...] = ()
    any: tuple[Node, ...] = ()
    none: tuple[Node, ...] = ()
    fields: frozenset[str] | None = None
    sentence: bool = False
    """Everything below must hold within one sentence of the allowed fields."""
    name: str = ""
    """The selection this condition was defined as (``$name``), for traces."""


Node = TermRef | ListRef | Near | Condition


@dataclass(frozen=True, slots=True)
class Guard:
    """A hedge or negation guard: cue words near the matched statement skip, lower or keep it."""

    name: str
    cues: tuple[TermRef, ...]
    action: Literal["skip", "lower", "keep"]
    to: Severity | None
    window: int
    questions: bool
    clause: bool
    near_anchors: bool = False
    """Cues count only near the words of 'near' tests, when one holds."""
    ignore_matched_cues: bool = False
    """A cue that is itself one of the words the rule matched on is part of
    the statement, not a hedge of it."""
    cue_positions: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    """The cues by id, to their place among the cues (filled in from ``cues``):
    a long list of cues is tested like a list."""

    def __post_init__(self) -> None:
        if len(self.cue_positions) != len(self.cues):
            positions = {cue.id: place for place, cue in reversed(tuple(enumerate(self.cues)))}
            object.__setattr__(self, "cue_positions", positions)


@dataclass(frozen=True, slots=True)
class Tier:
    """A severity that replaces the rule's own when ``when`` holds too; the first such tier wins."""

    severity: Severity
    when: Condition


@dataclass(frozen=True, slots=True)
class Case:
    """A test case a rule file carries: an item and the severity expected (None: no alert)."""

    title: str
    summary: str
    tags: tuple[str, ...]
    expect: Severity | None
    note: str
    line: int | None


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: what it matches, how severe, and what it needs to be worth evaluating."""

    id: str
    title: str
    severity: Severity
    description: str
    feed_tags: frozenset[str]
    condition: Condition
    tiers: tuple[Tier, ...]
    guards: tuple[Guard, ...]
    cases: tuple[Case, ...]
    source: str
    """The file the rule came from, for messages."""
    supersedes: frozenset[str]
    positive_terms: frozenset[int]
    """Terms whose presence can make the rule match (not those under 'none')."""
    term_texts: dict[int, str]
    """How the rule's positive terms are written, by term id, for reports."""
    required: tuple[frozenset[int], ...]
    """Sets of terms of each of which at least one must be present for the
    rule to hold (one set per necessary part); empty when that cannot be
    told, and the rule is then always evaluated."""
    escalate: Escalation | None = None
    """When corroboration raises the rule's stories (see monitor.pipeline.story_assign)."""
    reads_listings: bool = False
    """The rule tests a field of an official list's change (``change``,
    ``country``...): only such rules judge listing items."""

    def applies_to(self, item: Item) -> bool:
        """Whether the item's feed has one of the rule's feed tags (or the rule
        names none); a listing item is for rules that read listing fields
        only, since an entity's name and remarks are no headline for a rule
        written for news."""
        if item.listing is not None and not self.reads_listings:
            return False
        return not self.feed_tags or not self.feed_tags.isdisjoint(item.feed_tags)


def requires_fields(condition: Condition, fields: frozenset[str]) -> bool:
    """Whether ``condition`` can hold only by finding something in one of
    ``fields``: a condition under its ``all`` or ``any`` looks there for
    terms it needs. One that only excludes (``none``) asks for nothing there."""
    pending: list[Node] = [condition]
    while pending:
        node = pending.pop()
        if isinstance(node, Condition):
            looks_there = node.fields is not None and not node.fields.isdisjoint(fields)
            if looks_there and (node.all or node.any):
                return True
            pending.extend((*node.all, *node.any))
    return False


@dataclass(frozen=True, slots=True)
class Escalation:
    """A rule's corroboration threshold: at ``sources`` independent sources,
    or once an official source tells it (``official``), its story's severity
    becomes ``to``."""

    to: Severity
    sources: int | None = None
    official: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    """A rule holding on an item: the severity it decided and the words it matched."""

    rule: Rule
    item: Item
    severity: Severity
    matched: dict[str, tuple[str, ...]]
    """Which terms matched in which field."""
    guard: str | None = None
    """The guard that lowered the severity, if any."""

    @property
    def matched_terms(self) -> tuple[str, ...]:
        """Every matched term once, in the order first matched, whatever the field."""
        seen: dict[str, None] = {}
        for terms in self.matched.values():
            seen.update(dict.fromkeys(terms))
        return tuple(seen)

    def to_alert(self, now: datetime) -> Alert:
        """The alert this match raises at ``now``: everything needed to render it, frozen."""
        item = self.item
        return Alert(
            rule_id=self.rule.id,
            rule_title=self.rule.title,
            severity=self.severity,
            feed=item.feed,
            item_identity=item.identity,
            item_guid=item.guid,
            title=item.title,
            link=item.link,
            summary=item.summary,
            published=item.timestamp,
            matched_terms=self.matched_terms,
            created_at=now,
            publisher=item.publisher,
        )

    def record(self) -> MatchRecord:
        """The match without its rule and item, to send to another process."""
        return (self.rule.id, self.severity, self.matched, self.guard)


MatchRecord = tuple[str, Severity, dict[str, tuple[str, ...]], str | None]
"""A Match as (rule id, severity, matched terms, guard)."""


@dataclass(frozen=True)
class ItemMatches:
    """The matches of every item of a document, made by one version of the rules."""

    rules_digest: str
    by_identity: dict[str, tuple[MatchRecord, ...]]
    """Only items with matches appear."""


def positive_terms(node: Node) -> Iterable[TermRef]:
    """The terms under ``node`` whose presence can make it hold (not those under 'none')."""
    if isinstance(node, TermRef):
        yield node
    elif isinstance(node, ListRef):
        yield from node.terms
    elif isinstance(node, Near):
        for group in node.groups:
            yield from group
    else:
        for child in (*node.all, *node.any):
            yield from positive_terms(child)


# --- which terms a rule needs ------------------------------------------------


def required_term_sets(condition: Condition) -> tuple[frozenset[int], ...]:
    """One trigger set per necessary part of the condition (see trigger_terms)."""
    if condition.all:
        sets = tuple(
            found for child in condition.all if (found := trigger_terms(child)) is not None
        )
        if condition.any and (found := trigger_terms(Condition(any=condition.any))) is not None:
            sets += (found,)
        return tuple(sorted(sets, key=len))
    found = trigger_terms(condition)
    return (found,) if found is not None else ()


def trigger_terms(node: Node) -> frozenset[int] | None:
    """A set of terms at least one of which must be present for ``node`` to hold.

    Used to skip rules cheaply: for 'all', the smallest such set among the
    children; for 'any', the union of the children's sets.
    """
    if isinstance(node, TermRef):
        return frozenset({node.id})
    if isinstance(node, ListRef):
        return frozenset(t.id for t in node.terms)
    if isinstance(node, Near):
        return min((frozenset(t.id for t in group) for group in node.groups), key=len)
    if node.all:
        sets = [found for child in node.all if (found := trigger_terms(child)) is not None]
        if sets:
            return min(sets, key=len)
    if node.any:
        union: set[int] = set()
        for child in node.any:
            found = trigger_terms(child)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    return None
