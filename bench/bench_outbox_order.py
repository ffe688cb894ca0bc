"""What the outbox's fair order costs a delivery run, and what it buys.

    python bench/bench_outbox_order.py [--backlog 50000] [--batch 50] [--runs 20]

Queues ``--backlog`` pending alerts from one flooding feed and rule, then one
critical alert from another feed and a few ordinary ones from a third, in a
real SQLite state database. Reports, in this process:

- the time ``due_alerts`` takes to pick one delivery run's batch (median of
  ``--runs``), with the store's fair order (critical first, then turns across
  feed and rule groups) and with plain oldest-first order as the baseline,
  both run as SQL on the same database;
- where in the queue the other feeds' alerts stand in each order: with
  oldest first they wait for the whole backlog, one batch per run.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.domain.alert import Alert, Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.store.sqlite import SQLiteStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLDEST_FIRST = (
    "SELECT * FROM alerts WHERE status = 'pending' AND next_attempt_at <= ? "
    "AND digest IS NULL ORDER BY id LIMIT ?"
)


def alert(feed: str, number: int, severity: Severity) -> Alert:
    return Alert(
        rule_id="watch",
        rule_title="Watch",
        severity=severity,
        feed=feed,
        item_identity=f"{feed}:{number}",
        item_guid=None,
        title=f"Item {number} of {feed}",
        link=f"https://{feed}.example/{number}",
        summary="",
        published=NOW,
        matched_terms=("watch",),
        created_at=NOW,
    )


def fill(store: SQLiteStore, backlog: int) -> None:
    groups = [
        ("flood", [alert("flood", n, Severity.WARNING) for n in range(backlog)]),
        ("ministry", [alert("ministry", 0, Severity.CRITICAL)]),
        ("agency", [alert("agency", n, Severity.INFO) for n in range(3)]),
    ]
    for feed, alerts in groups:
        store.commit_poll(
            PollOutcome(
                feed=feed,
                url=f"https://{feed}.example/feed",
                items=[],
                alerts=[(a, Target("#desk")) for a in alerts],
                validators=Validators(),
            ),
            now=NOW,
        )


def median_seconds(action: object, runs: int) -> float:
    assert callable(action)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "state.db"
        with SQLiteStore(path) as store:
            fill(store, args.backlog)
            fair = median_seconds(lambda: store.due_alerts(NOW, args.batch), args.runs)
            batch = store.due_alerts(NOW, args.batch)
        stamp = NOW.astimezone(UTC).isoformat(timespec="microseconds")  # as the store writes it
        with sqlite3.connect(path) as db:
            plain = median_seconds(
                lambda: db.execute(OLDEST_FIRST, (stamp, args.batch)).fetchall(), args.runs
            )
            feeds = [row[0] for row in db.execute("SELECT feed FROM alerts ORDER BY id")]
    others = [n for n, feed in enumerate(feeds) if feed != "flood"]
    fair_places = [n for n, e in enumerate(batch) if e.alert.feed != "flood"]
    print(f"backlog: {args.backlog} pending alerts from one feed; batch {args.batch}")
    print(f"due_alerts, fair order:     {fair * 1000:8.1f} ms (median of {args.runs})")
    print(f"due_alerts, oldest first:   {plain * 1000:8.1f} ms (baseline, same database)")
    print(f"ratio fair / oldest first:  {fair / plain:8.1f}x")
    print(
        f"other feeds' alerts, fair order: places {fair_places} of the first batch; "
        f"oldest first: places {others[0]}..{others[-1]}, "
        f"delivery run {others[0] // args.batch + 1} onwards"
    )


if __name__ == "__main__":
    main()
