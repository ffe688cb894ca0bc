"""The item archive at scale: its size, its insert cost, search, and polls.

    python3 bench/bench_archive.py [--items 1000000] [--quick] [--keep] [--dir DIR]

1. Fill: ``--items`` items made from the real-world corpus (see
   archive_items.py) are committed as polls' new items, 20-50 a poll, over
   30 days, through the store's own write path (``commit_poll``), into two
   state databases taking turns: one with the items archived, and the
   baseline, the same polls without the archive. Reported: each database's
   size and, from SQLite's dbstat, the archive's share (table, indexes,
   full-text index); the commit cost per item with and without the archive,
   for each tenth of the items (does it grow with the archive?).
2. Search: typical queries through ``Archive.search`` on the filled archive,
   50 newest first, ``--search-runs`` times each (after one first run, shown
   apart): p50, p95 and max. Baseline: the one-statement query the archive
   shipped with (every match sorted by age), on the same database; both must
   find the same items.
3. Polls: a real Monitor (``poll_all``, shipped rules, ``parse_processes =
   0`` so that all CPU is this process's) polls generated feeds whose items
   change every cycle, with ``[archive] enabled`` false and true, taking
   turns cycle by cycle (see archive_polls.py), from an empty state and from
   a copy of the filled archive. Reported: CPU and wall seconds per cycle,
   medians, and the ratio archive on / off.

Big files go under ``--dir`` (default: a temporary directory), deleted at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from archive_items import CORPUS, CorpusFeed, ItemMaker, read_corpus  # noqa: E402
from archive_polls import PollSettings, compare_polls  # noqa: E402

from monitor.domain.feed import Validators  # noqa: E402
from monitor.domain.poll import PollOutcome  # noqa: E402
from monitor.store.sqlite import SQLiteStore  # noqa: E402
from monitor.store.sqlite.archive import _SELECT, _filters  # noqa: E402

SPAN = timedelta(days=30)
"""The default archive.retention: the items are spread over it."""
BATCH = (20, 50)
MIB = 2**20
TARGET_MS = 100.0

BASELINE_SEARCH = f"{_SELECT} WHERE {{where}} ORDER BY a.first_seen_at DESC, a.id DESC LIMIT ?"
"""The search as first shipped: every match read, sorted by age."""


@dataclass(frozen=True)
class Query:
    label: str
    text: str
    since: timedelta | None = None
    feed: str | None = None


def queries(rare: str, feed: str) -> list[Query]:
    return [
        Query("rare word", rare),
        Query("common word", "Russia"),
        Query("very common word", "Trump"),
        Query("phrase", '"White House"'),
        Query("prefix", "sanction*"),
        Query(f"--since 2d --feed {feed}", "Russia", since=timedelta(days=2), feed=feed),
        Query("AND / OR", "(Russia OR Ukraine) AND (oil OR gas)"),
    ]


# --- 1. fill --------------------------------------------------------------------------


@dataclass
class Slice:
    items: int = 0
    archived_seconds: float = 0.0
    plain_seconds: float = 0.0


def fill(maker: ItemMaker, total: int, end: datetime, archived: Path, plain: Path) -> list[Slice]:
    """Commit ``total`` items as polls into both databases, in turns; the
    commit seconds of each tenth."""
    tenth = max(1, total // 10)
    slices = [Slice() for _ in range(10)]
    with SQLiteStore(archived) as with_archive, SQLiteStore(plain) as without:
        done = 0
        for number, (at, feed, items) in enumerate(
            maker.poll_batches(total, start=end - SPAN, span=SPAN, sizes=BATCH)
        ):
            outcome = PollOutcome(
                feed=feed.name,
                url=f"https://{feed.name}.example/",
                items=items,
                alerts=(),
                validators=Validators(),
                archive=items,
            )
            bare = PollOutcome(
                feed=feed.name,
                url=outcome.url,
                items=items,
                alerts=(),
                validators=Validators(),
            )
            part = slices[min(9, done // tenth)]
            order = ((with_archive, outcome), (without, bare))
            for store, poll in order if number % 2 == 0 else reversed(order):
                started = time.perf_counter()
                store.commit_poll(poll, now=at)
                seconds = time.perf_counter() - started
                if poll is outcome:
                    part.archived_seconds += seconds
                else:
                    part.plain_seconds += seconds
            part.items += len(items)
            done += len(items)
            if done // tenth != (done - len(items)) // tenth:
                print(f"  {done:,} items committed", flush=True)
    return slices


def report_fill(slices: list[Slice], total: int) -> None:
    print(f"\ncommit cost per item, {total:,} items, polls of {BATCH[0]}-{BATCH[1]} new items")
    print(f"{'items':>19} {'archive on':>11} {'off':>8} {'archive':>9} {'on items/s':>11}")
    first = slices[0]
    start = 0
    for part in slices:
        if not part.items:
            continue
        on = part.archived_seconds / part.items * 1e6
        off = part.plain_seconds / part.items * 1e6
        print(
            f"{start:>9,}-{start + part.items:<9,} {on:>8.0f} µs {off:>5.0f} µs {on - off:>6.0f} µs "
            f"{part.items / part.archived_seconds:>11,.0f}"
        )
        start += part.items
    last = slices[-1]
    if first.items and last.items:
        growth = (last.archived_seconds / last.items) / (first.archived_seconds / first.items)
        extra_first = (first.archived_seconds - first.plain_seconds) / first.items
        extra_last = (last.archived_seconds - last.plain_seconds) / last.items
        print(
            f"last tenth / first tenth: commit with archive {growth:.2f}x; "
            f"the archive's part {extra_first * 1e6:.0f} µs -> {extra_last * 1e6:.0f} µs an item"
        )
    on_total = sum(p.archived_seconds for p in slices)
    off_total = sum(p.plain_seconds for p in slices)
    print(
        f"all items: {on_total / total * 1e6:.0f} µs an item with the archive, "
        f"{off_total / total * 1e6:.0f} µs without ({on_total / off_total:.2f}x)"
    )


SHARES = {
    "archive rows": ("archive",),
    "archive indexes": ("sqlite_autoindex_archive_1", "archive_by_age"),
    "full-text index": (
        "archive_text_data",
        "archive_text_idx",
        "archive_text_docsize",
        "archive_text_config",
    ),
    "seen records": ("seen", "sqlite_autoindex_seen_1", "seen_by_age"),
}


def report_sizes(archived: Path, plain: Path, total: int) -> None:
    with sqlite3.connect(archived) as db:
        pages = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    size, base = archived.stat().st_size, plain.stat().st_size
    print(f"\ndatabase size, {total:,} items")
    print(f"  with the archive:    {size / MIB:9,.1f} MiB  {size / total:7,.0f} B an item")
    print(f"  without (baseline):  {base / MIB:9,.1f} MiB  {base / total:7,.0f} B an item")
    print(
        f"  the archive's cost:  {(size - base) / MIB:9,.1f} MiB  {(size - base) / total:7,.0f} "
        f"B an item ({size / base:.1f}x the baseline)"
    )
    print("  by dbstat, in the database with the archive:")
    for label, names in SHARES.items():
        share = sum(pages.get(name, 0) for name in names)
        print(f"    {label:<17}{share / MIB:9,.1f} MiB  {share / total:7,.0f} B an item")


# --- 2. search ------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(action: object, runs: int) -> tuple[float, list[float]]:
    """The first run's milliseconds, and those of ``runs`` more."""
    assert callable(action)
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], times[1:]


