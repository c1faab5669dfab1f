"""The import graph of ``codemix/`` has no cycle: module-level and function-level imports both count.

An import is an edge to what it names (a module, or the package it takes a name from: ``from a.b import
f`` depends on ``a/b/__init__.py`` even inside ``a.b``), and an import of ``a.b.c`` from outside package
``a.b`` is also an edge to ``a.b``, whose ``__init__.py`` it runs (a module's own parent packages are
initialised before it anyway, so loading them is no edge).
"""

import ast
from pathlib import Path

import pytest

import codemix

ROOT = Path(codemix.__file__).parent


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    mods = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return mods


def _imported(node: ast.AST, package: str, mods: dict) -> list[str]:
    """Dotted names an import statement loads (``from m import x``: ``m.x`` where x is a module, else ``m``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules (and package __init__s) of the same top package that its imports run."""
    mods = _modules(root)
    top = root.name
    graph = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        own_ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _imported(node, package, mods):
                if target.split(".")[0] != top:
                    continue
                parts = target.split(".")
                prefixes = [p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if p in mods]
                direct = prefixes[-1]  # what the statement names: a module, or the package it takes a name from
                edges.update(p for p in prefixes if p == direct or p not in own_ancestors)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_checker_finds_a_cycle_and_accepts_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_checker_follows_package_inits_and_names_taken_from_a_parent(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.impl import Impl\n\ndef helper(): ...\n")
    (pkg / "sub" / "impl.py").write_text("from pkg.sub import helper\n\nclass Impl: ...\n")  # a name of its parent
    (pkg / "sub" / "other.py").write_text("")
    (pkg / "user.py").write_text("def f():\n    from .sub import other\n")  # runs pkg/sub/__init__.py too
    graph = import_graph(pkg)
    assert graph["pkg.user"] == {"pkg.sub", "pkg.sub.other"}
    assert find_cycle(graph) == ["pkg.sub", "pkg.sub.impl", "pkg.sub"]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_checker_sees_function_level_and_package_imports(graph):
    # codemix/__init__.py imports codemix.sweep inside run_sweep(); sweep/plan.py reaches data from a function
    assert "codemix.sweep" in graph["codemix"]
    assert {"codemix.data", "codemix.eval"} <= graph["codemix.sweep.plan"]


def test_codemix_import_graph_has_no_cycle(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_libraries_never_import_the_cli(graph):
    cli = {m for m in graph if m.endswith(".cli") or m == "codemix.cli_common"}  # codemix.cli and the stage CLIs
    assert {"codemix.cli", "codemix.data.cli", "codemix.sweep.cli"} <= cli
    offenders = {m: sorted(deps & cli) for m, deps in graph.items() if m not in cli and deps & cli}
    assert offenders == {}


def _closure(graph: dict[str, set[str]], start: str) -> set[str]:
    """``start`` and every module its imports (at any level, transitively) run."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


# What `codemix plan` and `codemix validate` use: the search space, the data stage and the plan.
NO_TUNE = ["codemix.sweep.plan", "codemix.sweep.space", "codemix.sweep.data_stage", "codemix.sweep.cli"]


@pytest.mark.parametrize("module", NO_TUNE)
def test_plan_and_validate_never_import_the_tune_module(graph, module):
    assert "codemix.sweep.tuner" not in _closure(graph, module)


def test_plan_and_validate_never_load_ray_tune():
    # every module the planning code may import (function-level imports too), imported in a fresh process
    import subprocess
    import sys

    graph = import_graph()
    modules = sorted(set().union(*(_closure(graph, m) for m in NO_TUNE)))
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m == 'ray.tune' or m.startswith('ray.tune.')"
            " or m == 'codemix.sweep.tuner'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
