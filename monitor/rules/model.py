"""The rule file schema: validation at the edge. Compiled rules are plain
records (:mod:`monitor.rules.compile`); the format is documented in
rules/README.md and exported as JSON Schema by ``monitor schema``.

A node in a condition is a term (a string), a condition (a mapping with
``all`` / ``any`` / ``none``) or a proximity test (a mapping with ``near``).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)

from monitor.domain.listing import EntityType, ListingChange
from monitor.domain.severity import Severity
from monitor.rules.terms import is_list_reference, list_name, parse_term
from monitor.validation import StrictModel

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
ListName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
FieldName = Literal[
    "title",
    "summary",
    "link",
    "feed",
    "tags",
    # An official list's change (see monitor.rules.text.LISTING_FIELDS):
    # empty for any other item.
    "change",
    "list",
    "program",
    "entity_type",
    "country",
]


def _scalar_term(value: object) -> object:
    """YAML turns unquoted 1950 into a number (see yamlsource) and yes/no into booleans."""
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


def _valid_term(text: str) -> str:
    if is_list_reference(text):
        if not list_name(text):
            raise ValueError(f"{text!r}: name the list or selection after '$', as in '$dprk'")
        return text
    parse_term(text)
    return text


Term = Annotated[
    str,
    BeforeValidator(_scalar_term),
    Field(min_length=1, max_length=500),
    AfterValidator(_valid_term),
    # Editors read YAML 1.2, to which unquoted 1950, 0755 or 12.50 are
    # numbers; the monitor takes them as written, so the schema must too.
    WithJsonSchema(
        {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 500}, {"type": "number"}]}
    ),
]


def _node_kind(value: object) -> str:
    if isinstance(value, dict):
        return "near" if "near" in value else "condition"
    if isinstance(value, ConditionSpec):
        return "condition"
    if isinstance(value, NearSpec):
        return "near"
    return "term"


# Discriminated so that a bad entry is reported once, as what it looks like,
# instead of once for each branch of the union.
Node = Annotated[
    Annotated[Term, Tag("term")]
    | Annotated["ConditionSpec", Tag("condition")]
    | Annotated["NearSpec", Tag("near")],
    Discriminator(_node_kind),
]


def _group(value: object) -> object:
    return [value] if isinstance(value, str) else value


TermGroup = Annotated[tuple[Term, ...], BeforeValidator(_group), Field(min_length=1)]


class NearSpec(StrictModel):
    """Terms of every group within ``within`` words of each other, in one sentence."""

    near: tuple[TermGroup, ...] = Field(min_length=2, max_length=4)
    within: int = Field(default=5, ge=0, le=50)
    ordered: bool = False
    """The groups must appear in the order given: who acts on whom."""
    fields: tuple[Literal["title", "summary"], ...] | None = None


class ConditionSpec(StrictModel):
    all: tuple[Node, ...] | None = None
    any: tuple[Node, ...] | None = None
    none: tuple[Node, ...] | None = None
    fields: tuple[FieldName, ...] | None = None
    """Where the terms below are looked for (default: title and summary)."""
    scope: Literal["item", "sentence"] = "item"
    """sentence: everything below must hold within one sentence, in any order
    ("who acts, on whom, with what" said together, not spread over the item)."""

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


# A named selection is a condition or, for one proximity test, the test alone.
Selection = Annotated[
    Annotated["ConditionSpec", Tag("condition")] | Annotated[NearSpec, Tag("near")],
    Discriminator(_node_kind),
]


class GuardSpec(StrictModel):
    """Hedge and negation guard: cue words near the matched statement."""

    name: str = ""
    cues: tuple[Term, ...] = Field(min_length=1)
    action: Literal["skip", "lower", "keep"]
    """skip: no alert; lower: a lower severity; keep: stop here, alert as is
    (to shield wording that states a fact from the guards after it)."""
    to: Severity | None = None
    """With action 'lower': the severity to use (default: one step lower)."""
    window: int = Field(default=8, ge=1, le=50)
    clause: bool = True
    """Only cues in the same clause as the matched words count: in "US
    sanctions Chinese firms, Beijing vows response" the cue is in another."""
    questions: bool = False
    """A matched statement that is a question ("Will Seoul send arms?") counts as hedged."""
    anchors: Literal["matched", "near"] = "matched"
    """matched: cues count near any word that made the rule hold; near: only
    near the words of its 'near' tests (who does what), when one holds, not
    near terms the rule merely requires somewhere ("warns Moscow of more
    losses" says nothing of the troops killed)."""

    matched_cues: Literal["count", "ignore"] = "count"
    """count: a cue counts even when it is one of the words the rule matched
    on (rules that match "weighs" or "rules out" on purpose and let a guard
    judge them); ignore: such a cue is part of the statement, not a hedge of
    it ("China urges the EU to stop listing Chinese firms" is a protest)."""

    @model_validator(mode="after")
    def _to_needs_lower(self) -> GuardSpec:
        if self.to is not None and self.action != "lower":
            raise ValueError("'to' only goes with action: lower")
        return self