def search_bench(archived: Path, items: list[Query], end: datetime, runs: int) -> bool:
    print(f"\nsearch, 50 newest first: first run, then p50 / p95 / max of {runs} runs (ms)")
    print(f"{'query':<58} {'hits':>7} {'first':>7} {'p50':>7} {'p95':>7} {'max':>7}  baseline")
    met = True
    with SQLiteStore(archived) as store, sqlite3.connect(archived) as db:
        for query in items:
            since = end - query.since if query.since else None
            where, params = _filters(
                ["a.id IN (SELECT rowid FROM archive_text WHERE archive_text MATCH ?)"],
                [query.text],
                since=since,
                feed=query.feed,
            )
            hits = db.execute(
                "SELECT COUNT(*) FROM archive_text WHERE archive_text MATCH ?", (query.text,)
            ).fetchone()[0]
            first, times = timed(
                lambda q=query, s=since: store.search(q.text, since=s, feed=q.feed), runs
            )
            sql = BASELINE_SEARCH.format(where=" AND ".join(where))
            base_first, base_times = timed(
                lambda sql=sql, p=params: db.execute(sql, (*p, 50)).fetchall(), max(1, runs // 3)
            )
            found = [
                a.item.identity for a in store.search(query.text, since=since, feed=query.feed)
            ]
            expected = [row[2] for row in db.execute(sql, (*params, 50))]
            same = "same items" if found == expected else "DIFFERENT ITEMS"
            p50 = statistics.median(times)
            met &= max(times) < TARGET_MS and found == expected
            label = f"{query.label}: {query.text}"
            print(
                f"{label[:58]:<58} {hits:>7,} {first:>7.1f} {p50:>7.1f} "
                f"{percentile(times, 0.95):>7.1f} {max(times):>7.1f}  "
                f"p50 {statistics.median(base_times):.1f} ms ({statistics.median(base_times) / p50:.1f}x "
                f"the new), first {base_first:.1f}; {same}"
            )
    print(f"target: every run under {TARGET_MS:.0f} ms, same items: {'met' if met else 'MISSED'}")
    return met


def rare_word(feeds: list[CorpusFeed]) -> str:
    """A long word of exactly two corpus items (the first such, alphabetically):
    in the generated archive, about one item in 5,000 or fewer."""
    counts: Counter[str] = Counter()
    for feed in feeds:
        for item in feed.items:
            counts.update(set(re.findall(r"[a-z]{8,}", f"{item.title} {item.summary}".casefold())))
    return min((word for word, count in counts.items() if count == 2), default="sanctions")


def busiest_feed(archived: Path) -> str:
    """The feed with the most items mentioning Russia."""
    with sqlite3.connect(archived) as db:
        row = db.execute(
            "SELECT a.feed FROM archive a WHERE a.id IN "
            "(SELECT rowid FROM archive_text WHERE archive_text MATCH 'russia') "
            "GROUP BY a.feed ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    return str(row[0]) if row else "rw-none"


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20,000 items")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--corpus-files", type=int, default=None, help="read only the first N")
    parser.add_argument("--search-runs", type=int, default=30)
    parser.add_argument("--poll-feeds", type=int, default=40)
    parser.add_argument("--poll-items", type=int, default=30, help="items in each document")
    parser.add_argument("--poll-new", type=int, default=10, help="new items a feed a cycle")
    parser.add_argument("--poll-reps", type=int, default=7, help="cycles of each setting")
    parser.add_argument("--skip-polls", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.corpus_files = 20_000, args.corpus_files or 40
        args.search_runs, args.poll_feeds, args.poll_reps = 10, 10, 3
    directory = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=args.dir))
    end = datetime.now(UTC).replace(microsecond=0)
    try:
        started = time.perf_counter()
        feeds = read_corpus(args.corpus, args.corpus_files)
        maker = ItemMaker(feeds)
        print(
            f"corpus: {len(feeds)} feeds, {sum(len(f.items) for f in feeds):,} items "
            f"({time.perf_counter() - started:.1f} s); databases in {directory}"
        )
        archived, plain = directory / "archive.db", directory / "plain.db"
        slices = fill(maker, args.items, end, archived, plain)
        report_fill(slices, args.items)
        report_sizes(archived, plain, args.items)
        met = search_bench(
            archived, queries(rare_word(feeds), busiest_feed(archived)), end, args.search_runs
        )
        if not args.skip_polls:
            settings = PollSettings(
                feeds=args.poll_feeds,
                items=args.poll_items,
                new=args.poll_new,
                reps=args.poll_reps,
                corpus=args.corpus,
                corpus_files=args.corpus_files,
            )
            met &= compare_polls(settings, directory, filled=archived)
        print(f"\ntargets: {'all met' if met else 'some missed'}")
    finally:
        if args.keep:
            print(f"kept: {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
