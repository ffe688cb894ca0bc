"""Reloading while running: rule files and config.toml are watched, and a
settled, valid change becomes a new :class:`~monitor.pipeline.reload.Snapshot`.
The monitor swaps it in whole; an invalid change is logged once and the
running snapshot stays.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from monitor.config import load_config
from monitor.errors import ConfigError, RuleError
from monitor.pipeline.reload import (
    FeedChanges,
    Settling,
    Snapshot,
    config_rule_problems,
    file_digest,
    keep_restart_only,
    load_rule_set,
)
from monitor.rules.load import rules_fingerprint
from monitor.settings import Config

log = logging.getLogger("monitor")


class Reloader:
    """Watches the rule files and config.toml of one running monitor."""

    def __init__(
        self, start: Snapshot, *, rules_fingerprint_at_load: dict[str, str] | None
    ) -> None:
        """``start``: the snapshot running now; ``rules_fingerprint_at_load``:
        the rule files' fingerprint taken before they were loaded (an edit made
        while loading is then seen as a change), else taken now."""
        self._rule_files = Settling(
            rules_fingerprint(start.loaded.rules_dir)
            if rules_fingerprint_at_load is None
            else rules_fingerprint_at_load
        )
        self._config_file = Settling(start.loaded.digest or file_digest(start.loaded.path))

    def rules(self, current: Snapshot, *, at_once: bool = False) -> Snapshot | None:
        """``current`` with the changed rule files, if they are valid; else None.

        A change is applied once the files have stayed the same for two checks
        in a row, so a directory caught halfway through a deploy or an
        editor's save is not taken for the new rules (``at_once``: without
        waiting, as on SIGHUP). An invalid change is logged once, and the
        last good rules keep running. Polls under way keep the rule set they
        started with.
        """
        settled = self._rule_files.look(
            rules_fingerprint(current.loaded.rules_dir), at_once=at_once
        )
        if settled is None:
            return None
        previous, fingerprint = settled
        changed = sorted(
            name
            for name in fingerprint.keys() | previous.keys()
            if fingerprint.get(name) != previous.get(name)
        )
        try:
            new = load_rule_set(current.loaded)
        except RuleError as exc:
            log.error(
                "rule files changed (%s) but are invalid; still running the previous %d rules:\n%s",
                ", ".join(changed),
                len(current.rules.rules),
                "\n".join(f"  {problem}" for problem in exc.problems),
            )
            return None
        except Exception:
            log.exception(
                "rule files changed (%s) but could not be loaded; still running the previous %d rules",
                ", ".join(changed),
                len(current.rules.rules),
            )
            return None
        old_ids = {rule.id for rule in current.rules.rules}
        new_ids = {rule.id for rule in new.rules}
        added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
        log.info(
            "rules reloaded: %d rules%s%s; changed files: %s",
            len(new.rules),
            f"; added {', '.join(added)}" if added else "",
            f"; removed {', '.join(removed)}" if removed else "",
            ", ".join(changed),
        )
        return replace(current, rules=new)

    def config(
        self, current: Snapshot, *, at_once: bool = False
    ) -> tuple[Snapshot, FeedChanges] | None:
        """``current`` with the changed config.toml, if it is valid, and the feeds it changed; else None.
        The caller logs the reload once it has applied it (see log_config_reload).

        Feeds added, removed or changed take effect at the next claim (which
        names the feeds of the config running), as do routes, mentions, polling,
        ops and delivery policy. What was wired at start (state, rules
        directory, fetch limits, server, Slack connection, delivery tick)
        keeps its old value until a restart, and the log says so. The file
        must settle (two equal looks) like rule files, unless ``at_once``; an
        invalid change is logged once and the running config stays.
        """
        settled = self._config_file.look(file_digest(current.loaded.path), at_once=at_once)
        if settled is None:
            return None
        try:
            loaded = load_config(current.loaded.path)
        except ConfigError as exc:
            log.error(
                "config file %s changed but is invalid; still running the previous config:\n%s",
                current.loaded.path,
                "\n".join(f"  {problem}" for problem in exc.problems),
            )
            return None
        for problem in config_rule_problems(loaded, current.rules):
            # Logged, not refused: a route to a rule not loaded yet never
            # matches, and the rule may be on its way in the same deploy.
            log.warning("config file %s: %s", current.loaded.path, problem.message)
        config, restart_only = keep_restart_only(current.config, loaded.config)
        if restart_only:
            log.warning(
                "config file %s: %s changed; that takes effect at the next restart",
                current.loaded.path,
                ", ".join(restart_only),
            )
        old_feeds = {feed.name: feed for feed in current.config.feeds}
        new_feeds = {feed.name: feed for feed in config.feeds}
        changes = FeedChanges(
            added=tuple(sorted(new_feeds.keys() - old_feeds.keys())),
            removed=tuple(sorted(old_feeds.keys() - new_feeds.keys())),
            changed=tuple(
                sorted(
                    name
                    for name in old_feeds.keys() & new_feeds.keys()
                    if old_feeds[name] != new_feeds[name]
                )
            ),
        )
        new = Snapshot.of(
            replace(current.loaded, config=config, digest=loaded.digest), current.rules
        )
        return new, changes


def log_config_reload(config: Config, changes: FeedChanges) -> None:
    """The one log line saying a config reload took effect."""
    log.info(
        "config reloaded: %d feed%s; added: %s; removed: %s; changed: %s",
        len(config.feeds),
        "" if len(config.feeds) == 1 else "s",
        ", ".join(changes.added) or "none",
        ", ".join(changes.removed) or "none",
        ", ".join(changes.changed) or "none",
    )
