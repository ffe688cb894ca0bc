"""Command line: parse arguments and call the command (monitor.commands). No logic of its own.

Exit codes (monitor.commands.console.ExitCode): 0 success; 1 the command ran
but found problems (a feed failed, a check failed, a replay source failed,
an eval threshold not met); 2 it could not start (bad arguments, invalid
config, rules or corpus, unusable state, a Slack token Slack rejects at the
start of `run`); 3 `once` polled but held delivery because Slack rejects
the token.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from monitor import __version__
from monitor.commands import checking, delivery, replaying, rule_tools, running, status
from monitor.commands.backtest import add_backtest_parser
from monitor.commands.console import Console, ExitCode
from monitor.commands.feedback import feedback
from monitor.commands.search import add_search_parser
from monitor.config import LoadedConfig, load_config
from monitor.domain.alert import SilenceScope
from monitor.domain.kinds import FEEDBACK_KINDS
from monitor.domain.severity import Severity
from monitor.errors import ConfigError, CorpusError, MonitorError, RuleError
from monitor.logs import redact_in_logs, setup_logging
from monitor.rules.corpus import DEFAULT_TAG
from monitor.rules.evaluate import Metric
from monitor.sources.registry import SOURCE_TYPES

DEFAULT_CONFIG = Path("config.toml")

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What add_subparsers returns (argparse gives it no public name)."""
Command = Callable[[Path, argparse.Namespace, Console], int]
"""A command as the parser holds it: the config path, the parsed arguments, the console."""
ConfiguredCommand = Callable[[LoadedConfig, argparse.Namespace, Console], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `monitor` command line; return its exit code."""
    args = build_parser().parse_args(argv)
    config_path: Path = getattr(args, "config", DEFAULT_CONFIG)
    setup_logging(getattr(args, "log_level", "INFO"), getattr(args, "log_format", "text"))
    console = Console.standard()
    command: Command = args.call
    try:
        return command(config_path, args, console)
    except (ConfigError, RuleError, CorpusError) as exc:
        console.problems(exc.problems)
        return ExitCode.UNUSABLE
    except MonitorError as exc:
        console.warn(f"monitor: {exc}")
        return ExitCode.UNUSABLE


def configured(command: ConfiguredCommand) -> Command:
    """A command that needs the validated config: loaded first, its secrets
    hidden from the log from then on."""

    def call(config_path: Path, args: argparse.Namespace, console: Console) -> int:
        loaded = load_config(config_path)
        redact_in_logs(loaded.config.redactor())
        return command(loaded, args, console)

    return call


def starting(command: ConfiguredCommand) -> Command:
    """`run` or `once`: refused where an older image's config would be left unread."""
    then = configured(command)

    def call(config_path: Path, args: argparse.Namespace, console: Console) -> int:
        if notice := running.legacy_config_notice(config_path):
            console.warn(notice)
            return ExitCode.UNUSABLE
        return then(config_path, args, console)

    return call


def build_parser() -> argparse.ArgumentParser:
    """The `monitor` argument parser; each command's ``call`` is in its defaults."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="monitor",
        parents=[common],
        description="Watch-desk monitor: polls news and sanctions feeds, matches rules, alerts Slack.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In this order in --help.
    _add_starting(commands, common)
    _add_check(commands, common)
    _add_outbox(commands, common)
    _add_silences(commands, common)
    _add_feedback(commands, common)
    _add_preview(commands, common)
    _add_slack_test(commands, common)
    _add_status(commands, common)
    _add_replay(commands, common)
    add_search_parser(commands, common, configured)
    add_backtest_parser(commands, common, configured)
    _add_test(commands, common)
    _add_eval(commands, common)
    _add_schema(commands, common)
    return parser


def _common_options() -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
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
    return common


def _add_starting(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    run_parser = commands.add_parser(
        "run",
        parents=[common],
        help="poll feeds on their schedule and deliver alerts until stopped",
    )
    run_parser.set_defaults(
        call=starting(
            lambda loaded, args, console: running.run(
                loaded, new_state=args.new_state, console=console
            )
        )
    )
    once_parser = commands.add_parser(
        "once", parents=[common], help="poll every feed once, deliver, and exit"
    )
    once_parser.set_defaults(
        call=starting(
            lambda loaded, args, console: running.once(
                loaded, new_state=args.new_state, console=console
            )
        )
    )
    for parser in (run_parser, once_parser):
        parser.add_argument(
            "--new-state",
            action="store_true",
            help="start over on purpose where the state database was lost "
            "(missing, empty or replaced since the monitor last ran here)",
        )


def _add_check(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "check", parents=[common], help="validate config.toml and every rule file"
    )
    parser.set_defaults(
        call=lambda config_path, args, console: checking.check(config_path, console=console)
    )


def _add_outbox(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    outbox_parser = commands.add_parser(
        "outbox",
        parents=[common],
        help="list alerts waiting for delivery and failed ones, with reasons",
    )
    outbox_parser.add_argument("--all", action="store_true", help="sent and silenced ones too")
    outbox_parser.set_defaults(
        call=configured(
            lambda loaded, args, console: delivery.list_outbox(
                loaded, everything=args.all, console=console
            )
        )
    )
    retry_parser = commands.add_parser(
        "retry", parents=[common], help="queue failed alerts again (all failed ones without IDs)"
    )
    retry_parser.add_argument("alert_ids", nargs="*", type=int, metavar="ID")
    retry_parser.set_defaults(
        call=configured(
            lambda loaded, args, console: delivery.retry(loaded, args.alert_ids, console=console)
        )
    )


def _add_silences(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    silence_parser = commands.add_parser(
        "silence",
        parents=[common],
        help="record alerts without sending them, for a while: a rule's, a story's, a feed's, "
        "a severity's or those naming a keyword (all given must match)",
    )
    silence_parser.add_argument("rule_id", nargs="?", metavar="RULE")
    silence_parser.add_argument("--story", metavar="KEY", help="one story's alerts")
    silence_parser.add_argument("--feed", metavar="NAME", help="one feed's alerts")
    silence_parser.add_argument(
        "--severity", choices=[s.value for s in Severity], help="alerts of exactly this severity"
    )
    silence_parser.add_argument(
        "--keyword", metavar="TEXT", help="alerts whose title or summary holds these words"
    )
    silence_parser.add_argument(
        "--for", dest="duration", required=True, metavar="DURATION", help="e.g. 6h, 2d"
    )
    silence_parser.add_argument("--reason", required=True, metavar="TEXT")
    silence_parser.add_argument(
        "--by", dest="author", metavar="NAME", help='who sets it (default: $USER, else "cli")'
    )
    silence_parser.set_defaults(
        call=configured(
            lambda loaded, args, console: delivery.silence(
                loaded,
                SilenceScope(
                    rule_id=args.rule_id,
                    story_key=args.story,
                    feed=args.feed,
                    severity=Severity(args.severity) if args.severity else None,
                    keyword=args.keyword,
                ),
                duration=args.duration,
                reason=args.reason,
                author=args.author,
                console=console,
            )
        )
    )
    silences_parser = commands.add_parser(
        "silences", parents=[common], help="list active silences: scope, end, author, reason"
    )
    silences_parser.set_defaults(
        call=configured(
            lambda loaded, args, console: delivery.list_silences(loaded, console=console)
        )
    )
    unsilence_parser = commands.add_parser("unsilence", parents=[common], help="end a silence")
    unsilence_parser.add_argument("silence_id", type=int, metavar="ID")
    unsilence_parser.set_defaults(
        call=configured(
            lambda loaded, args, console: delivery.unsilence(
                loaded, args.silence_id, console=console
            )
        )
    )


def _add_preview(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "preview",
        parents=[common],
        help="print the exact Slack payload a rule would send for an item",
    )
    parser.add_argument("rule_id", metavar="RULE")
    parser.add_argument("--item", required=True, metavar="FILE_OR_URL", help="a feed document")
    parser.add_argument("--tag", action="append", dest="tags", metavar="TAG")
    parser.set_defaults(
        call=configured(
            lambda loaded, args, console: replaying.preview(
                loaded, args.rule_id, item_source=args.item, tags=_tags(args), console=console
            )
        )
    )


def _add_slack_test(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "slack-test",
        parents=[common],
        help="post a test message to every channel alerts can go to and check the token's scopes",
    )
    parser.set_defaults(
        call=configured(lambda loaded, args, console: delivery.check_slack(loaded, console=console))
    )


def _add_status(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "status",
        parents=[common],
        help="feed health: last success, last error, failures, next poll "
        "(exit 1 when a feed is failing or silent)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per feed")
    parser.add_argument(
        "--instances",
        action="store_true",
        help="the instances sharing the state instead (with --json, one object per instance)",
    )
    parser.set_defaults(
        call=configured(
            lambda loaded, args, console: status.status(
                loaded, as_json=args.json, console=console, only_instances=args.instances
            )
        )
    )


def _add_feedback(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "feedback", parents=[common], help="list what the desk said with the Slack buttons"
    )
    kinds = ", ".join(FEEDBACK_KINDS)
    parser.add_argument(
        "--kind", action="append", dest="kinds", choices=FEEDBACK_KINDS, metavar="KIND",
        help=f"only this kind (repeatable): {kinds}",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per feedback")
    parser.add_argument(
        "--as-cases", action="store_true",
        help="false alarms and not relevant as rule test cases (YAML) for the rules' tests:",
    )  # fmt: skip
    parser.set_defaults(call=configured(_feedback))


def _feedback(loaded: LoadedConfig, args: argparse.Namespace, console: Console) -> int:
    kinds, as_json, as_cases = args.kinds or (), args.json, args.as_cases
    return feedback(loaded, kinds=kinds, as_json=as_json, as_cases=as_cases, console=console)


def _add_replay(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "replay",
        parents=[common],
        help="show what feed documents would alert, touching no state or Slack",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="feed file path or URL")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per (item, rule) match"
    )
    parser.add_argument(
        "--tag",
        action="append",
        dest="tags",
        metavar="TAG",
        help="feed tag the items carry (repeatable; default: the configured feed's tags)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show, for each item, how each rule decided (what held, what failed, which guard fired)",
    )
    parser.add_argument(
        "--type",
        dest="source_type",
        choices=sorted(SOURCE_TYPES),
        metavar="TYPE",
        help="read the sources as this feed type (default: the configured feed's, else rss); "
        "for an official list (ofac-sdn, eu-fsf, ...) give two snapshots, OLD NEW, and see "
        "what NEW would alert after OLD",
    )
    parser.set_defaults(
        call=configured(
            lambda loaded, args, console: replaying.replay_sources(
                loaded,
                args.sources,
                tags=_tags(args),
                as_json=args.json,
                explain=args.explain,
                console=console,
                source_type=args.source_type,
            )
        )
    )


def _add_test(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "test", parents=[common], help="run the test cases that rule files carry"
    )
    parser.add_argument("rule_ids", nargs="*", metavar="RULE", help="rule ids (default: all)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    parser.set_defaults(
        call=configured(
            lambda loaded, args, console: rule_tools.run_rule_tests(
                loaded, args.rule_ids, junit=args.junit, console=console
            )
        )
    )


def _add_eval(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "eval",
        parents=[common],
        help="measure rules against labelled corpora: precision, recall and F1 per rule",
    )
    parser.add_argument(
        "corpora",
        nargs="+",
        type=Path,
        metavar="CORPUS",
        help="labelled corpus (YAML with items:); several add up",
    )
    parser.add_argument(
        "--label",
        action="append",
        dest="labels",
        default=[],
        metavar="KEY=RULE",
        help="the rule a corpus label measures (repeatable; a label named after a rule needs none)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        metavar="DIR",
        help="evaluate this rules directory instead of the config's",
    )
    parser.add_argument(
        "--default-tag",
        default=DEFAULT_TAG,
        metavar="TAG",
        help=f"feed tag of items with neither tags nor feed (default: {DEFAULT_TAG})",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument(
        "--misses",
        action="store_true",
        help="list each miss and false alarm with the rule's trace",
    )
    for metric in Metric:
        parser.add_argument(
            metric.option,
            type=_fraction,
            dest=f"min_{metric.value}",
            metavar="X",
            help=f"exit 1 when a labelled rule's {metric.value} is below X (0 to 1)",
        )
    parser.set_defaults(call=_eval)


def _eval(config_path: Path, args: argparse.Namespace, console: Console) -> int:
    thresholds = {
        metric: value
        for metric in Metric
        if (value := getattr(args, f"min_{metric.value}")) is not None
    }
    return rule_tools.evaluate_rules(
        config_path,
        args.corpora,
        labels=args.labels,
        rules_dir=args.rules,
        default_tag=args.default_tag,
        thresholds=thresholds,
        as_json=args.json,
        misses=args.misses,
        console=console,
    )


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _add_schema(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "schema", parents=[common], help="print the JSON Schema of rule files (or list files)"
    )
    parser.add_argument("kind", nargs="?", choices=["rule", "list"], default="rule")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead")
    parser.set_defaults(
        call=lambda config_path, args, console: rule_tools.schema(
            args.kind, output=args.output, console=console
        )
    )


def _tags(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The --tag options given, or None to use the configured feed's tags."""
    return tuple(args.tags) if args.tags else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
