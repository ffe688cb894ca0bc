"""Measuring rules against a labelled corpus (``monitor eval``).

Each item of the corpus (:mod:`monitor.rules.corpus`) is judged through the
production path, ``RuleSet.match`` with supersedes applied: a rule whose
alert another rule replaces does not score a hit. Pure: rules, items and
labels in, a report out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from monitor.domain.item import Item
from monitor.errors import CorpusError, Problem
from monitor.rules.compiled import Rule
from monitor.rules.corpus import Label, LabelledItem
from monitor.rules.load import RuleSet
from monitor.validation import did_you_mean


class Outcome(Enum):
    """How an alert (or its absence) compares with an item's label."""

    TP = "tp"
    FP = "fp"
    FN = "fn"
    TN = "tn"
    UNSCORED = "unscored"


class Metric(StrEnum):
    """A score a threshold can be set on."""

    PRECISION = "precision"
    RECALL = "recall"
    F1 = "f1"

    @property
    def option(self) -> str:
        """The command-line option setting this metric's threshold."""
        return f"--min-{self.value}"


class MistakeKind(StrEnum):
    """A scored outcome that went wrong."""

    MISS = "miss"
    FALSE_ALARM = "false alarm"


@dataclass(frozen=True)
class Score:
    """One rule's counts of outcomes on the corpus, and the metrics they give."""

    rule_id: str
    label: str
    tp: int
    fp: int
    fn: int
    tn: int
    unscored: int

    @property
    def precision(self) -> float | None:
        """None when the rule raised no alert on a scored item."""
        alerts = self.tp + self.fp
        return self.tp / alerts if alerts else None

    @property
    def recall(self) -> float | None:
        """None when no scored item is a positive."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else None

    @property
    def f1(self) -> float | None:
        """The harmonic mean of precision and recall; None with nothing to score."""
        # 2tp / (2tp + fp + fn) is the harmonic mean of precision and recall
        # where both are defined, and still says 0.0 where one is undefined
        # and the other is 0 (false alarms on a set without positives).
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def value(self, metric: Metric) -> float | None:
        """The value of ``metric``, as its property gives it."""
        return {Metric.PRECISION: self.precision, Metric.RECALL: self.recall, Metric.F1: self.f1}[
            metric
        ]


@dataclass(frozen=True)
class Shortfall:
    """A metric of a rule below its threshold."""

    rule_id: str
    metric: Metric
    value: float
    threshold: float

    def __str__(self) -> str:
        return (
            # Three places: 52/55 is 0.945, which two places would show as 0.95.
            f"{self.rule_id}: {self.metric.value} {self.value:.3f} "
            f"below {self.metric.option} {self.threshold:g}"
        )


@dataclass(frozen=True)
class Mistake:
    """A miss (labelled 1, no alert) or a false alarm (labelled 0, an alert)."""

    kind: MistakeKind
    rule_id: str
    entry: LabelledItem
    severity: str | None
    """The false alarm's severity; None for a miss."""
    trace: tuple[str, ...]
    """How the rule decided, in the words of ``monitor replay --explain``."""


