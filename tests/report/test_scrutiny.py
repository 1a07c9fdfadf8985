"""The quarterly stop-and-search scrutiny pack as its notebook (notebooks/scrutiny.ipynb) records
it: the sentences written from the library's tables, planted changes against their sentences,
and disclosure control in every table the pack publishes."""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dispro.dictionary import codelist
from dispro.population import census2021
from dispro.report import check_parameters
from dispro.report.inputs import filter_data, load_data
from dispro.report.wording import people

THRESHOLD = 4
PARAMS = {
    "area": "Wessex",
    "scale": 0.15,
    "period_start": "2022-04",
    "period_end": "2024-03",
    "report": "scrutiny",
}
FORCES = ["Dorset", "Hampshire", "Wiltshire"]
S60 = set(codelist("legislation").query("section60 == 'true'")["code"])


def _load(params):
    with tempfile.TemporaryDirectory() as work:
        data, _ = load_data(params, Path(work))
    return filter_data(data, params)


def _results(ns) -> dict:
    """What the notebook computed, by step."""
    return {
        "quarterly": ns["quarterly_pack"],
        "change": ns["changes"],
        "outcomes": ns["outcomes"],
        "concordance": ns["concordance_pack"],
        "darkness": ns["darkness"],
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory, run_notebook, tables_of):
    """The synthetic Wessex data as the report loads it, and the pack's notebook run on it."""
    params = check_parameters(PARAMS)
    data = _load(params)
    ns = run_notebook("scrutiny", data, params, tmp_path_factory.mktemp("pack"))
    return {"params": params, "data": data, "results": _results(ns), "ch": ns["ch"],
            "tables": tables_of(ns["ch"])}  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory, realdata, run_notebook, tables_of):
    """The City of London pack from the real data.police.uk files (as its config names them)."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "reports" / "config" / "city_of_london.yaml").read_text())
    config["data"] = str(root / "reports" / "config" / config["data"])
    params = check_parameters(config)
    ns = run_notebook("scrutiny", _load(params), params, tmp_path_factory.mktemp("city"))
    return {
        "params": params,
        "results": _results(ns),
        "ch": ns["ch"],
        "tables": tables_of(ns["ch"]),
        "folder": realdata / "police_uk_stop_search_city_of_london",
    }


def _bullets(ch) -> list[str]:
    return [item for b in ch.blocks if b["type"] == "bullets" for item in b["items"]]


def _area_bullets(ch, section: str, area: str) -> list[str]:
    """The bullets under an area's heading within the section whose heading starts ``section``."""
    in_section, in_area = False, False
    for block in ch.blocks:
        if block["type"] == "heading" and block["level"] < 4:
            in_section, in_area = block["text"].startswith(section), False
        elif block["type"] == "heading":
            in_area = in_section and block["text"] == area
        elif block["type"] == "bullets" and in_area:
            return block["items"]
    raise AssertionError(f"no bullets for {area} under {section!r}")


def _planted_params(start: str, end: str, area: str = "Dorset") -> dict:
    return check_parameters(
        {"area": area, "report": "scrutiny", "period_start": start, "period_end": end}
    )


def _pack(records, params, work, run_notebook):
    """The pack's quarterly steps of its notebook on planted records (which lack the fields of
    the whole-period steps): (its namespace, its chapter)."""
    ns = run_notebook(
        "scrutiny", {"stop_search": records}, params, work, stop_after="scrutiny.rates_by_quarter"
    )
    return ns, ns["ch"]


# --------------------------------------------------------------------------------------------
# the latest quarter in words and as a table
# --------------------------------------------------------------------------------------------


