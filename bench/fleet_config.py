"""The config of a benchmark's generated fleet: every feed on one loopback
server, the shipped rules, Slack out of reach (nothing alerts on generated
items), no health server. Shared by bench_state_stores and bench_instances."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
