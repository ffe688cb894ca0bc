"""Values written with a unit in config.toml and rule files: durations and byte sizes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """``"90s"``, ``"5m"``, ``"2h"``, ``"7d"`` or a number of seconds, as a timedelta."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number with a unit, e.g. 30s, 5m, 2h, 1d")
    try:
        if isinstance(value, int | float):
            return timedelta(seconds=value)
        if isinstance(value, str):
            match = _DURATION.match(value)
            if not match:
                raise ValueError(
                    f"invalid duration {value!r}: use a number with a unit, e.g. 30s, 5m, 2h, 1d"
                )
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:
        raise ValueError(f"duration {value!r} is too long: at most 999999999 days") from None
    return value


def format_duration(value: timedelta) -> str:
    """The shortest exact form in the file's words: ``90s``, ``5m``, ``2h``, ``1d``."""
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
