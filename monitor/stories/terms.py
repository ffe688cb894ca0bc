"""A headline and its lede read as weighted terms, as a desk reads them.

Words are folded (case, accents, plural and tense endings), function words
and boilerplate dropped ("says", "latest", "on Monday"), and tight synonym
classes merged ("firms"/"companies"/"entities"): one event in two wordings
shares its terms, but a capture is not a prisoner swap, nor a phone call a
state visit. A country is one term however named; a locality (a city, a
region) is a term of its own (:mod:`.places`), and so is any capitalised word
where a headline says where something happened ("in", "on", "near" ...).
Names (capitalised inside a sentence), figures ("42", "$1bn"), dates ("June
28") and ordinals ("13th package") weigh more than common words, which only
say what kind of event it is; the headline, which says what happened, weighs
twice the lede, whose background look-alike stories share.

Pure: text in, terms out.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.stories.events import event_kinds
from monitor.stories.places import (
    COUNTRY_BY_WORDS,
    LEADER_BY_WORDS,
    LOCALITY_BY_WORDS,
    LONGEST_PLACE,
)

TermClass = Literal["word", "implied", "place", "name", "locality", "figure", "ordinal"]
"""What a term is: a common word, the country a locality lies in, a country,
a name, a locality, a figure or date, an ordinal."""

_CLASS_WEIGHT: Mapping[TermClass, float] = {
    "word": 1.0,
    "implied": 0.5,
    "place": 1.0,
    "name": 2.0,
    "locality": 2.0,
    "figure": 2.0,
    "ordinal": 2.5,
}
_CLASS_RANK: Mapping[TermClass, int] = {kind: rank for rank, kind in enumerate(_CLASS_WEIGHT)}
_ENTITY_CLASSES = frozenset({"place", "name", "locality", "figure", "ordinal"})
_LEDE_WEIGHT = 0.5


def _words_in(text: str) -> list[str]:
    return text.split()


def _table(text: str) -> dict[str, tuple[str, ...]]:
    """Entries by line or semicolon: the key, then its spellings."""
    lines = re.sub(r"\n\s*\+", " ", text).splitlines()  # "+" continues the line before
    rows = (entry.split() for line in lines for entry in line.split(";"))
    return {row[0]: tuple(row) for row in rows if row}


def _stem(word: str) -> str:
    """Plural and tense endings off ("imposes", "imposed" -> "impos"), and a long
    word's final i/y, where transliterations differ (Zelensky, Zelenskiy)."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            if word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 5:
        word = word[:-1]
    if word.endswith("y") and len(word) > 4:
        word = word[:-1] + "i"
    trimmed = word.rstrip("iy")
    return trimmed if len(trimmed) >= 6 else word


STOP_WORDS = frozenset(
    _words_in(
        """a an the and or but of to in on at for from by with without as into onto over under about
    after before since until while amid amidst among against between during than then that this
    these those there here it its is are was were be been being has have had having do does did
    will would shall should can could may might must not no nor so such very more most less least
    much many some any all each every other another own same too just also only even still yet
    again further once both either neither who whom whose which what when where why how he she
    they them their his her him we us our you your i me my himself herself itself themselves
    says say said saying told tell tells report reports reported reporting according statement
    announced announces announce news latest breaking update updates live watch photos photo
    exclusive read new fresh additional set day days week weeks month months year years time times
    mr mrs ms dr via per up down out off near across around within upon toward towards like
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow tonight
    morning evening january february march april june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec
    reuters afp ap upi xinhua tass ria novosti interfax yonhap kyodo bloomberg wam"""
    )
)
_OFFICE_WORDS = frozenset(
    _words_in(
        """president minister ministry department secretary council government agency office
    spokesman spokeswoman spokesperson prime foreign defense defence state chief leader general
    official officials senior cabinet commission committee parliament house senate congress
    administration army forces military national international federal republic people chairman
    chair envoy envoys ambassador ambassadors
    oblast region regions province provinces district county city town village airport port
    border capital"""
    )
)
"""Capitalised in ledes as titles, institutions and kinds of place, but they name no one."""

_LOCATIVE = frozenset(_words_in("in into on at near over outside off around"))
"""A capitalised word after these says where: a locality, even in Title Case."""
_WAR = frozenset(_words_in("war invasion"))
_WAR_PLACE = frozenset(_words_in("in on of against"))