class TierSpec(StrictModel):
    severity: Severity
    when: ConditionSpec


class ListingCaseSpec(StrictModel):
    """The official list's change a rule test's item is made from: the
    case's title is the entity's name, its summary the list's remarks."""

    change: ListingChange
    list: str = ""
    """The list's name, as a list feed names it ("OFAC SDN List")."""
    programs: tuple[str, ...] = ()
    entity_type: EntityType = "entity"
    countries: tuple[str, ...] = ()
    """Countries as lists write them; spelt the way rules see them
    (monitor.domain.countries), as a list source would."""


class CaseSpec(StrictModel):
    """A rule test: an item and the outcome the rule must produce for it."""

    title: str = Field(min_length=1)
    summary: str = ""
    tags: tuple[str, ...] | None = None
    """Feed tags of the item (default: the rule's feed_tags)."""
    listing: ListingCaseSpec | None = None
    """For an item made from an official list's change rather than a news item."""
    expect: Severity | Literal["none"]
    note: str = ""


class EscalateSpec(StrictModel):
    """Corroboration that raises a story of this rule: at ``sources``
    independent sources, or once an official source tells it."""

    to: Severity
    sources: int | None = Field(default=None, ge=2, le=50)
    official: bool = False

    @model_validator(mode="after")
    def _some_trigger(self) -> EscalateSpec:
        if self.sources is None and not self.official:
            raise ValueError("escalate needs 'sources' (a count) or 'official: true'")
        return self


class RuleSpec(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, title="Watch-desk monitor rule")

    id: RuleId
    title: str = Field(min_length=1, max_length=150)
    severity: Severity
    description: str = ""
    feed_tags: tuple[str, ...] = ()
    selections: dict[ListName, Selection] = Field(default_factory=dict)
    """Named conditions of this rule, used in match, tiers and other
    selections as $name, like a list (a name may not be both)."""
    match: ConditionSpec
    tiers: tuple[TierSpec, ...] = ()
    """Checked in order; the first whose 'when' holds sets the severity."""
    guards: tuple[GuardSpec, ...] = ()
    """Checked in order; the first that fires skips the item or lowers the severity."""
    supersedes: tuple[RuleId, ...] = ()
    """Rules whose alert this rule's alert replaces when both match one item
    (combat supersedes deployment: one message, not two)."""
    escalate: EscalateSpec | None = None
    """Raise a story's severity once corroborated (see rules/README.md,
    Stories); a story already at that severity or above is left as it is."""
    tests: tuple[CaseSpec, ...] = ()

    @model_validator(mode="after")
    def _positive_match(self) -> RuleSpec:
        if self.match.all is None and self.match.any is None:
            raise ValueError(
                "match has only 'none', so it would alert on almost every item; add 'all' or 'any'"
            )
        return self


class ListSpec(StrictModel):
    """A named term list (rules/lists/NAME.yaml), used in rules as $NAME."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Watch-desk monitor term list")

    description: str = ""
    terms: tuple[Term, ...] = Field(min_length=1)


def schema_json(kind: str = "rule") -> str:
    """The JSON Schema of rule files or list files, for editors (yaml-language-server)."""
    model: type[StrictModel] = RuleSpec if kind == "rule" else ListSpec
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
