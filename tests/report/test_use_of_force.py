"""The use-of-force chapter: rendered from the real Home Office tables for each Wessex force,
its ratios those the library computes; one sentence when no tables are supplied (the demo)."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest
import yaml

from dispro import report, synth
from dispro.forces import wessex_forces
from dispro.report import check_parameters
from dispro.report.config import read_config
from dispro.report.params import ReportInputError
from dispro.useofforce import (
    NATIONAL,
    financial_years_in,
    national_comparison,
    read_use_of_force,
    use_of_force_rates,
)

UOF = "resistancelab_census2011_pfa_use_of_force/cleaned_data/use-of-force/by-ethnicity-force"
TABLES = ["april2018-march2019.csv", "april2019-march2020.csv"]
PERIOD = {"period_start": "2018-04", "period_end": "2020-03"}
NOT_SUPPLIED = "No Home Office use-of-force tables were supplied"


def _params(area: str, **more) -> dict:
    return check_parameters({"area": area, "report": "scrutiny", **PERIOD, **more})


def _uof(realdata, start="2018-04", end="2020-03"):
    counts = read_use_of_force([realdata / UOF / t for t in TABLES])
    return financial_years_in(counts, start, end)


def _fmt(x: float) -> str:
    """The house rule for ratios in sentences: no decimals from 10, one from 1, two below."""
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _texts(ch) -> list[str]:
    out = []
    for block in ch.blocks:
        if block["type"] in ("text", "heading"):
            out.append(block["text"])
        elif block["type"] == "bullets":
            out.extend(block["items"])
    return out


@pytest.mark.parametrize("area", ["Wessex", *wessex_forces()])
def test_the_chapter_shows_the_librarys_ratios(realdata, tmp_path, run_notebook, tables_of, area):
    uof = _uof(realdata)
    params = _params(area)
    ns = run_notebook("use_of_force", {"use_of_force": uof}, params, tmp_path)
    tables = tables_of(ns["ch"])
    assert set(tables) == {"rates", "national", "not_stated"}
    expected = use_of_force_rates(uof, area=area)
    forces = wessex_forces() if area == "Wessex" else [area]
    _, shown = tables["rates"]
    assert list(pd.unique(shown["area"])) == [*forces, NATIONAL]
    assert len(shown) == len(expected) == (len(forces) + 1) * 2 * 6
    # every ratio and interval printed is the library's, rounded to 2 decimals
    for (_, got), (_, want) in zip(shown.iterrows(), expected.iterrows(), strict=True):
        for column in ("rri", "ci_lower", "ci_upper", "rate"):
            value = want[column]
            assert got[column] == ("[x]" if pd.isna(value) else f"{value:,.2f}"), column
    national = national_comparison(expected)
    _, shown = tables["national"]
    assert [f"{v:.2f}" for v in national["rate_ratio"]] == shown["rate_ratio"].tolist()
    # the sentences quote the latest year's ratios, worded by the house rules
    text = " ".join(_texts(ns["ch"]))
    for force in forces:
        row = expected[(expected["area"] == force) & (expected["financial_year"] == "2019-20")
                       & (expected["group"] == "Black")].iloc[0]  # fmt: skip
        # the rate counts tactics, not people: the sentence says uses of force
        assert (
            f"{force}, 2019-20: Black people were subject to force {_fmt(row['rri'])} times as "
            f"often as White people, relative to their numbers (relative rate {_fmt(row['rri'])} "
            f"(95% confidence interval {_fmt(row['ci_lower'])} to {_fmt(row['ci_upper'])})): for "
            f"every 100 uses of force on White people, there were {round(100 * row['rri']):,} on "
            "Black people"
        ) in text
    assert "financial years 2018-19 and 2019-20 (April 2018 to March 2020)" in text
    assert "uses of force (tactics recorded), not people" in text


def test_a_year_outside_the_period_is_named(realdata, tmp_path, run_notebook):
    uof = _uof(realdata, "2019-06", "2021-03")
    ns = run_notebook("use_of_force", {"use_of_force": uof}, _params("Dorset", period_start="2019-06",
                      period_end="2021-03"), tmp_path)  # fmt: skip
    text = " ".join(_texts(ns["ch"]))
    assert "for the financial year 2019-20 (April 2019 to March 2020)" in text
    assert "cover months outside the report's period" in text
    assert "The tables for 2018-19 were supplied but lie outside the period." in text


def test_no_year_in_the_period_is_one_sentence(realdata, tmp_path, run_notebook):
    uof = _uof(realdata, "2021-04", "2024-03")
    ns = run_notebook("use_of_force", {"use_of_force": uof},
                      _params("Dorset", period_start="2021-04", period_end="2024-03"), tmp_path)  # fmt: skip
    assert [b["type"] for b in ns["ch"].blocks] == ["text"]
    assert "cover 2018-19 and 2019-20, none of which overlaps" in ns["ch"].blocks[0]["text"]


def test_without_tables_the_chapter_is_one_sentence(tmp_path, run_notebook):
    ns = run_notebook("use_of_force", {}, _params("Hampshire"), tmp_path)
    assert ns["ch"].blocks == [{"type": "text", "text": ns["ch"].blocks[0]["text"]}]
    assert ns["ch"].blocks[0]["text"].startswith(NOT_SUPPLIED)


def test_the_data_configuration_key(realdata, tmp_path):
    folder = realdata / UOF
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump({"stop_search": str(tmp_path), "use_of_force": str(folder)}))
    assert [p.name for p in read_config(path)["use_of_force"]] == TABLES
    path.write_text(
        yaml.safe_dump(
            {"stop_search": str(tmp_path), "use_of_force": {"2019-20": str(folder / TABLES[1])}}
        )  # fmt: skip
    )
    assert read_config(path)["use_of_force"] == {"2019-20": folder / TABLES[1]}
    path.write_text(
        yaml.safe_dump({"stop_search": str(tmp_path), "use_of_force": {"March": str(folder)}})
    )
    with pytest.raises(ReportInputError, match="`use_of_force` key 'March' .* not a financial"):
        read_config(path)
    other = tmp_path / "uof.csv"
    other.write_bytes((folder / TABLES[0]).read_bytes())
    path.write_text(yaml.safe_dump({"stop_search": str(tmp_path), "use_of_force": str(other)}))
    with pytest.raises(ReportInputError, match=r"\['uof.csv'\] do not name one financial year"):
        read_config(path)


@pytest.mark.slow
def test_every_wessex_force_renders_the_chapter_from_the_real_tables(realdata, tmp_path):
    """A batch render of the scrutiny pack (synthetic stop-and-search records, the real Home
    Office use-of-force tables): each force's HTML has the chapter and the library's ratios."""
    demo = tmp_path / "inputs"
    synth.write(demo, start=PERIOD["period_start"], end=PERIOD["period_end"], scale=0.1, seed=7)
    config = tmp_path / "data.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "stop_search": str(demo / "stop_search"),
                "use_of_force": [str(realdata / UOF / t) for t in TABLES],
            }
        )  # fmt: skip
    )
    out = tmp_path / "out"
    params = {"report": "scrutiny", "data": str(config), **PERIOD}
    report.render_batch({**params, "area": "Wessex"}, out, pdf=False)
    uof = _uof(realdata)
    for force in wessex_forces():
        name = report.report_name(check_parameters({**params, "area": force}))
        page = html.unescape((out / name / f"{name}.html").read_text(encoding="utf-8"))
        assert "Use of force by perceived ethnicity" in page and NOT_SUPPLIED not in page
        rates = use_of_force_rates(uof, area=force)
        for row in rates[rates["ci_lower"].notna()].itertuples():
            # the table row: the ratio and its interval as the library computed them
            assert f"{row.rri:.2f}" in page and f"{row.ci_lower:.2f}" in page
        latest = rates[(rates["area"] == force) & (rates["financial_year"] == "2019-20")
                       & (rates["group"] == "Black")].iloc[0]  # fmt: skip
        assert (
            f"{force}, 2019-20: Black people were subject to force {_fmt(latest['rri'])} times "
            "as often"
        ) in page
        prov = json.loads((out / name / "provenance.json").read_text())
        assert {i["file"].rsplit("/", 1)[-1] for i in prov["inputs"]} >= set(TABLES)
        assert prov["disclosure"]["relations_dropped"] == 0
        assert prov["disclosure"]["conflicts"] == 0


@pytest.mark.slow
def test_the_demo_render_says_once_there_are_no_tables(tmp_path):
    """No empty chapter: without tables the chapter is left out and the summary says why."""
    folder = report.render(
        {"area": "Dorset", "report": "scrutiny", "scale": 0.1, "period_start": "2023-04",
         "period_end": "2024-03"}, tmp_path, pdf=False)  # fmt: skip
    page = html.unescape((folder / f"{folder.name}.html").read_text(encoding="utf-8"))
    assert page.count("there is no use-of-force chapter: the demonstration data have no "
                      "use-of-force records") == 1  # fmt: skip
    assert 'id="use-of-force"' not in page
    assert "Uses of force per 1,000 residents" not in page
