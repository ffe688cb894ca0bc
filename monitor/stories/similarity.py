"""Whether two news items report the same real-world event, and which story an item joins.

Pure: titles, ledes and times in, scores and decisions out. No I/O, no clock.

An item contributes its headline and lede (:class:`StoryText`), read as a desk
reads them, for who did what to whom, where and how many (:mod:`.terms`):
folded words and synonym classes, countries however named, localities
(:mod:`.places`), names, figures, dates and ordinals, the headline weighing
twice the lede.

Two texts score the cosine of their weighted terms times the agreement of
their key entities (:func:`entity_agreement`): the share of each headline's
entities the other item names at all (the same kind of event with other
actors, places or numbers is another event; "dozens" names any figure from
20 to 99, a country its leaders and localities); a small fraction when the
headlines contradict each other: different ordinals ("16th" against "17th"
package), different counts ("adds 37 companies" against "adds 12"), places
the other item never names ("Explosion in Kharkiv" against "Explosion in
Odesa"), different kinds of event of one family (:mod:`.events`: a phone call
against a visit, a capture against an exchange, a plan against its delivery,
drones against missiles), or different leading countries neither item links
("UK sanctions ..." against "Japan sanctions ..."). Texts that share less
than two common words' worth of terms (a name or a figure counts double)
score nothing, unless that is all one of them says: in three-word headlines
one shared word is no evidence. A near-verbatim copy (republished wire copy:
most word triples of the shorter text in the other) scores 1, unless the
headlines contradict each other.

Reports of one event come close together. Texts further apart than the
window (a week: coverage, formal adoption after agreement, reactions) are
never one event; within it the score is discounted linearly with the time
between them, to half at the edge, so a look-alike days later needs closer
wording. An unknown time counts as beyond the edge: nothing says the two
came close together, so the words must carry it alone. (The monitor times
every item, by its published date or when it was first seen.)

:func:`best_story` clusters online: an item joins the story whose best
member scores highest, at or above :data:`SAME_EVENT_THRESHOLD`, else starts
a new story; the past is never re-clustered. A story's times are those of
its dated members, so an undated member never stretches it across months.
Merging two events hides one of them, which is worse than a second alert, so
the threshold leans towards splitting. Weighting terms by how few recent
stories use them was measured and not kept: no better at the precision the
desk needs, and it made a pair's score depend on the stories passed along.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.stories.events import kinds_differ
from monitor.stories.terms import Features, TermClass, analyse

__all__ = [
    "LEDE_CHARS",
    "SAME_EVENT_THRESHOLD",
    "STORY_WINDOW",
    "StoryText",
    "TermClass",
    "best_story",
    "entity_agreement",
    "same_event",
    "similarity",
    "story_score",
]

SAME_EVENT_THRESHOLD = 0.25
"""Lowest score at which two texts report the same event: the best F1 on dated
reports among the thresholds precise enough in every view of time
(bench/bench_stories.py)."""

STORY_WINDOW = timedelta(days=7)
"""How far apart two reports of one event may be (coverage, adoption, reactions)."""

LEDE_CHARS = 320
"""How much of a summary is read: the lede; later sentences are shared background."""

_ORDINAL_CONFLICT = 0.2
_PLACE_CONFLICT = 0.2
_KIND_CONFLICT = 0.2
_COUNT_CONFLICT = 0.3
_ACTOR_CONFLICT = 0.3
_MIN_SHARED_WEIGHT = 2.0
_COPY_CONTAINMENT = 0.5
_WINDOW_EDGE_DISCOUNT = 0.5
_UNKNOWN_TIME_FACTOR = 0.4  # below the edge's: no sign at all that the two came close together
_COPY_MIN_SHINGLES = 8  # a sentence: a short headline found in another lede is no copy


@dataclass(frozen=True, slots=True)
class StoryText:
    """What an item contributes to story matching: its headline, its lede and
    when it was published (timezone-aware; ``None`` if unknown). Build it
    with :meth:`of`.

    Only the texts and the time are kept and serialised; the terms are derived
    from them, so a stored text is read by the current rules when loaded.
    """

    title: str
    summary: str
    when: datetime | None
    _features: Features = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_features", analyse(self.title, self.summary))

    @classmethod
    def of(cls, title: str, summary: str, when: datetime | None) -> StoryText:
        """The text of an item: its title and the lede of its summary."""
        return cls(" ".join(title.split()), _lede(summary), when)

    @property
    def entities(self) -> frozenset[str]:
        """Its key entities as terms: countries, names, figures, dates, ordinals."""
        return self._features.entities

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "summary": self.summary,
            "when": self.when.isoformat() if self.when else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoryText:
        """The text :meth:`to_json` wrote; ``ValueError`` if ``data`` is not one."""
        title, summary, when = data.get("title"), data.get("summary"), data.get("when")
        if not isinstance(title, str) or not isinstance(summary, str):
            raise ValueError("a story text needs a title and a summary as text")
        if when is not None and not isinstance(when, str):
            raise ValueError("a story text's time is ISO 8601 text or null")
        return cls.of(title, summary, datetime.fromisoformat(when) if when else None)


def similarity(a: StoryText, b: StoryText) -> float:
    """How surely ``a`` and ``b`` report the same event, in [0, 1] (time aside)."""
    fa, fb = a._features, b._features
    if _is_copy(fa.shingles, fb.shingles):  # still another event if a template's ordinal differs
        return _conflicts(fa, fb)
    cosine, shared = _cosine(fa, fb)
    if shared < min(_MIN_SHARED_WEIGHT, fa.mass, fb.mass):  # one word in common is no evidence
        return 0.0
    return cosine * entity_agreement(a, b)


def entity_agreement(a: StoryText, b: StoryText) -> float:
    """How far the key entities of ``a`` and ``b`` agree, in [0, 1]: 1 when
    neither contradicts the other; lower for headline entities the other item
    never names, and far lower for other ordinals, counts, places, kinds of
    event or leading countries."""
    fa, fb = a._features, b._features
    return math.sqrt(_entity_coverage(fa, fb)) * _conflicts(fa, fb)


def _conflicts(a: Features, b: Features) -> float:
    """The product of the factors for each way the headlines contradict each other."""
    contradictions = (
        (bool(a.ordinals and b.ordinals and not a.ordinals & b.ordinals), _ORDINAL_CONFLICT),
        (_counts_differ(a, b), _COUNT_CONFLICT),
        (_places_differ(a, b), _PLACE_CONFLICT),
        (kinds_differ(a.kinds, b.kinds), _KIND_CONFLICT),
        (_actors_differ(a, b), _ACTOR_CONFLICT),
    )
    return math.prod(factor for contradicts, factor in contradictions if contradicts)


def same_event(a: StoryText, b: StoryText, *, window: timedelta = STORY_WINDOW) -> bool:
    """Whether ``a`` and ``b`` report the same event: within ``window`` of each
    other (when both times are known) and similar enough for the time between."""
    return story_score(a, [b], window=window) >= SAME_EVENT_THRESHOLD


def story_score(
    item: StoryText, story: Sequence[StoryText], *, window: timedelta = STORY_WINDOW
) -> float:
    """How surely ``item`` reports the event of ``story``, in [0, 1]: its best
    match among the members, discounted by the time between them; 0 when the
    story is outside the window."""
    if not story or not _within(item.when, story, window):
        return 0.0
    return max(
        similarity(item, member) * _time_factor(item.when, member.when, window) for member in story
    )


def best_story(
    item: StoryText,
    stories: Sequence[Sequence[StoryText]],
    *,
    window: timedelta = STORY_WINDOW,
) -> int | None:
    """The index in ``stories`` of the story ``item`` joins (the best scoring at
    or above :data:`SAME_EVENT_THRESHOLD`), or ``None`` for a new one.
    ``stories`` holds each candidate story's members' texts."""
    best: int | None = None
    best_score = SAME_EVENT_THRESHOLD
    for index, story in enumerate(stories):
        score = story_score(item, story, window=window)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = index, score
    return best


def _time_factor(a: datetime | None, b: datetime | None, window: timedelta) -> float:
    """Closer in time, less agreement needed; an unknown time counts as beyond the edge."""
    if a is None or b is None or not window:
        return _UNKNOWN_TIME_FACTOR
    return 1.0 - _WINDOW_EDGE_DISCOUNT * min(abs(a - b) / window, 1.0)


def _within(when: datetime | None, story: Iterable[StoryText], window: timedelta) -> bool:
    if when is None:
        return True
    times = [member.when for member in story if member.when is not None]
    return not times or any(abs(when - time) <= window for time in times)


def _cosine(a: Features, b: Features) -> tuple[float, float]:
    """The cosine of two items' weighted terms, and the weight they share."""
    theirs = b.terms
    shared = [(weight, theirs[term]) for term, weight in a.terms.items() if term in theirs]
    if not shared:
        return 0.0, 0.0
    dot = sum(mine * other for mine, other in shared)
    return dot / (a.norm * b.norm), sum(min(mine, other) for mine, other in shared)


