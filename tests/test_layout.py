"""The package's shape, checked (DESIGN.md, "Package layout"): layers one way only, no import circle,
no private name imported from a public sibling, no oversized module, code formatted."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "dispro"

#: Modules allowed over the size limit because most of their lines are a data literal.
DATA_LITERALS: dict[str, str] = {}
MAX_LINES = 900


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path):
    """Every import of a dispro module in ``path``, anywhere (a lazy import counts):
    yields ``(target module, imported names, line)``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "dispro":
                continue
            names = [a.name for a in node.names]
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            rest = [n for n in names if f"{target}.{n}" not in MODULES]
            for sub in subs:
                yield sub, [], node.lineno
            if rest or not subs:
                yield target, rest, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dispro":
                    yield alias.name, [], node.lineno


GRAPH = {
    name: sorted({t for t, _, _ in _imports(name, path) if t in MODULES and t != name})
    for name, path in MODULES.items()
}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. the import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


def test_no_import_circle():
    """A package's __init__ that re-exports its modules is part of the graph, and so is a lazy
    import inside a function: either can close a circle."""
    assert _cycles(GRAPH) == []


def _is_private_module(module: str) -> bool:
    return module.rpartition(".")[2].startswith("_")


def test_no_private_name_imported_from_a_public_sibling():
    """A private name (``_x``) may be imported only from a private module (``_stats``, ``_checks``,
    a package's ``_common``...) of the importing module's own package or an enclosing one."""
    offences = []
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target, names, line in _imports(name, path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if not private:
                continue
            home = target.rpartition(".")[0]
            allowed = _is_private_module(target) and (
                package == home or package.startswith(home + ".")
            )
            if not allowed:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {private} from {target}")
    assert offences == [], "\n".join(offences)


def test_no_module_over_the_size_limit():
    too_long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and name not in DATA_LITERALS
    }
    assert too_long == {}, f"modules over {MAX_LINES} lines: {too_long}"


def test_the_layers_contract_holds():
    """The import-linter contract in pyproject.toml: foundations -> population, readers -> counts
    -> rates, disclosure -> models -> pathway, stopsearch, synth -> plots -> report -> cli."""
    from importlinter import cli

    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_layers_contract_names_every_top_level_module():
    """A new top-level module must be placed in a layer, or the contract silently ignores it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layered = {
        m.strip()
        for c in contracts
        if c["type"] == "layers"
        for layer in c["layers"]
        for m in layer.replace("|", ":").split(":")
    }
    top = {".".join(n.split(".")[:2]) for n in MODULES if n != "dispro"}
    assert top - layered == set()


def test_code_is_formatted():
    """`ruff format --check` (ruff comes with the test extras, beside this interpreter)."""
    ruff = str(Path(sys.executable).parent / "ruff")
    done = subprocess.run(
        [ruff, "format", "--check", "src", "tests", "benchmarks", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
