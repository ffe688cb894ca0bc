"""Compiled rules and the pure matcher: an item and rules in, matches out.
No I/O, no clock.

Every term of every rule lives in one shared :class:`TermIndex`. An item is
scanned once, token by token, against that index (a hash lookup per token,
whatever the number of rules), and only rules with at least one of their
terms present are evaluated further. That keeps matching fast as the rule
pack grows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise, product
from typing import Any, Literal

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.rules.terms import Regex, TermPattern, compile_regex
from monitor.rules.text import FIELDS, TEXT_FIELDS, Document

Hit = tuple[str, int, int]
"""(field, first token, last token); a regular expression's hit has no tokens (-1, -1)."""
DEFAULT_FIELDS = frozenset(TEXT_FIELDS)
_MAX_NEAR_COMBINATIONS = 5000


# --- compiled rule tree -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermRef:
    id: int
    text: str
    """The term in its canonical written form, for reports ("sanction*")."""


@dataclass(frozen=True, slots=True)
class ListRef:
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
    severity: Severity
    when: Condition


@dataclass(frozen=True, slots=True)
class Case:
    title: str
    summary: str
    tags: tuple[str, ...]
    expect: Severity | None
    note: str
    line: int | None


@dataclass(frozen=True, slots=True)
class Rule:
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

    def applies_to(self, item: Item) -> bool:
        return not self.feed_tags or not self.feed_tags.isdisjoint(item.feed_tags)


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    item: Item
    severity: Severity
    matched: dict[str, tuple[str, ...]]
    """Which terms matched in which field."""
    guard: str | None = None
    """The guard that lowered the severity, if any."""

    @property
    def matched_terms(self) -> tuple[str, ...]:
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


# --- the shared term index ------------------------------------------------------


_Phrase = tuple[int, tuple[tuple[str, bool], ...]]
_PhrasesByWord = dict[str, tuple[_Phrase, ...]]
_Candidates = tuple[tuple[int, ...], _PhrasesByWord, tuple[tuple[int, _PhrasesByWord], ...]]
"""Terms found wherever the token is (single words and stems); phrases by
their second word; phrases whose second word is a stem, by stem length and
stem."""
_NO_CANDIDATES: _Candidates = ((), {}, ())
CANDIDATE_CACHE_TOKENS = 200_000


