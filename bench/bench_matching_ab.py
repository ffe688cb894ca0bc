"""Matching A/B: the matcher of another git revision against this tree's, in one process.

Run-to-run noise on a shared host is larger than the differences a
refactoring may cause, so the two matchers are timed in the same process,
taking turns (A B, B A, ...), with a collection before each turn, and the
medians of their CPU times are compared. The other revision's ``monitor``
package is exported with ``git archive`` and imported under another name
(``monitor_base``).

Items and rules are bench_matching.py's: its seeded sample of the real-world
corpus and its generated rule sets of 10, 100 and 1,000 rules, plus the
shipped rules. Each item is built once for each side (the two packages have
their own Item class).

    python3 bench/bench_matching_ab.py --rev d718d1f --reps 15
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import io
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE = "monitor_base"


def export_revision(rev: str, into: Path) -> None:
    """The ``monitor`` package of ``rev``, written under ``into`` as BASE."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "monitor"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "monitor").rename(into / BASE)
    for path in (into / BASE).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\bmonitor\.([a-z_])", rf"{BASE}.\1", text)
        text = text.replace("from monitor import", f"from {BASE} import")
        path.write_text(text, encoding="utf-8")


def find_attribute(package: str, candidates: list[tuple[str, str]]) -> Any:
    """The first of (module, name) that exists in ``package``: modules moved between revisions."""
    for module, name in candidates:
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except (ImportError, AttributeError):
            continue
    raise SystemExit(f"{package}: none of {candidates} found")


def bench_matching() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_matching", ROOT / "bench" / "bench_matching.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_seconds(rules: Any, items: list[Any]) -> float:
    gc.collect()
    started = time.process_time()
    for item in items:
        rules.match(item)
    return time.process_time() - started


def compare(
    label: str, base: tuple[Any, list[Any]], head: tuple[Any, list[Any]], reps: int
) -> None:
    times: dict[str, list[float]] = {"base": [], "head": []}
    sides = [("base", base), ("head", head)]
    for rep in range(reps):
        for name, (rules, items) in sides if rep % 2 == 0 else reversed(sides):
            times[name].append(cpu_seconds(rules, items))
    base_s, head_s = statistics.median(times["base"]), statistics.median(times["head"])
    count = len(base[1])
    print(
        f"{label:>14}: base {count / base_s:>7,.0f} items/s, head {count / head_s:>7,.0f} items/s, "
        f"head/base {base_s / head_s:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the base revision (git)")
    parser.add_argument("--reps", type=int, default=15, help="turns of each side")
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    bm = bench_matching()
    from monitor.rules.load import load_rules

    with tempfile.TemporaryDirectory() as temp:
        export_revision(args.rev, Path(temp))
        sys.path.insert(0, temp)
        base_load = find_attribute(BASE, [("rules.load", "load_rules"), ("rules", "load_rules")])
        base_item = find_attribute(BASE, [("domain.item", "Item"), ("items", "Item")])
        rng = random.Random(bm.SEED)
        items = bm.load_items(args.items, rng)
        base_items = [base_item(**{f.name: getattr(i, f.name) for f in fields(i)}) for i in items]
        words = bm.vocabulary(items)
        print(
            f"base {args.rev} against this tree; {len(items)} items; medians of {args.reps} turns each"
        )
        for size in (10, 100, 1000):
            specs = bm.make_rules(size, words, rng)
            with tempfile.TemporaryDirectory() as rules_dir:
                bm.engine_rules(specs, Path(rules_dir))
                base_rules, head_rules = base_load(Path(rules_dir)), load_rules(Path(rules_dir))
            compare(f"{size} rules", (base_rules, base_items), (head_rules, items), args.reps)
        shipped = ROOT / "rules"
        compare(
            "shipped rules",
            (base_load(shipped), base_items),
            (load_rules(shipped), items),
            args.reps,
        )


if __name__ == "__main__":
    main()
