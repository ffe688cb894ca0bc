"""Terms as rule files write them, parsed: phrases with optional trailing
wildcards, references to named lists, and regular expressions (RE2, so that
no pattern an operator writes can backtrack catastrophically)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2

from monitor.text import fold_for_matching

LIST_PREFIX = "$"
REGEX_PREFIX = "re:"
MIN_WILDCARD_STEM = 3
_FOLDED_WORDS = re.compile(r"[a-z0-9]+\*?(?: [a-z0-9]+\*?)*")
"""A term already written as it folds: the parse of most terms of a long list."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """Folded words; a word marked as prefix matches any word starting with it."""

    words: tuple[tuple[str, bool], ...]

    @property
    def key(self) -> str:
        return " ".join(w + ("*" if prefix else "") for w, prefix in self.words)


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str

    @property
    def key(self) -> str:
        return REGEX_PREFIX + self.pattern


TermPattern = Phrase | Regex


def is_list_reference(text: str) -> bool:
    return text.startswith(LIST_PREFIX)


def list_name(text: str) -> str:
    return text[len(LIST_PREFIX) :].strip()


def parse_term(text: str) -> TermPattern:
    """Parse one term; raise ValueError with a message an operator can act on."""
    stripped = text.strip()
    if _FOLDED_WORDS.fullmatch(stripped):
        plain = tuple(
            (word[:-1], True) if word.endswith("*") else (word, False)
            for word in stripped.split(" ")
        )
        if all(len(word) >= MIN_WILDCARD_STEM for word, prefix in plain if prefix):
            return Phrase(plain)
    if stripped.startswith(REGEX_PREFIX):
        pattern = stripped[len(REGEX_PREFIX) :].strip()
        if compile_regex(pattern).search("") is not None:
            raise ValueError(
                f"regular expression {pattern!r} matches the empty text, so it would match every item"
            )
        return Regex(pattern)
    if len(stripped) > 2 and stripped.startswith("/") and stripped.rstrip("imsx").endswith("/"):
        raise ValueError(
            f"term {text!r} looks like a regular expression but would be matched as words; "
            f"write it as 're: {stripped.strip('/').rstrip('/imsx')}' (always case-insensitive)"
        )
    words: list[tuple[str, bool]] = []
    for raw in stripped.split():
        if "*" in raw.rstrip("*") or raw.count("*") > 1:
            raise ValueError(
                f"term {text!r}: '*' is only allowed once, at the end of a word, as in 'sanction*'"
            )
        prefix = raw.endswith("*")
        folded = fold_for_matching(raw.rstrip("*"))
        parts = folded.split()
        if not parts:
            continue
        if prefix and len(parts[-1]) < MIN_WILDCARD_STEM:
            raise ValueError(
                f"term {text!r}: a wildcard needs at least {MIN_WILDCARD_STEM} letters before '*'"
            )
        words.extend((part, False) for part in parts[:-1])
        words.append((parts[-1], prefix))
    if not words:
        raise ValueError(f"term {text!r} has no letters or digits, so it can never match")
    return Phrase(tuple(words))


def compile_regex(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"invalid regular expression {pattern!r}: {reason} "
            "(RE2 syntax: no backreferences or lookaround)"
        ) from exc