def test_headline_sentences_follow_the_wording_rules(demo):
    quarterly = demo["results"]["quarterly"]
    latest = quarterly[quarterly["period"] == "2024Q1"]
    text = " ".join(_bullets(demo["ch"]))
    for _, row in latest.iterrows():
        group = row["group"]
        if group == "White":
            continue
        excludes_one = row["ci_lower"] > 1 or row["ci_upper"] < 1
        if row["status"] == "suppressed":
            assert f"the figures for {people(group)} are withheld" in text.replace(
                "The figures", "the figures"
            )
        elif row["status"] != "ok":
            assert f"too few cases to tell whether {people(group)}" in text
        elif row["significant"] and excludes_one:
            per100 = round(100 * row["rri"])
            assert (
                f"for every 100 White people stopped and searched, {per100} {people(group)} were"
            ) in text
        else:
            assert (
                f"no clear evidence of a difference between {people(group)} and White people"
                in text
            )
    # the rates said in words are the table's, for every area
    for area, rows in latest.groupby("area"):
        shown = rows[rows["status"].isin(["ok", "zero_events"])]
        sentence = next(
            s
            for s in _area_bullets(demo["ch"], "This quarter", area)
            if s.startswith("Person searches per 1,000 residents a year in January to March 2024: ")
        )
        for _, row in shown.iterrows():
            assert f"{row['group']} {row['rate']:,.2f}" in sentence, (area, row["group"])
    # the Wessex Black ratio is disproportionate in this seeded demo
    wessex_black = latest[(latest["area"] == "Wessex") & (latest["group"] == "Black")].iloc[0]
    assert wessex_black["significant"] and wessex_black["ci_lower"] > 1
    assert "This is a disproportionate difference." in text


def test_the_published_latest_quarter_table_is_the_quarterly_tables_rows(demo):
    _, latest = demo["tables"]["q_latest"]
    _, quarterly = demo["tables"]["q_rates"]
    assert set(latest["period"]) == {"2024Q1"}
    pd.testing.assert_frame_equal(
        latest.reset_index(drop=True),
        quarterly[quarterly["period"] == "2024Q1"].reset_index(drop=True),
    )
    assert demo["ch"].name == "scrutiny"
    assert {b["sheet"] for b, _ in demo["tables"].values()} >= {"stop_search_q_latest"}


# --------------------------------------------------------------------------------------------
# change since the previous quarter and a year earlier
# --------------------------------------------------------------------------------------------


def test_planted_changes_give_the_right_sentences(planted_searches, tmp_path, run_notebook):
    pop = census2021("Dorset", by=()).set_index("ethnicity")["population"]
    white = 5000  # searches a quarter

    def events(rri, group):
        return int(round(rri * white * pop[group] / pop["White"]))

    steady = {
        "White": white,
        "Asian": events(1.5, "Asian"),
        "Black": events(2, "Black"),
        "Mixed": events(1.2, "Mixed"),
        "Other": events(1, "Other"),
    }
    latest = {**steady, "Black": events(4, "Black"), "Mixed": 3}
    quarters = ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1"]
    records = planted_searches({q: (latest if q == "2024Q1" else steady) for q in quarters})
    params = _planted_params("2023-01", "2024-03")
    ns, ch = _pack(records, params, tmp_path, run_notebook)
    change = ns["changes"].set_index(["group", "compared_with"])
    text = _bullets(ch)
    # the planted doubling of the Black relative rate: clear against both comparisons
    for label, words in (
        ("the previous quarter", "October to December 2023"),
        ("the same quarter a year earlier", "January to March 2023"),
    ):
        row = change.loc[("Black", label)]
        assert row["estimate"] == pytest.approx(2, rel=0.02) and row["significant"]
        # one sentence per comparison: the clear change, those without clear evidence,
        # the withheld group
        found = [t for t in text if t.startswith(f"Since {label}, {words}: ")]
        assert len(found) == 1, [t[:150] for t in text if "grown" in t]
        (said,) = found
        assert (
            "the difference from White people has grown for Black (relative rate from 2.0 to "
            "4.0; q "
        ) in said
        # no change planted for Asian and Other people
        for group in ("Asian", "Other"):
            assert not change.loc[(group, label), "significant"]
        assert "no clear evidence of a change for Asian, Other" in said
        # three Mixed searches in the latest quarter: suppressed, and the change withheld
        assert change.loc[("Mixed", label), "status"] == "suppressed"
        assert said.endswith("too few cases to tell, or withheld, for Mixed.")
    # and the headline of the latest quarter says the Black ratio is disproportionate
    assert any(
        "Black people were 4.0 times as likely as White people to be stopped and searched" in t
        and "for every 100 White people stopped and searched, 400 Black people were" in t
        for t in text
    )
    assert "the figures for people from the Mixed ethnic group are withheld" in " ".join(
        text
    ).replace("The figures", "the figures")


