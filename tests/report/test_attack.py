"""The attack test of issue 12: no withheld count of a published report can be worked out.

Renders the demo report, the City of London scrutiny pack (real files) and a batch (the
scrutiny pack for Wessex and each force), each at the default threshold and at threshold 0 (the
truth), attacks every withheld ``[c]`` count from the published outputs only (``_attack.py``:
rate x base, ratio x reference rate, inversion of each interval method, totals minus parts
within and across tables and reports, quarter vs period bounds, ledger arithmetic, figure data)
and scores the attempt against the truth. The figures are printed and written to
``attack_summary.json`` in the test's temporary folder (for the QA log).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from dispro.forces import wessex_forces
from dispro.report import render, render_batch

_spec = importlib.util.spec_from_file_location(
    "dispro_tests_attack", Path(__file__).with_name("_attack.py")
)
attack = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = attack
_spec.loader.exec_module(attack)

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "reports" / "config" / "city_of_london.yaml"
THRESHOLD = 4  # the default of `suppression_threshold`
MIN_ATTACKED = 400  # the acceptance: at least this many withheld cells across the renders

pytestmark = pytest.mark.slow


def _folders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _city_parameters() -> dict:
    params = yaml.safe_load(CITY.read_text(encoding="utf-8"))
    params["data"] = str((CITY.parent / params["data"]).resolve())
    return params


def _render_all(out: Path) -> dict[str, dict[int, list[Path]]]:
    """Each render at the threshold and at 0: name -> threshold -> report folders."""
    plans = {
        "demo report": lambda k, d: [render({"area": "Wessex", "suppression_threshold": k}, d, pdf=False)],
        "City of London pack": lambda k, d: [render({**_city_parameters(), "suppression_threshold": k}, d, pdf=False)],
        "batch (scrutiny pack)": lambda k, d: (
            render_batch({"report": "scrutiny", "suppression_threshold": k}, d, pdf=False),
            _folders(d),
        )[1],
    }  # fmt: skip
    folders: dict[str, dict[int, list[Path]]] = {}
    for i, (name, make) in enumerate(plans.items()):
        folders[name] = {k: make(k, out / f"render{i}_k{k}") for k in (THRESHOLD, 0)}
    return folders


def _print(request, lines) -> None:
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))


@pytest.fixture(scope="session")
def attacked(tmp_path_factory, realdata, request) -> dict:
    """The three renders, attacked once per session: a summary with every finding."""
    out = tmp_path_factory.mktemp("attack")
    t0 = time.perf_counter()
    folders = _render_all(out)
    rendered = time.perf_counter() - t0
    forces = {"Wessex": list(wessex_forces())}
    summary = {"threshold": THRESHOLD, "renders": [], "seconds": {"render": round(rendered, 1)}}
    findings = {"cells": [], "visible": [], "prose": [], "figures": [], "logs_missing": []}
    lines = []
    t1 = time.perf_counter()
    for name, by_k in folders.items():
        reports = [attack.read_report(f) for f in by_k[THRESHOLD]]
        truths = [attack.read_report(f) for f in by_k[0]]
        target = attack.Render(name, reports, truths)
        score = attack.attack_render(target, forces)
        visible = attack.visible_small_counts(target)
        prose = [
            (r.name, v, s) for r in target.reports for v, s in attack.prose_counts(r)
        ]  # fmt: skip
        small_prose = [p for p in prose if 1 <= p[1] <= target.k]
        figures = attack.figure_problems(target)
        score |= {
            "visible_small_counts": len(visible),
            "prose_small_counts": len(small_prose),
            "figure_problems": len(figures),
            "notes": target.notes,
            "visible": visible,
            "prose_counts": [f"{r}: {v} in {s}" for r, v, s in prose],
            "figures": figures,
        }
        summary["renders"].append(score)
        findings["cells"] += [{"render": name, **c} for c in score["cells"]]
        findings["visible"] += visible
        findings["prose"] += [f"{r}: {v} in {s}" for r, v, s in small_prose]
        findings["figures"] += figures
        findings["logs_missing"] += [r.name for r in target.reports if r.log is None]
        lines += attack.summary_lines(score)
        lines += [f"    relation kept ({n}): {fam}" for fam, n in score["relations_kept"].items()]
        lines += [f"    prose count: {p}" for p in score["prose_counts"]]
        lines += [f"    note: {n}" for n in target.notes[:50]]
    summary["seconds"]["attack"] = round(time.perf_counter() - t1, 1)
    totals = {
        key: sum(s[key] for s in summary["renders"])
        for key in ("attacked", "recovered_exactly", "within_one", "primary", "primary_narrowed",
                    "visible_small_counts", "prose_small_counts", "figure_problems")
    }  # fmt: skip
    summary["totals"] = totals
    path = out / "attack_summary.json"
    path.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    lines += [
        f"TOTAL: {totals}",
        f"rendered in {summary['seconds']['render']} s, attacked in {summary['seconds']['attack']} s",
        f"summary written to {path}",
    ]
    _print(request, ["attack test (issue 12):", *lines])
    return {"summary": summary, "findings": findings, "lines": lines}


def _listing(items, limit=40) -> str:
    items = list(items)
    shown = "\n  ".join(str(i) for i in items[:limit])
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {shown}{more}"


def test_every_report_publishes_its_suppression_log(attacked):
    missing = attacked["findings"]["logs_missing"]
    assert not missing, (
        f"{len(missing)} report(s) have no suppression.json (the log of withheld cells and the "
        f"rows each figure drew), so the attacker cannot tell primary cells or check figures:"
        + _listing(missing)
    )


def test_enough_withheld_cells_are_attacked(attacked):
    total = attacked["summary"]["totals"]["attacked"]
    assert total >= MIN_ATTACKED, (
        f"only {total} withheld counts across the three renders (at least {MIN_ATTACKED} wanted); "
        + "; ".join(f"{s['render']}: {s['attacked']}" for s in attacked["summary"]["renders"])
    )


def test_no_withheld_count_is_recovered(attacked):
    cells = [c for c in attacked["findings"]["cells"] if c["recovered"]]
    assert not cells, f"{len(cells)} withheld counts recovered exactly:" + _listing(
        f"{c['cell']} = {c['truth']:g} ({c['rule'] or 'rule not logged'}); by {c['attacks']}"
        for c in cells
    )


def test_no_primary_cell_is_narrowed_below_k_values(attacked):
    cells = [c for c in attacked["findings"]["cells"] if c["narrowed"]]
    assert not cells, (
        f"{len(cells)} primary cells narrowed: the attacker can rule out part of 1..{THRESHOLD}:"
        + _listing(
            f"{c['cell']} (true {c['truth']:g}) known {c['known']}; by {c['attacks']}"
            for c in cells
        )
    )


def test_no_count_from_1_to_k_is_visible(attacked):
    visible = attacked["findings"]["visible"] + attacked["findings"]["prose"]
    assert not visible, f"{len(visible)} counts from 1 to {THRESHOLD} printed openly:" + _listing(
        visible
    )


def test_figures_draw_only_published_rows(attacked):
    missing = attacked["findings"]["logs_missing"]
    problems = attacked["findings"]["figures"]
    assert not missing, (
        "the figures cannot be checked: suppression.json (with the rows each figure drew) is "
        "missing from" + _listing(missing)
    )
    assert not problems, f"{len(problems)} figure rows are not published as drawn:" + _listing(
        problems
    )


# ------------------------------------------------------------------------------------------
# The attacker itself, on a planted report: it must find what is there to find


def _write_report(folder: Path, sheets: dict, prose: str, params: dict) -> None:
    """A report folder as the renderer writes one: the workbook (a Notes sheet, then a caption
    row, a header row and the rows of each table), the HTML and provenance.json."""
    from openpyxl import Workbook

    folder.mkdir(parents=True)
    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["planted"])
    html = [f"<html><body><h1>planted</h1><p>{prose}</p>"]
    for sheet, (columns, rows) in sheets.items():
        ws = wb.create_sheet(sheet)
        ws.append([f"caption of {sheet}"])
        ws.append(columns)
        for row in rows:
            ws.append([attack._number(v) if attack._number(v) is not None else v for v in row])
        head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows)
        html.append(
            f'<table data-sheet="{sheet}"><caption>caption of {sheet}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    wb.save(folder / f"{folder.name}.xlsx")
    (folder / f"{folder.name}.html").write_text("".join(html) + "</body></html>")
    (folder / "provenance.json").write_text(json.dumps({"parameters": params}))


def _planted(tmp_path: Path, k: int, hide: bool) -> Path:
    c = (lambda v: "[c]") if hide else (lambda v: v)
    sheets = {
        # 3 of 1,500 person-years at 2.00 per 1,000: the printed rate gives the count away
        "rates": (
            ["force", "period", "group", "events", "base", "rate", "status"],
            [
                ["Dorset", "2021-04 to 2024-03", "White", "600", "200,000.00", "3.00", "ok"],
                ["Dorset", "2021-04 to 2024-03", "Asian", "40", "10,000.00", "4.00", "ok"],
                ["Dorset", "2021-04 to 2024-03", "Other", c("3"), "1,500.00", "2.00", "ok"],
            ],
        ),
        # the total minus the shown group gives Other's 2; excluded_s60 prints a 3
        "strip": (
            ["group", "searches", "events", "share", "excluded_s60"],
            [
                ["Asian", "400", "28", "0.07", "0"],
                ["Other", "200", c("2"), c("0.01"), "3"],
                ["Total", "600", "30", "0.05", "3"],
            ],
        ),
    }
    params = {"suppression_threshold": k, "area": "Dorset", "reference": "White", "alpha": 0.05,
              "period_start": "2021-04", "period_end": "2024-03"}  # fmt: skip
    folder = tmp_path / f"k{k}" / "planted-report"
    _write_report(folder, sheets, "Of them, 3 searches found nothing.", params)
    rates_row = {"force": "Dorset", "period": "2021-04 to 2024-03", "group": "Other"}
    log = {
        "threshold": k,
        "cells": [
            {"sheet": "rates", "row": rates_row, "column": "events", "rule": "primary"},
            {"sheet": "strip", "row": {"group": "Other"}, "column": "events", "rule": "primary"},
        ],
        # a figure drawing the row whose count is withheld, and a row no table has
        "figures": [
            {"caption": "strip", "sheet": "strip", "rows": [{"group": "Other"}, {"group": "Black"}]}
        ],
    }
    (folder / "suppression.json").write_text(json.dumps(log if hide else {"cells": []}))
    return folder


def test_the_attacker_finds_planted_leaks(tmp_path):
    """On a planted report whose withheld counts can be worked out (a rate beside a [c]; a total
    minus its other part), which prints a small count in a table and in its prose, and whose
    figure draws a withheld row and a row no table has, every leak is found (the attack test can
    fail), and nothing the truth contradicts is claimed."""
    shown = attack.read_report(_planted(tmp_path, 4, hide=True))
    truth = attack.read_report(_planted(tmp_path, 0, hide=False))
    target = attack.Render("planted", [shown], [truth])
    score = attack.attack_render(target, {"Wessex": list(wessex_forces())})
    by_cell = {c["cell"].split(":", 1)[1]: c for c in score["cells"]}
    assert score["attacked"] == 2
    rate = by_cell["rates[force=Dorset, period=2021-04 to 2024-03, group=Other].events"]
    assert rate["known"] == "{3}" and "rate_x_base" in rate["attacks"]
    strip = by_cell["strip[group=Other].events"]
    assert strip["known"] == "{2}" and "totals_and_parts" in strip["attacks"]
    assert score["recovered_exactly"] == 2 and score["primary_narrowed"] == 2
    assert [v for v in attack.visible_small_counts(target) if "excluded_s60" in v] != []
    assert (3, "…Of them, 3 searches found nothing.…") in attack.prose_counts(shown)
    assert not [n for n in target.notes if n.startswith("unsound")]
    assert {c["rule"] for c in score["cells"]} == {"primary"} and score["primary"] == 2
    problems = attack.figure_problems(target)
    assert len(problems) == 2 and "withheld" in problems[0] and "not in strip" in problems[1]
