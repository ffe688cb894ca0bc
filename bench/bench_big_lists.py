"""Loading and matching with one very large term list.

    python bench/bench_big_lists.py [--terms 250000] [--items 1000] [--code DIR]

Writes a rules directory with one list of ``--terms`` generated terms (single
words, two-word phrases and wildcard stems, as a sanctions list of entity
names would have) and one rule that needs a sanctions word and any term of
that list, guarded against denials. Then reports, in this process:

- load: the time ``load_rules`` takes (YAML, validation, compilation);
- peak RSS after loading;
- matching: the time to match ``--items`` items, every one of which the rule
  matches (so the list's prefilter has fired for each).

``--code DIR`` imports ``monitor`` from DIR instead of this checkout, to
measure another version on the same input, e.g. the last commit:
``git archive HEAD monitor | tar -x -C /tmp/old`` then ``--code /tmp/old``.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261206


def write_rules(directory: Path, terms: int) -> None:
    lines = ["description: generated entity names", "terms:"]
    for n in range(terms):
        kind = n % 3
        if kind == 0:
            lines.append(f"  - entity{n}")
        elif kind == 1:
            lines.append(f"  - acme{n} holdings")
        else:
            lines.append(f"  - shipco{n}*")
    (directory / "lists").mkdir()
    (directory / "lists" / "entities.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "lists" / "denials.yaml").write_text(
        "description: denials\nterms: [denied, denies, rejected]\n", encoding="utf-8"
    )
    (directory / "big-list.yaml").write_text(
        "\n".join(
            [
                "id: big-list",
                "title: A listed entity is sanctioned",
                "severity: critical",
                "description: a sanctions word and any entity of the list",
                "match:",
                "  all:",
                "    - any: [sanction*, blacklist*]",
                "    - $entities",
                "guards:",
                "  - name: denial",
                "    cues: [$denials]",
                "    action: skip",
            ]
        )
        + "\n",
        encoding="utf-8",
    )


def items(count: int, terms: int) -> list[object]:
    from monitor.domain.item import Item

    rng = random.Random(SEED)
    made: list[object] = []
    for n in range(count):
        picks = [rng.randrange(terms) for _ in range(3)]
        names = [
            f"entity{p}" if p % 3 == 0 else f"acme{p} holdings" if p % 3 == 1 else f"shipco{p}ltd"
            for p in picks
        ]
        made.append(
            Item(
                feed="bench",
                feed_tags=("news",),
                identity=f"bench:{n}",
                guid=None,
                title=f"US sanctions {names[0]} over arms shipments",
                summary=(
                    f"Treasury blacklisted {names[1]} and {names[2]} on Tuesday. "
                    "Officials said more designations would follow."
                ),
                link=None,
                published=None,
                updated=None,
            )
        )
    return made


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=250_000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from monitor.rules.load import load_rules

    print(f"code: {args.code.resolve()}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_rules(directory, args.terms)
        baseline_rss = peak_rss_mb()
        started = time.perf_counter()
        rules = load_rules(directory)
        loaded = time.perf_counter() - started
    print(f"load {args.terms:,} terms: {loaded:.2f} s")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before loading {baseline_rss:.0f} MB)")
    batch = items(args.items, args.terms)
    started = time.perf_counter()
    matched = sum(1 for item in batch if rules.match(item))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    print(
        f"match {args.items:,} items: {elapsed:.2f} s "
        f"({elapsed / max(1, args.items) * 1000:.2f} ms per item), {matched:,} matched"
    )


if __name__ == "__main__":
    main()