class TermIndex:
    """All terms of all rules; finds every term in a document in one pass."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.patterns: list[TermPattern] = []
        self._single: dict[str, list[int]] = {}
        self._first_word: dict[str, list[tuple[int, tuple[tuple[str, bool], ...]]]] = {}
        self._first_stem: dict[int, dict[str, list[tuple[int, tuple[tuple[str, bool], ...]]]]] = {}
        self._regexes: list[tuple[int, Any]] = []
        self._candidates: dict[str, _Candidates] = {}

    def add(self, pattern: TermPattern) -> int:
        key = pattern.key
        existing = self._ids.get(key)
        if existing is not None:
            return existing
        term_id = len(self.patterns)
        self._ids[key] = term_id
        self.patterns.append(pattern)
        if isinstance(pattern, Regex):
            self._regexes.append((term_id, compile_regex(pattern.pattern)))
            return term_id
        self._candidates.clear()
        first, prefix = pattern.words[0]
        if len(pattern.words) == 1 and not prefix:
            self._single.setdefault(first, []).append(term_id)
        elif prefix:
            self._first_stem.setdefault(len(first), {}).setdefault(first, []).append(
                (term_id, pattern.words)
            )
        else:
            self._first_word.setdefault(first, []).append((term_id, pattern.words))
        return term_id

    def _candidates_of(self, token: str) -> _Candidates:
        """The terms that can start at a token: looked up once per distinct
        token, not once per occurrence (a wildcard table per stem length
        would otherwise be probed at every word of every item).

        Phrases are filed under their second word where it is a whole word:
        dozens start with "to" or "in" ("to russia", "in kursk"), and the word
        after each "to" picks the few worth checking.
        """
        phrases = list(self._first_word.get(token, ()))
        for length, table in self._first_stem.items():
            if len(token) >= length:
                phrases.extend(table.get(token[:length], ()))
        single = list(self._single.get(token, ()))
        by_second: dict[str, list[_Phrase]] = {}
        by_second_stem: dict[int, dict[str, list[_Phrase]]] = {}
        for phrase in phrases:
            words = phrase[1]
            if len(words) == 1:  # a stem, and the token starts with it: found here
                single.append(phrase[0])
            elif words[1][1]:
                second = words[1][0]
                by_second_stem.setdefault(len(second), {}).setdefault(second, []).append(phrase)
            else:
                by_second.setdefault(words[1][0], []).append(phrase)
        found = (
            (
                tuple(single),
                {word: tuple(p) for word, p in by_second.items()},
                tuple(
                    (length, {stem: tuple(p) for stem, p in table.items()})
                    for length, table in by_second_stem.items()
                ),
            )
            if single or phrases
            else _NO_CANDIDATES
        )
        if len(self._candidates) >= CANDIDATE_CACHE_TOKENS:
            self._candidates.clear()  # a long-running monitor meets an unbounded vocabulary
        self._candidates[token] = found
        return found

    def scan(self, document: Document) -> dict[int, list[Hit]]:
        hits: dict[int, list[Hit]] = defaultdict(list)
        cache = self._candidates
        for name in FIELDS:
            tokens = document.tokens[name]
            last = len(tokens) - 1
            sentences = document.sentence_of.get(name)
            for position, token in enumerate(tokens):
                candidates = cache.get(token)
                if candidates is None:
                    candidates = self._candidates_of(token)
                if candidates is _NO_CANDIDATES:
                    continue
                single, by_second, by_second_stem = candidates
                for term_id in single:
                    hits[term_id].append((name, position, position))
                if position == last:
                    continue
                following = tokens[position + 1]
                for term_id, words in by_second.get(following, ()):
                    end = _phrase_end(tokens, position, words, sentences)
                    if end is not None:
                        hits[term_id].append((name, position, end))
                for length, table in by_second_stem:
                    for term_id, words in table.get(following[:length], ()):
                        end = _phrase_end(tokens, position, words, sentences)
                        if end is not None:
                            hits[term_id].append((name, position, end))
            raw = document.raw[name]
            if raw and self._regexes:
                # Searched as UTF-8 bytes, encoded once: given str, the re2
                # wrapper encodes the whole text again for every pattern.
                encoded = raw.encode()
                for term_id, regex in self._regexes:
                    if regex.search(encoded):
                        hits[term_id].append((name, -1, -1))
        return hits

    def __len__(self) -> int:
        return len(self.patterns)


def _phrase_end(
    tokens: tuple[str, ...],
    start: int,
    words: tuple[tuple[str, bool], ...],
    sentences: tuple[int, ...] | None,
) -> int | None:
    """Where the phrase ends if it starts at ``start``; it may not span sentences."""
    last = start + len(words) - 1
    if last >= len(tokens) or (sentences is not None and sentences[start] != sentences[last]):
        return None
    for offset, (word, prefix) in enumerate(words):
        token = tokens[start + offset]
        if not (token.startswith(word) if prefix else token == word):
            return None
    return start + len(words) - 1


# --- evaluation -------------------------------------------------------------------


_NearKey = tuple[int, frozenset[str], bool]
"""A 'near' test by identity, the fields it looks at, and whether every sentence counts."""


class HitsBySentence:
    """A document's hits split by sentence once, so that evaluating a rule in
    one sentence looks only at that sentence's hits, however long the item."""

    def __init__(self, document: Document, hits: dict[int, list[Hit]]) -> None:
        self._by_sentence: dict[int, dict[int, list[Hit]]] = {}
        # A regular expression's hit belongs to its whole field, so to every
        # sentence of it.
        self._whole_field: dict[int, list[Hit]] = {}
        for term_id, term_hits in hits.items():
            for hit in term_hits:
                sentence = document.sentence_at(hit[0], hit[1]) if hit[1] >= 0 else None
                if sentence is None:
                    self._whole_field.setdefault(term_id, []).append(hit)
                else:
                    self._by_sentence.setdefault(sentence, {}).setdefault(term_id, []).append(hit)

        self.restricted: dict[int, Evaluation] = {}
        """Untraced evaluations of single sentences, kept for the whole item."""

    def has_hits(self, sentence: int) -> bool:
        return sentence in self._by_sentence

    def of(self, sentence: int) -> dict[int, list[Hit]]:
        own = self._by_sentence.get(sentence, {})
        if not self._whole_field:
            return own
        merged = dict(own)
        for term_id, term_hits in self._whole_field.items():
            merged[term_id] = [*merged.get(term_id, ()), *term_hits]
        return merged