_SYNONYMS: Mapping[str, str] = {
    spelling: canonical
    for canonical, spellings in _table(
        """
        die dies died dead death deaths
        kill kills killed killing
        troop troops soldier soldiers personnel servicemen
        firm firms company companies entity entities business businesses enterprises
        sanction sanctions sanctioned sanctioning
        blacklist blacklists blacklisted blacklisting
        call calls phone telephone
        video videoconference virtual
        talk talks conversation conversations discuss discussed discusses chat chats spoke
        meet meets met meeting meetings
        capture captured captures caught
        prisoner prisoners pow pows
        exchange exchanges swap swaps
        quake earthquake earthquakes
        weapon weapons arms
        impose imposes imposed imposing slap slaps slapped
        plane planes jet jets aircraft airliner
        add adds added adding put puts designate designates designated
        target targets targeted targeting hit hits
        curb curbs restriction restrictions ban bans restrict restricts
        oppose opposes opposed condemn condemns condemned slam slams slammed criticize
        + criticizes criticized criticise criticises criticised denounce denounces denounced
        + protest protests protested
        adopt adopts adopted approve approves approved agree agrees agreed endorse endorses
        + endorsed
        visit visits visited trip arrive arrives arrived arrival
        war invasion conflict
        drone drones uav uavs
        missile missiles rocket rockets
        chip chips semiconductor semiconductors microelectronics
        fight fights fighting fought clash clashes clashed combat battle battles battling
        deploy deploys deployed deployment deployments dispatch dispatches dispatched
        defect defects defected defection defector defectors
        casualty casualties wounded injured losses
        package packages round rounds tranche
        vessel vessels tanker tankers
        supply supplies supplied supplying provide provides provided providing deliver delivers
        + delivered delivery deliveries transfer transfers transferred shipment shipments
        confirm confirms confirmed acknowledge acknowledges acknowledged admit admits admitted
        """
    ).items()
    for spelling in spellings
}
_COUNTS = _words_in("zero one two three four five six seven eight nine ten eleven twelve")
_TENS = _words_in("twenty thirty forty fifty dozen hundred")
_ROUND = zip(_TENS, (20, 30, 40, 50, 12, 100), strict=True)
_NUMBER_WORDS = {word: n for n, word in enumerate(_COUNTS) if n >= 2} | dict(_ROUND)
_VAGUE_COUNTS = {"dozens": (20.0, 99.0), "hundreds": (200.0, 999.0), "thousands": (2e3, 99e3)}
"""Counts told without a figure, and the figures they stand for."""
_ORDINALS = """zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh
    twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"""
# "first" and "second" mostly mean "for the first time", not a count.
_ORDINAL_WORDS = {word: n for n, word in enumerate(_words_in(_ORDINALS)) if n >= 3}
_MONTH_NAMES = _words_in("jan feb mar apr may jun jul aug sep oct nov dec")
_MONTHS = {month: n for n, month in enumerate(_MONTH_NAMES, 1)}
_SCALES = {"bn": 1e9, "billion": 1e9, "mn": 1e6, "million": 1e6, "trillion": 1e12}
_OFFICE_STEMS = frozenset(_stem(word) for word in _OFFICE_WORDS)
_KNOWN_WORDS = (
    STOP_WORDS | _OFFICE_WORDS | _SYNONYMS.keys() | _NUMBER_WORDS.keys() | _VAGUE_COUNTS.keys()
)

_COUNTRY_OF = {name: country for name, country in LOCALITY_BY_WORDS.values() if country} | {
    _stem(name): country for name, country in LEADER_BY_WORDS.values() if country
}
"""The country of each locality and leader term."""

