"""Command line: parse arguments, build the app, hand off. No logic of its own.

Exit codes: 0 success; 1 the command ran but found problems (a feed failed,
a check failed, a replay source failed, an eval threshold not met); 2 it
could not start (bad arguments, invalid config, rules or corpus, unusable
state, a Slack token Slack rejects at the start of `run`); 3 `once` polled
but held delivery because Slack rejects the token.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from monitor import __version__
from monitor.app import utc_now
from monitor.config import LoadedConfig, config_draft, load_config, read_config_draft
from monitor.delivery.policy import route
from monitor.delivery.render import format_time, relative_time
from monitor.delivery.sinks import render_entry
from monitor.delivery.slack_check import TokenRejected, slack_test
from monitor.domain.alert import OutboxEntry
from monitor.domain.kinds import OutboxStatus
from monitor.errors import (
    ConfigError,
    CorpusError,
    MonitorError,
    Problem,
    RuleError,
)
from monitor.logs import redact_in_logs, setup_logging
from monitor.pipeline.feed_health import (
    OPS_RULE_IDS,
    OVERDUE_INTERVALS,
    counted,
    expected_silence,
    span,
)
from monitor.pipeline.feed_status import FeedStatus, feed_status
from monitor.pipeline.reload import load_rule_set, rule_reference_problems
from monitor.pipeline.replay import ReplayResult, SkippedByTags, replay, rules_skipped_by_tags
from monitor.rules.evaluate import (
    DEFAULT_TAG,
    Metric,
    evaluate,
    load_corpora,
    parse_label_options,
)
from monitor.rules.load import RuleCheck, RuleSet, check_rules, load_rules
from monitor.rules.match import Match
from monitor.rules.model import schema_json
from monitor.rules.testing import junit_xml, run_cases
from monitor.sources.http import HttpFetcher
from monitor.store.sqlite import SQLiteStore
from monitor.validation import did_you_mean, format_duration, parse_duration
from monitor.wiring import build_monitor, fetch_limits

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE, EXIT_DELIVERY_HELD = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: ./config.toml)",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="log level (default: INFO)",
    )
    common.add_argument(
        "--log-format",
        default=argparse.SUPPRESS,
        choices=["text", "json"],
        help="log lines as readable text (default) or one JSON object each",
    )
    parser = argparse.ArgumentParser(
        prog="monitor",
        parents=[common],
        description="Watch-desk monitor: polls news and sanctions feeds, matches rules, alerts Slack.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        parents=[common],
        help="poll feeds on their schedule and deliver alerts until stopped",
    )
    once_parser = commands.add_parser(
        "once", parents=[common], help="poll every feed once, deliver, and exit"
    )
    for starting in (run_parser, once_parser):
        starting.add_argument(
            "--new-state",
            action="store_true",
            help="start over on purpose where the state database was lost "
            "(missing, empty or replaced since the monitor last ran here)",
        )
    commands.add_parser("check", parents=[common], help="validate config.toml and every rule file")
    outbox_parser = commands.add_parser(
        "outbox",
        parents=[common],
        help="list alerts waiting for delivery and failed ones, with reasons",
    )
    outbox_parser.add_argument("--all", action="store_true", help="sent and silenced ones too")
    retry_parser = commands.add_parser(
        "retry", parents=[common], help="queue failed alerts again (all failed ones without IDs)"
    )
    retry_parser.add_argument("alert_ids", nargs="*", type=int, metavar="ID")
    silence_parser = commands.add_parser(
        "silence", parents=[common], help="record a rule's alerts without sending them, for a while"
    )
    silence_parser.add_argument("rule_id", metavar="RULE")
    silence_parser.add_argument(
        "--for", dest="duration", required=True, metavar="DURATION", help="e.g. 6h, 2d"
    )
    silence_parser.add_argument("--reason", required=True, metavar="TEXT")
    commands.add_parser("silences", parents=[common], help="list active silences")
    unsilence_parser = commands.add_parser("unsilence", parents=[common], help="end a silence")
    unsilence_parser.add_argument("silence_id", type=int, metavar="ID")
    preview_parser = commands.add_parser(
        "preview",
        parents=[common],
        help="print the exact Slack payload a rule would send for an item",
    )
    preview_parser.add_argument("rule_id", metavar="RULE")
    preview_parser.add_argument(
        "--item", required=True, metavar="FILE_OR_URL", help="a feed document"
    )
    preview_parser.add_argument("--tag", action="append", dest="tags", metavar="TAG")
    commands.add_parser(
        "slack-test",
        parents=[common],
        help="post a test message to every channel alerts can go to and check the token's scopes",
    )
    status_parser = commands.add_parser(
        "status",
        parents=[common],
        help="feed health: last success, last error, failures, next poll "
        "(exit 1 when a feed is failing or silent)",
    )
    status_parser.add_argument("--json", action="store_true", help="one JSON object per feed")
    replay_parser = commands.add_parser(
        "replay",
        parents=[common],
        help="show what feed documents would alert, touching no state or Slack",
    )
    replay_parser.add_argument("sources", nargs="+", metavar="SOURCE", help="feed file path or URL")
    replay_parser.add_argument(
        "--json", action="store_true", help="one JSON object per (item, rule) match"
    )
    replay_parser.add_argument(
        "--tag",
        action="append",
        dest="tags",
        metavar="TAG",
        help="feed tag the items carry (repeatable; default: the configured feed's tags)",
    )
    replay_parser.add_argument(
        "--explain",
        action="store_true",
        help="show, for each item, how each rule decided (what held, what failed, which guard fired)",
    )
    test_parser = commands.add_parser(
        "test", parents=[common], help="run the test cases that rule files carry"
    )
    test_parser.add_argument("rule_ids", nargs="*", metavar="RULE", help="rule ids (default: all)")
    test_parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="also write a JUnit XML report"
    )
    eval_parser = commands.add_parser(
        "eval",
        parents=[common],
        help="measure rules against labelled corpora: precision, recall and F1 per rule",
    )
    eval_parser.add_argument(
        "corpora",
        nargs="+",
        type=Path,
        metavar="CORPUS",
        help="labelled corpus (YAML with items:); several add up",
    )
    eval_parser.add_argument(
        "--label",
        action="append",
        dest="labels",
        default=[],
        metavar="KEY=RULE",
        help="the rule a corpus label measures (repeatable; a label named after a rule needs none)",
    )
    eval_parser.add_argument(
        "--rules",
        type=Path,
        metavar="DIR",
        help="evaluate this rules directory instead of the config's",
    )
    eval_parser.add_argument(
        "--default-tag",
        default=DEFAULT_TAG,
        metavar="TAG",
        help=f"feed tag of items with neither tags nor feed (default: {DEFAULT_TAG})",
    )
    eval_parser.add_argument("--json", action="store_true", help="one JSON document")
    eval_parser.add_argument(
        "--misses",
        action="store_true",
        help="list each miss and false alarm with the rule's trace",
    )
    for metric in Metric:
        eval_parser.add_argument(
            metric.option,
            type=_fraction,
            dest=f"min_{metric.value}",
            metavar="X",
            help=f"exit 1 when a labelled rule's {metric.value} is below X (0 to 1)",
        )
    schema_parser = commands.add_parser(
        "schema", parents=[common], help="print the JSON Schema of rule files (or list files)"
    )
    schema_parser.add_argument("kind", nargs="?", choices=["rule", "list"], default="rule")
    schema_parser.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config_path: Path = getattr(args, "config", Path("config.toml"))
    setup_logging(getattr(args, "log_level", "INFO"), getattr(args, "log_format", "text"))
    handlers: dict[str, Callable[[LoadedConfig, argparse.Namespace], int]] = {
        "run": _run,
        "once": _once,
        "replay": _replay,
        "test": _test,
        "outbox": _outbox,
        "retry": _retry,
        "silence": _silence,
        "silences": _silences,
        "unsilence": _unsilence,
        "preview": _preview,
        "slack-test": _slack_test,
        "status": _status,
    }
    try:
        if args.command == "check":
            return _check(config_path)
        if args.command == "schema":
            return _schema(args)
        if args.command == "eval":
            return _eval(config_path, args)
        if args.command in ("run", "once") and (legacy := _legacy_config(config_path)):
            print(legacy, file=sys.stderr)
            return EXIT_UNUSABLE
        loaded = load_config(config_path)
        redact_in_logs(loaded.config.redactor())
        return handlers[args.command](loaded, args)
    except (ConfigError, RuleError, CorpusError) as exc:
        _print_problems(exc.problems, sys.stderr)
        return EXIT_UNUSABLE
    except MonitorError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


LEGACY_CONFIG_DIR_ENV = "MONITOR_LEGACY_CONFIG_DIR"
"""Set by the container image: where images before it read config.toml and rules/."""


def _legacy_config(config_path: Path) -> str | None:
    """Why not to start, when a config or rules are mounted where an older
    image read them but the config in use is elsewhere: the monitor would
    run the image's bundled feeds and rules, and the desk would not know."""
    written = os.environ.get(LEGACY_CONFIG_DIR_ENV, "").strip()
    if not written:
        return None
    legacy_dir = Path(written)
    if config_path.resolve().is_relative_to(legacy_dir.resolve()):
        return None  # the config in use is the one mounted there: it is read
    found = [path for path in (legacy_dir / "config.toml", legacy_dir / "rules") if path.exists()]
    if not found:
        return None
    return (
        f"monitor: not starting: {' and '.join(map(str, found))} "
        f"{'is' if len(found) == 1 else 'are'} where older images read the config and rules, "
        f"but this one reads {config_path}: it would watch its bundled feeds, not yours. "
        f"Mount the directory holding your config.toml and rules/ on {config_path.parent} "
        'instead (README.md, "Upgrading from an image that read /app/config.toml").'
    )


