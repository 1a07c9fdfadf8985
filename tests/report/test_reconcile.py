"""The reconciliation with the Home Office published totals in the data-quality appendix: the
`official_totals` key of a data configuration, the section's three cases (a table, one line,
nothing), disclosure of the records count, and the City of London pack rendered with it."""

from __future__ import annotations

import csv
import json
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dispro import report
from dispro.errors import DataQualityWarning
from dispro.report import chapter, check_parameters
from dispro.report.config import config_inputs, read_config
from dispro.report.inputs import filter_data, load_data, official_totals
from dispro.report.params import ReportInputError
from dispro.report.sections import reconcile

CITY = {"report": "scrutiny", "area": "City of London", "period_start": "2017-12",
        "period_end": "2020-11", "comparison_start": "2017-12", "comparison_end": "2018-11"}  # fmt: skip
#: Totals written for the test: 2018/19 within 5% of the records, 2019/20 beyond it.
TOTALS = {2019: 1550, 2020: 3200}


def _hand_count(folder: Path, first: str, last: str) -> int:
    """Rows of the City of London files from ``first`` to ``last``, with the csv module."""
    n = 0
    for month in pd.period_range(first, last, freq="M").astype(str):
        path = folder / month / f"{month}-city-of-london-stop-and-search.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            n += sum(1 for _ in csv.DictReader(fh))
    return n