_PUBLISHER_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")
_LABEL = re.compile(
    r"^\s*(?:\[[^\[\]]{0,40}\]\s*)?(?:(?:in )?(?:video|photos?|pictures|watch|live|exclusive|"
    r"breaking|update|analysis|explainer|opinion|factbox)\s*:\s*)?",
    re.IGNORECASE,
)
"""A label before the headline ("[News Today]", "VIDEO:"): how it is told, not what."""
_ASIDE = re.compile(r"\([^()]{0,80}\)|\[[^\[\]]{0,80}\]")
_DATELINE = re.compile(r"^\s*[A-Z][A-Za-z.'\- ]{1,30}(?:,[A-Za-z0-9 .,]{0,30})?\s*(?:--|[-–—:])\s+")
_ABBREVIATIONS = (
    (re.compile(r"\bU\.\s?S\.(?:A\.)?", re.IGNORECASE), "US"),
    (re.compile(r"\bU\.\s?K\.", re.IGNORECASE), "UK"),
    (re.compile(r"\bE\.\s?U\.", re.IGNORECASE), "EU"),
    (re.compile(r"\bN\.\s?Korea", re.IGNORECASE), "North Korea"),
    (re.compile(r"\bS\.\s?Korea", re.IGNORECASE), "South Korea"),
    (re.compile(r"\bSt\.\s", re.IGNORECASE), "St "),
)
_PHRASES = (
    (
        re.compile(
            r"\b(?:entity|export[- ]control|trade|export|sanctions?) (?:black)?list\b",
            re.IGNORECASE,
        ),
        "blacklist",
    ),
)
"""Names of one thing in several words, read as one word."""
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATE_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+{_DAY}\b", re.IGNORECASE)
_DATE_DAY_FIRST = re.compile(rf"\b{_DAY}[\s-]+{_MONTH}(?![a-z])", re.IGNORECASE)
_TOKEN = re.compile(
    r"\$?\d[\d,]*(?:\.\d+)?(?:-\d+)?(?:st|nd|rd|th)?(?:\s?(?:bn|billion|mn|million|trillion)\b)?"
    r"|[A-Za-z]+(?:'[A-Za-z]+)?|:"
)
_FIGURE = re.compile(
    r"\$?([\d,]*\d(?:\.\d+)?)(-\d+)?(st|nd|rd|th)?\s?(bn|billion|mn|million|trillion)?"
)
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Features:
    """What matching reads of one item."""

    terms: Mapping[str, float]
    """Each term with its weight."""
    norm: float
    """The length of the terms as a vector of weights."""
    mass: float
    """The sum of the terms' weights."""
    title_places: tuple[str, ...]
    """The countries the headline names, in order: the first leads it."""
    title_localities: frozenset[str]
    """The localities the headline names: where it happened."""
    entities: frozenset[str]
    """Its key entities: countries, names, localities, figures, dates, ordinals."""
    title_entities: frozenset[str]
    """The key entities its headline names."""
    ordinals: frozenset[str]
    counts: Mapping[str, tuple[float, float]]
    """The counts among the terms, each with the least and most it stands for."""
    countries: Mapping[str, str]
    """The localities and leaders among the terms, each with its country."""
    kinds: frozenset[str]
    """The kinds of event the headline tells (:mod:`.events`)."""
    shingles: frozenset[int]
    """Its word triples, hashed: a copy shares most of them."""


def analyse(title: str, summary: str) -> Features:
    """The features of a headline and its lede."""
    headline = _LABEL.sub("", _PUBLISHER_SUFFIX.sub("", title), count=1)
    lede = _DATELINE.sub("", _ASIDE.sub(" ", summary), count=1)
    in_lede = _terms(lede, sentence_case=True)
    common = frozenset(w.lower() for w in _WORDS.findall(lede) if w.islower())
    in_title = _terms(headline, sentence_case=_is_sentence_case(headline), common=common)
    classes: dict[str, TermClass] = {}
    for term, kind in (*in_title, *in_lede):
        if term not in classes or _CLASS_RANK[kind] > _CLASS_RANK[classes[term]]:
            classes[term] = kind
    title_terms = frozenset(term for term, kind in in_title if kind != "implied")
    terms = {
        term: _CLASS_WEIGHT[kind] * (1.0 if term in title_terms else _LEDE_WEIGHT)
        for term, kind in classes.items()
    }
    entities = frozenset(t for t, kind in classes.items() if kind in _ENTITY_CLASSES)
    return Features(
        terms=terms,
        norm=math.sqrt(sum(weight * weight for weight in terms.values())),
        mass=sum(terms.values()),
        title_places=tuple(dict.fromkeys(t for t, kind in in_title if kind == "place")),
        title_localities=frozenset(t for t, kind in in_title if kind == "locality"),
        entities=entities,
        title_entities=entities & title_terms,
        ordinals=frozenset(t for t, kind in classes.items() if kind == "ordinal"),
        counts={t: span for t in terms if (span := _count_span(t)) is not None},
        countries={t: _COUNTRY_OF[t] for t in terms if t in _COUNTRY_OF},
        kinds=event_kinds(_plain(headline).lower()),
        shingles=_shingles(f"{headline} {lede}"),
    )


def _count_span(term: str) -> tuple[float, float] | None:
    """The least and most a count term stands for; ``None`` if it is no count."""
    if not term.startswith("#"):
        return None
    if term[1:] in _VAGUE_COUNTS:
        return _VAGUE_COUNTS[term[1:]]
    try:
        value = float(term[1:])
    except ValueError:  # an ordinal or a model number
        return None
    return value, value


def _is_sentence_case(text: str) -> bool:
    """Whether capitals in ``text`` mark names: most words after the first are
    lower case. Title Case capitalises every word, so no sign of a name there.
    Places and acronyms are capitalised either way, so they are no evidence."""
    words = re.findall(r"[A-Za-z]+|:", _plain(text))
    evidence = [
        word
        for before, word in zip([":", *words], words, strict=False)
        if before != ":"
        and len(word) > 3
        and not word.isupper()
        and (word.lower(),) not in COUNTRY_BY_WORDS
        and (word.lower(),) not in LOCALITY_BY_WORDS
    ]
    return bool(evidence) and sum(w[0].isupper() for w in evidence) < len(evidence) / 2


