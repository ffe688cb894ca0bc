"""Building a real config.toml and Monitor for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = ROOT / "rules"


def run_monitor(
    *args: str, cwd: Path, slack_token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The monitor command as a user runs it, with no Slack credentials from
    this environment unless a token is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")}
    if slack_token is not None:
        env["SLACK_BOT_TOKEN"] = slack_token
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """A monitor command in this process: its exit code, stdout and stderr."""
    from monitor.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str
    tags: tuple[str, ...] = ("news",)
    interval: str | None = "5m"
    """None: the interval adapts to the feed's publishing rate."""
    type: str | None = None
    """The feed's source type (None: the default, rss)."""
    probe_url: str | None = None


def write_config(
    directory: Path,
    feeds: list[FeedSpec],
    *,
    slack_api_url: str = "https://slack.invalid/api/",
    rules_dir: Path = SHIPPED_RULES,
    extra: str = "",
    slack_extra: str = "",
    stories: str = "hold = {}",
    rules_extra: str = "",
    state_extra: str = "",
) -> Path:
    """A config.toml in ``directory`` using the shipped rules unless told otherwise.

    ``stories``: the [stories] table; by default no story waits for more
    sources before it is posted, so that a test sees its alerts at the
    first delivery (tests of the hold give their own)."""
    lines = [
        "[state]",
        'path = "state/monitor.db"',
        state_extra,
        "[rules]",
        f'dir = "{rules_dir}"',
        'reload_interval = "1s"',
        rules_extra,
        "[slack]",
        'channel = "#watch-desk"',
        f'api_url = "{slack_api_url}"',
        'timeout = "2s"',
        slack_extra,
        "[fetch]",
        'timeout = "2s"',
        'connect_timeout = "2s"',
        "[server]",
        "port = 0",
        "[delivery]",
        'interval = "1s"',
        extra,
    ]
    for feed in feeds:
        tags = ", ".join(f'"{t}"' for t in feed.tags)
        lines += [
            "[[feeds]]",
            f'name = "{feed.name}"',
            f'url = "{feed.url}"',
            f"tags = [{tags}]",
        ]
        if feed.interval is not None:
            lines.append(f'interval = "{feed.interval}"')
        if feed.type is not None:
            lines.append(f'type = "{feed.type}"')
        if feed.probe_url is not None:
            lines.append(f'probe_url = "{feed.probe_url}"')
    lines += ["[stories]", stories]  # last: ``extra`` may add keys to [delivery]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class FakeClock:
    """A clock tests move by hand; the monitor takes it as ``clock``."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)
