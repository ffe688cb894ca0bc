"""Alert quality: the shipped rule pack against a naive keyword baseline.

    python bench/bench_quality.py [CORPUS] [--halves]

Both rule sets are scored in this process by ``monitor eval``'s own code
(monitor/rules/evaluate.py) on a labelled corpus, by default
../shared/corpora/headlines/dev.yaml, with its labels S, K and W mapped to
the three rules they judge. The baseline (bench/naive-rules/) has the same
rule ids, each "three keyword groups anywhere in title + summary", as a
first rule is usually written. For each rule the script prints a markdown
table row: the pack's precision, recall, F1 and tp/fp/fn, the baseline's,
and the pack minus the baseline. ``--halves`` also scores the even-indexed
items (half A: items 0, 2, 4...) and the odd-indexed ones (half B)
separately, to show how much a figure moves between two halves of the set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.errors import CorpusError, RuleError  # noqa: E402
from monitor.rules.corpus import LabelledItem, load_corpora  # noqa: E402
from monitor.rules.evaluate import Score, evaluate, format_ratio  # noqa: E402
from monitor.rules.load import RuleSet, load_rules  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "headlines" / "dev.yaml"
PACK = ROOT / "rules"
BASELINE = ROOT / "bench" / "naive-rules"
LABELS = {
    "S": "sanctions-chinese-firms",
    "K": "dprk-troops-combat",
    "W": "seoul-weapons-ukraine",
}


def scores(rules: RuleSet, items: Sequence[LabelledItem]) -> dict[str, Score]:
    return {s.rule_id: s for s in evaluate(rules, items, LABELS).scores}


def delta(pack: float | None, baseline: float | None) -> str:
    if pack is None or baseline is None:
        return "n/a"
    return f"{pack - baseline:+.2f}"


def table(title: str, pack: RuleSet, baseline: RuleSet, items: Sequence[LabelledItem]) -> None:
    ours, naive = scores(pack, items), scores(baseline, items)
    print(f"### {title} ({len(items)} items)\n")
    print(
        "| rule | pack P | pack R | pack F1 | pack tp/fp/fn "
        "| naive P | naive R | naive F1 | naive tp/fp/fn | ΔP | ΔR | ΔF1 |"
    )
    print("| --- |" + " ---: |" * 11)
    for rule_id in LABELS.values():
        a, b = ours[rule_id], naive[rule_id]
        print(
            f"| {rule_id} "
            f"| {format_ratio(a.precision)} | {format_ratio(a.recall)} | {format_ratio(a.f1)} "
            f"| {a.tp}/{a.fp}/{a.fn} "
            f"| {format_ratio(b.precision)} | {format_ratio(b.recall)} | {format_ratio(b.f1)} "
            f"| {b.tp}/{b.fp}/{b.fn} "
            f"| {delta(a.precision, b.precision)} | {delta(a.recall, b.recall)} "
            f"| {delta(a.f1, b.f1)} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus", nargs="?", type=Path, default=CORPUS, help=f"labelled corpus (default: {CORPUS})"
    )
    parser.add_argument(
        "--halves", action="store_true", help="also score even- and odd-indexed items apart"
    )
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"bench_quality: no corpus at {args.corpus} (give its path as the argument)")
    try:
        items = load_corpora([args.corpus])
        pack, baseline = load_rules(PACK), load_rules(BASELINE)
    except (CorpusError, RuleError) as exc:
        sys.exit(f"bench_quality: {exc}")
    print(f"corpus: {args.corpus}; pack: {PACK.relative_to(ROOT)}/; ", end="")
    print(f"baseline: {BASELINE.relative_to(ROOT)}/\n")
    try:
        table("all items", pack, baseline, items)
        if args.halves:
            table("half A: items 0, 2, 4...", pack, baseline, items[0::2])
            table("half B: items 1, 3, 5...", pack, baseline, items[1::2])
    except CorpusError as exc:
        sys.exit(f"bench_quality: {exc}")


if __name__ == "__main__":
    main()
