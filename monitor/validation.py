"""Turning pydantic validation errors into ``file:line: message`` problems.

Shared by config.toml and the rule files so that both speak the same way:
unknown keys are named with a did-you-mean, missing keys are named, and every
finding carries the line it refers to.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from monitor.errors import Problem

Location = tuple[str | int, ...]
LineLocator = Callable[[Location], int | None]
UNION_TAGS = frozenset({"term", "condition", "near"})
"""Tags of discriminated unions; pydantic puts them in error locations."""


class StrictModel(BaseModel):
    """Base for file-backed models: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def did_you_mean(word: str, choices: Sequence[str], prefix: str = "") -> str:
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


def problems_from_validation(
    error: ValidationError, model: type[BaseModel], file: str, locate: LineLocator
) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc: Location = tuple(p for p in detail["loc"] if isinstance(p, str | int))
        # pydantic puts the tag of a discriminated union after the list index.
        loc = tuple(
            p
            for i, p in enumerate(loc)
            if not (p in UNION_TAGS and i and isinstance(loc[i - 1], int))
        )
        kind = detail["type"]
        key = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            hint = did_you_mean(key, _keys_at(model, loc))
            message = f"unknown key '{key}'{hint}"
        elif kind == "missing":
            where = _dotted(loc[:-1])
            message = f"missing required key '{key}'" + (f" in {where}" if where else "")
        else:
            text = str(detail["msg"]).removeprefix("Value error, ")
            message = f"{_dotted(loc)}: {text}" if loc else text
        line = locate(loc)
        if line is None and kind == "missing":
            line = locate(loc[:-1])
        problems.append(Problem(file, line, message))
    return sorted(problems, key=lambda p: p.line or 0)


# --- value types shared by config and rules --------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """``"90s"``, ``"5m"``, ``"2h"``, ``"7d"`` or a number of seconds, as a timedelta."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number with a unit, e.g. 30s, 5m, 2h, 1d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"invalid duration {value!r}: use a number with a unit, e.g. 30s, 5m, 2h, 1d"
            )
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.I)
_BYTE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 10**6,
    "mib": 2**20,
    "gb": 10**9,
    "gib": 2**30,
}


def parse_byte_size(value: object) -> object:
    """``10485760``, ``"10MiB"`` or ``"512 KiB"`` as a number of bytes."""
    if isinstance(value, str):
        match = _BYTES.match(value)
        if not match:
            raise ValueError(f"invalid size {value!r}: use bytes or a unit, e.g. 512KiB, 10MiB")
        return int(float(match.group(1)) * _BYTE_UNITS[(match.group(2) or "b").lower()])
    return value


ByteSize = Annotated[int, BeforeValidator(parse_byte_size)]
