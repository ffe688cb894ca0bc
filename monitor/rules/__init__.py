"""Rules: the YAML schema, loading with file:line errors, and the pure matcher."""

from monitor.rules.load import RuleSet, load_rules
from monitor.rules.match import Match, Rule
from monitor.rules.model import Severity

__all__ = ["Match", "Rule", "RuleSet", "Severity", "load_rules"]