@dataclass
class Evaluation:
    """Evaluates rule trees against one scanned document; optionally records
    a trace of every decision for ``replay --explain`` and ``monitor test``."""

    document: Document
    hits: dict[int, list[Hit]]
    sentence: int | None = None
    trace: list[str] | None = None
    _depth: int = field(default=0, repr=False)
    _split: HitsBySentence | None = field(default=None, repr=False)
    _near_memo: dict[_NearKey, tuple[tuple[int, Hit], ...] | None] | None = field(
        default=None, repr=False
    )

    def _sentence_hits(self) -> HitsBySentence:
        if self._split is None:
            self._split = HitsBySentence(self.document, self.hits)
        return self._split

    def restricted_to(self, sentence: int, *, traced: bool = False) -> Evaluation:
        split = self._sentence_hits()
        if not traced:
            cached = split.restricted.get(sentence)
            if cached is None:
                cached = Evaluation(self.document, split.of(sentence), sentence, None, 0, split)
                split.restricted[sentence] = cached
            return cached
        return Evaluation(
            self.document,
            split.of(sentence),
            sentence,
            self.trace if traced else None,
            self._depth if traced else 0,
            split,
        )

    def untraced(self) -> Evaluation:
        """The same document and hits, whole, without a trace."""
        return Evaluation(self.document, self.hits, _split=self._sentence_hits())

    def _sentences_in(self, fields: frozenset[str]) -> Iterable[int]:
        """The sentences a sentence-scoped condition may hold in: those of its
        fields with at least one hit (a sentence with none holds no term)."""
        if self.sentence is not None:
            return (self.sentence,)
        split = self._sentence_hits()
        return (
            s.index
            for s in self.document.sentences
            if s.field in fields and split.has_hits(s.index)
        )

    def scoped_sentences(
        self, node: Node, fields: frozenset[str] = DEFAULT_FIELDS
    ) -> frozenset[int]:
        """For each sentence-scoped condition on the holding branches of
        ``node``, the first sentence in which it holds: where the parts of a
        statement are said (the lede sentence that completes a headline, not
        every later sentence that says it again)."""
        if type(node) is not Condition:
            return frozenset()
        condition: Condition = node
        inner = condition.fields or fields
        if condition.sentence and self.sentence is None:
            first = next(
                (
                    sentence
                    for sentence in self._sentences_in(inner)
                    if self.restricted_to(sentence)._holds_fast(condition, inner)
                ),
                None,
            )
            return frozenset(() if first is None else (first,))
        found: set[int] = set()
        for child in (*condition.all, *condition.any):
            if self._holds_fast(child, inner):
                found |= self.scoped_sentences(child, inner)
        return frozenset(found)

    def term_hits(self, term: TermRef, fields: frozenset[str]) -> list[Hit]:
        found = []
        for hit in self.hits.get(term.id, ()):
            if hit[0] not in fields:
                continue
            if (
                self.sentence is not None
                and hit[1] >= 0
                and self.document.sentence_at(hit[0], hit[1]) != self.sentence
            ):
                continue
            found.append(hit)
        return found

    def holds(self, node: Node, fields: frozenset[str] = DEFAULT_FIELDS) -> bool:
        if self.trace is None:
            return self._holds_fast(node, fields)
        if isinstance(node, TermRef):
            found = self.term_hits(node, fields)
            self._note(bool(found), f"'{node.text}'", _where(found))
            return bool(found)
        if isinstance(node, ListRef):
            where = sorted(
                {
                    f"'{t.text}' in {h[0]}"
                    for t in self.present_terms(node)
                    for h in self.term_hits(t, fields)
                }
            )
            self._note(
                bool(where),
                f"${node.name}",
                f"found {', '.join(where[:4])}" if where else "none of its terms",
            )
            return bool(where)
        if isinstance(node, Near):
            return self._near(node, fields)
        return self._condition(node, node.fields or fields)

    def _holds_fast(self, node: Node, fields: frozenset[str]) -> bool:
        """The same verdict as :meth:`holds` without building a trace: the hot path."""
        kind = type(node)
        if kind is TermRef:
            return self._present(node.id, fields)  # type: ignore[union-attr]
        if kind is ListRef:
            return any(self._present(t.id, fields) for t in self.present_terms(node))  # type: ignore[arg-type]
        if kind is Near:
            return self._near(node, fields)  # type: ignore[arg-type]
        condition: Condition = node  # type: ignore[assignment]
        inner = condition.fields or fields
        if condition.sentence and self.sentence is None:
            return any(
                self.restricted_to(sentence)._holds_fast(condition, inner)
                for sentence in self._sentences_in(inner)
            )
        return (
            all(self._holds_fast(child, inner) for child in condition.all)
            and (not condition.any or any(self._holds_fast(c, inner) for c in condition.any))
            and not any(self._holds_fast(c, inner) for c in condition.none)
        )

    def support(
        self, node: Node, fields: frozenset[str] = DEFAULT_FIELDS, *, near_only: bool = False
    ) -> frozenset[tuple[int, Hit]]:
        """The hits that make a holding node hold: what the rule matched on.

        Terms of branches that do not hold, and of 'none', are left out, and
        for 'near' only the words that satisfied it, so guards measure from
        the words that carry the statement. With ``near_only``, only the
        words of 'near' tests.
        """
        kind = type(node)
        if near_only and kind is not Near and kind is not Condition:
            return frozenset()
        if kind is TermRef:
            return frozenset((node.id, hit) for hit in self.term_hits(node, fields))  # type: ignore[union-attr, arg-type]
        if kind is ListRef:
            return frozenset(
                (term.id, hit)
                for term in self.present_terms(node)  # type: ignore[arg-type]
                for hit in self.term_hits(term, fields)
            )
        if kind is Near:
            return frozenset(self.near_span(node, fields, every=True) or ())  # type: ignore[arg-type]
        condition: Condition = node  # type: ignore[assignment]
        inner = condition.fields or fields
        found: set[tuple[int, Hit]] = set()
        if condition.sentence and self.sentence is None:
            # The first sentence that says it all is where the statement is
            # made; later sentences that say it again add nothing to measure.
            for sentence in self._sentences_in(inner):
                within = self.restricted_to(sentence)
                if within._holds_fast(condition, inner):
                    return within.support(condition, inner, near_only=near_only)
            return frozenset()
        for child in (*condition.all, *condition.any):
            if self._holds_fast(child, inner):
                found |= self.support(child, inner, near_only=near_only)
        return frozenset(found)

    def present_terms(self, node: ListRef) -> list[TermRef]:
        """The list's terms with hits in the document (in any field): found by
        looking its hits up in the list, or the list's terms up in its hits,
        whichever side is smaller, so a list of any size costs what the
        document holds."""
        hits = self.hits
        if len(node.terms) <= len(hits):
            return [term for term in node.terms if term.id in hits]
        by_id = node.by_id
        return [by_id[term_id] for term_id in hits if term_id in by_id]

    def _group_terms(self, node: Near, index: int) -> Sequence[TermRef]:
        """A near group's terms with hits in the document, in the group's order
        (which decides the span reported when several satisfy it)."""
        group = node.groups[index]
        hits = self.hits
        if len(group) <= len(hits):
            return group
        positions = node.positions[index]
        return [group[p] for p in sorted(positions[i] for i in hits if i in positions)]

    def _present(self, term_id: int, fields: frozenset[str]) -> bool:
        hits = self.hits.get(term_id)
        if not hits:
            return False
        if self.sentence is None:
            return any(hit[0] in fields for hit in hits)
        sentence_at = self.document.sentence_at
        return any(
            hit[0] in fields and (hit[1] < 0 or sentence_at(hit[0], hit[1]) == self.sentence)
            for hit in hits
        )

    def _condition(self, node: Condition, fields: frozenset[str]) -> bool:
        if node.name:
            # The selection's name, then its body one step further in.
            self._depth += 1
            self._say_at_depth(f"${node.name} (selection):")
            try:
                return self._condition(replace(node, name=""), fields)
            finally:
                self._depth -= 1
        if node.sentence and self.sentence is None:
            return self._in_one_sentence(node, fields)
        self._depth += 1
        try:
            all_hold = all(self._child("all", child, fields) for child in node.all)
            any_holds = not node.any or (
                all_hold and any(self._child("any", c, fields) for c in node.any)
            )
            none_hold = (
                all_hold
                and any_holds
                and not any(self._child("none", c, fields) for c in node.none)
            )
        finally:
            self._depth -= 1
        return all_hold and any_holds and none_hold

    def _in_one_sentence(self, node: Condition, fields: frozenset[str]) -> bool:
        """Trace each sentence in turn until one holds the whole condition."""
        self._depth += 1
        try:
            for sentence in self._sentences_in(fields):
                self._say_at_depth(f"in {self.document.sentence_label(sentence)}:")
                if self.restricted_to(sentence, traced=True)._condition(node, fields):
                    return True
            self._note(False, "one sentence", "no single sentence holds all of it")
            return False
        finally:
            self._depth -= 1

    def _say_at_depth(self, line: str) -> None:
        if self.trace is not None:
            self.trace.append(f"{'  ' * self._depth}{line}")

    def _child(self, key: str, node: Node, fields: frozenset[str]) -> bool:
        if self.trace is not None:
            self.trace.append(f"{'  ' * self._depth}{key}:")
        return self.holds(node, fields)

    def _near(self, node: Near, fields: frozenset[str]) -> bool:
        found = self.near_span(node, fields) is not None
        if self.trace is None:
            return found
        groups = " / ".join(
            "[" + ", ".join(t.text for t in g[:3]) + (", …" if len(g) > 3 else "") + "]"
            for g in node.groups
        )
        how = "in this order " if node.ordered else ""
        self._note(found, f"near {groups}", f"{how}within {node.within} words in one sentence")
        return found

    def near_span(
        self, node: Near, fields: frozenset[str], *, every: bool = False
    ) -> tuple[tuple[int, Hit], ...] | None:
        """The hits, one per group, that satisfy a 'near' test; None if none do.
        With ``every``, those of every sentence where it holds, together.

        Hits are grouped by sentence first, so the search stays small however
        long the item is.
        """
        # Rules test the same 'near' in many branches, guards and sentences.
        key = (id(node), fields, every)
        memo = self._near_memo
        if memo is None:
            memo = self._near_memo = {}
        elif key in memo:
            return memo[key]
        found = self._near_span(node, fields, every=every)
        memo[key] = found
        return found

    def _near_span(
        self, node: Near, fields: frozenset[str], *, every: bool
    ) -> tuple[tuple[int, Hit], ...] | None:
        allowed = frozenset((node.fields or fields) & DEFAULT_FIELDS)
        by_sentence: dict[tuple[str, int | None], list[list[tuple[int, Hit]]]] = {}
        for index in range(len(node.groups)):
            for term in self._group_terms(node, index):
                for hit in self.term_hits(term, allowed):
                    if hit[1] < 0:
                        continue
                    key = (hit[0], self.document.sentence_at(hit[0], hit[1]))
                    slots = by_sentence.setdefault(key, [[] for _ in node.groups])
                    slots[index].append((term.id, hit))
        spans: list[tuple[int, Hit]] = []
        for slots in by_sentence.values():
            found = _near_in_sentence(slots, node.within, node.ordered)
            if found is not None:
                if not every:
                    return found
                spans.extend(found)
        return tuple(spans) or None

    def _note(self, held: bool, what: str, detail: str) -> None:
        if self.trace is not None:
            mark = "✓" if held else "✗"
            self.trace.append(
                f"{'  ' * (self._depth + 1)}{mark} {what}" + (f" — {detail}" if detail else "")
            )


