"""Guard rails of the report's presentation: sections compute nothing (no statistical routine,
no suppression, no silenced warning), each notebook's parameters are the report's, and every
stated confidence level comes from ``alpha``."""

from __future__ import annotations

import ast
import json
import tempfile
import warnings
from pathlib import Path

import pytest

from dispro.errors import ParameterError
from dispro.report import CHAPTERS, PARAMETERS, check_parameters
from dispro.report.inputs import filter_data, load_data
from dispro.report.params import INTERNAL
from dispro.report.runner import notebooks_dir

SECTIONS = Path(__file__).resolve().parents[2] / "src" / "dispro" / "report" / "sections"

#: Modules a section may not import from: where statistics, suppression and counting live.
STATISTICAL_MODULES = (
    "_stats", "rates", "models", "disclosure", "stopsearch", "population", "counts", "readers",
    "synth",
)  # fmt: skip
#: Names of routines that compute, decide significance or suppress.
STATISTICAL_CALLS = {
    "rri", "rri_from_records", "bh", "katz", "suppress", "suppression_mask", "publishable",
    "withheld_cells", "trend_test", "search_rates", "search_counts", "hit_rates", "pathway_matrix",
    "stage_counts", "ratio_of_means", "logistic", "poisson_rates", "census2021", "person_years",
    "veil_of_darkness", "aggregate", "count_events", "multipletests", "quarterly_rates",
    "quarter_changes", "change_since", "area_matrix", "stage_matrix", "stage_model",
}  # fmt: skip
#: Aggregations: a section that sums or averages is computing.
AGGREGATIONS = {
    "sum", "mean", "median", "std", "var", "agg", "aggregate", "nunique", "value_counts",
    "pivot_table", "crosstab", "cumsum", "quantile", "cov", "corr",
}  # fmt: skip
#: The warning machinery: a section never silences a warning.
WARNING_CALLS = {"simplefilter", "filterwarnings", "catch_warnings", "resetwarnings"}


