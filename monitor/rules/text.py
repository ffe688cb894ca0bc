"""An item's text as the matcher sees it: fields split into sentences and
folded tokens, with every token's position. Pure; built once per item and
shared by every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.domain.item import Item
from monitor.text import fold_for_matching, fold_letters

TEXT_FIELDS = ("title", "summary")
"""Fields split into sentences, where proximity and hedge cues apply."""
LISTING_FIELDS = ("change", "list", "program", "entity_type", "country")
"""Fields of an official list's change (:attr:`Item.listing`): values, not
prose, so they have no sentences; empty for every other item."""
FIELDS = ("title", "summary", "link", "feed", "tags", *LISTING_FIELDS)

VALUE_SEPARATOR = "|"
"""The token between two values of a multi-valued field. Terms fold to
letters and digits, so no word of a term equals it, and a phrase cannot run
from one value into the next: countries ["China", "Hong Kong"] do not hold
"china hong"."""
_NO_LISTING_TOKENS: dict[str, tuple[str, ...]] = dict.fromkeys(LISTING_FIELDS, ())
_NO_LISTING_RAW: dict[str, str] = dict.fromkeys(LISTING_FIELDS, "")

# Words after which a full stop does not end a sentence: initials ("N. Korea",
# "U.S."), titles and months.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "maj",
        "sgt",
        "capt",
        "adm",
        "rep",
        "sen",
        "gov",
        "pres",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "inc",
        "corp",
        "ltd",
        "co",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "approx",
        "est",
        "fig",
        "dept",
    ]
)
_BOUNDARY = re.compile(r"([.!?…;]+)([\"'”’)\]]*)\s+")
# Commas between digits ("1,000 troops") and colons in times do not break a
# clause. Every branch starts with a character of the leading class, which
# lets re skip ahead to candidates instead of trying each branch at every
# character; the lookbehinds then tell which branch the character was.
_CLAUSE_BREAK = re.compile(
    r"[,:;()\[\]–—\s]"
    r"(?:(?<=[,:])(?:(?<!\d[,:])(?!\d)|(?=\s))|(?<=[;()\[\]–—])|(?<=\s)-\s)"
)
_WORD_OR_DOT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def _last_word(text: str, start: int, end: int) -> str:
    """The word ending at ``end``: letters and dots, from its first letter
    ("N." of "N. Korea", "U.S."); empty if none ends there."""
    if end > start and text[end - 1] == "\n":  # as a regular expression's "$" would
        end -= 1
    first = end
    while first > start and text[first - 1] in _WORD_OR_DOT:
        first -= 1
    return text[first:end].lstrip(".")


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences without breaking "N. Korea" or "U.S. troops"."""
    sentences: list[str] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        if boundary.group(1) == ".":
            token = _last_word(text, start, boundary.start())
            if token and (
                len(token.replace(".", "")) == 1 or "." in token or token.lower() in _ABBREVIATIONS
            ):
                continue
        following = text[boundary.end() : boundary.end() + 1]
        if following and following.islower() and ";" not in boundary.group(1):
            continue
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


_CLAUSE_MARK = "\x00"
_SENTENCE_MARK = "\x01"
# Items never hold these control characters (feed text loses them in
# monitor.text); a hand-built item that does has them turned into another
# control character, which every pattern here treats just the same.
_MARKERS_AWAY = str.maketrans({_CLAUSE_MARK: "\x02", _SENTENCE_MARK: "\x02"})


def _without_markers(text: str) -> str:
    if _CLAUSE_MARK in text or _SENTENCE_MARK in text:
        return text.translate(_MARKERS_AWAY)
    return text


_WORD_OR_MARK = re.compile(r"[^\W_]+|[\x00\x01]")


@dataclass(frozen=True, slots=True)
class Sentence:
    field: str
    index: int
    """Position among all sentences of the item (title sentences come first)."""
    start: int
    """Index of the sentence's first token within its field."""
    end: int
    """Index one past its last token."""
    question: bool
    """The sentence ends with a question mark: a headline asking, not telling."""