def _config(folder: Path, realdata: Path, totals: str | None = "totals/ss20.csv") -> Path:
    (folder / "totals").mkdir(exist_ok=True)
    lines = ["force_id,pfa_code,year_end,published_total,scope,retrieved,source"]
    lines += [f"city-of-london,E23000034,{y},{t},test,2026-12-03,test" for y, t in TOTALS.items()]
    lines.append("dorset,E23000039,2019,2100,test,2026-12-03,test")
    (folder / "totals" / "ss20.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = f"stop_search: {realdata / 'police_uk_stop_search_city_of_london'}\n"
    if totals is not None:
        text += f"official_totals: {totals}\n"
    path = folder / "data.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _load(params: dict) -> dict:
    with tempfile.TemporaryDirectory() as work, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        data, inputs = load_data(params, Path(work))
    return filter_data(data, params), inputs


# --------------------------------------------------------------------------------------------
# the data configuration
# --------------------------------------------------------------------------------------------


def test_official_totals_in_a_data_configuration(tmp_path, realdata):
    path = _config(tmp_path, realdata)
    config = read_config(path)
    assert config["official_totals"] == [tmp_path / "totals" / "ss20.csv"]
    listed = [rel for _, rel in config_inputs(config, path)]
    assert listed[-1] == "totals/ss20.csv" and len(listed) == 37
    assert "official_totals" not in read_config(_config(tmp_path, realdata, totals=None))


@pytest.mark.parametrize(
    "text, match",
    [
        ("official_totals: totals\n", "not a file"),
        ("official_totals: nowhere.csv\n", "does not exist"),
        ("official_totals: 5\n", "`official_totals` is 5"),
        ("official_totals: []\n", "`official_totals`"),
    ],
)
def test_a_bad_official_totals_key_is_refused(tmp_path, realdata, text, match):
    path = _config(tmp_path, realdata, totals=None)
    path.write_text(path.read_text() + text)
    with pytest.raises(ReportInputError, match=match) as err:
        read_config(path)
    assert str(path) in str(err.value)


def test_official_totals_without_stop_search_records_are_refused(tmp_path, realdata):
    _config(tmp_path, realdata)
    (tmp_path / "courts.csv").write_text("x\n1\n")
    path = tmp_path / "other.yaml"
    path.write_text("disposals: courts.csv\nofficial_totals: totals/ss20.csv\n")
    with pytest.raises(ReportInputError, match="no stop_search files"):
        read_config(path)


def test_the_totals_travel_with_the_records_and_a_bad_file_names_the_key(tmp_path, realdata):
    params = check_parameters({**CITY, "data": str(_config(tmp_path, realdata))})
    data, inputs = _load(params)
    totals = official_totals(data)
    # only the records' forces are carried (not Dorset)
    assert totals[["force", "year_end", "published_total"]].values.tolist() == [
        ["City of London", 2019, 1550],
        ["City of London", 2020, 3200],
    ]
    assert inputs[-1]["file"] == "totals/ss20.csv"
    (tmp_path / "bundled").mkdir()
    default = _config(tmp_path / "bundled", realdata, totals=None)
    data, inputs = _load(check_parameters({**CITY, "data": str(default)}))
    assert official_totals(data)[["financial_year", "published_total"]].values.tolist() == [
        ["2024/25", 2348]  # the bundled table, not listed as an input of the report
    ]
    assert len(inputs) == 36
    (tmp_path / "totals" / "ss20.csv").write_text(
        "force_id,year_end,published_total\nnarnia,2019,1\n"
    )
    with pytest.raises(ReportInputError, match="`official_totals`.*'force_id'.*line 2"):
        _load(params)


# --------------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city_quality(tmp_path_factory, realdata, run_notebook, tables_of):
    """The data-quality chapter of the City of London pack with the test's totals."""
    folder = tmp_path_factory.mktemp("config")
    params = check_parameters({**CITY, "data": str(_config(folder, realdata))})
    data, _ = _load(params)
    ns = run_notebook("data_quality", data, params, tmp_path_factory.mktemp("dq"))
    return {"ns": ns, "tables": tables_of(ns["ch"]), "params": params, "data": data}


def test_the_table_against_a_hand_count(city_quality, realdata):
    folder = realdata / "police_uk_stop_search_city_of_london"
    block, table = city_quality["tables"]["reconciliation"]
    assert block["count_columns"] == ["records"]
    assert table["financial_year"].tolist() == ["2018/19", "2019/20"]
    for row, end in zip(table.to_dict("records"), TOTALS, strict=True):
        hand = _hand_count(folder, f"{end - 1}-04", f"{end}-03")
        assert row["records"] == f"{hand:,}"
        assert row["published_total"] == f"{TOTALS[end]:,}"
        assert row["difference"] == f"{hand - TOTALS[end]:.1f}"
        assert row["difference_pct"] == f"{100 * (hand - TOTALS[end]) / TOTALS[end]:.1f}"
        assert row["months_supplied"] == "12" and row["force"] == "City of London"
    assert table["beyond_tolerance"].tolist() == ["no", "yes"]
    blocks = city_quality["ns"]["ch"].blocks
    i = next(i for i, b in enumerate(blocks) if b.get("name") == "reconciliation")
    (sentence,) = blocks[i + 1]["items"]  # only the year beyond 5% has a sentence
    assert sentence.startswith("City of London, 2019/20:") and "3,200" in sentence


def test_a_withheld_records_count_hides_what_is_worked_out_from_it(city_quality, tmp_path):
    """The joint solve withholds the records of 2019/20 (as it may, to protect another table):
    the difference, per cent, flag and sentence go with it; the published total stays."""
    table = city_quality["ns"]["reconciliation"]
    ch = chapter("data_quality", title="Data quality", work_dir=str(tmp_path),
                 suppression_threshold=4, params=city_quality["params"])  # fmt: skip
    ch.withheld = {("all_searches", "City of London", (2019 * 12 + 3, 2020 * 12 + 2), "All",
                    "All"): "secondary"}  # fmt: skip
    reconcile.reconciliation(ch, table, city_quality["params"])
    shown = pd.read_json(tmp_path / "content" / "data_quality__reconciliation.json", orient="split")
    shown = shown.astype(str).set_index("financial_year")
    assert shown.loc["2019/20", "records"] == "[c]"
    assert (
        shown.loc["2019/20", ["difference", "difference_pct", "beyond_tolerance"]] == "[c]"
    ).all()
    assert shown.loc["2019/20", "published_total"] == "3,200"
    assert shown.loc["2018/19", "records"] != "[c]"
    assert not any(b["type"] == "bullets" for b in ch.blocks)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("demo", "synthetic"),
        ("no_total", "hold none of the financial years of this period (2018/19, 2019/20)"),
        ("no_year", None),
    ],
)
def test_one_line_or_nothing(city_quality, tmp_path, case, expected):
    params = dict(city_quality["params"])
    table = city_quality["ns"]["reconciliation"]
    if case == "demo":
        params["data"] = "demo"
    elif case == "no_total":
        table = table.assign(published_total=pd.array([pd.NA] * len(table), dtype="Int64"))
    else:
        table = table.iloc[:0]
    ch = chapter("data_quality", title="Data quality", work_dir=str(tmp_path),
                 suppression_threshold=4, params=params)  # fmt: skip
    reconcile.reconciliation(ch, table, params)
    texts = [b["text"] for b in ch.blocks if b["type"] == "text"]
    assert not any(b["type"] == "table" for b in ch.blocks)
    if expected is None:
        assert ch.blocks == []
    else:
        assert len(texts) == 1 and expected in texts[0]


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_city_pack_renders_the_table_in_the_data_quality_appendix(tmp_path, realdata):
    folder = realdata / "police_uk_stop_search_city_of_london"
    params = {**CITY, "data": str(_config(tmp_path, realdata))}
    out = report.render(params, tmp_path / "out", pdf=False)
    text = (out / f"{out.name}.html").read_text(encoding="utf-8")
    appendix = text[text.index('id="data-quality"') : text.index('id="methods"')]
    assert "Reconciliation with the Home Office published totals" in appendix
    assert 'data-sheet="data_quality_reconciliation"' in appendix
    hands = {end: _hand_count(folder, f"{end - 1}-04", f"{end}-03") for end in TOTALS}
    for end, hand in hands.items():
        assert f"{hand:,}" in appendix and f"{TOTALS[end]:,}" in appendix
    from dispro.report.workbook import read_table

    sheet = read_table(out / f"{out.name}.xlsx", "data_quality_reconciliation")
    sheet = sheet.set_index("financial_year")
    for end, hand in hands.items():
        label = f"{end - 1}/{end % 100:02d}"
        assert sheet.loc[label, "records"] == hand
        assert sheet.loc[label, "published_total"] == TOTALS[end]
        assert sheet.loc[label, "difference"] == hand - TOTALS[end]
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"][-1]["file"] == "totals/ss20.csv"
