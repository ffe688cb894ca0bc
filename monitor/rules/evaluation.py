"""Evaluating a rule's condition tree against one scanned document.

:class:`Evaluation` answers whether a node holds, in the whole item or in
one sentence of it, and can record a trace of every decision for
``replay --explain`` and ``monitor test``. 'near' tests are searched
sentence by sentence. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise, product

from monitor.rules.compiled import DEFAULT_FIELDS, Condition, ListRef, Near, Node, TermRef
from monitor.rules.index import Hit
from monitor.rules.text import Document

_MAX_NEAR_COMBINATIONS = 5000

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
        """Whether any term was found in the sentence."""
        return sentence in self._by_sentence

    def of(self, sentence: int) -> dict[int, list[Hit]]:
        """The hits of one sentence, with those of regular expressions in its field."""
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
        """The evaluation of one sentence; ``traced`` writes into this trace."""
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

    def sentences_in(self, fields: frozenset[str]) -> Iterable[int]:
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

    def term_hits(self, term: TermRef, fields: frozenset[str]) -> list[Hit]:
        """The term's hits in ``fields`` (and in this evaluation's sentence, if any)."""
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
        """Whether ``node`` holds in ``fields``, noting each step in the trace if there is one."""
        if self.trace is None:
            return self.holds_fast(node, fields)
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

    def holds_fast(self, node: Node, fields: frozenset[str]) -> bool:
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
                self.restricted_to(sentence).holds_fast(condition, inner)
                for sentence in self.sentences_in(inner)
            )
        return (
            all(self.holds_fast(child, inner) for child in condition.all)
            and (not condition.any or any(self.holds_fast(c, inner) for c in condition.any))
            and not any(self.holds_fast(c, inner) for c in condition.none)
        )

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
            for sentence in self.sentences_in(fields):
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