def _where(found: Sequence[Hit]) -> str:
    return ("in " + ", ".join(sorted({h[0] for h in found}))) if found else "not found"


def _near_in_sentence(
    groups: list[list[tuple[int, Hit]]], within: int, ordered: bool
) -> tuple[tuple[int, Hit], ...] | None:
    if any(not hits for hits in groups):
        return None
    for count, combination in enumerate(product(*groups)):
        if count >= _MAX_NEAR_COMBINATIONS:
            break  # one sentence repeating a term hundreds of times: give up on it
        if ordered and any(b[1][1] <= a[1][2] for a, b in pairwise(combination)):
            continue
        spans = sorted((hit for _, hit in combination), key=lambda hit: hit[1])
        if all(b[1] - a[2] - 1 <= within for a, b in pairwise(spans)):
            return combination
    return None


# --- a whole rule ---------------------------------------------------------------


def evaluate_rule(rule: Rule, item: Item, evaluation: Evaluation) -> Match | None:
    """The rule's verdict on one item: a match with its severity, or None."""
    if not rule.applies_to(item):
        if evaluation.trace is not None:
            evaluation.trace.append(f"✗ the feed has none of the tags {sorted(rule.feed_tags)}")
        return None
    if evaluation.trace is not None:
        evaluation.trace.append("match:")
    if not evaluation.holds(rule.condition):
        return None
    severity = rule.severity
    for tier in rule.tiers:
        if evaluation.untraced().holds(tier.when):
            severity = tier.severity
            _say(evaluation, f"tier: severity {severity.value}")
            break
    whole = evaluation.untraced()
    support = whole.support(rule.condition)
    near_words: frozenset[tuple[int, Hit]] | None = None
    claims: dict[bool, Claims] = {}
    applied: str | None = None
    for guard in rule.guards:
        label = guard.name or ", ".join(t.text for t in guard.cues[:4])
        anchors = support
        if guard.near_anchors:
            if near_words is None:
                near_words = whole.support(rule.condition, near_only=True)
            anchors = near_words or support
        by_near = anchors is not support
        if by_near not in claims:
            claims[by_near] = _claim_sentences(rule, whole, anchors)
        reason = _guard_cue(guard, whole, anchors, claims[by_near])
        if reason is None:
            _say(evaluation, f"guard '{label}' did not fire")
            continue
        if guard.action == "skip":
            _say(evaluation, f"guard '{label}' fired ({reason}): hedged or denied, no alert")
            return None
        if guard.action == "keep":
            _say(evaluation, f"guard '{label}' fired ({reason}): kept as {severity.value}")
            break
        severity = guard.to or severity.lowered()
        applied = label
        _say(evaluation, f"guard '{label}' fired ({reason}): severity lowered to {severity.value}")
        break
    return Match(
        rule=rule,
        item=item,
        severity=severity,
        matched=_matched(rule, support),
        guard=applied,
    )


