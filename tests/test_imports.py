"""The import graph of ``codemix/`` has no cycle: module-level and function-level imports both count, and so do
``importlib.import_module("<literal>")`` calls (a module named in a string is imported all the same); an import
this reading cannot resolve (a name built at run time) fails the suite.

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


def _dynamic_import(node: ast.AST) -> ast.Call | None:
    """The call when ``node`` imports a module by name at run time: ``importlib.import_module(...)``,
    ``import_module(...)`` or ``__import__(...)``."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return node if name in ("import_module", "__import__") else None


def _literal_module(call: ast.Call) -> str | None:
    """The module a dynamic import names, when it is a string literal (a relative one with a literal anchor
    package: ``import_module(".impl", "pkg.sub")``); None when it is computed at run time."""
    def literal(node):
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    name = literal(call.args[0]) if call.args else None
    if name is None or not name.startswith("."):
        return name
    anchor = literal(call.args[1]) if len(call.args) > 1 else next(
        (literal(k.value) for k in call.keywords if k.arg == "package"), None)
    if anchor is None:
        return None
    level = len(name) - len(name.lstrip("."))
    base = anchor.split(".")[:len(anchor.split(".")) - (level - 1)]
    return ".".join(base + ([name.lstrip(".")] if name.lstrip(".") else []))


def _imported(node: ast.AST, package: str, mods: dict) -> list[str]:
    """Dotted names an import statement (or an ``import_module("<literal>")`` call) loads (``from m import x``:
    ``m.x`` where x is a module, else ``m``)."""
    if (call := _dynamic_import(node)) is not None:
        module = _literal_module(call)
        return [module] if module else []
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


def test_checker_reads_a_module_named_in_a_string(tmp_path):
    # a registry that reaches back up through importlib, as codemix's searcher registry once did from the config
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def check(name):\n    from pkg.registry import NAMES\n    return name in NAMES\n")
    (pkg / "registry.py").write_text("import importlib\n\nNAMES = {}\n\ndef build(name):\n"
                                     "    return importlib.import_module('pkg.runner').build(name)\n")
    (pkg / "runner.py").write_text("from importlib import import_module\n\nfrom pkg.config import check\n\n"
                                   "def plugin():\n    return import_module('.plugin', 'pkg')\n")
    (pkg / "plugin.py").write_text("")
    graph = import_graph(pkg)
    assert graph["pkg.registry"] == {"pkg.runner"} and graph["pkg.runner"] == {"pkg.config", "pkg.plugin"}
    assert find_cycle(graph) == ["pkg.config", "pkg.registry", "pkg.runner", "pkg.config"]


def unresolved_imports(root: Path = ROOT) -> list[str]:
    """``module:line`` of every run-time import whose module is not a string literal (the graph cannot see it)."""
    found = []
    for name, (path, _) in sorted(_modules(root).items()):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (call := _dynamic_import(node)) is not None and _literal_module(call) is None:
                found.append(f"{name}:{node.lineno}")
    return found


def test_checker_lists_an_import_by_a_computed_name(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import importlib\n\ndef f(kind):\n    return importlib.import_module(f'pkg.{kind}')\n"
                              "\ndef g():\n    return importlib.import_module('pkg.b')\n")
    (pkg / "b.py").write_text("")
    assert unresolved_imports(pkg) == ["pkg.a:4"]


def test_codemix_imports_no_module_by_a_computed_name():
    assert unresolved_imports() == [], "name the module in a string literal (or import it): the graph must see it"


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


# What `codemix plan` and `codemix validate` use: the search space, the data stage, the plan and the search's checks.
NO_TUNE = ["codemix.sweep.plan", "codemix.sweep.space", "codemix.sweep.data_stage", "codemix.sweep.cli",
           "codemix.search"]


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


