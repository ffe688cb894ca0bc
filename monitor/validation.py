"""Turning pydantic validation errors into ``file:line: message`` problems.

Shared by config.toml and the rule files so that both speak the same way:
unknown keys are named with a did-you-mean, missing keys are named, a wrong
value is told what is allowed (never in pydantic's own schema words), and
every finding carries the line it refers to. monitor.salvage validates what
is left of an invalid file, so that its other problems can be found in the
same run; monitor.units holds the durations and sizes both files write.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.errors import Problem

Location = tuple[str | int, ...]
LineLocator = Callable[[Location], int | None]
UNION_TAGS = frozenset({"term", "condition", "near"})
"""Tags of discriminated unions; pydantic puts them in error locations."""


class StrictModel(BaseModel):
    """Base for file-backed models: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def did_you_mean(word: str, choices: Sequence[str], prefix: str = "") -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``word``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _keys_at(model: type[BaseModel], loc: Location) -> list[str]:
    """The keys allowed where the last key of ``loc`` stands, for did-you-mean hints.

    Where a field holds a union of models (a condition or a 'near' test), the
    keys of every member are candidates.
    """
    current: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        found: list[type[BaseModel]] = []
        for candidate in current:
            field = candidate.model_fields.get(part)
            if field is not None:
                found.extend(_models_in(field.annotation))
        current = found
    return [key for candidate in current for key in candidate.model_fields]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, str):  # a forward reference inside Annotated
        return []
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) + tuple(getattr(annotation, "__metadata__", ())):
        found.extend(m for m in _models_in(arg) if m not in found)
    return found


def _dotted(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- pydantic's errors in the words of the file -----------------------------

_KEY_MARK = "[key]"
"""pydantic's location part for a mapping key that failed validation."""

_UNION_MEMBERS = {
    "term": "a term",
    "condition": "a condition (a mapping with all, any or none)",
    "near": "a 'near' test",
}


def _union_tag(value: object) -> str:
    """The tag the rule model's discriminator gives ``value`` (see rules/model.py)."""
    if isinstance(value, dict):
        return "near" if "near" in value else "condition"
    return "term"


def data_path(loc: Sequence[object], data: object, kind: str = "") -> tuple[Location, bool]:
    """The path in the file's data that a pydantic error location points at,
    and whether the error is about a mapping key rather than its value.

    pydantic puts parts of its own schema into locations: the member of a
    union it tried (``str-enum[Severity]``, ``literal['none']``, the tag of
    a discriminated union) and ``[key]`` for a key. Walking the data keeps
    only the keys and indexes that exist there (and, for a missing key, the
    key that should).
    """
    path: list[str | int] = []
    current: object = data
    tag_possible = False
    about_key = False
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if part == _KEY_MARK:
            about_key = True
            continue
        if isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current):
            path.append(part)
            current, tag_possible = current[part], True
            continue
        if isinstance(part, str | int) and isinstance(current, dict):
            if last and kind in ("extra_forbidden", "missing"):
                path.append(part)
                break
            if tag_possible and part in UNION_TAGS and _union_tag(current) == part:
                tag_possible = False
                continue
            if part in current:
                path.append(part)
                current, tag_possible = current[part], True
                continue
        if isinstance(part, str) and part in UNION_TAGS and tag_possible:
            tag_possible = False
    return tuple(path), about_key