def _say(evaluation: Evaluation, line: str) -> None:
    if evaluation.trace is not None:
        evaluation.trace.append(line)


def _matched(rule: Rule, support: frozenset[tuple[int, Hit]]) -> dict[str, tuple[str, ...]]:
    by_field: dict[str, dict[str, None]] = {}
    for term_id, hit in sorted(support, key=lambda found: (found[1][0], found[1][1], found[0])):
        by_field.setdefault(hit[0], {})[rule.term_texts.get(term_id, str(term_id))] = None
    return {name: tuple(terms) for name, terms in by_field.items()}


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


@dataclass(frozen=True, slots=True)
class Claims:
    """The sentences that carry the matched statement, and how they carry it."""

    sentences: tuple[int, ...]
    parts: bool
    """True when no sentence holds the whole statement and these are its
    parts (a headline and the lede sentence that completes it): a hedge on
    any part hedges the statement. False when each sentence states it on its
    own: one plain statement among them is enough to alert."""


def _claim_sentences(
    rule: Rule, evaluation: Evaluation, support: frozenset[tuple[int, Hit]]
) -> Claims:
    """The sentences that carry the matched statement.

    Those where the rule holds on their own; else the parts it is made of:
    the headline's sentences that hold matched words, and the sentences in
    which its sentence-scoped conditions hold; else every sentence with a
    matched word.
    """
    document = evaluation.document
    holding = sorted(
        {
            sentence
            for _, hit in support
            if hit[1] >= 0 and (sentence := document.sentence_at(hit[0], hit[1])) is not None
        }
    )
    alone = [s for s in holding if evaluation.restricted_to(s).holds(rule.condition)]
    if alone:
        return Claims(tuple(alone), parts=False)
    in_title = [s for s in holding if document.sentences[s].field == "title"]
    scoped = evaluation.scoped_sentences(rule.condition)
    if scoped:
        return Claims(tuple(sorted({*in_title, *scoped})), parts=True)
    return Claims(tuple(in_title or holding), parts=False)


