"""The distribution: its name, its command, and a core install that holds every module-level
import of dispro (the engines and the test tools are extras; issue 14, item 8)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dispro"

#: import names whose distribution is spelled differently
IMPORT_NAMES = {
    "pyyaml": {"yaml"},
    "scikit-learn": {"sklearn"},
    "jupyter-client": {"jupyter_client"},
    "ibis-framework": {"ibis"},
    "pillow": {"PIL"},
}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")


def _provided(requirements: list[str]) -> set[str]:
    """The import names the requirements provide."""
    names = {_name(r) for r in requirements}
    return {m for n in names for m in IMPORT_NAMES.get(n, {n.replace("-", "_")})}


def module_level_imports(source: str) -> set[str]:
    """The top-level packages a module imports when it is imported (not inside a function,
    where an import may need an extra); relative and ``dispro`` imports aside.

    >>> sorted(module_level_imports("import os, numpy as np\\nfrom .x import y\\n"
    ...     "if True:\\n    import yaml\\ndef f():\\n    import duckdb\\n"))
    ['numpy', 'os', 'yaml']
    """
    found: set[str] = set()

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name.split(".")[0] for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not child.level:
                found.add(child.module.split(".")[0])
            visit(child)

    visit(ast.parse(source))
    return found - {"dispro"}


def test_the_distribution_is_not_the_unrelated_dispro_and_keeps_the_command():
    project = _project()
    assert project["name"].lower().replace("_", "-") != "dispro"
    assert project["scripts"]["dispro"] == "dispro.cli:app"


def test_the_core_holds_no_engine_and_no_test_tool():
    project = _project()
    core = {_name(r) for r in project["dependencies"]}
    for heavy in ("pyspark", "duckdb", "ibis-framework", "pytest", "hypothesis", "ruff"):
        assert heavy not in core, heavy
    extras = project["optional-dependencies"]
    assert "pyspark" in {_name(r) for r in extras["spark"]}
    # the test install holds every engine, so that `make test` tests them all
    test = {_name(r) for r in extras["test"]}
    for extra in ("duckdb", "ibis", "spark"):
        assert {_name(r) for r in extras[extra]} <= test, extra


def test_every_module_level_import_is_in_the_core_or_the_standard_library():
    provided = _provided(_project()["dependencies"])
    missing = {}
    for path in sorted(SRC.rglob("*.py")):
        for name in module_level_imports(path.read_text(encoding="utf-8")):
            if name not in sys.stdlib_module_names and name not in provided:
                missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"module-level imports outside the core dependencies: {missing}"


@pytest.mark.parametrize("removed", ["pandas", "pyyaml", "threadpoolctl"])
def test_the_import_check_fails_without_a_needed_dependency(removed):
    """The check above can fail: drop a dependency some module imports at module level."""
    core = [r for r in _project()["dependencies"] if _name(r) != removed]
    provided = _provided(core)
    imported = set().union(
        *(module_level_imports(p.read_text(encoding="utf-8")) for p in SRC.rglob("*.py"))
    )
    assert imported - set(sys.stdlib_module_names) - provided
