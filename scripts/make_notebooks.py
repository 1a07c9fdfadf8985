"""Write the thin chapter notebooks in notebooks/ (stored without outputs).

Each notebook: a `parameters` cell of plain typed values (papermill injects the run's values after
it), a cell that checks them through the package and opens the chapter, then one cell per step:
one library call with its options visible, then the section that presents its result (prose,
tables, figures; sections compute nothing). Run: `python scripts/make_notebooks.py`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dispro.report import CHAPTERS as REPORTS
from dispro.report import PARAMETERS
from dispro.report.params import INTERNAL

ROOT = Path(__file__).resolve().parents[1]

P = 'params["{}"]'.format
REFERENCE, ALPHA = f"reference={P('reference')}", f"alpha={P('alpha')}"
ETHNICITY, THRESHOLD = f"ethnicity={P('ethnicity')}", f"threshold={P('suppression_threshold')}"
PERIOD = f"period_start={P('period_start')}, period_end={P('period_end')}, area={P('area')}"
SEARCHES = 'data["stop_search"]'
DISPOSALS = 'data["disposals"]'

# The whole-period stop-and-search steps, shared by the full report and the scrutiny pack.
_STOP_SEARCH = [
    f'rates = search_rates({SEARCHES}, period="all", {ETHNICITY}, {REFERENCE}, {ALPHA})\n'
    "stop_search.rates(ch, rates, params{whole})",
    f'bounds = missing_ethnicity_bounds(rates, group="group", {REFERENCE}, by="force")\n'
    "stop_search.bounds(ch, bounds, params)",
    f'hits = supplied(hit_rates, {SEARCHES}, outcome="auto", {REFERENCE}, {ALPHA})\nstop_search.hit_rates(ch, hits, params)',
    f"strip = supplied(strip_search_shares, {SEARCHES}, {ALPHA})\n"
    "stop_search.strip_searches(ch, strip, params)",
    f"s60 = supplied(section60_shares, {SEARCHES}, {ALPHA})\nstop_search.section60(ch, s60, params)",
    f"concordance = supplied(concordance_summary, {SEARCHES}, {ALPHA})\n"
    "stop_search.concordance(ch, concordance, params)",
    f"not_stated = supplied(not_stated_by_officer_group, {SEARCHES})\n"
    "stop_search.not_stated_by_officer(ch, not_stated, params)",
    f'darkness = darkness_by_area({SEARCHES}, area={P("area")}, minority="Black", {REFERENCE}, '
    f"{ALPHA}, {THRESHOLD})\nstop_search.darkness(ch, darkness, params)",
    f'quarterly = search_rates({SEARCHES}, period="quarter", {ETHNICITY}, {REFERENCE}, {ALPHA})\n'
    "stop_search.trend(ch, quarterly, params{last})",
    f"change = change_since({SEARCHES}, comparison_start={P('comparison_start')}, "
    f"comparison_end={P('comparison_end')}, period_end={P('period_end')}, {ETHNICITY}, "
    f"{REFERENCE}, {ALPHA})\n"
    "stop_search.change(ch, change, params)",
]
_STOP_SEARCH_IMPORTS = (
    "from dispro.stopsearch import (\n"
    "    concordance_summary, hit_rates, missing_ethnicity_bounds, not_stated_by_officer_group,\n"
    "    search_rates, section60_shares, strip_search_shares,\n"
    ")\n"
    "from dispro.stopsearch.change import change_since\n"
    "from dispro.stopsearch.darkness_areas import darkness_by_area\n"
)


def _stage(name: str) -> list[str]:
    return [
        f'{name} = stage_matrix(data, "{name}", by="force", {REFERENCE}, {ALPHA})\n'
        f'stages.rates(ch, {name}, params, "{name}")',
    ]


def _adjusted(name: str) -> list[str]:
    return [
        f'{name}_model = stage_model(data, "{name}", {REFERENCE}, {ALPHA})\n'
        f'stages.adjusted(ch, {name}_model, params, "{name}")',
    ]


_STAGES_IMPORTS = "from dispro.pathway import stage_matrix, stage_model\nfrom dispro.report.sections import stages\n"

#: notebook -> (title, chapter options, imports, steps)
NOTEBOOKS = {
    "summary": (
        "Summary",
        "",
        "from dispro.pathway import area_matrix\nfrom dispro.report.sections import summary\n"
        "from dispro.stopsearch.change import change_since\n",
        [
            f"matrix = area_matrix(data, area={P('area')}, {REFERENCE}, {ALPHA})\n"
            f"change = (change_since({SEARCHES}, comparison_start={P('comparison_start')}, "
            f"comparison_end={P('comparison_end')}, period_end={P('period_end')}, {ETHNICITY}, "
            f'{REFERENCE}, {ALPHA}) if len(data.get("stop_search", [])) and '
            f'{P("report")} == "wessex" else None)  # the packs have their own changes\n'
            "summary.key_messages(ch, matrix, params, change)",
            "summary.intro(ch, params)",
            "summary.pathway(ch, matrix, params)",
        ],
    ),
    "stop_search": (
        "Stop and search",
        "",
        _STOP_SEARCH_IMPORTS + "from dispro.report.sections import stop_search\n",
        [step.format(whole="", last="") for step in _STOP_SEARCH],
    ),
    "scrutiny": (
        "Stop and search",
        ', sheets="stop_search"',
        _STOP_SEARCH_IMPORTS + "from dispro.stopsearch.scrutiny import (\n"
        "    concordance_by_quarter, outcomes_by_quarter, quarter_changes, quarterly_rates,\n"
        ")\n"
        "from dispro.report.sections import scrutiny, stop_search\n",
        [
            f"quarterly_pack = quarterly_rates({SEARCHES}, {PERIOD}, {ETHNICITY}, {REFERENCE}, "
            f"{ALPHA}, {THRESHOLD})\nscrutiny.latest_quarter(ch, quarterly_pack, params)",
            f"changes = quarter_changes({SEARCHES}, quarterly_pack, {ETHNICITY}, {REFERENCE}, "
            f"{ALPHA})\n"
            "scrutiny.changes(ch, changes, quarterly_pack, params)",
            "scrutiny.rates_by_quarter(ch, quarterly_pack, params)",
            f"outcomes = outcomes_by_quarter({SEARCHES}, quarterly_pack, {ETHNICITY}, {REFERENCE}, "
            f"{ALPHA}, {THRESHOLD})\nscrutiny.outcomes_by_quarter(ch, outcomes, params)",
            f"concordance_pack = concordance_by_quarter({SEARCHES}, quarterly_pack, {ALPHA}, "
            f"{THRESHOLD})\n"
            "scrutiny.concordance_by_quarter(ch, concordance_pack, params)",
            *[
                step.format(whole=", whole_period=True", last=", last_quarters=False")
                for step in _STOP_SEARCH
            ],
        ],
    ),
    "oocd_scrutiny": (  # oocd pack (issue 13 item 8)
        "Out-of-court disposals",
        "",
        "from dispro.oocd import quarterly_shares, share_breakdowns, share_changes\n"
        + _STAGES_IMPORTS
        + "from dispro.report.sections import oocd\n",
        [
            f"quarterly = quarterly_shares({DISPOSALS}, {PERIOD}, {REFERENCE}, {ALPHA}, "
            f"{THRESHOLD})\noocd.latest_quarter(ch, quarterly, params)",
            f"changes = share_changes({DISPOSALS}, quarterly, {REFERENCE}, {ALPHA})\n"
            "oocd.changes(ch, changes, quarterly, params)",
            "oocd.by_quarter(ch, quarterly, params)",
            f"parts = share_breakdowns({DISPOSALS}, quarterly, {REFERENCE}, {ALPHA}, {THRESHOLD})\n"
            "oocd.breakdowns(ch, parts, params)",
            "oocd.whole_period(ch, params)",
            *_stage("out_of_court"),
            *_adjusted("out_of_court"),
        ],
    ),
    "use_of_force": (
        "Use of force",
        "",
        "from dispro.useofforce import national_comparison, not_stated_shares, use_of_force_rates\n"
        "from dispro.report.sections import use_of_force\n",
        [
            'uof = data.get("use_of_force")\nuse_of_force.intro(ch, uof, params)',
            f"uof_rates = use_of_force_rates(uof, area={P('area')}, {REFERENCE}, {ALPHA}) "
            "if use_of_force.supplied(uof) else None\nuse_of_force.rates(ch, uof_rates, params)",
            "uof_national = national_comparison(uof_rates) if uof_rates is not None else None\n"
            "use_of_force.national(ch, uof_national, params)",
            f"uof_not_stated = not_stated_shares(uof, area={P('area')}) "
            "if use_of_force.supplied(uof) else None\n"
            "use_of_force.not_stated(ch, uof_not_stated, params)",
        ],
    ),
    "out_of_court": (
        "Out-of-court disposals",
        "",
        _STAGES_IMPORTS,
        [*_stage("out_of_court"), *_adjusted("out_of_court")],
    ),
    "charging": (
        "CPS charging decisions",
        "",
        _STAGES_IMPORTS,
        [*_stage("charge"), *_adjusted("charge")],
    ),
    "sentencing": (
        "Sentencing",
        "",
        _STAGES_IMPORTS,
        [*_stage("custody"), *_adjusted("custody"), *_stage("sentence_length")],
    ),
    "data_quality": (
        "Data quality",
        "",
        "from dispro.readers.quality import (\n"
        "    coverage_summary, exclusions_table, field_supply, not_stated_summary,\n"
        ")\n"
        "from dispro.report.inputs import official_totals\n"
        "from dispro.report.sections import appendix, reconcile\n"
        "from dispro.stopsearch.reconcile import financial_years, reconcile_totals\n",
        [
            "not_stated = not_stated_summary(data)\nappendix.not_stated(ch, not_stated, params)",
            'coverage = coverage_summary(data.get("stop_search"))\n'
            "appendix.coverage(ch, coverage, params)",
            # reconcile (issue 13 item 6)
            'reconciliation = reconcile_totals(data.get("stop_search"), official_totals(data), '
            f"financial_years=financial_years({P('period_start')}, {P('period_end')}))\n"
            "reconcile.reconciliation(ch, reconciliation, params)",
            'fields = field_supply(data.get("stop_search"))\n'
            "appendix.fields_supplied(ch, fields, params)",
            "ledger = exclusions_table(data)\nappendix.exclusions(ch, ledger, params)",
            "appendix.warnings_raised(ch, params)",
        ],
    ),
    "methods": (
        "Methods, caveats and conventions",
        "",
        "from dispro.report.sections import appendix\n",
        ["appendix.methods(ch, params)"],
    ),
}


def parameters_cell():
    """The report's parameters (:data:`dispro.report.PARAMETERS`) and the renderer's own."""
    lines = []
    for name, (_kind, default, description) in PARAMETERS.items():
        value = default if default is not None else "Wessex"
        lines.append(f"{name} = {value!r}  # {description}")
    said = {
        "work_dir": "the run's private work folder",
        "absent": "the datasets left out, with the reason",
    }
    for name in INTERNAL:
        lines.append(f'{name} = ""  # set by the renderer: {said[name]}')
    cell = new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    return cell


def check_cell(name: str, title: str, options: str, imports: str):
    args = ", ".join(f"{p}={p}" for p in (*PARAMETERS, *INTERNAL))
    return new_code_cell(
        "from dispro.report import chapter, check_parameters, load, supplied\n"
        f"{imports}\n"
        f"params = check_parameters(dict({args}))\n"
        'data = load(params["work_dir"])\n'
        f'ch = chapter({name!r}, title={title!r}, work_dir=params["work_dir"], '
        f'suppression_threshold=params["suppression_threshold"], params=params{options})'
    )


def main() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    used = {n for chapters in REPORTS.values() for n in chapters}
    assert used == set(NOTEBOOKS), (used, set(NOTEBOOKS))
    for stale in out.glob("*.ipynb"):
        if stale.stem not in NOTEBOOKS:
            stale.unlink()
    for name, (title, options, imports, steps) in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [
            new_markdown_cell(
                f"# {title}\n\nA chapter of the dispro report. Run by `dispro report`; each step "
                "is one call into the library with its options visible, then the section that "
                "presents its result."
            ),
            parameters_cell(),
            check_cell(name, title, options, imports),
            *[new_code_cell(step) for step in steps],
        ]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name}-{i}"
        nbformat.write(nb, out / f"{name}.ipynb")
    print(f"wrote {len(NOTEBOOKS)} notebooks to {out}")


if __name__ == "__main__":
    main()
