"""The pure matcher: an item and compiled rules in, matches out. No I/O, no clock.

Every term of every rule lives in one shared :class:`TermIndex`. An item is
scanned once, token by token, against that index (a hash lookup per token,
whatever the number of rules), and only rules with at least one of their
terms present are evaluated further. That keeps matching fast as the rule
pack grows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from monitor.domain.item import Item
from monitor.rules.compiled import Match, Rule
from monitor.rules.evaluation import Evaluation
from monitor.rules.index import Hit, TermIndex
from monitor.rules.text import Document
from monitor.rules.verdict import evaluate_rule


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
        """The rules worth evaluating on the item (see :meth:`candidates`)."""
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
