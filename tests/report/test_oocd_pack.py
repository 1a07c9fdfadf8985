"""The OOCD scrutiny pack rendered for Wessex and each Wessex force from the demo data (one batch
render): its headline table in the HTML and workbook against the library's own results
(dispro.oocd.quarterly_shares on the data the report loads) and a hand count from the rows, and
nothing from 1 to the threshold shown."""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dispro import oocd
from dispro.forces import wessex_forces
from dispro.report import check_parameters, render_batch
from dispro.report.inputs import filter_data, load_data

_spec = importlib.util.spec_from_file_location(
    "dispro_tests_oocd_extract", Path(__file__).with_name("_oocd_extract.py")
)
extract = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = extract
_spec.loader.exec_module(extract)

pytestmark = pytest.mark.slow
THRESHOLD = 4
PARAMS = {"report": "oocd", "area": "Wessex", "scale": 0.5, "period_start": "2022-04",
          "period_end": "2024-03"}  # fmt: skip


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("oocd_batch")
    index = render_batch(dict(PARAMS), out, pdf=False)
    params = check_parameters(PARAMS)
    with tempfile.TemporaryDirectory() as work:
        data, _ = load_data(params, Path(work))
    return {"index": index, "out": out, "data": data, "params": params}


AREAS = ["Wessex", *wessex_forces()]


@pytest.mark.parametrize("area", AREAS)
def test_each_area_renders_with_the_librarys_shares_and_a_hand_count(batch, area):
    params = check_parameters({**PARAMS, "area": area})
    data = filter_data(batch["data"], params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quarterly = oocd.quarterly_shares(
            data["disposals"], period_start=params["period_start"],
            period_end=params["period_end"], area=area, threshold=THRESHOLD,
        )  # fmt: skip
    name = f"oocd-scrutiny-pack_{area.lower()}_2022-04_2024-03"
    folder = batch["out"] / name
    page = (folder / f"{name}.html").read_text(encoding="utf-8")
    assert f"{area} out-of-court disposals scrutiny pack" in page
    assert "This quarter: January to March 2024" in page
    shown = extract.sheet(folder / f"{name}.xlsx", "o_latest")
    latest = quarterly[quarterly["period"] == "2024Q1"].reset_index(drop=True)
    assert shown[["area", "group"]].values.tolist() == latest[["area", "group"]].values.tolist()
    records = data["disposals"]
    quarter = records[records["date"].dt.to_period("Q").astype(str) == "2024Q1"]
    checked = 0
    for i, row in shown.iterrows():
        lib = latest.iloc[i]
        rows = quarter if row["area"] == "Wessex" else quarter[quarter["force"] == row["area"]]
        rows = rows[rows["ethnicity"] == row["group"]]
        for column, hand in (("events", rows["disposal"].ne("charge_summons").sum()),
                             ("base", len(rows))):  # fmt: skip
            assert lib[column] == hand
            if row[column] == "[c]":
                continue
            value = int(row[column].replace(",", ""))
            assert value == hand and not 1 <= value <= THRESHOLD
        if row["rate"] not in ("[c]", "[x]"):
            checked += 1
            assert float(row["rate"]) == pytest.approx(lib["rate"], abs=0.006)
            assert float(row["rate"]) == pytest.approx(100 * lib["events"] / lib["base"], abs=0.006)
        if row["rri"] not in ("[c]", "[x]"):
            assert float(row["rri"]) == pytest.approx(lib["rri"], abs=0.006)
        if row["group"] == "White":  # the reference group: its own interval not applicable
            assert row["ci_lower"] == row["ci_upper"] == "[z]"
        elif row["ci_lower"] not in ("[c]", "[x]"):
            assert float(row["ci_lower"]) == pytest.approx(lib["ci_lower"], abs=0.006)
            assert float(row["ci_upper"]) == pytest.approx(lib["ci_upper"], abs=0.006)
    assert checked >= 1
    # the headline sentence of each area quotes the shares the table shows, and no other
    for area_name, rows in shown.groupby("area", sort=False):
        # the workbook holds full precision; the sentence prints two decimals
        quoted = [(g, round(float(r), 2)) for g, r in zip(rows["group"], rows["rate"], strict=True)
                  if r not in ("[c]", "[x]")]  # fmt: skip
        sentence = re.search(
            r"Share of detected offenders dealt with out of court in January to March 2024: "
            r"([^<(]*)", page.split(f">{area_name}</h4>", 1)[1],
        )  # fmt: skip
        parts = [p.rsplit(" ", 1) for p in sentence.group(1).strip(" .").split("; ")]
        assert [(g, round(float(r.rstrip("%")), 2)) for g, r in parts] == quoted


def test_no_count_from_1_to_the_threshold_is_shown_in_any_oocd_table(batch):
    for workbook in batch["out"].glob("*/*.xlsx"):
        for suffix in ("o_latest", "o_quarters", "o_disposal", "o_offence_group", "o_sex",
                       "o_age_group"):  # fmt: skip
            table = extract.sheet(workbook, suffix)
            for column in ("events", "base"):
                values = pd.to_numeric(table[column].str.replace(",", ""), errors="coerce")
                assert not values.between(1, THRESHOLD).any(), (workbook.name, suffix, column)
