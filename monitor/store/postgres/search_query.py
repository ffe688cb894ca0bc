"""The archive's search language (SQLite FTS5's, see
:data:`monitor.domain.archive.QUERY_HELP`) on PostgreSQL's text search.

Both sides are tokenized here, alike: :func:`document` makes an archived
item's ``tsvector`` and :func:`translate` a query's ``tsquery``, so that words
match as FTS5's ``unicode61 remove_diacritics 2`` tokenizer matches them
(letters and digits, case and accents folded), whatever PostgreSQL's own
parser would make of hosts, numbers or hyphens.

Each column of a document begins with a marker lexeme (:data:`COLUMN_START`):
a phrase never runs from the title into the summary (the marker stands
between them), and ``^word`` (the first word of a column) is the marker
followed by the word. The title's positions weigh ``A``, the summary's ``D``,
so that ``title:`` and ``summary:`` are weights.

FTS5 quirks kept: implicit AND binds tighter than NOT, which binds tighter
than AND, then OR; a parenthesised group is never joined to a neighbour
without an operator; a phrase with no words is dropped from a run of
phrases and matches nothing elsewhere. ``NEAR(...)`` groups are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitor.domain.archive import QUERY_HELP
from monitor.errors import SearchError
from monitor.text import fold_letters

Column = Literal["title", "summary"]
COLUMNS: frozenset[Column] = frozenset(("title", "summary"))
_WEIGHTS: dict[Column, str] = {"title": "A", "summary": "D"}

COLUMN_START = "^"
"""The lexeme at the start of each column (never a word: words are letters and digits)."""
WORD_CHARS = 500
"""A word's length at most: longer ones are cut, in documents and queries alike
(a lexeme is at most 2047 bytes)."""
_LAST_POSITION = 16383
"""PostgreSQL's highest position in a tsvector; later words share it."""
_POSITIONS_PER_WORD = 256
"""PostgreSQL keeps at most this many positions of one lexeme."""

_WORD = re.compile(r"[^\W_]+")
_SPACE = " \t\n\r\f\v"
_PUNCTUATION = "(){}:,+*-^"


def words(text: str) -> list[str]:
    """The words of ``text`` as search sees them: folded runs of letters and digits."""
    return [word[:WORD_CHARS] for word in _WORD.findall(fold_letters(text))]


def document(title: str, summary: str) -> str:
    """An archived item's ``tsvector``, as PostgreSQL reads it."""
    positions: dict[str, list[str]] = {}
    position = 0
    for column, text in (("title", title), ("summary", summary)):
        weight = "A" if column == "title" else ""
        for word in (COLUMN_START, *words(text)):
            position = min(position + 1, _LAST_POSITION)
            kept = positions.setdefault(word, [])
            if len(kept) < _POSITIONS_PER_WORD:
                kept.append(f"{position}{weight}")
    return " ".join(f"'{word}':{','.join(at)}" for word, at in positions.items())


@dataclass(frozen=True)
class Term:
    """One word of a phrase; ``prefix``: any word it begins."""

    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words in a row, in one column (the first of the column, if ``initial``)."""

    terms: tuple[Term, ...]
    initial: bool = False
    columns: frozenset[Column] = COLUMNS


@dataclass(frozen=True)
class Operation:
    """Two queries joined by AND, OR or NOT (the left without the right)."""

    operator: Literal["AND", "OR", "NOT"]
    left: Query
    right: Query


@dataclass(frozen=True)
class InColumns:
    """A query looked for in some columns only."""

    columns: frozenset[Column]
    query: Query


Query = Phrase | Operation | InColumns | None
"""A parsed query; None is a phrase without words (see the module's notes)."""


def translate(query: str) -> str | None:
    """The ``tsquery`` text of a search query; None when it can match
    nothing. SearchError says what is wrong with one that is not valid."""
    return _tsquery(parse(query), COLUMNS)


def parse(query: str) -> Query:
    """A search query's tree; SearchError if it is not valid."""
    parser = _Parser(query, _lex(query))
    tree = parser.expression()
    if parser.peek() is not None:
        raise parser.error()
    return tree


def invalid(query: str, problem: str) -> SearchError:
    """The error of a query that is not valid, ending with how to write one."""
    return SearchError(f"not a valid search query {query!r} ({problem}): {QUERY_HELP}")


@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "string", "keyword", "punctuation"]
    text: str


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(query):
        char = query[at]
        if char in _SPACE:
            at += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token("punctuation", char))
            at += 1
        elif char == '"':
            text, at = _string(query, at + 1)
            tokens.append(_Token("string", text))
        elif _bareword_char(char):
            end = at
            while end < len(query) and _bareword_char(query[end]):
                end += 1
            word = query[at:end]
            keyword = word in ("AND", "OR", "NOT") or (
                word == "NEAR" and query[end:].lstrip(_SPACE).startswith("(")
            )
            tokens.append(_Token("keyword" if keyword else "word", word))
            at = end
        else:
            raise invalid(query, f'syntax error near "{char}"')
    return tokens


def _string(query: str, at: int) -> tuple[str, int]:
    """A quoted string's text (``""`` is a quote) and where it ends."""
    text: list[str] = []
    while True:
        end = query.find('"', at)
        if end < 0:
            raise invalid(query, "unterminated string")
        text.append(query[at:end])
        if query.startswith('"', end + 1):
            text.append('"')
            at = end + 2
        else:
            return "".join(text), end + 1


def _bareword_char(char: str) -> bool:
    return not char.isascii() or char.isalnum() or char in "_\x1a"


