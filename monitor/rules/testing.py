"""Rule tests in the spirit of ``promtool test rules``: each rule carries
cases (an item and the expected outcome), and a failure shows the trace of
what matched and why. Pure: rules and cases in, results out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.rules.compiled import Case, Rule
from monitor.rules.load import RuleSet


@dataclass(frozen=True)
class CaseResult:
    rule: Rule
    case: Case
    got: Severity | None
    trace: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.got == self.case.expect

    @property
    def label(self) -> str:
        return f"{self.rule.source}:{self.case.line}" if self.case.line else self.rule.source

    def describe(self) -> str:
        expected = self.case.expect.value if self.case.expect else "no alert"
        got = self.got.value if self.got else "no alert"
        lines = [
            f"FAIL {self.rule.id} ({self.label}): expected {expected}, got {got}",
            f"  title:   {self.case.title}",
        ]
        if self.case.summary:
            lines.append(f"  summary: {self.case.summary}")
        if self.case.note:
            lines.append(f"  note:    {self.case.note}")
        lines += ["  trace:", *(f"    {line}" for line in self.trace)]
        return "\n".join(lines)


def case_item(case: Case) -> Item:
    return Item(
        feed="rule-test",
        feed_tags=case.tags,
        identity="test:case",
        guid=None,
        title=case.title,
        summary=case.summary,
        link=None,
        published=None,
        updated=None,
    )


def run_cases(rules: RuleSet, rule_ids: Sequence[str] = ()) -> list[CaseResult]:
    """Run the cases of the named rules (all rules when none is named).

    Each case is judged on its own rule only: another rule matching the same
    item is not a failure.
    """
    selected = [r for r in rules.rules if not rule_ids or r.id in rule_ids]
    results = []
    for rule in selected:
        for case in rule.cases:
            item = case_item(case)
            # Judged through the same path as production (candidate pruning,
            # supersedes), so a rule that never fires live cannot pass here.
            found = next((m for m in rules.match(item) if m.rule.id == rule.id), None)
            _, trace = rules.matcher.explain(item, [rule])[rule.id]
            superseding = [
                m.rule.id for m in rules.matcher.match_all(item) if rule.id in m.rule.supersedes
            ]
            if superseding:
                trace = [*trace, f"superseded by {', '.join(superseding)} for this item"]
            results.append(CaseResult(rule, case, found.severity if found else None, tuple(trace)))
    return results


def junit_xml(results: Sequence[CaseResult]) -> bytes:
    """A JUnit report: one test suite per rule, one test case per case."""
    root = ET.Element("testsuites", name="monitor rule tests")
    by_rule: dict[str, list[CaseResult]] = {}
    for result in results:
        by_rule.setdefault(result.rule.id, []).append(result)
    for rule_id, rule_results in by_rule.items():
        failures = sum(not r.passed for r in rule_results)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=rule_id,
            tests=str(len(rule_results)),
            failures=str(failures),
            file=rule_results[0].rule.source,
        )
        for result in rule_results:
            expected = result.case.expect.value if result.case.expect else "none"
            case = ET.SubElement(
                suite,
                "testcase",
                classname=rule_id,
                name=f"{expected}: {result.case.title}",
                file=result.rule.source,
                line=str(result.case.line or 0),
            )
            if not result.passed:
                got = result.got.value if result.got else "none"
                failure = ET.SubElement(case, "failure", message=f"expected {expected}, got {got}")
                failure.text = result.describe()
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(not r.passed for r in results)))
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
