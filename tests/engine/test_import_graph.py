"""No import circle inside qamtu.engine: every import statement (module level and inside functions) is an edge."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import qamtu.engine

ENGINE = Path(qamtu.engine.__file__).resolve().parent
PACKAGE = "qamtu.engine"


def _modules() -> dict[str, Path]:
    mods = {PACKAGE: ENGINE / "__init__.py"}
    for path in sorted(ENGINE.glob("*.py")):
        if path.name != "__init__.py":
            mods[f"{PACKAGE}.{path.stem}"] = path
    return mods


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The qamtu.engine modules that ``module`` imports anywhere in its body (including inside functions)."""
    out: set[str] = set()
    base = PACKAGE if module == PACKAGE else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                src = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            # ``from qamtu.engine import physics`` imports the submodule; ``from qamtu.engine import X`` the package
            names = [f"{src}.{a.name}" if f"{src}.{a.name}" in known else src for a in node.names]
        else:
            continue
        out.update(n for n in names if n in known)
    out.discard(module)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imported(m, p, set(mods)) for m, p in mods.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_graph_sees_function_level_and_package_imports():
    graph = _graph()
    assert "qamtu.engine._fast" in graph["qamtu.engine.links"]  # imported inside compute_links
    assert "qamtu.engine.physics" in graph["qamtu.engine._fast"]  # ``from qamtu.engine import physics``
    assert "qamtu.engine.aggregate" in graph["qamtu.engine"]


def test_no_import_circle_inside_the_engine():
    graph = {m: deps - {PACKAGE} for m, deps in _graph().items()}  # the package imports every module by design
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    # and no module imports the package itself (it would import every module, the circle through __init__)
    assert not [m for m, deps in _graph().items() if m != PACKAGE and PACKAGE in deps]


@pytest.mark.parametrize("module", ["qamtu.engine._fast", "qamtu.engine.links", "qamtu.engine.physics"])
def test_the_link_modules_import_first_in_a_fresh_interpreter(module):
    """The two modules that imported each other (issue 10), and the physics they share, each imported first."""
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