def _described(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _choices(detail: Any) -> list[str]:
    return re.findall(r"'([^']*)'", str((detail.get("ctx") or {}).get("expected", "")))


_CHOICE_KINDS = frozenset({"enum", "literal_error"})


def _requirement(detail: Any) -> str:
    """What is allowed, in the words of the file, for one pydantic error."""
    kind: str = detail["type"]
    ctx: dict[str, Any] = detail.get("ctx") or {}
    if kind in _CHOICE_KINDS:
        return _one_of(_choices(detail))
    if kind == "string_pattern_mismatch":
        return pattern_words(str(ctx.get("pattern", "")))
    if kind in ("string_type", "path_type"):
        return "must be text"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing", "decimal_type", "decimal_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("time_delta_type", "time_delta_parsing"):
        return "must be a duration with a unit, e.g. 30s, 5m, 2h, 1d"
    if kind in ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return "must be a mapping of keys to values"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "string_too_short":
        minimum = int(ctx.get("min_length", 1))
        return "must not be empty" if minimum <= 1 else f"must be at least {minimum} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        minimum = int(ctx.get("min_length", 1))
        return f"needs at least {minimum} entr{'y' if minimum == 1 else 'ies'}"
    if kind == "too_long":
        maximum = int(ctx.get("max_length", 0))
        return f"takes at most {maximum} entr{'y' if maximum == 1 else 'ies'}"
    if kind == "invalid_key":
        return "keys must be text"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        return "must be " + " or ".join(_UNION_MEMBERS.get(tag, tag) for tag in expected)
    text = str(detail["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return text


def _one_of(choices: Sequence[str]) -> str:
    if len(choices) == 1:
        return f"must be {choices[0]}"
    return f"must be one of {', '.join(choices)}"


def _got(detail: Any) -> str:
    """``(got ...)`` where showing the value helps: a wrong word or number."""
    kind: str = detail["type"]
    if kind in ("value_error", "assertion_error", "missing", "extra_forbidden"):
        return ""  # our own messages name the value where it helps
    value = detail.get("input")
    if kind in ("too_short", "too_long") and isinstance(value, list | tuple | dict):
        return f" (it has {len(value)})"
    if kind in ("string_too_long",) and isinstance(value, str):
        return f" (it has {len(value)})"
    if kind == "string_too_short":
        return ""
    return f" (got {_described(value)})"


def problems_from_validation(
    error: ValidationError,
    model: type[BaseModel],
    file: str,
    locate: LineLocator,
    data: object,
) -> list[Problem]:
    """Each pydantic error as a ``file:line: message`` problem in the words
    of the file: what is allowed, never pydantic's own schema names.

    ``data`` is what was validated; its shape tells the keys and indexes of
    an error's location from the parts pydantic adds. Errors for the
    members of one union (an ``expect`` that is neither a severity nor
    ``none``) become one problem naming every allowed value.
    """
    grouped: dict[tuple[Location, bool], list[Any]] = {}
    for detail in error.errors(include_url=False):
        path, about_key = data_path(detail["loc"], data, detail["type"])
        grouped.setdefault((path, about_key), []).append(detail)
    problems: list[Problem] = []
    for (loc, about_key), details in grouped.items():
        kind = details[0]["type"]
        key = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            hint = did_you_mean(key, _keys_at(model, loc))
            message = f"unknown key '{key}'{hint}"
        elif kind == "missing":
            where = _dotted(loc[:-1])
            message = f"missing required key '{key}'" + (f" in {where}" if where else "")
        elif about_key:
            where = _dotted(loc[:-1])
            message = (
                f"{where + ': ' if where else ''}the key '{key}' {_merged_requirement(details)}"
            )
        else:
            requirement = _merged_requirement(details)
            keys = _keys_at(model, (*loc, "")) if kind == "model_type" else []
            if keys:
                requirement = f"must be a mapping with keys among {', '.join(keys)}"
            message = requirement + _got(details[0])
            if loc:
                message = f"{_dotted(loc)}: {message}"
        line = locate(loc)
        if line is None and kind == "missing":
            line = locate(loc[:-1])
        problems.append(Problem(file, line, message))
    return sorted(problems, key=lambda p: p.line or 0)


def _merged_requirement(details: list[Any]) -> str:
    if len(details) == 1:
        return _requirement(details[0])
    choices = [
        choice
        for detail in details
        if detail["type"] in _CHOICE_KINDS
        for choice in _choices(detail)
    ]
    others = [_requirement(d) for d in details if d["type"] not in _CHOICE_KINDS]
    parts = ([_one_of(list(dict.fromkeys(choices)))] if choices else []) + others
    return " or ".join(dict.fromkeys(parts))


_CHARACTER_CLASS = re.compile(r"\[((?:\\.|[^\]])+)\]([?*+]?)")


def pattern_words(pattern: str) -> str:
    """What a name pattern such as ``^[a-z0-9][a-z0-9_-]*$`` allows, in words."""
    body = pattern.removeprefix("^").removesuffix("$")
    parts = _CHARACTER_CLASS.findall(body)
    if not parts or "".join(f"[{c}]{q}" for c, q in parts) != body:
        return f"must match the pattern {pattern}"
    (first, first_count), rest = parts[0], parts[1:]
    if len(parts) == 2 and first_count == "" and rest[0][1] in "*+":
        return (
            f"must be made of {_class_words(rest[0][0])}, "
            f"beginning with {_class_words(first, one=True)}"
        )
    if len(parts) == 2 and first_count == "?" and rest[0][1] in "*+":
        return (
            f"must be made of {_class_words(rest[0][0])}, "
            f"optionally after {_class_words(first, one=True)}"
        )
    if len(parts) == 1 and first_count in "*+":
        return f"must be made of {_class_words(first)}"
    return f"must match the pattern {pattern}"


def _class_words(members: str, *, one: bool = False) -> str:
    ranges = {
        "a-z": ("a lower-case letter", "lower-case letters"),
        "A-Z": ("an upper-case letter", "upper-case letters"),
        "0-9": ("a digit", "digits"),
    }
    words: list[str] = []
    found = [name for name in ranges if name in members]
    for name in found:
        members = members.replace(name, "")
    if "a-z" in found and "A-Z" in found:
        found.remove("A-Z")
        words.append("a letter" if one else "letters")
        found.remove("a-z")
    words += [ranges[name][0 if one else 1] for name in found]
    words += [f"'{char}'" for char in members.replace("\\", "")]
    if one:
        words = [words[0]] + [w.removeprefix("a ").removeprefix("an ") for w in words[1:]]
    if len(words) == 1:
        return words[0]
    joiner = " or " if one else " and "
    return ", ".join(words[:-1]) + joiner + words[-1]