def test_a_short_period_says_the_year_earlier_comparison_is_out_of_reach(
    planted_searches, tmp_path, run_notebook
):
    rows = {"White": 400, "Black": 40, "Asian": 30, "Mixed": 20, "Other": 10}
    records = planted_searches({"2023Q4": rows, "2024Q1": rows})
    params = _planted_params("2023-10", "2024-03")
    ns, ch = _pack(records, params, tmp_path, run_notebook)
    quarterly, change = ns["quarterly_pack"], ns["changes"]
    assert set(change["compared_with"]) == {"the previous quarter"}
    assert np.allclose(change["estimate"], 1.0) and not change["significant"].any()
    assert (
        "Dorset: the change since the same quarter a year earlier cannot be tested: January "
        "to March 2023 falls outside the report's period."
    ) in _bullets(ch)
    assert sorted(quarterly["period"].unique()) == ["2023Q4", "2024Q1"]


def test_quarter_tables_hold_the_last_eight_quarters_for_each_force_and_wessex(demo):
    quarters = [str(p) for p in pd.period_range("2022Q2", "2024Q1", freq="Q")]
    for name in ("q_rates", "q_hit_rates", "q_strip", "q_s60", "q_concordance"):
        _, table = demo["tables"][name]
        assert sorted(table["period"].unique()) == quarters, name
        assert list(dict.fromkeys(table["area"])) == [*FORCES, "Wessex"], name


# --------------------------------------------------------------------------------------------
# disclosure control
# --------------------------------------------------------------------------------------------

_DERIVED = {  # table -> (count columns, columns worked out from them)
    "q_latest": (("events",), ("rate", "rri", "ci_lower", "ci_upper")),
    "q_rates": (("events",), ("rate", "rri", "ci_lower", "ci_upper")),
    "q_hit_rates": (("searches", "hits"), ("hit_rate", "ci_lower", "ci_upper", "ratio")),
    "q_strip": (("searches", "strip_searches"), ("share", "ci_lower", "ci_upper")),
    "q_s60": (("searches", "s60_searches"), ("share", "ci_lower", "ci_upper")),
    "q_concordance": (("searches",), ("agreement", "kappa")),
}
_COUNT_NAMES = {
    "events",
    "base",
    "searches",
    "hits",
    "strip_searches",
    "s60_searches",
    "n",
    "n_minority",
    "n_reference",
    "n_dark",
    "n_light",
    "reference_events",
}


def _numbers(results) -> dict[str, pd.DataFrame]:
    """The unpublished tables behind the quarter-by-quarter tables."""
    return {
        "q_rates": results["quarterly"],
        "q_hit_rates": results["outcomes"]["hit_rates"],
        "q_strip": results["outcomes"]["strip"],
        "q_s60": results["outcomes"]["s60"],
        "q_concordance": results["concordance"],
    }


def _recovered(published: pd.Series, numbers: pd.Series, total_shown: bool) -> bool:
    """Is a withheld cell of a line worked out exactly from the line's published total? (Each
    withheld cell is a whole number of at least 0: a zero may be withheld to protect another;
    tests/report/test_attack.py attacks every table at once.)"""
    hidden = (published == "[c]").to_numpy()
    k = int(hidden.sum())
    if k == 0 or not total_shown:
        return False
    return k == 1 or int(numbers.to_numpy()[hidden].sum()) == 0


