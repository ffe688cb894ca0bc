"""YAML loading that remembers where every key and value came from.

PyYAML's safe loader returns plain data with no positions and silently keeps
the last of two duplicate keys. Rule errors must name a line, and a duplicate
key is almost always an ops mistake, so this walks the node tree once to
record ``path -> line`` and to reject duplicates.

Numbers are read as written unless they are plain decimal integers: YAML 1.1
reads ``0755`` as the octal 493, ``1_000`` as 1000, ``1:20`` as 80 and
``1.0e+3`` as 1000.0, and a term written so would silently match other text.
Rule files have integer settings (``within: 5``) but no fractional ones.

The scanning and composing is done by libyaml (PyYAML's C loader) where
PyYAML was built with it: the pure-Python scanner is most of the time the
monitor takes to start. Both build the same node tree with the same
positions. A file libyaml refuses is parsed again by the pure-Python loader
for the message, and a file with a tab in it is left to the pure-Python
loader (libyaml accepts tabs where it does not), so that a file is valid,
and its errors read the same, with or without libyaml.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

from monitor.errors import Problem
from monitor.validation import Location


@dataclass
class YamlDocument:
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, loc: Location) -> int | None:
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


_PLAIN_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _number_as_written(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> int | str:
    text = str(loader.construct_scalar(node))
    return int(text) if _PLAIN_INTEGER.fullmatch(text) else text


MAX_NESTING = 50
"""Deepest nesting of lists and mappings a file may have. Far beyond any
sensible rule, and well within Python's recursion limit, which a file nested
hundreds of levels deep would otherwise exhaust (a RecursionError, not a
problem report)."""


def _too_deep(file: str, line: int) -> Problem:
    return Problem(
        file,
        line,
        f"nested more than {MAX_NESTING} levels deep (lists and mappings within each other); "
        "flatten it, or name parts of a rule under 'selections' and use them as $name",
    )


class _TooDeepError(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(f"nested more than {MAX_NESTING} levels deep")


class _PurePythonLoader(yaml.SafeLoader):
    """The safe loader, with numbers read as written (see the module's docstring)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # PyYAML composes recursively, a few frames per level: stop at the
        # limit before the interpreter's recursion limit stops it.
        self._depth += 1
        try:
            if self._depth > MAX_NESTING + 1:
                raise _TooDeepError(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_PurePythonLoader.add_constructor("tag:yaml.org,2002:int", _number_as_written)
_PurePythonLoader.add_constructor("tag:yaml.org,2002:float", _number_as_written)

_Loader: TypeAlias = "type[yaml.SafeLoader] | type[yaml.CSafeLoader]"  # CSafeLoader may not exist
_LIBYAML_LOADER: _Loader | None = None
if getattr(yaml, "__with_libyaml__", False):  # PyYAML built without libyaml has no CSafeLoader

    class _LibyamlLoader(yaml.CSafeLoader):
        """libyaml's safe loader, with numbers read as written."""

    _LibyamlLoader.add_constructor("tag:yaml.org,2002:int", _number_as_written)
    _LibyamlLoader.add_constructor("tag:yaml.org,2002:float", _number_as_written)
    _LIBYAML_LOADER = _LibyamlLoader

_loader: _Loader = _LIBYAML_LOADER or _PurePythonLoader


def libyaml_in_use() -> bool:
    """Whether YAML is parsed by libyaml (else by PyYAML's pure-Python loader)."""
    return _loader is not _PurePythonLoader


@contextlib.contextmanager
def pure_python_loader() -> Iterator[None]:
    """Parse with PyYAML's pure-Python loader inside the block, as on a
    machine without libyaml. For benchmarks and tests: it changes the loader
    of the whole process."""
    global _loader
    previous, _loader = _loader, _PurePythonLoader
    try:
        yield
    finally:
        _loader = previous


def load_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document; on failure return the problems instead."""
    document, problems = read_yaml(text, file)
    return (None, problems) if problems else (document, problems)


def read_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document, reporting its problems.

    Unlike :func:`load_yaml`, a document whose only problems are duplicate
    keys is returned too (each such key keeps its last value), so that the
    rest of the file can still be checked; the problems say it is not valid.
    """
    # libyaml takes a tab for a space where PyYAML's own scanner refuses it
    # ("key:<TAB>value"): such a file is read the way every machine reads it.
    loader = _PurePythonLoader if "\t" in text else _loader
    try:
        return _read(loader, text, file)
    except _TooDeepError as exc:
        return None, [_too_deep(file, exc.line)]
    except yaml.YAMLError as exc:
        error = exc
    if loader is not _PurePythonLoader:
        # libyaml words some errors differently: ask the pure-Python loader,
        # which says the same whichever loader is installed.
        try:
            return _read(_PurePythonLoader, text, file)
        except _TooDeepError as exc:
            return None, [_too_deep(file, exc.line)]
        except yaml.YAMLError as exc:
            error = exc
    return None, [_yaml_problem(error, file)]


def _read(loader_class: _Loader, text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, 1, "the file is empty")]
        problems: list[Problem] = []
        lines: dict[Location, int] = {}
        refused = _walk(node, (), lines, problems, file, set())
        if refused:
            return None, problems
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return YamlDocument(data, lines), problems


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        return Problem(file, line, f"invalid YAML: {reason}")
    return Problem(file, None, f"invalid YAML: {exc}")


def _walk(
    node: yaml.Node,
    path: Location,
    lines: dict[Location, int],
    problems: list[Problem],
    file: str,
    visited: set[int],
    depth: int = 0,
) -> bool:
    """Record lines and duplicate keys; True if the tree must not be
    constructed (it reuses a node, or is nested too deep)."""
    # An alias makes PyYAML reuse the anchored node: refusing reuse keeps
    # rule files plain, and rules out recursive aliases and alias bombs.
    if isinstance(node, yaml.CollectionNode):
        if id(node) in visited:
            problems.append(
                Problem(
                    file,
                    node.start_mark.line + 1,
                    "YAML anchors and aliases (&name, *name) are not supported here; use a list in rules/lists/",
                )
            )
            return True
        visited.add(id(node))
        if depth >= MAX_NESTING:
            problems.append(_too_deep(file, node.start_mark.line + 1))
            return True
    lines.setdefault(path, node.start_mark.line + 1)
    refused = False
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(file, line, f"duplicate key '{key}' (first given on line {seen[key]})")
                )
                continue
            seen[key] = line
            lines[(*path, key)] = line
            refused = (
                _walk(value_node, (*path, key), lines, problems, file, visited, depth + 1)
                or refused
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            refused = (
                _walk(child, (*path, index), lines, problems, file, visited, depth + 1) or refused
            )
    return refused
