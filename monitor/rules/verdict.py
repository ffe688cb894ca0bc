"""A rule's verdict on one item: its condition, then its tiers and guards.

Guards measure from the words the match rests on (:func:`match_support`) within
the sentences that carry the statement. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.domain.item import Item
from monitor.rules.compiled import (
    DEFAULT_FIELDS,
    Condition,
    Guard,
    ListRef,
    Match,
    Near,
    Node,
    Rule,
    TermRef,
)
from monitor.rules.evaluation import Evaluation
from monitor.rules.index import Hit
from monitor.rules.text import Document


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
    support = match_support(whole, rule.condition)
    near_words: frozenset[tuple[int, Hit]] | None = None
    claims: dict[bool, Claims] = {}
    applied: str | None = None
    for guard in rule.guards:
        label = guard.name or ", ".join(t.text for t in guard.cues[:4])
        anchors = support
        if guard.near_anchors:
            if near_words is None:
                near_words = match_support(whole, rule.condition, near_only=True)
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


# --- what the match rests on ----------------------------------------------------


def match_support(
    evaluation: Evaluation,
    node: Node,
    fields: frozenset[str] = DEFAULT_FIELDS,
    *,
    near_only: bool = False,
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
        return frozenset((node.id, hit) for hit in evaluation.term_hits(node, fields))  # type: ignore[union-attr, arg-type]
    if kind is ListRef:
        return frozenset(
            (term.id, hit)
            for term in evaluation.present_terms(node)  # type: ignore[arg-type]
            for hit in evaluation.term_hits(term, fields)
        )
    if kind is Near:
        return frozenset(evaluation.near_span(node, fields, every=True) or ())  # type: ignore[arg-type]
    condition: Condition = node  # type: ignore[assignment]
    inner = condition.fields or fields
    found: set[tuple[int, Hit]] = set()
    if condition.sentence and evaluation.sentence is None:
        # The first sentence that says it all is where the statement is
        # made; later sentences that say it again add nothing to measure.
        for sentence in evaluation.sentences_in(inner):
            within = evaluation.restricted_to(sentence)
            if within.holds_fast(condition, inner):
                return match_support(within, condition, inner, near_only=near_only)
        return frozenset()
    for child in (*condition.all, *condition.any):
        if evaluation.holds_fast(child, inner):
            found |= match_support(evaluation, child, inner, near_only=near_only)
    return frozenset(found)


def scoped_sentences(
    evaluation: Evaluation, node: Node, fields: frozenset[str] = DEFAULT_FIELDS
) -> frozenset[int]:
    """For each sentence-scoped condition on the holding branches of
    ``node``, the first sentence in which it holds: where the parts of a
    statement are said (the lede sentence that completes a headline, not
    every later sentence that says it again)."""
    if type(node) is not Condition:
        return frozenset()
    condition: Condition = node
    inner = condition.fields or fields
    if condition.sentence and evaluation.sentence is None:
        first = next(
            (
                sentence
                for sentence in evaluation.sentences_in(inner)
                if evaluation.restricted_to(sentence).holds_fast(condition, inner)
            ),
            None,
        )
        return frozenset(() if first is None else (first,))
    found: set[int] = set()
    for child in (*condition.all, *condition.any):
        if evaluation.holds_fast(child, inner):
            found |= scoped_sentences(evaluation, child, inner)
    return frozenset(found)


# --- guards -------------------------------------------------------------------


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
    scoped = scoped_sentences(evaluation, rule.condition)
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
