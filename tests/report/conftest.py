"""Fixtures of the report's tests: a chapter notebook executed in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dispro.report import PARAMETERS
from dispro.report.assemble import read_published
from dispro.report.inputs import stage
from dispro.report.runner import notebooks_dir


def execute_notebook(
    name: str, data: dict, params: dict, work: Path, *, stop_after: str | None = None
) -> dict:
    """Run the code cells of ``notebooks/<name>.ipynb`` after its parameters cell, as papermill
    would with ``params`` injected, on ``data`` (written to ``work`` as the renderer does), up to
    the first cell whose code holds ``stop_after`` if given. Returns the notebook's namespace
    (``ch``, the results of each step...)."""
    work = Path(work)
    (work / "content").mkdir(parents=True, exist_ok=True)
    stage(data, work)
    namespace = {k: params[k] for k in PARAMETERS} | {"work_dir": str(work), "absent": {}}
    cells = json.loads((notebooks_dir() / f"{name}.ipynb").read_text())["cells"]
    for cell in cells:
        tags = cell["metadata"].get("tags", [])
        if cell["cell_type"] == "code" and "parameters" not in tags:
            code = "".join(cell["source"])
            exec(code, namespace)  # noqa: S102 - our own notebooks
            if stop_after is not None and stop_after in code:
                break
    return namespace


def published_tables(ch) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Every table a chapter recorded: name -> (block, published frame)."""
    return {
        b["name"]: (b, read_published(ch.work_dir / "content" / f"{ch.name}__{b['name']}.json"))
        for b in ch.blocks
        if b["type"] == "table"
    }


@pytest.fixture(scope="session")
def run_notebook():
    """:func:`execute_notebook`."""
    return execute_notebook


@pytest.fixture(scope="session")
def tables_of():
    """:func:`published_tables`."""
    return published_tables
