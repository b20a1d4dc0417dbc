"""Imports point one way (DESIGN.md): lessons -> lab -> openstack/ -> rpc -> broker, and
records (trace, topology) -> renderers (diagrams, player, widgets) -> views -> lab.

Every import counts, also those inside functions: a cycle hidden in a function is a
cycle all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "course"

RECORDS = ("course.trace", "course.topology")
RENDERERS = ("course.diagrams", "course.player", "course.widgets")
SIMULATION = ("course.openstack",)
BROKER = ("course.broker", "course.embedded", "course.kombu_transport", "course.routing",
          "course.transport_url")
TOP = ("course.lab", "course.views")
LESSONS = ("course.exercises", "course.faults")  # what lessons import: nothing else does

#: (modules, what they must never import)
RULES = [
    (RECORDS, (*RENDERERS, *SIMULATION, *TOP, "course.rpc")),
    (RENDERERS, (*SIMULATION, *TOP, "course.rpc", "course.broker", "course.embedded",
                 "course.kombu_transport")),
    (SIMULATION, (*RENDERERS, *TOP)),
    (("course.rpc",), (*SIMULATION, *RENDERERS, *TOP, "course.topology")),
    (BROKER, (*RECORDS, *RENDERERS, *SIMULATION, *TOP, "course.rpc")),
    # The translation pipeline reads and writes files: nothing of the running course.
    (("course.build",), (*RECORDS, *RENDERERS, *SIMULATION, *TOP, *BROKER, "course.rpc")),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the course modules it imports, anywhere in its code."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                           for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "course.openstack.nova" in graph["course.lab"]  # a top-level import
    assert "course.topology" in graph["course.bench.cloud"]  # one inside a function


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_one_way():
    graph = import_graph()
    wrong = sorted((source, target) for source, targets in graph.items()
                   for modules_, forbidden in RULES if within(source, modules_)
                   for target in targets if within(target, forbidden))
    assert wrong == []


def test_only_lessons_import_the_exercises():
    """Exercises sit above the lab, beside the lessons: no helper module imports them."""
    graph = import_graph()
    wrong = sorted((source, target) for source, targets in graph.items()
                   if not within(source, LESSONS)
                   for target in targets if within(target, LESSONS))
    assert wrong == []
