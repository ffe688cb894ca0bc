"""Reloads: when a watched file has settled, what a new config changes, and what only a restart applies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from monitor.config import (
    ConfigDraft,
    LoadedConfig,
    config_draft,
)
from monitor.domain.ops import OPS_RULE_IDS
from monitor.errors import Problem
from monitor.pipeline.decide import AlertPolicy
from monitor.redact import Redactor
from monitor.rules.load import RuleCheck, RuleSet, load_rules
from monitor.settings import Config
from monitor.validation import did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    """The config and rules the monitor runs with, immutable: a reload builds
    a new one and swaps it whole, and a poll uses the one it started with
    from its fetch to its commit."""

    loaded: LoadedConfig
    rules: RuleSet
    redactor: Redactor
    """Hides the secrets of this config's feed URLs."""
    policy: AlertPolicy
    """Which matches alert: this config's baseline window and item age limit."""
    watched: frozenset[str]
    """The names of this config's feeds."""

    @classmethod
    def of(cls, loaded: LoadedConfig, rules: RuleSet) -> Snapshot:
        """The snapshot of a loaded config and the rules loaded for it."""
        config = loaded.config
        return cls(
            loaded=loaded,
            rules=rules,
            redactor=config.redactor(),
            policy=AlertPolicy(
                baseline_window=config.polling.baseline_window,
                max_item_age=config.polling.max_item_age,
            ),
            watched=frozenset(config.feed_names()),
        )

    @property
    def config(self) -> Config:
        """The config itself."""
        return self.loaded.config


class Settling(Generic[T]):
    """Watches a file's fingerprint and reports a change once it has settled.

    A change counts once two looks in a row see the same new value, so a file
    caught halfway through a deploy or an editor's save is not taken for the
    new version. A settled change becomes current even if it turns out
    invalid, so it is reported (and logged) once, not at every look.
    """

    def __init__(self, current: T) -> None:
        self.current = current
        self._pending: T | None = None

    def look(self, seen: T, *, at_once: bool = False) -> tuple[T, T] | None:
        """``(previous, new)`` when a change has settled (``at_once``: when
        there is a change), else None."""
        if seen == self.current:
            self._pending = None
            return None
        if seen != self._pending and not at_once:
            self._pending = seen
            return None
        previous, self.current, self._pending = self.current, seen, None
        return previous, seen


def file_digest(path: Path) -> str | None:
    """The file's SHA-256, or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class FeedChanges:
    """What a config reload did to the feeds, by name."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


RESTART_ONLY: dict[str, tuple[str, ...] | None] = {
    "state": None,
    "rules": None,
    "fetch": None,
    "server": None,
    "web": None,
    "slack": ("api_url", "timeout", "min_interval", "unfurl_links"),
    "delivery": ("interval", "claim_lease"),
}
"""Settings wired into long-lived parts at start (a section, or some of its keys)."""

RELOADED_IN_RESTART_ONLY = {"fetch": ("secret_query_params",)}
"""Keys of a restart-only section that a reload applies: the secrets a new
feed URL holds must be hidden from its first poll."""


def keep_restart_only(old: Config, new: Config) -> tuple[Config, list[str]]:
    """``new`` with the settings only a restart can apply kept as in ``old``,
    and the names of those that differ."""
    updates: dict[str, object] = {}
    differing: list[str] = []
    for section, keys in RESTART_ONLY.items():
        old_part, new_part = getattr(old, section), getattr(new, section)
        if keys is None:
            reloaded = RELOADED_IN_RESTART_ONLY.get(section, ())
            kept_part = old_part.model_copy(update={k: getattr(new_part, k) for k in reloaded})
            if kept_part != new_part:
                differing.append(section)
                updates[section] = kept_part
            continue
        kept = {
            key: getattr(old_part, key)
            for key in keys
            if getattr(old_part, key) != getattr(new_part, key)
        }
        if kept:
            differing.extend(f"{section}.{key}" for key in kept)
            updates[section] = new_part.model_copy(update=kept)
    return new.model_copy(update=updates), differing


def config_rule_problems(loaded: LoadedConfig, rules: RuleSet) -> list[Problem]:
    """Where a valid config.toml and valid rules disagree (see
    :func:`rule_reference_problems`)."""
    return rule_reference_problems(config_draft(loaded), RuleCheck(rules, (), rules.facts))


def rule_reference_problems(config: ConfigDraft, rules: RuleCheck) -> list[Problem]:
    """Where config.toml and the rules disagree: routes naming no rule (or an
    ops alert), and rules limited to feed tags no feed has.

    Either side may be invalid: what could be read of it is checked, so that
    ``monitor check`` reports these with the files' own mistakes.
    """
    problems: list[Problem] = []
    known_ids = rules.rule_ids()
    for loc, rule_id in config.route_rules():
        route = f"slack.routes[{loc[2]}]"
        if rule_id in OPS_RULE_IDS:
            problems.append(
                Problem(
                    config.file,
                    config.line_of(loc),
                    f"{route}: '{rule_id}' is an ops alert; ops alerts are not "
                    "routed, they go to ops.channel with ops.mentions",
                )
            )
        elif not rules.may_exist(rule_id):
            problems.append(
                Problem(
                    config.file,
                    config.line_of(loc),
                    f"{route}: no rule '{rule_id}'{did_you_mean(rule_id, known_ids)}",
                )
            )
    known_tags = config.feed_tags()
    if known_tags is None:  # a feed's tags are invalid: which tags exist is unknown
        return problems
    for fact in rules.facts:
        if fact.feed_tags and known_tags.isdisjoint(fact.feed_tags):
            problems.append(
                Problem(
                    fact.file,
                    fact.feed_tags_line,
                    f"rule '{fact.id}' is limited to feed tags {sorted(set(fact.feed_tags))} "
                    "that no configured feed has, so it can never match",
                )
            )
    return problems


def load_rule_set(loaded: LoadedConfig) -> RuleSet:
    """The rules the config names, loaded (raises RuleError)."""
    return load_rules(loaded.rules_dir, shown_dir=str(loaded.config.rules.dir))
