"""Labelled corpora for ``monitor eval``: reading and checking them.

A corpus is a YAML document whose ``items`` each carry a headline, a lede
and one label per watch-point: 1 (the rule should alert), 0 (it should not)
or "?" (the text cannot settle it, so the item is not scored). Every
problem of every file is reported at once, with its file and line.
:func:`parse_corpus` is pure; :func:`load_corpora` reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path

from monitor.domain.item import Item
from monitor.errors import CorpusError, Problem
from monitor.text import fold_whitespace
from monitor.validation import did_you_mean
from monitor.yamlsource import YamlDocument, load_yaml

ITEM_FIELDS = ("id", "title", "summary", "source", "published", "feed", "tags")
"""The keys of a corpus item that are not labels; every other key is one."""
DEFAULT_TAG = "news"
CORPUS_FEED = "corpus"
"""The feed name of items that do not say which feed they came from."""


class Label(Enum):
    """What a corpus item says of one rule: alert, no alert, or not scored."""

    POSITIVE = 1
    NEGATIVE = 0
    UNSCORED = "?"


@dataclass(frozen=True)
class LabelledItem:
    """A corpus item with its labels, and where the corpus defines it."""

    id: str
    item: Item
    file: str
    line: int | None
    labels: Mapping[str, Label]
    """By label key; a key the item lacks counts as unscored."""

    @property
    def where(self) -> str:
        """ "file:line" of the item, or the file when the line is unknown."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


def load_corpora(paths: Sequence[Path], default_tag: str = DEFAULT_TAG) -> list[LabelledItem]:
    """Read and parse every corpus file; raise CorpusError naming every problem
    of every file. Paths are shown as given."""
    entries: list[LabelledItem] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), None, f"cannot read corpus: {exc}"))
            continue
        parsed, found = parse_corpus(text, str(path), default_tag)
        entries += parsed
        problems += found
    if problems:
        raise CorpusError(problems)
    return entries


def parse_corpus(
    text: str, file: str, default_tag: str = DEFAULT_TAG
) -> tuple[list[LabelledItem], list[Problem]]:
    """The items of one corpus document, and the problems found in it."""
    document, problems = load_yaml(text, file)
    if document is None:
        return [], problems
    data = document.data
    if not isinstance(data, dict) or "items" not in data:
        return [], [
            Problem(file, 1, "expected a mapping with 'items:', the list of labelled items")
        ]
    raw_items = data["items"]
    if not isinstance(raw_items, list) or not raw_items:
        return [], [Problem(file, document.line_of(("items",)), "'items' must be a non-empty list")]
    entries: list[LabelledItem] = []
    first_line: dict[str, int | None] = {}
    for index, raw in enumerate(raw_items):
        entry = _parse_item(raw, index, document, file, default_tag, problems)
        if entry is None:
            continue
        if entry.id in first_line:
            problems.append(
                Problem(
                    file,
                    entry.line,
                    f"duplicate id '{entry.id}' (first on line {first_line[entry.id]})",
                )
            )
            continue
        first_line[entry.id] = entry.line
        entries.append(entry)
    return entries, problems


def _parse_item(
    raw: object,
    index: int,
    document: YamlDocument,
    file: str,
    default_tag: str,
    problems: list[Problem],
) -> LabelledItem | None:
    here = ("items", index)
    line = document.line_of(here)
    if not isinstance(raw, dict):
        problems.append(Problem(file, line, "an item must be a mapping (id, title, labels, ...)"))
        return None
    found: list[Problem] = []

    def problem(key: str, message: str) -> None:
        found.append(Problem(file, document.line_of((*here, key)), message))

    raw_id = raw.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        problem("id", f"item {index + 1} has no 'id'")
        item_id = f"#{index + 1}"
    else:
        item_id = str(raw_id)
    title = raw.get("title")
    if title is None or title == "":
        problem("title", f"item '{item_id}' has no title")
    elif not isinstance(title, str):
        problem("title", f"item '{item_id}': the title must be text, not {title!r}")
    texts: dict[str, str | None] = {}
    for key in ("summary", "source", "feed"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problem(key, f"item '{item_id}': '{key}' must be text, not {value!r}")
            value = None
        texts[key] = value or None
    tags = _tags(raw.get("tags"), texts["feed"], default_tag)
    if tags is None:
        problem("tags", f"item '{item_id}': 'tags' must be a list of words")
    try:
        published = _published(raw.get("published"))
    except ValueError:
        problem("published", f"item '{item_id}': 'published' must be a date (YYYY-MM-DD)")
        published = None
    labels: dict[str, Label] = {}
    for key, value in raw.items():
        if key in ITEM_FIELDS:
            continue
        label = _label(value)
        if label is None:
            hint = did_you_mean(str(key), ITEM_FIELDS)
            problem(
                str(key),
                f"item '{item_id}': label '{key}' is {value!r}; a label is 1, 0 or \"?\"{hint}",
            )
        else:
            labels[str(key)] = label
    problems += found
    if found or not isinstance(title, str) or tags is None:
        return None
    item = Item(
        feed=texts["feed"] or CORPUS_FEED,
        feed_tags=tags,
        identity=f"corpus:{file}#{item_id}",
        guid=item_id,
        # As a feed's text is: control characters out, white space folded.
        title=fold_whitespace(title),
        summary=fold_whitespace(texts["summary"] or ""),
        link=texts["source"],
        published=published,
        updated=None,
    )
    return LabelledItem(item_id, item, file, line, labels)


def _tags(value: object, feed: str | None, default_tag: str) -> tuple[str, ...] | None:
    """The item's own tags, else its feed as the one tag, else the default;
    None when ``tags`` is malformed."""
    if value is None:
        return (feed,) if feed else (default_tag,)
    if isinstance(value, list) and all(isinstance(tag, str) and tag for tag in value):
        return tuple(value)
    return None


def _published(value: object) -> datetime | None:
    """A UTC datetime, or None when absent; ValueError when malformed."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return _published(date.fromisoformat(value))
    raise ValueError(f"not a date: {value!r}")


def _label(value: object) -> Label | None:
    # YAML reads `true` as a bool, which Python would take for 1.
    if isinstance(value, bool):
        return None
    if value == 1 and isinstance(value, int):
        return Label.POSITIVE
    if value == 0 and isinstance(value, int):
        return Label.NEGATIVE
    if value == "?":
        return Label.UNSCORED
    return None