def _print_problems(problems: Sequence[Problem], stream: Any) -> None:
    for problem in problems:
        print(problem, file=stream)


def _run(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from monitor.scheduler import run_until_stopped

    monitor = build_monitor(loaded, new_state=args.new_state)
    if isinstance(rejected := monitor.check_token(), TokenRejected):
        monitor.close()
        print(f"monitor: not starting: {rejected} (monitor slack-test checks it)", file=sys.stderr)
        return EXIT_UNUSABLE
    stop = threading.Event()
    reload = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    def request_reload(signum: int, frame: FrameType | None) -> None:
        reload.set()  # the loop reloads; a signal handler must not do the work

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, request_reload)
    try:
        run_until_stopped(monitor, stop, reload)
    finally:
        monitor.close()
    return EXIT_OK


def _once(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    monitor = build_monitor(loaded, new_state=args.new_state)
    try:
        if isinstance(rejected := monitor.check_token(), TokenRejected):
            # Poll all the same: the alerts wait in the outbox for a good token.
            monitor.hold_delivery(rejected)
        reports = monitor.poll_all()
        delivery = monitor.deliver_due()
        counts = monitor.store.outbox_counts()
        monitor.prune()  # run from cron, `once` is the only thing that prunes
    finally:
        monitor.close()
    failed = [r for r in reports if not r.ok]
    read = len(reports) - len(failed)
    alerts = sum(r.alerts for r in reports)
    print(
        f"polled {_count(len(reports), 'feed')}: {read} read, {len(failed)} failed; "
        f"{_count(alerts, 'new alert')}; delivered {delivery.sent}; "
        f"outbox: {counts['pending'] + counts['sending']} pending, {counts['failed']} failed"
    )
    if failed:
        print("feeds that failed:", file=sys.stderr)
        for report in failed:
            assert report.error is not None
            print(f"  {report.feed}: {report.error.kind}: {report.error}", file=sys.stderr)
    waiting = counts["pending"] + counts["sending"]
    if waiting or counts["failed"]:
        # Not a failure of this run: the outbox keeps them and delivers on the
        # next run, but whoever runs `once` from cron should see it.
        print(
            f"outbox: {waiting} alerts waiting for delivery, {counts['failed']} failed "
            "(see the log above)",
            file=sys.stderr,
        )
    if monitor.token_hold is not None:
        return EXIT_DELIVERY_HELD
    return EXIT_PROBLEMS if failed else EXIT_OK


def _check(config_path: Path) -> int:
    """Every problem of the config, of every rule and list file, and between
    them, in one run: an invalid config still names its rules directory and
    routes, and an invalid rule still its lists, selections and supersedes."""
    problems: list[Problem] = []
    loaded: LoadedConfig | None = None
    try:
        loaded = load_config(config_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    draft = read_config_draft(config_path)
    if draft is None and loaded is not None:  # the file changed since: check what was loaded
        draft = config_draft(loaded)
    rules_dir = draft.rules_dir() if draft is not None else None
    if draft is None and (config_path.parent / "rules").is_dir():
        # No TOML to say where the rules are: check the default place anyway,
        # so that fixing the config does not reveal a second list of problems.
        rules_dir = (config_path.parent / "rules", str(config_path.parent / "rules"))
    checked: RuleCheck | None = None
    if rules_dir is not None:
        checked = check_rules(*rules_dir)
        problems.extend(checked.problems)
        if draft is not None:
            problems.extend(rule_reference_problems(draft, checked))
    if problems:
        _print_problems(_by_file(problems), sys.stdout)
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return EXIT_PROBLEMS
    assert loaded is not None
    assert checked is not None
    assert checked.rules is not None
    print(
        f"OK: {config_path}: {len(loaded.config.feeds)} feeds; "
        f"{loaded.config.rules.dir}: {len(checked.rules.rules)} rules "
        f"in {len(checked.rules.files)} files"
    )
    return EXIT_OK


def _by_file(problems: Sequence[Problem]) -> list[Problem]:
    """Each file's problems together and in line order, files in the order met."""
    order: dict[str, int] = {}
    for problem in problems:
        order.setdefault(problem.file, len(order))
    return sorted(problems, key=lambda p: (order[p.file], p.line or 0))


def _replay(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    rules = load_rule_set(loaded)
    tags = tuple(args.tags) if args.tags else None
    skipped = (
        rules_skipped_by_tags(args.sources, loaded=loaded, rules=rules) if tags is None else None
    )
    if skipped is not None:
        print(_skipped_notice(skipped, len(args.sources)), file=sys.stderr)
    errors = items = matched = 0
    with HttpFetcher(fetch_limits(loaded)) as fetcher:
        for result in replay(args.sources, loaded=loaded, rules=rules, fetcher=fetcher, tags=tags):
            if result.error is not None:
                errors += 1
                print(f"{result.source}: {result.error.kind}: {result.error}", file=sys.stderr)
                continue
            items += len(result.items)
            matched += len(result.matches)
            if args.explain:
                _print_explanation(result, rules)
            else:
                _print_replay(result, as_json=args.json)
    print(f"replay: {items} items, {matched} matches, {errors} sources failed", file=sys.stderr)
    return EXIT_PROBLEMS if errors else EXIT_OK


def _skipped_notice(skipped: SkippedByTags, source_count: int) -> str:
    """One line: the rules left out (on which sources, where they differ),
    and the --tag options that include them."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for source, rule_ids in skipped.by_source:
        groups.setdefault(rule_ids, []).append(source)

    def listed(rule_ids: tuple[str, ...]) -> str:
        return ", ".join(f"{r} ({', '.join(skipped.feed_tags[r])})" for r in rule_ids)

    if len(groups) == 1 and len(skipped.by_source) == source_count:
        which = listed(skipped.by_source[0][1])
    else:
        which = "; ".join(
            f"on {', '.join(sources)}: {listed(rule_ids)}" for rule_ids, sources in groups.items()
        )
    count = len(skipped.feed_tags)
    options = " ".join(f"--tag {tag}" for tag in skipped.tags)
    return (
        f"replay: {count} rule{'s' if count != 1 else ''} limited by feed_tags not tried, "
        f"as the items have none of their tags: {which}; add {options} to include them"
    )


def _print_replay(result: ReplayResult, *, as_json: bool) -> None:
    for match in result.matches:
        if as_json:
            print(json.dumps(_match_json(match), ensure_ascii=False), flush=True)
        else:
            item = match.item
            print(
                f"{match.severity.value.upper():<8} {match.rule.id}  {item.title}  "
                f"<{item.link or 'no link'}>  [{item.feed}]  matched: {', '.join(match.matched_terms)}",
                flush=True,
            )


def _print_explanation(result: ReplayResult, rules: RuleSet) -> None:
    for item in result.items:
        print(f"== {item.title}  <{item.link or 'no link'}>  [{item.feed}]")
        document_hits = rules.matcher.explain(item, rules.matcher.candidates_for(item))
        alerting = {m.rule.id for m in rules.match(item)}
        for rule_id, (found, trace) in document_hits.items():
            verdict = f"ALERT {found.severity.value}" if found else "no alert"
            if found and rule_id not in alerting:
                verdict = "matches, but no alert: superseded by another rule that matches"
            print(f"  {rule_id}: {verdict}")
            for line in trace:
                print(f"    {line}")
        others = len(rules.rules) - len(document_hits)
        if others:
            print(f"  ({others} other rules: a term they require does not appear)")
        print(flush=True)


def _test(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    rules = load_rule_set(loaded)
    unknown = [rule_id for rule_id in args.rule_ids if rules.by_id(rule_id) is None]
    if unknown:
        known = [rule.id for rule in rules.rules]
        for rule_id in unknown:
            print(
                f"monitor test: no rule '{rule_id}'{did_you_mean(rule_id, known)}", file=sys.stderr
            )
        return EXIT_UNUSABLE
    results = run_cases(rules, args.rule_ids)
    failures = [r for r in results if not r.passed]
    for failure in failures:
        print(failure.describe() + "\n")
    untested = [
        r.id for r in rules.rules if (not args.rule_ids or r.id in args.rule_ids) and not r.cases
    ]
    if untested:
        print(f"rules without tests: {', '.join(untested)}", file=sys.stderr)
    if args.junit:
        args.junit.write_bytes(junit_xml(results))
    tested = len({r.rule.id for r in results})
    print(
        f"rule tests: {len(results) - len(failures)} passed, {len(failures)} failed ({tested} rules)"
    )
    return EXIT_PROBLEMS if failures else EXIT_OK


def _eval(config_path: Path, args: argparse.Namespace) -> int:
    # Without --rules the config names the rules; with it no config is needed,
    # so a candidate pack is measured without touching config.toml.
    label_options = parse_label_options(args.labels)
    if args.rules is not None:
        rules = load_rules(args.rules, shown_dir=str(args.rules))
    else:
        rules = load_rule_set(load_config(config_path))
    corpus = load_corpora(args.corpora, args.default_tag)
    thresholds = {
        metric: value
        for metric in Metric
        if (value := getattr(args, f"min_{metric.value}")) is not None
    }
    report = evaluate(rules, corpus, label_options, thresholds)
    if args.json:
        print(json.dumps(report.as_json(mistakes=args.misses), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines(mistakes=args.misses)))
    below = len(report.shortfalls)
    print(
        f"eval: {report.items} items, {len(report.scores)} "
        f"rule{'s' if len(report.scores) != 1 else ''}, "
        f"{below} threshold{'s' if below != 1 else ''} not met",
        file=sys.stderr,
    )
    return EXIT_OK if report.passed else EXIT_PROBLEMS


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _outbox(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    statuses: list[OutboxStatus] = ["pending", "sending", "failed"]
    if args.all:
        statuses += ["sent", "silenced"]
    with SQLiteStore(loaded.state_path) as store:
        entries = store.outbox(statuses, limit=1000)
        counts = store.outbox_counts()
    redactor = loaded.config.redactor()
    for entry in entries:
        alert = entry.alert
        reason = f"  ({redactor.text(entry.last_error)})" if entry.last_error else ""
        print(
            f"{entry.id:>6} {entry.status:<8} {entry.channel:<18} {alert.severity.value:<8} "
            f"{alert.rule_id}  {alert.title[:80]}{reason}"
        )
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return EXIT_OK


def _retry(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    with SQLiteStore(loaded.state_path) as store:
        queued = store.requeue(args.alert_ids, now=utc_now())
    print(
        f"{queued} failed alerts queued again; a running monitor sends them at its next delivery run"
    )
    return EXIT_OK if queued or not args.alert_ids else EXIT_PROBLEMS


def _silence(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    rules = load_rule_set(loaded)
    if rules.by_id(args.rule_id) is None and args.rule_id not in OPS_RULE_IDS:
        hint = did_you_mean(args.rule_id, [*(r.id for r in rules.rules), *OPS_RULE_IDS])
        print(f"monitor silence: no rule '{args.rule_id}'{hint}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        duration = parse_duration(args.duration)
    except ValueError as exc:
        print(f"monitor silence: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    assert isinstance(duration, timedelta)
    now = utc_now()
    with SQLiteStore(loaded.state_path) as store:
        silence = store.add_silence(
            rule_id=args.rule_id, until=now + duration, reason=args.reason, now=now
        )
    print(
        f"silence {silence.id}: {silence.rule_id} until {format_time(silence.until)} ({silence.reason})"
    )
    return EXIT_OK


def _silences(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    with SQLiteStore(loaded.state_path) as store:
        silences = store.active_silences(utc_now())
    for silence in silences:
        print(
            f"{silence.id:>4} {silence.rule_id:<32} until {format_time(silence.until)}  {silence.reason}"
        )
    if not silences:
        print("no active silences")
    return EXIT_OK


def _unsilence(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    with SQLiteStore(loaded.state_path) as store:
        removed = store.remove_silence(args.silence_id, now=utc_now())
    if not removed:
        print(f"monitor unsilence: no active silence {args.silence_id}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"silence {args.silence_id} ended")
    return EXIT_OK


def _preview(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    rules = load_rule_set(loaded)
    rule = rules.by_id(args.rule_id)
    if rule is None:
        hint = did_you_mean(args.rule_id, [r.id for r in rules.rules])
        print(f"monitor preview: no rule '{args.rule_id}'{hint}", file=sys.stderr)
        return EXIT_UNUSABLE
    tags = tuple(args.tags) if args.tags else None
    now = utc_now()
    shown = 0
    with HttpFetcher(fetch_limits(loaded)) as fetcher:
        for result in replay([args.item], loaded=loaded, rules=rules, fetcher=fetcher, tags=tags):
            if result.error is not None:
                print(f"{result.source}: {result.error.kind}: {result.error}", file=sys.stderr)
                return EXIT_PROBLEMS
            for match in (m for m in result.matches if m.rule.id == rule.id):
                alert = match.to_alert(now)
                for target in route(alert, loaded.config.slack):
                    entry = OutboxEntry(0, alert, 0, target.channel, target.mentions)
                    message = render_entry(entry, now)
                    payload = {
                        "channel": target.channel,
                        "text": message.text,
                        "blocks": message.blocks,
                        "unfurl_links": loaded.config.slack.unfurl_links,
                        "unfurl_media": loaded.config.slack.unfurl_links,
                    }
                    print(json.dumps(payload, indent=2, ensure_ascii=False))
                    shown += 1
    if not shown:
        print(
            f"rule '{rule.id}' matches no item of {loaded.config.redactor().url(args.item)} "
            "(try monitor replay --explain)",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK


def _slack_test(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    works = slack_test(loaded, say=lambda line: print(line, flush=True))
    if works is None:
        print(
            "monitor slack-test: set SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL) to test Slack delivery",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    return EXIT_OK if works else EXIT_PROBLEMS


def _status(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    with SQLiteStore(loaded.state_path) as store:
        health = {feed.name: feed for feed in store.feed_health()}
    now = utc_now()
    ops = loaded.config.ops
    # Stored redacted since this version; older rows until the monitor starts.
    redactor = loaded.config.redactor()
    rows = []
    for feed in loaded.config.feeds:
        found = health.get(feed.name)
        silent_after = expected_silence(
            found.publish_gap if found else None,
            own=feed.silent_after,
            factor=ops.silent_factor,
            minimum=ops.silent_min,
        )
        interval = loaded.config.interval_for(feed, found.publish_gap if found else None)
        status = feed_status(
            polled=found is not None and found.last_polled_at is not None,
            next_poll_at=found.next_poll_at if found else None,
            consecutive_failures=found.consecutive_failures if found else 0,
            open_incidents=found.incidents if found else (),
            first_success_at=found.first_success_at if found else None,
            last_item_at=found.last_item_at if found else None,
            now=now,
            interval=interval,
            silent_after=silent_after,
            failing_after=ops.failing_after,
        )
        state = _status_label(status)
        rows.append((feed, found, state, interval))
    if args.json:
        for feed, found, state, interval in rows:
            print(
                json.dumps(
                    {
                        "feed": feed.name,
                        "url": redactor.url(feed.url),
                        "tags": list(feed.tags),
                        "state": state,
                        "last_success": _iso(found.last_success_at if found else None),
                        "last_polled": _iso(found.last_polled_at if found else None),
                        "last_error": redactor.text(found.last_error)
                        if found and found.last_error
                        else None,
                        "last_error_kind": found.last_error_kind if found else None,
                        "consecutive_failures": found.consecutive_failures if found else 0,
                        "failing_since": _iso(found.failing_since if found else None),
                        "last_new_item": _iso(found.last_item_at if found else None),
                        "publish_gap_seconds": found.publish_gap.total_seconds()
                        if found and found.publish_gap
                        else None,
                        "interval_seconds": interval.total_seconds(),
                        "next_poll": _iso(found.next_poll_at if found else None),
                        "items_seen": found.items_seen if found else 0,
                        "alerts_raised": found.alerts_raised if found else 0,
                        "open_incidents": list(found.incidents) if found else [],
                        "watched_since": _iso(found.first_success_at if found else None),
                        "stale_at_first_read": state == "STALE",
                        "overdue": state == "OVERDUE",
                    }
                )
            )
        return _status_code(state for _, _, state, _ in rows)
    print(
        f"{'FEED':<24} {'STATE':<13} {'LAST SUCCESS':<14} {'FAILS':>5} {'LAST NEW':<14} "
        f"{'EVERY':>6} {'NEXT POLL':<12} {'ITEMS':>6} {'ALERTS':>6}  LAST ERROR"
    )
    for feed, found, state, interval in rows:
        success = (
            relative_time(found.last_success_at, now) if found and found.last_success_at else "-"
        )
        newest = relative_time(found.last_item_at, now) if found and found.last_item_at else "-"
        next_poll = _until(found.next_poll_at, now) if found and found.next_poll_at else "-"
        error = (
            f"{found.last_error_kind}: {redactor.text(found.last_error)}"
            if found and found.last_error
            else ""
        )
        if state == "STALE" and found and found.first_success_at and found.last_item_at:
            age = span(found.first_success_at - found.last_item_at)
            error = f"stale at first read: newest item was {age} old"
        if state == "OVERDUE" and found and found.next_poll_at:
            next_poll = "overdue"
            error = f"poll due {span(now - found.next_poll_at)} ago: is monitor run running?"
        print(
            f"{feed.name:<24} {state:<13} {success:<14} {found.consecutive_failures if found else 0:>5} "
            f"{newest:<14} {format_duration(timedelta(seconds=round(interval.total_seconds()))):>6} "
            f"{next_poll:<12} {found.items_seen if found else 0:>6} {found.alerts_raised if found else 0:>6}  "
            f"{error[:100]}"
        )
    failing = sum(state == "FAILING" for _, _, state, _ in rows)
    silent = sum(state == "SILENT" for _, _, state, _ in rows)
    stale = sum(state == "STALE" for _, _, state, _ in rows)
    overdue = sum(state == "OVERDUE" for _, _, state, _ in rows)
    print(
        f"{counted(len(rows), 'feed')}, {failing} failing, {silent} silent"
        + (f", {overdue} overdue" if overdue else "")
        + (f", {stale} stale at first read" if stale else "")
    )
    if overdue:
        print(
            f"{counted(overdue, 'feed')} not polled for longer than "
            f"max(ops.failing_after, {OVERDUE_INTERVALS} x {'its' if overdue == 1 else 'their'} "
            "interval): is `monitor run` running? What status shows of "
            f"{'it' if overdue == 1 else 'them'} is out of date.",
            file=sys.stderr,
        )
    return _status_code(state for _, _, state, _ in rows)


def _status_label(status: FeedStatus) -> str:
    """As `monitor status` shows it: a problem in capitals."""
    if status is FeedStatus.NEVER_POLLED:
        return "never polled"
    return status.value if status is FeedStatus.OK else status.value.upper()


def _status_code(states: Iterable[str]) -> int:
    """1 when a feed is failing, silent or overdue: the desk is blind to it."""
    return EXIT_PROBLEMS if any(s in ("FAILING", "SILENT", "OVERDUE") for s in states) else EXIT_OK


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _until(value: datetime, now: datetime) -> str:
    seconds = int((value - now).total_seconds())
    if seconds <= 0:
        return "due"
    return f"in {seconds // 60} min" if seconds >= 60 else f"in {seconds} s"


def _schema(args: argparse.Namespace) -> int:
    text = schema_json(args.kind)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _match_json(match: Match) -> dict[str, Any]:
    item = match.item
    return {
        "rule": match.rule.id,
        "severity": match.severity.value,
        "id": item.guid or item.identity,
        "identity": item.identity,
        "title": item.title,
        "link": item.link,
        "feed": item.feed,
        "tags": list(item.feed_tags),
        "published": item.timestamp.isoformat() if item.timestamp else None,
        "matched_terms": list(match.matched_terms),
        "matched": {name: list(terms) for name, terms in match.matched.items()},
    }


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def _count(number: int, noun: str) -> str:
    """'1 feed', '2 feeds'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
