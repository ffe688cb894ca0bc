"""A benchmark's generated fleet: its RSS documents, and its config (every
feed on one loopback server, the shipped rules, Slack out of reach: nothing
alerts on generated items, no health server). Shared by bench_state_stores
and bench_instances."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render_feed(feed: int, *, top: int, items: int, start: datetime) -> bytes:
    """Feed ``feed``'s RSS document: ``items`` routine notices, numbered
    ``top - 1`` down, ten minutes apart from ``start``."""
    entries = "".join(
        f"<item><title>Bench source {feed} notice {number}: routine schedule update</title>"
        f"<link>https://f{feed}.bench.example/n/{number}</link>"
        f"<guid>https://f{feed}.bench.example/n/{number}</guid>"
        f"<pubDate>{format_datetime(start + timedelta(minutes=10 * number))}</pubDate>"
        f"<description>Timetable and venue details for notice {number} of source "
        f"{feed}, with nothing else of note.</description></item>"
        for number in range(top - 1, top - items - 1, -1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench source {feed}</title><link>https://f{feed}.bench.example/</link>"
        f"{entries}</channel></rss>"
    ).encode()


def write_fleet_config(
    directory: Path, state: str, base_url: str, *, feeds: int, concurrency: int, interval: str
) -> Path:
    """``config.toml`` in ``directory``: ``state`` is the [state] section's
    line (a path or a URL), ``feeds`` feeds at ``base_url/feeds/<n>``."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "[state]",
        state,
        "[rules]",
        f"dir = {json.dumps(str(ROOT / 'rules'))}",
        "[slack]",
        'channel = "#bench"',
        'api_url = "https://slack.invalid/api/"',
        "[server]",
        "enabled = false",
        "[fetch]",
        f"concurrency = {concurrency}",
        # Every feed is on one host here, where a real fleet spreads over many.
        f"per_host = {min(concurrency, 16)}",
    ]
    for number in range(feeds):
        lines += [
            "[[feeds]]",
            f'name = "f{number:05d}"',
            f'url = "{base_url}/feeds/{number}"',
            f"interval = {json.dumps(interval)}",
        ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
