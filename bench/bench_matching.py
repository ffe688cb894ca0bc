"""Matching throughput: the shared-index engine against a naive baseline.

    python bench/bench_matching.py [--items 10000] [--naive-items 1000]

Items come from ../shared/corpora/realworld (parsed with the monitor's own
parser), topped up with shuffled variants to the requested count; without
the corpus, synthetic items are used. Rule sets of 10, 100 and 1,000 rules
are generated with a fixed seed from words that occur in the items, so that
terms really hit. The naive baseline is what a straightforward
implementation does: one Python regular expression per term per rule,
evaluated item by item. Both run in this process, on the same items and
rules, and the script reports on what share of items they agree (they differ
where the engine folds punctuation and accents and regular expressions do not).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.domain.item import Item  # noqa: E402
from monitor.errors import FeedError  # noqa: E402
from monitor.rules.load import RuleSet, load_rules  # noqa: E402
from monitor.sources.rss import ParseOptions, parse_feed  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "realworld"
SEED = 20261201


def load_items(count: int, rng: random.Random) -> list[Item]:
    items: list[Item] = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.iterdir()):
            try:
                parsed = parse_feed(
                    path.read_bytes(),
                    ParseOptions(feed_name=path.name[:12], feed_url=f"https://bench/{path.name}"),
                )
            except FeedError:
                continue
            items.extend(parsed.items)
    if not items:
        words = [f"word{n}" for n in range(5000)]
        items = [
            Item(
                "synthetic",
                ("news",),
                f"fp:{n}",
                None,
                " ".join(rng.choices(words, k=10)),
                " ".join(rng.choices(words, k=60)),
                None,
                None,
                None,
            )
            for n in range(1000)
        ]
    base = list(items)
    while len(items) < count:
        source = rng.choice(base)
        words = source.summary.split()
        rng.shuffle(words)
        items.append(
            replace(source, identity=f"{source.identity}#{len(items)}", summary=" ".join(words))
        )
    return items[:count]


def vocabulary(items: list[Item]) -> list[str]:
    counts = Counter(
        w
        for item in items[:3000]
        for w in re.findall(r"[a-z]{4,}", (item.title + " " + item.summary).lower())
    )
    # Neither the commonest words (they would match everything) nor hapaxes.
    ranked = [w for w, n in counts.most_common() if n >= 3]
    return ranked[200:6000]


def make_rules(count: int, words: list[str], rng: random.Random) -> list[dict[str, list]]:
    rules = []
    for _ in range(count):

        def term() -> str:
            roll = rng.random()
            if roll < 0.2:
                return " ".join(rng.sample(words, 2))
            if roll < 0.35:
                return rng.choice(words)[:5] + "*"
            return rng.choice(words)

        rules.append(
            {
                "first": [term() for _ in range(6)],
                "second": [term() for _ in range(6)],
                "none": [term() for _ in range(2)],
            }
        )
    return rules


def engine_rules(rules: list[dict[str, list]], directory: Path) -> RuleSet:
    for n, rule in enumerate(rules):

        def quoted(terms: list[str]) -> str:
            return "[" + ", ".join(f"'{t}'" for t in terms) + "]"

        (directory / f"r{n:04d}.yaml").write_text(
            f"id: r{n}\ntitle: R{n}\nseverity: info\nmatch:\n  all:\n"
            f"    - any: {quoted(rule['first'])}\n    - any: {quoted(rule['second'])}\n"
            f"  none: {quoted(rule['none'])}\n",
            encoding="utf-8",
        )
    return load_rules(directory)


class NaiveRule:
    """One compiled Python regular expression per term, as a plain implementation would."""

    def __init__(self, n: int, rule: dict[str, list]) -> None:
        self.id = f"r{n}"
        self.first = [self._regex(t) for t in rule["first"]]
        self.second = [self._regex(t) for t in rule["second"]]
        self.none = [self._regex(t) for t in rule["none"]]

    @staticmethod
    def _regex(term: str) -> re.Pattern[str]:
        if term.endswith("*"):
            return re.compile(r"\b" + re.escape(term[:-1]) + r"\w*", re.I)
        return re.compile(r"\b" + r"\W+".join(re.escape(w) for w in term.split()) + r"\b", re.I)

    def matches(self, text: str) -> bool:
        return (
            any(r.search(text) for r in self.first)
            and any(r.search(text) for r in self.second)
            and not any(r.search(text) for r in self.none)
        )


def naive_match(rules: list[NaiveRule], item: Item) -> list[str]:
    text = item.title + "\n" + item.summary
    return [rule.id for rule in rules if rule.matches(text)]


def timed(function, items):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    results = [function(item) for item in items]
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument(
        "--naive-items", type=int, default=1_000, help="items the slow baseline runs on"
    )
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    rng = random.Random(SEED)
    items = load_items(args.items, rng)
    words = vocabulary(items)
    print(
        f"items: {len(items)} ({'real-world corpus' if CORPUS.is_dir() else 'synthetic'}); vocabulary {len(words)} words"
    )
    print(
        f"{'rules':>6} {'terms':>7} {'engine items/s':>15} {'naive items/s':>14} {'speed-up':>9} {'matches':>8} {'agree':>7}"
    )
    throughput = {}
    for size in (int(s) for s in args.sizes.split(",")):
        specs = make_rules(size, words, rng)
        with tempfile.TemporaryDirectory() as temp:
            ruleset = engine_rules(specs, Path(temp))
        naive = [NaiveRule(n, spec) for n, spec in enumerate(specs)]
        engine_seconds, engine_results = timed(
            lambda item, rules=ruleset: [m.rule.id for m in rules.match(item)], items
        )
        sample = items[: args.naive_items]
        naive_seconds, naive_results = timed(
            lambda item, rules=naive: naive_match(rules, item), sample
        )
        agree = sum(
            set(a) == set(b) for a, b in zip(engine_results, naive_results, strict=False)
        ) / len(sample)
        engine_rate, naive_rate = len(items) / engine_seconds, len(sample) / naive_seconds
        throughput[size] = engine_rate
        matches = sum(len(r) for r in engine_results)
        print(
            f"{size:>6} {len(ruleset.matcher.index):>7} {engine_rate:>15,.0f} {naive_rate:>14,.0f} "
            f"{engine_rate / naive_rate:>8.1f}x {matches:>8} {agree:>6.1%}"
        )
    sizes = sorted(throughput)
    if len(sizes) > 1:
        print(
            f"engine throughput falls {throughput[sizes[0]] / throughput[sizes[-1]]:.2f}x "
            f"from {sizes[0]} to {sizes[-1]} rules"
        )
    shipped = load_rules(ROOT / "rules")
    seconds, results = timed(shipped.match, items)
    print(
        f"shipped rule pack ({len(shipped.rules)} rules, {len(shipped.matcher.index)} terms): "
        f"{len(items) / seconds:,.0f} items/s, {sum(map(len, results))} matches"
    )


if __name__ == "__main__":
    main()
