"""How a published table is shown (dispro.report.present and its HTML layout): the numbers a
reader sees against the full values they come from, worked by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from dispro.disclosure import publishable
from dispro.report import check_parameters
from dispro.report._html_tables import TEXT_WIDTH_PT, column_widths, table_html
from dispro.report.present import P_FORMAT, STATUS_WORDS, present
from dispro.report.recorder import shown_values
from dispro.report.wording import agreeing_decimals, interval_text

PARAMS = check_parameters({"area": "Dorset"})
BLOCK = {"sheet": "s", "caption": "Rates", "notes": "Rates per 1,000 residents a year.",
         "count_columns": ["events"]}  # fmt: skip


def _shown(frame: pd.DataFrame, block=BLOCK):
    published = publishable(frame, threshold=4, counts=("events",))
    values = shown_values(frame.reset_index(drop=True), published)
    values = pd.DataFrame(values["data"], columns=values["columns"], dtype=object)
    return present(published, block, PARAMS, values=values)


RATES = pd.DataFrame({
    "group": ["White", "Black", "Asian", "Mixed"],
    "events": [2000, 150, 40, 30],
    "base": [4_000_000.4, 100_000.25, 90_000.0, 60_000.0],
    "rate": [2000 / 4_000.0004, 150 / 100.00025, 40 / 90.0, 30 / 60.0],
    "rri": [1.0, 3.0, 0.9, 1.06],
    "ci_lower": [np.nan, 2.5, 0.62, 1.0041],
    "ci_upper": [np.nan, 3.6, 0.99951, 1.2],
    "q_value": [np.nan, 0.0000123, 0.04, 0.3],
    "status": ["ok", "ok", "ok", "ok"],
})  # fmt: skip


def test_numbers_are_printed_as_a_reader_reads_them():
    shown = _shown(RATES)
    text = {r[0].text: {c: cell.text for c, cell in zip(shown.columns, r, strict=True)}
            for r in shown.rows}  # fmt: skip
    # p and q: <0.001 when small, three decimals otherwise, never 0.00
    assert text["Black"]["q_value"] == "<0.001" and text["Asian"]["q_value"] == "0.040"
    # person-years whole: 4,000,000.4 -> 4,000,000; 100,000.25 -> 100,000
    assert text["White"]["base"] == "4,000,000" and text["Black"]["base"] == "100,000"
    # the reference row: not applicable, not "not available"
    assert text["White"]["ci_lower"] == "[z]" and text["White"]["q_value"] == "[z]"
    assert shown.reference == [True, False, False, False]
    assert text["Black"]["status"] == STATUS_WORDS["ok"] == "Estimated"
    # interval digits agree with the interval: 1.0041 > 1 is printed 1.004, not 1.00;
    # 0.99951 < 1 is printed 0.9995, not 1.00; 0.62 stays 0.62
    assert text["Mixed"]["ci_lower"] == "1.004" and text["Asian"]["ci_upper"] == "0.9995"
    assert text["Asian"]["ci_lower"] == "0.62" and text["Black"]["ci_upper"] == "3.60"
    # the workbook's format prints the same text
    q = next(c for c in shown.rows[1] if c.text == "<0.001")
    assert q.value == 0.0000123 and q.number_format == P_FORMAT
    lower = shown.rows[3][shown.columns.index("ci_lower")]
    assert lower.value == 1.0041 and lower.number_format == "#,##0.000"
    labels = dict(zip(shown.columns, shown.labels, strict=True))
    assert labels["rate"] == "Rate per 1,000 residents a year"
    assert labels["rri"] == "Relative rate (White = 1)"
    assert labels["base"] == "Person-years at risk (residents × years)"


def test_a_share_is_printed_as_per_cent():
    frame = pd.DataFrame({"group": ["White", "Black"], "searches": [900, 120],
                          "hits": [200, 30], "hit_rate": [200 / 900, 0.25]})  # fmt: skip
    block = {"sheet": "h", "caption": "Hit rate by group", "notes": "",
             "count_columns": ["searches", "hits"]}  # fmt: skip
    published = publishable(frame, threshold=4, counts=("searches", "hits"))
    values = shown_values(frame, published)
    values = pd.DataFrame(values["data"], columns=values["columns"], dtype=object)
    shown = present(published, block, PARAMS, values=values)
    rate = [r[shown.columns.index("hit_rate")] for r in shown.rows]
    assert [c.text for c in rate] == ["22.2%", "25.0%"]  # 200/900 = 22.22...%
    assert rate[0].value == 200 / 900 and rate[0].number_format == "0.0%"
    assert shown.labels[shown.columns.index("hit_rate")] == "Hit rate (per cent)"


@pytest.mark.parametrize("seed", range(5))
def test_a_printed_interval_excludes_1_exactly_when_the_interval_does(seed):
    """Simulated intervals near 1: the printed bounds, read back, exclude 1 exactly when the
    raw bounds do (the rounding defect: "1.0 to 1.2" called a clear difference)."""
    rng = np.random.default_rng(seed)
    for _ in range(2000):
        lo = 1 + rng.normal(0, 0.01)
        hi = lo + abs(rng.normal(0.05, 0.05))
        for base in ((1, 1), (2, 2)):
            dlo, dhi = agreeing_decimals(lo, hi, base)
            plo, phi = float(f"{lo:.{dlo}f}"), float(f"{hi:.{dhi}f}")
            assert (plo > 1 or phi < 1) == (lo > 1 or hi < 1), (lo, hi, dlo, dhi)
        a, b = (float(x) for x in interval_text(lo, hi).split(" to "))
        assert (a > 1 or b < 1) == (lo > 1 or hi < 1), (lo, hi, interval_text(lo, hi))


def test_a_wide_table_is_split_into_parts_that_fit_the_page_and_keep_the_row_labels():
    wide = RATES.assign(**{f"extra_measure_{i}": 123456.789 * (i + 1) * np.arange(1, 5)
                           for i in range(14)})  # fmt: skip
    shown = _shown(wide)
    assert sum(w for _, w in column_widths(shown)) > TEXT_WIDTH_PT  # too wide as one
    page = table_html(shown, BLOCK)
    tables = re.findall(r"<table.*?</table>", page)
    assert len(tables) >= 2
    widths = dict(column_widths(shown))
    for n, table in enumerate(tables, start=1):
        words = ("first", "second", "third", "fourth")[n - 1]
        assert f"({words} of " in table and " parts)</caption>" in table
        labels = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>.*?</th>", table)]
        assert labels[0] == "Ethnic group"  # the row labels in every part
        assert sum(widths[h.replace("&amp;", "&")] for h in labels) <= TEXT_WIDTH_PT
    # every number is whole in one cell that does not wrap
    assert '<td class="num">123,456.79</td>' in page


def test_a_wide_table_of_one_row_is_turned_and_a_constant_column_said_once():
    one = RATES.iloc[[1]].assign(**{f"extra_measure_{i}": 123456.5 for i in range(14)})
    page = table_html(_shown(one), BLOCK)
    assert page.count("<table") == 1 and " parts)" not in page
    assert re.search(r"<tr><td class=\"text\">Relative rate \(White = 1\)</td>"
                     r"<td class=\"num\">3.00</td></tr>", page)  # fmt: skip
    rates = RATES.assign(period="2021-04 to 2024-03")
    page = table_html(_shown(rates), BLOCK)
    # "Estimated" on every row goes unsaid
    assert "<caption>Rates (Period: 2021-04 to 2024-03)</caption>" in page
    assert page.count("2021-04 to 2024-03") == 1


def test_a_note_on_few_rows_is_said_below_the_table():
    rates = RATES.assign(note=["", "", "", "no resident population"])
    page = table_html(_shown(rates), BLOCK)
    assert "<th" in page and ">Note</th>" not in page
    assert '<p class="notes">Notes on rows: Mixed: no resident population.</p>' in page


def test_a_column_withheld_on_every_row_stays_a_column():
    rates = RATES.assign(period="2024Q1", events=[2000, 3, 2, 1])  # three withheld rows
    shown = _shown(rates.iloc[1:])
    assert {r[shown.columns.index("rri")].text for r in shown.rows} == {"[c]"}
    page = table_html(shown, BLOCK)
    assert "Relative rate (White = 1)</th>" in page and "Relative rate (White = 1): [c]" not in page