def _check_disclosure(ch, tables, numbers, *, small_cells: bool):
    assert set(_DERIVED) <= set(tables)
    for name, (block, table) in tables.items():
        for column in table.columns:
            if column in _COUNT_NAMES or column in block["count_columns"]:
                values = pd.to_numeric(
                    table[column].astype(str).str.replace(",", ""), errors="coerce"
                )
                assert not values.between(1, THRESHOLD).any(), (name, column)
        if name not in _DERIVED:
            continue
        count_columns, derived = _DERIVED[name]
        hidden = np.logical_or.reduce([table[c] == "[c]" for c in count_columns])
        if small_cells and name != "q_concordance":  # concordance has only large cells here
            assert hidden.any(), name  # the demo has small cells in every quarterly table
        for c in derived:  # [c], or [x] where there is no rate at all (no population)
            assert table.loc[hidden, c].isin(["[c]", "[x]"]).all(), (name, c)
        if name not in numbers:
            continue
        # no withheld count can be worked out from a total: the forces add up to Wessex in each
        # quarter, and the quarters to each area's whole period (published in the chapter)
        num = numbers[name].reset_index(drop=True)
        assert len(num) == len(table)
        keys = ["group"] if "group" in table.columns else []
        for c in count_columns:
            for _, line in table.groupby(["period", *keys]):
                if "Wessex" in set(line["area"]):
                    forces = line[line["area"] != "Wessex"]
                    total = line.loc[line["area"] == "Wessex", c].iloc[0]
                    assert not _recovered(
                        forces[c], num.loc[forces.index, c], total not in ("[c]", "[x]")
                    ), (name, c, line)
            for _, line in table.groupby(["area", *keys]):
                whole = int(num.loc[line.index, c].sum())
                assert not _recovered(
                    line[c], num.loc[line.index, c], not 1 <= whole <= THRESHOLD
                ), (name, c, line)
    # no count below the threshold in the text: the darkness reason's per-area-year list is cut
    text = " ".join(b.get("text", "") + " ".join(b.get("items", [])) for b in ch.blocks)
    assert not re.search(r"\b\d{4}: \d+ Black, \d+ White", text)


def test_no_small_count_in_any_table_of_the_pack(demo):
    _check_disclosure(demo["ch"], demo["tables"], _numbers(demo["results"]), small_cells=True)


def test_a_withheld_reference_count_hides_the_ratios_of_its_quarter(
    planted_searches, tmp_path, run_notebook, tables_of
):
    """Three White searches in Dorset: withheld, and (quarters by forces, with totals) the other
    White counts of that rectangle too; every ratio against a withheld White count goes."""
    dorset = planted_searches(
        {"2023Q4": {"White": 50, "Black": 20}, "2024Q1": {"White": 3, "Black": 20}}
    )
    wilts = planted_searches(
        {"2023Q4": {"White": 70, "Black": 20}, "2024Q1": {"White": 60, "Black": 20}},
        force="Wiltshire",
    )
    records = pd.concat([dorset, wilts], ignore_index=True)
    records.attrs["coverage"] = dorset.attrs["coverage"] + wilts.attrs["coverage"]
    params = _planted_params("2023-10", "2024-03", area="Wessex")
    _, ch = _pack(records, params, tmp_path, run_notebook)
    published = tables_of(ch)["q_rates"][1].set_index(["area", "period", "group"])
    for area in ("Dorset", "Wiltshire"):
        assert published.loc[(area, "2024Q1", "White"), "events"] == "[c]"
        assert published.loc[(area, "2024Q1", "Black"), "rri"] == "[c]"
    assert published.loc[("Wiltshire", "2024Q1", "Black"), "events"] == "20"
    assert published.loc[("Wessex", "2024Q1", "White"), "events"] == "63"
    assert published.loc[("Wessex", "2024Q1", "Black"), "rri"] not in ("[c]", "[x]")
    assert any(
        "the figures for black people are withheld" in t.lower()
        for t in _area_bullets(ch, "This quarter", "Wiltshire")
    )


# --------------------------------------------------------------------------------------------
# the veil of darkness: where eligible
# --------------------------------------------------------------------------------------------