@dataclass(frozen=True)
class Report:
    """The whole result of ``monitor eval``: every rule's score, mistakes and shortfalls."""

    items: int
    scores: tuple[Score, ...]
    mistakes: tuple[Mistake, ...]
    thresholds: Mapping[Metric, float]
    shortfalls: tuple[Shortfall, ...]

    @property
    def passed(self) -> bool:
        """No rule falls short of a threshold."""
        return not self.shortfalls

    def as_json(self, *, mistakes: bool = False) -> dict[str, Any]:
        """The report as ``monitor eval --json`` prints it."""
        document: dict[str, Any] = {
            "items": self.items,
            "thresholds": {f"min_{m.value}": self.thresholds.get(m) for m in Metric},
            "passed": self.passed,
            "rules": [
                {
                    "rule": score.rule_id,
                    "label": score.label,
                    "tp": score.tp,
                    "fp": score.fp,
                    "fn": score.fn,
                    "tn": score.tn,
                    "unscored": score.unscored,
                    "precision": score.precision,
                    "recall": score.recall,
                    "f1": score.f1,
                    "passed": not any(s.rule_id == score.rule_id for s in self.shortfalls),
                }
                for score in self.scores
            ],
            "failures": [
                {
                    "rule": s.rule_id,
                    "metric": s.metric.value,
                    "value": s.value,
                    "threshold": s.threshold,
                    "message": str(s),
                }
                for s in self.shortfalls
            ],
        }
        if mistakes:
            document["misses"] = [
                {
                    "kind": m.kind.value,
                    "rule": m.rule_id,
                    "id": m.entry.id,
                    "title": m.entry.item.title,
                    "file": m.entry.file,
                    "line": m.entry.line,
                    "severity": m.severity,
                    "trace": list(m.trace),
                }
                for m in self.mistakes
            ]
        return document

    def lines(self, *, mistakes: bool = False) -> list[str]:
        """The text report: a table, then (optionally) each mistake, then the shortfalls."""
        header = ("rule", "tp", "fp", "fn", "unscored", "precision", "recall", "F1")
        rows = [
            (
                s.rule_id,
                str(s.tp),
                str(s.fp),
                str(s.fn),
                str(s.unscored),
                format_ratio(s.precision),
                format_ratio(s.recall),
                format_ratio(s.f1),
            )
            for s in self.scores
        ]
        width = max(len(row[0]) for row in [header, *rows])
        lines = [
            f"{row[0]:<{width}} " + " ".join(f"{cell:>9}" for cell in row[1:])
            for row in [header, *rows]
        ]
        if mistakes and self.mistakes:
            lines.append("")
            for mistake in self.mistakes:
                kind = mistake.kind.value.upper()
                if mistake.severity is not None:
                    kind += f" ({mistake.severity})"
                lines.append(
                    f"{kind}  {mistake.rule_id}  {mistake.entry.id}  {mistake.entry.where}  "
                    f"{mistake.entry.item.title}"
                )
                lines += [f"    {line}" for line in mistake.trace]
        if self.shortfalls:
            lines.append("")
            lines += [str(s) for s in self.shortfalls]
        return lines


def format_ratio(value: float | None) -> str:
    """A ratio to two places, or "n/a" when undefined."""
    return "n/a" if value is None else f"{value:.2f}"


# --- labels to rules --------------------------------------------------------


def parse_label_options(values: Sequence[str]) -> dict[str, str]:
    """``--label KEY=RULE`` options as {key: rule id}."""
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for value in values:
        key, sep, rule_id = (part.strip() for part in value.partition("="))
        if not (sep and key and rule_id):
            problems.append(
                Problem(
                    f"--label {value}", None, "expected KEY=RULE, e.g. S=sanctions-chinese-firms"
                )
            )
        elif mapping.get(key, rule_id) != rule_id:
            problems.append(
                Problem(
                    f"--label {value}",
                    None,
                    f"the label '{key}' is already mapped to '{mapping[key]}'",
                )
            )
        else:
            mapping[key] = rule_id
    if problems:
        raise CorpusError(problems)
    return mapping


def resolve_labels(
    options: Mapping[str, str], corpus: Sequence[LabelledItem], rules: RuleSet
) -> dict[str, str]:
    """Which rule each label key measures: as ``options`` map it, or the rule
    of that id. Raises CorpusError for a mapping to an unknown rule, a mapped
    key no item carries, a key that maps to nothing, or two keys for one rule.
    """
    known = [rule.id for rule in rules.rules]
    first_with: dict[str, LabelledItem] = {}
    for entry in corpus:
        for key in entry.labels:
            first_with.setdefault(key, entry)
    problems: list[Problem] = []
    resolved: dict[str, str] = {}
    for key, rule_id in options.items():
        where = f"--label {key}={rule_id}"
        if rules.by_id(rule_id) is None:
            problems.append(
                Problem(where, None, f"no rule '{rule_id}'{did_you_mean(rule_id, known)}")
            )
        elif key not in first_with:
            hint = did_you_mean(key, sorted(first_with))
            problems.append(Problem(where, None, f"no corpus item has the label '{key}'{hint}"))
        else:
            resolved[key] = rule_id
    unmapped = []
    for key in first_with:
        if key in options:
            continue
        if rules.by_id(key) is not None:
            resolved[key] = key
        else:
            unmapped.append(key)
    if unmapped:
        entry = first_with[unmapped[0]]
        keys = ", ".join(unmapped)
        problems.append(
            Problem(
                entry.file,
                entry.line,
                f"label{'s' if len(unmapped) > 1 else ''} {keys}: no --label maps "
                f"{'them' if len(unmapped) > 1 else 'it'} to a rule, and no rule has "
                f"{'those ids' if len(unmapped) > 1 else 'that id'}; say which rule each "
                f"measures with --label KEY=RULE (e.g. --label {unmapped[0]}=<rule id>)",
            )
        )
    keys_of: dict[str, list[str]] = {}
    for key, rule_id in resolved.items():
        keys_of.setdefault(rule_id, []).append(key)
    for rule_id, sharing in keys_of.items():
        if len(sharing) > 1:
            problems.append(
                Problem(
                    "--label", None, f"labels {', '.join(sharing)} all map to the rule '{rule_id}'"
                )
            )
    if not problems and not resolved:
        files = sorted({entry.file for entry in corpus})
        problems.append(
            Problem(", ".join(files) or "corpus", None, "no item carries a label to score")
        )
    if problems:
        raise CorpusError(problems)
    return resolved