# ----------------------------------------------------------------------------- public faces
#
# A top-level package of codemix (codemix/data, eval, models, results, sweep, train: a folder with an
# __init__.py) is used from outside through its __init__ exports: ``from codemix.data import prepare_pool``.
# Every module and subpackage below it is private to it: ``from codemix.data.pool import ...``,
# ``import codemix.data.pool`` or ``from codemix.data import pool`` in a module outside codemix/data is an
# import of a private module. codemix's top-level modules (codemix.cli, cli_common, version) are single
# modules, public as a whole. Function-level imports count too.
#
# The exceptions, as (importing module or package, private module it may import):
ALLOWED_PRIVATE = {
    # codemix.cli mounts each package's command group: a CLI module is a set of commands, not a library API
    ("codemix.cli", "codemix.data.cli"), ("codemix.cli", "codemix.eval.cli"), ("codemix.cli", "codemix.results.cli"),
    ("codemix.cli", "codemix.sweep.cli"),
    # Pending exports, each in a file outside the change that added this test (remove the entry with the import):
    ("codemix.cli", "codemix.models.formats"),  # `codemix families --show`
    # codemix.models exports only the family registry (codemix/models/__init__.py): its loading, encoding and
    # tiny-twin modules are used directly by the stages that load and encode models
    ("codemix.eval", "codemix.models.loading"), ("codemix.eval", "codemix.models.encoding"),
    ("codemix.eval", "codemix.models.tiny"), ("codemix.train", "codemix.models.loading"),
    ("codemix.train", "codemix.models.encoding"), ("codemix.train", "codemix.models.tiny"),
    ("codemix.sweep", "codemix.models.loading"),  # resolve_model_source (hashes.model_id, trial)
    # models.formats renders a family's chat format with the training tokenisation; exporting that from
    # codemix.train would load the trainer (Ray, pyarrow) to print a format
    ("codemix.models", "codemix.train.tokenize"),
    ("codemix.models", "codemix.data.demo"),  # the tiny twins' tokenizers are trained on the demo corpus
    # the search's Tune face loads Tune, which codemix.search (read by `codemix plan` and `validate`) must not:
    # only the sweep's Tune driver builds a searcher
    ("codemix.sweep.tuner", "codemix.search.tune_adapter"),
}


def _top_package(module: str, packages: set[str]) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and ".".join(parts[:2]) in packages else None


def private_imports(root: Path = ROOT) -> list[tuple[str, str, int]]:
    """(importing module, private module of another top-level package, line) for every such import."""
    mods = _modules(root)
    top = root.name
    packages = {name for name, (_, is_pkg) in mods.items() if is_pkg and name.count(".") == 1 and name.startswith(top)}
    found = []
    for name, (path, is_pkg) in sorted(mods.items()):
        package = name if is_pkg else name.rpartition(".")[0]
        own = _top_package(name, packages)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _imported(node, package, mods):
                home = _top_package(target, packages)
                if home is not None and home != own and target != home:
                    found.append((name, target, node.lineno))
    return sorted(set(found))


def _allowed(importer: str, target: str) -> tuple[str, str] | None:
    for prefix, private in ALLOWED_PRIVATE:
        if target == private and (importer == prefix or importer.startswith(prefix + ".")):
            return prefix, private
    return None


def test_checker_finds_imports_of_another_packages_private_modules(tmp_path):
    pkg = tmp_path / "pkg"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
        (pkg / sub / "impl.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "util.py").write_text("from pkg.a import impl\n")  # a top-level module is outside every package
    (pkg / "a" / "__init__.py").write_text("from pkg.a.impl import f\n")  # its own: fine
    (pkg / "b" / "user.py").write_text("from pkg.a import f\nimport pkg.a.impl\n\ndef g():\n"
                                       "    from pkg.a.impl import f\n    from ..a import impl\n")
    assert sorted(private_imports(pkg)) == [("pkg.b.user", "pkg.a.impl", 2), ("pkg.b.user", "pkg.a.impl", 5),
                                            ("pkg.b.user", "pkg.a.impl", 6), ("pkg.util", "pkg.a.impl", 1)]


def test_packages_are_used_through_their_init_exports():
    found = private_imports()
    offenders = [f"{m}:{line} imports {t}" for m, t, line in found if _allowed(m, t) is None]
    assert offenders == [], ("import these through the package's __init__ (add the export there):\n"
                             + "\n".join(offenders))
    stale = ALLOWED_PRIVATE - {_allowed(m, t) for m, t, _ in found}
    assert stale == set(), f"allowed but no longer imported, remove from ALLOWED_PRIVATE: {sorted(stale)}"


def test_every_name_the_benches_take_from_codemix_exists():
    """The benches (bench/*.py, run by hand and by `make bench`, not by the suite) import codemix inside their
    functions too: a name moved in codemix must move there as well."""
    import importlib.util

    missing = []
    for path in sorted((ROOT.parent / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "codemix":
                module = importlib.import_module(node.module)
                package = hasattr(module, "__path__")  # a name may be one of its submodules
                missing += [f"{path.name}: from {node.module} import {alias.name}" for alias in node.names
                            if not hasattr(module, alias.name)
                            and not (package and importlib.util.find_spec(f"{node.module}.{alias.name}"))]
    assert missing == []