def _guard_cue(
    guard: Guard, evaluation: Evaluation, support: frozenset[tuple[int, Hit]], claims: Claims
) -> str | None:
    """What made the guard fire (a cue and the word it is next to), or None."""
    document = evaluation.document
    anchors: dict[int, list[Hit]] = {}
    for _, hit in support:
        if hit[1] >= 0 and (sentence := document.sentence_at(hit[0], hit[1])) is not None:
            anchors.setdefault(sentence, []).append(hit)
    reasons = (_hedged(guard, evaluation, anchors.get(s, []), s) for s in claims.sentences)
    if claims.parts and guard.action != "keep":
        # A hedge on any part hedges the whole; a shield must cover every part.
        return next((reason for reason in reasons if reason is not None), None)
    found = list(reasons)
    if not found or any(reason is None for reason in found):
        return None
    return found[0]


def _hedged(guard: Guard, evaluation: Evaluation, anchors: list[Hit], sentence: int) -> str | None:
    """What hedges the statement in one sentence, measured from its matched words there."""
    document = evaluation.document
    if guard.questions and document.sentences[sentence].question:
        return "the statement is a question"
    in_sentence = evaluation.restricted_to(sentence)
    cues: Sequence[TermRef] = guard.cues
    if len(cues) > len(in_sentence.hits):
        # In the cues' order, which decides the reason given.
        positions = guard.cue_positions
        cues = [cues[p] for p in sorted(positions[i] for i in in_sentence.hits if i in positions)]
    for cue in cues:
        for hit in in_sentence.term_hits(cue, DEFAULT_FIELDS):
            if guard.ignore_matched_cues and any(_within(hit, anchor) for anchor in anchors):
                continue
            # Nearest first, so the reason names the word the cue is about.
            for anchor in sorted(anchors, key=lambda a: (_gap(hit, a), a[1])):
                if anchor[0] != hit[0] or _gap(hit, anchor) > guard.window:
                    continue
                if guard.clause and not _same_clause(document, hit, anchor):
                    continue
                near = " ".join(document.tokens[anchor[0]][anchor[1] : anchor[2] + 1])
                return f"cue '{cue.text}' near '{near}' in the {hit[0]}"
    return None


