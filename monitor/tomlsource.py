"""TOML text with line numbers: tomllib keeps none, and every error must name one."""

from __future__ import annotations

import re

from monitor.validation import Location


class TomlLocator:
    """Finds the line of a key path (``("feeds", 2, "url")``) in TOML text.

    tomllib keeps no positions, so this scans table headers and ``key =``
    lines. It is only used to point at errors, so a near miss (the table's
    header line) is acceptable where a key cannot be found.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(
        r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
    )

    def __init__(self, text: str) -> None:
        self.lines: dict[Location, int] = {}
        table: Location = ()
        array_counts: dict[Location, int] = {}
        in_multiline = False
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.count('"""') % 2 == 1 or raw.count("'''") % 2 == 1:
                in_multiline = not in_multiline
                if not in_multiline:
                    continue
            if in_multiline and not self._KEY.match(raw):
                continue
            header = self._HEADER.match(raw)
            if header:
                names: Location = tuple(self._split_key(header.group(2)))
                if header.group(1) == "[[":
                    index = array_counts.get(names, 0)
                    array_counts[names] = index + 1
                    table = (*names, index)
                else:
                    table = names
                self.lines.setdefault(table, number)
                continue
            key = self._KEY.match(raw)
            if key:
                self.lines.setdefault((*table, *self._split_key(key.group(1))), number)

    @staticmethod
    def _split_key(dotted: str) -> list[str]:
        return [
            part.strip().strip("\"'")
            for part in re.findall(r"""(?:"[^"]*"|'[^']*'|[^.]+)""", dotted)
        ]

    def line_of(self, loc: Location) -> int | None:
        """The line of ``loc``, else of the nearest enclosing key or table that has one."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None
