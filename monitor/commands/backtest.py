"""`monitor backtest`: the current rules, or a candidate rules directory, over
the archive, next to what did alert: the check before deploying a rule
change. Reads the state; touches neither it nor Slack."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.commands.search import Configured, Subparsers, duration_option, open_archive
from monitor.config import LoadedConfig
from monitor.delivery.message import format_time
from monitor.pipeline.backtest import BacktestReport, BacktestRow, backtest
from monitor.pipeline.decide import AlertPolicy
from monitor.pipeline.reload import load_rule_set
from monitor.rules.load import RuleSet, load_rules
from monitor.units import format_duration
from monitor.validation import did_you_mean

DEFAULT_SINCE = timedelta(days=7)


def add_backtest_parser(
    commands: Subparsers, common: argparse.ArgumentParser, configured: Configured
) -> None:
    """The `backtest` subcommand."""
    parser = commands.add_parser(
        "backtest",
        parents=[common],
        help="run the rules (or a candidate rules directory) over the archive and show "
        "which alerts would be added, lost or change severity",
    )
    parser.add_argument(
        "rule_ids", nargs="*", metavar="RULE", help="compare only these rules (default: all)"
    )
    parser.add_argument(
        "--rules", type=Path, metavar="DIR", help="try this rules directory instead of the config's"
    )
    parser.add_argument(
        "--since", type=duration_option, default=DEFAULT_SINCE, metavar="DURATION",
        help=f"items first seen this recently (default {format_duration(DEFAULT_SINCE)})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per change")
    parser.set_defaults(call=configured(_backtest))


def _backtest(loaded: LoadedConfig, args: argparse.Namespace, console: Console) -> int:
    return run_backtest(
        loaded,
        args.rule_ids,
        rules_dir=args.rules,
        since=args.since,
        as_json=args.json,
        console=console,
    )


def run_backtest(
    loaded: LoadedConfig,
    rule_ids: list[str],
    *,
    rules_dir: Path | None,
    since: timedelta,
    as_json: bool,
    console: Console,
) -> ExitCode:
    """Print each rule verdict on an archived item that the rules tried
    would change: added, lost, or at another severity."""
    rules = load_rules(rules_dir, shown_dir=str(rules_dir)) if rules_dir else load_rule_set(loaded)
    if (unknown := _unknown(rules, rule_ids, candidate=rules_dir is not None)) is not None:
        console.warn(f"monitor backtest: {unknown}")
        return ExitCode.UNUSABLE
    now = utc_now()
    store = open_archive(loaded, "backtest", console)
    if store is None:
        return ExitCode.UNUSABLE
    with store:
        archived = store.archived(since=now - since)
    polling = loaded.config.polling
    policy = AlertPolicy(baseline_window=polling.baseline_window, max_item_age=polling.max_item_age)
    report = backtest(archived, rules.match, policy, rule_ids=rule_ids)
    for row in report.rows:
        if as_json:
            console.say(json.dumps(row_json(row), ensure_ascii=False))
        else:
            console.say(row_text(row))
    console.warn(summary(report, since, tried=str(rules_dir) if rules_dir else "the current rules"))
    return ExitCode.OK


def _unknown(rules: RuleSet, rule_ids: list[str], *, candidate: bool) -> str | None:
    """Why the rule ids given cannot be compared; None when they can. A
    candidate directory may leave out a rule on purpose (to see what is lost)."""
    if candidate:
        return None
    known = [rule.id for rule in rules.rules]
    missing = [rule_id for rule_id in rule_ids if rule_id not in known]
    if not missing:
        return None
    return "; ".join(f"no rule '{r}'{did_you_mean(r, known)}" for r in missing)


def _severity(value: object) -> str:
    return str(value) if value is not None else "none"


def row_text(row: BacktestRow) -> str:
    """One change as the table shows it."""
    item = row.archived.item
    return (
        f"{row.change.upper():<8} {row.rule_id}  would: {_severity(row.would)}  "
        f"did: {_severity(row.did)}  {item.title}  <{item.link or 'no link'}>  [{item.feed}]  "
        f"first seen {format_time(row.archived.first_seen_at)}"
    )


def row_json(row: BacktestRow) -> dict[str, Any]:
    """One change as `monitor backtest --json` prints it."""
    archived, item = row.archived, row.archived.item
    return {
        "change": row.change,
        "rule": row.rule_id,
        "would": row.would.value if row.would is not None else None,
        "did": row.did.value if row.did is not None else None,
        "title": item.title,
        "link": item.link,
        "feed": item.feed,
        "identity": item.identity,
        "first_seen_at": archived.first_seen_at.isoformat(),
    }


def summary(report: BacktestReport, since: timedelta, *, tried: str) -> str:
    """The closing line: what was tried on what, and how much changes."""
    counts = (
        f"{len(report.of_change('added'))} added, {len(report.of_change('lost'))} lost, "
        f"{len(report.of_change('changed'))} changed severity"
    )
    return (
        f"backtest: {tried} over {report.items} items first seen in the last "
        f"{format_duration(since)}: {report.would} alerts would be raised, {report.did} were; "
        f"{counts}"
    )
