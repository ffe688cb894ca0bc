"""Checking the rest of an invalid file: validate what is left once the
parts that errors point at are left out, so that one run finds every problem."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.validation import Location, data_path

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Dropped:
    """Marks a part of the data left out because an error points at it."""


_DROPPED = _Dropped()
_PathMap = dict[str | int, tuple[str | int, "_PathMap"]]


@dataclass(frozen=True)
class Salvaged(Generic[ModelT]):
    """What validates of an invalid file once the parts errors point at are left out."""

    model: ModelT
    dropped: tuple[Location, ...]
    """Paths left out (in the file's data), outermost first."""
    _paths: _PathMap

    def original(self, loc: Location) -> Location:
        """The path in the file's data of a path in the salvaged model."""
        return _original(self._paths, loc)


def _original(paths: _PathMap, loc: Location) -> Location:
    found: list[str | int] = []
    for part in loc:
        if part not in paths:
            return (*found, *loc[len(found) :])
        original, paths = paths[part]
        found.append(original)
    return tuple(found)


def salvage(
    model: type[ModelT], data: object, defaults: dict[str, object] | None = None
) -> Salvaged[ModelT] | None:
    """Validate ``data`` leaving out every part an error points at (a list
    entry, a key and its value), until the rest validates; None when an
    error is about the whole document.

    Parts emptied by what was left out go too. A required top-level key left
    out (or missing) takes its value from ``defaults``, so that the rest of a
    rule whose severity is misspelt can still be checked. What the result
    lacks says nothing about the file: checks that look for something absent
    must not run on it.
    """
    working = copy.deepcopy(data)
    dropped: list[Location] = []
    for _ in range(_SALVAGE_ROUNDS):
        view, paths = _without_dropped(working)
        if not isinstance(view, dict):
            return None
        for key, value in (defaults or {}).items():
            view.setdefault(key, value)
        try:
            validated = model.model_validate(view)
        except ValidationError as exc:
            targets: set[Location] = set()
            for detail in exc.errors(include_url=False):
                path, _ = data_path(detail["loc"], view, detail["type"])
                if detail["type"] == "missing":
                    path = path[:-1]
                if not path:
                    return None
                targets.add(path)
            for path in sorted(targets, key=len):
                original = _original(paths, path)
                if any(original[: len(done)] == done for done in dropped):
                    continue
                if not _drop(working, original):
                    return None
                dropped.append(original)
            continue
        return Salvaged(validated, tuple(dropped), paths)
    return None


_SALVAGE_ROUNDS = 25


def _without_dropped(node: object) -> tuple[object, _PathMap]:
    """``node`` without its dropped parts, nor parts emptied by those, and
    the map from its paths to ``node``'s."""
    paths: _PathMap = {}
    if isinstance(node, dict):
        kept: dict[object, object] = {}
        for key, value in node.items():
            child, child_paths = _without_dropped(value)
            if child is not _DROPPED:
                kept[key] = child
                paths[key] = (key, child_paths)
        return (_DROPPED if node and not kept else kept), paths
    if isinstance(node, list):
        entries: list[object] = []
        for index, value in enumerate(node):
            child, child_paths = _without_dropped(value)
            if child is not _DROPPED:
                paths[len(entries)] = (index, child_paths)
                entries.append(child)
        return (_DROPPED if node and not entries else entries), paths
    return node, paths


def _drop(data: object, path: Location) -> bool:
    container = data
    for part in path[:-1]:
        if not _holds(container, part):
            return False
        container = container[part]  # type: ignore[index]
    if not _holds(container, path[-1]):
        return False
    container[path[-1]] = _DROPPED  # type: ignore[index]
    return True


def _holds(container: object, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)