@dataclass(frozen=True, slots=True)
class Document:
    tokens: dict[str, tuple[str, ...]]
    """Folded tokens of each field."""
    sentence_of: dict[str, tuple[int, ...]]
    """For text fields: the sentence index of each token."""
    clause_of: dict[str, tuple[int, ...]]
    """For text fields: a clause number for each token, unique across the
    item; clauses are parts of a sentence between commas, colons, dashes."""
    sentences: tuple[Sentence, ...]
    raw: dict[str, str]
    """Each field's plain text, for regular-expression terms."""

    @classmethod
    def of(cls, item: Item) -> Document:
        raw = {
            "title": item.title,
            "summary": item.summary,
            "link": item.link or "",
            "feed": item.feed,
            "tags": " ".join(item.feed_tags),
        }
        tokens: dict[str, tuple[str, ...]] = {}
        sentence_of: dict[str, tuple[int, ...]] = {}
        clause_of: dict[str, tuple[int, ...]] = {}
        sentences: list[Sentence] = []
        clause_count = 0
        for field in TEXT_FIELDS:
            field_tokens: list[str] = []
            owners: list[int] = []
            clauses: list[int] = []
            texts = split_sentences(_without_markers(raw[field]))
            # The field is folded and split into words in one pass, with its
            # sentence and clause breaks marked by characters no item text
            # holds (see _without_markers): folding works character by
            # character, so this gives the words that folding each clause
            # alone would, at a fraction of the calls.
            marked = _CLAUSE_BREAK.sub(_CLAUSE_MARK, _SENTENCE_MARK.join(texts))
            pieces = _WORD_OR_MARK.findall(fold_letters(marked))
            pieces.append(_SENTENCE_MARK)
            ordinal = 0
            first = 0
            clause_words = 0
            for piece in pieces:
                if piece == _CLAUSE_MARK:
                    if clause_words:
                        clause_count += 1
                        clause_words = 0
                elif piece == _SENTENCE_MARK:
                    if clause_words:
                        clause_count += 1
                        clause_words = 0
                    if len(field_tokens) > first:
                        sentences.append(
                            Sentence(
                                field=field,
                                index=len(sentences),
                                start=first,
                                end=len(field_tokens),
                                question=texts[ordinal].rstrip("\"'”’) ").endswith("?"),
                            )
                        )
                        owners.extend([len(sentences) - 1] * (len(field_tokens) - first))
                        first = len(field_tokens)
                    ordinal += 1
                else:
                    field_tokens.append(piece)
                    clauses.append(clause_count)
                    clause_words += 1
            tokens[field] = tuple(field_tokens)
            sentence_of[field] = tuple(owners)
            clause_of[field] = tuple(clauses)
        for field in ("link", "feed", "tags"):
            tokens[field] = tuple(fold_for_matching(raw[field]).split())
        if item.listing is None:
            tokens.update(_NO_LISTING_TOKENS)
            raw.update(_NO_LISTING_RAW)
        else:
            for field, values in listing_values(item).items():
                tokens[field] = _value_tokens(values)
                # One value per line: a regular expression's "." does not
                # cross from one value into the next.
                raw[field] = "\n".join(values)
        return cls(
            tokens=tokens,
            sentence_of=sentence_of,
            clause_of=clause_of,
            sentences=tuple(sentences),
            raw=raw,
        )

    def clause_at(self, field: str, position: int) -> int | None:
        owners = self.clause_of.get(field)
        return owners[position] if owners is not None else None

    def sentence_label(self, sentence: int) -> str:
        """How a sentence is named to people: "title sentence 1", "summary sentence 2"."""
        field = self.sentences[sentence].field
        first = next(s.index for s in self.sentences if s.field == field)
        return f"{field} sentence {sentence - first + 1}"

    def sentence_at(self, field: str, position: int) -> int | None:
        owners = self.sentence_of.get(field)
        return owners[position] if owners is not None else None


def listing_values(item: Item) -> dict[str, tuple[str, ...]]:
    """The values of each listing field of ``item``: one each for ``change``,
    ``list`` and ``entity_type``, any number of programmes and countries;
    none at all for an item that is no list's change."""
    event = item.listing
    if event is None:
        return dict.fromkeys(LISTING_FIELDS, ())
    entry = event.entry
    return {
        "change": (event.change,),
        "list": (entry.list_name,),
        "program": entry.programs,
        "entity_type": (entry.entity_type,),
        "country": entry.countries,
    }


def _value_tokens(values: tuple[str, ...]) -> tuple[str, ...]:
    """The folded words of each value, with :data:`VALUE_SEPARATOR` between values."""
    tokens: list[str] = []
    for value in values:
        words = fold_for_matching(value).split()
        if not words:
            continue
        if tokens:
            tokens.append(VALUE_SEPARATOR)
        tokens.extend(words)
    return tuple(tokens)