def _terms(
    text: str, *, sentence_case: bool, common: frozenset[str] = frozenset()
) -> list[tuple[str, TermClass]]:
    """Terms of ``text``; ``common`` are words known to be common nouns here."""
    text = _plain(text)
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    found: list[tuple[str, TermClass]] = []
    for pattern, month_group, day_group in ((_DATE_MONTH_FIRST, 1, 2), (_DATE_DAY_FIRST, 2, 1)):
        for match in pattern.finditer(text):
            day = int(match.group(day_group))
            if 1 <= day <= 31:
                found.append((f"d{_MONTHS[match.group(month_group)[:3].lower()]}-{day}", "figure"))
        text = pattern.sub(" . ", text)
    tokens = _TOKEN.findall(text)
    lowered = [token.lower().removesuffix("'s") for token in tokens]
    position, sentence_start = 0, True
    while position < len(tokens):
        token, word = tokens[position], lowered[position]
        locative = position > 0 and lowered[position - 1] in _LOCATIVE
        places, width = _places_at(
            lowered, position, venue=locative, capitalised=token[0].isupper()
        )
        if places and tokens[position] != "us":  # the pronoun, not the country
            if _is_backdrop(lowered, position, width):
                places = [(term, "implied") for term, _ in places]
            found.extend(places)
            position, sentence_start = position + width, False
            continue
        if word == ":":
            position, sentence_start = position + 1, True
            continue
        if word[0].isdigit() or word[0] == "$":
            term = _figure(word)
        elif (
            locative
            and token[0].isupper()
            and len(word) > 3
            and word not in _KNOWN_WORDS
            and word not in common
            and (sentence_case or not token.isupper())
        ):
            term = _stem(word), "locality"
        else:
            named = sentence_case and not sentence_start and token[0].isupper()
            term = _word(word, named=named)
        if term:
            found.append(term)
        sentence_start = token.endswith(".")
        position += 1
    return found


def _is_backdrop(words: Sequence[str], position: int, width: int) -> bool:
    """A country named as the war behind the news ("war in Ukraine", "Ukraine
    war"): context every report of the desk shares, not who did what."""
    after = words[position + width] if position + width < len(words) else ""
    before = words[position - 2 : position]
    return after in _WAR or (len(before) == 2 and before[0] in _WAR and before[1] in _WAR_PLACE)


def _plain(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'")
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    return text


def _places_at(
    words: Sequence[str], position: int, *, venue: bool, capitalised: bool
) -> tuple[list[tuple[str, TermClass]], int]:
    """The terms of the longest place or leader named at ``position``: a
    country; or a locality or a leader with the country they stand in. A
    capital is its country ("Moscow says"), unless it is where something
    happened (``venue``: "strike on Kyiv"); a strike on a city and sanctions
    on its government read alike, and merging two strikes is the worse error."""
    for width in range(min(LONGEST_PLACE, len(words) - position), 0, -1):
        key = tuple(words[position : position + width])
        country, locality = COUNTRY_BY_WORDS.get(key), LOCALITY_BY_WORDS.get(key)
        if locality and (venue or not country):
            name, within = locality
            lies_in: list[tuple[str, TermClass]] = [(within, "implied")] if within else []
            return [(name, "locality"), *lies_in], width
        if country:
            return [(country, "place")], width
        leader = LEADER_BY_WORDS.get(key) if capitalised else None
        if leader:
            name, speaks_for = leader
            return [(_stem(name), "name"), (speaks_for or "", "implied")], width
    return [], 0


def _figure(word: str) -> tuple[str, TermClass] | None:
    match = _FIGURE.match(word)
    if not match:
        return None
    digits, code, ordinal, scale = match.groups()
    if code:  # a model or part number such as 737-800: one identifier
        return f"#{digits}{code}", "figure"
    value = float(digits.replace(",", ""))
    if ordinal:
        return f"#{int(value)}th", "ordinal"
    value *= _SCALES.get(scale or "", 1.0)
    if value.is_integer() and (1900 <= value <= 2100 or value < 3):
        return None  # a year dates the report, "1" or "2" count nothing in particular
    return f"#{value:g}", "figure"


def _word(word: str, *, named: bool) -> tuple[str, TermClass] | None:
    if word in _ORDINAL_WORDS:
        return f"#{_ORDINAL_WORDS[word]}th", "ordinal"
    if word in _NUMBER_WORDS:
        return f"#{_NUMBER_WORDS[word]}", "figure"
    if word in _VAGUE_COUNTS:
        return f"#{word}", "figure"
    if word in STOP_WORDS or len(word) < 2:
        return None
    if word in _SYNONYMS:
        return _SYNONYMS[word], "word"
    stem = _stem(word)
    return stem, "name" if named and stem not in _OFFICE_STEMS else "word"


def _shingles(text: str) -> frozenset[int]:
    words = _WORDS.findall(_plain(text).lower())
    return frozenset(zlib.crc32(" ".join(words[i : i + 3]).encode()) for i in range(len(words) - 2))
