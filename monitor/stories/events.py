"""Kinds of event a headline tells, where two kinds cannot be one event.

Coverage of one subject comes as a series of look-alike events: leaders
speak by phone, then by video, then one visits the other; soldiers are
captured, then offered in an exchange; a government weighs a step, then
takes it, then another confirms it; drones are supplied, later missiles.
Their headlines share nearly every word but the one that says which of
these happened. Each family below lists such kinds; two headlines that both
tell a kind of one family, and no kind in common, tell two events.

In a family of stages, a headline tells one kind: the first listed whose
words it has ("ready to exchange captured soldiers" tells an exchange,
"video call" a video link, "plans to impose" a plan). In a family of
things, a headline tells every kind it names ("drones and missiles").

Pure: a lower-case headline in, its kinds out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_STAGES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "contact": (
        ("video", r"video\w*|virtual(?:ly)?|online|teleconference"),
        (
            "phone",
            r"(?:tele)?phone[sd]?|calls? with|(?:hold|holds|held|had|in) (?:a )?(?:phone )?call",
        ),
        (
            "in person",
            r"visit(?:s|ed|ing)?|arriv(?:es|ed|e|al|ing)|lands? in|trip to|tour of|"
            r"(?:meet|meets|met|meeting|talks|summit) in",
        ),
    ),
    "fate": (
        ("exchange", r"exchang\w*|swap\w*|hand(?:s|ed)? over|trade (?:for|them)"),
        ("capture", r"captur(?:e|es|ed|ing)|taken prisoner|caught"),
        ("casualties", r"kill(?:s|ed|ing)?|wounded|injured|casualt\w*|dead|deaths?|died|dies"),
    ),
    "stage": (
        (
            "intent",
            r"weigh(?:s|ing)?|consider(?:s|ing)?|mull(?:s|ed|ing)?|plan(?:s|ning)? to|"
            r"prepar(?:es|ing) to|possibl[ey]|could|eyes|poised to|propos(?:es|ed|al)",
        ),
        (
            "done",
            r"confirm\w*|admit(?:s|ted)?|acknowledg\w*|deliver\w*|ship(?:s|ped)?|sent|"
            r"suppli(?:es|ed)|receiv\w*|transferred|handed|adopt(?:s|ed)?|approv(?:e|es|ed)|"
            r"impos(?:e|es|ed)",
        ),
    ),
}
"""Families of stages: each kind with the words that tell it, first match wins."""

_THINGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "weapon": (
        ("drones", r"drones?|uavs?|shaheds?"),
        ("missiles", r"missiles?|ballistic|rockets?"),
        ("shells", r"shells?|artillery|ammunition|munitions"),
    ),
}
"""Families of things: each kind with the words that name it, all that match count."""


def _compiled(
    families: Mapping[str, tuple[tuple[str, str], ...]],
) -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    return {
        family: tuple(
            (f"{family}:{kind}", re.compile(rf"\b(?:{words})\b")) for kind, words in kinds
        )
        for family, kinds in families.items()
    }


_STAGE_PATTERNS = _compiled(_STAGES)
_THING_PATTERNS = _compiled(_THINGS)


def event_kinds(headline: str) -> frozenset[str]:
    """The kinds of event ``headline`` (lower case) tells, as "family:kind"."""
    found = set()
    for kinds in _STAGE_PATTERNS.values():
        found.update(next(([kind] for kind, words in kinds if words.search(headline)), []))
    for kinds in _THING_PATTERNS.values():
        found.update(kind for kind, words in kinds if words.search(headline))
    return frozenset(found)


def kinds_differ(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two headlines tell kinds of one family and none in common."""
    for family in {kind.partition(":")[0] for kind in a}:
        theirs = {kind for kind in b if kind.partition(":")[0] == family}
        if theirs and not theirs & a:
            return True
    return False
