"""An item's text as the matcher sees it: fields split into sentences and
folded tokens, with every token's position. Pure; built once per item and
shared by every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.items import Item, fold_for_matching

FIELDS = ("title", "summary", "link", "feed", "tags")
TEXT_FIELDS = ("title", "summary")
"""Fields split into sentences, where proximity and hedge cues apply."""

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
# Commas between digits ("1,000 troops") and colons in times do not break a clause.
_CLAUSE_BREAK = re.compile(r"(?<!\d)[,:](?!\d)|[,:](?=\s)|[;()\[\]–—]|\s-\s")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences without breaking "N. Korea" or "U.S. troops"."""
    sentences: list[str] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        before = text[start : boundary.start()]
        word = _LAST_WORD.search(before)
        if boundary.group(1) == "." and word:
            token = word.group(1)
            if len(token.replace(".", "")) == 1 or "." in token or token.lower() in _ABBREVIATIONS:
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
            for text in split_sentences(raw[field]):
                words = []
                for clause in _CLAUSE_BREAK.split(text):
                    clause_words = fold_for_matching(clause).split()
                    if clause_words:
                        words.extend(clause_words)
                        clauses.extend([clause_count] * len(clause_words))
                        clause_count += 1
                if not words:
                    continue
                sentences.append(
                    Sentence(
                        field=field,
                        index=len(sentences),
                        start=len(field_tokens),
                        end=len(field_tokens) + len(words),
                        question=text.rstrip("\"'”’) ").endswith("?"),
                    )
                )
                owners.extend([len(sentences) - 1] * len(words))
                field_tokens.extend(words)
            tokens[field] = tuple(field_tokens)
            sentence_of[field] = tuple(owners)
            clause_of[field] = tuple(clauses)
        for field in ("link", "feed", "tags"):
            tokens[field] = tuple(fold_for_matching(raw[field]).split())
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

    def sentence_at(self, field: str, position: int) -> int | None:
        owners = self.sentence_of.get(field)
        return owners[position] if owners is not None else None
