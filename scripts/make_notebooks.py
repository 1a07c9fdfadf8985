"""Write the thin chapter notebooks in notebooks/ (stored without outputs).

Each notebook: a `parameters` cell of plain typed values (papermill injects the run's values after
it), a cell that checks them through the package and opens the chapter, then one call into
dispro per section. Run: `python scripts/make_notebooks.py`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dispro.report import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]

CHAPTERS = {
    "summary": (
        "Summary",
        [
            "sections.summary.intro(ch, params)",
            "matrix = sections.summary.pathway_summary(ch, data, params)",
        ],
    ),
    "stop_search": (
        "Stop and search",
        [
            # the quarterly scrutiny pack (report "scrutiny"); these add nothing to the full report
            "quarterly = sections.scrutiny.scrutiny_latest_quarter(ch, data, params)",
            "changes = sections.scrutiny.scrutiny_change(ch, quarterly, params)",
            "sections.scrutiny.scrutiny_rates_by_quarter(ch, quarterly, params)",
            "outcomes = sections.scrutiny.scrutiny_outcomes_by_quarter(ch, data, params)",
            "concordance = sections.scrutiny.scrutiny_concordance_by_quarter(ch, data, params)",
            "rates = sections.stop_search.stop_search_rates(ch, data, params)",
            "sections.stop_search.stop_search_outcomes(ch, data, params)",
            "sections.stop_search.stop_search_concordance(ch, data, params)",
            "sections.stop_search.stop_search_darkness(ch, data, params)",
            "sections.stop_search.stop_search_trend(ch, data, params)",
        ],
    ),
    "out_of_court": (
        "Out-of-court disposals",
        [
            'table = sections.stages.stage_chapter(ch, data, params, "out_of_court")',
            'sections.stages.adjusted(ch, data, params, "out_of_court")',
        ],
    ),
    "charging": (
        "CPS charging decisions",
        [
            'table = sections.stages.stage_chapter(ch, data, params, "charge")',
            'sections.stages.adjusted(ch, data, params, "charge")',
        ],
    ),
    "sentencing": (
        "Sentencing",
        [
            'table = sections.stages.stage_chapter(ch, data, params, "custody")',
            'sections.stages.adjusted(ch, data, params, "custody")',
            'lengths = sections.stages.stage_chapter(ch, data, params, "sentence_length")',
        ],
    ),
    "data_quality": (
        "Data quality",
        [
            "sections.appendix.data_quality(ch, data, params)",
        ],
    ),
    "methods": (
        "Methods, caveats and conventions",
        [
            "sections.appendix.methods(ch, params)",
        ],
    ),
}


def parameters_cell():
    lines = []
    for name, (_kind, default, description) in PARAMETERS.items():
        value = default if default is not None else "Wessex"
        lines.append(f"{name} = {value!r}  # {description}")
    lines.append('work_dir = ""  # set by the renderer: the run\'s private work folder')
    cell = new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    return cell


def check_cell(name: str, title: str):
    args = ", ".join(f"{p}={p}" for p in PARAMETERS) + ", work_dir=work_dir"
    return new_code_cell(
        "from dispro.report import chapter, check_parameters, load, sections\n\n"
        f"params = check_parameters(dict({args}))\n"
        'data = load(params["work_dir"])\n'
        f'ch = chapter({name!r}, title={title!r}, work_dir=params["work_dir"], '
        'suppression_threshold=params["suppression_threshold"])'
    )


def main() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for name, (title, steps) in CHAPTERS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [
            new_markdown_cell(
                f"# {title}\n\nA chapter of the dispro report. Run by `dispro report`; "
                "every step is a call into the package."
            ),
            parameters_cell(),
            check_cell(name, title),
            *[new_code_cell(step) for step in steps],
        ]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name}-{i}"
        nbformat.write(nb, out / f"{name}.ipynb")
    print(f"wrote {len(CHAPTERS)} notebooks to {out}")


if __name__ == "__main__":
    main()
