"""YAML loading that remembers where every key and value came from.

PyYAML's safe loader returns plain data with no positions and silently keeps
the last of two duplicate keys. Rule errors must name a line, and a duplicate
key is almost always an ops mistake, so this walks the node tree once to
record ``path -> line`` and to reject duplicates.

Numbers are read as written unless they are plain decimal integers: YAML 1.1
reads ``0755`` as the octal 493, ``1_000`` as 1000, ``1:20`` as 80 and
``1.0e+3`` as 1000.0, and a term written so would silently match other text.
Rule files have integer settings (``within: 5``) but no fractional ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


class _Loader(yaml.SafeLoader):
    """The safe loader, with numbers read as written (see the module's docstring)."""


def _number_as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    text = str(loader.construct_scalar(node))
    return int(text) if _PLAIN_INTEGER.fullmatch(text) else text


_Loader.add_constructor("tag:yaml.org,2002:int", _number_as_written)
_Loader.add_constructor("tag:yaml.org,2002:float", _number_as_written)


def load_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document; on failure return the problems instead."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, 1, "the file is empty")]
        problems: list[Problem] = []
        lines: dict[Location, int] = {}
        _walk(node, (), lines, problems, file, set())
        if problems:
            return None, problems
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(file, line, f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return YamlDocument(data, lines), problems


def _walk(
    node: yaml.Node,
    path: Location,
    lines: dict[Location, int],
    problems: list[Problem],
    file: str,
    visited: set[int],
) -> None:
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
            return
        visited.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
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
            _walk(value_node, (*path, key), lines, problems, file, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(child, (*path, index), lines, problems, file, visited)
