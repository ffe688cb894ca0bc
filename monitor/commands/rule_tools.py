"""`monitor test`, `monitor eval` and `monitor schema`: tools for writing rules."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig, load_config
from monitor.pipeline.reload import load_rule_set
from monitor.rules.corpus import load_corpora
from monitor.rules.evaluate import Metric, evaluate, parse_label_options
from monitor.rules.load import load_rules
from monitor.rules.model import schema_json
from monitor.rules.testing import junit_xml, run_cases
from monitor.validation import did_you_mean


def run_rule_tests(
    loaded: LoadedConfig, rule_ids: Sequence[str], *, junit: Path | None, console: Console
) -> ExitCode:
    """Run the test cases the rule files carry (of ``rule_ids``, or all)."""
    rules = load_rule_set(loaded)
    unknown = [rule_id for rule_id in rule_ids if rules.by_id(rule_id) is None]
    if unknown:
        known = [rule.id for rule in rules.rules]
        for rule_id in unknown:
            console.warn(f"monitor test: no rule '{rule_id}'{did_you_mean(rule_id, known)}")
        return ExitCode.UNUSABLE
    results = run_cases(rules, rule_ids)
    failures = [r for r in results if not r.passed]
    for failure in failures:
        console.say(failure.describe() + "\n")
    untested = [r.id for r in rules.rules if (not rule_ids or r.id in rule_ids) and not r.cases]
    if untested:
        console.warn(f"rules without tests: {', '.join(untested)}")
    if junit:
        junit.write_bytes(junit_xml(results))
    tested = len({r.rule.id for r in results})
    console.say(
        f"rule tests: {len(results) - len(failures)} passed, {len(failures)} failed ({tested} rules)"
    )
    return ExitCode.PROBLEMS if failures else ExitCode.OK


def evaluate_rules(
    config_path: Path,
    corpora: Sequence[Path],
    *,
    labels: Sequence[str],
    rules_dir: Path | None,
    default_tag: str,
    thresholds: Mapping[Metric, float],
    as_json: bool,
    misses: bool,
    console: Console,
) -> ExitCode:
    """Precision, recall and F1 per rule against labelled corpora; PROBLEMS
    when a threshold is not met."""
    # Without rules_dir the config names the rules; with it no config is
    # needed, so a candidate pack is measured without touching config.toml.
    label_options = parse_label_options(labels)
    if rules_dir is not None:
        rules = load_rules(rules_dir, shown_dir=str(rules_dir))
    else:
        rules = load_rule_set(load_config(config_path))
    corpus = load_corpora(corpora, default_tag)
    report = evaluate(rules, corpus, label_options, thresholds)
    if as_json:
        console.say(json.dumps(report.as_json(mistakes=misses), indent=2, ensure_ascii=False))
    else:
        console.say("\n".join(report.lines(mistakes=misses)))
    below = len(report.shortfalls)
    console.warn(
        f"eval: {report.items} items, {len(report.scores)} "
        f"rule{'s' if len(report.scores) != 1 else ''}, "
        f"{below} threshold{'s' if below != 1 else ''} not met"
    )
    return ExitCode.OK if report.passed else ExitCode.PROBLEMS


def schema(kind: Literal["rule", "list"], *, output: Path | None, console: Console) -> ExitCode:
    """The JSON Schema of rule files or list files, to ``output`` or the console."""
    text = schema_json(kind)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        console.out.write(text)
    return ExitCode.OK
