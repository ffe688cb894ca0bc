"""An official list polled as the user runs it: `monitor once`, whole process.

    python3 bench/bench_list_poll.py [--size 30] [--reps 3]

Generates an OFAC-format SDN list of ``--size`` MB and an update of it (see
bench_lists.py), serves them as a local file (the read takes the same
spool-and-hash path as a download), and times three `monitor once` runs in a
row, each a fresh process, on one state database:

1. the first read: the whole list stored as the silent baseline;
2. the next publication: read, diffed, events and alerts committed;
3. the same publication again: recognised by its digest, nothing parsed.

Each row gives wall seconds and the process's peak RSS. Run 3 is the cost
of an unchanged list; against run 2 it is the saving of the same-body
check (over HTTP, a 304 spares even the transfer).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_lists import MB, all_uids, make_party, write_list, write_update  # noqa: E402

MIB = 2**20


def run_once(config: Path) -> dict[str, float]:
    """`monitor once` in a fresh process: its wall seconds and peak RSS."""
    code = (
        "import json, resource, sys, time\n"
        "from monitor.cli import main\n"
        "started = time.perf_counter()\n"
        f"status = main(['once', '--config', {str(config)!r}])\n"
        "seconds = time.perf_counter() - started\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(json.dumps({'seconds': seconds, 'rss': rss, 'status': status}))\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    wall = time.perf_counter() - started
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"process_seconds": wall, "rss_mib": figures["rss"] / MIB, "status": figures["status"]}


def write_config(directory: Path, list_path: Path) -> Path:
    config = directory / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[state]",
                f'path = "{directory / "state.db"}"',
                "[rules]",
                f'dir = "{ROOT / "rules"}"',
                "[slack]",
                'channel = "#watch-desk"',
                "[server]",
                "enabled = false",
                "[[feeds]]",
                'name = "ofac-sdn"',
                'type = "ofac-sdn"',
                f'url = "{list_path}"',
                'tags = ["sanctions"]',
                'interval = "10m"',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30, help="MB of the generated list")
    parser.add_argument("--reps", type=int, default=3, help="sequences of three runs")
    args = parser.parse_args()
    steps = ("first read (baseline)", "next publication", "same publication again")
    results: dict[str, list[dict[str, float]]] = {step: [] for step in steps}
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        first, update = base / "sdn.xml", base / "sdn-update.xml"
        uids = write_list(first, (make_party(u) for u in all_uids()), args.size * MB)
        write_update(update, uids)
        print(f"list: {first.stat().st_size / MB:.1f} MB, {len(uids):,} entries")
        for rep in range(args.reps):
            run = base / f"run{rep}"
            run.mkdir()
            served = run / "served.xml"
            shutil.copyfile(first, served)
            config = write_config(run, served)
            results[steps[0]].append(run_once(config))
            shutil.copyfile(update, served)
            results[steps[1]].append(run_once(config))
            results[steps[2]].append(run_once(config))
    print(
        f"\n{'monitor once, whole process':<30} {'seconds':>8} {'peak RSS':>9}  (median of {args.reps})"
    )
    for step in steps:
        seconds = statistics.median(r["process_seconds"] for r in results[step])
        rss = statistics.median(r["rss_mib"] for r in results[step])
        print(f"{step:<30} {seconds:>8.2f} {rss:>5.0f} MiB")
    full = statistics.median(r["process_seconds"] for r in results[steps[1]])
    same = statistics.median(r["process_seconds"] for r in results[steps[2]])
    print(f"\nan unchanged list costs {same / full:.2f}x a new publication's run")


if __name__ == "__main__":
    main()