def _is_copy(a: frozenset[int], b: frozenset[int]) -> bool:
    smaller = min(len(a), len(b))
    return smaller >= _COPY_MIN_SHINGLES and len(a & b) >= _COPY_CONTAINMENT * smaller


def _actors_differ(a: Features, b: Features) -> bool:
    """Headlines led by two countries, neither named by the other item: two actors."""
    if not a.title_places or not b.title_places:
        return False
    first_a, first_b = a.title_places[0], b.title_places[0]
    return first_a != first_b and first_a not in b.terms and first_b not in a.terms


def _counts_differ(a: Features, b: Features) -> bool:
    """Headlines that both count, each a number the other item never gives:
    two events ("adds 37 companies" against "adds 12 companies")."""
    counted_a = [t for t in a.title_entities if t in a.counts]
    counted_b = [t for t in b.title_entities if t in b.counts]
    if not counted_a or not counted_b:
        return False
    return not any(_count_named(a, t, b) for t in counted_a) and not any(
        _count_named(b, t, a) for t in counted_b
    )


def _places_differ(a: Features, b: Features) -> bool:
    """Headlines that say where, in places the other item never names: two places."""
    if not a.title_localities or not b.title_localities:
        return False
    return not a.title_localities & b.terms.keys() and not b.title_localities & a.terms.keys()


def _entity_coverage(a: Features, b: Features) -> float:
    """The smaller share of one headline's entities that the other item names
    (a count told as "dozens" names any figure from 20 to 99; a country names
    its leaders and localities)."""

    def share(mine: Features, other: Features) -> float:
        title = mine.title_entities
        if not title:
            return 1.0
        named = sum(
            term in other.terms
            or mine.countries.get(term) in other.terms
            or _count_named(mine, term, other)
            for term in title
        )
        return named / len(title)

    return min(share(a, b), share(b, a))


def _count_named(mine: Features, term: str, other: Features) -> bool:
    span = mine.counts.get(term)
    if span is None:
        return False
    low, high = span
    return any(low <= most and least <= high for least, most in other.counts.values())


def _lede(summary: str) -> str:
    text = " ".join(summary.split())
    if len(text) <= LEDE_CHARS:
        return text
    return text[:LEDE_CHARS].rsplit(" ", 1)[0]
