"""Start-up cost of the rules: PyYAML's pure-Python loader against libyaml.

    python bench/bench_startup.py [--repeats 7] [--rules DIR]

Three figures for each loader, in this one run on the same files:

- ``yaml``: parsing every rule and list file into the monitor's YAML
  documents (node tree, line of every key, data), nothing else;
- ``load_rules``: what start-up and every rule reload do with the rules
  directory (parse, validate, compile, build the matcher);
- ``monitor check``: the whole command as a fresh process, interpreter and
  imports included, on the bundled config. For the pure-Python side the
  process is started with libyaml hidden (``yaml._yaml`` unimportable), as on
  a machine where PyYAML was installed without it.

Each figure is the median of ``--repeats`` runs after a warm-up run, the
two loaders taking turns run by run, so that a host busy for a while slows
both alike. Nothing is asserted: a shared host makes single runs noisy, so
every run's figure is printed too. ``--rules`` applies to the in-process
figures; ``monitor check`` runs on the bundled config and its rules.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.rules.load import LISTS_DIR, load_rules, yaml_files  # noqa: E402
from monitor.yamlsource import libyaml_in_use, pure_python_loader, read_yaml  # noqa: E402

WITHOUT_LIBYAML = (
    "import sys; sys.modules['yaml._yaml'] = None; "
    "from monitor.cli import main; raise SystemExit(main(sys.argv[1:]))"
)
WITH_LIBYAML = "import sys; from monitor.cli import main; raise SystemExit(main(sys.argv[1:]))"


def alternating(works: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Each work timed ``repeats`` times, taking turns, so that a host busy
    for a while slows both sides alike."""
    runs: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            runs[name].append(time.perf_counter() - start)
    return runs


def check_process(code: str, config: Path) -> Callable[[], object]:
    def run() -> None:
        done = subprocess.run(
            [sys.executable, "-c", code, "check", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"monitor check failed:\n{done.stdout}{done.stderr}")

    return run


def in_process(work: Callable[[], object], *, pure: bool) -> Callable[[], object]:
    def run() -> None:
        if pure:
            with pure_python_loader():
                work()
        else:
            work()

    return run


def show(label: str, runs: list[float]) -> float:
    median = statistics.median(runs)
    each = " ".join(f"{r * 1000:.0f}" for r in runs)
    print(f"  {label:<28} median {median * 1000:7.1f} ms   (runs: {each})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    args = parser.parse_args()
    if not libyaml_in_use():
        raise SystemExit("PyYAML here has no libyaml (yaml.CSafeLoader): nothing to compare")
    files = [*yaml_files(args.rules), *yaml_files(args.rules / LISTS_DIR)]
    texts = [(str(path), path.read_text(encoding="utf-8")) for path in files]
    size = sum(len(text) for _, text in texts)
    print(f"{len(files)} files, {size / 1024:.0f} KiB, in {args.rules}; repeats: {args.repeats}")

    def parse_all() -> None:
        for name, text in texts:
            document, problems = read_yaml(text, name)
            if document is None or problems:
                raise SystemExit(f"{name}: {problems}")

    def load() -> None:
        load_rules(args.rules)

    config = ROOT / "config.toml"
    figures = {
        "yaml": (in_process(parse_all, pure=True), in_process(parse_all, pure=False)),
        "load_rules": (in_process(load, pure=True), in_process(load, pure=False)),
        "monitor check (process)": (
            check_process(WITHOUT_LIBYAML, config),
            check_process(WITH_LIBYAML, config),
        ),
    }
    for figure, (pure, fast) in figures.items():
        pure(), fast()  # warm-up: imports, caches, the page cache
        runs = alternating({"pure-Python": pure, "libyaml": fast}, args.repeats)
        print(f"{figure}:")
        slow_median = show("pure-Python", runs["pure-Python"])
        fast_median = show("libyaml", runs["libyaml"])
        print(f"  {'saved by libyaml':<28} {(slow_median - fast_median) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
