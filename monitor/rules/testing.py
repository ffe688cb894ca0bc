"""Rule tests in the spirit of ``promtool test rules``: each rule carries
cases (an item and the expected outcome), and a failure shows the trace of
what matched and why. Pure: rules and cases in, results out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from monitor.domain.countries import country_name
from monitor.domain.item import Item
from monitor.domain.listing import ListingEntry, ListingEvent
from monitor.domain.listing_item import listing_item
from monitor.domain.severity import Severity
from monitor.rules.compile import ListingCase
from monitor.rules.compiled import Case, Rule
from monitor.rules.load import RuleSet

CASE_FEED = "rule-test"


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
        if isinstance(self.case, ListingCase):
            lines.append(f"  listing: {describe_listing(self.case)}")
        if self.case.note:
            lines.append(f"  note:    {self.case.note}")
        lines += ["  trace:", *(f"    {line}" for line in self.trace)]
        return "\n".join(lines)


def describe_listing(case: ListingCase) -> str:
    """The list's change a case stands for, in one line: "added to OFAC SDN
    List (entity; programs RUSSIA-EO14024; countries China)"."""
    preposition = {"added": "to", "removed": "from", "changed": "on"}[case.change]
    where = f" {preposition} {case.list_name}" if case.list_name else ""
    details: list[str] = [case.entity_type]
    if case.programs:
        details.append("programs " + ", ".join(case.programs))
    if case.countries:
        details.append("countries " + ", ".join(case.countries))
    return f"{case.change}{where} ({'; '.join(details)})"


def case_item(case: Case) -> Item:
    """The item a case describes: a news item, or with ``listing:`` the item
    a list source makes of the list's change."""
    if isinstance(case, ListingCase):
        return _listing_case_item(case)
    return Item(
        feed=CASE_FEED,
        feed_tags=case.tags,
        identity="test:case",
        guid=None,
        title=case.title,
        summary=case.summary,
        link=None,
        published=None,
        updated=None,
    )


def _listing_case_item(case: ListingCase) -> Item:
    entry = ListingEntry(
        list_name=case.list_name,
        source=CASE_FEED,
        key="case",
        name=case.title,
        aliases=(),
        entity_type=case.entity_type,
        programs=case.programs,
        # As a list source spells them, so a case may write "CN" or
        # "Hong Kong, China" as a list does.
        countries=tuple(name for c in case.countries if (name := country_name(c))),
        listed_on=None,
        remarks=case.summary,
        link=None,
    )
    event = ListingEvent(change=case.change, entry=entry, previous=None)
    return listing_item(event, feed=CASE_FEED, feed_tags=case.tags, publication="case")


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
