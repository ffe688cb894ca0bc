"""The package's shape, read from its source: no import circle, value types
that depend on nothing else of the package, and modules and classes small
enough to read.

Imports are read statically with ast, every one of them: at module level,
inside functions (a lazy import still ties two modules together) and under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.setup import ROOT

PACKAGE = "monitor"
PACKAGE_DIR = ROOT / PACKAGE
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


@dataclass(frozen=True)
class Module:
    """One source file of the package and its dotted name."""

    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def tree(self) -> ast.Module:
        return ast.parse(self.path.read_text(encoding="utf-8"), filename=str(self.path))


def package_modules() -> dict[str, Module]:
    """Every module of the package by dotted name (a package by its own name)."""
    found: dict[str, Module] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = Module(".".join(parts), path)
    return found


def imported_names(module: Module) -> Iterator[str]:
    """The dotted names each import statement of ``module`` reaches: for
    ``from a.b import c``, ``a.b.c`` (which is a module or a name in ``a.b``)."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            yield origin
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports."""
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, module in modules.items():
        targets: set[str] = set()
        for imported in imported_names(module):
            # The longest prefix that is a module: `a.b.c` is module a.b.c or a name in a.b.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_graph_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "from ..other import thing\n"
        "if TYPE_CHECKING:\n"
        "    from monitor.typed import Name\n"
        "def later() -> None:\n"
        "    import monitor.lazy\n",
        encoding="utf-8",
    )
    found = set(imported_names(Module("monitor.pkg.mod", source)))
    assert {
        "monitor.pkg.sibling",
        "monitor.other.thing",
        "monitor.typed.Name",
        "monitor.lazy",
    } <= found
    assert "monitor.errors" in import_graph()["monitor.config"]


def test_no_import_cycle_in_the_package() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, "modules that import each other, directly or around a circle:\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_domain_imports_nothing_else_of_the_package() -> None:
    graph = import_graph()
    domain = f"{PACKAGE}.domain"
    outside = {
        name: sorted(t for t in targets if t != domain and not t.startswith(domain + "."))
        for name, targets in graph.items()
        if name == domain or name.startswith(domain + ".")
    }
    assert not any(outside.values()), {name: found for name, found in outside.items() if found}


def test_no_module_over_500_lines() -> None:
    """Size budget of issue 15; may fail while modules are still being split."""
    too_long = {
        module.name: lines
        for module in package_modules().values()
        if (lines := len(module.path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, (
        f"SIZE BUDGET: modules over {MAX_MODULE_LINES} lines (split them by job): {too_long}"
    )


def test_no_class_over_300_lines() -> None:
    """Size budget of issue 15; may fail while classes are still being split."""
    too_long = {
        f"{module.name}.{node.name}": length
        for module in package_modules().values()
        for node in ast.walk(module.tree())
        if isinstance(node, ast.ClassDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_CLASS_LINES
    }
    assert not too_long, (
        f"SIZE BUDGET: classes over {MAX_CLASS_LINES} lines (split them by job): {too_long}"
    )
