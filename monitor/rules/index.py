"""The shared term index: every term of every rule, found in a document in one pass.

An item is scanned once, token by token, against the index (a hash lookup
per token, whatever the number of rules). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from monitor.rules.terms import Regex, TermPattern, compile_regex
from monitor.rules.text import FIELDS, Document

Hit = tuple[str, int, int]
"""(field, first token, last token); a regular expression's hit has no tokens (-1, -1)."""

_Phrase = tuple[int, tuple[tuple[str, bool], ...]]
_PhrasesByWord = dict[str, tuple[_Phrase, ...]]
_Candidates = tuple[tuple[int, ...], _PhrasesByWord, tuple[tuple[int, _PhrasesByWord], ...]]
"""Terms found wherever the token is (single words and stems); phrases by
their second word; phrases whose second word is a stem, by stem length and
stem."""
_NO_CANDIDATES: _Candidates = ((), {}, ())
CANDIDATE_CACHE_TOKENS = 200_000


class TermIndex:
    """All terms of all rules; finds every term in a document in one pass."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.patterns: list[TermPattern] = []
        self._single: dict[str, list[int]] = {}
        self._first_word: dict[str, list[tuple[int, tuple[tuple[str, bool], ...]]]] = {}
        self._first_stem: dict[int, dict[str, list[tuple[int, tuple[tuple[str, bool], ...]]]]] = {}
        self._regexes: list[tuple[int, Any]] = []
        self._candidates: dict[str, _Candidates] = {}

    def add(self, pattern: TermPattern) -> int:
        """The term's id, adding it if the index does not hold it yet."""
        key = pattern.key
        existing = self._ids.get(key)
        if existing is not None:
            return existing
        term_id = len(self.patterns)
        self._ids[key] = term_id
        self.patterns.append(pattern)
        if isinstance(pattern, Regex):
            self._regexes.append((term_id, compile_regex(pattern.pattern)))
            return term_id
        self._candidates.clear()
        first, prefix = pattern.words[0]
        if len(pattern.words) == 1 and not prefix:
            self._single.setdefault(first, []).append(term_id)
        elif prefix:
            self._first_stem.setdefault(len(first), {}).setdefault(first, []).append(
                (term_id, pattern.words)
            )
        else:
            self._first_word.setdefault(first, []).append((term_id, pattern.words))
        return term_id

    def _candidates_of(self, token: str) -> _Candidates:
        """The terms that can start at a token: looked up once per distinct
        token, not once per occurrence (a wildcard table per stem length
        would otherwise be probed at every word of every item).

        Phrases are filed under their second word where it is a whole word:
        dozens start with "to" or "in" ("to russia", "in kursk"), and the word
        after each "to" picks the few worth checking.
        """
        phrases = list(self._first_word.get(token, ()))
        for length, table in self._first_stem.items():
            if len(token) >= length:
                phrases.extend(table.get(token[:length], ()))
        single = list(self._single.get(token, ()))
        by_second: dict[str, list[_Phrase]] = {}
        by_second_stem: dict[int, dict[str, list[_Phrase]]] = {}
        for phrase in phrases:
            words = phrase[1]
            if len(words) == 1:  # a stem, and the token starts with it: found here
                single.append(phrase[0])
            elif words[1][1]:
                second = words[1][0]
                by_second_stem.setdefault(len(second), {}).setdefault(second, []).append(phrase)
            else:
                by_second.setdefault(words[1][0], []).append(phrase)
        found = (
            (
                tuple(single),
                {word: tuple(p) for word, p in by_second.items()},
                tuple(
                    (length, {stem: tuple(p) for stem, p in table.items()})
                    for length, table in by_second_stem.items()
                ),
            )
            if single or phrases
            else _NO_CANDIDATES
        )
        if len(self._candidates) >= CANDIDATE_CACHE_TOKENS:
            self._candidates.clear()  # a long-running monitor meets an unbounded vocabulary
        self._candidates[token] = found
        return found

    def scan(self, document: Document) -> dict[int, list[Hit]]:
        """Every hit of every indexed term in the document, by term id."""
        hits: dict[int, list[Hit]] = defaultdict(list)
        cache = self._candidates
        for name in FIELDS:
            tokens = document.tokens[name]
            last = len(tokens) - 1
            sentences = document.sentence_of.get(name)
            for position, token in enumerate(tokens):
                candidates = cache.get(token)
                if candidates is None:
                    candidates = self._candidates_of(token)
                if candidates is _NO_CANDIDATES:
                    continue
                single, by_second, by_second_stem = candidates
                for term_id in single:
                    hits[term_id].append((name, position, position))
                if position == last:
                    continue
                following = tokens[position + 1]
                for term_id, words in by_second.get(following, ()):
                    end = _phrase_end(tokens, position, words, sentences)
                    if end is not None:
                        hits[term_id].append((name, position, end))
                for length, table in by_second_stem:
                    for term_id, words in table.get(following[:length], ()):
                        end = _phrase_end(tokens, position, words, sentences)
                        if end is not None:
                            hits[term_id].append((name, position, end))
            raw = document.raw[name]
            if raw and self._regexes:
                # Searched as UTF-8 bytes, encoded once: given str, the re2
                # wrapper encodes the whole text again for every pattern.
                encoded = raw.encode()
                for term_id, regex in self._regexes:
                    if regex.search(encoded):
                        hits[term_id].append((name, -1, -1))
        return hits

    def __len__(self) -> int:
        return len(self.patterns)


def _phrase_end(
    tokens: tuple[str, ...],
    start: int,
    words: tuple[tuple[str, bool], ...],
    sentences: tuple[int, ...] | None,
) -> int | None:
    """Where the phrase ends if it starts at ``start``; it may not span sentences."""
    last = start + len(words) - 1
    if last >= len(tokens) or (sentences is not None and sentences[start] != sentences[last]):
        return None
    for offset, (word, prefix) in enumerate(words):
        token = tokens[start + offset]
        if not (token.startswith(word) if prefix else token == word):
            return None
    return start + len(words) - 1