def _within(inner: Hit, outer: Hit) -> bool:
    return inner[0] == outer[0] and outer[1] <= inner[1] and inner[2] <= outer[2]


def _same_clause(document: Document, a: Hit, b: Hit) -> bool:
    clauses = {document.clause_at(a[0], p) for p in (a[1], a[2])}
    return bool(clauses & {document.clause_at(b[0], p) for p in (b[1], b[2])})


def _gap(a: Hit, b: Hit) -> int:
    if a[2] < b[1]:
        return b[1] - a[2] - 1
    if b[2] < a[1]:
        return a[1] - b[2] - 1
    return 0


# --- the matcher -------------------------------------------------------------


class Matcher:
    """Matches items against a set of compiled rules sharing one term index."""

    def __init__(self, rules: Sequence[Rule], index: TermIndex) -> None:
        self.rules = tuple(rules)
        self.index = index
        by_term: dict[int, list[int]] = defaultdict(list)
        self._unindexed: list[int] = []
        for position, rule in enumerate(self.rules):
            if not rule.required:
                self._unindexed.append(position)
                continue
            # Indexed by the smallest necessary set; the others are checked
            # before the rule is evaluated.
            for term_id in rule.required[0]:
                by_term[term_id].append(position)
        self._rules_by_term = dict(by_term)

    def candidates(self, hits: dict[int, list[Hit]]) -> list[Rule]:
        """Rules that may hold: every necessary part has one of its terms present."""
        positions = set(self._unindexed)
        for term_id in hits:
            positions.update(self._rules_by_term.get(term_id, ()))
        present = hits.keys()
        return [
            rule
            for rule in (self.rules[p] for p in sorted(positions))
            if all(not present.isdisjoint(required) for required in rule.required[1:])
        ]

    def candidates_for(self, item: Item) -> list[Rule]:
        return self.candidates(self.index.scan(Document.of(item)))

    def match_all(self, item: Item) -> list[Match]:
        """Every rule the item satisfies, in rule order, superseded ones included."""
        document = Document.of(item)
        hits = self.index.scan(document)
        evaluation = Evaluation(document, hits)
        matches = []
        for rule in self.candidates(hits):
            found = evaluate_rule(rule, item, evaluation)
            if found is not None:
                matches.append(found)
        return matches

    def match(self, item: Item) -> list[Match]:
        """The rules that alert on the item: those it satisfies, less any
        another satisfied rule supersedes."""
        matches = self.match_all(item)
        superseded = {rule_id for m in matches for rule_id in m.rule.supersedes}
        return [m for m in matches if m.rule.id not in superseded] if superseded else matches

    def explain(
        self, item: Item, rules: Sequence[Rule] | None = None
    ) -> dict[str, tuple[Match | None, list[str]]]:
        """Each rule's verdict on the item with the trace of how it was reached."""
        document = Document.of(item)
        hits = self.index.scan(document)
        result = {}
        for rule in rules if rules is not None else self.rules:
            trace: list[str] = []
            found = evaluate_rule(rule, item, Evaluation(document, hits, trace=trace))
            result[rule.id] = (found, trace)
        return result