def test_darkness_is_reported_only_where_eligible(demo):
    # the pack's small demo (scale 0.15): no force, nor the forces together, has 100 Black
    # searches a year in the window: a sentence each, no table (the full demo at scale 1 is
    # eligible pooled: tests/stopsearch/test_darkness_areas.py)
    darkness = demo["results"]["darkness"]
    assert list(darkness["area"]) == [*FORCES, "Wessex (forces pooled)"]
    assert (darkness["status"] == "ineligible").all()
    assert "darkness" not in demo["tables"]
    pooled = darkness.set_index("area").loc["Wessex (forces pooled)", "reason"]
    assert "years of the areas pooled" in pooled  # counted over the forces together
    texts = [b["text"] for b in demo["ch"].blocks if b["type"] == "text"]
    assert any(
        "pools the searches of Dorset, Hampshire and Wiltshire" in t and "force as a control" in t
        for t in texts
    )
    for area in [*FORCES, "Wessex (forces pooled)"]:
        assert any(
            t.startswith(
                f"{area}: the test was not run, because the data are not eligible: "
                "fewer than 100 stops of each group"
            )
            for t in _bullets(demo["ch"])
        )


# --------------------------------------------------------------------------------------------
# the full report's stop-and-search chapter gets none of the pack; the City of London pack
# --------------------------------------------------------------------------------------------


def test_the_full_report_gets_none_of_the_pack(demo, tmp_path, run_notebook, tables_of):
    params = {**demo["params"], "report": "wessex"}
    ns = run_notebook("stop_search", demo["data"], params, tmp_path)
    names = set(tables_of(ns["ch"]))
    assert names and not {n for n in names if n.startswith("q_")}
    assert {"rates", "bounds", "hit_rates", "quarters", "change"} <= names
    assert "quarterly_pack" not in ns


def _self_defined(value: str) -> str:
    if not value or value.startswith("Other ethnic group - Not stated"):
        return "Not stated"
    for prefix, group in (
        ("White", "White"),
        ("Asian", "Asian"),
        ("Black", "Black"),
        ("Mixed", "Mixed"),
        ("Other", "Other"),
    ):
        if value.startswith(prefix):
            return group
    raise AssertionError(value)


def test_city_of_london_pack_from_real_data(city):
    """The latest quarter of the real files with every month supplied (July to September 2020:
    October and November 2020 leave 2020Q4 incomplete), counted with csv."""
    searches, hits, strip, people = {}, {}, {}, {}
    for month in ("2020-07", "2020-08", "2020-09"):
        path = city["folder"] / month / f"{month}-city-of-london-stop-and-search.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["Type"] == "Vehicle search":
                    continue
                group = _self_defined(row["Self-defined ethnicity"])
                people[group] = people.get(group, 0) + 1
                linked = row["Outcome linked to object of search"]
                if row["Legislation"] not in S60 and linked in ("True", "False"):
                    searches[group] = searches.get(group, 0) + 1
                    hits[group] = hits.get(group, 0) + (linked == "True")
                if row["Removal of more than just outer clothing"] == "True":
                    strip[group] = strip.get(group, 0) + 1
    got = city["results"]["outcomes"]["hit_rates"].query("period == '2020Q3'").set_index("group")
    for group in ("White", "Asian", "Black", "Mixed", "Other"):
        assert got.loc[group, "searches"] == searches[group]
        assert got.loc[group, "hits"] == hits[group]
    got = city["results"]["outcomes"]["strip"].query("period == '2020Q3'").set_index("group")
    for group in ("White", "Black"):
        assert got.loc[group, "strip_searches"] == strip.get(group, 0)
    # the City's own population (Census 2021 TS021): a rate and a ratio for every group
    quarterly = city["results"]["quarterly"]
    latest = quarterly[quarterly["period"] == "2020Q3"].set_index("group")
    residents = {"White": 5955, "Asian": 1445, "Black": 232, "Mixed": 470, "Other": 482}
    for group, n in residents.items():
        assert latest.loc[group, "events"] == people[group]
        assert latest.loc[group, "rate"] == pytest.approx(people[group] / (n * 3 / 12) * 1000)
    assert latest["rri"].notna().all()
    text = _bullets(city["ch"])
    assert not any("cannot be calculated for City of London" in t for t in text)
    assert sorted(quarterly["period"].unique())[-1] == "2020Q3"
    assert quarterly["period"].nunique() == 8
    assert "2020Q4 has 2 of its 3 months" in quarterly.attrs["quarter_note"]
    assert not city["results"]["change"].empty
    assert not city["results"]["concordance"].empty
    _check_disclosure(city["ch"], city["tables"], _numbers(city["results"]), small_cells=False)
