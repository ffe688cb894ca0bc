"""News meets lists: a news item naming a party an official list added in
the last 30 days carries that fact in its alert ("listed on the OFAC SDN
List on 2026-12-01 under RUSSIA-EO14024"). Pure: the recent additions and
the item in, notes out.

Names are matched as phrases with the rules' own multi-pattern index (one
pass over the item, whatever the number of names). A list writes a firm's
legal name ("SHENZHEN BRIGHTSTAR MICROELECTRONICS CO., LTD."); news writes
the name without its legal form, and a person's given name first. So each
name and alias is matched by its core: legal forms and bracketed parts
dropped, "LAST, First" turned round. A core must be distinctive enough to
name one party: two words at least, or one long word that is no common
word (a firm called "Orbit" would otherwise tag every item saying orbit),
and never a vessel's one word nor a short two-word personal name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from monitor.domain.item import Item
from monitor.domain.listing import LISTED_NOTE, EntityType, ListingEntry, RecordedListing
from monitor.rules.index import TermIndex
from monitor.rules.terms import Phrase
from monitor.rules.text import TEXT_FIELDS, Document
from monitor.text import fold_for_matching

MENTION_WINDOW = timedelta(days=30)
"""How long after its addition a listed party's name is noted in news alerts."""
MIN_SINGLE_WORD = 8
"""Letters a firm's one-word name needs to be matched alone."""
MIN_TWO_WORD_PERSON = 12
"""Letters a person's two-word name needs: "Li Wei" names thousands."""
MAX_NOTES = 3

_LEGAL_FORMS = frozenset(
    [
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "s",
        "a",
        "jsc",
        "ojsc",
        "pjsc",
        "cjsc",
        "ooo",
        "zao",
        "oao",
        "pte",
        "pvt",
        "bv",
        "nv",
        "srl",
        "spa",
        "fze",
        "fzco",
        "fz",
        "llp",
        "lp",
        "kg",
        "the",
        "sdn",
        "bhd",
        "tbk",
        "as",
        "ab",
        "oy",
    ]
)
_COMMON_WORDS = frozenset(
    [
        "russia",
        "russian",
        "china",
        "chinese",
        "global",
        "international",
        "trading",
        "trade",
        "group",
        "holding",
        "holdings",
        "company",
        "industry",
        "industries",
        "import",
        "export",
        "shipping",
        "logistics",
        "energy",
        "technology",
        "technologies",
        "network",
        "services",
        "general",
        "national",
        "united",
        "eastern",
        "western",
        "northern",
        "southern",
        "oriental",
        "pacific",
        "atlantic",
        "ocean",
        "capital",
        "finance",
    ]
)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def name_cores(entry: ListingEntry) -> tuple[str, ...]:
    """The folded phrases under which news may name the entry's party."""
    cores: dict[str, None] = {}
    individual = entry.entity_type == "individual"
    for name in (entry.name, *entry.aliases):
        for variant in _variants(name, individual=individual):
            words = list(fold_for_matching(variant).split())
            while words and words[-1] in _LEGAL_FORMS:
                words.pop()
            while words and words[0] == "the":
                words.pop(0)
            if _distinctive(words, entry.entity_type):
                cores[" ".join(words)] = None
    return tuple(cores)


def _variants(name: str, *, individual: bool) -> list[str]:
    plain = _BRACKETS.sub(" ", name)
    found = [plain] if plain == name else [plain, name]
    if individual and "," in name:
        last, _, first = plain.partition(",")
        found.append(f"{first} {last}")
    return found


def _distinctive(words: Sequence[str], entity_type: EntityType) -> bool:
    """Whether a name's core names one party. Vessels and aircraft are
    named by one word ("VICTORIA", "HARMONY") that news uses for much else;
    two common words ("Li Wei") name thousands of people."""
    if not words or all(word in _COMMON_WORDS or word in _LEGAL_FORMS for word in words):
        return False
    if entity_type == "individual":
        return len(words) >= 3 or (len(words) == 2 and sum(map(len, words)) >= MIN_TWO_WORD_PERSON)
    if len(words) >= 2:
        return True
    word = words[0]
    return (
        entity_type == "entity"
        and len(word) >= MIN_SINGLE_WORD
        and word not in _COMMON_WORDS
        and not word.isdigit()
    )


class ListedNames:
    """The parties added to any list within :data:`MENTION_WINDOW` of ``now``."""

    def __init__(self, additions: Iterable[RecordedListing], *, now: datetime) -> None:
        cutoff = (now - MENTION_WINDOW).date()
        self._index = TermIndex()
        self._listings: dict[int, list[RecordedListing]] = {}
        for listing in additions:
            if listing.change != "added" or (listing.on is not None and listing.on < cutoff):
                continue
            for core in name_cores(listing.entry):
                term = self._index.add(Phrase(tuple((word, False) for word in core.split())))
                self._listings.setdefault(term, []).append(listing)

    def __len__(self) -> int:
        return len(self._listings)

    def notes(self, item: Item) -> tuple[str, ...]:
        """What the lists say of the parties the item's title and summary name."""
        if not self._listings or item.listing is not None:
            return ()
        hits = self._index.scan(Document.of(item))
        found: dict[tuple[str, str], RecordedListing] = {}
        for term, term_hits in hits.items():
            if not any(hit[0] in TEXT_FIELDS for hit in term_hits):
                continue
            for listing in self._listings.get(term, ()):
                found.setdefault((listing.entry.source, listing.entry.key), listing)
        ordered = sorted(
            found.values(), key=lambda r: (r.on or date.min, r.entry.name), reverse=True
        )
        return tuple(_note(listing) for listing in ordered[:MAX_NOTES])


def _note(listing: RecordedListing) -> str:
    entry = listing.entry
    when = f" on {listing.on.isoformat()}" if listing.on else ""
    under = f" under {', '.join(entry.programs[:3])}" if entry.programs else ""
    return f"{entry.name}{LISTED_NOTE}{entry.list_name}{when}{under}"