def offences(source: str, name: str = "<section>") -> list[str]:
    """What in ``source`` computes a statistic, suppresses or silences a warning."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            parts = module.split(".")
            if node.level == 0 and parts[0] != "dispro":
                if parts[0] in ("statsmodels", "scipy", "sklearn", "warnings"):
                    found.append(f"{name}:{node.lineno} imports from {module}")
                continue
            target = parts[1:] if node.level == 0 else parts
            if node.level in (0, 3) and target and target[0] in STATISTICAL_MODULES:
                found.append(f"{name}:{node.lineno} imports from {module}")
            found += [
                f"{name}:{node.lineno} imports {a.name}"
                for a in node.names
                if a.name in STATISTICAL_CALLS
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"{name}:{node.lineno} imports {a.name}"
                for a in node.names
                if a.name.split(".")[0] in ("statsmodels", "scipy", "sklearn", "warnings")
            ]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in STATISTICAL_CALLS | WARNING_CALLS | AGGREGATIONS:
                found.append(f"{name}:{node.lineno} calls {called}")
    return found


def test_the_guard_finds_a_section_that_computes():
    assert offences("from ...rates import rri\nrri(t)") == [
        "<section>:1 imports from rates",
        "<section>:1 imports rri",
        "<section>:2 calls rri",
    ]
    assert offences("import warnings\nwarnings.simplefilter('ignore')")
    assert offences("from ...disclosure import CONFIDENTIAL") == [
        "<section>:1 imports from disclosure"
    ]
    assert offences("t.groupby('g')['n'].sum()") == ["<section>:1 calls sum"]
    assert offences("from ..wording import describe_table\nch.table('x', t, caption='c')") == []


def test_no_section_computes_suppresses_or_silences_a_warning():
    files = sorted(SECTIONS.glob("*.py"))
    assert {p.stem for p in files} >= {"summary", "stop_search", "scrutiny", "stages", "appendix"}
    found = [o for p in files for o in offences(p.read_text(encoding="utf-8"), p.name)]
    assert found == []


def _assigned(cell_source: str) -> list[str]:
    return [
        t.id
        for node in ast.parse(cell_source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    ]


def test_each_notebooks_parameters_are_the_reports():
    """The `parameters` cell of every chapter notebook assigns exactly the names
    check_parameters accepts (the report's parameters and the renderer's work folder), once."""
    accepted = [*PARAMETERS, *INTERNAL]
    names = sorted({n for chapters in CHAPTERS.values() for n in chapters})
    assert sorted(p.stem for p in notebooks_dir().glob("*.ipynb")) == names
    for name in names:
        cells = json.loads((notebooks_dir() / f"{name}.ipynb").read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, name
        assigned = _assigned("".join(tagged[0]["source"]))
        assert sorted(assigned) == sorted(accepted) and len(assigned) == len(set(assigned)), name
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), name
    # and check_parameters refuses anything else
    with pytest.raises(ParameterError, match="unknown report parameter"):
        check_parameters({"area": "Dorset", "threshold": 4})


@pytest.fixture(scope="module")
def alpha_10(tmp_path_factory, run_notebook):
    """The summary and stop-and-search chapters of the small demo at alpha 0.1."""
    params = check_parameters(
        {"area": "Wessex", "scale": 0.15, "period_start": "2022-04", "period_end": "2024-03",
         "alpha": 0.1}
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        data, _ = load_data(params, Path(work))
    data = filter_data(data, params)
    with warnings.catch_warnings():
        return [
            run_notebook(name, data, params, tmp_path_factory.mktemp(name))["ch"]
            for name in ("summary", "stop_search")
        ]


def test_an_alpha_of_0_1_gives_90_percent_intervals_in_every_caption_and_sentence(alpha_10):
    words = []
    for ch in alpha_10:
        for block in ch.blocks:
            words += [block.get("caption", ""), block.get("text", ""), *block.get("items", [])]
    text = "\n".join(words)
    assert "95%" not in text
    captions = [b["caption"] for ch in alpha_10 for b in ch.blocks if b["type"] == "figure"]
    assert any("(log scale, 90% intervals)" in c for c in captions)
    assert any("with 90% Wilson intervals" in c for c in captions)
    assert any("90% intervals; quarters with a count" in c for c in captions)
    assert "90% confidence interval" in text and "its 90% confidence interval excludes 1" in text


def test_change_sentences_one_per_force_name_the_force_and_the_groups():
    """compact_changes: one sentence per force, by the change rule (a clear change with its
    relative rates and q; no clear evidence; withheld), led by the force's name."""
    import pandas as pd

    from dispro.report import check_parameters
    from dispro.report.sections._common import compact_changes

    params = check_parameters({"area": "Dorset"})
    table = pd.DataFrame({
        "force": ["Dorset", "Dorset", "Dorset", "Wiltshire"],
        "group": ["Black", "Asian", "Mixed", "Black"],
        "estimate": [2.0, 1.05, 1.0, 0.9],
        "ci_lower": [1.5, 0.8, 0.5, 0.7],
        "ci_upper": [2.6, 1.3, 2.0, 1.2],
        "p_value": [0.00001, 0.6, 0.9, 0.4],
        "q_value": [0.00004, 0.7, 0.9, 0.5],
        "significant": [True, False, False, False],
        "earlier_rri": [2.0, 1.1, 1.0, 1.5],
        "latest_rri": [4.0, 1.15, 1.0, 1.35],
        "status": ["ok", "ok", "ok", "ok"],
        "comparison_window": ["2019-01 to 2019-12"] * 4,
    })  # fmt: skip
    out = compact_changes(table, params, "force", shown=[True, True, False, True])
    assert out == [
        "Dorset, against 2019-01 to 2019-12: the difference from White people has grown for "
        "Black (relative rate from 2.0 to 4.0; q < 0.001); no clear evidence of a change for "
        "Asian; too few cases to tell, or withheld, for Mixed.",
        "Wiltshire, against 2019-01 to 2019-12: no clear evidence of a change for Black.",
    ]