class _Parser:
    """FTS5's grammar: OR over AND over NOT over runs of phrases."""

    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self._query = query
        self._tokens = tokens
        self._at = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        at = self._at + ahead
        return self._tokens[at] if at < len(self._tokens) else None

    def _is(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind in ("keyword", "punctuation") and token.text == text

    def _take(self, text: str) -> None:
        if not self._is(text):
            raise self.error()
        self._at += 1

    def error(self) -> SearchError:
        token = self.peek()
        near = "" if token is None else token.text
        return invalid(self._query, f'syntax error near "{near}"')

    def expression(self) -> Query:
        tree = self._conjunction()
        while self._is("OR"):
            self._at += 1
            tree = _join("OR", tree, self._conjunction())
        return tree

    def _conjunction(self) -> Query:
        tree = self._exclusion()
        while self._is("AND"):
            self._at += 1
            tree = _join("AND", tree, self._exclusion())
        return tree

    def _exclusion(self) -> Query:
        tree = self._unit()
        while self._is("NOT"):
            self._at += 1
            tree = _join("NOT", tree, self._unit())
        return tree

    def _unit(self) -> Query:
        if self._is("("):
            return self._group()
        columns = self._column_filter()
        if columns is not None and self._is("("):
            return InColumns(columns, self._group())
        tree = self._filtered_phrase(columns)
        # Phrases side by side are all required (FTS5's implicit AND).
        while self._starts_phrase():
            columns = self._column_filter()
            if self._is("("):
                raise self.error()
            tree = _join("AND", tree, self._filtered_phrase(columns), implicit=True)
        return tree

    def _group(self) -> Query:
        self._take("(")
        tree = self.expression()
        self._take(")")
        return tree

    def _starts_phrase(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        return token.kind in ("word", "string") or token.text in ("-", "{", "^", "NEAR")

    def _column_filter(self) -> frozenset[Column] | None:
        """The columns a ``[-]colspec :`` names, if one comes next."""
        exclude = self._is("-")
        if exclude:
            self._at += 1
        names: list[str] = []
        if self._is("{"):
            self._at += 1
            while (token := self.peek()) is not None and token.kind in ("word", "string"):
                names.append(token.text)
                self._at += 1
            self._take("}")
        elif (token := self.peek()) is not None and token.kind in ("word", "string"):
            if not (self._is(":", 1) or exclude):
                return None
            names.append(token.text)
            self._at += 1
        else:
            if exclude:
                raise self.error()
            return None
        if not names:
            raise invalid(self._query, 'syntax error near "}"')
        self._take(":")
        named = frozenset(self._column(name) for name in names)
        return COLUMNS - named if exclude else named

    def _column(self, name: str) -> Column:
        for column in COLUMNS:
            if column == name.lower():
                return column
        raise invalid(self._query, f"no such column: {name}")

    def _filtered_phrase(self, columns: frozenset[Column] | None) -> Query:
        if self._is("NEAR"):
            raise invalid(self._query, "NEAR groups are not supported by this store")
        initial = self._is("^")
        if initial:
            self._at += 1
        phrase = self._phrase()
        if phrase is None:
            return None
        found = Phrase(phrase, initial=initial)
        return found if columns is None else InColumns(columns, found)

    def _phrase(self) -> tuple[Term, ...] | None:
        """Words joined by ``+``, each with its prefix mark; None if none."""
        terms: list[Term] = []
        while True:
            token = self.peek()
            if token is None or token.kind not in ("word", "string"):
                raise self.error()
            self._at += 1
            found = [Term(word) for word in words(token.text)]
            if self._is("*"):
                self._at += 1
                if found:
                    found[-1] = Term(found[-1].word, prefix=True)
            terms += found
            if not self._is("+"):
                return tuple(terms) or None
            self._at += 1


def _join(
    operator: Literal["AND", "OR", "NOT"], left: Query, right: Query, *, implicit: bool = False
) -> Query:
    """Two queries joined. A phrase without words (None) is dropped from a
    run of phrases, and matches nothing once joined by an operator."""
    if implicit and (left is None or right is None):
        return right if left is None else left
    if operator == "OR" and (left is None or right is None):
        return right if left is None else left
    if left is None or (operator == "AND" and right is None):
        return None
    if right is None:
        return left  # NOT nothing
    return Operation(operator, left, right)


def _lexeme(term: Term, weight: str) -> str:
    """A term as tsquery text: quoted (words are letters and digits), with its marks."""
    marks = ("*" if term.prefix else "") + weight
    return f"'{term.word}':{marks}" if marks else f"'{term.word}'"


def _tsquery(tree: Query, columns: frozenset[Column]) -> str | None:
    """``tree`` as tsquery text within ``columns``; None when it matches nothing."""
    if tree is None or not columns:
        return None
    if isinstance(tree, InColumns):
        return _tsquery(tree.query, columns & tree.columns)
    if isinstance(tree, Phrase):
        weight = "" if columns == COLUMNS else "".join(_WEIGHTS[c] for c in sorted(columns))
        terms = ((Term(COLUMN_START),) if tree.initial else ()) + tree.terms
        return f"({' <-> '.join(_lexeme(term, weight) for term in terms)})"
    left = _tsquery(tree.left, columns)
    right = _tsquery(tree.right, columns)
    if tree.operator == "OR":
        return right if left is None else left if right is None else f"({left} | {right})"
    if left is None or right is None:
        return left if tree.operator == "NOT" else None
    return f"({left} & {right})" if tree.operator == "AND" else f"({left} & !{right})"
