"""Reading config.toml: the file, the environment's part, and a line for every error.

What the file may say is monitor.settings. Secrets never live in it: the
Slack token is read from the environment (``SLACK_BOT_TOKEN``) by
:func:`slack_token`. Relative paths in the file are relative to the
directory of the file itself, so the monitor behaves the same whatever
directory it is started from.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.errors import ConfigError, Problem
from monitor.settings import Config
from monitor.tomlsource import TomlLocator
from monitor.validation import Location, problems_from_validation

TOKEN_ENV = "SLACK_BOT_TOKEN"  # noqa: S105 - the variable's name, not a secret
WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
SETTINGS_FROM_ENV = {
    "MONITOR_STATE_PATH": ("state", "path"),
    "MONITOR_SERVER_HOST": ("server", "host"),
}
"""Settings an environment variable, when set and not empty, gives in place
of config.toml's: what differs between a desk's machine and a container
running the same config.toml. The value is read as if the file had it."""


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and the file it came from (for resolving paths)."""

    config: Config
    path: Path
    digest: str | None = None
    """SHA-256 of the bytes the config was read from: a running monitor
    reloads when the file no longer has it (an edit made while it started
    included)."""

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the file start from."""
        return self.path.parent

    def resolve(self, path: Path) -> Path:
        """``path`` as the file means it."""
        return path if path.is_absolute() else self.base_dir / path

    @property
    def state_path(self) -> Path:
        """The state database's path."""
        return self.resolve(self.config.state.path)

    @property
    def state_location(self) -> Path | str:
        """Where the state lives: the PostgreSQL URL (``state.url``) when
        set, else the SQLite database's path."""
        return self.config.state.url or self.state_path

    @property
    def rules_dir(self) -> Path:
        """The rules directory's path."""
        return self.resolve(self.config.rules.dir)


def slack_token() -> str | None:
    """The bot token from the environment, or None for console delivery."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def slack_webhook_url() -> str | None:
    """An incoming-webhook URL from the environment (used when no token is set)."""
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    return url or None


def load_config(path: Path) -> LoadedConfig:
    """Read and validate config.toml, with the settings of SETTINGS_FROM_ENV
    taken from the environment where set; raise ConfigError listing every
    problem."""
    shown = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Problem(shown, None, "config file not found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(shown, None, f"cannot read config file: {exc}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line_match = re.search(r"at line (\d+)", str(exc))
        line = int(line_match.group(1)) if line_match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError([Problem(shown, line, f"invalid TOML: {message}")]) from exc
    for variable, (table, key) in SETTINGS_FROM_ENV.items():
        value = os.environ.get(variable, "").strip()
        if value and isinstance(data.setdefault(table, {}), dict):
            data[table][key] = value
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        locator = TomlLocator(text)
        raise ConfigError(
            problems_from_validation(exc, Config, shown, locator.line_of, data)
        ) from exc
    return LoadedConfig(config=config, path=path.resolve(), digest=hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class ConfigDraft:
    """config.toml as written, valid or not, with the line of every key:
    what ``monitor check`` needs to check the rules, and what the config
    says of them, in the same run as the config's own mistakes."""

    file: str
    data: dict[str, Any]
    line_of: Callable[[Location], int | None]
    base_dir: Path

    def rules_dir(self) -> tuple[Path, str] | None:
        """The rules directory, and how the file writes it; None if the file
        gives something that is no path (its own problem says so)."""
        rules = self.data.get("rules", {})
        written = rules.get("dir", "rules") if isinstance(rules, dict) else "rules"
        if not isinstance(written, str):
            return None
        path = Path(written)
        return (path if path.is_absolute() else self.base_dir / path), str(path)

    def route_rules(self) -> list[tuple[Location, str]]:
        """Each rule id a route names, with where: ``slack.routes[0].rules[1]``."""
        slack = self.data.get("slack", {})
        routes = slack.get("routes", []) if isinstance(slack, dict) else []
        found: list[tuple[Location, str]] = []
        for number, route in enumerate(routes if isinstance(routes, list) else []):
            rule_ids = route.get("rules", []) if isinstance(route, dict) else []
            for position, rule_id in enumerate(rule_ids if isinstance(rule_ids, list) else []):
                if isinstance(rule_id, str):
                    found.append((("slack", "routes", number, "rules", position), rule_id))
        return found

    def feed_tags(self) -> frozenset[str] | None:
        """Every tag a feed has; None when some feed's tags are not a list of
        words (its own problem says so, and what the tags are is unknown)."""
        feeds = self.data.get("feeds", [])
        tags: set[str] = set()
        for feed in feeds if isinstance(feeds, list) else []:
            if not isinstance(feed, dict) or "tags" not in feed:
                continue
            written = feed["tags"]
            if not isinstance(written, list) or not all(isinstance(t, str) for t in written):
                return None
            tags.update(written)
        return frozenset(tags)


def read_config_draft(path: Path) -> ConfigDraft | None:
    """The config as written, whether it validates or not; None if it cannot
    be read or is no TOML (load_config says why)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return ConfigDraft(str(path), data, TomlLocator(text).line_of, path.resolve().parent)


def config_draft(loaded: LoadedConfig) -> ConfigDraft:
    """A validated config as a draft, without lines (for a running monitor)."""
    return ConfigDraft(
        str(loaded.path),
        loaded.config.model_dump(mode="json"),
        lambda loc: None,
        loaded.base_dir,
    )
