"""The rule file schema (validation at the edge; compiled rules are plain records).

A rule file holds one rule::

    id: dprk-troops-combat
    title: North Korean troops in combat against Ukraine
    severity: critical
    feed_tags: [news]          # optional: only items from feeds with one of these tags
    match:
      all:
        - any: [north korean, dprk, pyongyang]
        - any: [killed, fighting, combat]
      none: [korean war]

A condition is a mapping with any of ``all`` / ``any`` / ``none``; each lists
terms (strings) or nested conditions. Several keys in one mapping must all
hold.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from monitor.items import fold_for_matching
from monitor.validation import StrictModel

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def _scalar_term(value: object) -> object:
    """YAML turns unquoted 1950 into a number and yes/no into booleans."""
    if isinstance(value, bool):
        raise ValueError(
            f'YAML read this term as the boolean {str(value).lower()}; quote it, e.g. "no"'
        )
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        raise ValueError(
            "a list inside a condition needs a key: write '- any: [...]' or '- all: [...]'"
        )
    return value


def _has_word(term: str) -> str:
    if not fold_for_matching(term):
        raise ValueError(f"term {term!r} has no letters or digits, so it can never match")
    return term


Term = Annotated[
    str,
    BeforeValidator(_scalar_term),
    Field(min_length=1, max_length=200),
    AfterValidator(_has_word),
]


def _node_kind(value: object) -> str:
    return "condition" if isinstance(value, dict | ConditionSpec) else "term"


# Discriminated so that a bad entry is reported once, as a term or as a
# condition, instead of once for each branch of the union.
Node = Annotated[
    Annotated[Term, Tag("term")] | Annotated["ConditionSpec", Tag("condition")],
    Discriminator(_node_kind),
]


class ConditionSpec(StrictModel):
    all: tuple[Node, ...] | None = None
    any: tuple[Node, ...] | None = None
    none: tuple[Node, ...] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ConditionSpec:
        given = {
            k: v
            for k, v in (("all", self.all), ("any", self.any), ("none", self.none))
            if v is not None
        }
        if not given:
            raise ValueError("a condition needs at least one of 'all', 'any', 'none'")
        for key, children in given.items():
            if not children:
                raise ValueError(f"'{key}' is empty: list at least one term")
        return self


class RuleSpec(StrictModel):
    id: RuleId
    title: str = Field(min_length=1, max_length=150)
    severity: Severity
    description: str = ""
    feed_tags: tuple[str, ...] = ()
    match: ConditionSpec

    @model_validator(mode="after")
    def _positive_match(self) -> RuleSpec:
        if self.match.all is None and self.match.any is None:
            raise ValueError(
                "match has only 'none', so it would alert on almost every item; add 'all' or 'any'"
            )
        return self