# --- scoring ------------------------------------------------------------------


def evaluate(
    rules: RuleSet,
    corpus: Sequence[LabelledItem],
    label_options: Mapping[str, str],
    thresholds: Mapping[Metric, float] | None = None,
) -> Report:
    """Score every labelled rule on the corpus. Raises CorpusError when the
    labels cannot be tied to rules (see :func:`resolve_labels`)."""
    thresholds = dict(thresholds or {})
    by_key = resolve_labels(label_options, corpus, rules)
    counts: dict[str, Counter[Outcome]] = {key: Counter() for key in by_key}
    mistakes: list[Mistake] = []
    for entry in corpus:
        alerts = {match.rule.id: match for match in rules.match(entry.item)}
        for key, rule_id in by_key.items():
            label = entry.labels.get(key, Label.UNSCORED)
            alert = alerts.get(rule_id)
            outcome = _outcome(label, alerted=alert is not None)
            counts[key][outcome] += 1
            if outcome in (Outcome.FN, Outcome.FP):
                rule = rules.by_id(rule_id)
                assert rule is not None  # resolve_labels checked every id
                mistakes.append(
                    Mistake(
                        MistakeKind.MISS if outcome is Outcome.FN else MistakeKind.FALSE_ALARM,
                        rule_id,
                        entry,
                        alert.severity.value if alert is not None else None,
                        _trace(rules, rule, entry.item),
                    )
                )
    scores = tuple(
        Score(
            rule_id=rule_id,
            label=key,
            tp=counts[key][Outcome.TP],
            fp=counts[key][Outcome.FP],
            fn=counts[key][Outcome.FN],
            tn=counts[key][Outcome.TN],
            unscored=counts[key][Outcome.UNSCORED],
        )
        for key, rule_id in by_key.items()
    )
    return Report(
        items=len(corpus),
        scores=scores,
        mistakes=tuple(mistakes),
        thresholds=thresholds,
        shortfalls=tuple(_shortfalls(scores, thresholds)),
    )


def _outcome(label: Label, *, alerted: bool) -> Outcome:
    if label is Label.UNSCORED:
        return Outcome.UNSCORED
    if label is Label.POSITIVE:
        return Outcome.TP if alerted else Outcome.FN
    return Outcome.FP if alerted else Outcome.TN


def _trace(rules: RuleSet, rule: Rule, item: Item) -> tuple[str, ...]:
    found, trace = rules.matcher.explain(item, [rule])[rule.id]
    if found is not None:
        # The rule held on its own; an alert of another rule replaced it.
        superseding = [
            m.rule.id for m in rules.matcher.match_all(item) if rule.id in m.rule.supersedes
        ]
        if superseding:
            trace = [*trace, f"superseded by {', '.join(superseding)} for this item: no alert"]
    return tuple(trace)


def _shortfalls(scores: Sequence[Score], thresholds: Mapping[Metric, float]) -> list[Shortfall]:
    found = []
    for score in scores:
        for metric in Metric:
            threshold = thresholds.get(metric)
            value = score.value(metric)
            # Undefined passes: no alert cannot be imprecise, no positive
            # cannot be missed.
            if threshold is not None and value is not None and value < threshold:
                found.append(Shortfall(score.rule_id, metric, value, threshold))
    return found
